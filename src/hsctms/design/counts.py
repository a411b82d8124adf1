"""Sample size and power for comparing two negative-binomial event rates (e.g. relapses).

Zhu & Lakkis (2014, Stat Med 33:376-387), "Sample size calculation for comparing two negative
binomial rates". With control rate ``rate2`` per unit time, treatment rate
``rate1 = RR * rate2``, mean exposure ``t`` per patient, dispersion ``k`` (variance
``mu + k mu^2``) and allocation ``r = n1/n2``, the test of ``log RR = log RR0`` has

* ``V1 = (1/t)(1/rate2 + 1/(r rate1)) + (1 + r) k / r``  (variance at the alternative)
* ``V0`` (variance under H0), three choices (``null_variance=``):

  - ``"alternative"``: ``V0 = V1`` (Z&L method 1; Keene et al. 2007);
  - ``"control"``: both rates equal the control rate,
    ``V0 = (1/t)(1 + r)/(r rate2) + (1 + r) k / r`` (Z&L method 2);
  - ``"restricted"``: both rates equal the exposure-weighted pooled rate
    ``(rate2 + r rate1)/(1 + r)``, ``V0 = (1/t)(1 + r)^2/(r (rate2 + r rate1)) + (1 + r) k/r``
    (Z&L method 3; superiority only).

and ``n2 = (z_a sqrt(V0) + z_b sqrt(V1))^2 / (log RR - log RR0)^2``, ``n1 = r n2``.

rpact 3.3.4 (the R reference installed here) predates ``getSampleSizeCounts``; these formulas
are therefore checked by simulation (:mod:`hsctms.design.simulate`, negative-binomial
counts analysed with a Wald test of the log rate ratio) and against hand values.
"""

from __future__ import annotations

import math

from scipy import stats

from hsctms._provenance import Provenance
from hsctms.design._base import (
    DesignResult,
    check_alpha,
    check_power,
    check_ratio,
    exactly_one_none,
    solve_ratio_effect,
    z_alpha,
)
from hsctms.design.options import CountModel, Testing
from hsctms.errors import DesignError

_N = stats.norm
NULL_VARIANCES = ("alternative", "control", "restricted")


def _variances(rate1: float, rate2: float, exposure: float, dispersion: float, ratio: float,
               null_variance: str) -> tuple[float, float]:
    extra = (1 + ratio) * dispersion / ratio
    v1 = (1 / exposure) * (1 / rate2 + 1 / (ratio * rate1)) + extra
    if null_variance == "alternative":
        v0 = v1
    elif null_variance == "control":
        v0 = (1 / exposure) * (1 + ratio) / (ratio * rate2) + extra
    else:
        v0 = (1 / exposure) * (1 + ratio) ** 2 / (ratio * (rate2 + ratio * rate1)) + extra
    return v0, v1


def power_counts(rate1: float, rate2: float, n_total: float, *, exposure: float = 1.0,
                 dispersion: float = 0.0, rr0: float = 1.0, alpha: float = 0.05,
                 sided: int = 2, ratio: float = 1.0, null_variance: str = "alternative") -> float:
    """Power (one tail) of the Wald/score test of the rate ratio with ``n_total`` patients.

    Parameters
    ----------
    rate1, rate2 : float
        Event rates per unit time in the treatment and control arm (> 0).
    n_total : float
        Total patients (both arms; real numbers allowed).
    exposure : float, default 1.0
        Mean exposure per patient (> 0), in the rates' time unit.
    dispersion : float, default 0.0
        Negative-binomial dispersion ``k`` (>= 0; variance ``mu + k mu^2``).
    rr0 : float, default 1.0
        Null rate ratio (> 0).
    alpha : float, default 0.05
        Significance level.
    sided : {2, 1}, default 2
        Two-sided (``alpha/2`` per tail) or one-sided test.
    ratio : float, default 1.0
        Allocation ``n1/n2`` (treatment : control).
    null_variance : {"alternative", "control", "restricted"}, default "alternative"
        Variance under H0 (Zhu & Lakkis methods 1-3).

    Returns
    -------
    float
        ``Phi((|log RR - log RR0| sqrt(n2) - z_{alpha/sided} sqrt(V0)) / sqrt(V1))``.
    """
    v0, v1 = _variances(rate1, rate2, exposure, dispersion, ratio, null_variance)
    n2 = n_total / (1 + ratio)
    signal = abs(math.log(rate1 / rate2) - math.log(rr0))
    return float(_N.cdf((signal * math.sqrt(max(n2, 0.0)) - z_alpha(alpha, sided) * math.sqrt(v0))
                        / math.sqrt(v1)))


