"""Effect sizes for single proportions, with R metafor's conventions.

No maintained Python library computes single-arm proportion effect sizes the way
``metafor::escalc`` does, so they are written here and tested against metafor to 1e-12
(``tests/meta``).

* **PLO** (logit): ``yi = log((x+a)/(n-x+a))``, ``vi = 1/(x+a) + 1/(n-x+a)``, with ``a = 0.5``
  added **only** to studies with a zero cell (``x = 0`` or ``x = n``; metafor ``add=1/2,
  to="only0"``). Back-transform: inverse logit.
* **PFT** (Freeman-Tukey double arcsine, metafor's *halved* version):
  ``yi = 0.5*(asin(sqrt(x/(n+1))) + asin(sqrt((x+1)/(n+1))))``, ``vi = 1/(4n+2)``. It needs no
  zero-cell correction. Back-transform (``transf.ipft``): Miller's (1978) inversion with the
  study's own ``n``; pooled values use the **harmonic mean** of the studies' ``n``
  (``transf.ipft.hm``); values outside the transform's range are clipped to 0 or 1.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from hsctms.errors import ConfigurationError, EstimationError

Measure = Literal["PLO", "PFT"]
MEASURES: tuple[str, ...] = ("PLO", "PFT")


def check_counts(
    events: ArrayLike, n: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate event counts and sample sizes; return them as float arrays."""
    x = np.asarray(events, dtype=float).ravel()
    m = np.asarray(n, dtype=float).ravel()
    if x.shape != m.shape:
        raise EstimationError(f"events ({x.size}) and n ({m.size}) have different lengths.")
    if x.size == 0:
        raise EstimationError("No studies to analyse.", hint="Give at least one study.")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(m))):
        raise EstimationError("events and n must be finite numbers (no missing values).")
    if np.any(m <= 0) or np.any(m != np.round(m)):
        raise EstimationError("Every n must be a whole number > 0.")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise EstimationError("Every event count must be a whole number >= 0.")
    bad = np.flatnonzero(x > m)
    if bad.size:
        raise EstimationError(
            f"events exceed n for study position(s) {', '.join(str(i + 1) for i in bad)}.",
            hint="Check the counts: a study cannot have more events than patients.",
        )
    return x, m


def check_measure(measure: str) -> Measure:
    """Normalise and validate a measure name."""
    key = str(measure).upper()
    if key not in MEASURES:
        raise ConfigurationError(f"Unknown measure {measure!r}.",
                                 hint="Use PLO (logit) or PFT (Freeman-Tukey double arcsine).")
    return key  # type: ignore[return-value]


def escalc(
    measure: str, events: ArrayLike, n: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Effect sizes ``yi`` and sampling variances ``vi`` (metafor ``escalc`` conventions).

    Parameters
    ----------
    measure : {"PLO", "PFT"}
        Logit (0.5 added to zero cells only) or Freeman-Tukey double arcsine (halved).
    events, n : array_like of int
        Event counts and sample sizes per study.

    Returns
    -------
    yi, vi : numpy.ndarray
        Effect sizes and their sampling variances.
    """
    meas = check_measure(measure)
    x, m = check_counts(events, n)
    if meas == "PLO":
        a = np.where((x == 0) | (x == m), 0.5, 0.0)
        xa, na = x + a, m + 2 * a
        return np.log(xa / (na - xa)), 1.0 / xa + 1.0 / (na - xa)
    yi = 0.5 * (np.arcsin(np.sqrt(x / (m + 1))) + np.arcsin(np.sqrt((x + 1) / (m + 1))))
    return yi, 1.0 / (4.0 * m + 2.0)


def pft(p: ArrayLike, n: ArrayLike) -> NDArray[np.float64]:
    """metafor ``transf.pft``: the (halved) double arcsine of a proportion ``p`` at size ``n``."""
    p, n = np.asarray(p, dtype=float), np.asarray(n, dtype=float)
    return np.asarray(0.5 * (np.arcsin(np.sqrt(p * n / (n + 1)))
                             + np.arcsin(np.sqrt((p * n + 1) / (n + 1)))))


def ipft(y: ArrayLike, n: ArrayLike) -> NDArray[np.float64]:
    """metafor ``transf.ipft``: Miller's inversion of the halved double arcsine at size ``n``.

    Parameters
    ----------
    y : array_like
        Values on the PFT scale.
    n : array_like
        Sample size(s), broadcast against ``y``.

    Returns
    -------
    numpy.ndarray
        Proportions in [0, 1] (values outside the transform's range are clipped).
    """
    y = np.asarray(y, dtype=float)
    n = np.broadcast_to(np.asarray(n, dtype=float), y.shape)
    s = np.sin(2 * y)
    with np.errstate(invalid="ignore", divide="ignore"):
        inner = 1 - (s + (s - 1 / s) / n) ** 2
        z = 0.5 * (1 - np.sign(np.cos(2 * y)) * np.sqrt(inner))
    z = np.where(y > pft(1.0, n), 1.0, z)
    z = np.where(y < pft(0.0, n), 0.0, z)
    return np.asarray(z, dtype=float)


def harmonic_mean(n: ArrayLike) -> float:
    """Harmonic mean of the sample sizes (used by ``transf.ipft.hm``).

    Parameters
    ----------
    n : array_like
        Sample sizes (> 0).

    Returns
    -------
    float
        ``1 / mean(1 / n)``.
    """
    m = np.asarray(n, dtype=float)
    return float(1.0 / np.mean(1.0 / m))


def ilogit(y: ArrayLike) -> NDArray[np.float64]:
    """Inverse logit."""
    return np.asarray(special.expit(np.asarray(y, dtype=float)), dtype=float)


def back_transform(measure: str, y: ArrayLike, n: ArrayLike) -> NDArray[np.float64]:
    """Proportion from the transformed scale.

    For PFT, ``n`` is either one size per value (study values) or a scalar (pooled values:
    pass :func:`harmonic_mean` of the studies' n).

    Parameters
    ----------
    measure : {"PLO", "PFT"}
        Scale of ``y``.
    y : array_like
        Values on that scale.
    n : array_like
        Sample size(s); ignored for PLO.

    Returns
    -------
    numpy.ndarray
        Proportions (0-1).
    """
    meas = check_measure(measure)
    if meas == "PLO":
        return ilogit(y)
    return ipft(y, n)


def exact_ci(events: ArrayLike, n: ArrayLike, *,
             level: float = 0.95) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Clopper-Pearson (exact binomial) confidence limits, as R ``binom.test``.

    Parameters
    ----------
    events, n : array_like of int
        Event counts and sample sizes per study.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    lower, upper : numpy.ndarray
        Limits of each study's proportion (0 and 1 at the boundaries).
    """
    x, m = check_counts(events, n)
    alpha = 1.0 - level
    lo = np.where(x == 0, 0.0, stats.beta.ppf(alpha / 2, x, m - x + 1))
    hi = np.where(x == m, 1.0, stats.beta.ppf(1 - alpha / 2, x + 1, m - x))
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
