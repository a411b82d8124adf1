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
   Poisson(``E``) and ``alpha = (F(q_p) - p) / (F(q_p) - F(q_p - 1))``. The 95% limits use
   ``p = 0.025, 0.975`` and the 99.8% limits ``p = 0.001, 0.999``.

Centres with fewer than the small-count threshold of patients are not plotted (their
counts would leave the centre); they are listed as suppressed.
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
from hsctms.errors import EstimationError

FloatArray = npt.NDArray[np.float64]

COVARIATES: tuple[str, ...] = ("age", "baseline_edss", "progressive", "disease_duration")


def expected_events(time: FloatArray, status: FloatArray, lin_pred: FloatArray) -> FloatArray:
    """Breslow expected events per subject: ``Lambda_0(t_i) exp(eta_i)``.

    ``Lambda_0(t) = sum_{t_j <= t} d_j / sum_{k: t_k >= t_j} exp(eta_k)`` (Breslow), equal to
    R ``predict(coxph(..., ties = "breslow"), type = "expected")``.
    """
    time = np.asarray(time, dtype=float)
    status = np.asarray(status, dtype=float)
    eta = np.asarray(lin_pred, dtype=float)
    if not (len(time) == len(status) == len(eta)):
        raise EstimationError("time, status and linear predictor differ in length.")
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
    """Interpolated exact Poisson control limit of ``O / E`` at probability ``p``."""
    e = np.atleast_1d(np.asarray(expected, dtype=float))
    q = stats.poisson.ppf(p, e)
    f_q = stats.poisson.cdf(q, e)
    f_q1 = stats.poisson.cdf(q - 1, e)
    denom = f_q - f_q1
    alpha = np.where(denom > 0, (f_q - p) / np.where(denom > 0, denom, 1), 0.0)
    return np.asarray(np.maximum(q - alpha, 0.0) / e, dtype=float)


@dataclass
class CentreRatio:
    """Observed and expected events of one centre."""

    centre: str
    n: int
    observed: int
    expected: float
    ratio: float
    flag: str  # "" inside 95% limits, "95" outside 95%, "99.8" outside 99.8%

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"centre": self.centre, "n": self.n, "observed": self.observed,
                "expected": round(self.expected, 4),
                "ratio": round(self.ratio, 4) if np.isfinite(self.ratio) else None,
                "flag": self.flag}


@dataclass
class Funnel:
    """Risk-adjusted centre comparison."""

    outcome: str
    centres: list[CentreRatio]
    suppressed: list[str]
    coefficients: dict[str, float]
    provenance: Provenance = field(default_factory=lambda: Provenance("funnel"))

    @property
    def summary(self) -> str:
        """One line per centre."""
        lines = [f"Risk-adjusted {self.outcome} events (observed / expected, Cox case-mix):"]
        for c in self.centres:
            lines.append(f"  {c.centre}: O={c.observed} E={c.expected:.1f} "
                         f"O/E={c.ratio:.2f}{' outside ' + c.flag + '%' if c.flag else ''}")
        if self.suppressed:
            lines.append(f"  suppressed (<5 patients): {', '.join(self.suppressed)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"outcome": self.outcome, "method": "Cox (Breslow) expected events; exact "
                "Poisson control limits with interpolation (Spiegelhalter 2005)",
                "centres": [c.to_dict() for c in self.centres],
                "suppressed": self.suppressed, "coefficients": self.coefficients,
                "provenance": self.provenance.to_dict()}

    def plot(self, ax: Any = None) -> Any:
        """Funnel plot: O/E against E with 95% and 99.8% limits."""
        from hsctms.plots._style import PALETTE, new_axes

        ax = new_axes(ax, figsize=(6.4, 4.2))
        if not self.centres:
            ax.text(0.5, 0.5, "Too few centres to compare", ha="center", va="center",
                    transform=ax.transAxes)
            return ax
        e_max = max(c.expected for c in self.centres) * 1.15 + 1
        grid = np.linspace(max(0.5, min(c.expected for c in self.centres) * 0.5), e_max, 200)
        for p_lo, p_hi, style, label in ((0.025, 0.975, "--", "95% limits"),
                                         (0.001, 0.999, ":", "99.8% limits")):
            ax.plot(grid, poisson_limit(grid, p_lo), style, color="0.35", lw=1, label=label)
            ax.plot(grid, poisson_limit(grid, p_hi), style, color="0.35", lw=1)
        ax.axhline(1.0, color="0.2", lw=1)
        colours = {"": PALETTE[1], "95": PALETTE[0], "99.8": PALETTE[5]}
        for c in self.centres:
            ax.scatter([c.expected], [c.ratio], color=colours[c.flag], zorder=3, s=28)
            ax.annotate(c.centre, (c.expected, c.ratio), textcoords="offset points",
                        xytext=(4, 3), fontsize=7)
        ax.set_xlabel("Expected events (case-mix adjusted)")
        ax.set_ylabel("Observed / expected")
        ax.set_title(f"Centre comparison: {self.outcome}")
        ax.legend(frameon=False, fontsize=8)
        return ax


