"""Methods of an emulated target trial on a per-patient analysis frame.

One row per patient: a 0/1 treatment, numeric baseline covariates, an outcome time and event,
a relapse count and its exposure time. The methods (each equal to its R counterpart; see
docs/emulation.md):

* :func:`propensity_score` — logistic propensity score (R ``glm``);
* :func:`match_nearest` with :class:`MatchOptions` — greedy nearest-neighbour matching with
  caliper, 1:k, with or without replacement (R ``MatchIt::matchit(method = "nearest")``);
* :func:`ps_weights` — inverse-probability (ATE/ATT/ATC) and overlap weights, with trimming;
* :func:`balance` — standardised mean differences and variance ratios before/after with a love
  plot (MatchIt ``summary()``);
* :func:`rate_ratio` — weighted Poisson / negative binomial with robust or cluster-robust SE
  (R ``glm`` / ``MASS::glm.nb`` + ``sandwich``);
* :func:`weighted_cox`, :func:`weighted_km` — weighted Cox with robust variance
  (R ``coxph(weights =, robust = TRUE / cluster =)``) and weighted Kaplan-Meier;
* :func:`e_value` — E-value (VanderWeele & Ding 2017).
"""

from hsctms.emulation.matching import Matching, MatchOptions, match_nearest
from hsctms.emulation.outcomes import EValue, OutcomeOptions, RateRatio, e_value, rate_ratio
from hsctms.emulation.propensity import (
    BalanceTable,
    PropensityScore,
    balance,
    propensity_score,
    ps_weights,
)
from hsctms.emulation.timetoevent import WeightedCox, WeightedKM, weighted_cox, weighted_km

__all__ = [
    "BalanceTable",
    "EValue",
    "MatchOptions",
    "Matching",
    "OutcomeOptions",
    "PropensityScore",
    "RateRatio",
    "WeightedCox",
    "WeightedKM",
    "balance",
    "e_value",
    "match_nearest",
    "propensity_score",
    "ps_weights",
    "rate_ratio",
    "weighted_cox",
    "weighted_km",
]
