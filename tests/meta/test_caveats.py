"""Fits that cannot be made are reported as caveats (summary and JSON), never dropped, and the
requested method is the one used (FE meta-regression stays FE)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hsctms.errors import ConvergenceError, EstimationError
from hsctms.meta import (
    ModelSpec,
    RegressionSpec,
    evidence_pool,
    meta_regression,
    pool_proportions,
    pooling,
)
from hsctms.meta.evidence_pool import pool_data


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "study": [f"S{i}" for i in range(6)],
        "events": [1, 3, 0, 5, 2, 4],
        "n": [40, 55, 30, 80, 61, 47],
        "pub_year": [2001.0, 2004, 2008, 2012, 2016, 2020],
        "edss": [3.0, 3.0, 3.0, 3.0, 3.0, 3.0],  # constant: no meta-regression possible
        "pct_rrms": [np.nan, 50.0, np.nan, np.nan, 70.0, np.nan],  # 2 studies only
    })


def test_subgroup_mixed_test_failure_is_a_caveat(monkeypatch: pytest.MonkeyPatch) -> None:
    real_fit = pooling.fit

    def fit(y, v, X=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        if X is not None:  # the mixed-effects subgroup model only
            raise ConvergenceError("REML estimation of tau² did not converge.")
        return real_fit(y, v, X, *args, **kwargs)

    monkeypatch.setattr(pooling, "fit", fit)
    res = pool_proportions([1, 4, 2, 6], [30, 50, 40, 45], by=["x", "y", "x", "y"],
                           by_name="era")
    sg = res.subgroups
    assert sg is not None and sg.mixed_QM is None
    assert len(sg.caveats) == 1 and "mixed-effects test" in sg.caveats[0]
    assert sg.caveats[0] in res.caveats
    assert f"caveat: {sg.caveats[0]}" in res.summary
    assert sg.to_dict()["caveats"] == sg.caveats
    assert sg.caveats[0] in res.to_dict()["caveats"]


def test_subgroup_mixed_test_shown_when_fitted() -> None:
    res = pool_proportions([1, 4, 2, 6], [30, 50, 40, 45], by=["x", "y", "x", "y"])
    sg = res.subgroups
    assert sg is not None and sg.mixed_QM is not None and sg.caveats == []
    assert "mixed-effects test" in res.summary


def test_skipped_moderators_are_caveats() -> None:
    res = pool_data(_table(), regression=RegressionSpec(poisson=False))
    assert set(res.regressions) == {"pub_year"}
    text = " | ".join(res.caveats)
    assert "no meta-regression on baseline EDSS: 6 of 6 studies report it, with 1 distinct" \
        in text
    assert "no meta-regression on % RRMS: 2 of 6 studies" in text
    assert "year (evidence base" not in text  # absent column: nothing asked, nothing to say
    assert all(f"caveat: {c}" in res.summary for c in res.caveats)
    assert all(c in res.to_dict()["caveats"] for c in res.caveats)


def test_failed_regression_is_a_caveat(monkeypatch: pytest.MonkeyPatch) -> None:
    real_poisson = evidence_pool.poisson_regression

    def broken(*args: object, **kwargs: object) -> None:
        raise EstimationError("REML estimation of tau² did not converge.")

    def poisson(events, n, moderators=None, **kwargs):  # type: ignore[no-untyped-def]
        if moderators is None:  # the pooled rate still fits
            return real_poisson(events, n, **kwargs)
        raise EstimationError("The Poisson fit did not converge.")

    monkeypatch.setattr(evidence_pool, "meta_regression", broken)
    monkeypatch.setattr(evidence_pool, "poisson_regression", poisson)
    res = pool_data(_table().drop(columns=["edss", "pct_rrms"]),
                    regression=RegressionSpec(poisson=True))
    assert res.regressions == {} and res.poisson == {}
    assert ("meta-regression on publication year could not be fitted: REML estimation of "
            "tau² did not converge.") in res.caveats
    assert ("Poisson regression on publication year could not be fitted: The Poisson fit did "
            "not converge.") in res.caveats
    assert res.poisson_pooled is not None


@pytest.mark.parametrize("method", ["FE", "DL", "REML"])
def test_requested_method_is_used_for_meta_regression(method: str) -> None:
    t = _table()
    res = pool_data(t, model=ModelSpec(method=method),
                    regression=RegressionSpec(poisson=False, joint=("pub_year",)))
    reg = res.regressions["pub_year"]
    direct = meta_regression(t["events"], t["n"], {"pub_year": t["pub_year"].to_numpy()},
                             model=ModelSpec(measure="PLO", method=method))
    assert reg.method == method and res.joint is not None and res.joint.method == method
    np.testing.assert_allclose(reg.coef, direct.coef, rtol=0, atol=0)
    if method == "FE":
        assert reg.tau2 == 0.0


def test_glmm_says_meta_regressions_are_reml() -> None:
    res = pool_data(_table(), model=ModelSpec(method="GLMM"),
                    regression=RegressionSpec(poisson=False))
    assert res.meta.method == "GLMM"
    assert res.regressions["pub_year"].method == "REML"
    assert any("no GLMM meta-regression" in c for c in res.caveats)
