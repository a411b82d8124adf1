"""Kaplan-Meier estimation: survival curves, confidence bands, medians, restricted means.

Conventions (all checked against R ``survival`` 3.5, see ``tests/reference/survival``):

* standard error of S(t): Greenwood, ``S(t) * sqrt(sum d / (n (n - d)))`` (R ``std.err``);
* confidence bands: ``conf_type`` ``"log-log"`` (default), ``"log"`` (R's default) or ``"plain"``
  at any ``level``; every output states the transform;
* numbers at risk at t: #(T >= t), R ``summary(fit, times)$n.risk``;
* median and other quantiles: R's rule (midpoint of a flat stretch at exactly p), confidence
  limits read off the pointwise band (Brookmeyer-Crowley style);
* restricted mean survival time (RMST) to ``tau``: the area under S on [0, tau] with R's
  ``print(fit, rmean=tau)`` standard error;
* median follow-up: reverse Kaplan-Meier (censoring as the event).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hsctms._provenance import Provenance
from hsctms.errors import EstimationError
from hsctms.survival._common import (
    FloatArray,
    at_risk,
    check_conf_type,
    check_level,
    check_times,
    clean_labels,
    finite_or_none,
    list_or_none,
    prob_ci,
    sorted_levels,
    stack_groups,
    step_at,
    z_value,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

_TOL = float(np.sqrt(np.finfo(float).eps))


def _findq(x: FloatArray, y: FloatArray, p: float, xmax: float) -> float:
    """R ``survival:::findq``: where the increasing step curve y (= 1 - S) reaches p."""
    valid = ~np.isnan(y)
    x, y = x[valid], y[valid]
    if y.size == 0 or y.max() < p:
        return float("nan")
    keep = np.r_[True, y[1:] != y[:-1]] if y.size > 1 else np.array([True])
    # R drops duplicated y values anywhere (curve is monotone, so only neighbours matter)
    x, y = x[keep], y[keep]
    n = y.size
    i1 = int(np.searchsorted(y + _TOL, p, side="left"))
    i2 = int(np.searchsorted(y - _TOL, p, side="left"))
    if i1 >= n:
        return float("nan")
    if abs(p - y[-1]) < _TOL:
        return float((x[i1] + xmax) / 2.0)
    if i2 >= n:
        return float("nan")
    return float((x[i1] + x[i2]) / 2.0)


@dataclass(frozen=True)
class Quantile:
    """A survival-time quantile (e.g. the median) with its confidence limits (NaN = not reached)."""

    p: float
    estimate: float
    lower: float
    upper: float
    level: float
    conf_type: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (``None`` = not reached)."""
        return {
            "p": self.p,
            "estimate": finite_or_none(self.estimate),
            "lower": finite_or_none(self.lower),
            "upper": finite_or_none(self.upper),
            "level": self.level,
            "conf_type": self.conf_type,
        }


