"""Centre comparison: risk-adjusted observed vs expected events and a funnel plot.

Method
------
1. A Cox proportional-hazards model of the outcome (default: event-free survival from the
   index transplant) on case-mix covariates **without** the centre (age at transplant,
   baseline EDSS, progressive vs relapsing phenotype, disease duration), Breslow ties, fitted
   on all patients with complete covariates (:func:`hsctms.survival.cox_ph`).
2. Each patient's expected number of events over their own follow-up is the Breslow
   cumulative hazard ``E_i = Lambda_0(t_i) * exp(x_i' beta)`` (R: ``predict(fit,
   type = "expected")``); a centre's expected count ``E`` is the sum over its patients and its
   observed count ``O`` the number of events. The standardised ratio is ``O / E``.
3. Control limits around the target ratio 1 are exact Poisson limits with Spiegelhalter's
   interpolation (Spiegelhalter 2005, *Stat Med* 24:1185): for probability ``p`` the limit
   for ``O / E`` is ``(q_p - alpha) / E`` where ``q_p`` is the ``p`` quantile of
   Poisson(``E``) and ``alpha = (F(q_p) - p) / (F(q_p) - F(q_p - 1))``. A level ``L`` uses
   ``p = (1 - L) / 2`` and ``1 - (1 - L) / 2``: the 95% limits ``p = 0.025, 0.975`` and the
   99.8% limits ``p = 0.001, 0.999`` (the levels come from the monitoring schedule,
   :mod:`hsctms.analysis.monitoring_schedule`).

Centres with fewer than ``small_count`` patients are not compared (their counts would leave
the centre); they are listed as suppressed, and observed counts below ``small_count`` are
shown as ``"<small_count"`` in :meth:`Funnel.to_dict` and :meth:`Funnel.to_frame`. For such a
centre the ratio ``O/E`` and its flag are not shown and its point is not plotted either, since
``O = E x O/E`` would give the suppressed count back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from hsctms._provenance import Provenance
from hsctms.analysis.monitoring_disclosure import disclose_provenance, suppress
from hsctms.errors import ConfigurationError, EstimationError

FloatArray = npt.NDArray[np.float64]

#: Default case-mix covariates (columns of :func:`case_mix`).
COVARIATES: tuple[str, ...] = ("age", "baseline_edss", "progressive", "disease_duration")
#: Default control-limit levels (Spiegelhalter 2005).
LIMITS: tuple[float, ...] = (0.95, 0.998)

_COVARIATE_TEXT = {"age": "age", "baseline_edss": "baseline EDSS", "progressive": "phenotype",
                   "disease_duration": "disease duration"}


def expected_events(time: FloatArray, status: FloatArray, lin_pred: FloatArray) -> FloatArray:
    """Breslow expected events per subject: ``Lambda_0(t_i) exp(eta_i)``.

    ``Lambda_0(t) = sum_{t_j <= t} d_j / sum_{k: t_k >= t_j} exp(eta_k)`` (Breslow), equal to
    R ``predict(coxph(..., ties = "breslow"), type = "expected")``.

    Parameters
    ----------
    time, status
        Follow-up times and event indicators (1 = event).
    lin_pred
        Linear predictor ``x_i' beta`` of each subject.

    Returns
    -------
    numpy.ndarray
        Expected events of each subject; they sum to the number of events.
    """
    time = np.asarray(time, dtype=float)
    status = np.asarray(status, dtype=float)
    eta = np.asarray(lin_pred, dtype=float)
    if not (len(time) == len(status) == len(eta)):
        raise EstimationError("time, status and linear predictor differ in length.",
                              hint="Pass one value of each per subject.")
    risk = np.exp(eta - eta.max()) if len(eta) else eta
    order = np.argsort(time, kind="stable")
    t_sorted = time[order]
    uniq, first = np.unique(t_sorted, return_index=True)
    # risk-set sums at each distinct time: sum of risk over t_k >= t
    tail = np.cumsum(risk[order][::-1])[::-1]
    at_risk = tail[first]
    deaths = np.bincount(np.searchsorted(uniq, time), weights=status, minlength=len(uniq))
    cumhaz = np.cumsum(np.where(at_risk > 0, deaths / np.where(at_risk > 0, at_risk, 1), 0))
    idx = np.searchsorted(uniq, time)
    return np.asarray(cumhaz[idx] * risk, dtype=float)


def poisson_limit(expected: FloatArray | float, p: float) -> FloatArray:
    """Interpolated exact Poisson control limit of ``O / E`` at probability ``p``.

    Parameters
    ----------
    expected
        Expected count(s) ``E`` (> 0).
    p
        Probability of the limit (e.g. 0.025 for the lower 95% limit).

    Returns
    -------
    numpy.ndarray
        The limit of the ratio ``O / E`` for each ``E``.
    """
    e = np.atleast_1d(np.asarray(expected, dtype=float))
    q = stats.poisson.ppf(p, e)
    f_q = stats.poisson.cdf(q, e)
    f_q1 = stats.poisson.cdf(q - 1, e)
    denom = f_q - f_q1
    alpha = np.where(denom > 0, (f_q - p) / np.where(denom > 0, denom, 1), 0.0)
    return np.asarray(np.maximum(q - alpha, 0.0) / e, dtype=float)


def limit_probabilities(level: float) -> tuple[float, float]:
    """Lower and upper probabilities ``(1 - level) / 2`` and ``1 - (1 - level) / 2``."""
    tail = round((1.0 - level) / 2.0, 12)
    return tail, round(1.0 - tail, 12)


def level_label(level: float) -> str:
    """``0.95 -> "95"``, ``0.998 -> "99.8"`` (the flag of a centre outside these limits)."""
    return f"{round(100 * level, 6):g}"


@dataclass(frozen=True)
class CentreRatio:
    """Observed and expected events of one centre.

    ``flag`` is ``""`` inside every limit, else the label of the widest level whose limits the
    centre lies outside (``"95"`` or ``"99.8"`` with the default levels).
    """

    centre: str
    n: int
    observed: int
    expected: float
    ratio: float
    flag: str

    def hidden(self, small_count: int) -> bool:
        """Whether ``observed`` is below ``small_count`` (then ``O/E`` and the flag, from which
        ``O = E x O/E`` could be recomputed, are not shown either)."""
        return small_count > 1 and self.observed < small_count

    def to_dict(self, *, small_count: int = 1) -> dict[str, Any]:
        """JSON-serialisable form; counts below ``small_count`` shown as ``"<small_count"``,
        and then neither the ratio nor the flag (``None``)."""
        hidden = self.hidden(small_count)
        return {"centre": self.centre, "n": suppress(self.n, small_count),
                "observed": suppress(self.observed, small_count),
                "expected": round(self.expected, 4),
                "ratio": round(self.ratio, 4) if np.isfinite(self.ratio) and not hidden
                else None,
                "flag": None if hidden else self.flag}


@dataclass(frozen=True)
class Funnel:
    """Risk-adjusted centre comparison (see the module docstring).

    ``small_count`` is the disclosure threshold applied by :meth:`to_dict`, :meth:`to_frame`
    and :attr:`summary`; centres with fewer patients are in ``suppressed``.
    """

    outcome: str
    centres: tuple[CentreRatio, ...]
    suppressed: tuple[str, ...]
    coefficients: dict[str, float]
    covariates: tuple[str, ...] = COVARIATES
    limits: tuple[float, ...] = LIMITS
    small_count: int = 1
    provenance: Provenance = field(default_factory=lambda: Provenance("centre_funnel"))

    @property
    def method(self) -> str:
        """One-line description of the method."""
        return ("Cox (Breslow) expected events; exact Poisson control limits with "
                "interpolation (Spiegelhalter 2005)")

    @property
    def caption(self) -> str:
        """Figure caption, from the covariates and limit levels actually used."""
        cov = [_COVARIATE_TEXT.get(c, c) for c in self.covariates]
        cov_text = ", ".join(cov[:-1]) + " and " + cov[-1] if len(cov) > 1 else "".join(cov)
        levels = [level_label(x) + "%" for x in self.limits]
        lim_text = ", ".join(levels[:-1]) + " and " + levels[-1] if len(levels) > 1 \
            else "".join(levels)
        model = f"a Cox model of {cov_text}" if cov else "a Cox model without covariates"
        return (f"Observed/expected {self.outcome} events per centre; expected from {model} "
                f"(Breslow); exact Poisson {lim_text} limits.")

    @property
    def summary(self) -> str:
        """One line per centre (counts below ``small_count`` suppressed)."""
        lines = [f"Risk-adjusted {self.outcome} events (observed / expected, Cox case-mix):"]
        for c in self.centres:
            o = suppress(c.observed, self.small_count)
            if c.hidden(self.small_count):
                lines.append(f"  {c.centre}: O={o} E={c.expected:.1f} O/E not shown "
                             f"(fewer than {self.small_count} events)")
                continue
            lines.append(f"  {c.centre}: O={o} E={c.expected:.1f} "
                         f"O/E={c.ratio:.2f}{' outside ' + c.flag + '%' if c.flag else ''}")
        if self.suppressed:
            lines.append(f"  not compared (<{self.small_count} patients): "
                         f"{', '.join(self.suppressed)}")
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """One row per compared centre (counts below ``small_count`` suppressed)."""
        cols = ["centre", "n", "observed", "expected", "ratio", "flag"]
        return pd.DataFrame([c.to_dict(small_count=self.small_count) for c in self.centres],
                            columns=cols)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (counts and provenance ``n`` below ``small_count``
        suppressed)."""
        return {"outcome": self.outcome, "method": self.method,
                "centres": [c.to_dict(small_count=self.small_count) for c in self.centres],
                "suppressed": list(self.suppressed), "coefficients": dict(self.coefficients),
                "provenance": disclose_provenance(self.provenance, self.small_count)}

    def plot(self, ax: Any = None) -> Any:
        """Funnel plot: O/E against E with the control limits of :attr:`limits`."""
        from hsctms.plots._style import PALETTE, new_axes

        ax = new_axes(ax, figsize=(6.4, 4.2))
        if not self.centres:
            ax.text(0.5, 0.5, "Too few centres to compare", ha="center", va="center",
                    transform=ax.transAxes)
            return ax
        e_max = max(c.expected for c in self.centres) * 1.15 + 1
        grid = np.linspace(max(0.5, min(c.expected for c in self.centres) * 0.5), e_max, 200)
        styles = ("--", ":", "-.")
        for i, level in enumerate(self.limits):
            p_lo, p_hi = limit_probabilities(level)
            style = styles[i % len(styles)]
            ax.plot(grid, poisson_limit(grid, p_lo), style, color="0.35", lw=1,
                    label=f"{level_label(level)}% limits")
            ax.plot(grid, poisson_limit(grid, p_hi), style, color="0.35", lw=1)
        ax.axhline(1.0, color="0.2", lw=1)
        colours = [PALETTE[1], PALETTE[0], PALETTE[5]]
        labels = ["", *[level_label(x) for x in sorted(self.limits)]]
        hidden = [c.centre for c in self.centres if c.hidden(self.small_count)]
        if hidden:
            ax.text(0.99, 0.01, f"Not plotted (fewer than {self.small_count} events): "
                    + ", ".join(hidden), ha="right", va="bottom", fontsize=7,
                    transform=ax.transAxes, color="0.35")
        for c in self.centres:
            if c.centre in hidden:
                continue
            colour = colours[min(labels.index(c.flag), len(colours) - 1)]
            ax.scatter([c.expected], [c.ratio], color=colour, zorder=3, s=28)
            ax.annotate(c.centre, (c.expected, c.ratio), textcoords="offset points",
                        xytext=(4, 3), fontsize=7)
        ax.set_xlabel("Expected events (case-mix adjusted)")
        ax.set_ylabel("Observed / expected")
        ax.set_title(f"Centre comparison: {self.outcome}")
        ax.legend(frameon=False, fontsize=8)
        return ax


