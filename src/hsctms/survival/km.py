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
    """A survival-time quantile (e.g. the median) with its confidence limits (NaN = not reached).

    Built by :meth:`KaplanMeier.quantile` (and :attr:`KaplanMeier.median`); times are in the
    unit of the fitted follow-up times (years in the hsctms analyses).

    Parameters
    ----------
    p
        Fraction of patients with the event by the quantile, in (0, 1) (0.5 = median).
    estimate
        Time by which a fraction ``p`` has had the event (R's rule: the midpoint of a flat
        stretch of the curve at exactly ``1 - p``); NaN when the curve never falls to ``1 - p``.
    lower
        Lower confidence limit: the time at which the lower limit of the pointwise band of
        S falls to ``1 - p`` (Brookmeyer-Crowley style); NaN when not reached.
    upper
        Upper confidence limit: the time at which the upper limit of the band falls to
        ``1 - p``; NaN when not reached (common for a median with few events).
    level
        Confidence level of the band the limits come from (proportion, e.g. 0.95).
    conf_type
        Transform of that band: ``"log-log"``, ``"log"`` or ``"plain"``.
    """

    p: float
    estimate: float
    lower: float
    upper: float
    level: float
    conf_type: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (``None`` = not reached).

        Returns
        -------
        dict
            Keys ``p``, ``estimate``, ``lower``, ``upper``, ``level`` and ``conf_type``; a
            limit or estimate that is not reached (NaN) is ``None``.
        """
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
    """Restricted mean survival time up to ``tau`` with standard error and CI (plain).

    Built by :meth:`KaplanMeier.rmst`; every time is in the unit of the fitted follow-up
    times (years in the hsctms analyses).

    Parameters
    ----------
    tau
        Truncation time: the mean is of ``min(T, tau)``, the area under S on [0, tau].
    estimate
        Restricted mean survival time (same unit as ``tau``).
    se
        Its standard error, as R ``print(survfit, rmean=tau)``.
    lower
        Lower limit of the plain Wald interval ``estimate - z se`` (not truncated at 0).
    upper
        Upper limit ``estimate + z se`` (not truncated at ``tau``).
    level
        Confidence level of the interval (proportion, e.g. 0.95), that of the fit.
    """

    tau: float
    estimate: float
    se: float
    lower: float
    upper: float
    level: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            One key per field (``tau``, ``estimate``, ``se``, ``lower``, ``upper``,
            ``level``), as floats; NaN or infinite values are ``None``.
        """
        return {k: finite_or_none(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier survival curve with Greenwood standard errors and pointwise CIs.

    Built by :func:`kaplan_meier`; all arrays except ``durations`` have one entry per
    distinct time. Times are in the unit of the input (years in the hsctms analyses).

    Parameters
    ----------
    time
        Distinct observed times (events and censorings), ascending.
    n_risk
        Numbers at risk #(T >= t) at each time (R ``n.risk``).
    n_event
        Number of events at each time.
    n_censor
        Number of censorings at each time.
    surv
        Kaplan-Meier estimate S(t) just after each time (right-continuous step function).
    se
        Greenwood standard error of S(t) (R ``std.err`` times S); NaN where S(t) is 0.
    lower
        Lower pointwise confidence limit of S(t) (transform ``conf_type`` at ``level``); NaN
        where S(t) is 0 for the log and log-log transforms, as in R.
    upper
        Upper pointwise confidence limit of S(t).
    durations
        The sorted input times, one per patient (for numbers at risk at arbitrary times).
    level
        Confidence level of the band (proportion, e.g. 0.95).
    conf_type
        Transform of the band: ``"log-log"``, ``"log"`` or ``"plain"``.
    label
        Name of the curve (group) for legends and tables; None for an unnamed curve.
    provenance
        How the curve was computed (method, settings, n, data source).
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
        """Numbers at risk #(T >= t) at ``times``.

        Parameters
        ----------
        times
            A time or an array of times (same unit as the fitted times), in any order.

        Returns
        -------
        numpy.ndarray
            Integer numbers of patients still under observation (time >= t), one per entry
            of ``times`` (R ``summary(fit, times)$n.risk``).
        """
        return at_risk(self.durations, times)

    def survival_at(self, times: Sequence[float] | FloatArray) -> pd.DataFrame:
        """S(t), SE, CI, numbers at risk and cumulative events at ``times``.

        Times beyond the last observation carry the last value (R ``extend=TRUE`` keeps the
        curve but reports 0 at risk).

        Parameters
        ----------
        times
            Times at which to read the curve (same unit as the fitted times), in any order.
            Before the first observed time S is 1 and the SE 0.

        Returns
        -------
        pandas.DataFrame
            One row per entry of ``times`` with columns ``time``, ``surv``, ``se``,
            ``lower``, ``upper``, ``n_risk`` (#T >= t) and ``cum_events`` (events up to and
            including t).
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
        """Time by which a fraction ``p`` has had the event (p=0.5: median), R's rule.

        Parameters
        ----------
        p
            Fraction of patients with the event, in (0, 1); default 0.5 (the median). The
            quantile is where S(t) falls to ``1 - p`` (e.g. p=0.25: the first quartile of the
            event time).

        Returns
        -------
        Quantile
            The time with its confidence limits read off the pointwise band (at the fit's
            ``level`` and ``conf_type``); NaN where the curve or a band limit never reaches
            ``1 - p`` ("not reached").
        """
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

        Parameters
        ----------
        tau
            Truncation time, > 0, in the unit of the fitted times (e.g. 5 for five years).
            Beyond the last observed time the curve is carried at its last value.

        Returns
        -------
        RestrictedMean
            The restricted mean, its standard error and a plain Wald interval at the fit's
            ``level``.

        Raises
        ------
        EstimationError
            If ``tau`` is not positive.
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
        """The full curve: one row per distinct time.

        Returns
        -------
        pandas.DataFrame
            Columns ``time``, ``n_risk``, ``n_event``, ``n_censor`` (integers), ``surv``,
            ``se``, ``lower`` and ``upper``, one row per distinct observed time.
        """
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
        """JSON-serialisable result (curve, median, optional values at ``times``).

        Parameters
        ----------
        times
            Optional times at which to add the values of :meth:`survival_at` (key
            ``at_times``); None (default) leaves them out.

        Returns
        -------
        dict
            Method, label, n, events, level, conf_type, SE method, the median
            (:meth:`Quantile.to_dict`), the curve as lists (NaN as ``None``), optionally
            ``at_times``, and the provenance.
        """
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
        """Plot the curve with CI band and censoring ticks (see :func:`hsctms.plots.km.plot_km`).

        Parameters
        ----------
        ax
            Matplotlib Axes to draw on; None (default) creates a new figure.
        **kwargs
            Passed to :func:`hsctms.plots.km.plot_km` (e.g. ``ci``, ``risk_table``,
            ``risk_times``, ``xlabel``, ``xmax``, ``title``).

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.
        """
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
        Follow-up times (>= 0, finite) from the time origin, one per patient, in any unit
        (the hsctms analyses use years since transplant); results are in the same unit.
    event
        1 = event, 0 = censored (booleans accepted), one per patient.
    level
        Confidence level of the pointwise band and the median CI, in (0, 1); default 0.95
        (e.g. 0.9 as HALT-MS).
    conf_type
        ``"log-log"`` (default), ``"log"`` (R's default) or ``"plain"``.
    label
        Name of the curve (group) for legends and tables; default None.

    Returns
    -------
    KaplanMeier
        The curve with Greenwood standard errors and pointwise confidence limits.

    Raises
    ------
    ConfigurationError
        If ``level`` is not in (0, 1) or ``conf_type`` is unknown.
    EstimationError
        If ``time`` and ``event`` differ in length, are empty, or hold a missing, negative or
        infinite time or an event code other than 0/1.

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
    """Kaplan-Meier curves by group (stratified fit), in sorted group order.

    Built by :func:`kaplan_meier_by`.

    Parameters
    ----------
    fits
        Group label -> :class:`KaplanMeier` fit of that group (labelled with the group), in
        sorted group order (numeric-aware, as R's ``factor``).
    variable
        Name of the grouping variable, for tables and reports; None if not given.
    """

    fits: dict[str, KaplanMeier]
    variable: str | None = None

    @property
    def groups(self) -> list[str]:
        """Group labels."""
        return list(self.fits)

    def survival_at(self, times: Sequence[float]) -> pd.DataFrame:
        """Long table: one row per group and time.

        Parameters
        ----------
        times
            Times at which to read every curve (unit of the fitted times).

        Returns
        -------
        pandas.DataFrame
            :meth:`KaplanMeier.survival_at` of each group stacked, with a ``group`` column
            first.
        """
        return stack_groups(self.fits, lambda fit: fit.survival_at(times))

    def to_frame(self) -> pd.DataFrame:
        """All curves stacked with a ``group`` column.

        Returns
        -------
        pandas.DataFrame
            :meth:`KaplanMeier.to_frame` of each group stacked, with a ``group`` column first.
        """
        return stack_groups(self.fits, lambda fit: fit.to_frame())

    @property
    def summary(self) -> str:
        """One line per group."""
        return "\n".join(f.summary for f in self.fits.values())

    def to_dict(self, times: Sequence[float] | None = None) -> dict[str, Any]:
        """JSON-serialisable result.

        Parameters
        ----------
        times
            Optional times passed to each group's :meth:`KaplanMeier.to_dict` (values of the
            curves at those times); None (default) leaves them out.

        Returns
        -------
        dict
            ``variable`` and ``groups`` (group label -> that group's
            :meth:`KaplanMeier.to_dict`).
        """
        return {
            "variable": self.variable,
            "groups": {g: f.to_dict(times) for g, f in self.fits.items()},
        }

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Overlay the curves (see :func:`hsctms.plots.km.plot_km`).

        Parameters
        ----------
        ax
            Matplotlib Axes to draw on; None (default) creates a new figure.
        **kwargs
            Passed to :func:`hsctms.plots.km.plot_km` (e.g. ``ci``, ``risk_table``,
            ``labels``, ``colors``, ``xmax``).

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on, one curve per group with a numbers-at-risk table.
        """
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
    """Kaplan-Meier curves for each level of ``groups`` (sorted like R's ``factor``).

    Parameters
    ----------
    time
        Follow-up times (>= 0, finite), one per patient, in any unit (years in the hsctms
        analyses).
    event
        1 = event, 0 = censored (booleans accepted), one per patient.
    groups
        Group label per patient (converted to text); a missing label is an error.
    level
        Confidence level of the pointwise bands, in (0, 1); default 0.95.
    conf_type
        ``"log-log"`` (default), ``"log"`` (R's default) or ``"plain"``.
    variable
        Name of the grouping variable, stored on the result for tables; default None.

    Returns
    -------
    KaplanMeierGroups
        One :func:`kaplan_meier` fit per group, in sorted (numeric-aware) group order.

    Raises
    ------
    ConfigurationError
        If ``level`` is not in (0, 1) or ``conf_type`` is unknown.
    EstimationError
        If the inputs are invalid (see :func:`kaplan_meier`) or a group label is missing.
    """
    t, e = check_times(time, event)
    g = clean_labels(groups, t.size)
    fits = {
        lev: kaplan_meier(t[g == lev], e[g == lev], level=level, conf_type=conf_type, label=lev)
        for lev in sorted_levels(g)
    }
    return KaplanMeierGroups(fits, variable)


@dataclass(frozen=True)
class FollowUp:
    """Median follow-up by the reverse Kaplan-Meier method (censoring treated as the event).

    Built by :func:`median_followup`; times are in the unit of the input (years in the hsctms
    analyses).

    Parameters
    ----------
    median
        Median potential follow-up with its confidence limits (NaN = not reached).
    n
        Number of patients.
    q1
        First quartile (25th percentile) of the potential follow-up; NaN if not reached.
    q3
        Third quartile (75th percentile); NaN if not reached.
    provenance
        How the result was computed (method ``reverse_kaplan_meier``, settings, n).
    """

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
        """One-row table: n, median follow-up with CI, quartiles.

        Returns
        -------
        pandas.DataFrame
            One row with columns ``n``, ``median``, ``lower``, ``upper``, ``q1`` and ``q3``.
        """
        m = self.median
        return pd.DataFrame([{"n": self.n, "median": m.estimate, "lower": m.lower,
                              "upper": m.upper, "q1": self.q1, "q3": self.q3}])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            Method, n, the median (:meth:`Quantile.to_dict`), ``q1`` and ``q3`` (``None`` if
            not reached) and the provenance.
        """
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
    """Median potential follow-up by reverse Kaplan-Meier (Schemper & Smith 1996).

    The Kaplan-Meier estimator is applied with the event indicator reversed: a censoring is
    the "event" and an event censors the follow-up.

    Parameters
    ----------
    time
        Follow-up times (>= 0, finite), one per patient, in any unit (years in the hsctms
        analyses); the result is in the same unit.
    event
        1 = event, 0 = censored (booleans accepted), one per patient, as for
        :func:`kaplan_meier`.
    level
        Confidence level of the median's interval, in (0, 1); default 0.95.
    conf_type
        Transform of the reverse curve's band: ``"log-log"`` (default), ``"log"`` or
        ``"plain"``.

    Returns
    -------
    FollowUp
        The median potential follow-up with its confidence limits and the quartiles.

    Raises
    ------
    ConfigurationError
        If ``level`` is not in (0, 1) or ``conf_type`` is unknown.
    EstimationError
        If the inputs are invalid (see :func:`kaplan_meier`).
    """
    t, e = check_times(time, event)
    rev = kaplan_meier(t, 1 - e, level=level, conf_type=conf_type)
    prov = Provenance("reverse_kaplan_meier", {"level": level, "conf_type": conf_type},
                      n=int(t.size))
    return FollowUp(rev.median, int(t.size), rev.quantile(0.25).estimate,
                    rev.quantile(0.75).estimate, prov)
