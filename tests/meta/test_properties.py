"""Invariants of proportion meta-analysis (hypothesis) and error handling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hsctms.errors import ConfigurationError, EstimationError
from hsctms.meta import (
    ModelSpec,
    back_transform,
    escalc,
    harmonic_mean,
    meta_regression,
    poisson_regression,
    pool_proportions,
)


@st.composite
def studies(draw, min_k=2, max_k=12):
    k = draw(st.integers(min_k, max_k))
    n = draw(st.lists(st.integers(1, 400), min_size=k, max_size=k))
    x = [draw(st.integers(0, m)) for m in n]
    return np.array(x), np.array(n)


SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(studies(), st.sampled_from(["PLO", "PFT"]), st.sampled_from(["FE", "DL", "REML"]))
def test_basic_invariants(data, measure, method):
    x, n = data
    res = pool_proportions(x, n, model=ModelSpec(measure=measure, method=method))
    assert res.tau2 >= 0
    if res.I2 is not None:
        assert 0 <= res.I2 <= 100
    assert res.ci[0] <= res.estimate <= res.ci[1]
    assert 0 <= res.prop_ci[0] <= res.prop <= res.prop_ci[1] <= 1
    if res.prop_pi is not None:
        assert res.prop_pi[0] <= res.prop_ci[0] + 1e-12
        assert res.prop_pi[1] >= res.prop_ci[1] - 1e-12
    np.testing.assert_allclose(res.studies["weight"].sum(), 100.0)
    assert res.Q >= 0 and 0 <= res.Q_p <= 1


@SETTINGS
@given(studies())
def test_fixed_effect_plo_lies_within_study_range(data):
    x, n = data
    res = pool_proportions(x, n, model=ModelSpec(measure="PLO", method="FE"))
    yi, _ = escalc("PLO", x, n)
    assert yi.min() - 1e-9 <= res.estimate <= yi.max() + 1e-9


@SETTINGS
@given(studies(min_k=3), st.sampled_from(["PLO", "PFT"]), st.sampled_from(["DL", "REML"]),
       st.randoms(use_true_random=False))
def test_order_invariance(data, measure, method, rnd):
    x, n = data
    perm = list(range(len(x)))
    rnd.shuffle(perm)
    a = pool_proportions(x, n, model=ModelSpec(measure=measure, method=method))
    b = pool_proportions(x[perm], n[perm], model=ModelSpec(measure=measure, method=method))
    np.testing.assert_allclose([a.estimate, a.se, a.tau2, a.Q],
                               [b.estimate, b.se, b.tau2, b.Q], rtol=1e-7, atol=1e-10)


@SETTINGS
@given(studies(min_k=2))
def test_re_ci_at_least_as_wide_as_fe(data):
    x, n = data
    fe = pool_proportions(x, n, model=ModelSpec(measure="PFT", method="FE"))
    re = pool_proportions(x, n, model=ModelSpec(measure="PFT", method="DL"))
    assert re.se >= fe.se - 1e-12


@SETTINGS
@given(st.integers(1, 500), st.floats(0, 1))
def test_pft_back_transform_inverts(n, p):
    k = round(p * n)
    y, _ = escalc("PFT", [k], [n])
    # the study-level inversion with its own n recovers the observed proportion
    np.testing.assert_allclose(back_transform("PFT", y, [n]), [k / n], atol=1e-9)


def test_identical_studies_have_no_heterogeneity():
    res = pool_proportions([5] * 6, [50] * 6, model=ModelSpec(measure="PLO", method="REML"))
    assert res.tau2 == 0 and res.I2 == 0
    np.testing.assert_allclose(res.prop, 0.1)


def test_single_study_uses_exact_interval():
    res = pool_proportions([0], [24])
    assert res.prop == 0 and res.prop_ci[0] == 0
    np.testing.assert_allclose(res.prop_ci[1], 1 - 0.025 ** (1 / 24), rtol=1e-10)
    assert "Single study" in res.summary


def test_all_zero_events_flagged():
    res = pool_proportions([0, 0, 0], [20, 40, 80], model=ModelSpec(measure="PFT", method="DL"))
    assert res.prop_ci[0] == 0
    assert any("No events" in c for c in res.caveats)
    with pytest.raises(EstimationError, match="No events"):
        poisson_regression([0, 0, 0], [20, 40, 80])


def test_harmonic_mean():
    assert harmonic_mean([10, 40]) == pytest.approx(16.0)


@pytest.mark.parametrize(
    ("events", "n", "message"),
    [([3, 5], [2, 10], "events exceed n"), ([1.5, 2], [10, 10], "whole number"),
     ([1, 2], [0, 10], "n must be"), ([1], [10, 20], "different lengths"),
     ([], [], "No studies")],
)
def test_bad_counts(events, n, message):
    with pytest.raises(EstimationError, match=message):
        pool_proportions(events, n)


def test_bad_options():
    with pytest.raises(ConfigurationError, match="Unknown measure"):
        pool_proportions([1, 2], [10, 10], model=ModelSpec(measure="PAS"))
    with pytest.raises(ConfigurationError, match="Unknown method"):
        pool_proportions([1, 2], [10, 10], model=ModelSpec(method="HS"))
    with pytest.raises(ConfigurationError, match="level"):
        pool_proportions([1, 2], [10, 10], model=ModelSpec(level=95))
    with pytest.raises(EstimationError, match="too few"):
        meta_regression([1, 2], [10, 10], {"a": [1, 2], "b": [3, 5]})
    with pytest.raises(EstimationError, match="collinear"):
        meta_regression([1, 2, 3, 4], [10] * 4, {"a": [1, 1, 1, 1]})
    with pytest.raises(EstimationError, match="Missing moderator"):
        meta_regression([1, 2, 3], [10] * 3, {"a": [1, np.nan, 2]})


def test_result_objects_serialise():
    import json

    res = pool_proportions([4, 1, 0, 3], [25, 42, 19, 52], ["a", "b", "c", "d"],
                           by=["x", "x", "y", "y"], by_name="era")
    payload = json.dumps(res.to_dict(), allow_nan=False)
    assert '"by": "era"' in payload
    assert "Pooled" in res.to_frame()["study"].tolist()
    assert "test for subgroup differences" in res.summary
    mr = meta_regression([4, 1, 0, 3], [25, 42, 19, 52], {"year": [2000, 2005, 2010, 2015]})
    json.dumps(mr.to_dict(), allow_nan=False)
    pr = poisson_regression([4, 1, 0, 3], [25, 42, 19, 52], {"year": [2000, 2005, 2010, 2015]})
    json.dumps(pr.to_dict(), allow_nan=False)
    assert "rate ratio" in pr.summary


@SETTINGS
@given(studies(min_k=4), st.floats(-50, 50), st.sampled_from(["DL", "REML"]))
def test_meta_regression_shift_invariance(data, shift, method):
    """Shifting a moderator changes only the intercept (slope, tau², QM unchanged)."""
    x, n = data
    mod = np.arange(len(x), dtype=float)
    a = meta_regression(x, n, {"m": mod}, model=ModelSpec(measure="PLO", method=method))
    b = meta_regression(x, n, {"m": mod + shift}, model=ModelSpec(measure="PLO", method=method))
    np.testing.assert_allclose([a.coef[1], a.se[1], a.tau2, a.QE],
                               [b.coef[1], b.se[1], b.tau2, b.QE], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(a.coef[0] - b.coef[0], shift * a.coef[1], rtol=1e-6, atol=1e-7)


@SETTINGS
@given(studies(min_k=4), st.sampled_from(["PLO", "PFT"]))
def test_subgroups_partition_studies(data, measure):
    x, n = data
    groups = ["a" if i % 2 else "b" for i in range(len(x))]
    res = pool_proportions(x, n, model=ModelSpec(measure=measure, method="DL"), by=groups)
    sg = res.subgroups
    assert sum(g.k for g in sg.groups.values()) == len(x)
    assert sg.Q_between >= 0 and 0 <= sg.p_between <= 1 and sg.df == 1
    for g in sg.groups.values():
        assert 0 <= g.prop_ci[0] <= g.prop_ci[1] <= 1


@SETTINGS
@given(studies(min_k=2), st.sampled_from(["PLO", "PFT"]), st.sampled_from(["DL", "REML"]))
def test_tau2_confidence_limits_ordered(data, measure, method):
    x, n = data
    res = pool_proportions(x, n, model=ModelSpec(measure=measure, method=method))
    lo, hi = res.tau2_ci
    assert 0 <= lo <= hi
    assert 0 <= res.I2_ci[0] <= res.I2_ci[1] <= 100


def test_glmm_identical_studies_and_errors():
    from hsctms.meta import glmm_proportions

    res = glmm_proportions([5] * 5, [50] * 5)
    assert res.tau2 == 0
    np.testing.assert_allclose(res.prop, 0.1, rtol=1e-6)
    with pytest.raises(EstimationError, match="not estimable"):
        glmm_proportions([0, 0], [10, 20])
    with pytest.raises(EstimationError, match="at least two"):
        glmm_proportions([1], [10])
