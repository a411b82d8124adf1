"""Propensity scores, inverse-probability and overlap weights, and balance diagnostics.

The propensity score is a logistic regression of treatment on named covariates, fitted with
statsmodels' binomial GLM (equal to R ``glm(family = binomial)``, which is what MatchIt's
default ``distance = "glm"`` fits). Weights follow the usual definitions (Hernan & Robins,
*Causal Inference: What If*, ch. 12; Li, Morgan & Zaslavsky, JASA 2018 for overlap weights):

* ATE: ``t / e + (1 - t) / (1 - e)``
* ATT: ``t + (1 - t) e / (1 - e)``
* overlap (ATO): ``t (1 - e) + (1 - t) e``

Balance diagnostics use MatchIt's ``summary.matchit(standardize = TRUE)`` definitions exactly
(``MatchIt:::bal1var``): weighted means per arm; the standardised mean difference divides the
(weighted) difference by an SD computed on the *unweighted* full sample and kept the same
before and after adjustment: the treated arm's SD for the ATT, the control arm's for the ATC,
and ``sqrt((var_t + var_c) / 2)`` for the ATE (and overlap weights); variances are
``sum w (x - m)^2 / (1 - sum w^2)`` with normalised weights (the unbiased sample variance
when unweighted), and ``p (1 - p)`` for a 0/1 covariate. The variance ratio (treated over
control, weighted) is not defined for 0/1 covariates (NaN, as MatchIt).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special

from hsctms._provenance import Provenance
from hsctms.errors import EstimationError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

ESTIMANDS = ("ATE", "ATT", "ATC", "ATO")

__all__ = [
    "BalanceTable",
    "PropensityScore",
    "balance",
    "propensity_score",
    "ps_weights",
]


def _treatment(data: pd.DataFrame, treatment: str) -> np.ndarray:
    if treatment not in data.columns:
        raise EstimationError(f"Treatment column {treatment!r} not found.")
    t = pd.to_numeric(data[treatment], errors="coerce").to_numpy(dtype=float)
    if np.isnan(t).any() or not np.isin(t, (0.0, 1.0)).all():
        raise EstimationError(f"Treatment column {treatment!r} must be 0/1 with no missing "
                              "value.")
    if t.sum() == 0 or t.sum() == len(t):
        raise EstimationError("Both arms need at least one patient.")
    return t


def _covariates(data: pd.DataFrame, covariates: Sequence[str]) -> np.ndarray:
    missing = [c for c in covariates if c not in data.columns]
    if missing:
        raise EstimationError(f"Covariate column(s) {missing} not found.")
    x = data[list(covariates)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if np.isnan(x).any():
        raise EstimationError("Covariates must be numeric with no missing value; impute or "
                              "drop the incomplete rows first.")
    return x


@dataclass(frozen=True)
class PropensityScore:
    """A fitted propensity-score model.

    Parameters
    ----------
    treatment
        Name of the 0/1 treatment column.
    covariates
        Names of the covariates (numeric columns, 0/1 for binary ones).
    treat
        Treatment indicator per patient (0.0/1.0), in data order.
    score
        Estimated probability of treatment per patient.
    linear
        The linear predictor (logit of the score).
    coef
        Coefficients: ``(Intercept)`` then one per covariate.
    se
        Model-based standard errors of ``coef``.
    model
        The statsmodels GLM results object.
    provenance
        How the score was computed.
    """

    treatment: str
    covariates: tuple[str, ...]
    treat: np.ndarray
    score: np.ndarray
    linear: np.ndarray
    coef: pd.Series
    se: pd.Series
    model: Any = field(repr=False)
    provenance: Provenance = field(default_factory=lambda: Provenance("propensity_score"))

    @property
    def summary(self) -> str:
        """The model and the score distribution per arm, as text."""
        lines = [f"Propensity score: logistic regression of {self.treatment} on "
                 f"{', '.join(self.covariates)} (n={len(self.score)})"]
        for name in self.coef.index:
            lines.append(f"  {name}: {self.coef[name]:.4f} (SE {self.se[name]:.4f})")
        for arm, label in ((1.0, "treated"), (0.0, "control")):
            s = self.score[self.treat == arm]
            lines.append(f"  score {label}: median {np.median(s):.3f}, range "
                         f"{s.min():.3f}-{s.max():.3f}")
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """One row per patient.

        Returns
        -------
        pandas.DataFrame
            Columns ``treat``, ``score`` and ``linear`` in data order.
        """
        return pd.DataFrame({"treat": self.treat, "score": self.score, "linear": self.linear})

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            Treatment, covariates, ``coefficients`` (``{term, coef, se}``), the scores and the
            provenance.
        """
        return {
            "method": "propensity_score",
            "treatment": self.treatment,
            "covariates": list(self.covariates),
            "coefficients": [{"term": str(k), "coef": float(self.coef[k]),
                              "se": float(self.se[k])} for k in self.coef.index],
            "score": [float(v) for v in self.score],
            "provenance": self.provenance.to_dict(),
        }

    def plot(self, ax: Axes | None = None) -> Axes:
        """Histograms of the score per arm (common support).

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
        bins = [i / 20 for i in range(21)]
        for i, (arm, label) in enumerate(((1.0, "treated"), (0.0, "control"))):
            ax.hist(self.score[self.treat == arm], bins=bins, alpha=0.55, color=PALETTE[i],
                    label=label, density=True)
        ax.set_xlabel("Propensity score")
        ax.set_ylabel("Density")
        ax.legend()
        return ax


def propensity_score(
    data: pd.DataFrame, covariates: Sequence[str], *, treatment: str = "treat",
) -> PropensityScore:
    """Fit a logistic propensity-score model (statsmodels binomial GLM, as R ``glm``).

    Parameters
    ----------
    data
        One row per patient.
    covariates
        Names of numeric covariate columns (code a binary covariate 0/1), no missing values.
    treatment
        Name of the 0/1 treatment column.

    Returns
    -------
    PropensityScore
        Scores, linear predictor, coefficients and the fitted model.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [0, 0, 1, 1, 0, 1], "x": [1.0, 2.0, 3.0, 2.5, 0.5, 1.5]})
    >>> ps = propensity_score(d, ["x"], treatment="t")
    >>> bool(ps.score[2] > ps.score[4])
    True
    """
    import statsmodels.api as sm

    covariates = tuple(covariates)
    if not covariates:
        raise EstimationError("Name at least one covariate.")
    t = _treatment(data, treatment)
    x = _covariates(data, covariates)
    design = np.column_stack([np.ones(len(t)), x])
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", RuntimeWarning)
        try:
            res = sm.GLM(t, design, family=sm.families.Binomial()).fit(tol=1e-12, maxiter=100)
        except (PerfectSeparationWarning, RuntimeWarning, np.linalg.LinAlgError) as exc:
            raise EstimationError(
                "The propensity model does not converge: the covariates separate the arms "
                "(perfect prediction) or are collinear.",
                hint="Drop or coarsen the covariate that predicts treatment perfectly; "
                     "without overlap the arms cannot be compared.") from exc
    names = ["(Intercept)", *covariates]
    lin = design @ res.params
    score = special.expit(lin)
    prov = Provenance("propensity_score", {"treatment": treatment,
                                           "covariates": list(covariates),
                                           "model": "logistic GLM (statsmodels)"}, n=len(t))
    return PropensityScore(treatment, covariates, t, score, lin,
                           pd.Series(np.asarray(res.params), index=names),
                           pd.Series(np.asarray(res.bse), index=names), res, prov)


def ps_weights(
    ps: PropensityScore, estimand: str = "ATE", *, trim: float | None = None,
) -> np.ndarray:
    """Inverse-probability (ATE, ATT, ATC) or overlap (ATO) weights from a propensity score.

    Parameters
    ----------
    ps
        A fitted :class:`PropensityScore`.
    estimand
        ``"ATE"``: ``t/e + (1-t)/(1-e)``; ``"ATT"``: ``t + (1-t) e/(1-e)``; ``"ATC"``:
        ``t (1-e)/e + (1-t)``; ``"ATO"`` (overlap weights): ``t (1-e) + (1-t) e``.
    trim
        Optional threshold ``a`` in (0, 0.5): patients with a score outside ``[a, 1 - a]``
        get weight 0 (Crump et al., Biometrika 2009, suggest 0.1).

    Returns
    -------
    numpy.ndarray
        One weight per patient, in data order.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"t": [0, 0, 1, 1, 0, 1], "x": [1.0, 2.0, 3.0, 2.5, 0.5, 1.5]})
    >>> w = ps_weights(propensity_score(d, ["x"], treatment="t"), "ATT")
    >>> [float(v) for v in w[[2, 3, 5]]]
    [1.0, 1.0, 1.0]
    """
    est = estimand.upper()
    if est not in ESTIMANDS:
        raise EstimationError(f"estimand must be one of {ESTIMANDS}, not {estimand!r}.")
    e, t = ps.score, ps.treat
    if est == "ATE":
        w = t / e + (1 - t) / (1 - e)
    elif est == "ATT":
        w = t + (1 - t) * e / (1 - e)
    elif est == "ATC":
        w = t * (1 - e) / e + (1 - t)
    else:
        w = t * (1 - e) + (1 - t) * e
    if trim is not None:
        if not 0.0 < trim < 0.5:
            raise EstimationError(f"trim must be in (0, 0.5), not {trim!r}.")
        w = np.where((e < trim) | (e > 1 - trim), 0.0, w)
    return np.asarray(w, dtype=float)


def _wvar(x: np.ndarray, w: np.ndarray, binary: bool) -> float:
    w = w / w.sum()
    m = float(np.sum(w * x))
    if binary:
        return m * (1 - m)
    return float(np.sum(w * (x - m) ** 2) / (1 - np.sum(w ** 2)))


@dataclass(frozen=True)
class BalanceTable:
    """Covariate balance before and after matching or weighting.

    Parameters
    ----------
    table
        One row per covariate (``distance`` first when the score is included) with
        ``mean_treated_before``, ``mean_control_before``, ``smd_before``, ``var_ratio_before``
        and the same ``_after``; ``binary`` flags 0/1 covariates.
    estimand
        The estimand that chose the SD (ATT: treated SD; ATC: control; ATE/ATO: pooled).
    sd_denominator
        ``"treated"``, ``"control"`` or ``"pooled"``.
    provenance
        How the table was computed.
    """

    table: pd.DataFrame
    estimand: str
    sd_denominator: str
    provenance: Provenance = field(default_factory=lambda: Provenance("balance"))

    @property
    def summary(self) -> str:
        """The balance table as text, with the largest absolute SMD after adjustment."""
        worst = float(np.nanmax(np.abs(self.table["smd_after"].to_numpy())))
        return (f"Balance ({self.estimand}; SMD over the {self.sd_denominator} SD of the "
                f"unadjusted sample); max |SMD| after: {worst:.3f}\n"
                + self.table.round(4).to_string())

    def to_frame(self) -> pd.DataFrame:
        """The balance table.

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
            Estimand, SD denominator, ``rows`` (one dict per covariate, NaN as None) and the
            provenance.
        """
        rows = []
        for name, row in self.table.iterrows():
            d: dict[str, Any] = {"covariate": str(name)}
            for k, v in row.items():
                d[str(k)] = bool(v) if k == "binary" else (
                    None if not np.isfinite(v) else float(v))
            rows.append(d)
        return {"method": "balance", "estimand": self.estimand,
                "sd_denominator": self.sd_denominator, "rows": rows,
                "provenance": self.provenance.to_dict()}

    def plot(self, ax: Axes | None = None, *, threshold: float = 0.1) -> Axes:
        """Love plot: absolute standardised mean differences before and after.

        Parameters
        ----------
        ax
            Matplotlib Axes to draw on; None (default) creates a new figure.
        threshold
            Where to draw the dashed reference line (0.1 is the usual balance threshold).

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on: one row per covariate, open circles before and filled circles
            after adjustment.
        """
        from hsctms.plots._style import PALETTE, new_axes

        names = list(self.table.index)
        ax = new_axes(ax, figsize=(6.0, 0.8 + 0.35 * len(names)))
        y = np.arange(len(names))[::-1]
        ax.scatter(np.abs(self.table["smd_before"]), y, facecolors="none",
                   edgecolors=PALETTE[1], label="before")
        ax.scatter(np.abs(self.table["smd_after"]), y, color=PALETTE[0], label="after")
        ax.axvline(threshold, color="0.4", lw=0.8, ls="--")
        ax.set_yticks(y, names)
        ax.set_xlabel("Absolute standardised mean difference")
        ax.legend()
        return ax


def balance(
    data: pd.DataFrame, weights: Any, *, covariates: Sequence[str], treatment: str = "treat",
    estimand: str = "ATT", distance: Any = None,
) -> BalanceTable:
    """Standardised mean differences and variance ratios before and after adjustment.

    Parameters
    ----------
    data
        One row per patient.
    weights
        Matching or balancing weights, one per patient (0 drops a patient).
    covariates
        Names of numeric covariate columns.
    treatment
        Name of the 0/1 treatment column.
    estimand
        ``"ATT"`` (SD of the treated, MatchIt's default), ``"ATC"`` (control SD), ``"ATE"`` or
        ``"ATO"`` (pooled: the square root of the mean of the two arms' variances).
    distance
        Optional propensity score per patient, reported first as ``distance`` (as MatchIt).

    Returns
    -------
    BalanceTable
        Equal to MatchIt's ``summary(m, standardize = TRUE)`` for a matchit object's
        weights.
    """
    est = estimand.upper()
    if est not in ESTIMANDS:
        raise EstimationError(f"estimand must be one of {ESTIMANDS}, not {estimand!r}.")
    denom = {"ATT": "treated", "ATC": "control"}.get(est, "pooled")
    t = _treatment(data, treatment)
    x = _covariates(data, covariates)
    names = list(covariates)
    if distance is not None:
        x = np.column_stack([np.asarray(distance, dtype=float), x])
        names = ["distance", *names]
    w = np.asarray(weights, dtype=float)
    if w.shape != t.shape or np.isnan(w).any() or (w < 0).any():
        raise EstimationError("weights must be one non-negative number per patient.")
    i1, i0 = t == 1, t == 0
    rows = []
    for j in range(len(names)):
        xx = x[:, j]
        binary = bool(np.isin(xx, (0.0, 1.0)).all())
        one = np.ones_like(xx)
        v1, v0 = _wvar(xx[i1], one[i1], binary), _wvar(xx[i0], one[i0], binary)
        sd = float(np.sqrt(v1 if denom == "treated" else v0 if denom == "control"
                           else (v1 + v0) / 2))
        row: dict[str, Any] = {"binary": binary}
        for label, ww in (("before", one), ("after", w)):
            m1 = float(np.sum(xx[i1] * ww[i1]) / ww[i1].sum())
            m0 = float(np.sum(xx[i0] * ww[i0]) / ww[i0].sum())
            diff = m1 - m0
            row[f"mean_treated_{label}"] = m1
            row[f"mean_control_{label}"] = m0
            row[f"smd_{label}"] = diff / sd if abs(diff) > np.sqrt(np.finfo(float).eps) \
                else diff
            keep1, keep0 = ww[i1] > 0, ww[i0] > 0
            row[f"var_ratio_{label}"] = np.nan if binary else (
                _wvar(xx[i1][keep1], ww[i1][keep1], False)
                / _wvar(xx[i0][keep0], ww[i0][keep0], False))
        rows.append(row)
    cols = [f"{s}_{lab}" for lab in ("before", "after")
            for s in ("mean_treated", "mean_control", "smd", "var_ratio")]
    table = pd.DataFrame(rows, index=names)[[*cols, "binary"]]
    prov = Provenance("balance", {"treatment": treatment, "covariates": list(covariates),
                                  "estimand": est, "sd_denominator": denom}, n=len(t))
    return BalanceTable(table, est, denom, prov)
