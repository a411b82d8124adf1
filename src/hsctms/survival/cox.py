"""Cox proportional-hazards regression and the proportional-hazards check.

The partial likelihood (Efron ties by default, Breslow available) is maximised by
Newton-Raphson with step halving, as R ``coxph`` does, with score and information computed by
numpy cumulative sums over the risk sets (statsmodels ``PHReg`` gives the same estimates but
loops over event times in Python: ~6 s for 10,000 patients against ~0.3 s here). Estimates
equal R ``coxph`` and statsmodels ``PHReg`` to ~1e-9 (tests). Categorical covariates are
dummy-coded against their first sorted level (R's ``factor`` default), so term names match R
(``groupB``). Hazard ratios come with Wald confidence intervals at any level.

The proportional-hazards check is the score test of Grambsch & Therneau (1994) as R
``survival::cox.zph`` (survival >= 3.0) computes it: each coefficient is allowed to vary as
``beta + gamma g(t)`` with ``g`` the Kaplan-Meier transform of time (default, or identity /
log / rank), and H0: gamma = 0 is tested with the score vector and the full 2p x 2p
information matrix at the fitted beta (per term and globally). It is written with numpy
cumulative sums over the risk sets (no per-time loop) and checked against R.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from hsctms._provenance import Provenance
from hsctms.errors import ConvergenceError, EstimationError
from hsctms.survival._common import (
    check_level,
    check_times,
    finite_or_none,
    sorted_levels,
    z_value,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

TRANSFORMS = ("km", "identity", "log", "rank")


@dataclass(frozen=True)
class Design:
    """A numeric design matrix with R-style column names and term grouping."""

    X: np.ndarray
    columns: tuple[str, ...]
    terms: dict[str, tuple[int, ...]]
    references: dict[str, str]
    keep: np.ndarray


def build_design(
    data: pd.DataFrame, covariates: Sequence[str], factors: Sequence[str] | None = None,
    references: Mapping[str, str] | None = None,
) -> Design:
    """Dummy-code ``covariates`` of ``data``; rows with a missing value are dropped.

    Non-numeric columns and those in ``factors`` are categorical, with reference level
    ``references[var]`` or the first sorted level.
    """
    missing_cols = [c for c in covariates if c not in data.columns]
    if missing_cols:
        raise EstimationError(f"Covariate column(s) {missing_cols} not found.",
                              hint=f"Available: {', '.join(map(str, data.columns))}.")
    keep = ~data[list(covariates)].isna().any(axis=1).to_numpy()
    d = data.loc[keep, list(covariates)]
    cols: list[np.ndarray] = []
    names: list[str] = []
    terms: dict[str, tuple[int, ...]] = {}
    refs: dict[str, str] = {}
    factor_set = set(factors or ())
    for var in covariates:
        s = d[var]
        categorical = var in factor_set or not (
            pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))
        if categorical:
            lab = s.astype(str).to_numpy()
            levels = sorted_levels(np.asarray(lab, dtype=str))
            ref = (references or {}).get(var, levels[0])
            if ref not in levels:
                raise EstimationError(f"Reference level {ref!r} of {var} not in the data.",
                                      hint=f"Levels: {levels}.")
            refs[var] = ref
            idx = []
            for lev in levels:
                if lev == ref:
                    continue
                idx.append(len(names))
                names.append(f"{var}{lev}")
                cols.append((lab == lev).astype(float))
            if idx:
                terms[var] = tuple(idx)
        else:
            terms[var] = (len(names),)
            names.append(var)
            cols.append(s.to_numpy(dtype=float))
    X = np.column_stack(cols) if cols else np.zeros((int(keep.sum()), 0))
    return Design(X, tuple(names), terms, refs, keep)


@dataclass(frozen=True)
class PHTest:
    """Proportional-hazards score test per term and globally (R ``cox.zph``).

    Built by :func:`ph_test` (or :meth:`CoxModel.ph_test`).

    Parameters
    ----------
    table
        One row per model term (a categorical covariate is one term with one degree of
        freedom per non-reference level) and a last row ``GLOBAL``; columns ``term``,
        ``chisq`` (score statistic), ``df`` and ``p`` (chi-square p-value).
    transform
        Time transform of the test: ``"km"``, ``"identity"``, ``"log"`` or ``"rank"``.
    provenance
        How the test was computed; it keeps the data source of the model.
    residuals
        Scaled Schoenfeld residuals, one row per event in time order, with columns ``time``,
        ``x`` (the transformed time) and one per coefficient (R ``cox.zph(...)$y``); None
        for a stratified model.
    coef
        Model column name -> fitted coefficient (log hazard ratio), drawn by :meth:`plot`.
    """

    table: pd.DataFrame
    transform: str
    provenance: Provenance
    residuals: pd.DataFrame | None = None
    coef: dict[str, float] = field(default_factory=dict)

    @property
    def global_p(self) -> float:
        """p-value of the global test."""
        return float(self.table.loc[self.table["term"] == "GLOBAL", "p"].iloc[0])

    @property
    def summary(self) -> str:
        """One line per term."""
        rows = "; ".join(f"{r.term}: chi2={r.chisq:.3f} (df {r.df}), p={r.p:.3g}"
                         for r in self.table.itertuples())
        return (f"Proportional-hazards test (Grambsch-Therneau score, {self.transform} time): "
                f"{rows}.")

    def to_frame(self) -> pd.DataFrame:
        """The test table (term, chisq, df, p).

        Returns
        -------
        pandas.DataFrame
            A copy of :attr:`table`: one row per term and a last ``GLOBAL`` row.
        """
        return self.table.copy()

    def plot(self, ax: Axes | None = None, column: str | None = None, *,
             label: str | None = None) -> Axes:
        """Scaled Schoenfeld residuals of one coefficient against transformed time, with a
        LOWESS smooth and the fitted (constant) coefficient; a trend suggests non-proportional
        hazards.

        Parameters
        ----------
        ax
            Matplotlib Axes to draw on; None (default) creates a new figure.
        column
            Model column (coefficient) name to plot, e.g. ``"groupB"`` for level B of
            ``group``; default None, the first coefficient.
        label
            The coefficient's name as printed in the title and axis label (e.g.
            ``"Conditioning intensity: intermediate (vs high)"``); default None, the model
            column name.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on; the title gives the term's p-value.

        Raises
        ------
        EstimationError
            If the model was stratified (no residuals) or ``column`` is not a coefficient.
        """
        from statsmodels.nonparametric.smoothers_lowess import lowess

        from hsctms.plots._style import PALETTE, new_axes

        if self.residuals is None:
            raise EstimationError("No residuals (stratified model).",
                                  hint="Residual plots are available for unstratified models.")
        cols = [c for c in self.residuals.columns if c not in ("time", "x")]
        name = column or cols[0]
        if name not in cols:
            raise EstimationError(f"Unknown coefficient {name!r}.", hint=f"Use one of {cols}.")
        ax = new_axes(ax, figsize=(5.6, 3.8))
        x = self.residuals["x"].to_numpy(float)
        y = self.residuals[name].to_numpy(float)
        ax.scatter(x, y, s=8, color="0.55", alpha=0.6, lw=0, label="Scaled Schoenfeld residual")
        if x.size > 5:
            sm = lowess(y, x, frac=0.6, return_sorted=True)
            ax.plot(sm[:, 0], sm[:, 1], color=PALETTE[0], lw=2, label="LOWESS smooth")
        if name in self.coef:
            ax.axhline(self.coef[name], color=PALETTE[1], lw=1, ls="--", label="Fitted coefficient")
        row = self.table[self.table["term"] == name]
        p = f" (p={float(row['p'].iloc[0]):.3g})" if len(row) else ""
        shown = label or name
        ax.set_title(f"Proportional hazards: {shown}{p}", loc="left")
        ax.set_xlabel("Time (Kaplan-Meier scale)" if self.transform == "km"
                      else f"Time ({self.transform})")
        ax.set_ylabel("Beta(t) (log hazard ratio)" if label else f"Beta(t) for {name}")
        ax.legend(loc="best", fontsize=8)
        return ax

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            Method, transform, ``terms`` (one ``{term, chisq, df, p}`` per row of
            :attr:`table`, NaN as ``None``) and the provenance; the residuals are not
            included.
        """
        return {
            "method": "cox_zph_score",
            "transform": self.transform,
            "terms": [
                {"term": r.term, "chisq": finite_or_none(r.chisq), "df": int(r.df),
                 "p": finite_or_none(r.p)}
                for r in self.table.itertuples()
            ],
            "provenance": self.provenance.to_dict(),
        }


