"""Cost-effectiveness of aHSCT versus high-efficacy DMTs: a Markov cohort model with
probabilistic and one-way sensitivity analysis (issue 17; docs/economics.md).

Inputs are one YAML file (:func:`load_inputs`; the UK preset ``"uk"``); :func:`evaluate` gives
the deterministic result, :func:`run_psa` the probabilistic one, :func:`tornado` the one-way
sensitivity analysis.
"""

from __future__ import annotations

from hsctms.economics.inputs import EconomicsInputs, load_inputs
from hsctms.economics.markov import CEAResult, evaluate, frontier
from hsctms.economics.psa import PSAResult, TornadoResult, run_psa, tornado

__all__ = ["CEAResult", "EconomicsInputs", "PSAResult", "TornadoResult", "evaluate",
           "frontier", "load_inputs", "run_psa", "tornado"]
