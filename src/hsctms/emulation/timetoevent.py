"""Weighted time-to-event outcomes of an emulated trial: Cox model and Kaplan-Meier.

* :func:`weighted_cox`: weighted Cox model (Efron or Breslow ties) with the robust variance
  of R ``survival::coxph(weights = , robust = TRUE)`` / ``cluster =``: ``D'D`` with ``D`` the
  weighted dfbeta residuals (score residuals times the model variance), summed within
  clusters. Neither the project's :func:`hsctms.survival.cox_ph` nor statsmodels ``PHReg``
  takes case weights, so the weighted partial likelihood and its score residuals are written
  here (R ``coxfit6`` / ``coxscore2``) and tested against R.
* :func:`weighted_km`: the weighted Kaplan-Meier estimate (R ``survfit(weights = )``) with
  R's infinitesimal-jackknife or weighted Greenwood SE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from hsctms._provenance import Provenance
from hsctms.emulation.outcomes import (
    OutcomeOptions,
    _columns,
    _forest,
    _groups,
    _table,
    _weights,
)
from hsctms.errors import ConvergenceError, EstimationError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["WeightedCox", "WeightedKM", "weighted_cox", "weighted_km"]


@dataclass(frozen=True)
class WeightedCox:
    """A weighted Cox model with robust variance.

    Parameters
    ----------
    table
        One row per term: ``coef``, robust ``se``, hazard ratio ``ratio``, ``lower``,
        ``upper``, ``p``; ``naive_se`` is the model-based SE.
    ties
        ``"efron"`` or ``"breslow"``.
    loglik
        Weighted log partial likelihood at the estimate.
    level
        Confidence level.
    n
        Patients with positive weight.
    n_events
        Events among them.
    provenance
        How it was computed.
    """

    table: pd.DataFrame
    ties: str
    loglik: float
    level: float
    n: int
    n_events: int
    provenance: Provenance = field(default_factory=lambda: Provenance("weighted_cox"))

    @property
    def summary(self) -> str:
        """The hazard ratios as text."""
        lines = [f"Weighted Cox ({self.ties} ties), robust SE, n={self.n}, "
                 f"{self.n_events} events"]
        for name, r in self.table.iterrows():
            lines.append(f"  {name}: HR {r['ratio']:.3f} ({r['lower']:.3f}-{r['upper']:.3f}), "
                         f"p={r['p']:.3g}")
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table.

        Returns
        -------
        pandas.DataFrame
            A copy of :attr:`table`.
        """
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            Ties, log-likelihood, level, n, events, ``coefficients`` and provenance.
        """
        return {"method": "weighted_cox", "ties": self.ties, "loglik": self.loglik,
                "level": self.level, "n": self.n, "events": self.n_events,
                "coefficients": [{"term": str(k), **{c: float(v) for c, v in r.items()}}
                                 for k, r in self.table.iterrows()],
                "provenance": self.provenance.to_dict()}

    def plot(self, ax: Axes | None = None) -> Axes:
        """Forest plot of the hazard ratios.

        Parameters
        ----------
        ax
            Matplotlib Axes to draw on; None (default) creates a new figure.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.
        """
        return _forest(self.table, ax, "Hazard ratio")


def _cox_pieces(time: np.ndarray, status: np.ndarray, X: np.ndarray, w: np.ndarray,
                beta: np.ndarray, efron: bool, resid: bool = False
                ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray | None]:
    """Log-likelihood, score, information (and score residuals) at ``beta``.

    Rows must be sorted by time ascending. A censored patient at time t is at risk for the
    deaths at t (R's convention).
    """
    n, p = X.shape
    eta = X @ beta
    r = np.exp(eta - eta.max())  # scale cancels in every ratio
    scale_log = eta.max()
    wr = w * r
    # risk-set sums for a patient's time: everything at index >= first index of that time
    rev = slice(None, None, -1)
    s0 = np.cumsum(wr[rev])[rev]
    s1 = np.cumsum((wr[:, None] * X)[rev], axis=0)[rev]
    s2 = np.cumsum((wr[:, None, None] * X[:, :, None] * X[:, None, :])[rev], axis=0)[rev]
    uniq, first = np.unique(time, return_index=True)
    loglik = 0.0
    score = np.zeros(p)
    info = np.zeros((p, p))
    res = np.zeros((n, p)) if resid else None
    # cumulative hazard-type sums for the residuals: H (sum dLambda), G (sum dLambda xbar)
    H = 0.0
    G = np.zeros(p)
    for j in range(len(uniq)):
        a = first[j]
        b = first[j + 1] if j + 1 < len(uniq) else n
        idx = np.arange(a, b)
        dead = idx[status[idx] == 1]
        if len(dead) == 0:
            if resid and res is not None:
                res[idx] -= r[idx, None] * (X[idx] * H - G)
            continue
        d = len(dead)
        wd = float(w[dead].sum())
        meanwt = wd / d
        S0, S1, S2 = s0[a], s1[a], s2[a]
        e0 = float(wr[dead].sum())
        e1 = (wr[dead, None] * X[dead]).sum(axis=0)
        e2 = (wr[dead, None, None] * X[dead, :, None] * X[dead, None, :]).sum(axis=0)
        loglik += float(np.sum(w[dead] * eta[dead]))
        score += (w[dead, None] * X[dead]).sum(axis=0)
        h = 0.0
        g = np.zeros(p)
        hd = 0.0
        gd = np.zeros(p)
        xbar_mean = np.zeros(p)
        steps = range(d) if efron else range(1)
        nsteps = d if efron else 1
        for k in steps:
            frac = k / d if efron else 0.0
            D0 = S0 - frac * e0
            D1 = S1 - frac * e1
            D2 = S2 - frac * e2
            xb = D1 / D0
            mult = meanwt if efron else wd
            loglik -= mult * (math.log(D0) + scale_log)
            score -= mult * xb
            info += mult * (D2 / D0 - np.outer(xb, xb))
            h += mult / D0
            g += mult * xb / D0
            hd += (1 - frac) * mult / D0
            gd += (1 - frac) * mult * xb / D0
            xbar_mean += xb / nsteps
        if resid and res is not None:
            # censored at this time: at risk for all of its deaths (full increments);
            # dying at this time: the earlier increments plus the Efron-fraction ones
            # (R coxscore2), and the death term x_i minus the mean of the Efron means
            alive = idx[status[idx] == 0]
            res[alive] -= r[alive, None] * (X[alive] * (H + h) - (G + g))
            res[dead] += X[dead] - xbar_mean
            res[dead] -= r[dead, None] * (X[dead] * (H + hd) - (G + gd))
        H += h
        G = G + g
    return loglik, score, info, res


def weighted_cox(
    data: pd.DataFrame, options: OutcomeOptions | None = None, *, time: str = "time",
    event: str = "event", weights: Any = None, ties: str = "efron",
) -> WeightedCox:
    """Weighted Cox model with the robust (or cluster-robust) variance of R ``coxph``.

    Parameters
    ----------
    data
        One row per patient.
    options
        Treatment, covariates, cluster and level (:class:`OutcomeOptions`).
    time
        Column of follow-up time (> 0).
    event
        Column of the event indicator (1 event, 0 censored).
    weights
        Case weights per row; None for all 1. Rows of weight 0 are dropped.
    ties
        ``"efron"`` (R's default) or ``"breslow"``.

    Returns
    -------
    WeightedCox
        Equal to ``coxph(Surv(time, event) ~ treat, weights = w, robust = TRUE)`` or with
        ``cluster = id``.
    """
    o = options or OutcomeOptions()
    if ties not in ("efron", "breslow"):
        raise EstimationError("ties must be 'efron' or 'breslow'.")
    w = _weights(data, weights)
    keep = w > 0
    d = data.loc[keep]
    w = w[keep]
    names = [o.treatment, *o.covariates]
    X = _columns(d, names)
    t = _columns(d, [time])[:, 0]
    s = _columns(d, [event])[:, 0]
    if not np.isin(s, (0.0, 1.0)).all() or (t <= 0).any():
        raise EstimationError("event must be 0/1 and time > 0.")
    if s.sum() == 0:
        raise EstimationError("No event: the Cox model cannot be fitted.")
    order = np.argsort(t, kind="stable")
    t, s, X, w = t[order], s[order], X[order], w[order]
    efron = ties == "efron"
    beta = np.zeros(X.shape[1])
    ll, sc, info, _ = _cox_pieces(t, s, X, w, beta, efron)
    for _ in range(50):
        step = np.linalg.solve(info, sc)
        new = beta + step
        ll_new, sc_new, info_new, _ = _cox_pieces(t, s, X, w, new, efron)
        halvings = 0
        while ll_new < ll - 1e-12 and halvings < 30:
            step /= 2
            new = beta + step
            ll_new, sc_new, info_new, _ = _cox_pieces(t, s, X, w, new, efron)
            halvings += 1
        converged = abs(ll_new - ll) <= 1e-12 * max(1.0, abs(ll_new))
        beta, ll, sc, info = new, ll_new, sc_new, info_new
        if converged and np.max(np.abs(step)) < 1e-10:
            break
    else:  # pragma: no cover
        raise ConvergenceError("The weighted Cox model did not converge.")
    ll, sc, info, res = _cox_pieces(t, s, X, w, beta, efron, resid=True)
    assert res is not None
    var = np.linalg.inv(info)
    dfbeta = (w[:, None] * res) @ var
    groups = _groups(d.iloc[order], o.cluster)
    if groups is not None:
        summed = np.zeros((groups.max() + 1, X.shape[1]))
        np.add.at(summed, groups, dfbeta)
        dfbeta = summed
    robust = dfbeta.T @ dfbeta
    table = _table(names, beta, np.sqrt(np.diag(robust)), o.level)
    table["naive_se"] = np.sqrt(np.diag(var))
    prov = Provenance("weighted_cox", {"time": time, "event": event, "ties": ties,
                                       "treatment": o.treatment,
                                       "covariates": list(o.covariates),
                                       "cluster": o.cluster}, n=int(keep.sum()))
    return WeightedCox(table, ties, ll, o.level, int(keep.sum()), int(s.sum()), prov)


@dataclass(frozen=True)
class WeightedKM:
    """Weighted Kaplan-Meier curves, one per arm.

    Parameters
    ----------
    table
        Rows ``arm``, ``time``, ``n_risk`` (weighted), ``n_event`` (weighted), ``surv``,
        ``se``, ``lower``, ``upper`` at each distinct event or censoring time of that arm.
    robust
        Whether ``se`` is the infinitesimal-jackknife (robust) SE.
    provenance
        How it was computed.
    """

    table: pd.DataFrame
    robust: bool
    provenance: Provenance = field(default_factory=lambda: Provenance("weighted_km"))

    def survival_at(self, arm: float, t: float) -> float:
        """Estimated survival of ``arm`` at time ``t``.

        Parameters
        ----------
        arm
            0 or 1.
        t
            Time (same unit as the data).

        Returns
        -------
        float
            The step-function value (1 before the first event).
        """
        rows = self.table[(self.table["arm"] == arm) & (self.table["time"] <= t)]
        return 1.0 if rows.empty else float(rows["surv"].iloc[-1])

    def at(self, arm: float, t: float) -> dict[str, float]:
        """Estimate, SE and limits of ``arm`` at time ``t``.

        Parameters
        ----------
        arm
            0 or 1.
        t
            Time (same unit as the data).

        Returns
        -------
        dict
            ``surv``, ``se``, ``lower``, ``upper`` (1, 0, 1, 1 before the first time).
        """
        rows = self.table[(self.table["arm"] == arm) & (self.table["time"] <= t)]
        if rows.empty:
            return {"surv": 1.0, "se": 0.0, "lower": 1.0, "upper": 1.0}
        last = rows.iloc[-1]
        return {k: float(last[k]) for k in ("surv", "se", "lower", "upper")}

    @property
    def summary(self) -> str:
        """Final survival per arm as text."""
        parts = []
        for arm, g in self.table.groupby("arm"):
            parts.append(f"arm {arm:g}: S({g['time'].iloc[-1]:g}) = {g['surv'].iloc[-1]:.3f}")
        return "Weighted Kaplan-Meier: " + "; ".join(parts)

    def to_frame(self) -> pd.DataFrame:
        """The curve table.

        Returns
        -------
        pandas.DataFrame
            A copy of :attr:`table`.
        """
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            ``rows`` of the table and provenance.
        """
        rows = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                 for k, v in r.items()} for r in self.table.to_dict(orient="records")]
        return {"method": "weighted_km", "robust": self.robust, "rows": rows,
                "provenance": self.provenance.to_dict()}

    def plot(self, ax: Axes | None = None) -> Axes:
        """Step plot of both curves.

        Parameters
        ----------
        ax
            Matplotlib Axes to draw on; None (default) creates a new figure.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.
        """
        from hsctms.plots._style import PALETTE, new_axes

        ax = new_axes(ax)
        for i, (arm, g) in enumerate(self.table.groupby("arm")):
            ax.step(np.r_[0.0, g["time"]], np.r_[1.0, g["surv"]], where="post",
                    color=PALETTE[i], label="treated" if arm == 1 else "control")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("Time")
        ax.set_ylabel("Event-free (weighted)")
        ax.legend()
        return ax


