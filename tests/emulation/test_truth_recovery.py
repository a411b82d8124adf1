"""Truth recovery on the SYNTHETIC comparator cohort (issue 16, item 2).

``simulate_comparison`` has a known true rate ratio (marginal = conditional, collapsible) and
a known conditional hazard ratio. 60 seeded replicates of n = 600 under the default (strong)
confounding by indication (the naive rate ratio is ~0.57 for a truth of 0.3): each adjusted
method's 95% CI must cover the truth in >= 85% of replicates, the naive comparison's in
<= 50%. The bound is the binomial error: with a true coverage of 0.95, P(<= 50 of 60 covered)
= 0.0007 (and 0.07 if the real coverage were only 0.90), so a correct method passes and a
biased one (coverage ~0.2 gives P(> 30 of 60) < 1e-7) fails. The full 200-replicate study
is bench/bench_emulation_truth.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from hsctms.emulation import (
    COMPARISON_COVARIATES,
    ComparisonTruth,
    method_estimates,
    simulate_comparison,
)
from hsctms.errors import EstimationError

REPLICATES = 60
CONFOUNDING = 1.0


def test_frame_is_seeded_labelled_and_confounded() -> None:
    a = simulate_comparison(2000, seed=5)
    pd.testing.assert_frame_equal(a, simulate_comparison(2000, seed=5))
    assert not a.equals(simulate_comparison(2000, seed=6))
    assert a.attrs["synthetic"] is True
    assert list(a.columns) == ["id", "treat", *COMPARISON_COVARIATES, "relapses", "exposure",
                               "time", "event"]
    t, c = a[a.treat == 1], a[a.treat == 0]
    # confounding by indication: younger, more active, shorter disease are transplanted
    assert t.age.mean() < c.age.mean() - 2
    assert t.relapses_12m.mean() > c.relapses_12m.mean() + 0.2
    assert t.relapses_24m.mean() > c.relapses_24m.mean() + 0.3
    assert t.edss_change_2y.mean() > c.edss_change_2y.mean() + 0.2
    assert t.disease_duration.mean() < c.disease_duration.mean() - 1
    # no confounding: treatment unrelated to the covariates
    r = simulate_comparison(4000, truth=ComparisonTruth(confounding=0.0), seed=5)
    assert abs(r[r.treat == 1].age.mean() - r[r.treat == 0].age.mean()) < 0.8
    with pytest.raises(EstimationError):
        ComparisonTruth(rate_ratio=0.0)


def test_the_conditional_truth_is_what_the_data_generating_model_says() -> None:
    """A correctly specified Poisson GLM on a large sample recovers the rate ratio."""
    truth = ComparisonTruth(rate_ratio=0.4, hazard_ratio=0.6, confounding=1.0)
    d = simulate_comparison(40000, truth=truth, seed=11)
    X = sm.add_constant(d[["treat", "relapses_12m", "relapses_24m", "age", "edss_change_2y",
                           "mri_active"]].astype(float))
    fit = sm.GLM(d.relapses, X, family=sm.families.Poisson(),
                 offset=np.log(d.exposure)).fit()
    assert abs(np.exp(fit.params["treat"]) - 0.4) < 0.02
    # the marginal rate ratio in a randomised version equals the conditional one
    rnd = simulate_comparison(40000, truth=ComparisonTruth(rate_ratio=0.4, confounding=0.0),
                              seed=12)
    rates = rnd.groupby("treat").apply(lambda g: g.relapses.sum() / g.exposure.sum(),
                                       include_groups=False)
    assert abs(rates[1] / rates[0] - 0.4) < 0.02


@pytest.mark.slow
def test_adjusted_methods_cover_the_truth_and_the_naive_does_not() -> None:
    truth = ComparisonTruth(confounding=CONFOUNDING)
    est = pd.concat([method_estimates(simulate_comparison(600, truth=truth, seed=20261206 + r))
                     for r in range(REPLICATES)], ignore_index=True)
    value = np.where(est.outcome == "RR", truth.rate_ratio, truth.hazard_ratio)
    est["cover"] = (est.lower <= value) & (value <= est.upper)
    coverage = est.groupby(["outcome", "method"])["cover"].mean()
    for outcome in ("RR", "HR"):
        for method in ("matching", "ipw", "overlap"):
            assert coverage[outcome, method] >= 0.85, (outcome, method, coverage)
    assert coverage["RR", "naive"] <= 0.5, coverage
    assert coverage["HR", "naive"] <= 0.5, coverage
