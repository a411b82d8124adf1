"""Meta-regression of proportions on study-level moderators.

Two models:

* :func:`meta_regression`: mixed-effects meta-regression on the PLO/PFT scale
  (``metafor::rma(yi, vi, mods = ~ year + edss)``), tau² by REML/DL (closed-form DL; REML solved
  from its estimating equation), Wald z tests (or Knapp-Hartung), QM omnibus test, residual I², R².
* :func:`poisson_regression`: Poisson regression of event counts with ``log(n)`` offset
  (statsmodels GLM), the model of Sormani et al. (Neurology 2017) for TRM; optional
  quasi-Poisson over-dispersion (Pearson chi² / df, as R ``quasipoisson``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from hsctms._provenance import Provenance
from hsctms.errors import ConfigurationError, EstimationError
from hsctms.meta._fit import check_level, check_method, fit, versions
from hsctms.meta.effects import check_counts, escalc
from hsctms.meta.options import ModelSpec


def _moderator_matrix(moderators: pd.DataFrame | dict[str, ArrayLike], k: int
                      ) -> tuple[np.ndarray, list[str]]:
    frame = pd.DataFrame(moderators)
    if frame.shape[0] != k:
        raise EstimationError(f"Moderators have {frame.shape[0]} rows for {k} studies.")
    if frame.shape[1] == 0:
        raise EstimationError("No moderators given.", hint="e.g. moderators={'year': [...]}.")
    try:
        X = frame.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise EstimationError(f"Moderators must be numeric: {exc}.",
                              hint="Code categories as 0/1 columns, or use subgroups.") from exc
    if not np.all(np.isfinite(X)):
        bad = [c for c in frame.columns if not np.all(np.isfinite(frame[c].to_numpy(float)))]
        raise EstimationError(f"Missing moderator values in {bad}.",
                              hint="Drop studies without the moderator first.")
    return X, [str(c) for c in frame.columns]


@dataclass(frozen=True)
class MetaRegression:
    """Mixed-effects meta-regression result (coefficients on the transformed scale).

    Frozen: built complete by :func:`meta_regression`.

    Parameters
    ----------
    measure : str
        Effect size the proportions were transformed with (``"PLO"`` or ``"PFT"``).
    method : str
        tau² estimator (``"REML"``, ``"DL"``, or ``"FE"`` for a fixed-effects model).
    level : float
        Confidence level of ``ci_low`` / ``ci_high``.
    test : str
        ``"z"`` or ``"knha"`` (Knapp-Hartung t and F tests).
    terms : list of str
        Coefficient names: ``"intercept"`` then the moderators.
    coef, se, stat, pval, ci_low, ci_high : numpy.ndarray
        Per term: estimate, standard error, z (or t) statistic, two-sided p-value and
        confidence limits, on the ``measure`` scale (a slope is the change per unit of the
        moderator).
    tau2 : float
        Residual between-study variance (0 for FE).
    I2, H2 : float or None
        Residual I² (in %) and H², metafor style; ``None`` without residual df.
    R2 : float or None
        Share of the intercept-only model's tau² explained by the moderators, in %
        (adjusted R² of the weighted least-squares fit for FE); ``None`` when undefined.
    QM, QM_df, QM_p : float, int, float or None
        Omnibus Wald test of all moderators (an F statistic under ``knha``).
    QE, QE_df, QE_p : float, int, float
        Test of residual heterogeneity.
    k : int
        Number of studies.
    provenance : hsctms._provenance.Provenance
        Method, definition and package versions of the fit.
    data : pandas.DataFrame or None, default None
        Per-study ``events``, ``n``, ``yi``, ``vi``, ``weight`` (%) and the moderators; used
        by :meth:`fitted_curve` and :meth:`plot`.
    vcov : numpy.ndarray or None, default None
        Covariance matrix of ``coef``.
    """

    measure: str
    method: str
    level: float
    test: str
    terms: list[str]
    coef: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    tau2: float
    I2: float | None
    H2: float | None
    R2: float | None
    QM: float | None
    QM_df: int | None
    QM_p: float | None
    QE: float
    QE_df: int
    QE_p: float
    k: int
    provenance: Provenance
    data: pd.DataFrame | None = None  # study, events, n, yi, vi, weight + moderators
    vcov: np.ndarray | None = None

    def plot(self, ax: Any = None, moderator: str | None = None, **kwargs: Any) -> Any:
        """Bubble plot of the study proportions against one moderator with the fitted line.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on (default: a new figure).
        moderator : str, optional
            Moderator on the x axis (default: the first one).
        **kwargs
            Passed to :func:`hsctms.plots.forest.bubble_plot` (``title``, ``ylabel``).

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.
        """
        from hsctms.plots.forest import bubble_plot

        return bubble_plot(self, ax=ax, moderator=moderator, **kwargs)

    def fitted_curve(self, moderator: str | None = None, *, points: int = 100
                     ) -> pd.DataFrame:
        """The fitted proportion and its CI over the observed range of ``moderator`` (other
        moderators at their weighted mean), back-transformed from the model scale with the
        studies' harmonic-mean size (as metafor's ``predict(..., transf=)``).

        Parameters
        ----------
        moderator : str, optional
            Moderator varied over its observed range (default: the first one).
        points : int, default 100
            Number of grid points.

        Returns
        -------
        pandas.DataFrame
            Columns ``moderator`` (the grid), ``fit``, ``lower``, ``upper`` (proportions).

        Raises
        ------
        EstimationError
            When the result carries no study data or has no moderator.
        ConfigurationError
            When ``moderator`` is not one of the model's moderators (the hint lists them).
        """
        from hsctms.meta.effects import back_transform, harmonic_mean

        if self.data is None or self.vcov is None:
            raise EstimationError("This MetaRegression carries no study data to plot.",
                                  hint="Use the result returned by hsctms.meta.meta_regression, "
                                  "which keeps the study data and covariance matrix.")
        names = list(self.terms[1:])
        if not names:
            raise EstimationError("This MetaRegression has no moderator to plot against.",
                                  hint="Fit it with at least one moderator.")
        mod = names[0] if moderator is None else moderator
        if mod not in names:
            raise ConfigurationError(f"Moderator {mod!r} is not in the model.",
                                     hint=f"Moderators: {', '.join(names)}.")
        d = self.data
        w = d["weight"].to_numpy(float)
        grid = np.linspace(float(d[mod].min()), float(d[mod].max()), points)
        X = np.ones((grid.size, len(self.terms)))
        for j, name in enumerate(names, start=1):
            X[:, j] = grid if name == mod else np.average(d[name], weights=w)
        fit_ = X @ self.coef
        se = np.sqrt(np.einsum("ij,jk,ik->i", X, self.vcov, X))
        crit = (stats.norm.ppf(1 - (1 - self.level) / 2) if self.test == "z"
                else stats.t.ppf(1 - (1 - self.level) / 2, self.k - len(self.terms)))
        nhm = harmonic_mean(d["n"])
        return pd.DataFrame({
            "moderator": grid,
            "fit": back_transform(self.measure, fit_, nhm),
            "lower": back_transform(self.measure, fit_ - crit * se, nhm),
            "upper": back_transform(self.measure, fit_ + crit * se, nhm)})

    def to_frame(self) -> pd.DataFrame:
        """Coefficient table.

        Returns
        -------
        pandas.DataFrame
            One row per term: ``term``, ``coef``, ``se``, ``stat``, ``p``, ``ci_low``,
            ``ci_high`` (transformed scale).
        """
        return pd.DataFrame({"term": self.terms, "coef": self.coef, "se": self.se,
                             "stat": self.stat, "p": self.pval, "ci_low": self.ci_low,
                             "ci_high": self.ci_high})

    @property
    def summary(self) -> str:
        """Plain-text summary."""
        lines = [f"Meta-regression ({self.measure}, {self.method}, k = {self.k}): "
                 f"residual tau² = {self.tau2:.4g}, R² = "
                 + ("NA" if self.R2 is None else f"{self.R2:.1f}%")
                 + (f", QM = {self.QM:.2f} (df {self.QM_df}, p = {self.QM_p:.3g})"
                    if self.QM is not None and self.QM_p is not None else "")]
        for r in self.to_frame().to_dict("records"):
            lines.append(f"  {r['term']:>12s} {r['coef']: .4g} (SE {r['se']:.3g}, "
                         f"p = {r['p']:.3g})")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (schema in docs/meta-analysis.md).

        Returns
        -------
        dict
            Model settings, ``coefficients`` (one dict per term), heterogeneity and test
            statistics (non-finite values as ``None``) and ``provenance``.
        """
        def f(v: Any) -> float | None:
            return None if v is None or not np.isfinite(v) else float(v)
        return {
            "model": "mixed-effects meta-regression", "measure": self.measure,
            "method": self.method, "test": self.test, "level": self.level, "k": self.k,
            "coefficients": [{k: (f(v) if k != "term" else v) for k, v in r.items()}
                             for r in self.to_frame().to_dict("records")],
            "tau2": f(self.tau2), "I2": f(self.I2), "H2": f(self.H2), "R2": f(self.R2),
            "QM": f(self.QM), "QM_df": self.QM_df, "QM_p": f(self.QM_p),
            "QE": f(self.QE), "QE_df": self.QE_df, "QE_p": f(self.QE_p),
            "provenance": self.provenance.to_dict(),
        }


