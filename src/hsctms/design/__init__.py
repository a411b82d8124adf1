"""Trial design for aHSCT-versus-DMT trials: sample size, group-sequential plans, simulation,
randomisation and presets (ZEUS, MIST-like, STAR-MS-like).

The statistical core here never imports :mod:`hsctms.db`, :mod:`hsctms.cli` or
:mod:`hsctms.web`.
"""

from hsctms.design._base import DesignResult
from hsctms.design.counts import counts_design
from hsctms.design.gsd import GroupSequentialDesign, group_sequential
from hsctms.design.proportions import two_proportions
from hsctms.design.survival import survival_design

__all__ = [
    "DesignResult",
    "GroupSequentialDesign",
    "counts_design",
    "group_sequential",
    "survival_design",
    "two_proportions",
]
