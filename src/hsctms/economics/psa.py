"""Probabilistic sensitivity analysis (vectorised over draws) and one-way sensitivity.

Distributions (method of moments from the value and its standard error): beta for
probabilities and utilities (utility elements outside (0, 1) are drawn from a normal), gamma
for costs and rates, lognormal for hazard and rate ratios (log-scale SE from the 95% CI),
Dirichlet for the rows of the natural-history matrix (``concentration`` times the row's
probabilities). All draws of all strategies go through the engine at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hsctms._provenance import Provenance
from hsctms.economics.inputs import (
    N_EDSS,
    EconomicsInputs,
    Param,
    Profile,
    all_scalar_params,
    point_parameters,
)
from hsctms.economics.markov import run_engine
from hsctms.errors import ConfigurationError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes

Z975 = 1.959963984540054


def _draw_scalar(p: Param, rng: np.random.Generator, n: int) -> np.ndarray:
    import numpy as np

    v = p.value
    if p.dist == "fixed":
        return np.full(n, v)
    if p.dist == "lognormal":
        return np.exp(rng.normal(np.log(v), p.log_se, n))
    se = float(p.se or 0.0)
    if p.dist == "beta":
        k = v * (1 - v) / se ** 2 - 1
        return rng.beta(v * k, (1 - v) * k, n)
    if p.dist == "gamma":
        return rng.gamma((v / se) ** 2, se ** 2 / v, n)
    return rng.normal(v, se, n)


def _draw_profile(p: Profile, rng: np.random.Generator, n: int) -> tuple[Any, Any]:
    import numpy as np

    out = []
    for values in (p.relapsing, p.sp):
        v = np.asarray(values, dtype=float)
        if p.dist == "fixed" or p.cv == 0:
            out.append(np.tile(v, (n, 1)))
            continue
        se = p.cv * np.abs(v)
        col = np.empty((n, N_EDSS))
        for e in range(N_EDSS):
            if se[e] == 0:
                col[:, e] = v[e]
            elif p.dist == "beta" and 0 < v[e] < 1:
                k = v[e] * (1 - v[e]) / se[e] ** 2 - 1
                col[:, e] = rng.beta(v[e] * k, (1 - v[e]) * k, n)
            elif p.dist == "gamma" and v[e] > 0:
                col[:, e] = rng.gamma((v[e] / se[e]) ** 2, se[e] ** 2 / v[e], n)
            elif p.dist == "lognormal" and v[e] > 0:
                col[:, e] = np.exp(rng.normal(np.log(v[e]), p.cv, n))
            else:
                col[:, e] = rng.normal(v[e], se[e], n)
        out.append(col)
    return out[0], out[1]


def _dirichlet_rows(rows: np.ndarray, conc: float, rng: np.random.Generator, n: int
                    ) -> np.ndarray:
    """Dirichlet draws of each row (rows: (R, C) probabilities summing to 1) -> (n, R, C)."""
    import numpy as np

    alpha = conc * rows
    g = np.zeros((n, *rows.shape))
    nz = alpha > 0
    g[:, nz] = rng.gamma(alpha[nz], 1.0, (n, int(nz.sum())))
    out: np.ndarray = g / g.sum(axis=2, keepdims=True)
    return out


def sample_parameters(inputs: EconomicsInputs, draws: int, seed: int) -> dict[str, Any]:
    """Draw every parameter array from its distribution.

    Parameters
    ----------
    inputs : EconomicsInputs
        Validated inputs.
    draws : int
        Number of draws (>= 1).
    seed : int
        Seed of numpy's default generator (PCG64).

    Returns
    -------
    dict of str to numpy.ndarray
        The keys of :func:`hsctms.economics.inputs.point_parameters`, each with ``draws`` rows.
    """
    import numpy as np

    if draws < 1:
        raise ConfigurationError(f"draws must be at least 1 (got {draws})",
                                 hint="use --draws 5000 or more for a PSA")
    rng = np.random.default_rng(seed)
    nh = inputs.natural_history
    assert nh.relapsing.to_sp is not None
    w, i, s = (np.asarray(x) for x in (nh.relapsing.worsen, nh.relapsing.improve,
                                        nh.relapsing.to_sp))
    rr = _dirichlet_rows(np.stack([1 - w - i - s, w, i, s], axis=1), nh.concentration, rng,
                         draws)
    w2, i2 = np.asarray(nh.sp.worsen), np.asarray(nh.sp.improve)
    sp = _dirichlet_rows(np.stack([1 - w2 - i2, w2, i2], axis=1), nh.concentration, rng, draws)
    out: dict[str, Any] = {"worsen_r": rr[:, :, 1], "improve_r": rr[:, :, 2],
                           "to_sp": rr[:, :, 3], "worsen_s": sp[:, :, 1],
                           "improve_s": sp[:, :, 2]}
    for key, prof in (("relapse", inputs.relapse_rate), ("mult", inputs.mortality.multiplier),
                      ("u", inputs.utility), ("c", inputs.state_cost)):
        a, b = _draw_profile(prof, rng, draws)
        names = ("relapse_r", "relapse_s") if key == "relapse" else (f"{key}_r", f"{key}_s")
        out[names[0]], out[names[1]] = a, b
    for name, p in all_scalar_params(inputs).items():
        out[name] = _draw_scalar(p, rng, draws)
    return out


def _nmb_stats(costs: np.ndarray, qalys: np.ndarray, grid: list[float]) -> dict[str, Any]:
    import numpy as np

    lam = np.asarray(grid, dtype=float)
    nmb = lam[:, None, None] * qalys[None] - costs[None]          # (L, D, K)
    best = nmb.argmax(axis=2)                                      # (L, D)
    k = costs.shape[1]
    ceac = np.stack([(best == j).mean(axis=1) for j in range(k)], axis=1)   # (L, K)
    mean_nmb = nmb.mean(axis=1)                                    # (L, K)
    opt = mean_nmb.argmax(axis=1)
    # E[max_k NMB] - max_k E[NMB], written as the mean regret of the expected-optimal
    # strategy: every term is >= 0, so there is no cancellation noise
    chosen = np.take_along_axis(nmb, opt[:, None, None], axis=2)[:, :, 0]
    evpi = (nmb.max(axis=2) - chosen).mean(axis=1)
    return {"ceac": ceac, "mean_nmb": mean_nmb, "optimal": opt,
            "ceaf": ceac[np.arange(len(lam)), opt], "evpi": evpi}


@dataclass(frozen=True)
class PSAResult:
    """Probabilistic sensitivity analysis.

    Parameters
    ----------
    strategies : tuple of str
        Strategy names.
    costs, qalys : ndarray
        Discounted costs and QALYs per draw and strategy, shape (D, K).
    wtp_grid : tuple of float
        Willingness-to-pay values of the curves.
    ceac : ndarray
        Probability that each strategy has the highest NMB, shape (L, K).
    ceaf_strategy : tuple of str
        Strategy with the highest expected NMB at each WTP (the frontier).
    ceaf : ndarray
        Probability that the frontier strategy is cost-effective, shape (L,).
    evpi : ndarray
        Expected value of perfect information per patient, shape (L,).
    currency : str
        Currency and price year.
    seed : int
        Seed of the draws.
    provenance : Provenance
        What was computed from which inputs.
    """

    strategies: tuple[str, ...]
    costs: Any = field(repr=False)
    qalys: Any = field(repr=False)
    wtp_grid: tuple[float, ...]
    ceac: Any = field(repr=False)
    ceaf_strategy: tuple[str, ...]
    ceaf: Any = field(repr=False)
    evpi: Any = field(repr=False)
    currency: str
    seed: int
    provenance: Provenance = field(default_factory=lambda: Provenance("economics.psa"))

    @property
    def draws(self) -> int:
        """Number of draws."""
        return int(self.costs.shape[0])

    @property
    def summary(self) -> str:
        """One paragraph in words."""
        parts = [f"{n}: cost {c:,.0f}, {q:.3f} QALYs" for n, c, q in
                 zip(self.strategies, self.costs.mean(axis=0), self.qalys.mean(axis=0),
                     strict=True)]
        cuts = "; ".join(f"{lam:,.0f}: {s} (p {p:.2f}, EVPI {e:,.0f})" for lam, s, p, e in
                         zip(self.wtp_grid, self.ceaf_strategy, self.ceaf, self.evpi,
                             strict=True))
        return (f"PSA, {self.draws} draws (seed {self.seed}), means ({self.currency}): "
                + "; ".join(parts) + f". Frontier by WTP per QALY: {cuts}.")

    def to_frame(self) -> pd.DataFrame:
        """The acceptability curves, the frontier and EVPI, one row per WTP.

        Returns
        -------
        pandas.DataFrame
            Columns ``p_<strategy>``, ``frontier``, ``p_frontier`` and ``evpi``.
        """
        import pandas as pd

        df = pd.DataFrame(self.ceac, columns=[f"p_{n}" for n in self.strategies],
                          index=pd.Index(self.wtp_grid, name="wtp"))
        df["frontier"] = list(self.ceaf_strategy)
        df["p_frontier"] = self.ceaf
        df["evpi"] = self.evpi
        return df

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (schema ``economics.psa``; draws summarised).

        Returns
        -------
        dict of str to Any
            Means, SDs and 2.5/97.5% quantiles of costs and QALYs, the curves and provenance.
        """
        import numpy as np

        def stats(x: np.ndarray) -> dict[str, list[float]]:
            return {"mean": x.mean(axis=0).tolist(), "sd": x.std(axis=0, ddof=1).tolist()
                    if len(x) > 1 else [0.0] * x.shape[1],
                    "q025": np.quantile(x, 0.025, axis=0).tolist(),
                    "q975": np.quantile(x, 0.975, axis=0).tolist()}

        return {"schema": "economics.psa", "strategies": list(self.strategies),
                "draws": self.draws, "seed": self.seed, "currency": self.currency,
                "costs": stats(self.costs), "qalys": stats(self.qalys),
                "wtp_grid": list(self.wtp_grid), "ceac": self.ceac.tolist(),
                "ceaf_strategy": list(self.ceaf_strategy), "ceaf": self.ceaf.tolist(),
                "evpi": self.evpi.tolist(), "provenance": self.provenance.to_dict()}

    def plot(self, ax: Axes | None = None, *, kind: str = "ceac") -> Axes:
        """Draw the acceptability curves (``"ceac"``), the plane (``"plane"``) or EVPI.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on (a new figure when None).
        kind : {"ceac", "plane", "evpi"}, default "ceac"
            What to draw. The plane shows costs and QALYs of each strategy minus the first
            (the first 1,000 draws).

        Returns
        -------
        matplotlib Axes
            The axes drawn on.
        """
        from hsctms.plots._style import new_axes

        ax = new_axes(ax, figsize=(6, 4))
        if kind == "plane":
            shown = slice(0, min(self.draws, 1000))  # the first 1,000 draws keep SVGs small
            for j, n in enumerate(self.strategies[1:], start=1):
                ax.scatter(self.qalys[shown, j] - self.qalys[shown, 0],
                           self.costs[shown, j] - self.costs[shown, 0], s=2, alpha=0.3,
                           label=n)
            ax.axhline(0, color="grey", lw=0.5)
            ax.axvline(0, color="grey", lw=0.5)
            ax.set_xlabel(f"Incremental QALYs vs {self.strategies[0]}")
            ax.set_ylabel(f"Incremental cost ({self.currency})")
        elif kind == "evpi":
            ax.plot(self.wtp_grid, self.evpi, label="EVPI")
            ax.set_xlabel("Willingness to pay per QALY")
            ax.set_ylabel(f"EVPI per patient ({self.currency})")
        elif kind == "ceac":
            for j, n in enumerate(self.strategies):
                ax.plot(self.wtp_grid, self.ceac[:, j], label=n)
            ax.plot(self.wtp_grid, self.ceaf, "k--", lw=2, label="frontier (CEAF)")
            ax.set_xlabel("Willingness to pay per QALY")
            ax.set_ylabel("Probability cost-effective")
            ax.set_ylim(0, 1)
        else:
            raise ConfigurationError(f"unknown plot kind {kind!r}",
                                     hint="use 'ceac', 'plane' or 'evpi'")
        ax.legend(fontsize="small")
        return ax