def case_mix(cohort: Any, endpoints: pd.DataFrame) -> pd.DataFrame:
    """Per-patient case-mix frame: centre, covariates of :data:`COVARIATES` and endpoints.

    Parameters
    ----------
    cohort
        The registry cohort (:class:`hsctms.model.Cohort`).
    endpoints
        Derived endpoints (``patient_id``, ``baseline_edss``, ``efs_time``, ``efs_event``).

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id``, ``centre``, the covariates, ``time`` and ``event``.
    """
    base = cohort.baseline_table()[["patient_id", "centre", "age_at_transplant",
                                    "disease_duration", "phenotype"]]
    frame = base.merge(endpoints, on="patient_id", how="inner")
    return pd.DataFrame({
        "patient_id": frame["patient_id"].astype(str),
        "centre": frame["centre"].astype(str),
        "age": pd.to_numeric(frame["age_at_transplant"], errors="coerce").astype(float),
        "baseline_edss": frame["baseline_edss"].astype(float),
        "progressive": (frame["phenotype"].astype(str) != "RRMS").astype(float),
        "disease_duration": frame["disease_duration"].astype(float),
        "time": frame["efs_time"].astype(float) if "efs_time" in frame else np.nan,
        "event": frame["efs_event"].astype(float) if "efs_event" in frame else np.nan,
    })


