"""Hand-checkable cases of the Markov model, the frontier and the input schema."""

from __future__ import annotations

import copy
import itertools
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hsctms.economics import evaluate, frontier, load_inputs, run_psa, tornado
from hsctms.errors import ConfigurationError

from .conftest import REF

BASE: dict[str, Any] = json.loads((REF / "inputs_uk.json").read_text())
Z10 = [0.0] * 10


def _fixed(value: float) -> dict[str, Any]:
    return {"value": value, "source": "test", "status": "assumption"}


def _profile(v: float) -> dict[str, Any]:
    return {"relapsing": [v] * 10, "sp": [v] * 10, "source": "test", "status": "assumption"}


def _strategy(name: str, **kw: Any) -> dict[str, Any]:
    s = {"name": name, "hr_progression": _fixed(1.0), "rr_relapse": _fixed(1.0),
         "annual_cost": _fixed(0.0)}
    s.update(kw)
    return s


def two_state(*, q: float = 0.05, u: float = 0.8, c: float = 1000.0, r: float = 0.035,
              horizon: int = 30, strategies: list[dict[str, Any]] | None = None
              ) -> dict[str, Any]:
    """Alive/dead: no EDSS moves, constant death probability q, utility u, cost c."""
    doc = copy.deepcopy(BASE)
    doc["settings"].update(horizon_years=horizon, start_edss=2)
    doc["discount"].update(costs=r, effects=r)
    doc["natural_history"].update(relapsing={"worsen": Z10, "improve": Z10, "to_sp": Z10},
                                  sp={"worsen": Z10, "improve": Z10})
    doc["relapse_rate"] = _profile(0.0)
    doc["mortality"]["background"] = [[0, q]]
    doc["mortality"]["multiplier"] = _profile(1.0)
    doc["utility"] = _profile(u)
    doc["state_cost"] = _profile(c)
    doc["strategies"] = strategies or [_strategy("A")]
    return doc


def closed_form(q: float, u: float, r: float, horizon: int) -> float:
    """sum_k u (a^(k-1) + a^k)/2 (1+r)^-(k-1/2), a = 1 - q."""
    a, b = 1 - q, (1 - q) / (1 + r)
    return u * (1 + a) / 2 * (1 + r) ** -0.5 * (1 - b ** horizon) / (1 - b)


@pytest.mark.parametrize(("q", "r", "horizon"), [(0.05, 0.035, 30), (0.2, 0.0, 10),
                                                 (0.01, 0.06, 50)])
def test_two_state_closed_form(q: float, r: float, horizon: int) -> None:
    res = evaluate(load_inputs(two_state(q=q, r=r, horizon=horizon)))
    assert res.qalys[0] == pytest.approx(closed_form(q, 0.8, r, horizon), rel=1e-12)
    assert res.costs[0] == pytest.approx(closed_form(q, 1000.0, r, horizon), rel=1e-12)
    ly = sum(((1 - q) ** (k - 1) + (1 - q) ** k) / 2 for k in range(1, horizon + 1))
    assert res.life_years[0] == pytest.approx(ly, rel=1e-12)
    np.testing.assert_allclose(res.traces[0][:, 20], 1 - (1 - q) ** np.arange(horizon + 1))


def test_no_effect_gives_equal_outcomes_and_undefined_icer() -> None:
    doc = copy.deepcopy(BASE)
    doc["strategies"] = [_strategy("A"), _strategy("B")]
    res = evaluate(load_inputs(doc))
    assert res.costs[0] == res.costs[1]
    assert res.qalys[0] == res.qalys[1]
    rows = {r["strategy"]: r for r in res.incremental}
    assert rows["B"]["status"] == "equivalent"
    assert all(r["icer"] is None for r in res.incremental)


def test_zero_discount_equals_undiscounted_sums() -> None:
    doc = copy.deepcopy(BASE)
    doc["discount"].update(costs=0.0, effects=0.0)
    doc["strategies"] = [_strategy("A")]
    inputs = load_inputs(doc)
    res = evaluate(inputs)
    tr = res.traces[0]
    occ = 0.5 * (tr[:-1] + tr[1:])          # trapezoidal occupancy per cycle
    u = np.array(inputs.utility.relapsing + inputs.utility.sp + [0.0])
    rel = np.array(inputs.relapse_rate.relapsing + inputs.relapse_rate.sp + [0.0])
    c = np.array(inputs.state_cost.relapsing + inputs.state_cost.sp + [0.0])
    qaly = (occ @ u).sum() - inputs.relapse_qaly_loss.value * (occ @ rel).sum()
    cost = (occ @ c).sum() + inputs.relapse_cost.value * (occ @ rel).sum()
    assert res.qalys[0] == pytest.approx(qaly, rel=1e-12)
    assert res.costs[0] == pytest.approx(cost, rel=1e-12)
    assert res.life_years[0] == pytest.approx(occ[:, :20].sum(), rel=1e-12)