def run_psa(inputs: EconomicsInputs, *, draws: int | None = None, seed: int | None = None,
            params: dict[str, Any] | None = None,
            progress: Callable[[str], None] | None = None) -> PSAResult:
    """Probabilistic sensitivity analysis of all strategies.

    Parameters
    ----------
    inputs : EconomicsInputs
        Validated inputs.
    draws : int, optional
        Number of draws (default ``inputs.settings.draws``).
    seed : int, optional
        Seed (default ``inputs.settings.seed``).
    params : dict, optional
        Parameter draws to use instead of sampling (e.g. read back from a file).
    progress : callable, optional
        Called with a short message before sampling and before running the model.

    Returns
    -------
    PSAResult
        Costs and QALYs per draw, acceptability curves, frontier and EVPI.
    """
    n = inputs.settings.draws if draws is None else draws
    sd = inputs.settings.seed if seed is None else seed
    if params is None:
        if progress:
            progress(f"sampling {n} draws")
        params = sample_parameters(inputs, n, sd)
    if progress:
        progress(f"running {len(inputs.strategies)} strategies x "
                 f"{inputs.settings.horizon_years} years")
    out = run_engine(inputs, params)
    grid = list(inputs.settings.wtp_grid)
    st = _nmb_stats(out.costs, out.qalys, grid)
    names = tuple(inputs.strategy_names)
    return PSAResult(
        strategies=names, costs=out.costs, qalys=out.qalys, wtp_grid=tuple(grid),
        ceac=st["ceac"], ceaf_strategy=tuple(names[j] for j in st["optimal"]), ceaf=st["ceaf"],
        evpi=st["evpi"], currency=f"{inputs.currency} {inputs.price_year}", seed=sd,
        provenance=Provenance("economics.psa", definition={"preset": inputs.name, "seed": sd},
                              n=int(out.costs.shape[0])),
    )


