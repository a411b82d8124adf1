"""A SYNTHETIC comparator cohort with a known treatment effect (issue 16, item 2).

:func:`simulate_comparison` draws aHSCT and high-efficacy-DMT patients with confounding by
indication and outcomes whose treatment effect is exactly the :class:`ComparisonTruth`, so the
emulation methods can be shown to recover it and a naive comparison to miss it. The data are
invented; no patient stands behind them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hsctms.emulation.matching import MatchOptions, match_nearest
from hsctms.emulation.outcomes import OutcomeOptions, rate_ratio
from hsctms.emulation.propensity import propensity_score, ps_weights
from hsctms.emulation.timetoevent import weighted_cox
from hsctms.errors import EstimationError

__all__ = ["COMPARISON_COVARIATES", "ComparisonTruth", "method_estimates", "simulate_comparison"]

METHODS: tuple[str, ...] = ("naive", "matching", "ipw", "overlap")

#: Baseline covariates of :func:`simulate_comparison` (every confounder, nothing else).
COMPARISON_COVARIATES: tuple[str, ...] = (
    "age", "female", "disease_duration", "edss", "edss_change_2y", "relapses_12m",
    "relapses_24m", "mri_active",
)

# Treatment model (before scaling by the confounding strength) and outcome models.
_PS = {"relapses_12m": 0.6, "relapses_24m": 0.3, "age": -0.06, "edss_change_2y": 0.8,
       "disease_duration": -0.08, "mri_active": 0.6}
_RATE = {"relapses_12m": 0.35, "relapses_24m": 0.15, "age": -0.03, "edss_change_2y": 0.3,
         "mri_active": 0.3}
_HAZ = {"edss": 0.25, "edss_change_2y": 0.7, "relapses_24m": 0.3, "age": 0.01}
_CENTRE = {"age": 38.0, "disease_duration": 8.0, "edss": 3.5, "edss_change_2y": 0.5,
           "relapses_12m": 1.0, "relapses_24m": 2.0, "mri_active": 0.5}
_WEIBULL_SHAPE = 1.3


@dataclass(frozen=True)
class ComparisonTruth:
    """The true effects of aHSCT versus a high-efficacy DMT in :func:`simulate_comparison`.

    Parameters
    ----------
    rate_ratio
        True relapse rate ratio (aHSCT / DMT). Conditional on the covariates and, because the
        log-linear rate model has no effect modification, also marginal (collapsible): the
        ATE, ATT and overlap-population rate ratios all equal it.
    hazard_ratio
        True hazard ratio of confirmed worsening, **conditional** on the covariates (a
        proportional-hazards Weibull model). The hazard ratio is not collapsible: the
        marginal HR of a weighted Cox model without covariates is nearer 1.
    confounding
        Multiplier of the treatment model's covariate coefficients: 0 = randomised, 1 = the
        default confounding by indication, 2 = strong.
    """

    rate_ratio: float = 0.3
    hazard_ratio: float = 0.5
    confounding: float = 1.0

    def __post_init__(self) -> None:
        if not (self.rate_ratio > 0 and self.hazard_ratio > 0 and self.confounding >= 0):
            raise EstimationError("rate_ratio and hazard_ratio must be > 0, confounding >= 0.")


def _lin(cov: dict[str, np.ndarray], coef: dict[str, float]) -> np.ndarray:
    return sum((b * (cov[k] - _CENTRE.get(k, 0.0)) for k, b in coef.items()),
               start=np.zeros_like(cov["age"]))


def simulate_comparison(
    n: int, *, truth: ComparisonTruth | None = None, seed: int = 20261206,
) -> pd.DataFrame:
    """Simulate a SYNTHETIC aHSCT-versus-DMT analysis frame with a known treatment effect.

    The data-generating model (all draws from ``numpy.random.default_rng(seed)``):

    * covariates: age ~ N(38, 9²) clipped to 18–60; female ~ Bernoulli(0.7); disease
      duration ~ Gamma(2, 4) years + 0.5; EDSS ~ N(3.5, 1.2²) clipped to 0–6.5 and rounded to
      0.5; prior 2-year EDSS change ~ N(0.5, 0.7²) rounded to 0.5; relapses in the prior 12
      months ~ Poisson(0.6 + 0.4·[duration < 5]), in the prior 24 months = those + Poisson(0.8);
      MRI activity ~ Bernoulli(0.5);
    * treatment (1 = aHSCT) ~ Bernoulli(expit(−0.6 + c·η)) with c = ``truth.confounding`` and
      η = 0.6 R12 + 0.3 R24 − 0.06 age + 0.8 ΔEDSS − 0.08 duration + 0.6 MRI (centred):
      younger, more active patients with shorter disease are more often transplanted;
    * exposure ~ Uniform(1, 6) years; relapses ~ Poisson(exposure · G · exp(−0.9 +
      log(RR)·treat + 0.35 R12 + 0.15 R24 − 0.03 age + 0.3 ΔEDSS + 0.3 MRI)) with a gamma
      frailty G ~ Gamma(2, 1/2) (mean 1, so counts are negative binomial): the rate ratio
      is exactly RR conditionally and marginally;
    * confirmed worsening: Weibull proportional hazards, shape 1.3, hazard
      0.12 · 1.3 t^0.3 · exp(log(HR)·treat + 0.25 EDSS + 0.7 ΔEDSS + 0.3 R24 + 0.01 age)
      (centred), censored at min(Uniform(2, 8), Exponential(mean 15)), both
      independent of everything else: the conditional HR is exactly HR.

    Parameters
    ----------
    n
        Patients.
    truth
        The true effects and confounding strength (default :class:`ComparisonTruth`).
    seed
        Seed of the generator.

    Returns
    -------
    pandas.DataFrame
        One row per patient: ``id``, ``treat``, the :data:`COMPARISON_COVARIATES`,
        ``relapses``, ``exposure``, ``time``, ``event``. ``attrs`` holds ``synthetic=True``,
        the truth and the covariate names.
    """
    t = truth or ComparisonTruth()
    if n < 2:
        raise EstimationError("n must be at least 2.")
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(38.0, 9.0, n), 18.0, 60.0).round(1)
    female = rng.binomial(1, 0.7, n)
    duration = (rng.gamma(2.0, 4.0, n) + 0.5).round(1)
    edss = np.round(np.clip(rng.normal(3.5, 1.2, n), 0.0, 6.5) * 2) / 2
    dedss = np.round(rng.normal(0.5, 0.7, n) * 2) / 2
    r12 = rng.poisson(0.6 + 0.4 * (duration < 5.0))
    r24 = r12 + rng.poisson(0.8, n)
    mri = rng.binomial(1, 0.5, n)
    cov = {"age": age, "female": female.astype(float), "disease_duration": duration,
           "edss": edss, "edss_change_2y": dedss, "relapses_12m": r12.astype(float),
           "relapses_24m": r24.astype(float), "mri_active": mri.astype(float)}
    treat = rng.binomial(1, 1.0 / (1.0 + np.exp(0.6 - t.confounding * _lin(cov, _PS))))
    exposure = rng.uniform(1.0, 6.0, n).round(3)
    rate = np.exp(-0.9 + np.log(t.rate_ratio) * treat + _lin(cov, _RATE))
    relapses = rng.poisson(exposure * rate * rng.gamma(2.0, 0.5, n))
    # Weibull PH: cumulative hazard H(t) = 0.12 t^k exp(lp); invert H(T) = E, E ~ Exp(1)
    lp = np.log(t.hazard_ratio) * treat + _lin(cov, _HAZ)
    t_event = (rng.exponential(1.0, n) / (0.12 * np.exp(lp))) ** (1.0 / _WEIBULL_SHAPE)
    t_cens = np.minimum(rng.uniform(2.0, 8.0, n), rng.exponential(15.0, n))
    time = np.maximum(np.minimum(t_event, t_cens), 0.01).round(3)
    event = (t_event <= t_cens).astype(int)
    out = pd.DataFrame({"id": np.arange(1, n + 1), "treat": treat, **cov,
                        "relapses": relapses, "exposure": exposure, "time": time,
                        "event": event})
    out.attrs.update({"synthetic": True, "truth": t,
                      "covariates": list(COMPARISON_COVARIATES)})
    return out


def method_estimates(frame: pd.DataFrame, *, caliper: float = 0.2) -> pd.DataFrame:
    """Rate ratio and hazard ratio by the naive comparison, matching, IPW and overlap weights.

    The estimators of the truth-recovery study (docs/emulation.md): a logistic propensity
    score on all :data:`COMPARISON_COVARIATES`; ``naive`` = unweighted, unadjusted;
    ``matching`` = 1:1 greedy nearest-neighbour matching on the logit with a caliper (ATT),
    SEs clustered by matched pair; ``ipw`` = ATE weights; ``overlap`` = overlap (ATO)
    weights. The rate ratio is a weighted Poisson model of relapses with offset
    ``log(exposure)`` and the treatment only (robust SE) — the marginal estimand, equal to
    the truth by collapsibility. The hazard ratio is a weighted Cox model (robust SE) with
    the treatment *and* the covariates of the worsening model (the conditional estimand)
    for the adjusted methods; the naive HR has the treatment only.

    Parameters
    ----------
    frame
        A frame of :func:`simulate_comparison` (or any with its columns).
    caliper
        Caliper of the matching in SDs of the logit of the score.

    Returns
    -------
    pandas.DataFrame
        One row per (method, outcome ``"RR"`` / ``"HR"``): ``estimate``, ``se`` (log scale),
        ``lower``, ``upper``, ``n``.
    """
    covs = list(COMPARISON_COVARIATES)
    haz_covs = tuple(_HAZ)
    ps = propensity_score(frame, covs)
    m = match_nearest(ps, MatchOptions(caliper=caliper, distance="logit"))
    d = frame.assign(pair=m.subclass)
    fits = {"naive": (frame, None, None, ()),
            "matching": (d, m.weights, "pair", haz_covs),
            "ipw": (frame, ps_weights(ps, "ATE"), None, haz_covs),
            "overlap": (frame, ps_weights(ps, "ATO"), None, haz_covs)}
    rows = []
    for name, (data, w, cluster, hc) in fits.items():
        rr = rate_ratio(data, OutcomeOptions(cluster=cluster), weights=w, family="poisson")
        hr = weighted_cox(data, OutcomeOptions(covariates=hc, cluster=cluster), weights=w)
        for outcome, fit in (("RR", rr), ("HR", hr)):
            r = fit.table.loc["treat"]
            rows.append({"method": name, "outcome": outcome, "estimate": float(r["ratio"]),
                         "se": float(r["se"]), "lower": float(r["lower"]),
                         "upper": float(r["upper"]), "n": int(fit.n)})
    return pd.DataFrame(rows)
