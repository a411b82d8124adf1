"""Cumulative incidence with competing risks (Aalen-Johansen estimator).

For causes k = 1..K and distinct times t_j with n_j at risk, d_kj events of cause k and
d_j = sum_k d_kj, the Aalen-Johansen estimate is ``F_k(t) = sum_{t_j <= t} S(t_j-) d_kj / n_j``
with S the all-cause Kaplan-Meier. It is exact with tied event times of different causes (no
jittering). The variance is the Dinse-Larson (1986, eq. 6) approximation, which equals R
``survfit`` multi-state infinitesimal-jackknife standard errors and scikit-survival
``var_type="Dinse_Approx"``; it is computed here in O(n) with cumulative sums instead of
scikit-survival's O(T^2) arrays, so that 100,000 patients fit in memory.
Confidence intervals use :func:`hsctms.survival._common.prob_ci` on F itself (log-log by
default, R's ``conf.type``).
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
    list_or_none,
    prob_ci,
    sorted_levels,
    stack_groups,
    step_at,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from hsctms.survival.gray import GrayTest


@dataclass(frozen=True)
class CumulativeIncidence:
    """Aalen-Johansen cumulative incidence curves for each cause.

    Built by :func:`cumulative_incidence`. Column ``j`` of the 2-D arrays belongs to cause
    ``causes[j]``. Times are in the unit of the input (years in the hsctms analyses).

    Parameters
    ----------
    time
        Distinct observed times (events of any cause and censorings), ascending.
    n_risk
        Numbers at risk (#T >= t) at each time.
    n_event
        Events per cause at each time, shape (n_times, n_causes).
    cif
        Aalen-Johansen cumulative incidence F_k(t) (proportion, 0-1) just after each time,
        shape (n_times, n_causes).
    se
        Dinse-Larson standard error of F_k(t), same shape; NaN from a time at which everyone
        still at risk had an event.
    lower
        Lower pointwise confidence limit of F_k(t) (``conf_type`` at ``level``), same shape;
        NaN where F_k(t) is 0 for the log and log-log transforms, as in R.
    upper
        Upper pointwise confidence limit of F_k(t), same shape.
    durations
        The sorted input times, one per patient (for numbers at risk at arbitrary times).
    causes
        Cause codes, in the order of the columns (e.g. ``(1, 2)``).
    cause_names
        Display names of the causes (e.g. ``{1: "worsening", 2: "death"}``); a cause without
        a given name is called ``"cause k"``.
    level
        Confidence level of the band (proportion, e.g. 0.95).
    conf_type
        Transform of the band: ``"log-log"``, ``"log"`` or ``"plain"``.
    label
        Name of the curve set (group) for legends and tables; None for an unnamed fit.
    provenance
        How the curves were computed (method ``aalen_johansen``, settings, n, data source).
    """

    time: FloatArray
    n_risk: FloatArray
    n_event: np.ndarray
    cif: np.ndarray
    se: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    durations: FloatArray
    causes: tuple[int, ...]
    cause_names: dict[int, str]
    level: float
    conf_type: str
    label: str | None = None
    provenance: Provenance = field(default_factory=lambda: Provenance("aalen_johansen"))

    @property
    def n(self) -> int:
        """Number of observations."""
        return int(self.durations.size)

    def _col(self, cause: int) -> int:
        if cause not in self.causes:
            raise EstimationError(
                f"Cause {cause} not present.", hint=f"Causes: {list(self.causes)}."
            )
        return self.causes.index(cause)

    def at_risk(self, times: Any) -> np.ndarray:
        """Numbers at risk #(T >= t) at ``times`` (R ``summary(fit, times)$n.risk``).

        Parameters
        ----------
        times
            A time or an array of times (same unit as the fitted times), in any order.

        Returns
        -------
        numpy.ndarray
            Integer numbers of patients still under observation (time >= t), one per entry
            of ``times``.
        """
        return at_risk(self.durations, times)

    def incidence_at(self, times: Sequence[float] | FloatArray, cause: int = 1) -> pd.DataFrame:
        """CIF of ``cause`` with SE, CI, numbers at risk and cumulative events at ``times``.

        Parameters
        ----------
        times
            Times at which to read the curve (same unit as the fitted times), in any order;
            before the first observed time the incidence is 0. Beyond the last observed time
            the last value is carried.
        cause
            Cause code (one of :attr:`causes`); default 1.

        Returns
        -------
        pandas.DataFrame
            One row per entry of ``times`` with columns ``time``, ``cif``, ``se``, ``lower``,
            ``upper``, ``n_risk`` (#T >= t) and ``cum_events`` (events of ``cause`` up to and
            including t).

        Raises
        ------
        EstimationError
            If ``cause`` is not one of the fitted causes.
        """
        j = self._col(cause)
        t = np.asarray(times, dtype=float)
        return pd.DataFrame(
            {
                "time": t,
                "cif": step_at(self.time, self.cif[:, j], t, before=0.0),
                "se": step_at(self.time, self.se[:, j], t, before=0.0),
                "lower": step_at(self.time, self.lower[:, j], t, before=0.0),
                "upper": step_at(self.time, self.upper[:, j], t, before=0.0),
                "n_risk": at_risk(self.durations, t),
                "cum_events": step_at(self.time, np.cumsum(self.n_event[:, j]), t,
                                      before=0.0).astype(int),
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per time and cause.

        Returns
        -------
        pandas.DataFrame
            Columns ``cause``, ``cause_name``, ``time``, ``n_risk``, ``n_event``, ``cif``,
            ``se``, ``lower`` and ``upper``; the causes one after the other, each over every
            distinct time.
        """
        parts = []
        for j, k in enumerate(self.causes):
            parts.append(pd.DataFrame({
                "cause": k,
                "cause_name": self.cause_names.get(k, str(k)),
                "time": self.time,
                "n_risk": self.n_risk.astype(int),
                "n_event": self.n_event[:, j].astype(int),
                "cif": self.cif[:, j],
                "se": self.se[:, j],
                "lower": self.lower[:, j],
                "upper": self.upper[:, j],
            }))
        return pd.concat(parts, ignore_index=True)

    @property
    def summary(self) -> str:
        """One-paragraph description."""
        last = ", ".join(
            f"{self.cause_names.get(k, str(k))} {100 * self.cif[-1, j]:.1f}%"
            for j, k in enumerate(self.causes)
        ) if self.time.size else "no data"
        name = f"{self.label}: " if self.label else ""
        return (
            f"{name}Aalen-Johansen cumulative incidence on n={self.n}; at the last time "
            f"{last}; {100 * self.level:g}% CIs ({self.conf_type} transform, Dinse-Larson SE)."
        )

    def to_dict(self, times: Sequence[float] | None = None) -> dict[str, Any]:
        """JSON-serialisable result.

        Parameters
        ----------
        times
            Optional times at which to add :meth:`incidence_at` for every cause (key
            ``at_times``, by cause code); None (default) leaves them out.

        Returns
        -------
        dict
            Method, label, n, level, conf_type, SE method, cause names and event counts by
            cause code, the provenance and optionally ``at_times`` (NaN as ``None``). The
            curves themselves are not included (use :meth:`to_frame`).
        """
        out: dict[str, Any] = {
            "method": "aalen_johansen",
            "label": self.label,
            "n": self.n,
            "level": self.level,
            "conf_type": self.conf_type,
            "se": "dinse_larson_approx",
            "causes": {str(k): self.cause_names.get(k, str(k)) for k in self.causes},
            "events": {str(k): int(self.n_event[:, j].sum()) for j, k in enumerate(self.causes)},
            "provenance": self.provenance.to_dict(),
        }
        if times is not None:
            out["at_times"] = {
                str(k): {c: list_or_none(v) for c, v in self.incidence_at(times, k).items()}
                for k in self.causes
            }
        return out

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Plot the CIF of cause 1 (see :func:`hsctms.plots.km.plot_cif`).

        With the defaults of :func:`~hsctms.plots.km.plot_cif` the competing causes are drawn
        too (``competing=True``).

        Parameters
        ----------
        ax
            Matplotlib Axes to draw on; None (default) creates a new figure.
        **kwargs
            Passed to :func:`hsctms.plots.km.plot_cif` (e.g. ``cause``, ``competing``,
            ``ci``, ``risk_table``, ``xmax``, ``ymax``).

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.
        """
        from hsctms.plots.km import plot_cif

        return plot_cif([self], ax=ax, **kwargs)


def _dinse_approx_var(
    cif: np.ndarray, d_all: FloatArray, d_k: np.ndarray, n: FloatArray, s_prev: FloatArray
) -> np.ndarray:
    """Dinse-Larson (1986) eq. 6 variance, via cumulative sums (O(T) per cause)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(n - d_all > 0, d_all / (n * (n - d_all)), 0.0)
        w = np.where((n - d_all <= 0) & (d_all > 0), np.inf, w)
    finite_w = np.where(np.isfinite(w), w, 0.0)
    var = np.empty_like(cif)
    for j in range(cif.shape[1]):
        f = cif[:, j]
        dk = d_k[:, j]
        # sum_{k<=j} (F_j - F_k)^2 w_k
        a = f**2 * np.cumsum(finite_w) - 2 * f * np.cumsum(f * finite_w) + np.cumsum(
            f**2 * finite_w)
        b = np.cumsum((n - dk) / n * dk / n**2 * s_prev**2)
        c_k = dk * s_prev / n**2
        c = -2 * (f * np.cumsum(c_k) - np.cumsum(f * c_k))
        v = a + b + c
        v = np.where(np.cumsum(np.isinf(w)) > 0, np.nan, v)
        var[:, j] = np.maximum(v, 0.0)
    return var


def cumulative_incidence(
    time: Any,
    event: Any,
    *,
    causes: Sequence[int] = (1, 2),
    cause_names: dict[int, str] | None = None,
    level: float = 0.95,
    conf_type: str = "log-log",
    label: str | None = None,
) -> CumulativeIncidence:
    """Aalen-Johansen cumulative incidence with competing risks.

    Parameters
    ----------
    time
        Follow-up times (>= 0, finite), one per patient, in any unit (the hsctms analyses use
        years since transplant); results are in the same unit.
    event
        0 = censored, k = event of cause k (e.g. 1 = confirmed worsening, 2 = death), one
        per patient.
    causes
        The cause codes (every code in ``event`` other than 0 must be listed); default
        ``(1, 2)``. A listed cause without events gets a curve that stays at 0.
    cause_names
        Names for outputs, e.g. ``{1: "worsening", 2: "death"}``; default None (causes are
        called ``"cause 1"``, ``"cause 2"``, ...).
    level
        Confidence level of the pointwise bands, in (0, 1); default 0.95.
    conf_type
        CI transform: ``"log-log"`` (default), ``"log"`` (R ``survfit`` default) or
        ``"plain"``.
    label
        Name of the fit (group) for legends and tables; default None.

    Returns
    -------
    CumulativeIncidence
        The cumulative incidence of every cause with Dinse-Larson standard errors and
        pointwise confidence limits.

    Raises
    ------
    ConfigurationError
        If ``level`` is not in (0, 1) or ``conf_type`` is unknown.
    EstimationError
        If ``time`` and ``event`` differ in length, are empty, hold a missing, negative or
        infinite time, or an event code that is neither 0 nor in ``causes``.
    """
    level = check_level(level)
    conf_type = check_conf_type(conf_type)
    causes = tuple(int(c) for c in causes)
    t, e = check_times(time, event, codes=(0, *causes))
    order = np.argsort(t, kind="stable")
    ts, es = t[order], e[order]
    uniq, start = np.unique(ts, return_index=True)
    n = (ts.size - start).astype(float)
    d_k = np.column_stack([np.add.reduceat((es == k).astype(float), start) for k in causes])
    d_all = d_k.sum(axis=1)
    surv = np.cumprod(1.0 - d_all / n)
    s_prev = np.r_[1.0, surv[:-1]]
    cif = np.cumsum(s_prev[:, None] * d_k / n[:, None], axis=0)
    var = _dinse_approx_var(cif, d_all, d_k, n, s_prev)
    se = np.sqrt(var)
    lower = np.empty_like(cif)
    upper = np.empty_like(cif)
    for j in range(len(causes)):
        lower[:, j], upper[:, j] = prob_ci(cif[:, j], se[:, j], level=level,
                                             conf_type=conf_type)
    names = {k: (cause_names or {}).get(k, f"cause {k}") for k in causes}
    prov = Provenance(
        "aalen_johansen",
        {"level": level, "conf_type": conf_type, "se": "dinse_larson_approx", "causes": names,
         "label": label},
        n=int(t.size),
    )
    return CumulativeIncidence(uniq, n, d_k, cif, se, lower, upper, ts, causes, names, level,
                               conf_type, label, prov)


@dataclass(frozen=True)
class CumulativeIncidenceGroups:
    """Cumulative incidence by group, with Gray's test for each cause.

    Built by :func:`cumulative_incidence_by`.

    Parameters
    ----------
    fits
        Group label -> :class:`CumulativeIncidence` of that group (labelled with the group),
        in sorted (numeric-aware) group order.
    tests
        Cause code -> :class:`~hsctms.survival.gray.GrayTest` of equal incidence across the
        groups; empty when there is only one group, and no entry for a cause without events.
    variable
        Name of the grouping variable, for tables and reports; None if not given.
    """

    fits: dict[str, CumulativeIncidence]
    tests: dict[int, GrayTest]
    variable: str | None = None

    def incidence_at(self, times: Sequence[float], cause: int = 1) -> pd.DataFrame:
        """Long table: one row per group and time.

        Parameters
        ----------
        times
            Times at which to read every group's curve (unit of the fitted times).
        cause
            Cause code; default 1.

        Returns
        -------
        pandas.DataFrame
            :meth:`CumulativeIncidence.incidence_at` of each group stacked, with a ``group``
            column first.

        Raises
        ------
        EstimationError
            If ``cause`` is not one of the fitted causes.
        """
        return stack_groups(self.fits, lambda fit: fit.incidence_at(times, cause))

    def to_frame(self) -> pd.DataFrame:
        """All curves stacked with a ``group`` column.

        Returns
        -------
        pandas.DataFrame
            :meth:`CumulativeIncidence.to_frame` of each group stacked, with a ``group``
            column first.
        """
        return stack_groups(self.fits, lambda fit: fit.to_frame())

    @property
    def summary(self) -> str:
        """Curves and tests."""
        lines = [f.summary for f in self.fits.values()]
        lines += [t.summary for t in self.tests.values()]
        return "\n".join(lines)

    def to_dict(self, times: Sequence[float] | None = None) -> dict[str, Any]:
        """JSON-serialisable result.

        Parameters
        ----------
        times
            Optional times passed to each group's :meth:`CumulativeIncidence.to_dict`; None
            (default) leaves the values at given times out.

        Returns
        -------
        dict
            ``variable``, ``groups`` (group label -> that group's
            :meth:`CumulativeIncidence.to_dict`) and ``gray_tests`` (cause code as text ->
            :meth:`GrayTest.to_dict <hsctms.survival.gray.GrayTest.to_dict>`).
        """
        return {
            "variable": self.variable,
            "groups": {g: f.to_dict(times) for g, f in self.fits.items()},
            "gray_tests": {str(k): t.to_dict() for k, t in self.tests.items()},
        }

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Overlay the cause-1 curves (see :func:`hsctms.plots.km.plot_cif`).

        Parameters
        ----------
        ax
            Matplotlib Axes to draw on; None (default) creates a new figure.
        **kwargs
            Passed to :func:`hsctms.plots.km.plot_cif` (e.g. ``cause`` to overlay another
            cause, ``ci``, ``risk_table``, ``xmax``, ``ymax``).

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on, one curve per group with a numbers-at-risk table.
        """
        from hsctms.plots.km import plot_cif

        return plot_cif(list(self.fits.values()), ax=ax, **kwargs)


def cumulative_incidence_by(
    time: Any,
    event: Any,
    groups: Any,
    *,
    causes: Sequence[int] = (1, 2),
    cause_names: dict[int, str] | None = None,
    level: float = 0.95,
    conf_type: str = "log-log",
    variable: str | None = None,
    rho: float = 0.0,
) -> CumulativeIncidenceGroups:
    """Cumulative incidence per group and Gray's test of equality for each cause.

    Parameters
    ----------
    time
        Follow-up times (>= 0, finite), one per patient, in any unit (years in the hsctms
        analyses).
    event
        0 = censored, k = event of cause k, one per patient.
    groups
        Group label per patient (converted to text); a missing label is an error.
    causes
        The cause codes (every non-zero code in ``event`` must be listed); default
        ``(1, 2)``. Gray's test is run for each.
    cause_names
        Names for outputs, e.g. ``{1: "worsening", 2: "death"}``; default None.
    level
        Confidence level of the pointwise bands, in (0, 1); default 0.95.
    conf_type
        CI transform: ``"log-log"`` (default), ``"log"`` or ``"plain"``.
    variable
        Name of the grouping variable, stored on the result for tables; default None.
    rho
        Weight exponent of Gray's test, ``(1 - F(t-))^rho``; default 0 (cmprsk's default).

    Returns
    -------
    CumulativeIncidenceGroups
        One :func:`cumulative_incidence` fit per group (sorted, numeric-aware order) and,
        with two or more groups, one Gray's test per cause.

    Raises
    ------
    ConfigurationError
        If ``level`` is not in (0, 1) or ``conf_type`` is unknown.
    EstimationError
        If the inputs are invalid (see :func:`cumulative_incidence`), a group label is
        missing, or a Gray's test is not estimable. A listed cause without events in the
        data gets curves (all zero) but no test.
    """
    from hsctms.survival.gray import gray_test

    t, e = check_times(time, event, codes=(0, *causes))
    g = clean_labels(groups, t.size)
    fits = {
        lev: cumulative_incidence(t[g == lev], e[g == lev], causes=causes,
                                  cause_names=cause_names, level=level, conf_type=conf_type,
                                  label=lev)
        for lev in sorted_levels(g)
    }
    tests = {}
    if len(fits) > 1:
        # a cause without events has flat zero curves in every group: no test to run
        tests = {int(k): gray_test(t, e, g, cause=int(k), rho=rho) for k in causes
                 if (e == k).any()}
    return CumulativeIncidenceGroups(fits, tests, variable)
