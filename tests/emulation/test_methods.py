"""hsctms.emulation beyond the R goldens: brute-force matching, invariants, cross-checks
against the project's unweighted survival code, E-value hand cases, result objects, errors."""

from __future__ import annotations

import json
import math
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsctms.emulation import (
    MatchOptions,
    OutcomeOptions,
    balance,
    e_value,
    match_nearest,
    propensity_score,
    ps_weights,
    rate_ratio,
    weighted_cox,
    weighted_km,
)
from hsctms.errors import EstimationError
from hsctms.survival import cox_ph, kaplan_meier

COVARIATES = ["age", "edss", "relapses_2y", "female", "mri_active"]


def _random_frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = rng.binomial(1, 1 / (1 + np.exp(-(x - 0.3))))
    if t.sum() in (0, n):
        t[:2] = [0, 1]
    return pd.DataFrame({"treat": t, "x": x})


def _naive(treat: np.ndarray, dist: np.ndarray, o: MatchOptions,
           width: float | None) -> np.ndarray:
    """Independent O(n^2) greedy matcher: rounds, order, nearest available (tie: lower)."""
    treated = np.flatnonzero(treat == 1)
    controls = np.flatnonzero(treat == 0)
    td = dist[treated]
    order = {"largest": np.argsort(-td, kind="stable"),
             "smallest": np.argsort(td, kind="stable")}.get(o.m_order, np.arange(len(treated)))
    used: set[int] = set()
    mm = np.full((len(treated), o.ratio), -1)
    for r in range(o.ratio):
        for i in order:
            best, best_d = -1, math.inf
            for c in controls:
                if (not o.replace and c in used) or c in mm[i, :r]:
                    continue
                dd = abs(dist[c] - dist[treated[i]])
                if width is not None and dd > width:
                    continue
                if dd < best_d or (dd == best_d and dist[c] < dist[best]):
                    best, best_d = c, dd
            if best >= 0:
                mm[i, r] = best
                used.add(best)
    return mm


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(20, 80), ratio=st.integers(1, 3),
       replace=st.booleans(), caliper=st.sampled_from([None, 0.05, 0.2, 1.0]),
       order=st.sampled_from(["largest", "smallest", "data"]),
       distance=st.sampled_from(["score", "logit"]))
def test_matching_equals_naive_greedy(seed: int, n: int, ratio: int, replace: bool,
                                      caliper: float | None, order: str, distance: str) -> None:
    d = _random_frame(seed, n)
    ps = propensity_score(d, ["x"])  # x overlaps between the arms for n >= 20
    o = MatchOptions(ratio=ratio, replace=replace, caliper=caliper, m_order=order,
                     distance=distance)
    try:
        m = match_nearest(ps, o)
    except EstimationError:
        return  # no treated patient within the caliper
    dist = ps.score if distance == "score" else ps.linear
    np.testing.assert_array_equal(m.match_matrix, _naive(ps.treat, dist, o, m.caliper_width))
    # invariants: controls only; within caliper; not reused without replacement
    got = m.match_matrix[m.match_matrix >= 0]
    assert (ps.treat[got] == 0).all()
    if not replace:
        assert len(got) == len(set(got.tolist()))
    if m.caliper_width is not None:
        treated = np.flatnonzero(ps.treat == 1)
        for row, ti in zip(m.match_matrix, treated, strict=True):
            assert (np.abs(dist[row[row >= 0]] - dist[ti]) <= m.caliper_width).all()
    # weights: matched treated 1, controls sum to their number
    w = m.weights
    n1, n0 = m.n_matched
    assert w[ps.treat == 1].sum() == pytest.approx(n1)
    assert w[ps.treat == 0].sum() == pytest.approx(n0)


def test_with_replacement_takes_k_nearest_distinct_controls(frame: pd.DataFrame) -> None:
    ps = propensity_score(frame, COVARIATES)
    m = match_nearest(ps, MatchOptions(ratio=3, replace=True))
    controls = np.flatnonzero(ps.treat == 0)
    for row, ti in zip(m.match_matrix, np.flatnonzero(ps.treat == 1), strict=True):
        nearest = controls[np.argsort(np.abs(ps.score[controls] - ps.score[ti]),
                                      kind="stable")[:3]]
        assert set(row.tolist()) == set(nearest.tolist())


