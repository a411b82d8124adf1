"""Sample size and power for comparing two proportions (e.g. NEDA at 2 years).

Arm 1 is the experimental arm (aHSCT), arm 2 the control. The effect is the risk difference
``p1 - p2``; ``margin`` is the boundary of the null hypothesis (rpact's ``thetaH0``):

* superiority: ``margin = 0``;
* non-inferiority for a "higher is better" outcome such as NEDA: ``margin < 0``
  (H0: p1 - p2 <= margin, H1: p1 - p2 > margin).

Methods (``method=``):

``"score"``
    Null variance from the restricted maximum-likelihood estimates under H0: the pooled
    proportion when ``margin = 0`` and the Farrington-Manning (1990) closed-form cubic
    solution otherwise. This is what rpact ``getSampleSizeRates`` uses (agreement 1e-10).
``"wald"``
    Unpooled variance at the alternative under both hypotheses (closed form).

``continuity=True`` applies the Fleiss, Tytun & Ury (1980) continuity correction, with
unequal allocation. Two-sided tests use ``alpha/2`` in one tail and ignore the opposite tail
(its probability is below ``alpha/2``), so solving for *n* and for power invert each other
exactly, as in rpact.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import stats

from hsctms._provenance import Provenance
from hsctms.design._base import (
    DesignResult,
    brentq_bracket,
    check_alpha,
    check_power,
    check_ratio,
    exactly_one_none,
    z_alpha,
)
from hsctms.design.options import Testing
from hsctms.errors import DesignError

_N = stats.norm
Method = Literal["score", "wald"]
_ALIASES = {"score": "score", "pooled": "score", "fm": "score", "farrington-manning": "score",
            "wald": "wald", "unpooled": "wald"}


def fm_restricted_mle(p1: float, p2: float, margin: float, ratio: float) -> tuple[float, float]:
    """Restricted MLE of ``(p1, p2)`` under H0 ``p1 - p2 = margin``.

    Farrington & Manning (1990) / Miettinen & Nurminen (1985) closed-form root of the
    likelihood cubic, for allocation ``ratio = n1/n2``. With ``margin = 0`` this is the
    pooled proportion ``(ratio*p1 + p2)/(1 + ratio)`` for both arms.

    Parameters
    ----------
    p1, p2 : float
        Observed (or assumed) proportions in the experimental and control arm, in [0, 1].
    margin : float
        The null difference ``p1 - p2``, in (-1, 1).
    ratio : float
        Allocation ``n1/n2`` (> 0).

    Returns
    -------
    tuple of float
        ``(q1, q2)`` with ``q1 - q2 = margin`` (up to clipping to [0, 1]).
    """
    if margin == 0:
        q = (ratio * p1 + p2) / (1 + ratio)
        return q, q
    th = 1 / ratio  # n2/n1
    a = 1 + th
    b = -(1 + th + p1 + th * p2 + margin * (th + 2))
    c = margin**2 + margin * (2 * p1 + th + 1) + p1 + th * p2
    d = -p1 * margin * (1 + margin)
    v = b**3 / (3 * a) ** 3 - b * c / (6 * a**2) + d / (2 * a)
    u = math.copysign(math.sqrt(max(b**2 / (3 * a) ** 2 - c / (3 * a), 0.0)), v)
    if v == 0 or u == 0:
        w = math.pi / 2
    else:
        w = (math.pi + math.acos(float(np.clip(v / u**3, -1.0, 1.0)))) / 3
    q1 = min(max(0.0, 2 * u * math.cos(w) - b / (3 * a)), 1.0)
    q2 = min(max(0.0, q1 - margin), 1.0)
    return q1, q2


def _sds(p1: float, p2: float, margin: float, ratio: float, method: str) -> tuple[float, float]:
    f1, f2 = ratio / (1 + ratio), 1 / (1 + ratio)
    sd1 = math.sqrt(p1 * (1 - p1) / f1 + p2 * (1 - p2) / f2)
    if method == "wald":
        return sd1, sd1
    q1, q2 = fm_restricted_mle(p1, p2, margin, ratio)
    return math.sqrt(q1 * (1 - q1) / f1 + q2 * (1 - q2) / f2), sd1


def _cc_constant(delta: float, ratio: float) -> float:
    # Fleiss et al. (1980): n2' = n2/4 (1 + sqrt(1 + 2(r+1)/(r n2 |d|)))^2, r = n1/n2
    return 2 * (ratio + 1) / (ratio * abs(delta))


def power_two_proportions(p1: float, p2: float, n_total: float, *, alpha: float = 0.05,
                          sided: int = 2, margin: float = 0.0, ratio: float = 1.0,
                          method: str = "score", continuity: bool = False) -> float:
    """Power (one tail) of the two-proportion z-test with ``n_total`` patients.

    Parameters
    ----------
    p1, p2 : float
        Proportions in the experimental and control arm under the alternative.
    n_total : float
        Total patients (both arms; real numbers allowed).
    alpha : float, default 0.05
        Significance level.
    sided : {2, 1}, default 2
        Two-sided (``alpha/2`` per tail) or one-sided test.
    margin : float, default 0.0
        Null boundary for ``p1 - p2`` (0 superiority; negative for non-inferiority of a
        "higher is better" outcome).
    ratio : float, default 1.0
        Allocation ``n1/n2`` (treatment : control).
    method : {"score", "wald"}, default "score"
        Null variance at the restricted MLE (``"score"``) or unpooled (``"wald"``); aliases
        are resolved by :func:`two_proportions`, not here.
    continuity : bool, default False
        Fleiss, Tytun & Ury (1980) continuity correction.

    Returns
    -------
    float
        Probability of rejecting on the side of the effect; ``alpha/sided`` when
        ``p1 - p2`` equals the margin.
    """
    delta = abs(p1 - p2 - margin)
    if delta == 0:
        return alpha / sided
    sd0, sd1 = _sds(p1, p2, margin, ratio, method)
    n = n_total
    if continuity:
        n2p = n_total / (1 + ratio)
        c = _cc_constant(delta, ratio)
        n2 = (4 * n2p - c) ** 2 / (16 * n2p) if 4 * n2p > c else 0.0
        n = n2 * (1 + ratio)
    za = z_alpha(alpha, sided)
    return float(_N.cdf((delta * math.sqrt(max(n, 0.0)) - za * sd0) / sd1))


def opposite_tail(p1: float, p2: float, n_total: float, *, alpha: float = 0.05,
                  sided: int = 2, margin: float = 0.0, ratio: float = 1.0,
                  method: str = "score", continuity: bool = False) -> float:
    """Probability of rejecting in the wrong direction (two-sided tests; 0 when one-sided).

    ``power + opposite_tail`` is the probability of any rejection, as reported by rpact
    ``getPowerRates`` for two-sided tests.

    Parameters
    ----------
    p1, p2 : float
        Proportions in the experimental and control arm under the alternative.
    n_total : float
        Total patients (both arms; real numbers allowed).
    alpha : float, default 0.05
        Significance level.
    sided : {2, 1}, default 2
        Two-sided (``alpha/2`` per tail) or one-sided test.
    margin : float, default 0.0
        Null boundary for ``p1 - p2`` (0 superiority; negative for non-inferiority of a
        "higher is better" outcome).
    ratio : float, default 1.0
        Allocation ``n1/n2`` (treatment : control).
    method : {"score", "wald"}, default "score"
        Null variance at the restricted MLE (``"score"``) or unpooled (``"wald"``); aliases
        are resolved by :func:`two_proportions`, not here.
    continuity : bool, default False
        Fleiss, Tytun & Ury (1980) continuity correction.

    Returns
    -------
    float
        Probability that the z-statistic crosses the bound on the side opposite to the
        effect (0 for one-sided tests).
    """
    if sided == 1:
        return 0.0
    delta = abs(p1 - p2 - margin)
    sd0, sd1 = _sds(p1, p2, margin, ratio, method)
    n = n_total
    if continuity and delta > 0:
        n2p = n_total / (1 + ratio)
        c = _cc_constant(delta, ratio)
        n = ((4 * n2p - c) ** 2 / (16 * n2p) if 4 * n2p > c else 0.0) * (1 + ratio)
    za = z_alpha(alpha, sided)
    return float(_N.cdf((-delta * math.sqrt(max(n, 0.0)) - za * sd0) / sd1))


def n_two_proportions(p1: float, p2: float, power: float, *, alpha: float = 0.05,
                      sided: int = 2, margin: float = 0.0, ratio: float = 1.0,
                      method: str = "score", continuity: bool = False) -> float:
    """Total sample size (real number, both arms) for the requested power.

    Parameters
    ----------
    p1, p2 : float
        Proportions in the experimental and control arm under the alternative.
    power : float
        Requested power, in ``(alpha/sided, 1)``.
    alpha : float, default 0.05
        Significance level.
    sided : {2, 1}, default 2
        Two-sided (``alpha/2`` per tail) or one-sided test.
    margin : float, default 0.0
        Null boundary for ``p1 - p2`` (0 superiority; negative for non-inferiority of a
        "higher is better" outcome).
    ratio : float, default 1.0
        Allocation ``n1/n2`` (treatment : control).
    method : {"score", "wald"}, default "score"
        Null variance at the restricted MLE (``"score"``) or unpooled (``"wald"``); aliases
        are resolved by :func:`two_proportions`, not here.
    continuity : bool, default False
        Fleiss, Tytun & Ury (1980) continuity correction.

    Returns
    -------
    float
        Total patients, not rounded (continuity-corrected when asked).

    Raises
    ------
    DesignError
        When ``p1 - p2`` equals the margin.
    """
    delta = abs(p1 - p2 - margin)
    if delta == 0:
        raise DesignError("p1 - p2 equals the margin: no sample size gives power above alpha.",
                          hint="Change p1, p2 or the margin.")
    sd0, sd1 = _sds(p1, p2, margin, ratio, method)
    n = ((z_alpha(alpha, sided) * sd0 + float(_N.ppf(power)) * sd1) / delta) ** 2
    if continuity:
        n2 = n / (1 + ratio)
        c = _cc_constant(delta, ratio)
        n2 = n2 / 4 * (1 + math.sqrt(1 + c / n2)) ** 2
        n = n2 * (1 + ratio)
    return float(n)


def _check_p(name: str, p: float | None) -> None:
    if p is not None and not 0 < p < 1:
        raise DesignError(f"{name} must lie strictly between 0 and 1, got {p!r}.",
                          hint="Give proportions as fractions, e.g. 0.8 for 80%.")


# complexity over 10 kept: argument checks and the solve-for dispatch of the rpact-checked design
def two_proportions(  # noqa: C901
    p1: float | None,
    p2: float | None,
    *,
    n: float | None = None,
    power: float | None = None,
    testing: Testing | None = None,
    ratio: float = 1.0,
    method: str = "score",
    continuity: bool = False,
) -> DesignResult:
    """Solve a two-proportion design for whichever of ``p1``, ``p2``, ``n``, ``power`` is None.

    Parameters
    ----------
    p1, p2 : float or None
        Proportions in the experimental (1) and control (2) arm under the alternative,
        strictly between 0 and 1 (e.g. NEDA at 2 years 0.8 vs 0.4).
    n : float, optional
        Total number of patients (both arms), > 0.
    power : float, optional
        Power, in ``(alpha/sided, 1)``.
    testing : Testing, optional
        Level, sidedness, null boundary ``margin`` for ``p1 - p2`` (0 when not given:
        superiority; e.g. -0.10 non-inferiority for NEDA, in (-1, 1)) and the direction
        ``alternative`` of H1 (``"greater"``: ``p1 - p2 > margin``). The direction is
        inferred when not given: from ``p1 - p2 - margin`` if both proportions are given,
        else from the sign of the margin (negative -> greater, positive -> less), else
        ``"greater"``. Default ``Testing()``: two-sided alpha 0.05, superiority.
    ratio : float, default 1.0
        Allocation ``n1/n2`` (treatment : control), as rpact's ``allocationRatioPlanned``.
    method : str, default "score"
        ``"score"`` (pooled / Farrington-Manning restricted MLE; aliases ``"pooled"``,
        ``"fm"``, ``"farrington-manning"``) or ``"wald"`` (unpooled; alias ``"unpooled"``).
    continuity : bool, default False
        Apply the Fleiss, Tytun & Ury (1980) continuity correction.

    Returns
    -------
    DesignResult
        ``effect`` is ``p1 - p2``; ``extra`` holds ``p1``, ``p2``, restricted MLEs and the
        per-arm sizes.

    Raises
    ------
    DesignError
        When not exactly one of ``p1``, ``p2``, ``n``, ``power`` is None, a value is out of
        range, or the proportions are on the wrong side of the margin.

    Examples
    --------
    >>> r = two_proportions(0.8, 0.4, power=0.8)          # COAST-type NEDA assumption
    >>> round(r.n2, 1)
    22.3
    >>> ni = two_proportions(0.32, 0.32, power=0.8,
    ...                      testing=Testing(alpha=0.025, sided=1, margin=-0.10))
    >>> ni.n2_ceil
    341
    """
    testing = Testing() if testing is None else testing
    if not isinstance(testing, Testing):
        raise DesignError(f"testing must be a Testing, got {testing!r}.",
                          hint="E.g. testing=Testing(alpha=0.025, sided=1, margin=-0.10).")
    alpha, sided, alternative = testing.alpha, testing.sided, testing.alternative
    margin = testing.null(0.0)
    target = exactly_one_none(p1=p1, p2=p2, n=n, power=power)
    check_alpha(alpha, sided)
    check_ratio(ratio)
    _check_p("p1", p1)
    _check_p("p2", p2)
    meth = _ALIASES.get(method.lower())
    if meth is None:
        raise DesignError(f"Unknown method {method!r}.", hint="Use 'score' (pooled/FM) or 'wald'.")
    if not -1 < margin < 1:
        raise DesignError(f"margin must lie in (-1, 1), got {margin!r}.")
    if power is not None:
        check_power(power, alpha, sided)
    if n is not None and not n > 0:
        raise DesignError(f"n must be positive, got {n!r}.")
    kw = {"alpha": alpha, "sided": sided, "margin": margin, "ratio": ratio, "method": meth,
          "continuity": continuity}
    if alternative is None:
        if p1 is not None and p2 is not None:
            alternative = "greater" if p1 - p2 - margin >= 0 else "less"
        else:
            alternative = "less" if margin > 0 else "greater"
    sign = 1.0 if alternative == "greater" else -1.0
    if target == "n":
        assert p1 is not None and p2 is not None and power is not None
        if sign * (p1 - p2 - margin) <= 0:
            raise DesignError(
                f"p1 - p2 = {p1 - p2:+.4g} is not on the {alternative} side of the margin "
                f"{margin:+.4g}.", hint="Check the direction of the margin and of p1, p2.")
        n = n_two_proportions(p1, p2, power, **kw)  # type: ignore[arg-type]
    elif target == "power":
        assert p1 is not None and p2 is not None and n is not None
        power = power_two_proportions(p1, p2, n, **kw)  # type: ignore[arg-type]
    elif target == "p1":
        assert p2 is not None and n is not None and power is not None
        lo, hi = (p2 + margin, 1.0) if sign > 0 else (0.0, p2 + margin)
        lo, hi = min(max(lo, 1e-9), 1 - 1e-9), min(max(hi, 1e-9), 1 - 1e-9)
        p1 = brentq_bracket(
            lambda x: power_two_proportions(x, p2, n, **kw) - power,  # type: ignore[arg-type]
            lo + 1e-9, hi, "p1")
    else:
        assert p1 is not None and n is not None and power is not None
        lo, hi = (0.0, p1 - margin) if sign > 0 else (p1 - margin, 1.0)
        lo, hi = min(max(lo, 1e-9), 1 - 1e-9), min(max(hi, 1e-9), 1 - 1e-9)
        p2 = brentq_bracket(
            lambda x: power_two_proportions(p1, x, n, **kw) - power,  # type: ignore[arg-type]
            lo, hi - 1e-9, "p2")
    assert p1 is not None and p2 is not None and n is not None and power is not None
    q1, q2 = fm_restricted_mle(p1, p2, margin, ratio) if meth == "score" else (p1, p2)
    p1v, p2v = float(p1), float(p2)

    def power_fn(nn: float) -> float:
        return power_two_proportions(p1v, p2v, nn, **kw)  # type: ignore[arg-type]

    inputs = {"p1": p1v, "p2": p2v, "margin": margin, "ratio": ratio, "alpha": alpha,
              "sided": sided, "method": meth, "continuity": continuity,
              "alternative": alternative}
    return DesignResult(
        kind="two_proportions", method=meth + ("+cc" if continuity else ""), solved_for=target,
        n_total=float(n), n1=float(n) * ratio / (1 + ratio), n2=float(n) / (1 + ratio),
        power=float(power), effect=p1v - p2v, alpha=alpha, sided=sided, inputs=inputs,
        extra={"p1": p1v, "p2": p2v, "restricted_mle": [q1, q2],
               "power_any_direction": float(power) + opposite_tail(
                   p1v, p2v, float(n), **kw),  # type: ignore[arg-type]
               "hypotheses": f"H0: p1 - p2 {'<=' if sign > 0 else '>='} {margin:g}"},
        power_fn=power_fn,
        provenance=Provenance("design.two_proportions", definition=inputs,
                              n=math.ceil(float(n) - 1e-9)),
    )
