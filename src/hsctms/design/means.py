"""Sample size and power for comparing two means (e.g. EDSS change from baseline), fixed or
group-sequential, as rpact ``getSampleSizeMeans`` / ``getPowerMeans``.

Arm 1 is the experimental arm (aHSCT), arm 2 the control; the effect is the difference of
means ``mu1 - mu2`` with a common standard deviation ``sd``; ``ratio = n1/n2`` (rpact's
``allocationRatioPlanned``) and the null value is ``Testing.margin`` (rpact's ``thetaH0``; a
non-inferiority margin, 0 for no difference).

Test statistic and its distribution (rpact's conventions):

* ``normal_approximation=False`` (the default, as rpact): the two-sample t-test. The fixed
  size solves ``P(T_{n-2, ncp} < t_{1-a/s, n-2}) = beta`` with the non-central t,
  ``ncp = sqrt(n2 r / (1 + r)) |delta - margin| / sd``;
* ``normal_approximation=True``: ``n = (1+r)^2 / r (z_{1-a/s} + z_{1-b})^2 sd^2 /
  (delta - margin)^2``.

Two-sided tests use ``alpha/2`` in one tail for the sample size (rpact
``twoSidedPower = FALSE``). A group-sequential design multiplies the fixed size by the
inflation factor of its :class:`~hsctms.design.gsd.GroupSequentialDesign` (rpact
``.getSampleSizeSequentialMeans``). Power of a given size follows ``getPowerMeans``: the
standardised drift ``sqrt(n r) / (1 + r) (delta - margin) / sd``; with the t distribution it is
replaced by the normal drift giving the same single-stage power,
``z_{1-a/s} - Phi^{-1}(P(T_{n-2, ncp} < t_{1-a/s, n-2}))``, and the group-sequential (or
single-stage) rejection probability is computed for that drift.
"""

from __future__ import annotations

import math

from scipy import optimize, stats

from hsctms._provenance import Provenance
from hsctms.design._base import (
    DesignResult,
    brentq_bracket,
    check_power,
    check_ratio,
    exactly_one_none,
    z_alpha,
)
from hsctms.design.gsd import GroupSequentialDesign, group_sequential
from hsctms.design.options import Testing
from hsctms.errors import DesignError

__all__ = ["two_means"]

_N = stats.norm


def _t_beta(n_total: float, std_effect: float, alpha: float, sided: int) -> float:
    """Single-stage type II error of the t-test: ``P(T_{df, ncp} < t_crit)``."""
    df = max(0.001, n_total - 2)
    crit = stats.t.isf(alpha / sided, df)
    return float(stats.nct.cdf(crit, df, std_effect * math.sqrt(n_total)))


def _fixed_n(std_effect: float, power: float, alpha: float, sided: int,
             normal: bool) -> float:
    """Total size of the fixed design; ``std_effect = sqrt(r)/(1+r) |delta - margin| / sd``."""
    zsum = z_alpha(alpha, sided) + float(_N.isf(1 - power))
    n_normal = (zsum / std_effect) ** 2
    if normal:
        return n_normal
    beta = 1 - power

    def gap(n: float) -> float:
        return _t_beta(n, std_effect, alpha, sided) - beta

    hi = max(4.0, 2 * n_normal + 10)
    while gap(hi) > 0:
        hi *= 2
    return float(optimize.brentq(gap, 2.001, hi, xtol=1e-12, rtol=1e-15, maxiter=500))


def _drift(n_total: float, std_effect: float, alpha: float, sided: int, normal: bool) -> float:
    """Normal drift ``E[Z]`` at ``n_total`` (rpact's ``thetaAdj * sqrt(n)`` with the t)."""
    if normal or std_effect == 0:
        return std_effect * math.sqrt(n_total)
    sgn = 1.0 if std_effect > 0 else -1.0
    df = max(0.001, n_total - 2)
    crit = stats.t.isf(alpha / sided, df)
    p = stats.nct.cdf(sgn * crit, df, std_effect * math.sqrt(n_total))
    return float(sgn * _N.isf(alpha / sided) - _N.ppf(p))


