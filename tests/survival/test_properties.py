"""Hypothesis properties of the survival estimators and cross-checks with Python peers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, event, example, given, reject, settings
from hypothesis import strategies as st

from hsctms.errors import ConfigurationError, EstimationError
from hsctms.survival import (
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    kaplan_meier_by,
    logrank_test,
)

times = st.lists(st.integers(min_value=0, max_value=40), min_size=2, max_size=60)


@st.composite
def survival_data(draw: st.DrawFn, codes: tuple[int, ...] = (0, 1)) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    t = draw(times)
    e = draw(st.lists(st.sampled_from(codes), min_size=len(t), max_size=len(t)))
    return np.asarray(t, float), np.asarray(e, int)


@settings(max_examples=60, deadline=None)
@given(survival_data(), st.sampled_from(["log-log", "log", "plain"]),
       st.floats(min_value=0.5, max_value=0.99))
def test_km_bounded_monotone_ci_contains(data: tuple[np.ndarray, np.ndarray], conf_type: str,
                                          level: float) -> None:
    t, e = data
    km = kaplan_meier(t, e, level=level, conf_type=conf_type)
    assert np.all((km.surv >= 0) & (km.surv <= 1))
    assert np.all(np.diff(km.surv) <= 1e-15)
    ok = ~np.isnan(km.lower)
    assert np.all(km.lower[ok] <= km.surv[ok] + 1e-12)
    assert np.all(km.upper[ok] >= km.surv[ok] - 1e-12)
    assert np.all((km.lower[ok] >= 0) & (km.upper[ok] <= 1))
    # numbers at risk are #(T >= t)
    for x in km.time:
        assert km.at_risk([x])[0] == int((t >= x).sum())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=50))
def test_km_without_censoring_is_empirical_survival(values: list[int]) -> None:
    t = np.asarray(values, float)
    km = kaplan_meier(t, np.ones_like(t, dtype=int))
    grid = np.arange(0, 32) + 0.5
    np.testing.assert_allclose(km.survival_at(grid)["surv"],
                               [(t > g).mean() for g in grid], atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=50))
def test_rmst_without_censoring_is_mean_of_truncated_times(values: list[int]) -> None:
    t = np.asarray(values, float)
    tau = 20.0
    r = kaplan_meier(t, np.ones_like(t, dtype=int)).rmst(tau)
    assert r.estimate == pytest.approx(np.minimum(t, tau).mean(), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(survival_data(codes=(0, 1, 2)))
def test_cif_bounded_monotone_and_sum_with_km(data: tuple[np.ndarray, np.ndarray]) -> None:
    t, e = data
    c = cumulative_incidence(t, e)
    assert np.all((c.cif >= -1e-15) & (c.cif <= 1 + 1e-12))
    assert np.all(np.diff(c.cif, axis=0) >= -1e-15)
    assert np.all(c.cif.sum(axis=1) <= 1 + 1e-12)
    # CIF_1 + CIF_2 = 1 - KM(any event)
    km = kaplan_meier(t, (e > 0).astype(int))
    np.testing.assert_allclose(c.cif.sum(axis=1), 1 - km.surv, atol=1e-12)
    ok = ~np.isnan(c.lower)
    assert np.all(c.lower[ok] <= c.cif[ok] + 1e-12) and np.all(c.upper[ok] >= c.cif[ok] - 1e-12)


@st.composite
def competing_data(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Survival data in which both competing events occur (so both CIFs are estimable)."""
    t, e = draw(survival_data(codes=(0, 1, 2)))
    assume(t.size >= 2)
    i, j = draw(st.lists(st.integers(0, t.size - 1), min_size=2, max_size=2, unique=True))
    e = e.copy()
    e[i], e[j] = 1, 2
    return t, e