def weighted_km(
    data: pd.DataFrame, *, time: str = "time", event: str = "event", treatment: str = "treat",
    weights: Any = None, robust: bool | None = None, level: float = 0.95,
) -> WeightedKM:
    """Weighted Kaplan-Meier estimate per arm (R ``survfit(Surv(time, event) ~ treat,
    weights = w)``), with R's standard errors and log-scale confidence limits.

    Parameters
    ----------
    data
        One row per patient.
    time
        Column of follow-up time.
    event
        Column of the 0/1 event indicator.
    treatment
        Name of the 0/1 treatment column.
    weights
        Case weights per row; None for all 1.
    robust
        True: infinitesimal-jackknife SE, ``sqrt(sum (w_i U_i)^2)`` with ``U_i`` the
        derivative of the estimate with respect to patient i's weight; False: the
        model-based (weighted Greenwood) SE, ``sqrt(sum w_i U_i^2)``. None (default) follows
        R: robust when any weight is not an integer.
    level
        Confidence level of the limits ``S exp(+-z se/S)`` (R's ``conf.type = "log"``, upper
        limit capped at 1).

    Returns
    -------
    WeightedKM
        Per arm and distinct time: weighted numbers at risk and of events, the estimate, its
        SE and limits.
    """
    if not 0.0 < level < 1.0:
        raise EstimationError(f"level must be in (0, 1), not {level!r}.")
    w = _weights(data, weights)
    if robust is None:
        robust = bool(np.any(w != np.round(w)))
    keep = w > 0
    d = data.loc[keep]
    w = w[keep]
    t = _columns(d, [time])[:, 0]
    s = _columns(d, [event])[:, 0]
    arm = _columns(d, [treatment])[:, 0]
    z = float(stats.norm.ppf(0.5 + level / 2))
    rows = []
    for a in np.unique(arm):
        m = arm == a
        ta, sa, wa = t[m], s[m], w[m]
        surv = 1.0
        infl = np.zeros(len(ta))  # d log S / d w_i
        for u in np.unique(ta):
            at = ta >= u
            died = (ta == u) & (sa == 1)
            n_risk = float(wa[at].sum())
            ev = float(wa[died].sum())
            if ev > 0:
                surv *= 1.0 - ev / n_risk
                if n_risk > ev:
                    infl -= (died * n_risk - ev * at) / (n_risk * (n_risk - ev))
                else:
                    infl[:] = np.nan
            se_log = float(np.sqrt(np.sum((wa * infl) ** 2) if robust
                                   else np.sum(wa * infl ** 2)))
            lower = surv * math.exp(-z * se_log) if surv > 0 else math.nan
            upper = min(1.0, surv * math.exp(z * se_log)) if surv > 0 else math.nan
            rows.append({"arm": float(a), "time": float(u), "n_risk": n_risk,
                         "n_event": ev, "surv": surv, "se": surv * se_log,
                         "lower": lower, "upper": upper})
    prov = Provenance("weighted_km", {"time": time, "event": event, "treatment": treatment,
                                      "robust": robust, "level": level}, n=int(keep.sum()))
    return WeightedKM(pd.DataFrame(rows), robust, prov)
