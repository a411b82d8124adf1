"""Numerical core: inverse-variance fits of (mixed-effects) meta-analysis models.

Between-study variance tau²: DerSimonian-Laird in closed form (:func:`tau2_dl`), and REML by
solving the REML estimating equation ``y'PPy = tr(P)`` (the equation metafor's Fisher scoring
solves) with Brent's method, bracketed from the DL estimate (PyMARE was used for both until
its optimiser, which stops 1e-7..4e-5 short of the REML optimum, proved to be needed only as a
starting value). Everything else (weights,
coefficients, standard errors, Q, I², H², QM, R², Knapp-Hartung, prediction intervals) follows
``metafor::rma.uni`` formulas and is tested against metafor golden values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from hsctms._provenance import package_versions
from hsctms.errors import ConfigurationError, ConvergenceError, EstimationError

Method = Literal["FE", "DL", "REML"]
METHODS: tuple[str, ...] = ("FE", "DL", "REML")
TESTS: tuple[str, ...] = ("z", "knha")

Array = NDArray[np.float64]


@lru_cache(maxsize=1)
def _cached_versions() -> tuple[tuple[str, str], ...]:
    return tuple(package_versions().items())


def versions() -> dict[str, str]:
    """Package versions for provenance, looked up once per process (the lookup through
    importlib.metadata costs ~45 ms, more than a whole meta-analysis)."""
    return dict(_cached_versions())


def check_method(method: str) -> Method:
    """Normalise and validate a pooling method name."""
    key = str(method).upper()
    if key in ("FIXED", "EE", "CE"):
        key = "FE"
    if key not in METHODS:
        raise ConfigurationError(f"Unknown method {method!r}.",
                                 hint="Use REML, DL (DerSimonian-Laird) or FE (fixed effect).")
    return key  # type: ignore[return-value]


def check_level(level: float) -> float:
    """Validate a confidence level."""
    if not 0.5 <= float(level) < 1:
        raise ConfigurationError(f"Confidence level {level!r} must be in [0.5, 1).",
                                 hint="For example 0.95.")
    return float(level)


@dataclass(frozen=True)
class Fit:
    """Result of one inverse-variance fit (metafor ``rma.uni`` quantities).

    Frozen: built complete by :func:`fit`.

    Parameters
    ----------
    coef, vcov, se : numpy.ndarray
        Coefficients (intercept first), their covariance matrix (scaled under Knapp-Hartung)
        and standard errors.
    stat, pval : numpy.ndarray
        z (or t) statistics and two-sided p-values.
    ci_lb, ci_ub : numpy.ndarray
        Confidence limits.
    crit : float
        Critical value of the intervals (normal, or t with ``df``).
    df : int or None
        t degrees of freedom under Knapp-Hartung; ``None`` for z.
    tau2 : float
        (Residual) between-study variance.
    QE, QE_df, QEp : float, int, float
        Test of (residual) heterogeneity.
    I2, H2 : float or None
        I² (%) and H²; ``None`` without residual df.
    weights : numpy.ndarray
        Study weights in percent.
    QM, QM_df, QMp : float, int, float or None, default None
        Omnibus test of the moderators (F statistic under Knapp-Hartung); ``None``
        intercept-only.
    extra : dict, default {}
        Further quantities of a particular fit.
    """

    coef: Array
    vcov: Array
    se: Array
    stat: Array
    pval: Array
    ci_lb: Array
    ci_ub: Array
    crit: float
    df: int | None  # t degrees of freedom (Knapp-Hartung) or None (z)
    tau2: float
    QE: float
    QE_df: int
    QEp: float
    I2: float | None
    H2: float | None
    weights: Array  # percent
    QM: float | None = None
    QM_df: int | None = None
    QMp: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _design(k: int, X: Array | None) -> Array:
    ones = np.ones((k, 1))
    return ones if X is None or X.size == 0 else np.column_stack([ones, X])


def tau2_dl(y: Array, v: Array, Xd: Array) -> float:
    """DerSimonian-Laird tau² of a (mixed-effects) model, as ``metafor::rma.uni(method="DL")``.

    ``(QE - (k - p)) / tr(P0)`` truncated at 0, with ``P0 = W - W X (X'WX)^-1 X'W`` and
    ``W = diag(1/v)`` (the fixed-effect projection); intercept-only it is the textbook
    ``(Q - (k - 1)) / (sum w - sum w² / sum w)``.
    """
    w = 1.0 / v
    XtW = Xd.T * w
    P0 = np.diag(w) - XtW.T @ np.linalg.solve(XtW @ Xd, XtW)
    qe = float(y @ P0 @ y)
    return max(0.0, (qe - (y.size - Xd.shape[1])) / float(np.trace(P0)))


def _p_matrix(v: Array, Xd: Array, tau2: float) -> Array:
    w = 1.0 / (v + tau2)
    W = np.diag(w)
    WX = W @ Xd
    return W - WX @ np.linalg.solve(Xd.T @ WX, WX.T)


def _reml_score(y: Array, v: Array, Xd: Array, tau2: float) -> float:
    P = _p_matrix(v, Xd, tau2)
    Py = P @ y
    return float(Py @ Py) - float(np.trace(P))


def reml_solve(y: Array, v: Array, Xd: Array, start: float) -> float:
    """Solve the REML estimating equation ``y'PPy = tr(P)`` for tau² >= 0 to machine precision.

    ``start`` (the DL estimate) selects the root when the bracket around it holds one;
    a non-positive score at 0 means the REML estimate is on the boundary (tau² = 0).
    """
    from scipy.optimize import brentq

    def score(t: float) -> float:
        return _reml_score(y, v, Xd, t)

    if score(0.0) <= 0:
        return 0.0
    lo, hi = 0.0, max(2.0 * start, 1e-8)
    if start > 0 and score(start / 2) > 0:
        lo = start / 2
    for _ in range(200):
        if score(hi) < 0:
            break
        lo, hi = hi, 2.0 * hi
    else:  # pragma: no cover - would need an unbounded likelihood
        raise ConvergenceError("REML estimation of tau² did not converge.",
                               hint="Try method='DL'.")
    return float(brentq(score, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500))


def q_profile_ci(y: Array, v: Array, X: Array | None, level: float
                 ) -> tuple[float, float, float]:
    """Q-profile confidence interval of tau² (Viechtbauer 2007; metafor ``confint``).

    Returns ``(lower, upper, s2)`` where ``s2`` is metafor's typical within-study variance,
    from which the I² and H² limits follow.
    """
    from scipy.optimize import brentq

    k = y.size
    Xd = _design(k, X)
    df = k - Xd.shape[1]
    if df < 1:
        raise EstimationError("A tau² confidence interval needs more studies than coefficients.")

    def q(t: float) -> float:
        return float(y @ _p_matrix(v, Xd, t) @ y)

    def root(target: float) -> float:
        if q(0.0) <= target:
            return 0.0
        hi = max(1.0, 10 * float(np.var(y)))
        for _ in range(200):
            if q(hi) < target:
                break
            hi *= 2.0
        return float(brentq(lambda t: q(t) - target, 0.0, hi, xtol=1e-15,
                            rtol=4 * np.finfo(float).eps, maxiter=1000))

    alpha = 1.0 - level
    lower = root(float(stats.chi2.ppf(1 - alpha / 2, df)))
    upper = root(float(stats.chi2.ppf(alpha / 2, df)))
    w0 = 1.0 / v
    XtW0 = Xd.T * w0
    P0 = np.diag(w0) - XtW0.T @ np.linalg.solve(XtW0 @ Xd, XtW0)
    s2 = df / float(np.trace(P0))
    return lower, upper, s2


def estimate_tau2(y: Array, v: Array, X: Array | None, method: Method) -> float:
    """Between-study variance for ``method`` (0 for FE)."""
    k = y.size
    Xd = _design(k, X)
    if method == "FE" or k <= Xd.shape[1]:
        return 0.0
    start = tau2_dl(y, v, Xd)
    if method == "DL":
        return start
    return reml_solve(y, v, Xd, start)


def fit(y: Array, v: Array, X: Array | None = None, method: Method = "REML",
        level: float = 0.95, test: str = "z", tau2: float | None = None) -> Fit:
    """Fit an intercept-only (``X=None``) or meta-regression model, metafor style.

    Parameters
    ----------
    y, v : numpy.ndarray
        Effect sizes and sampling variances.
    X : numpy.ndarray, optional
        Moderator matrix without the intercept column (k x p-1).
    method : {"FE", "DL", "REML"}, default "REML"
        tau² estimator.
    level : float, default 0.95
        Confidence level.
    test : {"z", "knha"}, default "z"
        Wald z or Knapp-Hartung t tests.
    tau2 : float, optional
        Use this tau² instead of estimating it.

    Returns
    -------
    Fit
        The ``rma.uni`` quantities.
    """
    if test not in TESTS:
        raise ConfigurationError(f"Unknown test {test!r}.", hint="Use 'z' or 'knha'.")
    k = y.size
    Xd = _design(k, X)
    p = Xd.shape[1]
    if k < p:
        raise EstimationError(
            f"{k} studies are too few for a model with {p} coefficients.",
            hint="Use fewer moderators or add studies.",
        )
    if np.linalg.matrix_rank(Xd) < p:
        raise EstimationError("The moderators are collinear (or constant) in these studies.",
                              hint="Drop a moderator or use a subset where it varies.")
    t2 = estimate_tau2(y, v, X, method) if tau2 is None else float(tau2)
    w = 1.0 / (v + t2)
    XtW = Xd.T * w
    vcov = np.asarray(np.linalg.inv(XtW @ Xd), dtype=float)
    coef = vcov @ (XtW @ y)
    # residual heterogeneity with fixed-effect weights
    w0 = 1.0 / v
    XtW0 = Xd.T * w0
    b0 = np.linalg.solve(XtW0 @ Xd, XtW0 @ y)
    QE = float(np.sum(w0 * (y - Xd @ b0) ** 2))
    QE_df = k - p
    QEp = float(stats.chi2.sf(QE, QE_df)) if QE_df > 0 else 1.0
    df: int | None = None
    if test == "knha" and k > p:
        s2w = float(np.sum(w * (y - Xd @ coef) ** 2)) / (k - p)
        vcov = np.asarray(vcov * s2w, dtype=float)
        df = k - p
        crit = float(stats.t.ppf(1 - (1 - level) / 2, df))
    else:
        crit = float(stats.norm.ppf(1 - (1 - level) / 2))
    se = np.sqrt(np.diag(vcov))
    stat = coef / se
    pval = 2 * (stats.t.sf(np.abs(stat), df) if df is not None else stats.norm.sf(np.abs(stat)))
    # I² and H² the metafor way
    I2: float | None
    H2: float | None
    if QE_df <= 0:
        I2 = H2 = None
    elif method == "FE":
        I2 = max(0.0, 100.0 * (QE - QE_df) / QE) if QE > 0 else 0.0
        H2 = QE / QE_df
    else:
        P0 = np.diag(w0) - XtW0.T @ np.linalg.solve(XtW0 @ Xd, XtW0)
        vt = QE_df / float(np.trace(P0))
        I2 = 100.0 * t2 / (vt + t2)
        H2 = (vt + t2) / vt
    QM = QM_df = QMp = None
    if p > 1:
        b = coef[1:]
        QM = float(b @ np.linalg.solve(vcov[1:, 1:], b))
        QM_df = p - 1
        QMp = float(stats.f.sf(QM / QM_df, QM_df, df) if df is not None
                    else stats.chi2.sf(QM, QM_df))
        if df is not None:
            QM = QM / QM_df  # metafor reports the F statistic under knha
    return Fit(coef=coef, vcov=vcov, se=se, stat=stat, pval=np.asarray(pval, dtype=float),
               ci_lb=coef - crit * se, ci_ub=coef + crit * se, crit=crit, df=df, tau2=t2,
               QE=QE, QE_df=QE_df, QEp=QEp, I2=I2, H2=H2, weights=100.0 * w / w.sum(),
               QM=QM, QM_df=QM_df, QMp=QMp)