@settings(max_examples=30, deadline=None)
@given(competing_data())
@example((np.array([0.0, 1.0]), np.array([1, 2])))  # sksurv's interval is degenerate here
def test_cif_matches_scikit_survival(data: tuple[np.ndarray, np.ndarray]) -> None:
    from sksurv.nonparametric import cumulative_incidence_competing_risks

    t, e = data
    c = cumulative_incidence(t, e, level=0.95, conf_type="log-log")
    with np.errstate(divide="ignore", invalid="ignore"):  # sksurv divides by n - d = 0
        x, y, ci = cumulative_incidence_competing_risks(e, t, conf_type="log-log",
                                                        var_type="Dinse_Approx")
    np.testing.assert_allclose(x, c.time)
    np.testing.assert_allclose(y[1:].T, c.cif, atol=1e-12)
    # When everyone at risk fails at some time, sksurv's variance becomes NaN there and is
    # mixed into 0 for *every* time (its lower limit then equals the estimate), so its
    # intervals can only serve as a reference on data without such a time; the estimates
    # above are compared on every example.
    if np.any(c.n_risk == c.n_event.sum(axis=1)):
        event("intervals not comparable (everyone at risk fails at some time)")
        return
    event("intervals compared")
    finite = np.isfinite(c.lower[:, 0]) & (c.cif[:, 0] < 1) & np.isfinite(ci[1, 0])
    np.testing.assert_allclose(ci[1, 0][finite], c.lower[finite, 0], atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(survival_data(), st.lists(st.sampled_from(["a", "b", "c"]), min_size=60, max_size=60))
def test_logrank_matches_statsmodels(data: tuple[np.ndarray, np.ndarray],
                                     groups: list[str]) -> None:
    from statsmodels.duration.survfunc import survdiff

    t, e = data
    g = np.asarray(groups[: t.size])
    assume(len(set(g)) >= 2 and e.sum() > 0)
    res = logrank_test(t, e, g)
    try:
        stat, _ = survdiff(t, e, g)
    except np.linalg.LinAlgError:  # statsmodels inverts V; singular with tiny groups
        reject()
    assume(bool(np.isfinite(stat)) and res.df == len(set(g)) - 1)
    assert res.statistic == pytest.approx(stat, rel=1e-8, abs=1e-10)


def test_gray_invariant_to_group_relabelling() -> None:
    rng = np.random.default_rng(1)
    t = rng.integers(1, 30, 120).astype(float)
    e = rng.integers(0, 3, 120)
    g = rng.choice(["x", "y", "z"], 120)
    a = gray_test(t, e, g).statistic
    b = gray_test(t, e, np.char.add("k_", g)).statistic
    assert a == pytest.approx(b)


def test_km_by_groups_and_errors() -> None:
    fits = kaplan_meier_by([1, 2, 3, 4], [1, 0, 1, 1], ["b", "a", "b", "a"])
    assert fits.groups == ["a", "b"]
    with pytest.raises(EstimationError, match="negative"):
        kaplan_meier([-1, 2], [1, 1])
    with pytest.raises(EstimationError, match="code"):
        kaplan_meier([1, 2], [1, 3])
    with pytest.raises(ConfigurationError):
        kaplan_meier([1, 2], [1, 1], conf_type="logit")
    with pytest.raises(ConfigurationError):
        kaplan_meier([1, 2], [1, 1], level=1.5)
    with pytest.raises(EstimationError, match="two groups"):
        logrank_test([1, 2], [1, 1], ["a", "a"])


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("stratified", [False, True])
def test_cox_matches_statsmodels_phreg(ties: str, stratified: bool) -> None:
    """Our Newton-Raphson fit equals statsmodels PHReg (coef, SE, log-likelihood)."""
    import pandas as pd
    from statsmodels.duration.hazard_regression import PHReg

    from hsctms.survival import cox_ph

    rng = np.random.default_rng(7 + stratified)
    n = 400
    d = pd.DataFrame({
        "t": rng.integers(1, 60, n).astype(float),  # many ties
        "e": rng.integers(0, 2, n),
        "x": rng.normal(size=n),
        "k": rng.choice(["a", "b", "c"], n),
        "s": rng.choice(["u", "v"], n),
    })
    m = cox_ph(d, "t", "e", ["x", "k"], ties=ties, strata="s" if stratified else None)
    X = np.column_stack([d["x"], d["k"] == "b", d["k"] == "c"]).astype(float)
    ref = PHReg(d["t"].to_numpy(), X, status=d["e"].to_numpy(), ties=ties,
                strata=d["s"].to_numpy() if stratified else None).fit()
    np.testing.assert_allclose(m.coef, ref.params, atol=1e-8)
    np.testing.assert_allclose(m.se, ref.bse, atol=1e-8)
    assert m.loglik[1] == pytest.approx(ref.llf, abs=1e-7)


def test_cox_monotone_likelihood_is_a_clear_error() -> None:
    import pandas as pd

    from hsctms.errors import ConvergenceError
    from hsctms.survival import cox_ph

    d = pd.DataFrame({"t": [1.0, 2, 3, 4, 5, 6], "e": [1, 1, 1, 0, 0, 0],
                      "g": ["a", "a", "a", "b", "b", "b"]})
    with pytest.raises(ConvergenceError, match="converge"):
        cox_ph(d, "t", "e", ["g"])


@pytest.mark.parametrize(("t", "e", "words"), [
    ([1.0, 2, 3, 4, 5, 6], [1, 2, 1, 0, 1, 0], "code"),  # an event coded 2 was counted
    ([1.0, -2, 3, 4, 5, 6], [1, 0, 1, 0, 1, 0], "negative"),
    ([1.0, 2, np.inf, 4, 5, 6], [1, 0, 1, 0, 1, 0], "infinite"),
])
def test_cox_checks_times_and_event_codes(t: list[float], e: list[int], words: str) -> None:
    """cox_ph validates like the other survival functions (it accepted n_events > n)."""
    import pandas as pd

    from hsctms.errors import EstimationError
    from hsctms.survival import cox_ph

    d = pd.DataFrame({"t": t, "e": e, "x": [0.1, 0.5, 0.2, 0.9, 0.4, 0.7]})
    with pytest.raises(EstimationError, match=words):
        cox_ph(d, "t", "e", ["x"])


@settings(max_examples=25, deadline=None)
@given(survival_data(codes=(0, 1, 2)))
# found by scripts/test --fuzz (seeds 692866731, 538558180): the pooled CIF reaches 1 before
# the last time and Gray's test returned NaN (R cmprsk: 3.4; see test_gray_edge_cases)
@example((np.array([0.0, 1.0, 2.0, 0.0]), np.array([1, 1, 1, 1])))
def test_results_do_not_depend_on_row_order(data: tuple[np.ndarray, np.ndarray]) -> None:
    t, e = data
    g = np.where(np.arange(t.size) % 3 == 0, "a", np.where(np.arange(t.size) % 3 == 1, "b",
                                                           "c"))
    perm = np.random.default_rng(int(t.size)).permutation(t.size)
    any_event = (e > 0).astype(int)
    km1, km2 = kaplan_meier(t, any_event), kaplan_meier(t[perm], any_event[perm])
    np.testing.assert_array_equal(km1.surv, km2.surv)
    c1, c2 = cumulative_incidence(t, e), cumulative_incidence(t[perm], e[perm])
    np.testing.assert_allclose(c1.cif, c2.cif, atol=1e-15)
    if len(set(g)) > 1 and any_event.sum() > 0:
        a = logrank_test(t, any_event, g).statistic
        b = logrank_test(t[perm], any_event[perm], g[perm]).statistic
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12) or (np.isnan(a) and np.isnan(b))
    if (e == 1).sum() > 1 and len(set(g[e == 1])) > 1:
        try:
            a = gray_test(t, e, g).statistic
        except EstimationError:
            # not estimable on these data: then it must not be estimable after permuting
            with pytest.raises(EstimationError):
                gray_test(t[perm], e[perm], g[perm])
        else:
            b = gray_test(t[perm], e[perm], g[perm]).statistic
            assert a == pytest.approx(b, rel=1e-7, abs=1e-9)


def test_cif_by_group_with_a_cause_that_never_occurs() -> None:
    """No deaths in the data: the curves are returned and only the occurring cause is tested
    (the call used to fail with a singular variance)."""
    from hsctms.survival import cumulative_incidence_by

    t = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
    e = np.array([1, 0, 1, 0, 1, 1, 0, 1])
    g = np.array(["a", "a", "a", "a", "b", "b", "b", "b"])
    res = cumulative_incidence_by(t, e, g, causes=(1, 2))
    assert set(res.tests) == {1}
    assert set(res.fits) == {"a", "b"}
    assert float(res.fits["a"].incidence_at([8.0], cause=2)["cif"].iloc[0]) == 0.0
