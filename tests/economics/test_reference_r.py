"""The Python model equals the independent base-R implementation (markov.R) to 1e-9."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hsctms.economics import load_inputs, run_psa
from hsctms.economics.markov import evaluate
from hsctms.economics.psa import sample_parameters

from .conftest import PSA_DRAWS, PSA_SEED, REF

INPUTS = REF / "inputs_uk.json"


def _inputs():  # type: ignore[no-untyped-def]
    return load_inputs(json.loads(INPUTS.read_text()))


def test_trace_costs_qalys_equal_r(r_model) -> None:  # type: ignore[no-untyped-def]
    r = r_model(INPUTS, None, "golden_uk.json")
    res = evaluate(_inputs())
    assert list(res.strategies) == r["strategies"]
    for k, name in enumerate(res.strategies):
        np.testing.assert_allclose(res.traces[k], np.asarray(r["traces"][name]),
                                   rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.costs, r["costs"][0], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(res.qalys, r["qalys"][0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.life_years, r["life_years"][0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.relapses, r["relapses"][0], rtol=0, atol=1e-9)


def test_psa_equals_r_with_the_same_draws(r_model, tmp_path: Path  # type: ignore[no-untyped-def]
                                          ) -> None:
    inputs = _inputs()
    draws = sample_parameters(inputs, PSA_DRAWS, PSA_SEED)
    path = tmp_path / "draws.json"
    path.write_text(json.dumps({k: v.tolist() for k, v in draws.items()}))
    r = r_model(INPUTS, path, "golden_psa.json")
    psa = run_psa(inputs, params=draws, seed=PSA_SEED)
    # the same draws give the same per-draw outcomes
    np.testing.assert_allclose(psa.costs, np.asarray(r["costs"]), rtol=1e-12, atol=1e-8)
    np.testing.assert_allclose(psa.qalys, np.asarray(r["qalys"]), rtol=0, atol=1e-9)
    # and so the PSA summaries agree far inside their Monte Carlo error
    mc_se = psa.costs.std(axis=0, ddof=1) / np.sqrt(PSA_DRAWS)
    assert np.all(np.abs(psa.costs.mean(axis=0) - np.asarray(r["mean_costs"])) < 1e-6 * mc_se
                  + 1e-8)
    np.testing.assert_allclose(psa.ceac, np.asarray(r["ceac"]), atol=1e-12)
    np.testing.assert_allclose(psa.evpi, np.maximum(np.asarray(r["evpi"]), 0.0), atol=1e-6)


def test_psa_without_uncertainty_equals_deterministic() -> None:
    """The PSA mean of the no-uncertainty case equals the deterministic result exactly."""
    doc = json.loads(INPUTS.read_text())
    doc["natural_history"]["concentration"] = 1e12
    for key in ("relapse_rate", "utility", "state_cost"):
        doc[key]["dist"] = "fixed"
    for key in ("relapse_cost", "relapse_qaly_loss"):
        doc[key]["dist"] = "fixed"
    for s in doc["strategies"]:
        for eff in ("hr_progression", "rr_relapse"):
            s[eff]["dist"] = "fixed"
        s["annual_cost"]["dist"] = "fixed"
        for o in s["one_off"]:
            o["cost"]["dist"] = "fixed"
            if o.get("share"):
                o["share"]["dist"] = "fixed"
        if s.get("trm"):
            s["trm"]["dist"] = "fixed"
        for ev in s["events"]:
            for k in ("probability", "cost", "qaly_loss"):
                ev[k]["dist"] = "fixed"
    inputs = load_inputs(doc)
    psa = run_psa(inputs, draws=20, seed=1)
    det = evaluate(inputs)
    np.testing.assert_allclose(psa.costs.mean(axis=0), det.costs, rtol=1e-6)
    np.testing.assert_allclose(psa.qalys.mean(axis=0), det.qalys, rtol=1e-6)


def test_golden_files_are_committed() -> None:
    for name in ("golden_uk.json", "golden_psa.json", "inputs_uk.json", "markov.R"):
        assert (REF / name).is_file(), name


@pytest.mark.parametrize("name", ["golden_uk.json", "golden_psa.json"])
def test_golden_strategies(name: str) -> None:
    doc = json.loads((REF / name).read_text())
    assert doc["strategies"] == _inputs().strategy_names
