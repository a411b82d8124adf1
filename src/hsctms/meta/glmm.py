"""Random-effects logistic model (binomial-normal GLMM) for single proportions.

The exact-likelihood alternative to pooling transformed proportions, and the model to prefer
with rare or zero events (no continuity correction): ``x_i ~ Binomial(n_i, expit(mu + b_i))``,
``b_i ~ N(0, tau²)``, fitted by maximum likelihood with adaptive Gauss-Hermite quadrature
(7 nodes), as R ``metafor::rma.glmm(measure="PLO", method="ML")`` does through
``lme4::glmer(..., nAGQ = 7)``. The standard error of ``mu`` comes from the Hessian of the
deviance in (tau, mu), as lme4's default ``vcov``. Heterogeneity is tested by the likelihood
ratio of the common-effect versus the saturated model (metafor's "LRT"); I² uses metafor's
typical within-study variance of the PLO effect sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

from hsctms._provenance import Provenance
from hsctms.errors import ConvergenceError, EstimationError
from hsctms.meta._fit import check_level, versions
from hsctms.meta.effects import check_counts, escalc, exact_ci, ilogit
from hsctms.meta.pooling import MetaAnalysis

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(7)  # standard-normal GH rule
_WEIGHTS = _WEIGHTS / np.sqrt(2 * np.pi)


def _log_binom(x: np.ndarray, n: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """log Binomial(x | n, expit(eta)) including the binomial coefficient."""
    const = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
    return np.asarray(const + x * eta - n * np.logaddexp(0.0, eta))


def _modes(x: np.ndarray, n: np.ndarray, mu: float, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Conditional modes u_i of h(u) = log p(x | mu + tau u) - u²/2 and sd 1/sqrt(-h'').

    h is strictly concave, so h'(u) = tau (x - n p) - u decreases and its root lies in
    [tau (x - n) - 1, tau x + 1]; Newton steps are kept inside that shrinking bracket
    (bisection otherwise), which converges for any tau.
    """
    lo = tau * (x - n) - 1.0
    hi = tau * x + 1.0
    u = np.clip(np.zeros_like(x), lo, hi)
    for _ in range(500):
        p = ilogit(mu + tau * u)
        g = tau * (x - n * p) - u
        lo = np.where(g > 0, u, lo)
        hi = np.where(g < 0, u, hi)
        curv = -(tau**2) * n * p * (1 - p) - 1.0
        new = u - g / curv
        bad = ~((new > lo) & (new < hi))
        new = np.where(bad, 0.5 * (lo + hi), new)
        if np.max(np.abs(new - u)) < 1e-12 * max(1.0, float(np.max(np.abs(u)))):
            u = new
            break
        u = new
    p = ilogit(mu + tau * u)
    return u, 1.0 / np.sqrt(tau**2 * n * p * (1 - p) + 1.0)


def _loglik(params: np.ndarray, x: np.ndarray, n: np.ndarray) -> float:
    """Marginal log-likelihood by adaptive Gauss-Hermite quadrature (7 nodes)."""
    tau, mu = abs(float(params[0])), float(params[1])
    if tau < 1e-10:
        return float(np.sum(_log_binom(x, n, np.full_like(x, mu))))
    u, s = _modes(x, n, mu, tau)
    pts = u[:, None] + s[:, None] * _NODES[None, :]
    logf = (_log_binom(x[:, None], n[:, None], mu + tau * pts) - 0.5 * pts**2
            + 0.5 * _NODES[None, :] ** 2)
    return float(np.sum(np.log(s) + special.logsumexp(logf, axis=1, b=_WEIGHTS[None, :])))