@dataclass(frozen=True)
class RestrictedMean:
    """Restricted mean survival time up to ``tau`` with standard error and CI (plain)."""

    tau: float
    estimate: float
    se: float
    lower: float
    upper: float
    level: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {k: finite_or_none(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier survival curve with Greenwood standard errors and pointwise CIs.

    Attributes
    ----------
    time
        Distinct observed times (events and censorings), ascending.
    n_risk, n_event, n_censor
        Numbers at risk (#T >= t), events and censorings at each time.
    surv, se, lower, upper
        S(t), its Greenwood SE and confidence limits (transform ``conf_type`` at ``level``).
    durations
        The sorted input times (for numbers at risk at arbitrary times).
    """

    time: FloatArray
    n_risk: FloatArray
    n_event: FloatArray
    n_censor: FloatArray
    surv: FloatArray
    se: FloatArray
    lower: FloatArray
    upper: FloatArray
    durations: FloatArray
    level: float
    conf_type: str
    label: str | None = None
    provenance: Provenance = field(default_factory=lambda: Provenance("kaplan_meier"))

    # -- basic facts ----------------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of observations."""
        return int(self.durations.size)

    @property
    def events(self) -> int:
        """Number of events."""
        return int(self.n_event.sum())

    # -- evaluation -----------------------------------------------------------------
    def at_risk(self, times: Any) -> np.ndarray:
        """Numbers at risk #(T >= t) at ``times``."""
        return at_risk(self.durations, times)

    def survival_at(self, times: Sequence[float] | FloatArray) -> pd.DataFrame:
        """S(t), SE, CI, numbers at risk and cumulative events at ``times``.

        Times beyond the last observation carry the last value (R ``extend=TRUE`` keeps the
        curve but reports 0 at risk).
        """
        t = np.asarray(times, dtype=float)
        cum_events = np.cumsum(self.n_event)
        return pd.DataFrame(
            {
                "time": t,
                "surv": step_at(self.time, self.surv, t, before=1.0),
                "se": step_at(self.time, self.se, t, before=0.0),
                "lower": step_at(self.time, self.lower, t, before=1.0),
                "upper": step_at(self.time, self.upper, t, before=1.0),
                "n_risk": self.at_risk(t),
                "cum_events": step_at(self.time, cum_events, t, before=0.0).astype(int),
            }
        )

    def quantile(self, p: float = 0.5) -> Quantile:
        """Time by which a fraction ``p`` has had the event (p=0.5: median), R's rule."""
        x = np.r_[0.0, self.time]
        xmax = float(self.time[-1]) if self.time.size else 0.0
        est = _findq(x, np.r_[0.0, 1.0 - self.surv], p, xmax)
        lo = _findq(x, np.r_[0.0, 1.0 - self.lower], p, xmax)
        hi = _findq(x, np.r_[0.0, 1.0 - self.upper], p, xmax)
        return Quantile(p, est, lo, hi, self.level, self.conf_type)

    @property
    def median(self) -> Quantile:
        """Median survival time with CI (NaN when not reached)."""
        return self.quantile(0.5)

    def rmst(self, tau: float) -> RestrictedMean:
        """Restricted mean survival time to ``tau`` (area under S on [0, tau]).

        The standard error is R's (``summary(survfit, rmean=tau)``):
        ``sqrt(sum_i A_i^2 d_i / (n_i (n_i - d_i)))`` over event times t_i <= tau with
        ``A_i`` the area under S from t_i to tau.
        """
        if tau <= 0:
            raise EstimationError(f"tau must be positive, got {tau}.", hint="Use e.g. 5 years.")
        keep = (self.time <= tau) & (self.n_event > 0)
        t = self.time[keep]
        s = self.surv[keep]
        d = self.n_event[keep]
        n = self.n_risk[keep]
        knots = np.r_[0.0, t, tau]
        heights = np.r_[1.0, s]
        areas = np.diff(knots) * heights
        estimate = float(areas.sum())
        # area from each event time to tau
        tail = np.cumsum(areas[::-1])[::-1][1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(n - d > 0, d / (n * (n - d)), 0.0)
        se = float(np.sqrt(np.sum(tail**2 * h)))
        z = z_value(self.level)
        return RestrictedMean(float(tau), estimate, se, estimate - z * se, estimate + z * se,
                              self.level)

    # -- output ---------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The full curve: one row per distinct time."""
        return pd.DataFrame(
            {
                "time": self.time,
                "n_risk": self.n_risk.astype(int),
                "n_event": self.n_event.astype(int),
                "n_censor": self.n_censor.astype(int),
                "surv": self.surv,
                "se": self.se,
                "lower": self.lower,
                "upper": self.upper,
            }
        )

    @property
    def summary(self) -> str:
        """One-paragraph description."""
        med = self.median
        name = f"{self.label}: " if self.label else ""
        med_txt = (
            "median not reached"
            if np.isnan(med.estimate)
            else f"median {med.estimate:g} ({100 * self.level:g}% CI "
            f"{_fmt(med.lower)}-{_fmt(med.upper)})"
        )
        return (
            f"{name}Kaplan-Meier on n={self.n} with {self.events} events; {med_txt}; "
            f"{100 * self.level:g}% CIs use the {self.conf_type} transform, Greenwood SE."
        )

    def to_dict(self, times: Sequence[float] | None = None) -> dict[str, Any]:
        """JSON-serialisable result (curve, median, optional values at ``times``)."""
        out: dict[str, Any] = {
            "method": "kaplan_meier",
            "label": self.label,
            "n": self.n,
            "events": self.events,
            "level": self.level,
            "conf_type": self.conf_type,
            "se": "greenwood",
            "median": self.median.to_dict(),
            "curve": {
                "time": self.time.tolist(),
                "n_risk": self.n_risk.astype(int).tolist(),
                "n_event": self.n_event.astype(int).tolist(),
                "surv": list_or_none(self.surv),
                "lower": list_or_none(self.lower),
                "upper": list_or_none(self.upper),
            },
            "provenance": self.provenance.to_dict(),
        }
        if times is not None:
            at = self.survival_at(times)
            out["at_times"] = {c: list_or_none(at[c]) for c in at.columns}
        return out

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Plot the curve with CI band and censoring ticks (see :func:`hsctms.plots.km.plot_km`)."""
        from hsctms.plots.km import plot_km

        return plot_km([self], ax=ax, **kwargs)


def _fmt(x: float) -> str:
    return "NR" if not np.isfinite(x) else f"{x:g}"


def kaplan_meier(
    time: Any,
    event: Any,
    *,
    level: float = 0.95,
    conf_type: str = "log-log",
    label: str | None = None,
) -> KaplanMeier:
    """Fit a Kaplan-Meier curve.

    Parameters
    ----------
    time
        Follow-up times (>= 0) from the time origin.
    event
        1 = event, 0 = censored (booleans accepted).
    level
        Confidence level of the pointwise band and the median CI (e.g. 0.9 as HALT-MS).
    conf_type
        ``"log-log"`` (default), ``"log"`` (R's default) or ``"plain"``.
    label
        Name of the curve (group) for legends and tables.

    Returns
    -------
    KaplanMeier

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 2, 3, 5], [1, 1, 0, 1, 0])
    >>> round(float(km.survival_at([2.5])["surv"][0]), 4)
    0.6
    """
    level = check_level(level)
    conf_type = check_conf_type(conf_type)
    t, e = check_times(time, event)
    order = np.argsort(t, kind="stable")
    ts, es = t[order], e[order]
    uniq, start, counts = np.unique(ts, return_index=True, return_counts=True)
    d = np.add.reduceat(es, start).astype(float) if ts.size else np.zeros(0)
    n_risk = (ts.size - start).astype(float)
    c = counts - d
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(n_risk > 0, 1.0 - d / n_risk, 1.0)
        surv = np.asarray(np.cumprod(frac), dtype=float)
        gw = np.cumsum(np.where(n_risk - d > 0, d / (n_risk * (n_risk - d)), np.inf * (d > 0)))
        se = surv * np.sqrt(gw)
    se = np.asarray(np.where(surv == 0, np.nan, se), dtype=float)
    lower, upper = prob_ci(surv, se, level=level, conf_type=conf_type)
    prov = Provenance(
        "kaplan_meier",
        {"level": level, "conf_type": conf_type, "se": "greenwood", "label": label},
        n=int(t.size),
    )
    return KaplanMeier(uniq.astype(float), n_risk, d, c.astype(float), surv, se, lower, upper,
                       ts, level, conf_type, label, prov)


@dataclass(frozen=True)
class KaplanMeierGroups:
    """Kaplan-Meier curves by group (stratified fit), in sorted group order."""

    fits: dict[str, KaplanMeier]
    variable: str | None = None

    @property
    def groups(self) -> list[str]:
        """Group labels."""
        return list(self.fits)

    def survival_at(self, times: Sequence[float]) -> pd.DataFrame:
        """Long table: one row per group and time."""
        return stack_groups(self.fits, lambda fit: fit.survival_at(times))

    def to_frame(self) -> pd.DataFrame:
        """All curves stacked with a ``group`` column."""
        return stack_groups(self.fits, lambda fit: fit.to_frame())

    @property
    def summary(self) -> str:
        """One line per group."""
        return "\n".join(f.summary for f in self.fits.values())

    def to_dict(self, times: Sequence[float] | None = None) -> dict[str, Any]:
        """JSON-serialisable result."""
        return {
            "variable": self.variable,
            "groups": {g: f.to_dict(times) for g, f in self.fits.items()},
        }

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Overlay the curves (see :func:`hsctms.plots.km.plot_km`)."""
        from hsctms.plots.km import plot_km

        return plot_km(list(self.fits.values()), ax=ax, **kwargs)


def kaplan_meier_by(
    time: Any,
    event: Any,
    groups: Any,
    *,
    level: float = 0.95,
    conf_type: str = "log-log",
    variable: str | None = None,
) -> KaplanMeierGroups:
    """Kaplan-Meier curves for each level of ``groups`` (sorted like R's ``factor``)."""
    t, e = check_times(time, event)
    g = clean_labels(groups, t.size)
    fits = {
        lev: kaplan_meier(t[g == lev], e[g == lev], level=level, conf_type=conf_type, label=lev)
        for lev in sorted_levels(g)
    }
    return KaplanMeierGroups(fits, variable)


@dataclass(frozen=True)
class FollowUp:
    """Median follow-up by the reverse Kaplan-Meier method (censoring treated as the event)."""

    median: Quantile
    n: int
    q1: float
    q3: float
    provenance: Provenance

    @property
    def summary(self) -> str:
        """One-line description."""
        return (
            f"Median follow-up {_fmt(self.median.estimate)} (reverse Kaplan-Meier; IQR "
            f"{_fmt(self.q1)}-{_fmt(self.q3)}) on n={self.n}."
        )

    def to_frame(self) -> pd.DataFrame:
        """One-row table: n, median follow-up with CI, quartiles."""
        m = self.median
        return pd.DataFrame([{"n": self.n, "median": m.estimate, "lower": m.lower,
                              "upper": m.upper, "q1": self.q1, "q3": self.q3}])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "method": "reverse_kaplan_meier",
            "n": self.n,
            "median": self.median.to_dict(),
            "q1": finite_or_none(self.q1),
            "q3": finite_or_none(self.q3),
            "provenance": self.provenance.to_dict(),
        }


def median_followup(
    time: Any,
    event: Any,
    *,
    level: float = 0.95,
    conf_type: str = "log-log",
) -> FollowUp:
    """Median potential follow-up by reverse Kaplan-Meier (Schemper & Smith 1996)."""
    t, e = check_times(time, event)
    rev = kaplan_meier(t, 1 - e, level=level, conf_type=conf_type)
    prov = Provenance("reverse_kaplan_meier", {"level": level, "conf_type": conf_type},
                      n=int(t.size))
    return FollowUp(rev.median, int(t.size), rev.quantile(0.25).estimate,
                    rev.quantile(0.75).estimate, prov)