def test_discounting_costs_and_effects_separately() -> None:
    doc = two_state(r=0.035)
    doc["discount"]["effects"] = 0.015
    res = evaluate(load_inputs(doc))
    assert res.costs[0] == pytest.approx(closed_form(0.05, 1000.0, 0.035, 30), rel=1e-12)
    assert res.qalys[0] == pytest.approx(closed_form(0.05, 0.8, 0.015, 30), rel=1e-12)


def test_one_off_cost_and_trm() -> None:
    strat = _strategy("T", one_off=[{"year": 0, "label": "x", "cost": _fixed(100.0)},
                                    {"year": 2, "label": "y", "cost": _fixed(10.0)}],
                      trm=_fixed(0.1))
    doc = two_state(q=0.05, c=0.0, r=0.0, strategies=[strat])
    res = evaluate(load_inputs(doc))
    # year 0: everyone pays; year 2: the survivors of TRM and two cycles pay
    assert res.costs[0] == pytest.approx(100 + 10 * 0.9 * 0.95 ** 2, rel=1e-12)
    assert res.qalys[0] == pytest.approx(0.9 * closed_form(0.05, 0.8, 0.0, 30), rel=1e-12)


def test_hazard_ratio_one_step() -> None:
    doc = two_state(q=0.0, r=0.0, horizon=1)
    doc["natural_history"]["relapsing"]["worsen"] = [0.2] * 9 + [0.0]
    doc["strategies"] = [_strategy("A"), _strategy("B", hr_progression=_fixed(0.5))]
    res = evaluate(load_inputs(doc))
    assert res.traces[0][1, 3] == pytest.approx(0.2)
    assert res.traces[1][1, 3] == pytest.approx(1 - 0.8 ** 0.5)


def test_frontier_strong_and_extended_dominance() -> None:
    rows = {r["strategy"]: r for r in frontier(
        ["A", "B", "C", "D"], costs=[0.0, 150.0, 200.0, 250.0], qalys=[0.0, 0.5, 1.0, 0.9])}
    assert rows["A"]["status"] == "frontier" and rows["A"]["icer"] is None
    assert rows["B"]["status"] == "extendedly dominated"
    assert rows["D"]["status"] == "dominated" and rows["D"]["compared_with"] == "C"
    assert rows["C"]["icer"] == pytest.approx(200.0)
    assert rows["C"]["compared_with"] == "A"


def test_frontier_same_cost_more_qalys_dominates() -> None:
    """Found by hypothesis: a strategy costing the same (within tol) and giving more QALYs
    dominates, whichever the sort put first."""
    rows = {r["strategy"]: r for r in frontier(["a", "b"], costs=[0.0, 5e-324],
                                                qalys=[0.0, 2.0])}
    assert rows["a"]["status"] == "dominated" and rows["b"]["status"] == "frontier"


def test_frontier_dominant_strategy() -> None:
    rows = {r["strategy"]: r for r in frontier(["old", "new"], costs=[10.0, 5.0], qalys=[1.0, 2.0])}
    assert rows["old"]["status"] == "dominated"
    assert rows["new"]["status"] == "frontier"


def test_uk_preset_result_objects(tmp_path) -> None:  # type: ignore[no-untyped-def]
    inputs = load_inputs("uk")
    res = evaluate(inputs)
    assert "QALYs" in res.summary
    df = res.to_frame()
    assert list(df.index) == ["natalizumab", "ocrelizumab", "alemtuzumab", "aHSCT"]
    json.dumps(res.to_dict())
    nmb = res.to_dict()["nmb"]
    assert nmb == pytest.approx([inputs.settings.wtp * q - c
                                 for c, q in zip(res.costs, res.qalys, strict=True)])
    ax = res.plot()
    assert ax.get_xlabel().startswith("QALYs")
    with pytest.raises(AttributeError):
        res.wtp = 1.0  # type: ignore[misc]


def test_tornado_base_equals_deterministic() -> None:
    inputs = load_inputs("uk")
    t = tornado(inputs, comparator="alemtuzumab")
    res = evaluate(inputs)
    nmb = dict(zip(res.strategies, res.nmb, strict=True))
    assert t.base == pytest.approx(nmb["aHSCT"] - nmb["alemtuzumab"], rel=1e-12)
    widths = [abs(r["inmb_high"] - r["inmb_low"]) for r in t.rows]
    assert widths == sorted(widths, reverse=True)
    assert t.to_frame().shape[0] == len(t.rows)
    json.dumps(t.to_dict())
    t.plot()
    assert "aHSCT" in t.summary


