"""Simulated group-sequential plans agree with the analytic plan."""

from __future__ import annotations

import json
import math

import pytest

from hsctms.design import Testing, group_sequential, two_proportions
from hsctms.design.sequential_sim import simulate_group_sequential
from hsctms.design.simulate import Scenario
from hsctms.errors import DesignError

MC_TOL = 4.0
APPROX = 0.01  # normal approximation of the binomial z-test at ~90 patients per arm


def test_stopping_probabilities_match_analytic_plan() -> None:
    plan = group_sequential([0.5, 1.0], futility="obf")
    fixed = two_proportions(0.8, 0.6, power=0.8, testing=Testing(0.025, 1)).n_total
    per_arm = math.ceil(fixed * plan.inflation_factor / 2)
    sc = Scenario("proportion", per_arm, per_arm, p_treatment=0.8, p_control=0.6,
                  alpha=0.025, sided=1)
    res = simulate_group_sequential(sc, plan, 8000, seed=11)
    for k in range(2):
        p = plan.rejection_h1[k]
        assert abs(res.stop_efficacy[k] - p) < MC_TOL * math.sqrt(p * (1 - p) / 8000) + APPROX
    p = plan.futility_h1[0]
    assert abs(res.stop_futility[0] - p) < MC_TOL * math.sqrt(p * (1 - p) / 8000) + APPROX
    assert res.expected_n_h1 == pytest.approx(plan.expected_n_h1 * fixed, rel=0.03)
    assert res.type1 < 0.025 + MC_TOL * res.type1_mcse + APPROX
    json.dumps(res.to_dict(), allow_nan=False)


def test_two_sided_type_one_error_and_ignored_futility() -> None:
    plan = group_sequential(k=3, alpha=0.05, sided=2, spending_function="pocock")
    sc = Scenario("proportion", 150, 150, p_treatment=0.7, p_control=0.55, alpha=0.05, sided=2)
    res = simulate_group_sequential(sc, plan, 8000, seed=3)
    assert abs(res.type1 - 0.05) < MC_TOL * res.type1_mcse + APPROX
    fut = group_sequential([0.5, 1.0], futility="pocock")
    sc1 = Scenario("counts", 120, 120, rate_treatment=0.2, rate_control=0.4, dispersion=0.5,
                   alpha=0.025, sided=1)
    obey = simulate_group_sequential(sc1, fut, 3000, seed=4)
    ignore = simulate_group_sequential(sc1, fut, 3000, seed=4, obey_futility=False)
    assert ignore.power >= obey.power
    assert ignore.expected_n_h0 > obey.expected_n_h0


def test_sequential_errors() -> None:
    plan = group_sequential(k=2)
    with pytest.raises(DesignError, match="alpha"):
        simulate_group_sequential(Scenario("proportion", 10, 10, p_treatment=0.5,
                                           p_control=0.4), plan, 100)
    with pytest.raises(DesignError, match="time-to-event"):
        simulate_group_sequential(Scenario("survival", 10, 10, hr=0.5, control_rate=0.2,
                                           alpha=0.025, sided=1), plan, 100)
