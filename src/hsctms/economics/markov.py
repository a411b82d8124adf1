"""The Markov cohort engine, the efficiency frontier and the deterministic result.

States (21): relapsing EDSS 0-9 (indices 0-9), secondary progressive EDSS 0-9 (10-19), death
(20). Yearly cycles. In each cycle an alive patient in state i dies with probability
``1 - (1 - q(age))**m_i`` (background death probability ``q`` at the age at the start of the
cycle, EDSS hazard multiplier ``m_i``); survivors move by the strategy's transition matrix.
Half-cycle correction is the trapezoidal rule: cycle k (k = 1..T) counts the mean of the trace
rows k-1 and k, and is discounted at mid-cycle, ``(1 + r)**-(k - 0.5)``. One-off costs at the
start of year y are paid by everyone alive then (year 0: the whole cohort, before
transplant-related deaths) and discounted by ``(1 + r)**-y``. The engine runs every draw of a
probabilistic analysis at once (a leading draw axis on every parameter array).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hsctms._provenance import Provenance
from hsctms.economics.inputs import N_EDSS, EconomicsInputs, Strategy, point_parameters

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

N_ALIVE = 2 * N_EDSS
STATE_NAMES = ([f"RR{e}" for e in range(N_EDSS)] + [f"SP{e}" for e in range(N_EDSS)]
               + ["dead"])


def _bg_prob(inputs: EconomicsInputs, age: float) -> float:
    q = inputs.mortality.background[0][1]
    for a, p in inputs.mortality.background:
        if age >= a:
            q = p
    return q


def effective_effects(inputs: EconomicsInputs, params: Mapping[str, Any]
                      ) -> dict[str, tuple[Any, Any]]:
    """Hazard ratio and relapse rate ratio of each strategy versus natural history.

    Parameters
    ----------
    inputs : EconomicsInputs
        Validated inputs (for ``relative_to``).
    params : mapping
        Parameter arrays (draw axis first).

    Returns
    -------
    dict of str to (ndarray, ndarray)
        Strategy name to (HR on worsening and SP conversion, relapse rate ratio), per draw.
    """
    out: dict[str, tuple[Any, Any]] = {}
    for s in inputs.strategies:
        hr = params[f"{s.name}.hr"]
        rr = params[f"{s.name}.rr"]
        if s.hr_progression.relative_to is not None:
            hr = hr * out[s.hr_progression.relative_to][0]
        if s.rr_relapse.relative_to is not None:
            rr = rr * out[s.rr_relapse.relative_to][1]
        out[s.name] = (hr, rr)
    return out


def _masks(s: Strategy) -> Any:
    import numpy as np

    mask = np.zeros(N_ALIVE, dtype=bool)
    mask[: s.max_edss + 1] = True
    if s.effect_states == "all":
        mask[N_EDSS: N_EDSS + s.max_edss + 1] = True
    return mask


def _transitions(params: Mapping[str, Any], hr: Any, mask: Any) -> Any:
    """Alive-to-alive yearly transition matrices, shape (D, 20, 20)."""
    import numpy as np

    d = params["worsen_r"].shape[0]
    hr_r = np.where(mask[None, :N_EDSS], hr[:, None], 1.0)
    hr_s = np.where(mask[None, N_EDSS:], hr[:, None], 1.0)
    w_r = 1 - (1 - params["worsen_r"]) ** hr_r
    c_r = 1 - (1 - params["to_sp"]) ** hr_r
    w_s = 1 - (1 - params["worsen_s"]) ** hr_s
    i_r, i_s = params["improve_r"], params["improve_s"]
    p = np.zeros((d, N_ALIVE, N_ALIVE))
    e = np.arange(N_EDSS)
    up, dn = e[:-1], e[1:]
    p[:, up, up + 1] = w_r[:, :-1]
    p[:, dn, dn - 1] = i_r[:, 1:]
    p[:, e, e + N_EDSS] = c_r
    p[:, e, e] = 1 - w_r - i_r - c_r
    p[:, up + N_EDSS, up + 1 + N_EDSS] = w_s[:, :-1]
    p[:, dn + N_EDSS, dn - 1 + N_EDSS] = i_s[:, 1:]
    p[:, e + N_EDSS, e + N_EDSS] = 1 - w_s - i_s
    return p


@dataclass(frozen=True)
class EngineOutput:
    """Raw engine output: per draw and strategy (arrays of shape (D, K)), traces when kept."""

    costs: Any
    qalys: Any
    life_years: Any
    relapses: Any
    traces: Any | None = None


def run_engine(inputs: EconomicsInputs, params: Mapping[str, Any], *,
               keep_trace: bool = False) -> EngineOutput:
    """Run the cohort model for every draw and strategy.

    Parameters
    ----------
    inputs : EconomicsInputs
        Validated inputs (structure, horizon, discounting).
    params : mapping
        Parameter arrays with a leading draw axis (see :func:`point_parameters`).
    keep_trace : bool, default False
        Keep the state traces (shape (K, D, T+1, 21)).

    Returns
    -------
    EngineOutput
        Discounted costs and QALYs, undiscounted life-years and relapses, shape (D, K).
    """
    import numpy as np

    st = inputs.settings
    t_max = st.horizon_years
    d = params["worsen_r"].shape[0]
    mult = np.concatenate([params["mult_r"], params["mult_s"]], axis=1)
    util = np.concatenate([params["u_r"], params["u_s"]], axis=1)
    scost = np.concatenate([params["c_r"], params["c_s"]], axis=1)
    rel = np.concatenate([params["relapse_r"], params["relapse_s"]], axis=1)
    bg = np.array([_bg_prob(inputs, st.start_age + k) for k in range(t_max)])
    effects = effective_effects(inputs, params)
    k_n = len(inputs.strategies)
    costs, qalys, lys, rels = (np.zeros((d, k_n)) for _ in range(4))
    traces = np.zeros((k_n, d, t_max + 1, N_ALIVE + 1)) if keep_trace else None
    for k, s in enumerate(inputs.strategies):
        cost, qaly, ly, nrel = _run_strategy(
            inputs, s, params, effects[s.name],
            {"mult": mult, "util": util, "scost": scost, "rel": rel, "bg": bg},
            None if traces is None else traces[k])
        costs[:, k], qalys[:, k], lys[:, k], rels[:, k] = cost, qaly, ly, nrel
    return EngineOutput(costs=costs, qalys=qalys, life_years=lys, relapses=rels, traces=traces)


def _one_off(s: Strategy, params: Mapping[str, Any], year: int, alive: Any, rate: float
             ) -> Any:
    """Discounted one-off costs paid at the start of ``year`` by the ``alive`` mass."""
    total = 0.0 * alive
    for i, o in enumerate(s.one_off):
        if o.year == year:
            share = params[f"{s.name}.one_off.{i}.share"] if o.share is not None else 1.0
            total = total + (1 + rate) ** -year * alive * share * params[
                f"{s.name}.one_off.{i}"]
    return total


def _events(s: Strategy, params: Mapping[str, Any], yearly_p: Sequence[Any], cyc: int,
            alive: Any) -> tuple[Any, Any]:
    """Undiscounted event costs and QALY losses of cycle ``cyc`` for the ``alive`` mass."""
    cost, loss = 0.0 * alive, 0.0 * alive
    for i, ev in enumerate(s.events):
        if ev.start <= cyc - 1 < ev.stop:
            n_ev = alive * yearly_p[i]
            cost = cost + n_ev * params[f"{s.name}.event.{i}.cost"]
            loss = loss + n_ev * params[f"{s.name}.event.{i}.qaly_loss"]
    return cost, loss


def _run_strategy(inputs: EconomicsInputs, s: Strategy, params: Mapping[str, Any],
                  effect: tuple[Any, Any], arrays: Mapping[str, Any], trace: Any | None
                  ) -> tuple[Any, Any, Any, Any]:
    """Costs, QALYs, life-years and relapses of one strategy for every draw."""
    import numpy as np

    st = inputs.settings
    t_max = st.horizon_years
    rc, re_ = inputs.discount.costs, inputs.discount.effects
    d = params["worsen_r"].shape[0]
    mult, util, scost, rel, bg = (arrays[k] for k in ("mult", "util", "scost", "rel", "bg"))
    start = st.start_edss + (N_EDSS if st.start_sp else 0)
    hr, rr = effect
    mask = _masks(s)
    p = _transitions(params, hr, mask)
    rel_k = rel * np.where(mask[None, :], rr[:, None], 1.0)
    drug = params[f"{s.name}.annual_cost"][:, None] * mask[None, :]
    c_state = scost + drug + rel_k * params["relapse_cost"][:, None]
    u_state = util - rel_k * params["relapse_qaly_loss"][:, None]
    alive = np.zeros((d, N_ALIVE))
    alive[:, start] = 1.0
    cost = _one_off(s, params, 0, np.ones(d), rc)
    trm = params.get(f"{s.name}.trm")
    dead = np.zeros(d)
    if trm is not None:
        alive = alive * (1 - trm[:, None])
        dead = dead + trm
    if trace is not None:
        trace[:, 0, :N_ALIVE], trace[:, 0, N_ALIVE] = alive, dead
    qaly, ly, nrel = np.zeros(d), np.zeros(d), np.zeros(d)
    ev_p = [1 - (1 - params[f"{s.name}.event.{i}.probability"]) ** (1 / (ev.stop - ev.start))
            for i, ev in enumerate(s.events)]
    for cyc in range(1, t_max + 1):
        q = 1 - (1 - bg[cyc - 1]) ** mult
        new = np.matmul((alive * (1 - q))[:, None, :], p)[:, 0, :]
        dead = dead + (alive * q).sum(axis=1)
        m = 0.5 * (alive + new)
        dc, de = (1 + rc) ** -(cyc - 0.5), (1 + re_) ** -(cyc - 0.5)
        m_alive = m.sum(axis=1)
        ev_c, ev_q = _events(s, params, ev_p, cyc, m_alive)
        cost = cost + dc * ((m * c_state).sum(axis=1) + ev_c)
        qaly = qaly + de * ((m * u_state).sum(axis=1) - ev_q)
        ly = ly + m_alive
        nrel = nrel + (m * rel_k).sum(axis=1)
        alive = new
        cost = cost + _one_off(s, params, cyc, alive.sum(axis=1), rc)
        if trace is not None:
            trace[:, cyc, :N_ALIVE], trace[:, cyc, N_ALIVE] = alive, dead
    return cost, qaly, ly, nrel


def frontier(names: Sequence[str], *, costs: Sequence[float], qalys: Sequence[float],
             tol: float = 1e-9) -> list[dict[str, Any]]:
    """Incremental analysis with strong and extended dominance (the efficiency frontier).

    Parameters
    ----------
    names : sequence of str
        Strategy names.
    costs, qalys : sequence of float
        Expected costs and QALYs per strategy.
    tol : float, default 1e-9
        Differences up to ``tol`` count as equal.

    Returns
    -------
    list of dict
        One row per strategy (sorted by cost, then QALYs): ``strategy``, ``cost``, ``qaly``,
        ``status`` (``"frontier"``, ``"dominated"``, ``"extendedly dominated"`` or
        ``"equivalent"``, the last for a strategy with the same costs and QALYs as a frontier
        strategy), ``compared_with``, ``inc_cost``, ``inc_qaly`` and ``icer`` (None where
        undefined: the cheapest frontier strategy and equivalents).
    """
    rows: list[dict[str, Any]] = sorted(
        ({"strategy": n, "cost": float(c), "qaly": float(q), "status": "frontier",
          "compared_with": None, "inc_cost": None, "inc_qaly": None, "icer": None}
         for n, c, q in zip(names, costs, qalys, strict=True)),
        key=lambda r: (float(r["cost"]), -float(r["qaly"])))
    _strong_dominance(rows, tol)
    while _extended_dominance(rows, tol):
        pass
    front = [r for r in rows if r["status"] == "frontier"]
    for a, b in itertools.pairwise(front):
        b["compared_with"] = a["strategy"]
        b["inc_cost"], b["inc_qaly"] = b["cost"] - a["cost"], b["qaly"] - a["qaly"]
        b["icer"] = b["inc_cost"] / b["inc_qaly"]
    return rows


def _strong_dominance(rows: list[dict[str, Any]], tol: float) -> None:
    """Mark strongly dominated rows (another costs no more and gives no fewer QALYs, one of
    the two by more than ``tol``), then equivalents of an earlier frontier row."""
    for r in rows:
        for o in rows:
            if o is r:
                continue
            dc, dq = float(r["cost"]) - float(o["cost"]), float(r["qaly"]) - float(o["qaly"])
            if dc >= -tol and dq <= tol and (dc > tol or dq < -tol):
                r["status"], r["compared_with"] = "dominated", o["strategy"]
                break
    for i, r in enumerate(rows):
        if r["status"] != "frontier":
            continue
        for o in rows[:i]:
            if (o["status"] == "frontier" and abs(float(r["cost"]) - float(o["cost"])) <= tol
                    and abs(float(r["qaly"]) - float(o["qaly"])) <= tol):
                r["status"], r["compared_with"] = "equivalent", o["strategy"]
                break


def _extended_dominance(rows: list[dict[str, Any]], tol: float) -> bool:
    """Mark the first extendedly dominated frontier row; True when one was found."""
    front = [r for r in rows if r["status"] == "frontier"]
    icers = [(float(b["cost"]) - float(a["cost"])) / (float(b["qaly"]) - float(a["qaly"]))
             for a, b in itertools.pairwise(front)]
    for j in range(len(icers) - 1):
        if icers[j] > icers[j + 1] + tol:
            front[j + 1]["status"] = "extendedly dominated"
            front[j + 1]["compared_with"] = f"{front[j]['strategy']}/{front[j + 2]['strategy']}"
            return True
    return False


@dataclass(frozen=True)
class CEAResult:
    """Deterministic cost-effectiveness result.

    Parameters
    ----------
    strategies : tuple of str
        Strategy names in input order.
    costs, qalys, life_years, relapses : tuple of float
        Discounted costs and QALYs, undiscounted life-years and relapses per patient.
    traces : ndarray
        State traces, shape (K, T+1, 21) (rows: start of year 0..T).
    incremental : tuple of dict
        The efficiency frontier (see :func:`frontier`).
    wtp : float
        Willingness-to-pay per QALY for the net monetary benefit.
    currency : str
        Currency and price year (e.g. ``"GBP 2023"``).
    provenance : Provenance
        What was computed from which inputs.
    """

    strategies: tuple[str, ...]
    costs: tuple[float, ...]
    qalys: tuple[float, ...]
    life_years: tuple[float, ...]
    relapses: tuple[float, ...]
    traces: Any = field(repr=False, compare=False)
    incremental: tuple[dict[str, Any], ...]
    wtp: float
    currency: str
    provenance: Provenance = field(default_factory=lambda: Provenance("economics.cea"))

    @property
    def nmb(self) -> tuple[float, ...]:
        """Net monetary benefit per strategy, ``wtp * QALYs - costs``."""
        return tuple(self.wtp * q - c for c, q in zip(self.costs, self.qalys, strict=True))

    @property
    def summary(self) -> str:
        """One paragraph in words."""
        best = self.strategies[max(range(len(self.nmb)), key=lambda i: self.nmb[i])]
        parts = [f"{r['strategy']} {r['status']}"
                 + (f" (ICER {r['icer']:,.0f} vs {r['compared_with']})" if r["icer"] is not None
                    else "") for r in self.incremental]
        return (f"Over the horizon, per patient ({self.currency}): "
                + "; ".join(f"{n} cost {c:,.0f}, {q:.3f} QALYs"
                            for n, c, q in zip(self.strategies, self.costs, self.qalys,
                                               strict=True))
                + ". Frontier: " + "; ".join(parts)
                + f". Highest net monetary benefit at {self.wtp:,.0f}/QALY: {best}.")

    def to_frame(self) -> pd.DataFrame:
        """One row per strategy: costs, QALYs, life-years, relapses, NMB and frontier columns.

        Returns
        -------
        pandas.DataFrame
            Indexed by strategy in input order.
        """
        import pandas as pd

        inc = {r["strategy"]: r for r in self.incremental}
        return pd.DataFrame([
            {"strategy": n, "cost": c, "qaly": q, "life_years": ly, "relapses": rl, "nmb": b,
             "status": inc[n]["status"], "compared_with": inc[n]["compared_with"],
             "icer": inc[n]["icer"]}
            for n, c, q, ly, rl, b in zip(self.strategies, self.costs, self.qalys,
                                          self.life_years, self.relapses, self.nmb, strict=True)
        ]).set_index("strategy")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (schema ``economics.cea``).

        Returns
        -------
        dict of str to Any
            Strategies, outcomes, the frontier, NMB and provenance (traces left out).
        """
        return {"schema": "economics.cea", "strategies": list(self.strategies),
                "costs": list(self.costs), "qalys": list(self.qalys),
                "life_years": list(self.life_years), "relapses": list(self.relapses),
                "nmb": list(self.nmb), "wtp": self.wtp, "currency": self.currency,
                "incremental": [dict(r) for r in self.incremental],
                "provenance": self.provenance.to_dict()}

    def plot(self, ax: Axes | None = None) -> Axes:
        """Costs against QALYs with the efficiency frontier.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on (a new figure when None).

        Returns
        -------
        matplotlib Axes
            The axes drawn on.
        """
        from hsctms.plots._style import new_axes

        ax = new_axes(ax, figsize=(6, 4))
        ax.scatter(self.qalys, self.costs)
        for n, c, q in zip(self.strategies, self.costs, self.qalys, strict=True):
            ax.annotate(n, (q, c), textcoords="offset points", xytext=(4, 4))
        front = [r for r in self.incremental if r["status"] == "frontier"]
        ax.plot([r["qaly"] for r in front], [r["cost"] for r in front], "-", color="grey")
        ax.set_xlabel("QALYs (discounted)")
        ax.set_ylabel(f"Cost ({self.currency}, discounted)")
        return ax