def meta_regression(
    events: ArrayLike,
    n: ArrayLike,
    moderators: pd.DataFrame | dict[str, ArrayLike],
    *,
    model: ModelSpec | None = None,
) -> MetaRegression:
    """Mixed-effects meta-regression of a transformed proportion on moderators.

    The model of ``metafor::rma(yi, vi, mods = ~ year + edss, method=, test=)`` on the
    ``escalc`` effect sizes of the proportions.

    Parameters
    ----------
    events, n : array_like of int
        Event counts and sample sizes per study.
    moderators : pandas.DataFrame or dict of array_like
        Numeric study-level moderators (one column each, one row per study, no missing
        values), e.g. ``{"year": ..., "edss": ...}``; categories must be coded as 0/1
        columns.
    model : ModelSpec, optional
        Effect size, tau² estimator, level and test (default ``ModelSpec()``); method
        ``FE`` fits a fixed-effects meta-regression, GLMM is refused.

    Returns
    -------
    MetaRegression
        Coefficients on the transformed scale with SEs, tests and CIs, residual tau², I²,
        H², R² (in %), the QM omnibus test of the moderators and the QE residual test.

    Raises
    ------
    hsctms.errors.EstimationError
        For invalid counts or moderators, too few studies or collinear moderators.
    """
    spec = model or ModelSpec()
    spec.require_inverse_variance("meta_regression")
    meas, meth, lvl, test = spec.measure, check_method(spec.method), spec.level, spec.test
    x, m = check_counts(events, n)
    X, names = _moderator_matrix(moderators, x.size)
    yi, vi = escalc(meas, x, m)
    res = fit(yi, vi, X, meth, lvl, test)
    null = fit(yi, vi, None, meth, lvl, "z")
    R2: float | None
    if meth != "FE":
        # metafor: 0 when the intercept-only model has no heterogeneity to explain
        R2 = (max(0.0, 100.0 * (null.tau2 - res.tau2) / null.tau2) if null.tau2 > 0 else 0.0)
    else:
        R2 = _fe_r2(res.QE, null.QE, k=int(x.size), p=int(res.coef.size), yi=yi)
    prov = Provenance(method="meta_regression",
                      definition={"measure": meas, "method": meth, "test": test,
                                  "moderators": names, "level": lvl}, n=int(x.size),
                      versions=versions())
    data = pd.DataFrame({"events": x.astype(int), "n": m.astype(int), "yi": yi, "vi": vi,
                         "weight": res.weights})
    for j, name in enumerate(names):
        data[name] = X[:, j]
    return MetaRegression(
        data=data, vcov=res.vcov,
        measure=meas, method=meth, level=lvl, test=test, terms=["intercept", *names],
        coef=res.coef, se=res.se, stat=res.stat, pval=res.pval, ci_low=res.ci_lb,
        ci_high=res.ci_ub, tau2=res.tau2, I2=res.I2, H2=res.H2, R2=R2, QM=res.QM,
        QM_df=res.QM_df, QM_p=res.QMp, QE=res.QE, QE_df=res.QE_df, QE_p=res.QEp, k=int(x.size),
        provenance=prov,
    )


