"""Trial design for aHSCT-versus-DMT trials: sample size, group-sequential plans, simulation,
randomisation and presets (ZEUS, MIST-like, STAR-MS-like).

The statistical core here never imports :mod:`hsctms.db`, :mod:`hsctms.cli` or
:mod:`hsctms.web`. Presets and the report live in :mod:`hsctms.design.presets` and
:mod:`hsctms.design.report`; randomisation in :mod:`hsctms.design.randomisation`.
"""

from hsctms.design._base import DesignResult
from hsctms.design.counts import counts_design
from hsctms.design.gsd import GroupSequentialDesign, group_sequential
from hsctms.design.means import two_means
from hsctms.design.options import (
    Accrual,
    Boundary,
    ControlArm,
    CountModel,
    Dropout,
    EventModel,
    Futility,
    Testing,
)
from hsctms.design.proportions import two_proportions
from hsctms.design.simulate import Scenario, SimulationResult, run_grid, simulate_trials
from hsctms.design.survival import survival_design

__all__ = [
    "Accrual",
    "Boundary",
    "ControlArm",
    "CountModel",
    "DesignResult",
    "Dropout",
    "EventModel",
    "Futility",
    "GroupSequentialDesign",
    "Scenario",
    "SimulationResult",
    "Testing",
    "counts_design",
    "group_sequential",
    "run_grid",
    "simulate_trials",
    "survival_design",
    "two_means",
    "two_proportions",
]