def evaluate(inputs: EconomicsInputs, *, wtp: float | None = None) -> CEAResult:
    """Deterministic cost-effectiveness analysis at the point values of the inputs.

    Parameters
    ----------
    inputs : EconomicsInputs
        Validated inputs (see :func:`hsctms.economics.load_inputs`).
    wtp : float, optional
        Willingness-to-pay per QALY (default ``inputs.settings.wtp``).

    Returns
    -------
    CEAResult
        Costs, QALYs, life-years, the frontier and net monetary benefit per strategy.
    """
    out = run_engine(inputs, point_parameters(inputs), keep_trace=True)
    names = inputs.strategy_names
    costs = tuple(float(x) for x in out.costs[0])
    qalys = tuple(float(x) for x in out.qalys[0])
    lam = inputs.settings.wtp if wtp is None else wtp
    return CEAResult(
        strategies=tuple(names), costs=costs, qalys=qalys,
        life_years=tuple(float(x) for x in out.life_years[0]),
        relapses=tuple(float(x) for x in out.relapses[0]),
        traces=out.traces[:, 0] if out.traces is not None else None,
        incremental=tuple(frontier(names, costs=costs, qalys=qalys)), wtp=lam,
        currency=f"{inputs.currency} {inputs.price_year}",
        provenance=Provenance("economics.cea", definition={"preset": inputs.name, "wtp": lam},
                              n=len(names)),
    )