def test_caliper_is_in_sd_of_the_distance(frame: pd.DataFrame) -> None:
    ps = propensity_score(frame, COVARIATES)
    m = match_nearest(ps, MatchOptions(caliper=0.2, distance="logit"))
    assert m.caliper_width == pytest.approx(0.2 * np.std(ps.linear, ddof=1))
    wide = match_nearest(ps, MatchOptions(caliper=0.2))
    assert wide.caliper_width == pytest.approx(0.2 * np.std(ps.score, ddof=1))


def test_weights_and_trimming(frame: pd.DataFrame) -> None:
    ps = propensity_score(frame, COVARIATES)
    e, t = ps.score, ps.treat
    np.testing.assert_allclose(ps_weights(ps, "ATC"), t * (1 - e) / e + (1 - t))
    trimmed = ps_weights(ps, "ATE", trim=0.1)
    outside = (e < 0.1) | (e > 0.9)
    assert outside.any()
    assert (trimmed[outside] == 0).all()
    np.testing.assert_allclose(trimmed[~outside], ps_weights(ps, "ATE")[~outside])
    # overlap weights balance the covariates of the score model exactly (Li et al. 2018)
    bal = balance(frame, ps_weights(ps, "ATO"), covariates=COVARIATES, estimand="ATO")
    assert np.abs(bal.table["smd_after"]).max() < 1e-8
    assert bal.sd_denominator == "pooled"


def test_integer_weights_equal_replicated_rows(frame: pd.DataFrame) -> None:
    """A case weight of k is k copies of the row: with Breslow ties the weighted Cox estimate
    and model SE equal the project's unweighted cox_ph on the expanded data (Efron's tie
    fractions differ once rows are copied, so only Breslow is comparable); with unit weights
    Efron equals cox_ph."""
    rng = np.random.default_rng(7)
    w = rng.integers(1, 4, len(frame))
    big = frame.loc[frame.index.repeat(w)].reset_index(drop=True)
    ours = weighted_cox(frame, OutcomeOptions(covariates=("edss",)), weights=w, ties="breslow")
    ref = cox_ph(big, "time", "event", ["treat", "edss"], ties="breslow")
    np.testing.assert_allclose(ours.table["coef"], ref.coef, rtol=1e-8)
    np.testing.assert_allclose(ours.table["naive_se"], ref.se, rtol=1e-7)
    unit = weighted_cox(frame, OutcomeOptions(covariates=("edss",)))
    ref = cox_ph(frame, "time", "event", ["treat", "edss"])
    np.testing.assert_allclose(unit.table["coef"], ref.coef, rtol=1e-8)
    np.testing.assert_allclose(unit.table["naive_se"], ref.se, rtol=1e-7)


def test_cluster_of_one_equals_robust(frame: pd.DataFrame) -> None:
    w = ps_weights(propensity_score(frame, COVARIATES), "ATE")
    a = weighted_cox(frame, OutcomeOptions(), weights=w)
    b = weighted_cox(frame, OutcomeOptions(cluster="id"), weights=w)
    np.testing.assert_allclose(a.table["se"], b.table["se"], rtol=1e-12)
    p = rate_ratio(frame, OutcomeOptions(cluster="id"), weights=w, family="poisson")
    q = rate_ratio(frame, OutcomeOptions(), weights=w, family="poisson")
    n = len(frame)
    np.testing.assert_allclose(p.table["se"], q.table["se"] * math.sqrt(n / (n - 1)),
                               rtol=1e-10)


def test_unit_weight_km_equals_kaplan_meier(frame: pd.DataFrame) -> None:
    km = weighted_km(frame)
    for arm in (0, 1):
        g = frame[frame["treat"] == arm]
        ref = kaplan_meier(g["time"], g["event"])
        for t in (0.5, 1.0, 2.5, 4.0):
            got = km.at(arm, t)
            want = ref.survival_at([t])
            assert got["surv"] == pytest.approx(float(want["surv"].iloc[0]), abs=1e-12)
            assert got["se"] == pytest.approx(float(want["se"].iloc[0]), abs=1e-12)