@dataclass(frozen=True)
class CoxModel:
    """A fitted Cox proportional-hazards model.

    Built by :func:`cox_ph`. Coefficient arrays follow the order of ``columns``.

    Parameters
    ----------
    columns
        Names of the design columns (coefficients), R style: a numeric covariate keeps its
        name, a categorical one gives ``<variable><level>`` for each non-reference level.
    terms
        Covariate name -> indices of its columns in ``columns`` (used by the per-term tests).
    references
        Categorical covariate -> its reference level (as text).
    coef
        Estimated coefficients (log hazard ratios per unit or versus the reference level).
    se
        Standard errors of ``coef`` (inverse of the observed information).
    loglik
        Partial log-likelihood at coefficients 0 and at the estimate, ``(null, fitted)``.
    level
        Confidence level of the hazard-ratio intervals (proportion, e.g. 0.95).
    ties
        Tie handling: ``"efron"`` or ``"breslow"``.
    n
        Number of patients used (rows without missing values).
    n_events
        Number of events among them.
    time
        Follow-up times of the patients used, in the unit of the input.
    status
        Their event indicators (0/1, as floats).
    X
        The (uncentred) design matrix of the patients used, one column per coefficient.
    strata
        Stratum label (text) of each patient used; None for an unstratified model.
    provenance
        How the model was fitted (covariates, ties, strata, level, n, data source).
    """

    columns: tuple[str, ...]
    terms: dict[str, tuple[int, ...]]
    references: dict[str, str]
    coef: np.ndarray
    se: np.ndarray
    loglik: tuple[float, float]
    level: float
    ties: str
    n: int
    n_events: int
    time: np.ndarray
    status: np.ndarray
    X: np.ndarray
    strata: np.ndarray | None
    provenance: Provenance = field(default_factory=lambda: Provenance("cox_ph"))

    @property
    def z(self) -> np.ndarray:
        """Wald z statistics."""
        return self.coef / self.se

    @property
    def p(self) -> np.ndarray:
        """Two-sided Wald p-values."""
        return 2 * stats.norm.sf(np.abs(self.z))

    @property
    def hr(self) -> np.ndarray:
        """Hazard ratios exp(coef)."""
        return np.exp(self.coef)

    def hr_ci(self, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Wald confidence limits of the hazard ratios.

        Parameters
        ----------
        level
            Confidence level in (0, 1); default None, the model's :attr:`level`.

        Returns
        -------
        tuple of numpy.ndarray
            ``(lower, upper)``: ``exp(coef -/+ z se)``, one entry per coefficient.

        Raises
        ------
        ConfigurationError
            If ``level`` is not in (0, 1).
        """
        zq = z_value(self.level if level is None else level)
        return np.exp(self.coef - zq * self.se), np.exp(self.coef + zq * self.se)

    @property
    def lrt(self) -> tuple[float, float]:
        """Likelihood-ratio test of all coefficients: (statistic, p)."""
        stat = 2 * (self.loglik[1] - self.loglik[0])
        return float(stat), float(stats.chi2.sf(stat, len(self.coef)))

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: coef, SE, HR with CI, z, p.

        Returns
        -------
        pandas.DataFrame
            Columns ``term``, ``coef``, ``se``, ``hr``, ``hr_lower``, ``hr_upper`` (Wald CI
            at the model's ``level``), ``z`` and ``p`` (two-sided Wald).
        """
        lo, hi = self.hr_ci()
        return pd.DataFrame({
            "term": self.columns, "coef": self.coef, "se": self.se, "hr": self.hr,
            "hr_lower": lo, "hr_upper": hi, "z": self.z, "p": self.p,
        })

    def ph_test(self, transform: str = "km") -> PHTest:
        """Proportional-hazards score test per term and globally (R ``cox.zph``).

        Parameters
        ----------
        transform
            Time transform ``g(t)``: ``"km"`` (default, R's default), ``"identity"``,
            ``"log"`` or ``"rank"``; see :func:`ph_test`.

        Returns
        -------
        PHTest
            The per-term and global tests (and, unstratified, the scaled Schoenfeld
            residuals).
        """
        return ph_test(self, transform=transform)

    @property
    def summary(self) -> str:
        """Coefficient table as text."""
        lo, hi = self.hr_ci()
        lines = [
            f"Cox PH ({self.ties} ties) on n={self.n}, {self.n_events} events; "
            f"HR with {100 * self.level:g}% Wald CI:"
        ]
        for i, name in enumerate(self.columns):
            lines.append(f"  {name}: HR {self.hr[i]:.3f} ({lo[i]:.3f}-{hi[i]:.3f}), "
                         f"p={self.p[i]:.3g}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            Method, ties, n, events, level, references, ``coefficients`` (one
            ``{term, coef, se, hr, hr_lower, hr_upper, p}`` per column), ``loglik``, the
            likelihood-ratio test ``lrt`` and the provenance.
        """
        lo, hi = self.hr_ci()
        return {
            "method": "cox_ph",
            "ties": self.ties,
            "n": self.n,
            "events": self.n_events,
            "level": self.level,
            "references": self.references,
            "coefficients": [
                {"term": n, "coef": float(c), "se": float(s), "hr": float(h),
                 "hr_lower": float(a), "hr_upper": float(b), "p": float(p)}
                for n, c, s, h, a, b, p in zip(self.columns, self.coef, self.se, self.hr, lo,
                                               hi, self.p, strict=True)
            ],
            "loglik": list(self.loglik),
            "lrt": {"statistic": self.lrt[0], "p": self.lrt[1]},
            "provenance": self.provenance.to_dict(),
        }

    def plot(self, ax: Axes | None = None) -> Axes:
        """Forest plot of hazard ratios with CIs (log scale).

        Parameters
        ----------
        ax
            Matplotlib Axes to draw on; None (default) creates a new figure.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on: one row per coefficient, hazard ratio with its Wald CI at the
            model's ``level`` and a dashed line at HR = 1.
        """
        from hsctms.plots._style import PALETTE, new_axes

        ax = new_axes(ax, figsize=(6.0, 0.5 + 0.45 * len(self.columns)))
        lo, hi = self.hr_ci()
        y = np.arange(len(self.columns))[::-1]
        ax.errorbar(self.hr, y, xerr=[self.hr - lo, hi - self.hr], fmt="o", color=PALETTE[0],
                    capsize=3)
        ax.axvline(1.0, color="0.4", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_yticks(y, list(self.columns))
        ax.set_xlabel(f"Hazard ratio ({100 * self.level:g}% CI, log scale)")
        return ax


def cox_ph(
    data: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str],
    *,
    factors: Sequence[str] | None = None,
    references: Mapping[str, str] | None = None,
    strata: str | None = None,
    level: float = 0.95,
    ties: str = "efron",
) -> CoxModel:
    """Fit a Cox proportional-hazards model (Newton-Raphson; checked against R and statsmodels).

    Parameters
    ----------
    data
        One row per patient. Rows with a missing duration, event, stratum or covariate are
        dropped.
    duration
        Column name of the follow-up time (>= 0), in any unit (hazard ratios do not depend
        on it).
    event
        Column name of the event indicator (1 = event, 0 = censored).
    covariates
        Covariate columns; categorical ones are dummy-coded (first sorted level = reference
        unless ``references`` says otherwise).
    factors
        Numeric columns to treat as categorical (e.g. a centre coded 1, 2, 3); columns of
        other dtypes (text, booleans) are categorical anyway. Default None.
    references
        Covariate -> reference level for categorical covariates, written as the level's
        text (e.g. ``{"group": "DMT"}``); default None, the first sorted level.
    strata
        Optional column for a stratified model (separate baseline hazards).
    level
        Level of the hazard-ratio confidence intervals, in (0, 1); default 0.95.
    ties
        ``"efron"`` (default, as R) or ``"breslow"``.

    Returns
    -------
    CoxModel
        The coefficients with standard errors, hazard ratios and Wald intervals, the
        log-likelihoods, and the data used (for :meth:`CoxModel.ph_test`).

    Raises
    ------
    ConfigurationError
        If ``level`` is not in (0, 1).
    EstimationError
        If ``ties`` is unknown, a covariate column or reference level is not in the data,
        there are no events or the design is empty.
    ConvergenceError
        If the partial-likelihood maximisation does not converge.
    """
    level = check_level(level)
    if ties not in ("efron", "breslow"):
        raise EstimationError(f"Unknown ties method {ties!r}.", hint="Use 'efron' or 'breslow'.")
    cols = [duration, event] + ([strata] if strata else [])
    base = data.dropna(subset=cols)
    design = build_design(base, covariates, factors, references)
    df = base.loc[design.keep]
    t, codes = check_times(df[duration].to_numpy(), df[event].to_numpy(), name=event)
    s = codes.astype(float)
    if design.X.shape[1] == 0:
        raise EstimationError("The Cox model has no covariates with variation.",
                              hint="Check the covariate columns.")
    if s.sum() == 0:
        raise EstimationError("No events: the Cox model cannot be fitted.",
                              hint="Use a longer follow-up or a more common endpoint.")
    st = df[strata].astype(str).to_numpy() if strata else None
    coef, se, ll0, ll1 = _newton(t, s, design.X, st, ties == "efron")
    prov = Provenance("cox_ph", {"covariates": list(covariates), "ties": ties,
                                 "strata": strata, "level": level},
                      n=int(t.size))
    return CoxModel(design.columns, design.terms, design.references, coef, se,
                    (ll0, ll1), level, ties, int(t.size), int(s.sum()), t, s,
                    design.X, st, prov)


def _time_transform(time: np.ndarray, status: np.ndarray, transform: str) -> np.ndarray:
    if transform == "identity":
        return time.astype(float)
    if transform == "log":
        return np.log(time)
    if transform == "rank":
        return stats.rankdata(time)
    if transform == "km":
        from hsctms.survival.km import kaplan_meier

        km = kaplan_meier(time, status)
        idx = np.searchsorted(km.time, time, side="left")  # times strictly before
        s_prev = np.r_[1.0, km.surv][idx]
        return 1.0 - s_prev
    raise EstimationError(f"Unknown time transform {transform!r}.",
                          hint=f"Use one of {', '.join(TRANSFORMS)}.")


def _zph_stratum(
    t: np.ndarray, s: np.ndarray, X: np.ndarray, eta: np.ndarray, g: np.ndarray, efron: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Score for gamma and the 2p x 2p information within one stratum."""
    _, u, imat = _risk_set_stats(t, s, X, eta, g, efron)
    return u, imat


def _risk_set_stats(
    t: np.ndarray, s: np.ndarray, X: np.ndarray, eta: np.ndarray, g: np.ndarray | None,
    efron: bool,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Partial log-likelihood, score and information within one stratum (Efron or Breslow).

    With a time function ``g`` the score and information are those of the extended model
    ``beta + gamma g(t)`` at gamma = 0 (size 2p, as R's zph1.c); without, of beta (size p).
    """
    p = X.shape[1]
    shift = float(eta.max()) if eta.size else 0.0
    risk = np.exp(eta - shift)
    order = np.argsort(t, kind="stable")
    t, s, X, risk, eta = t[order], s[order], X[order], risk[order], eta[order]
    if g is not None:
        g = g[order]
    uniq, start = np.unique(t, return_index=True)
    nt = uniq.size
    xx = (X[:, :, None] * X[:, None, :]).reshape(X.shape[0], p * p)

    def per_time(arr: np.ndarray) -> np.ndarray:
        # sums over each distinct time (t is sorted): reduceat is much faster than add.at
        return np.add.reduceat(arr, start, axis=0) if arr.shape[0] else arr[:0]

    # sums per distinct time: all subjects and deaths only
    den_all, a_all = per_time(risk), per_time(risk[:, None] * X)
    c_all = per_time(risk[:, None] * xx).reshape(nt, p, p)
    rs = risk * s
    den_d, a_d = per_time(rs), per_time(rs[:, None] * X)
    c_d = per_time(rs[:, None] * xx).reshape(nt, p, p)
    nd = per_time(s.astype(float))
    # risk set sums (time >= t): reverse cumulative sums
    den_r = np.cumsum(den_all[::-1])[::-1]
    a_r = np.cumsum(a_all[::-1], axis=0)[::-1]
    c_r = np.cumsum(c_all[::-1], axis=0)[::-1]
    ev = nd > 0
    g_t = np.zeros(nt)
    if g is not None:
        g_t = per_time(np.where(s > 0, g, 0.0))
        g_t = np.where(ev, g_t / np.where(ev, nd, 1.0), 0.0)
    # deaths' own covariate sums
    xd = per_time(s[:, None] * X)
    q = 2 * p if g is not None else p
    u = np.zeros(q)
    u[:p] = xd.sum(axis=0)
    if g is not None:
        u[p:] = (g_t[:, None] * xd).sum(axis=0)
    loglik = float(np.sum(s * eta))
    idx = np.flatnonzero(ev)
    d = nd[idx]
    r0 = den_r[idx] - den_d[idx]
    a0 = a_r[idx] - a_d[idx]
    c0 = c_r[idx] - c_d[idx]
    gt = g_t[idx]
    if efron:
        rep = np.repeat(np.arange(idx.size), d.astype(int))
        k = np.concatenate([np.arange(1, int(m) + 1) for m in d]) if rep.size else np.zeros(0)
        frac = k / d[rep]
        wt = np.ones(rep.size)
    else:
        rep = np.arange(idx.size)
        frac = np.ones(idx.size)
        wt = d.astype(float)
    den = r0[rep] + frac * den_d[idx][rep]
    a = a0[rep] + frac[:, None] * a_d[idx][rep]
    c = c0[rep] + frac[:, None, None] * c_d[idx][rep]
    m = a / den[:, None]
    loglik -= float(np.sum(wt * (np.log(den) + shift)))
    u[:p] -= (wt[:, None] * m).sum(axis=0)
    v = wt[:, None, None] * (c / den[:, None, None] - m[:, :, None] * m[:, None, :])
    imat = np.zeros((q, q))
    imat[:p, :p] = v.sum(axis=0)
    if g is not None:
        gr = gt[rep]
        u[p:] -= (wt[:, None] * gr[:, None] * m).sum(axis=0)
        imat[:p, p:] = (gr[:, None, None] * v).sum(axis=0)
        imat[p:, :p] = imat[:p, p:].T
        imat[p:, p:] = (gr[:, None, None] ** 2 * v).sum(axis=0)
    return loglik, u, imat


def _total_stats(t: np.ndarray, s: np.ndarray, X: np.ndarray, strata: np.ndarray | None,
                 beta: np.ndarray, efron: bool) -> tuple[float, np.ndarray, np.ndarray]:
    p = X.shape[1]
    ll, u, imat = 0.0, np.zeros(p), np.zeros((p, p))
    groups = [np.ones(t.size, dtype=bool)] if strata is None else [
        strata == lev for lev in sorted(set(strata.tolist()))]
    for m in groups:
        a, b, c = _risk_set_stats(t[m], s[m], X[m], X[m] @ beta, None, efron)
        ll += a
        u += b
        imat += c
    return ll, u, imat


def _newton(t: np.ndarray, s: np.ndarray, X: np.ndarray, strata: np.ndarray | None,
            efron: bool, max_iter: int = 50) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Maximise the partial likelihood by Newton-Raphson with step halving (as R coxph).

    Returns coefficients, standard errors, and the log-likelihoods at 0 and at the optimum.
    """
    Xc = X - X.mean(axis=0)
    beta = np.zeros(X.shape[1])
    ll0, u, imat = _total_stats(t, s, Xc, strata, beta, efron)
    ll = ll0
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(imat, u)
        except np.linalg.LinAlgError as exc:
            raise ConvergenceError(
                "The Cox information matrix is singular.",
                hint="Covariates may be collinear or a level may be empty; drop or merge them.",
            ) from exc
        new = beta + step
        ll_new, u_new, imat_new = _total_stats(t, s, Xc, strata, new, efron)
        halvings = 0
        while not (np.isfinite(ll_new) and ll_new >= ll - 1e-12 * abs(ll)) and halvings < 30:
            step = step / 2
            new = beta + step
            ll_new, u_new, imat_new = _total_stats(t, s, Xc, strata, new, efron)
            halvings += 1
        done = abs(ll_new - ll) <= 1e-13 * max(1.0, abs(ll)) and np.max(np.abs(step)) < 1e-10
        beta, ll, u, imat = new, ll_new, u_new, imat_new
        if done:
            break
    else:
        raise ConvergenceError(
            f"The Cox model did not converge in {max_iter} Newton steps.",
            hint="A covariate level may have no events (monotone likelihood); merge levels.",
        )
    try:
        cov = np.linalg.inv(imat)
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError("The Cox information matrix is singular at the optimum.",
                               hint="Drop collinear covariates.") from exc
    se = np.sqrt(np.diag(cov))
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(se))) or np.max(np.abs(beta)) > 30:
        raise ConvergenceError(
            "The Cox model did not converge (infinite coefficient or SE).",
            hint="A covariate level may have no events (monotone likelihood); merge levels.",
        )
    return beta, se, float(ll0), float(ll)


def _schoenfeld_stratum(t: np.ndarray, s: np.ndarray, X: np.ndarray, eta: np.ndarray,
                        efron: bool) -> tuple[np.ndarray, np.ndarray]:
    """Schoenfeld residuals x_i - mean(t_i) of the deaths, in time order (Efron: the mean of
    the Efron-weighted means over the tied deaths, as R zph1.c)."""
    order = np.argsort(t, kind="stable")
    t, s, X, eta = t[order], s[order], X[order], eta[order]
    risk = np.exp(eta - (eta.max() if eta.size else 0.0))
    uniq, start = np.unique(t, return_index=True)

    def per_time(arr: np.ndarray) -> np.ndarray:
        return np.add.reduceat(arr, start, axis=0)

    den_all, a_all = per_time(risk), per_time(risk[:, None] * X)
    rs = risk * s
    den_d, a_d = per_time(rs), per_time(rs[:, None] * X)
    nd = per_time(s.astype(float))
    den_r = np.cumsum(den_all[::-1])[::-1]
    a_r = np.cumsum(a_all[::-1], axis=0)[::-1]
    idx = np.flatnonzero(nd > 0)
    d = nd[idx]
    if efron:
        rep = np.repeat(np.arange(idx.size), d.astype(int))
        k = np.concatenate([np.arange(1, int(m) + 1) for m in d]) if rep.size else np.zeros(0)
        frac = k / d[rep]
        r0 = (den_r - den_d)[idx][rep] + frac * den_d[idx][rep]
        a0 = (a_r - a_d)[idx][rep] + frac[:, None] * a_d[idx][rep]
        first = np.r_[0, np.cumsum(d.astype(int))[:-1]]
        tmean = np.add.reduceat(a0 / r0[:, None], first, axis=0) / d[:, None]
    else:
        tmean = a_r[idx] / den_r[idx][:, None]
    deaths = np.flatnonzero(s > 0)
    which = np.searchsorted(uniq[idx], t[deaths])
    return t[deaths], X[deaths] - tmean[which]


def ph_test(model: CoxModel, transform: str = "km") -> PHTest:
    """Grambsch-Therneau score test of proportional hazards, as R ``cox.zph`` (survival 3).

    Each coefficient is allowed to vary as ``beta + gamma g(t)``; the score test of
    ``gamma = 0`` is computed for each term and for all terms together (``GLOBAL``), within
    strata for a stratified model.

    Parameters
    ----------
    model
        A fitted :class:`CoxModel` (from :func:`cox_ph`).
    transform
        Time transform ``g(t)``: ``"km"`` (default, as R: one minus the left-continuous
        Kaplan-Meier estimate of the model's data), ``"identity"`` (time itself), ``"log"``
        or ``"rank"`` (rank of the time).

    Returns
    -------
    PHTest
        The per-term and global chi-square tests and, for an unstratified model, the scaled
        Schoenfeld residuals for :meth:`PHTest.plot`.

    Raises
    ------
    EstimationError
        If ``transform`` is not one of the four above.
    """
    if transform not in TRANSFORMS:
        raise EstimationError(f"Unknown time transform {transform!r}.",
                              hint=f"Use one of {', '.join(TRANSFORMS)}.")
    t, s, X = model.time, model.status, model.X
    X = X - X.mean(axis=0)
    eta = X @ model.coef
    tt = _time_transform(t, s, transform)
    g = tt - tt[s > 0].mean()
    p = X.shape[1]
    u = np.zeros(2 * p)
    imat = np.zeros((2 * p, 2 * p))
    strata = model.strata if model.strata is not None else np.zeros(t.size, dtype=str)
    for lev in sorted(set(strata.tolist())):
        msk = strata == lev
        uu, ii = _zph_stratum(t[msk], s[msk], X[msk], eta[msk], g[msk], model.ties == "efron")
        u += uu
        imat += ii
    rows = []
    beta_idx = list(range(p))
    for term, cols in model.terms.items():
        kk = beta_idx + [p + j for j in cols]
        uk = np.r_[np.zeros(p), u[[p + j for j in cols]]]
        stat = float(uk @ np.linalg.solve(imat[np.ix_(kk, kk)], uk))
        rows.append((term, stat, len(cols), float(stats.chi2.sf(stat, len(cols)))))
    ug = np.r_[np.zeros(p), u[p:]]
    stat = float(ug @ np.linalg.solve(imat, ug))
    rows.append(("GLOBAL", stat, p, float(stats.chi2.sf(stat, p))))
    table = pd.DataFrame(rows, columns=["term", "chisq", "df", "p"])
    prov = Provenance("cox_zph_score", {"transform": transform, "ties": model.ties},
                      n=model.n, synthetic=model.provenance.synthetic,
                      data_date=model.provenance.data_date)
    residuals = None
    if model.strata is None and s.sum() > 0:
        # scaled Schoenfeld residuals (R cox.zph(terms=FALSE)$y): r V^-1 n_events + beta
        dt, res = _schoenfeld_stratum(t, s, X, eta, model.ties == "efron")
        order = np.argsort(t, kind="stable")
        x_t = tt[order][s[order] > 0]
        vmean = imat[:p, :p] / s.sum()
        scaled = np.linalg.solve(vmean, res.T).T + model.coef
        residuals = pd.DataFrame(scaled, columns=list(model.columns))
        residuals.insert(0, "x", x_t)
        residuals.insert(0, "time", dt)
    return PHTest(table, transform, prov, residuals,
                  dict(zip(model.columns, model.coef.tolist(), strict=True)))