def _bounds(p: Param) -> tuple[float, float]:
    from scipy import stats

    v = p.value
    if p.dist == "lognormal":
        assert p.ci is not None
        return p.ci
    se = float(p.se or 0.0)
    if p.dist == "beta":
        k = v * (1 - v) / se ** 2 - 1
        lo, hi = stats.beta.ppf([0.025, 0.975], v * k, (1 - v) * k)
    elif p.dist == "gamma":
        lo, hi = stats.gamma.ppf([0.025, 0.975], (v / se) ** 2, scale=se ** 2 / v)
    else:
        lo, hi = v - Z975 * se, v + Z975 * se
    return float(lo), float(hi)


@dataclass(frozen=True)
class TornadoResult:
    """One-way sensitivity analysis of the incremental net monetary benefit.

    Parameters
    ----------
    strategy, comparator : str
        The incremental NMB is ``strategy`` minus ``comparator``.
    wtp : float
        Willingness-to-pay per QALY.
    base : float
        Incremental NMB at the point values.
    rows : tuple of dict
        ``parameter``, ``low``, ``high`` (the 2.5% and 97.5% points of its distribution, or
        its CI), ``inmb_low``, ``inmb_high``, ``source``, ``status``; widest swing first.
    currency : str
        Currency and price year.
    provenance : Provenance
        What was computed from which inputs.
    """

    strategy: str
    comparator: str
    wtp: float
    base: float
    rows: tuple[dict[str, Any], ...]
    currency: str
    provenance: Provenance = field(default_factory=lambda: Provenance("economics.tornado"))

    @property
    def summary(self) -> str:
        """One paragraph in words."""
        top = "; ".join(f"{r['parameter']} {r['inmb_low']:,.0f} to {r['inmb_high']:,.0f}"
                        for r in self.rows[:5])
        return (f"Incremental NMB of {self.strategy} vs {self.comparator} at "
                f"{self.wtp:,.0f}/QALY: {self.base:,.0f} {self.currency}; widest swings: {top}.")

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter.

        Returns
        -------
        pandas.DataFrame
            Indexed by parameter, widest swing first.
        """
        import pandas as pd

        return pd.DataFrame(list(self.rows)).set_index("parameter")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (schema ``economics.tornado``).

        Returns
        -------
        dict of str to Any
            All fields.
        """
        return {"schema": "economics.tornado", "strategy": self.strategy,
                "comparator": self.comparator, "wtp": self.wtp, "base": self.base,
                "rows": [dict(r) for r in self.rows], "currency": self.currency,
                "provenance": self.provenance.to_dict()}

    def plot(self, ax: Axes | None = None) -> Axes:
        """Horizontal bars from the low to the high value of each parameter.

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

        ax = new_axes(ax, figsize=(7, 0.35 * len(self.rows) + 1))
        rows = list(self.rows)[::-1]
        for y, r in enumerate(rows):
            lo, hi = sorted((r["inmb_low"], r["inmb_high"]))
            ax.barh(y, hi - lo, left=lo, color="tab:blue")
        ax.axvline(self.base, color="k", lw=1)
        ax.set_yticks(range(len(rows)), [r["parameter"] for r in rows], fontsize="small")
        ax.set_xlabel(f"Incremental NMB, {self.strategy} vs {self.comparator} ({self.currency})")
        return ax


def tornado(inputs: EconomicsInputs, *, strategy: str | None = None,
            comparator: str | None = None, wtp: float | None = None) -> TornadoResult:
    """One-way sensitivity of the incremental NMB to every uncertain scalar parameter.

    Parameters
    ----------
    inputs : EconomicsInputs
        Validated inputs.
    strategy : str, optional
        Strategy of interest (default the last one, aHSCT in the UK preset).
    comparator : str, optional
        Comparator (default the other strategy with the highest NMB at the point values).
    wtp : float, optional
        Willingness-to-pay per QALY (default ``inputs.settings.wtp``).

    Returns
    -------
    TornadoResult
        Rows sorted by the width of the swing.
    """
    import numpy as np

    names = inputs.strategy_names
    focus = names[-1] if strategy is None else strategy
    for n in (focus, comparator):
        if n is not None and n not in names:
            raise ConfigurationError(f"unknown strategy {n!r}", hint=f"one of {names}")
    lam = inputs.settings.wtp if wtp is None else wtp
    scalars = {k: p for k, p in all_scalar_params(inputs).items() if p.dist != "fixed"}
    base = point_parameters(inputs)
    n_sets = 1 + 2 * len(scalars)
    params = {k: np.repeat(v, n_sets, axis=0) for k, v in base.items()}
    bounds = {}
    for j, (k, p) in enumerate(scalars.items()):
        lo, hi = _bounds(p)
        bounds[k] = (lo, hi)
        params[k][1 + 2 * j], params[k][2 + 2 * j] = lo, hi
    out = run_engine(inputs, params)
    nmb = lam * out.qalys - out.costs
    fi = names.index(focus)
    if comparator is None:
        others = [j for j in range(len(names)) if j != fi]
        ci = max(others, key=lambda j: nmb[0, j])
    else:
        ci = names.index(comparator)
    inmb = nmb[:, fi] - nmb[:, ci]
    rows: list[dict[str, Any]] = [{"parameter": k, "low": bounds[k][0], "high": bounds[k][1],
             "inmb_low": float(inmb[1 + 2 * j]), "inmb_high": float(inmb[2 + 2 * j]),
             "source": p.source, "status": p.status}
            for j, (k, p) in enumerate(scalars.items())]
    rows.sort(key=lambda r: -abs(float(r["inmb_high"]) - float(r["inmb_low"])))
    return TornadoResult(strategy=focus, comparator=names[ci], wtp=lam, base=float(inmb[0]),
                         rows=tuple(rows), currency=f"{inputs.currency} {inputs.price_year}",
                         provenance=Provenance("economics.tornado",
                                               definition={"preset": inputs.name, "wtp": lam},
                                               n=len(rows)))
