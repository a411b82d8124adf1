"""Weighted relapse-rate outcomes of an emulated trial, and the E-value.

(Time-to-event outcomes are in :mod:`hsctms.emulation.timetoevent`.)

* :func:`rate_ratio`: relapse rate ratio from a weighted Poisson GLM or negative binomial
  GLM (statsmodels) with offset ``log(exposure)``; the negative binomial ``theta`` is the
  weighted maximum-likelihood estimate alternated with the GLM fit until both settle, as
  R ``MASS::glm.nb`` does. Standard errors are the sandwich ``HC0`` (R
  ``sandwich::vcovHC(fit, type = "HC0")``) or cluster-robust (R ``sandwich::vcovCL(fit,
  cluster = ~ id)``, its glm default: HC0 with the G/(G-1) cluster adjustment); ``theta``
  is held fixed in the sandwich as sandwich does for ``negbin`` fits. The sandwich is
  computed here from the fitted means because statsmodels' robust covariance uses the
  observed Hessian as bread, which differs from sandwich's expected information for the
  (non-canonical) negative binomial log link.
* :func:`e_value`: the E-value of VanderWeele & Ding (Ann Intern Med 2017) for a risk, rate or
  hazard ratio and its confidence limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from hsctms._provenance import Provenance
from hsctms.errors import ConvergenceError, EstimationError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "EValue",
    "OutcomeOptions",
    "RateRatio",
    "e_value",
    "rate_ratio",
]


@dataclass(frozen=True)
class OutcomeOptions:
    """Column names and variance settings shared by the outcome models.

    Parameters
    ----------
    treatment
        Name of the 0/1 treatment column.
    covariates
        Extra adjustment covariates (numeric), none by default.
    cluster
        Column identifying clusters (matched pair/set, or patient) for a cluster-robust SE;
        None for the HC0 sandwich (rate ratio) or per-patient robust variance (Cox).
    level
        Confidence level of the intervals.
    """

    treatment: str = "treat"
    covariates: tuple[str, ...] = ()
    cluster: str | None = None
    level: float = 0.95

    def __post_init__(self) -> None:
        if not 0.0 < self.level < 1.0:
            raise EstimationError(f"level must be in (0, 1), not {self.level!r}.")
        object.__setattr__(self, "covariates", tuple(self.covariates))


def _groups(d: pd.DataFrame, cluster: str | None) -> np.ndarray | None:
    """Integer cluster codes 0..G-1 of the kept rows, or None."""
    if cluster is None:
        return None
    if cluster not in d.columns:
        raise EstimationError(f"Cluster column {cluster!r} not found.")
    if d[cluster].isna().any():
        raise EstimationError(f"Cluster column {cluster!r} has missing values.")
    codes: np.ndarray = pd.factorize(d[cluster])[0]
    if codes.max() < 1:
        raise EstimationError("A cluster-robust SE needs at least two clusters.")
    return codes


def _columns(data: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    missing = [c for c in names if c not in data.columns]
    if missing:
        raise EstimationError(f"Column(s) {missing} not found.")
    x = data[list(names)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if np.isnan(x).any():
        raise EstimationError(f"Columns {list(names)} must be numeric with no missing value.")
    return x


def _weights(data: pd.DataFrame, weights: Any) -> np.ndarray:
    w = np.ones(len(data)) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (len(data),) or np.isnan(w).any() or (w < 0).any():
        raise EstimationError("weights must be one non-negative number per row.")
    return w


def _table(names: Sequence[str], coef: np.ndarray, se: np.ndarray, level: float) -> pd.DataFrame:
    z = stats.norm.ppf(0.5 + level / 2)
    return pd.DataFrame({
        "coef": coef, "se": se, "ratio": np.exp(coef), "lower": np.exp(coef - z * se),
        "upper": np.exp(coef + z * se), "p": 2 * stats.norm.sf(np.abs(coef / se)),
    }, index=list(names))


def _forest(table: pd.DataFrame, ax: Axes | None, label: str) -> Axes:
    from hsctms.plots._style import PALETTE, new_axes

    ax = new_axes(ax, figsize=(6.0, 0.6 + 0.45 * len(table)))
    y = np.arange(len(table))[::-1]
    r = table["ratio"].to_numpy()
    ax.errorbar(r, y, xerr=[r - table["lower"].to_numpy(), table["upper"].to_numpy() - r],
                fmt="o", color=PALETTE[0], capsize=3)
    ax.axvline(1.0, color="0.4", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(y, list(table.index))
    ax.set_xlabel(f"{label} (log scale)")
    return ax


@dataclass(frozen=True)
class RateRatio:
    """A weighted count model of relapses with robust standard errors.

    Parameters
    ----------
    family
        ``"poisson"`` or ``"negbin"``.
    table
        One row per term: ``coef``, robust ``se``, rate ratio ``ratio`` with ``lower`` /
        ``upper`` Wald limits and ``p``.
    theta
        Negative binomial shape (R's ``theta``; variance ``mu + mu^2/theta``), None for Poisson.
    cov_type
        ``"HC0"`` or ``"cluster"``.
    level
        Confidence level.
    n
        Patients with positive weight.
    provenance
        How it was computed.
    """

    family: str
    table: pd.DataFrame
    theta: float | None
    cov_type: str
    level: float
    n: int
    provenance: Provenance = field(default_factory=lambda: Provenance("rate_ratio"))

    @property
    def summary(self) -> str:
        """The rate ratios as text."""
        lines = [f"{self.family} rate ratio, {self.cov_type} SE, n={self.n}"
                 + ("" if self.theta is None else f", theta={self.theta:.4g}")]
        for name, r in self.table.iterrows():
            lines.append(f"  {name}: RR {r['ratio']:.3f} ({r['lower']:.3f}-{r['upper']:.3f}), "
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
            Family, theta, covariance type, level, n, ``coefficients`` and provenance.
        """
        return {"method": "rate_ratio", "family": self.family, "theta": self.theta,
                "cov_type": self.cov_type, "level": self.level, "n": self.n,
                "coefficients": [{"term": str(k), **{c: float(v) for c, v in r.items()}}
                                 for k, r in self.table.iterrows()],
                "provenance": self.provenance.to_dict()}

    def plot(self, ax: Axes | None = None) -> Axes:
        """Forest plot of the rate ratios.

        Parameters
        ----------
        ax
            Matplotlib Axes to draw on; None (default) creates a new figure.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on.
        """
        return _forest(self.table.drop(index="(Intercept)"), ax, "Rate ratio")


def _nb_theta(y: np.ndarray, mu: np.ndarray, w: np.ndarray, start: float) -> float:
    """Weighted ML estimate of theta given the means (the root of its score, as theta.ml)."""

    def score(log_theta: float) -> float:
        th = math.exp(log_theta)
        return float(np.sum(w * (special.digamma(th + y) - special.digamma(th) + math.log(th)
                                 + 1 - np.log(th + mu) - (th + y) / (th + mu))))

    lo, hi = math.log(start) - 1.0, math.log(start) + 1.0
    for _ in range(60):
        if score(lo) > 0 > score(hi):
            break
        lo, hi = lo - 1.0, hi + 1.0
    else:
        raise ConvergenceError("The negative binomial theta has no finite estimate "
                               "(no overdispersion?); use family='poisson'.")
    return float(math.exp(optimize.brentq(score, lo, hi, xtol=1e-14, rtol=1e-14)))


def _sandwich(X: np.ndarray, y: np.ndarray, mu: np.ndarray, w: np.ndarray,
              theta: float | None, groups: np.ndarray | None) -> np.ndarray:
    """Sandwich covariance of a log-link count GLM, as R sandwich (expected-information bread).

    Score of patient i: ``w_i (y_i - mu_i) mu_i / V(mu_i) x_i``; bread ``(X' W X)^-1`` with
    ``W = w mu^2 / V``. Without groups: HC0 (``vcovHC(type = "HC0")``); with groups: summed
    within clusters and scaled by ``G/(G-1)`` (``vcovCL`` default for a glm: HC0 with
    ``cadjust = TRUE``).
    """
    var = mu if theta is None else mu + mu ** 2 / theta
    est = X * (w * (y - mu) * mu / var)[:, None]
    bread = np.linalg.inv(X.T @ (X * (w * mu ** 2 / var)[:, None]))
    if groups is None:
        meat = est.T @ est
    else:
        summed = np.zeros((int(groups.max()) + 1, X.shape[1]))
        np.add.at(summed, groups, est)
        g = summed.shape[0]
        meat = summed.T @ summed * (g / (g - 1))
    out: np.ndarray = bread @ meat @ bread
    return out


def rate_ratio(
    data: pd.DataFrame, options: OutcomeOptions | None = None, *, events: str = "relapses",
    exposure: str = "exposure", weights: Any = None, family: str = "negbin",
) -> RateRatio:
    """Weighted relapse rate ratio with a robust or cluster-robust standard error.

    Parameters
    ----------
    data
        One row per patient.
    options
        Treatment, covariates, cluster and level (:class:`OutcomeOptions`).
    events
        Column of relapse counts.
    exposure
        Column of follow-up time (> 0); ``log(exposure)`` is the offset.
    weights
        Matching or balancing weights per row; None for all 1. Rows of weight 0 are dropped.
    family
        ``"negbin"`` (R ``MASS::glm.nb``) or ``"poisson"`` (R ``glm(family = poisson)``).

    Returns
    -------
    RateRatio
        The coefficient table with robust SEs; the treatment row is the rate ratio.
    """
    import statsmodels.api as sm

    o = options or OutcomeOptions()
    if family not in ("negbin", "poisson"):
        raise EstimationError("family must be 'negbin' or 'poisson'.")
    w = _weights(data, weights)
    keep = w > 0
    d = data.loc[keep]
    w = w[keep]
    names = [o.treatment, *o.covariates]
    X = np.column_stack([np.ones(len(d)), _columns(d, names)])
    y = _columns(d, [events])[:, 0]
    expo = _columns(d, [exposure])[:, 0]
    if (expo <= 0).any() or (y < 0).any():
        raise EstimationError("exposure must be > 0 and counts >= 0.")
    offset = np.log(expo)
    groups = _groups(d, o.cluster)
    theta: float | None = None
    fam: Any = sm.families.Poisson()
    res = sm.GLM(y, X, family=fam, offset=offset, var_weights=w).fit(tol=1e-13, maxiter=200)
    if family == "negbin":
        theta = _nb_theta(y, res.fittedvalues, w, 1.0)
        for _ in range(200):
            fam = sm.families.NegativeBinomial(alpha=1.0 / theta)
            res = sm.GLM(y, X, family=fam, offset=offset, var_weights=w,
                         ).fit(tol=1e-13, maxiter=200, start_params=res.params)
            new = _nb_theta(y, res.fittedvalues, w, theta)
            if abs(new - theta) <= 1e-11 * theta:
                theta = new
                break
            theta = new
        else:  # pragma: no cover - the alternation converges in a few steps
            raise ConvergenceError("The negative binomial theta did not converge.")
        fam = sm.families.NegativeBinomial(alpha=1.0 / theta)
        res = sm.GLM(y, X, family=fam, offset=offset, var_weights=w,
                     ).fit(tol=1e-13, maxiter=200, start_params=res.params)
    mu = np.asarray(res.fittedvalues, dtype=float)
    cov_m = _sandwich(X, y, mu, w, theta, groups)
    table = _table(["(Intercept)", *names], np.asarray(res.params),
                   np.sqrt(np.diag(cov_m)), o.level)
    cov = "cluster" if o.cluster is not None else "HC0"
    prov = Provenance("rate_ratio", {"family": family, "events": events, "exposure": exposure,
                                     "treatment": o.treatment, "covariates": list(o.covariates),
                                     "cluster": o.cluster, "cov_type": cov}, n=int(keep.sum()))
    return RateRatio(family, table, theta, cov, o.level, int(keep.sum()), prov)


@dataclass(frozen=True)
class EValue:
    """E-values for an observed ratio and its confidence limit.

    Parameters
    ----------
    estimate
        The ratio as given.
    lower, upper
        Its confidence limits (or None).
    rr
        The ratio on the risk-ratio scale used (HR of a common outcome converted).
    e_estimate
        E-value of the point estimate.
    e_ci
        E-value of the limit closer to 1 (1 when the interval includes 1), or None.
    measure
        ``"RR"`` or ``"HR"``.
    rare
        Whether the outcome was taken as rare (HR used as RR).
    provenance
        How it was computed.
    """

    estimate: float
    lower: float | None
    upper: float | None
    rr: float
    e_estimate: float
    e_ci: float | None
    measure: str
    rare: bool
    provenance: Provenance = field(default_factory=lambda: Provenance("e_value"))

    @property
    def summary(self) -> str:
        """The E-values as text."""
        ci = "" if self.e_ci is None else f"; for the CI limit: {self.e_ci:.2f}"
        return (f"E-value for {self.measure} {self.estimate:.3g}: {self.e_estimate:.2f}{ci}")

    def to_frame(self) -> pd.DataFrame:
        """One row with the inputs and E-values.

        Returns
        -------
        pandas.DataFrame
            Columns ``estimate``, ``lower``, ``upper``, ``e_estimate``, ``e_ci``.
        """
        return pd.DataFrame([{"estimate": self.estimate, "lower": self.lower,
                              "upper": self.upper, "e_estimate": self.e_estimate,
                              "e_ci": self.e_ci}])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            The attributes and provenance.
        """
        return {"method": "e_value", "estimate": self.estimate, "lower": self.lower,
                "upper": self.upper, "rr": self.rr, "e_estimate": self.e_estimate,
                "e_ci": self.e_ci, "measure": self.measure, "rare": self.rare,
                "provenance": self.provenance.to_dict()}

    def plot(self, ax: Axes | None = None) -> Axes:
        """The E-value curve: confounder associations that would explain the estimate away.

        Parameters
        ----------
        ax
            Matplotlib Axes to draw on; None (default) creates a new figure.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on: ``RR_UD`` against ``RR_EU`` with ``RR_UD RR_EU /
            (RR_UD + RR_EU - 1) = RR``.
        """
        from hsctms.plots._style import PALETTE, new_axes

        ax = new_axes(ax)
        rr = self.rr if self.rr >= 1 else 1 / self.rr
        x = np.linspace(rr * 1.0001, max(3 * self.e_estimate, rr + 1), 200)
        yv = rr * (x - 1) / (x - rr)
        keep = yv <= x.max()
        ax.plot(x[keep], yv[keep], color=PALETTE[0])
        ax.scatter([self.e_estimate], [self.e_estimate], color=PALETTE[1], zorder=3)
        ax.set_xlabel("Confounder-exposure risk ratio")
        ax.set_ylabel("Confounder-outcome risk ratio")
        return ax


def _e(rr: float) -> float:
    rr = 1 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1))


def e_value(
    estimate: float, ci: tuple[float | None, float | None] | None = None, *,
    measure: str = "RR", rare: bool = True,
) -> EValue:
    """E-value of VanderWeele & Ding (2017) for a ratio and its confidence interval.

    Parameters
    ----------
    estimate
        The risk, rate or hazard ratio (> 0).
    ci
        Its confidence limits ``(lower, upper)`` (either may be None), or None.
    measure
        ``"RR"`` (risk or rate ratio) or ``"HR"``.
    rare
        For an HR: True uses the HR as an RR (outcome rare, < 15% by the end of follow-up);
        False converts it with ``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))``.

    Returns
    -------
    EValue
        ``RR + sqrt(RR (RR - 1))`` (with ``1/RR`` below 1) for the estimate and for the
        confidence limit closer to 1 (1 when the interval includes 1).

    Examples
    --------
    >>> round(e_value(3.9, (1.8, 8.7)).e_estimate, 2)
    7.26
    """
    if measure not in ("RR", "HR"):
        raise EstimationError("measure must be 'RR' or 'HR'.")
    lower, upper = (None, None) if ci is None else ci
    vals = [v for v in (estimate, lower, upper) if v is not None]
    if any(not (math.isfinite(v) and v > 0) for v in vals):
        raise EstimationError("The ratio and its limits must be finite and > 0.")

    def conv(v: float) -> float:
        if measure == "HR" and not rare:
            return (1 - 0.5 ** math.sqrt(v)) / (1 - 0.5 ** math.sqrt(1 / v))
        return v

    rr = conv(estimate)
    e_ci: float | None = None
    if lower is not None or upper is not None:
        lo = conv(lower) if lower is not None else None
        hi = conv(upper) if upper is not None else None
        if (lo is not None and lo > rr) or (hi is not None and hi < rr):
            raise EstimationError("The limits must enclose the estimate.")
        if rr >= 1:
            e_ci = 1.0 if lo is None or lo <= 1 else _e(lo)
        else:
            e_ci = 1.0 if hi is None or hi >= 1 else _e(hi)
    prov = Provenance("e_value", {"measure": measure, "rare": rare,
                                  "reference": "VanderWeele & Ding, Ann Intern Med 2017"})
    return EValue(float(estimate), lower, upper, rr, _e(rr), e_ci, measure, rare, prov)
