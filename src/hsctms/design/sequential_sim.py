"""Simulated operating characteristics of a group-sequential plan.

For proportion and count endpoints, interim analysis ``k`` uses the first
``ceil(t_k * n_arm)`` patients of each arm (patients with complete follow-up, in order of
enrolment) and the same vectorised test as the final analysis. A trial stops for efficacy when
``z_k >= efficacy_k`` and — when the plan has futility bounds and ``obey_futility`` — for
futility when ``z_k <= futility_k``. Reported with Monte Carlo SEs: power, type I error (same
plan, effect on the null boundary), per-look stopping probabilities and the expected number of
patients. Time-to-event plans (looks at event fractions in calendar time) are not simulated
here; use the analytic :class:`~hsctms.design.gsd.GroupSequentialDesign`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hsctms._provenance import Provenance
from hsctms.design._analysis import analyse_proportions, analyse_rates
from hsctms.design._base import jsonable
from hsctms.design.gsd import GroupSequentialDesign
from hsctms.design.simulate import Scenario, _simulate_arm
from hsctms.errors import DesignError


def _looks(sc: Scenario, plan: GroupSequentialDesign, n_trials: int,
           rng: np.random.Generator) -> np.ndarray:
    """z statistics, shape (n_trials, K), at each look."""
    a1 = _simulate_arm(sc, True, sc.n_treatment, n_trials, rng)
    a2 = _simulate_arm(sc, False, sc.n_control, n_trials, rng)
    z = np.empty((n_trials, plan.k))
    for k, t in enumerate(plan.info_rates):
        m1 = max(1, math.ceil(t * sc.n_treatment - 1e-9))
        m2 = max(1, math.ceil(t * sc.n_control - 1e-9))
        if sc.endpoint == "proportion":
            out = analyse_proportions(a1["y"][:, :m1], a2["y"][:, :m2], margin=sc.null,
                                      alpha=sc.alpha, sided=sc.sided, method=sc.method)
        else:
            out = analyse_rates(a1["count"][:, :m1], a1["exposure"][:, :m1],
                                a2["count"][:, :m2], a2["exposure"][:, :m2], rr0=sc.null,
                                alpha=sc.alpha, sided=sc.sided)
        z[:, k] = out["z"]
    return z


def _apply(plan: GroupSequentialDesign, z: np.ndarray, obey_futility: bool
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per trial: rejected for benefit, rejected in any direction, stopping look, futile."""
    n = z.shape[0]
    alive = np.ones(n, bool)
    benefit = np.zeros(n, bool)
    any_dir = np.zeros(n, bool)
    futile = np.zeros(n, bool)
    stop = np.full(n, plan.k - 1)
    for k in range(plan.k):
        up = alive & (z[:, k] >= plan.efficacy[k])
        down = alive & (z[:, k] <= -plan.efficacy[k]) if plan.sided == 2 else np.zeros(n, bool)
        benefit |= up
        any_dir |= up | down
        stop[up | down] = k
        alive &= ~(up | down)
        if obey_futility and plan.futility is not None and k < plan.k - 1:
            low = alive & (z[:, k] <= plan.futility[k])
            futile |= low
            stop[low] = k
            alive &= ~low
    return benefit, any_dir, stop, futile