def case_mix(cohort: Any, endpoints: pd.DataFrame) -> pd.DataFrame:
    """Per-patient case-mix frame: centre, covariates of :data:`COVARIATES` and endpoints."""
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


def centre_funnel(frame: pd.DataFrame, *, outcome: str = "EFS", min_count: int = 5,
                  covariates: Sequence[str] = COVARIATES, synthetic: bool = False) -> Funnel:
    """Observed/expected events per centre from a case-mix frame (see :func:`case_mix`).

    Parameters
    ----------
    frame
        Columns ``centre``, ``time``, ``event`` and ``covariates``.
    min_count
        Centres with fewer patients are suppressed.
    """
    from hsctms.survival import cox_ph

    data = frame.dropna(subset=["time", "event", *covariates]).reset_index(drop=True)
    data = data[data["time"] >= 0].reset_index(drop=True)
    if data["event"].sum() < 1 or len(data) < 10:
        raise EstimationError("Too few patients or events for a risk-adjusted comparison.",
                              hint="The funnel needs at least 10 patients and one event.")
    cov = [c for c in covariates if data[c].nunique() > 1]
    model = cox_ph(data, "time", "event", cov, ties="breslow", synthetic=synthetic)
    eta = np.asarray(model.X, dtype=float) @ np.asarray(model.coef, dtype=float)
    data["expected"] = expected_events(np.asarray(model.time, dtype=float),
                                       np.asarray(model.status, dtype=float), eta)
    grouped = data.groupby("centre", sort=True).agg(
        n=("event", "size"), observed=("event", "sum"), expected=("expected", "sum"))
    centres: list[CentreRatio] = []
    suppressed: list[str] = []
    for name, row in grouped.iterrows():
        if int(row["n"]) < min_count:
            suppressed.append(str(name))
            continue
        e = float(row["expected"])
        o = int(row["observed"])
        ratio = o / e if e > 0 else float("nan")
        flag = ""
        if e > 0:
            if not (poisson_limit(e, 0.001)[0] <= ratio <= poisson_limit(e, 0.999)[0]):
                flag = "99.8"
            elif not (poisson_limit(e, 0.025)[0] <= ratio <= poisson_limit(e, 0.975)[0]):
                flag = "95"
        centres.append(CentreRatio(str(name), int(row["n"]), o, e, ratio, flag))
    coefs = {name: float(b) for name, b in zip(model.columns, model.coef, strict=True)}
    prov = Provenance("centre_funnel", definition={"outcome": outcome, "covariates": cov,
                                                   "ties": "breslow", "min_count": min_count},
                      n=len(data), synthetic=synthetic)
    return Funnel(outcome, centres, suppressed, coefs, prov)
