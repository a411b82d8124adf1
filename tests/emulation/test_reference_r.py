"""hsctms.emulation against R: MatchIt, glm/glm.nb + sandwich, coxph, survfit (golden.json)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from hsctms.emulation import (
    MatchOptions,
    OutcomeOptions,
    balance,
    match_nearest,
    propensity_score,
    ps_weights,
    rate_ratio,
    weighted_cox,
    weighted_km,
)

#: the covariates of the synthetic frame (tests/emulation/synth.py)
COVARIATES = ["age", "edss", "relapses_2y", "female", "mri_active"]

#: absolute tolerance for balance-table numbers (the largest difference seen is ~4e-10, on
#: the distance row in units of 1e-6)
TOL = 1e-9


def _ps(frame: pd.DataFrame) -> Any:
    return propensity_score(frame, COVARIATES)


def _same_table(ours: pd.DataFrame, r: dict[str, Any], label: str, tol: float = TOL) -> None:
    assert list(ours.index) == list(r["rows"])
    for ours_col, r_col in (("mean_treated", "mean_treated"), ("mean_control", "mean_control"),
                            ("smd", "smd"), ("var_ratio", "var_ratio")):
        got = ours[f"{ours_col}_{label}"].to_numpy(dtype=float)
        want = np.array([np.nan if v is None else v for v in r[r_col]], dtype=float)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=tol, equal_nan=True,
                                   err_msg=f"{ours_col} {label}")


def test_propensity_score_equals_glm(frame: pd.DataFrame, golden: dict[str, Any]) -> None:
    ps = _ps(frame)
    np.testing.assert_allclose(ps.coef.to_numpy(), golden["ps"]["coef"], rtol=1e-8)
    np.testing.assert_allclose(ps.se.to_numpy(), golden["ps"]["se"], rtol=1e-7)
    np.testing.assert_allclose(ps.score, golden["ps"]["score"], rtol=0, atol=1e-10)


@pytest.mark.parametrize("case", range(7))
def test_matching_equals_matchit(frame: pd.DataFrame, golden: dict[str, Any],
                                 case: int) -> None:
    g = golden["matching"][case]
    opts = MatchOptions(ratio=g["ratio"], replace=g["replace"], caliper=g["caliper"],
                        distance=g["distance"], m_order=g["m_order"])
    m = match_nearest(_ps(frame), opts, distance=g["distance_values"])
    want = np.array(g["match_matrix"], dtype=int).reshape(m.match_matrix.shape)
    np.testing.assert_array_equal(m.match_matrix, want, err_msg=g["name"])
    np.testing.assert_allclose(m.weights, g["weights"], rtol=0, atol=1e-12)
    bal = m.balance(frame, COVARIATES)
    _same_table(bal.table, g["before"], "before")
    _same_table(bal.table, g["after"], "after")


@pytest.mark.parametrize("estimand", ["ATE", "ATT", "ATO"])
def test_weights_and_balance_equal_r(frame: pd.DataFrame, golden: dict[str, Any],
                                     estimand: str) -> None:
    ps = _ps(frame)
    w = ps_weights(ps, estimand)
    g = golden["weighting"][estimand]
    np.testing.assert_allclose(w, g["weights"], rtol=1e-9)
    bal = balance(frame, w, covariates=COVARIATES, estimand=estimand, distance=ps.score)
    _same_table(bal.table, g["balance"], "after")


def _ate(frame: pd.DataFrame) -> np.ndarray:
    return ps_weights(_ps(frame), "ATE")


@pytest.mark.parametrize("family", ["poisson", "negbin"])
def test_rate_ratio_equals_glm_sandwich(frame: pd.DataFrame, golden: dict[str, Any],
                                        family: str) -> None:
    w = _ate(frame)
    g = golden[family]
    hc0 = rate_ratio(frame, OutcomeOptions(covariates=("edss",)), weights=w, family=family)
    cl = rate_ratio(frame, OutcomeOptions(covariates=("edss",), cluster="centre"), weights=w,
                    family=family)
    tol = 1e-8
    np.testing.assert_allclose(hc0.table["coef"], g["coef"], rtol=tol)
    np.testing.assert_allclose(hc0.table["se"], g["se_hc0"], rtol=tol)
    np.testing.assert_allclose(cl.table["se"], g["se_cl"], rtol=tol)
    if family == "negbin":
        assert hc0.theta == pytest.approx(g["theta"], rel=1e-9)


def test_unweighted_negbin_equals_glm_nb(frame: pd.DataFrame, golden: dict[str, Any]) -> None:
    g = golden["negbin_unweighted"]
    res = rate_ratio(frame)
    np.testing.assert_allclose(res.table["coef"], g["coef"], rtol=1e-9)
    np.testing.assert_allclose(res.table["se"], g["se_hc0"], rtol=1e-9)
    assert res.theta == pytest.approx(g["theta"], rel=1e-9)


@pytest.mark.parametrize(("key", "ties", "cluster"), [("efron", "efron", None),
                                                      ("breslow", "breslow", None),
                                                      ("efron_cluster", "efron", "centre")])
def test_weighted_cox_equals_coxph(frame: pd.DataFrame, golden: dict[str, Any], key: str,
                                   ties: str, cluster: str | None) -> None:
    g = golden["cox"][key]
    res = weighted_cox(frame, OutcomeOptions(covariates=("edss",), cluster=cluster),
                       weights=_ate(frame), ties=ties)
    np.testing.assert_allclose(res.table["coef"], g["coef"], rtol=1e-8)
    np.testing.assert_allclose(res.table["naive_se"], g["naive_se"], rtol=1e-8)
    np.testing.assert_allclose(res.table["se"], g["se"], rtol=1e-8)
    assert res.loglik == pytest.approx(g["loglik"], rel=1e-10)


def _tied(frame: pd.DataFrame) -> pd.DataFrame:
    """Heavy ties: follow-up rounded up to half-years (as the R script's time2)."""
    return frame.assign(time2=np.ceil(frame["time"] * 2) / 2)


@pytest.mark.parametrize(("key", "ties", "cluster"), [("efron", "efron", None),
                                                      ("breslow", "breslow", None),
                                                      ("efron_cluster", "efron", "centre")])
def test_weighted_cox_heavy_ties_equals_coxph(frame: pd.DataFrame, golden: dict[str, Any],
                                              key: str, ties: str,
                                              cluster: str | None) -> None:
    g = golden["cox_tied"][key]
    d = _tied(frame)
    assert d["time2"].nunique() < 20
    w = ps_weights(_ps(frame), "ATT")
    res = weighted_cox(d, OutcomeOptions(covariates=("edss", "relapses_2y"), cluster=cluster),
                       time="time2", weights=w, ties=ties)
    np.testing.assert_allclose(res.table["coef"], g["coef"], rtol=1e-8)
    np.testing.assert_allclose(res.table["naive_se"], g["naive_se"], rtol=1e-8)
    np.testing.assert_allclose(res.table["se"], g["se"], rtol=1e-8)
    assert res.loglik == pytest.approx(g["loglik"], rel=1e-10)


@pytest.mark.parametrize(("key", "weights", "robust"), [("km", "ATE", None),
                                                        ("km_model", "ATE", False),
                                                        ("km_unweighted", None, None),
                                                        ("km_tied", "ATT", None)])
def test_weighted_km_equals_survfit(frame: pd.DataFrame, golden: dict[str, Any], key: str,
                                    weights: str | None, robust: bool | None) -> None:
    g = golden[key]
    d = _tied(frame)
    w = None if weights is None else ps_weights(_ps(frame), weights)
    km = weighted_km(d, time="time2" if key == "km_tied" else "time", weights=w,
                     robust=robust)
    assert km.robust is (weights is not None and robust is None)
    got = [km.at(arm, t) for arm in (0.0, 1.0) for t in g["times"]]
    for k in ("surv", "se", "lower", "upper"):
        np.testing.assert_allclose([r[k] for r in got], g[k], rtol=1e-10, atol=1e-12,
                                   err_msg=k)


def test_matched_outcomes_clustered_by_set_equal_r(frame: pd.DataFrame,
                                                   golden: dict[str, Any]) -> None:
    """1:2 matching with caliper; Cox and negative binomial on the matched sample with the
    matching weights, clustered by matched set (R: match.data + cluster = subclass)."""
    g = golden["matched_outcomes"]
    ps = _ps(frame)
    m = match_nearest(ps, MatchOptions(ratio=2, caliper=0.25),
                      distance=np.round(ps.score * 1e6))
    d = frame.assign(pair=m.subclass)
    opts = OutcomeOptions(cluster="pair")
    cox = weighted_cox(d, opts, weights=m.weights)
    np.testing.assert_allclose(cox.table["coef"], g["cox"]["coef"], rtol=1e-8)
    np.testing.assert_allclose(cox.table["se"], g["cox"]["se"], rtol=1e-8)
    nb = rate_ratio(d, opts, weights=m.weights)
    np.testing.assert_allclose(nb.table["coef"], g["negbin"]["coef"], rtol=1e-8)
    np.testing.assert_allclose(nb.table["se"], g["negbin"]["se_cl"], rtol=1e-8)
    assert nb.theta == pytest.approx(g["negbin"]["theta"], rel=1e-8)