def _rejection(design: GroupSequentialDesign, drift: float) -> tuple[float, float, float]:
    """(rejection on the effect's side, any rejection, expected fraction of n_max)."""
    from hsctms.design.gsd import _run_h1

    up, down, _ = _run_h1(design.info_rates, design.efficacy, drift, design.sided,
                          design.grid_points, design.futility)
    return float(up.sum()), float(up.sum() + down.sum()), design.expected_fraction(drift)


def _check(testing: Testing | None, *, sd: float, n: float | None, power: float | None,
           design: GroupSequentialDesign | None) -> Testing:
    testing = Testing() if testing is None else testing
    if not isinstance(testing, Testing):
        raise DesignError(f"testing must be a Testing, got {testing!r}.",
                          hint="E.g. testing=Testing(alpha=0.025, sided=1, margin=0.3).")
    if not (isinstance(sd, int | float) and math.isfinite(sd) and sd > 0):
        raise DesignError(f"sd must be a positive number, got {sd!r}.",
                          hint="Give the standard deviation of the outcome, e.g. 1.2 EDSS.")
    if power is not None:
        check_power(power, testing.alpha, testing.sided)
    if n is not None and not n > 2:
        raise DesignError(f"n must exceed 2, got {n!r}.")
    if design is not None and (design.alpha != testing.alpha or design.sided != testing.sided):
        raise DesignError("testing and design disagree on alpha or sidedness.",
                          hint=f"Use Testing(alpha={design.alpha}, sided={design.sided}).")
    return testing