def _fe_r2(qe: float, qe_null: float, *, k: int, p: int, yi: np.ndarray) -> float | None:
    """R² of a fixed-effect meta-regression as metafor reports it (in %).

    metafor (``rma.uni``, method ``"FE"``) uses the adjusted R² of the weighted least-squares
    fit ``lm(yi ~ X, weights = 1/vi)``, floored at 0 (and 0 when all ``yi`` are equal). With
    weights ``1/vi`` the weighted residual and total sums of squares are the ``QE`` of the
    model and of the intercept-only model, so adjusted R² = 1 - (QE/QE0)(k-1)/(k-p).
    """
    if float(np.var(yi)) == 0.0:
        return 0.0
    if k <= p or qe_null <= 0:
        return None  # lm's adjusted R² is undefined (NaN) here
    return max(0.0, 100.0 * (1.0 - (qe / qe_null) * (k - 1) / (k - p)))


@dataclass(frozen=True)
class PoissonRegression:
    """Poisson (or quasi-Poisson) regression of event counts with log(n) offset.

    ``rate`` is the fitted event proportion at the moderators' reference (intercept only:
    the pooled crude rate sum(events)/sum(n)); ``exp(coef[1:])`` (``rate_ratio`` in
    :meth:`to_frame`) are rate ratios per unit of each moderator. Frozen: built complete by
    :func:`poisson_regression`.

    Parameters
    ----------
    terms : list of str
        ``"intercept"`` then the moderators.
    coef, se, stat, pval, ci_low, ci_high : numpy.ndarray
        Per term, on the log-rate scale: estimate, standard error, z (t for quasi-Poisson)
        statistic, two-sided p-value and Wald confidence limits (R ``confint.default``).
    dispersion : float
        1 for Poisson; Pearson chi² / df for quasi-Poisson.
    deviance : float
        Residual deviance.
    df_resid : int
        Residual degrees of freedom (studies minus coefficients).
    family : str
        ``"poisson"`` or ``"quasipoisson"``.
    level : float
        Confidence level of the limits.
    k : int
        Number of studies.
    provenance : hsctms._provenance.Provenance
        Method, definition and package versions of the fit.
    """

    terms: list[str]
    coef: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    dispersion: float
    deviance: float
    df_resid: int
    family: str
    level: float
    k: int
    provenance: Provenance

    @property
    def rate(self) -> tuple[float, float, float]:
        """exp(intercept) with its CI: the pooled proportion when there are no moderators."""
        return (float(np.exp(self.coef[0])), float(np.exp(self.ci_low[0])),
                float(np.exp(self.ci_high[0])))

    def to_frame(self) -> pd.DataFrame:
        """Coefficients with rate ratios.

        Returns
        -------
        pandas.DataFrame
            One row per term: ``term``, ``coef``, ``se``, ``stat``, ``p``, ``ci_low``,
            ``ci_high`` (log scale) and ``rate_ratio`` (``exp(coef)``).
        """
        return pd.DataFrame({"term": self.terms, "coef": self.coef, "se": self.se,
                             "stat": self.stat, "p": self.pval, "ci_low": self.ci_low,
                             "ci_high": self.ci_high, "rate_ratio": np.exp(self.coef)})

    @property
    def summary(self) -> str:
        """Plain-text summary."""
        rate = self.rate
        lines = [f"{self.family} regression of events with log(n) offset (k = {self.k}, "
                 f"dispersion {self.dispersion:.3g})"]
        if len(self.terms) == 1:
            lines.append(f"  pooled rate {100 * rate[0]:.2f}% ({100 * self.level:g}% CI "
                         f"{100 * rate[1]:.2f}% to {100 * rate[2]:.2f}%)")
        for r in self.to_frame().to_dict("records")[1:]:
            lines.append(f"  {r['term']:>12s} rate ratio {r['rate_ratio']:.3g} per unit "
                         f"(p = {r['p']:.3g})")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            Model, ``k``, ``level``, dispersion, deviance, the pooled ``rate`` with its CI
            (proportions), ``coefficients`` and ``provenance``.
        """
        rate = self.rate
        return {
            "model": f"{self.family} regression, log(n) offset", "k": self.k,
            "level": self.level, "dispersion": float(self.dispersion),
            "deviance": float(self.deviance), "df_resid": self.df_resid,
            "rate": {"estimate": rate[0], "ci_low": rate[1], "ci_high": rate[2]},
            "coefficients": [{k: (v if k == "term" else float(v)) for k, v in r.items()}
                             for r in self.to_frame().to_dict("records")],
            "provenance": self.provenance.to_dict(),
        }


def poisson_regression(
    events: ArrayLike,
    n: ArrayLike,
    moderators: pd.DataFrame | dict[str, ArrayLike] | None = None,
    *,
    family: str = "poisson",
    level: float = 0.95,
    studies: Sequence[str] | None = None,
) -> PoissonRegression:
    """Poisson regression of counts on moderators with ``log(n)`` offset (statsmodels GLM).

    Parameters
    ----------
    events, n : array_like of int
        Counts per study (zero counts are fine; at least one event overall).
    moderators : pandas.DataFrame or dict of array_like, optional
        Numeric moderators, one row per study; ``None`` fits the intercept only (pooled
        rate).
    family : str, default "poisson"
        ``"poisson"`` (dispersion 1, z tests; R ``glm(family=poisson)``) or ``"quasipoisson"``
        (dispersion = Pearson chi²/df, t tests; R ``quasipoisson``).
    level : float, default 0.95
        Confidence level of the Wald limits.
    studies : sequence of str, optional
        Study labels, for the caller's records; the fit does not use them.

    Returns
    -------
    PoissonRegression
        Coefficients on the log-rate scale, the pooled rate and the rate ratios.

    Raises
    ------
    hsctms.errors.ConfigurationError
        For an unknown family.
    hsctms.errors.EstimationError
        For invalid counts, too few studies, collinear moderators or no events at all.
    """
    import statsmodels.api as sm

    lvl = check_level(level)
    x, m = check_counts(events, n)
    if family not in ("poisson", "quasipoisson"):
        raise ConfigurationError(f"Unknown family {family!r}.",
                                 hint="Use 'poisson' or 'quasipoisson'.")
    k = x.size
    if moderators is None:
        X = np.ones((k, 1))
        names = ["intercept"]
    else:
        M, mod_names = _moderator_matrix(moderators, k)
        X = np.column_stack([np.ones(k), M])
        names = ["intercept", *mod_names]
    if k <= X.shape[1] - 1 or np.linalg.matrix_rank(X) < X.shape[1]:
        raise EstimationError("Too few studies or collinear moderators for this model.")
    if x.sum() == 0:
        raise EstimationError("No events in any study: the Poisson rate is not estimable.",
                              hint="Report exact upper bounds per study instead.")
    model = sm.GLM(x, X, family=sm.families.Poisson(), offset=np.log(m))
    scale: str | float = "X2" if family == "quasipoisson" else 1.0
    res = model.fit(scale=scale, tol=1e-12)
    df_resid = int(k - X.shape[1])
    coef = np.asarray(res.params, dtype=float)
    se = np.asarray(res.bse, dtype=float)
    stat = coef / se
    if family == "quasipoisson":
        pval = 2 * stats.t.sf(np.abs(stat), df_resid)
    else:
        pval = 2 * stats.norm.sf(np.abs(stat))
    z = stats.norm.ppf(1 - (1 - lvl) / 2)  # Wald CI as R confint.default
    prov = Provenance(method="poisson_meta_regression",
                      definition={"family": family, "offset": "log(n)", "moderators": names[1:],
                                  "level": lvl,
                                  "reference": "Sormani et al., Neurology 2017 (weighted "
                                               "Poisson meta-regression)"}, n=k,
                      versions=versions())
    return PoissonRegression(
        terms=names, coef=coef, se=se, stat=stat, pval=np.asarray(pval, dtype=float),
        ci_low=coef - z * se, ci_high=coef + z * se, dispersion=float(res.scale),
        deviance=float(res.deviance), df_resid=df_resid, family=family, level=lvl, k=k,
        provenance=prov,
    )


__all__ = ["MetaRegression", "PoissonRegression", "meta_regression", "poisson_regression"]
