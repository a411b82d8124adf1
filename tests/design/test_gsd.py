"""Group-sequential designs vs rpact getDesignGroupSequential / getDesignCharacteristics."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsctms.design import group_sequential
from hsctms.design.gsd import _run_h1
from hsctms.errors import DesignError

# measured agreement (grid r = 32): bounds <= 7.5e-8, probabilities and inflation <= 3e-8
TOL_BOUND = 2e-7
TOL_PROB = 1e-7


def _design(v: dict[str, Any]):  # type: ignore[no-untyped-def]
    fut = {"none": None, "bsOF": "obf", "bsP": "pocock"}[v["betaSpending"]]
    return group_sequential(np.atleast_1d(v["info"]), alpha=v["alpha"], beta=v["beta"],
                            sided=v["sided"], futility=fut,
                            spending_function="obf" if v["typeOfDesign"] == "asOF" else "pocock")


@pytest.mark.r
def test_gsd_matches_rpact(rpact_golden: dict[str, Any]) -> None:
    assert len(rpact_golden["gsd"]) == 24
    for key, v in rpact_golden["gsd"].items():
        d = _design(v)
        np.testing.assert_allclose(d.efficacy, v["criticalValues"], atol=TOL_BOUND, rtol=0,
                                   err_msg=key)
        np.testing.assert_allclose(d.alpha_spent, v["alphaSpent"], atol=2e-8, rtol=0,
                                   err_msg=key)
        np.testing.assert_allclose(d.stage_levels, v["stageLevels"], atol=TOL_PROB, rtol=0)
        assert d.inflation_factor == pytest.approx(v["inflationFactor"], abs=TOL_PROB), key
        np.testing.assert_allclose(d.rejection_h1, np.atleast_1d(v["rejectionProbabilities"]),
                                   atol=TOL_PROB, rtol=0, err_msg=key)
        assert d.expected_n_h1 == pytest.approx(v["averageSampleNumber1"], abs=TOL_PROB), key
        assert d.expected_n_h0 == pytest.approx(v["averageSampleNumber0"], abs=TOL_PROB), key
        if v["betaSpending"] != "none":
            assert d.futility is not None and d.beta_spent is not None
            np.testing.assert_allclose(d.futility[:-1], np.atleast_1d(v["futilityBounds"]),
                                       atol=TOL_BOUND, rtol=0, err_msg=key)
            np.testing.assert_allclose(d.futility_h1[:-1],
                                       np.atleast_1d(v["futilityProbabilities"]),
                                       atol=TOL_PROB, rtol=0, err_msg=key)
            np.testing.assert_allclose(d.beta_spent, v["betaSpent"], atol=1e-8, rtol=0)


def test_textbook_obf_bounds() -> None:
    # Jennison & Turnbull / rpact: OBF-type K=3, one-sided 0.025
    d = group_sequential(k=3)
    np.testing.assert_allclose(d.efficacy, [3.7103, 2.5114, 1.9930], atol=5e-5)
    assert d.inflation_factor == pytest.approx(1.01279, abs=1e-5)
    json.dumps(d.to_dict(), allow_nan=False)
    assert "inflation factor" in d.summary


@settings(max_examples=25, deadline=None)
@given(k=st.integers(1, 5), fam=st.sampled_from(["obf", "pocock"]),
       alpha=st.sampled_from([0.025, 0.05]), sided=st.sampled_from([1, 2]))
def test_type_one_error_is_spent_exactly(k: int, fam: str, alpha: float, sided: int) -> None:
    d = group_sequential(k=k, alpha=alpha, sided=sided, spending_function=fam, grid_points=24)
    up, down, _ = _run_h1(d.info_rates, d.efficacy, 0.0, sided, 32, None)
    assert up.sum() + down.sum() == pytest.approx(alpha, abs=1e-7)
    assert d.inflation_factor >= 1 - 1e-9
    if fam == "obf" and k > 1:
        assert np.all(np.diff(d.efficacy) < 0)


@pytest.mark.parametrize("info", [None, (0.25, 0.6, 1.0)])
@pytest.mark.parametrize("fam", ["obf", "pocock"])
@pytest.mark.parametrize("alpha", [0.025, 0.05])
@pytest.mark.parametrize("sided", [1, 2])
def test_alpha_spent_by_multivariate_normal(info: tuple[float, ...] | None, fam: str,
                                            alpha: float, sided: int) -> None:
    """Independent of the recursive grid (which both finds the bounds and ``_run_h1`` uses):
    under H0, (Z_1, ..., Z_k) is multivariate normal with corr(Z_i, Z_j) = sqrt(t_i / t_j), so
    P(stopped for efficacy by stage j) = 1 - P(all |Z_i| < b_i, i <= j) (one-sided: Z_i < b_i),
    computed with scipy's Genz integration. It must equal the Lan-DeMets spending function,
    written out here: OBF-type 2 - 2 Phi(z_{1 - a/2} / sqrt(t)) and Pocock-type
    a ln(1 + (e - 1) t) per side with a = alpha / sided. Measured agreement: <= 6e-9."""
    from scipy import stats

    d = group_sequential(list(info) if info else None, k=None if info else 3, alpha=alpha,
                         sided=sided, spending_function=fam, grid_points=24)
    t, b = d.info_rates, d.efficacy
    a = alpha / sided
    if fam == "obf":
        want = sided * 2 * stats.norm.sf(stats.norm.isf(a / 2) / np.sqrt(t))
    else:
        want = sided * a * np.log1p((np.e - 1) * t)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    for j in range(1, len(t) + 1):
        lower = -b[:j] if sided == 2 else np.full(j, -np.inf)
        stay = stats.multivariate_normal.cdf(b[:j], np.zeros(j), cov[:j, :j], lower_limit=lower,
                                             abseps=1e-8, releps=0,
                                             rng=np.random.default_rng(1))
        assert 1 - stay == pytest.approx(want[j - 1], abs=TOL_PROB), j
    np.testing.assert_allclose(d.alpha_spent, want, atol=1e-12, rtol=0)


def test_futility_lowers_expected_n_under_h0() -> None:
    plain = group_sequential([0.5, 1.0])
    fut = group_sequential([0.5, 1.0], futility="obf")
    assert fut.expected_n_h0 < plain.expected_n_h0
    assert fut.inflation_factor > plain.inflation_factor
    assert fut.stage_sizes(100.0)[-1] == pytest.approx(100 * fut.inflation_factor)


def test_gsd_errors() -> None:
    with pytest.raises(DesignError, match="increase"):
        group_sequential([0.6, 0.5, 1.0])
    with pytest.raises(DesignError, match="one-sided"):
        group_sequential(k=2, sided=2, alpha=0.05, futility="obf")
    with pytest.raises(DesignError, match="spending"):
        group_sequential(k=2, spending_function="haybittle")


@pytest.mark.parametrize("fut", [None, "obf", "pocock"])
def test_boundaries_by_brownian_motion_simulation(fut: str | None) -> None:
    # independent check: simulate Z_k = B(t_k)/sqrt(t_k) + theta sqrt(t_k)
    d = group_sequential([0.3, 0.6, 1.0], futility=fut)
    rng = np.random.default_rng(2024)
    m = 400_000
    t = d.info_rates
    inc = rng.standard_normal((m, 3)) * np.sqrt(np.diff(np.r_[0.0, t]))
    b = np.cumsum(inc, axis=1)

    def crossing(theta: float) -> tuple[np.ndarray, np.ndarray]:
        z = (b + theta * t) / np.sqrt(t)
        alive = np.ones(m, bool)
        eff, fu = np.zeros(3), np.zeros(3)
        for k in range(3):
            up = alive & (z[:, k] >= d.efficacy[k])
            eff[k] = up.mean()
            alive &= ~up
            if d.futility is not None and k < 2:
                down = alive & (z[:, k] <= d.futility[k])
                fu[k] = down.mean()
                alive &= ~down
        return eff, fu

    eff0, _ = crossing(0.0)
    se0 = np.sqrt(0.025 * 0.975 / m)
    # without futility the simulated level equals alpha; with (obeyed) futility it is lower
    if fut is None:
        assert abs(eff0.sum() - 0.025) < 4 * se0
    else:
        assert eff0.sum() < 0.025 + 4 * se0
    eff1, fu1 = crossing(d.drift)
    for k in range(3):
        se = np.sqrt(max(d.rejection_h1[k] * (1 - d.rejection_h1[k]), 1e-12) / m)
        assert abs(eff1[k] - d.rejection_h1[k]) < 4 * se + 1e-9
        if d.futility is not None and k < 2:
            se_f = np.sqrt(d.futility_h1[k] * (1 - d.futility_h1[k]) / m)
            assert abs(fu1[k] - d.futility_h1[k]) < 4 * se_f
