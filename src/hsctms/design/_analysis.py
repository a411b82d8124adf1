"""Vectorised analyses of many simulated trials at once (one row per trial).

* two proportions: z-test with the score (pooled / Farrington-Manning) or Wald variance;
* negative-binomial rates: Wald test of the log rate ratio, dispersion by pooled moments;
* time to event: log-rank test (score test of the Cox model at beta = 0, no ties) and the Cox
  maximum-likelihood log hazard ratio by Newton-Raphson on the risk-set sums.

All functions take 2-D arrays ``(n_trials, n_patients)`` and return arrays of length
``n_trials``. Direction: the alternative of interest is *benefit of arm 1* (higher
proportion; lower rate; lower hazard). ``reject_benefit`` is the one-tail rejection used for
power; ``reject_any`` (two-sided: either tail) for the type I error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

_N = stats.norm


def fm_restricted_mle_vec(p1: np.ndarray, p2: np.ndarray, margin: float, ratio: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Farrington-Manning restricted MLE (see :func:`fm_restricted_mle`)."""
    if margin == 0:
        q = (ratio * p1 + p2) / (1 + ratio)
        return q, q
    th = 1 / ratio
    a = 1 + th
    b = -(1 + th + p1 + th * p2 + margin * (th + 2))
    c = margin**2 + margin * (2 * p1 + th + 1) + p1 + th * p2
    d = -p1 * margin * (1 + margin)
    v = b**3 / (3 * a) ** 3 - b * c / (6 * a**2) + d / (2 * a)
    u = np.sign(v) * np.sqrt(np.maximum(b**2 / (3 * a) ** 2 - c / (3 * a), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        cosarg = np.clip(v / u**3, -1.0, 1.0)
    w = np.where((v == 0) | (u == 0), np.pi / 2, (np.pi + np.arccos(np.nan_to_num(cosarg))) / 3)
    q1 = np.clip(2 * u * np.cos(w) - b / (3 * a), 0.0, 1.0)
    return q1, np.clip(q1 - margin, 0.0, 1.0)


def _decide(z: np.ndarray, alpha: float, sided: int) -> tuple[np.ndarray, np.ndarray]:
    crit = _N.isf(alpha / sided)
    benefit = z > crit
    if sided == 2:
        return benefit, benefit | (z < -crit)
    return benefit, benefit


def analyse_proportions(y1: np.ndarray, y2: np.ndarray, *, margin: float = 0.0,
                        alpha: float = 0.05, sided: int = 2, method: str = "score"
                        ) -> dict[str, np.ndarray]:
    """z-test of ``p1 - p2 = margin`` per trial; ``y`` holds 1/0 with NaN for missing."""
    n1 = np.sum(~np.isnan(y1), axis=1).astype(float)
    n2 = np.sum(~np.isnan(y2), axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = np.nansum(y1, axis=1) / n1
        p2 = np.nansum(y2, axis=1) / n2
        est = p1 - p2
        if method == "wald":
            var = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        else:
            q1, q2 = fm_restricted_mle_vec(p1, p2, margin, n1 / n2)
            var = q1 * (1 - q1) / n1 + q2 * (1 - q2) / n2
        z = (est - margin) / np.sqrt(var)
    z = np.where(var > 0, z, np.where(est - margin > 0, np.inf, np.where(est - margin < 0,
                                                                         -np.inf, 0.0)))
    z = np.nan_to_num(z, nan=0.0, posinf=np.inf, neginf=-np.inf)
    benefit, any_ = _decide(z, alpha, sided)
    return {"reject_benefit": benefit, "reject_any": any_, "estimate": est, "z": z,
            "n_analysed": n1 + n2}


def analyse_rates(c1: np.ndarray, e1: np.ndarray, c2: np.ndarray, e2: np.ndarray, *,
                  rr0: float = 1.0, alpha: float = 0.05, sided: int = 2
                  ) -> dict[str, np.ndarray]:
    """Wald test of the log rate ratio (arm 1 / arm 2) with negative-binomial variance.

    Rates are total events over total exposure per arm; the dispersion ``k`` (variance
    ``mu + k mu^2``) is the pooled method-of-moments estimate, truncated at 0. A 0.5
    correction is added to an arm with no events.
    """
    s1, s2 = c1.sum(axis=1), c2.sum(axis=1)
    t1, t2 = e1.sum(axis=1), e2.sum(axis=1)
    s1c = np.where(s1 == 0, 0.5, s1)
    s2c = np.where(s2 == 0, 0.5, s2)
    r1, r2 = s1c / t1, s2c / t2
    mu1, mu2 = r1[:, None] * e1, r2[:, None] * e2
    num = ((c1 - mu1) ** 2 - mu1).sum(axis=1) + ((c2 - mu2) ** 2 - mu2).sum(axis=1)
    den = (mu1**2).sum(axis=1) + (mu2**2).sum(axis=1)
    k = np.maximum(num / den, 0.0)
    v1 = (mu1 + k[:, None] * mu1**2).sum(axis=1) / (r1 * t1) ** 2
    v2 = (mu2 + k[:, None] * mu2**2).sum(axis=1) / (r2 * t2) ** 2
    est = np.log(r1 / r2)
    z = -(est - np.log(rr0)) / np.sqrt(v1 + v2)  # benefit = lower rate in arm 1
    benefit, any_ = _decide(z, alpha, sided)
    return {"reject_benefit": benefit, "reject_any": any_, "estimate": est, "z": z,
            "dispersion": k}


def analyse_survival(time: np.ndarray, event: np.ndarray, group: np.ndarray, *,
                     hr0: float = 1.0, alpha: float = 0.05, sided: int = 2,
                     newton_steps: int = 8) -> dict[str, np.ndarray]:
    """Log-rank test (hr0 = 1) or Cox Wald test of ``HR = hr0``, and the Cox log HR.

    ``group`` is 1 for arm 1 (treatment), 0 for control. Event times are continuous (no
    ties), so the risk-set sums are reverse cumulative sums after sorting each row.
    """
    order = np.argsort(time, axis=1, kind="stable")
    d = np.take_along_axis(event, order, axis=1).astype(float)
    x = np.take_along_axis(group, order, axis=1).astype(float)
    # binary covariate, no ties: the risk set at sorted position i is positions i..N-1, so
    # S0 = n0 + e^b n1 and S1 = e^b n1 with n1, n0 the numbers at risk per arm
    n1 = np.cumsum(x[:, ::-1], axis=1)[:, ::-1]
    n0 = (x.shape[1] - np.arange(x.shape[1]))[None, :] - n1
    observed1 = (d * x).sum(axis=1)

    def score_info(beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        eb = np.exp(beta)[:, None]
        p = n1 * eb
        p /= n0 + p  # n0 + n1 >= 1 at every sorted position
        dp = d * p
        return observed1 - dp.sum(axis=1), (dp - dp * p).sum(axis=1)

    u0, i0 = score_info(np.zeros(time.shape[0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.clip(np.where(i0 > 0, u0 / i0, 0.0), -15.0, 15.0)  # Peto one-step start
    info = i0
    for _ in range(newton_steps):
        u, info = score_info(beta)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(info > 0, u / info, 0.0)
        beta = np.clip(beta + np.clip(step, -2.0, 2.0), -15.0, 15.0)
        if np.all(np.abs(step[np.isfinite(step)]) < 1e-10):
            break
    _, info = score_info(beta)
    with np.errstate(divide="ignore", invalid="ignore"):
        if hr0 == 1.0:
            z = -u0 / np.sqrt(i0)  # log-rank; benefit = fewer events in arm 1
        else:
            z = -(beta - np.log(hr0)) * np.sqrt(info)
    z = np.nan_to_num(z, nan=0.0)
    benefit, any_ = _decide(z, alpha, sided)
    return {"reject_benefit": benefit, "reject_any": any_, "estimate": beta, "z": z,
            "events": d.sum(axis=1)}


def analyse_arms(sc: Any, a1: dict[str, Any], a2: dict[str, Any], n_trials: int,
                 tie_rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """Analyse simulated arms (dicts of per-trial outcome arrays) with the scenario's
    endpoint: proportions, negative-binomial rates or log-rank/Cox. ``tie_rng`` adds a
    deterministic jitter below 1e-6 days to break exact ties (visit-day resolution) before
    the survival analysis."""
    if sc.endpoint == "proportion":
        return analyse_proportions(a1["y"], a2["y"], margin=sc.null, alpha=sc.alpha,
                                   sided=sc.sided, method=sc.method)
    if sc.endpoint == "counts":
        return analyse_rates(a1["count"], a1["exposure"], a2["count"], a2["exposure"],
                             rr0=sc.null, alpha=sc.alpha, sided=sc.sided)
    time_ = np.concatenate([a1["time"], a2["time"]], axis=1)
    event = np.concatenate([a1["event"], a2["event"]], axis=1)
    group = np.concatenate([np.ones((n_trials, sc.n_treatment)),
                            np.zeros((n_trials, sc.n_control))], axis=1)
    if tie_rng is not None:
        time_ = time_ + tie_rng.uniform(0.0, 1e-6, time_.shape)
    return analyse_survival(time_, event, group, hr0=sc.null, alpha=sc.alpha, sided=sc.sided)