def _flag(ratio: float, e: float, limits: Sequence[float]) -> str:
    """Label of the widest level whose limits ``ratio`` lies outside, else ``""``."""
    if not e > 0:
        return ""
    for level in sorted(limits, reverse=True):
        p_lo, p_hi = limit_probabilities(level)
        if not (poisson_limit(e, p_lo)[0] <= ratio <= poisson_limit(e, p_hi)[0]):
            return level_label(level)
    return ""


def centre_funnel(frame: pd.DataFrame, *, outcome: str = "EFS", small_count: int = 5,
                  covariates: Sequence[str] = COVARIATES,
                  limits: Sequence[float] = LIMITS) -> Funnel:
    """Observed/expected events per centre from a case-mix frame (see :func:`case_mix`).

    Parameters
    ----------
    frame
        Columns ``centre``, ``time``, ``event`` and ``covariates``.
    outcome
        Name of the outcome (labels only).
    small_count
        Disclosure threshold: centres with fewer patients are not compared, and observed
        counts below it are suppressed in the outputs of the result.
    covariates
        Case-mix covariates (columns of ``frame``); constant ones are dropped.
    limits
        Control-limit levels, each in (0, 1).

    Returns
    -------
    Funnel
    """
    from hsctms.survival import cox_ph

    if not limits or any(not 0 < x < 1 for x in limits):
        raise ConfigurationError(f"Control-limit levels must be in (0, 1), got {list(limits)}.",
                                 hint="E.g. limits=(0.95, 0.998).")
    data = frame.dropna(subset=["time", "event", *covariates]).reset_index(drop=True)
    data = data[data["time"] >= 0].reset_index(drop=True)
    if data["event"].sum() < 1 or len(data) < 10:
        raise EstimationError("Too few patients or events for a risk-adjusted comparison.",
                              hint="The funnel needs at least 10 patients and one event.")
    cov = [c for c in covariates if data[c].nunique() > 1]
    model = cox_ph(data, "time", "event", cov, ties="breslow")
    eta = np.asarray(model.X, dtype=float) @ np.asarray(model.coef, dtype=float)
    data["expected"] = expected_events(np.asarray(model.time, dtype=float),
                                       np.asarray(model.status, dtype=float), eta)
    grouped = data.groupby("centre", sort=True).agg(
        n=("event", "size"), observed=("event", "sum"), expected=("expected", "sum"))
    centres: list[CentreRatio] = []
    suppressed: list[str] = []
    for name, row in grouped.iterrows():
        if int(row["n"]) < small_count:
            suppressed.append(str(name))
            continue
        e = float(row["expected"])
        o = int(row["observed"])
        ratio = o / e if e > 0 else float("nan")
        centres.append(CentreRatio(str(name), int(row["n"]), o, e, ratio,
                                   _flag(ratio, e, limits)))
    coefs = {name: float(b) for name, b in zip(model.columns, model.coef, strict=True)}
    prov = Provenance("centre_funnel", definition={"outcome": outcome, "covariates": cov,
                                                   "ties": "breslow",
                                                   "limits": list(limits),
                                                   "small_count": small_count},
                      n=len(data))
    return Funnel(outcome, tuple(centres), tuple(suppressed), coefs, tuple(cov),
                  tuple(float(x) for x in limits), small_count, prov)