@dataclass(frozen=True)
class SequentialSimulationResult:
    """Simulated operating characteristics of a group-sequential plan."""

    scenario: Scenario
    plan: GroupSequentialDesign
    n_trials: int
    obey_futility: bool
    power: float
    power_mcse: float
    type1: float
    type1_mcse: float
    stop_efficacy: list[float]
    stop_futility: list[float]
    expected_n_h1: float
    expected_n_h1_mcse: float
    expected_n_h0: float
    provenance: Provenance = field(default_factory=lambda: Provenance("design.sequential"))

    @property
    def summary(self) -> str:
        """In words."""
        return (f"{self.scenario.label or self.scenario.endpoint}, {self.plan.k} looks: power "
                f"{self.power:.4f} (MC SE {self.power_mcse:.4f}), type I error "
                f"{self.type1:.4f} (MC SE {self.type1_mcse:.4f}); expected patients "
                f"{self.expected_n_h1:.1f} under H1 and {self.expected_n_h0:.1f} under H0 "
                f"(of {self.scenario.n_total}; futility "
                f"{'obeyed' if self.obey_futility else 'ignored'}).")

    def to_dict(self) -> dict[str, Any]:
        """JSON form (schema ``hsctms.design.sequential-simulation/1``)."""
        return jsonable({
            "schema": "hsctms.design.sequential-simulation/1",
            "scenario": self.scenario.to_dict(), "plan": self.plan.to_dict(),
            "n_trials": self.n_trials, "obey_futility": self.obey_futility,
            "power": self.power, "power_mcse": self.power_mcse, "type1": self.type1,
            "type1_mcse": self.type1_mcse, "stop_efficacy": self.stop_efficacy,
            "stop_futility": self.stop_futility, "expected_n_h1": self.expected_n_h1,
            "expected_n_h1_mcse": self.expected_n_h1_mcse,
            "expected_n_h0": self.expected_n_h0, "provenance": self.provenance.to_dict()})


def simulate_group_sequential(scenario: Scenario, plan: GroupSequentialDesign,
                              n_trials: int = 10_000, *, seed: int | None = None,
                              obey_futility: bool = True) -> SequentialSimulationResult:
    """Simulate ``scenario`` analysed with the interim ``plan`` (proportion / count endpoints).

    Examples
    --------
    >>> from hsctms.design.gsd import group_sequential
    >>> sc = Scenario("proportion", 100, 100, p_treatment=0.8, p_control=0.6, alpha=0.025,
    ...               sided=1)
    >>> res = simulate_group_sequential(sc, group_sequential([0.5, 1.0]), 2000, seed=1)
    >>> res.expected_n_h1 < 200
    True
    """
    if scenario.endpoint not in ("proportion", "counts") or scenario.definition is not None:
        raise DesignError("Group-sequential simulation covers the latent proportion and count "
                          "endpoints.", hint="Use the analytic plan for time-to-event looks.")
    if plan.sided != scenario.sided or abs(plan.alpha - scenario.alpha) > 1e-12:
        raise DesignError("The plan's alpha/sidedness differ from the scenario's.",
                          hint="Use the same alpha and sided in the plan and the scenario.")
    if n_trials < 10:
        raise DesignError("Simulate at least 10 trials.")
    rng1, rng0 = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    sizes = np.array([math.ceil(t * scenario.n_treatment - 1e-9)
                      + math.ceil(t * scenario.n_control - 1e-9) for t in plan.info_rates])
    rej1, _, stop1, fut1 = _apply(plan, _looks(scenario, plan, n_trials, rng1), obey_futility)
    _, rej0, stop0, _ = _apply(plan, _looks(scenario.under_null(), plan, n_trials, rng0),
                               obey_futility)
    power = float(rej1.mean())
    t1 = float(rej0.mean())
    n1 = sizes[stop1]
    return SequentialSimulationResult(
        scenario=scenario, plan=plan, n_trials=n_trials, obey_futility=obey_futility,
        power=power, power_mcse=math.sqrt(power * (1 - power) / n_trials), type1=t1,
        type1_mcse=math.sqrt(t1 * (1 - t1) / n_trials),
        stop_efficacy=[float(np.mean(rej1 & (stop1 == k))) for k in range(plan.k)],
        stop_futility=[float(np.mean(fut1 & (stop1 == k))) for k in range(plan.k)],
        expected_n_h1=float(n1.mean()), expected_n_h1_mcse=float(n1.std(ddof=1)
                                                                 / math.sqrt(n_trials)),
        expected_n_h0=float(sizes[stop0].mean()),
        provenance=Provenance("design.sequential", definition={
            "scenario": scenario.to_dict(), "plan": plan.to_dict()}, n=n_trials))