def n_counts(rate1: float, rate2: float, power: float, *, exposure: float = 1.0,
             dispersion: float = 0.0, rr0: float = 1.0, alpha: float = 0.05, sided: int = 2,
             ratio: float = 1.0, null_variance: str = "alternative") -> float:
    """Total sample size (real) for the requested power.

    Parameters
    ----------
    rate1, rate2 : float
        Event rates per unit time in the treatment and control arm (> 0).
    power : float
        Requested power, in ``(alpha/sided, 1)``.
    exposure : float, default 1.0
        Mean exposure per patient (> 0), in the rates' time unit.
    dispersion : float, default 0.0
        Negative-binomial dispersion ``k`` (>= 0; variance ``mu + k mu^2``).
    rr0 : float, default 1.0
        Null rate ratio (> 0).
    alpha : float, default 0.05
        Significance level.
    sided : {2, 1}, default 2
        Two-sided (``alpha/2`` per tail) or one-sided test.
    ratio : float, default 1.0
        Allocation ``n1/n2`` (treatment : control).
    null_variance : {"alternative", "control", "restricted"}, default "alternative"
        Variance under H0 (Zhu & Lakkis methods 1-3).

    Returns
    -------
    float
        Total patients ``n2 (1 + ratio)``, not rounded.

    Raises
    ------
    DesignError
        When the rate ratio equals its null value.
    """
    v0, v1 = _variances(rate1, rate2, exposure, dispersion, ratio, null_variance)
    signal = abs(math.log(rate1 / rate2) - math.log(rr0))
    if signal == 0:
        raise DesignError("The rate ratio equals its null value: no sample size suffices.")
    n2 = ((z_alpha(alpha, sided) * math.sqrt(v0) + float(_N.ppf(power)) * math.sqrt(v1))
          / signal) ** 2
    return n2 * (1 + ratio)