def two_means(
    difference: float | None,
    *,
    sd: float = 1.0,
    n: float | None = None,
    power: float | None = None,
    testing: Testing | None = None,
    ratio: float = 1.0,
    normal_approximation: bool = False,
    design: GroupSequentialDesign | None = None,
) -> DesignResult:
    """Solve a two-means design for whichever of ``difference``, ``n``, ``power`` is None.

    Parameters
    ----------
    difference : float or None
        The difference of means ``mu1 - mu2`` under the alternative (rpact
        ``alternative``), e.g. ``-0.5`` EDSS points of change from baseline with aHSCT.
    sd : float, default 1.0
        Common standard deviation (rpact ``stDev``), > 0.
    n : float, optional
        Total patients (both arms; for a group-sequential design the maximum), > 2.
    power : float, optional
        Power, in ``(alpha/sided, 1)``.
    testing : Testing, optional
        Level, sidedness, null value ``margin`` for ``mu1 - mu2`` (rpact ``thetaH0``; 0 when
        not given) and the direction ``alternative`` of H1 (``"greater"``:
        ``mu1 - mu2 > margin``; inferred from ``difference - margin`` when None, else
        ``"greater"``). Default ``Testing()``: two-sided 0.05, no difference. With a
        ``design`` its level and sidedness must be the design's.
    ratio : float, default 1.0
        Allocation ``n1/n2`` (treatment : control).
    normal_approximation : bool, default False
        Normal (z) instead of the t-test (rpact ``normalApproximation``, default FALSE).
    design : GroupSequentialDesign, optional
        Group-sequential plan (rpact ``design``): the size is the fixed size times its
        inflation factor (so a size is solved for ``power = 1 - design.beta`` only, as in
        rpact), the power is its rejection probability. None: a fixed design.

    Returns
    -------
    DesignResult
        ``kind = "two_means"``; ``effect`` is ``mu1 - mu2``; ``power`` counts rejections on
        the side of the effect; ``extra`` holds ``sd``, ``n_fixed`` (the fixed-design size),
        ``power_any_direction`` (rpact ``overallReject``) and, with a ``design``, the
        cumulative ``stage_sizes`` and expected sizes under H1 and H0.

    Raises
    ------
    DesignError
        When not exactly one of ``difference``, ``n``, ``power`` is None, a value is out of
        range, the difference equals the margin, or ``testing`` disagrees with ``design``.

    Examples
    --------
    >>> r = two_means(0.5, sd=1.2, power=0.8, testing=Testing(alpha=0.025, sided=1), ratio=2)
    >>> round(r.n_total, 3)
    205.381
    """
    testing = _check(testing, sd=sd, n=n, power=power, design=design)
    alpha, sided = testing.alpha, testing.sided
    margin = testing.null(0.0)
    target = exactly_one_none(difference=difference, n=n, power=power)
    check_ratio(ratio)
    plan = design if design is not None else group_sequential([1.0], alpha=alpha, sided=sided)
    alternative = testing.alternative
    if alternative is None:
        alternative = ("less" if difference is not None and difference - margin < 0
                       else "greater")
    sign = 1.0 if alternative == "greater" else -1.0
    scale = math.sqrt(ratio) / (1 + ratio) / sd
    normal = normal_approximation

    def power_at(nn: float, diff: float) -> tuple[float, float, float]:
        return _rejection(plan, _drift(nn, sign * scale * (diff - margin), alpha, sided,
                                       normal))

    if target == "n":
        assert difference is not None and power is not None
        if difference == margin:
            raise DesignError("The difference equals the margin: no sample size gives power "
                              "above alpha.", hint="Change the difference or the margin.")
        if design is not None and abs(power - (1 - design.beta)) > 1e-12:
            raise DesignError(f"power {power:g} differs from the design's 1 - beta = "
                              f"{1 - design.beta:g} (its inflation factor is for that power).",
                              hint="Build the group-sequential design with beta = 1 - power.")
        n_fixed = _fixed_n(scale * abs(difference - margin), power, alpha, sided, normal)
        n = n_fixed * plan.inflation_factor
    elif target == "power":
        assert difference is not None and n is not None
        n_fixed = n / plan.inflation_factor
        power = power_at(n, difference)[0]
    else:
        assert n is not None and power is not None
        n_fixed = n / plan.inflation_factor
        nn, pw = n, power
        difference = margin + sign * brentq_bracket(
            lambda x: power_at(nn, margin + sign * x)[0] - pw, 1e-9 * sd, 50 * sd,
            "difference")
    assert difference is not None and n is not None and power is not None
    diff = float(difference)
    _, any_side, frac = power_at(float(n), diff)
    inputs = {"difference": diff, "sd": float(sd), "margin": margin, "ratio": ratio,
              "alpha": alpha, "sided": sided, "alternative": alternative,
              "normal_approximation": normal,
              "design": None if design is None else design.to_dict()["provenance"]}
    extra: dict[str, object] = {
        "sd": float(sd), "n_fixed": float(n_fixed), "power_any_direction": any_side,
        "hypotheses": f"H0: mu1 - mu2 {'<=' if sign > 0 else '>='} {margin:g}"}
    if design is not None:
        extra.update({"stage_sizes": (design.info_rates * float(n)).tolist(),
                      "expected_n": float(n) * frac,
                      "expected_n_h1": float(n_fixed) * design.expected_n_h1,
                      "expected_n_h0": float(n_fixed) * design.expected_n_h0,
                      "inflation_factor": design.inflation_factor,
                      "gsd_summary": design.summary})

    def power_fn(nn: float) -> float:
        return power_at(nn, diff)[0]

    return DesignResult(
        kind="two_means", method=("z" if normal else "t") + ("" if design is None else "+gsd"),
        solved_for=target, n_total=float(n), n1=float(n) * ratio / (1 + ratio),
        n2=float(n) / (1 + ratio), power=float(power), effect=diff, alpha=alpha, sided=sided,
        inputs=inputs, extra=extra, power_fn=power_fn,
        provenance=Provenance("design.two_means", definition=inputs,
                              n=math.ceil(float(n) - 1e-9)),
    )