def _hessian(fn: Callable[[np.ndarray], float], p: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central finite-difference Hessian (step 1e-4, as lme4's deriv12)."""
    k = p.size
    H = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            val = (fn(p + ei + ej) - fn(p + ei - ej) - fn(p - ei + ej) + fn(p - ei - ej)) \
                / (4 * h * h)
            H[i, j] = H[j, i] = val
    return H


def glmm_proportions(
    events: ArrayLike,
    n: ArrayLike,
    studies: Sequence[str] | None = None,
    *,
    level: float = 0.95,
    label: str = "",
) -> MetaAnalysis:
    """Pool proportions with a binomial-normal random-effects model (ML, adaptive GH).

    Parameters
    ----------
    events, n : array_like of int
        Event counts and sample sizes per study (at least two studies, not all with zero
        or only events).
    studies : sequence of str, optional
        Study labels (default ``S1``, ``S2``, ...).
    level : float, default 0.95
        Confidence level of the intervals.
    label : str, default ""
        Title of the analysis.

    Returns
    -------
    MetaAnalysis
        With ``measure="PLO"`` and ``method="GLMM"``; ``Q`` holds the likelihood-ratio
        heterogeneity statistic (common-effect vs saturated model); study weights are NaN.

    Raises
    ------
    hsctms.errors.EstimationError
        Fewer than two studies, or no (or only) events in every study.
    hsctms.errors.ConvergenceError
        When the likelihood cannot be maximised.
    """
    lvl = check_level(level)
    x, m = check_counts(events, n)
    k = x.size
    if k < 2:
        raise EstimationError("A GLMM needs at least two studies.")
    if x.sum() == 0 or x.sum() == m.sum():
        raise EstimationError("No events (or only events) in every study: the GLMM is not "
                              "estimable.", hint="Report exact limits per study instead.")
    names = [f"S{i + 1}" for i in range(k)] if studies is None else [str(s) for s in studies]
    mu0 = float(special.logit(x.sum() / m.sum()))

    def dev(p: np.ndarray) -> float:
        return -2.0 * _loglik(p, x, m)

    best = None
    for tau0 in (0.3, 1.0, 2.0):
        res = optimize.minimize(dev, np.array([tau0, mu0]), method="Nelder-Mead",
                                options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    polish = optimize.minimize(dev, best.x, method="BFGS", options={"gtol": 1e-9})
    if polish.success and polish.fun <= best.fun:
        best = polish
    if not np.isfinite(best.fun):
        raise ConvergenceError("The GLMM likelihood could not be maximised.")
    tau, mu = abs(float(best.x[0])), float(best.x[1])
    if tau < 1e-6:
        tau = 0.0
        info = float(np.sum(m * ilogit(mu) * (1 - ilogit(mu))))
        se = float(1 / np.sqrt(info))
    else:
        H = _hessian(dev, np.array([tau, mu])) / 2.0
        se = float(np.sqrt(np.linalg.inv(H)[1, 1]))
    tau2 = tau**2
    z = float(stats.norm.ppf(1 - (1 - lvl) / 2))
    # heterogeneity: LRT common effect vs saturated; I2 with metafor's typical variance
    p_hat = x / m
    sat = float(np.sum(_log_binom(x, m, special.logit(np.clip(p_hat, 1e-300, 1 - 1e-16)))
                       if np.all((x > 0) & (x < m)) else np.sum(
                           special.xlogy(x, p_hat) + special.xlogy(m - x, 1 - p_hat)
                           + special.gammaln(m + 1) - special.gammaln(x + 1)
                           - special.gammaln(m - x + 1))))
    common = float(np.sum(_log_binom(x, m, np.full_like(x, mu0))))
    lrt = max(0.0, 2.0 * (sat - common))
    _, vi = escalc("PLO", x, m)
    w = 1.0 / vi
    s2 = (k - 1) * w.sum() / (w.sum() ** 2 - (w**2).sum())
    ex_lo, ex_hi = exact_ci(x, m, level=lvl)
    yi, _ = escalc("PLO", x, m)
    table = pd.DataFrame({
        "study": names, "events": x.astype(int), "n": m.astype(int), "yi": yi, "vi": vi,
        "prop": x / m, "ci_low": ilogit(yi - z * np.sqrt(vi)),
        "ci_high": ilogit(yi + z * np.sqrt(vi)), "exact_low": ex_lo, "exact_high": ex_hi,
        "weight": np.full(k, np.nan),
    })
    half = z * np.sqrt(se**2 + tau2)
    prov = Provenance(method="glmm_proportions",
                      definition={"model": "binomial-normal random intercept, ML",
                                  "integration": "adaptive Gauss-Hermite, 7 nodes",
                                  "se": "Hessian of the deviance in (tau, mu)",
                                  "heterogeneity_test": "LRT common effect vs saturated",
                                  "level": lvl}, n=k, versions=versions())
    return MetaAnalysis(
        measure="PLO", method="GLMM", level=lvl, test="z", studies=table, estimate=mu, se=se,
        zval=mu / se, pval=float(2 * stats.norm.sf(abs(mu / se))),
        ci=(mu - z * se, mu + z * se), pi=(mu - half, mu + half), prop=float(ilogit(mu)),
        prop_ci=(float(ilogit(mu - z * se)), float(ilogit(mu + z * se))),
        prop_pi=(float(ilogit(mu - half)), float(ilogit(mu + half))), tau2=tau2,
        I2=100 * tau2 / (tau2 + s2), H2=(tau2 + s2) / s2, Q=lrt, Q_df=k - 1,
        Q_p=float(stats.chi2.sf(lrt, k - 1)), provenance=prov,
        caveats=["Q is the likelihood-ratio heterogeneity statistic of the GLMM; study weights "
                 "are not defined for a GLMM."], label=label,
    )


__all__ = ["glmm_proportions"]