def test_psa_outputs_consistent() -> None:
    inputs = load_inputs("uk")
    a = run_psa(inputs, draws=500, seed=3)
    b = run_psa(inputs, draws=500, seed=3)
    np.testing.assert_array_equal(a.costs, b.costs)
    np.testing.assert_allclose(a.ceac.sum(axis=1), 1.0)
    assert np.all(a.evpi >= 0)
    assert np.all(a.ceaf <= a.ceac.max(axis=1) + 1e-12)
    df = a.to_frame()
    assert list(df.index) == list(inputs.settings.wtp_grid)
    json.dumps(a.to_dict())
    for kind in ("ceac", "plane", "evpi"):
        a.plot(kind=kind)
    with pytest.raises(ConfigurationError):
        a.plot(kind="nope")
    assert "500 draws" in a.summary


def test_evpi_is_zero_without_decision_uncertainty() -> None:
    inputs = load_inputs(two_state(strategies=[_strategy("A"), _strategy(
        "B", annual_cost=_fixed(1.0))]))
    psa = run_psa(inputs, draws=50, seed=1)
    assert np.all(psa.evpi == 0)
    assert np.all(psa.ceac[:, 0] == 1)


@pytest.mark.parametrize(("path", "value", "match"), [
    (("natural_history", "relapsing", "worsen"), [0.95] * 9 + [0.0], "sum below 1"),
    (("relapse_cost", "dist"), "beta", "beta needs"),
    (("settings", "horizon_years"), 0, "horizon_years"),
])
def test_invalid_inputs(path: tuple[str, ...], value: Any, match: str) -> None:
    doc = copy.deepcopy(BASE)
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    with pytest.raises(ConfigurationError, match=match) as exc:
        load_inputs(doc)
    assert exc.value.hint


def test_unknown_preset_and_extra_key() -> None:
    with pytest.raises(ConfigurationError, match="unknown economics preset") as exc:
        load_inputs("atlantis")
    assert "uk" in str(exc.value.hint)
    doc = copy.deepcopy(BASE)
    doc["colour"] = "blue"
    with pytest.raises(ConfigurationError, match="colour"):
        load_inputs(doc)


def test_relative_to_must_come_first() -> None:
    doc = copy.deepcopy(BASE)
    doc["strategies"] = [_strategy("A", hr_progression={**_fixed(0.5), "relative_to": "B"}),
                         _strategy("B")]
    with pytest.raises(ConfigurationError, match="relative_to"):
        load_inputs(doc)


def test_yaml_file_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import yaml

    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(BASE))
    assert load_inputs(path) == load_inputs(BASE)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [")
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_inputs(bad)
    assert math.isfinite(evaluate(load_inputs(path)).costs[0])


def test_retreatment_share() -> None:
    strat = _strategy("T", one_off=[{"year": 3, "label": "course 3", "cost": _fixed(100.0),
                                     "share": _fixed(0.25)}])
    doc = two_state(q=0.1, c=0.0, r=0.05, strategies=[strat])
    res = evaluate(load_inputs(doc))
    assert res.costs[0] == pytest.approx(0.25 * 100 * 0.9 ** 3 / 1.05 ** 3, rel=1e-12)
    strat["one_off"][0]["share"] = _fixed(1.5)
    with pytest.raises(ConfigurationError, match="share"):
        load_inputs(two_state(strategies=[strat]))


@st.composite
def _outcomes(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    n = draw(st.integers(1, 6))
    costs = draw(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=n, max_size=n))
    qalys = draw(st.lists(st.floats(0, 30, allow_nan=False), min_size=n, max_size=n))
    return costs, qalys


@given(_outcomes())
def test_frontier_properties(data: tuple[list[float], list[float]]) -> None:
    costs, qalys = data
    names = [f"s{i}" for i in range(len(costs))]
    rows = frontier(names, costs=costs, qalys=qalys)
    front = [r for r in rows if r["status"] == "frontier"]
    assert front, "the cheapest (most effective among the cheapest) is always on it"
    icers = [r["icer"] for r in front[1:]]
    assert all(i > 0 for i in icers)
    assert all(b >= a - 1e-6 * max(1.0, abs(a)) for a, b in itertools.pairwise(icers))
    # at every WTP the best NMB is reached on the frontier, up to the tolerance (tol = 1e-9)
    # within which costs and QALYs count as equal
    for lam in (0.0, 1e3, 2e4, 1e5, 1e7):
        best = max(lam * q - c for c, q in zip(costs, qalys, strict=True))
        best_front = max(lam * r["qaly"] - r["cost"] for r in front)
        assert best_front >= best - (lam + 1) * 1e-9 - 1e-12 * abs(best)