def counts_design(
    rate1: float | None,
    rate2: float,
    *,
    n: float | None = None,
    power: float | None = None,
    testing: Testing | None = None,
    ratio: float = 1.0,
    model: CountModel | None = None,
    null_variance: str = "alternative",
) -> DesignResult:
    """Solve a negative-binomial rate design for whichever of ``rate1``, ``n``, ``power`` is None.

    Parameters
    ----------
    rate1 : float or None
        Event rate per unit time in the treatment arm (> 0), e.g. an annualised relapse
        rate; None to solve for the detectable rate (below ``rate2`` times the null ratio).
    rate2 : float
        Event rate per unit time in the control arm (> 0).
    n : float, optional
        Total number of patients (both arms).
    power : float, optional
        Power, in ``(alpha/sided, 1)``.
    testing : Testing, optional
        Level, sidedness and null rate ratio ``margin`` (1 when not given: superiority;
        > 1 a non-inferiority margin for a harmful-event rate). The rate design solves on
        the benefit side, so ``alternative`` may only be None or ``"less"``. Default
        ``Testing()``: two-sided alpha 0.05, superiority.
    ratio : float, default 1.0
        Allocation ``n1/n2`` (treatment : control).
    model : CountModel, optional
        Mean exposure per patient (in the rates' time unit) and negative-binomial
        dispersion. Default ``CountModel()``: exposure 1, Poisson counts.
    null_variance : {"alternative", "control", "restricted"}, default "alternative"
        Variance of the log rate ratio under H0 (Zhu & Lakkis methods 1-3; see the module
        docstring); ``"restricted"`` is for superiority only.

    Returns
    -------
    DesignResult
        ``kind="counts"``; ``effect`` is the rate ratio ``rate1 / rate2``; ``extra`` holds
        ``rate_ratio`` and the variances ``v0`` (null) and ``v1`` (alternative).

    Raises
    ------
    DesignError
        When not exactly one of ``rate1``, ``n``, ``power`` is None or an input is out of
        range.

    Examples
    --------
    >>> from hsctms.design import CountModel
    >>> r = counts_design(0.2, 0.4, power=0.8, model=CountModel(exposure=2, dispersion=0.8))
    >>> r.n_total_ceil > 0
    True
    """
    testing = Testing() if testing is None else testing
    model = CountModel() if model is None else model
    if not isinstance(testing, Testing) or not isinstance(model, CountModel):
        raise DesignError("testing must be a Testing and model a CountModel.",
                          hint="E.g. testing=Testing(alpha=0.025, sided=1), "
                               "model=CountModel(exposure=2, dispersion=0.8).")
    if testing.alternative == "greater":
        raise DesignError("The rate-ratio design solves on the benefit side (rate ratio below "
                          "the null); alternative='greater' is not supported.",
                          hint="Leave alternative out (or 'less'); for harm, swap the arms.")
    alpha, sided, rr0 = testing.alpha, testing.sided, testing.null(1.0)
    exposure, dispersion = model.exposure, model.dispersion
    target = exactly_one_none(rate1=rate1, n=n, power=power)
    check_alpha(alpha, sided)
    check_ratio(ratio)
    if null_variance not in NULL_VARIANCES:
        raise DesignError(f"Unknown null_variance {null_variance!r}.",
                          hint=f"Use one of {NULL_VARIANCES}.")
    if null_variance == "restricted" and rr0 != 1:
        raise DesignError("null_variance='restricted' is for superiority (null rate ratio 1) "
                          "only.",
                          hint="Use null_variance='alternative' for a non-inferiority margin.")
    if rate2 <= 0 or (rate1 is not None and rate1 <= 0) or rr0 <= 0:
        raise DesignError("Rates and the null rate ratio must be positive.",
                          hint="Give event rates per unit time, e.g. 0.4 relapses per year.")
    if power is not None:
        check_power(power, alpha, sided)
    kw = {"exposure": exposure, "dispersion": dispersion, "rr0": rr0, "alpha": alpha,
          "sided": sided, "ratio": ratio, "null_variance": null_variance}
    if target == "n":
        assert rate1 is not None and power is not None
        n = n_counts(rate1, rate2, power, **kw)  # type: ignore[arg-type]
    elif target == "power":
        assert rate1 is not None and n is not None
        power = power_counts(rate1, rate2, n, **kw)  # type: ignore[arg-type]
    else:
        assert n is not None and power is not None
        nn, pw = n, power
        rate1 = rate2 * solve_ratio_effect(
            lambda rr: power_counts(rr * rate2, rate2, nn, **kw) - pw,  # type: ignore[arg-type]
            rr0, "rate ratio")
    assert rate1 is not None and n is not None and power is not None
    r1 = float(rate1)

    def power_fn(nn: float) -> float:
        return power_counts(r1, rate2, nn, **kw)  # type: ignore[arg-type]

    inputs = {"rate1": r1, "rate2": rate2, "exposure": exposure, "dispersion": dispersion,
              "rr0": rr0, "alpha": alpha, "sided": sided, "ratio": ratio,
              "null_variance": null_variance}
    v0, v1 = _variances(r1, rate2, exposure, dispersion, ratio, null_variance)
    return DesignResult(
        kind="counts", method=f"negative-binomial ({null_variance} null variance)",
        solved_for="rate1" if target == "rate1" else target,
        n_total=float(n), n1=float(n) * ratio / (1 + ratio), n2=float(n) / (1 + ratio),
        power=float(power), effect=r1 / rate2, alpha=alpha, sided=sided, inputs=inputs,
        extra={"rate_ratio": r1 / rate2, "v0": v0, "v1": v1}, power_fn=power_fn,
        provenance=Provenance("design.counts", definition=inputs,
                              n=math.ceil(float(n) - 1e-9)),
    )