def test_e_value_hand_cases() -> None:
    # VanderWeele & Ding 2017: RR 3.9 (1.8-8.7) -> 7.26 and 3.00
    ev = e_value(3.9, (1.8, 8.7))
    assert ev.e_estimate == pytest.approx(3.9 + math.sqrt(3.9 * 2.9))
    assert round(ev.e_estimate, 2) == 7.26
    assert ev.e_ci == pytest.approx(3.0)
    # protective: 1/RR; the upper limit is the one closer to 1
    ev = e_value(0.8, (0.71, 0.91))
    assert ev.e_estimate == pytest.approx(1.25 + math.sqrt(1.25 * 0.25))
    assert ev.e_ci == pytest.approx(1 / 0.91 + math.sqrt(1 / 0.91 * (1 / 0.91 - 1)))
    assert e_value(1.3, (0.9, 1.8)).e_ci == 1.0
    assert e_value(1.0).e_estimate == 1.0
    # a common-outcome HR converts to the RR scale first (VanderWeele 2017 approximation)
    ev = e_value(2.0, measure="HR", rare=False)
    rr = (1 - 0.5 ** math.sqrt(2)) / (1 - 0.5 ** math.sqrt(0.5))
    assert ev.rr == pytest.approx(rr) and rr == pytest.approx(1.6126, abs=1e-4)
    assert ev.e_estimate == pytest.approx(rr + math.sqrt(rr * (rr - 1)))
    with pytest.raises(EstimationError):
        e_value(2.0, (2.5, 3.0))
    with pytest.raises(EstimationError):
        e_value(-1.0)


def _json(obj: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(obj, allow_nan=False))
    return out


def test_result_objects(frame: pd.DataFrame) -> None:
    ps = propensity_score(frame, COVARIATES)
    m = match_nearest(ps, MatchOptions(ratio=2, caliper=0.25))
    w = ps_weights(ps, "ATE")
    results = [ps, m, m.balance(frame, COVARIATES),
               rate_ratio(frame, OutcomeOptions(), weights=m.weights),
               weighted_cox(frame, OutcomeOptions(cluster="centre"), weights=w),
               weighted_km(frame, weights=w), e_value(0.4, (0.25, 0.65))]
    for res in results:
        assert isinstance(res.summary, str) and res.summary
        assert isinstance(res.to_frame(), pd.DataFrame)
        d = _json(res.to_dict())
        assert d["provenance"]["method"] == res.provenance.method
        ax = res.plot()
        assert ax.figure is not None
        plt.close(ax.figure)
    fig, ax = plt.subplots()
    assert results[2].plot(ax=ax) is ax
    plt.close(fig)
    assert results[1].provenance.definition["ratio"] == 2


def test_errors(frame: pd.DataFrame) -> None:
    with pytest.raises(EstimationError, match="not found"):
        propensity_score(frame, ["nope"])
    sep = pd.DataFrame({"treat": [0, 0, 0, 1, 1, 1], "x": [1.0, 2, 3, 4, 5, 6]})
    with pytest.raises(EstimationError, match="separate"):
        propensity_score(sep, ["x"])
    with pytest.raises(EstimationError, match="0/1"):
        propensity_score(frame.assign(treat=2), COVARIATES)
    for bad in ({"ratio": 0}, {"caliper": 0.0}, {"distance": "x"}, {"m_order": "random"}):
        with pytest.raises(EstimationError):
            MatchOptions(**bad)  # type: ignore[arg-type]
    ps = propensity_score(frame, COVARIATES)
    with pytest.raises(EstimationError):
        ps_weights(ps, "ATX")
    with pytest.raises(EstimationError):
        ps_weights(ps, "ATE", trim=0.6)
    with pytest.raises(EstimationError):
        balance(frame, np.ones(3), covariates=COVARIATES)
    with pytest.raises(EstimationError):
        rate_ratio(frame, family="zip")
    with pytest.raises(EstimationError):
        weighted_cox(frame.assign(event=0))
    with pytest.raises(EstimationError):
        OutcomeOptions(level=1.5)
    holes = frame.assign(centre=frame["centre"].where(frame.index > 5))
    for fit in (weighted_cox, rate_ratio):
        with pytest.raises(EstimationError, match="missing"):
            fit(holes, OutcomeOptions(cluster="centre"))
        with pytest.raises(EstimationError, match="two clusters"):
            fit(frame.assign(one=1), OutcomeOptions(cluster="one"))
    assert OutcomeOptions(covariates=["edss"]).covariates == ("edss",)  # type: ignore[arg-type]
