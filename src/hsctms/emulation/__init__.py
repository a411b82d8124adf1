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
* :func:`e_value` — E-value (VanderWeele & Ding 2017);
* :func:`simulate_comparison` with :class:`ComparisonTruth` — a SYNTHETIC confounded cohort
  with a known effect, and :func:`method_estimates`, the estimators of the truth-recovery
  study.
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
from hsctms.emulation.synthetic import (
    COMPARISON_COVARIATES,
    ComparisonTruth,
    method_estimates,
    simulate_comparison,
)
from hsctms.emulation.timetoevent import WeightedCox, WeightedKM, weighted_cox, weighted_km

__all__ = [
    "COMPARISON_COVARIATES",
    "BalanceTable",
    "ComparisonTruth",
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
    "method_estimates",
    "propensity_score",
    "ps_weights",
    "rate_ratio",
    "simulate_comparison",
    "weighted_cox",
    "weighted_km",
]
