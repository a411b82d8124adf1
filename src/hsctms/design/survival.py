"""Sample size and power for time-to-event endpoints (log-rank / Cox hazard ratio).

Events by Schoenfeld (1981), Freedman (1982) or Hsieh-Freedman; patients from the
probability of observing an event under exponential event times, exponential dropout and
uniform accrual, exactly as rpact ``getSampleSizeSurvival`` (agreement 1e-10):

* Schoenfeld: ``d = (z_a + z_b)^2 (1 + r)^2 / (r (log HR - log HR0)^2)``
* Freedman: ``d = (z_a + z_b)^2 (1 + r HR)^2 / (r (1 - HR)^2)`` (superiority only)
* Hsieh-Freedman: ``d = (z_a + z_b)^2 (1 + r)^2 (1 + HR)^2 / (4 r (1 - HR)^2)``
* ``P_i = l_i/(l_i + f) [1 - (exp(-(l_i+f) F) - exp(-(l_i+f)(A+F))) / ((l_i+f) A)]`` for
  event rate ``l_i``, dropout rate ``f``, accrual ``A`` and follow-up ``F`` after accrual;
  ``N = d / (f1 P1 + f2 P2)``.

``r = n1/n2`` (treatment : control) and the hazard ratio is treatment vs control.
Times are in any unit (months recommended), used consistently.
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
from hsctms.design.options import EventModel, Testing
from hsctms.errors import DesignError

_N = stats.norm
METHODS = ("schoenfeld", "freedman", "hsieh")


def event_probability(rate: float, dropout_rate: float, accrual: float, follow_up: float) -> float:
    """Probability that a patient's event is observed by the analysis.

    Exponential event ``rate`` and ``dropout_rate``; entry uniform on ``[0, accrual]``;
    analysis at ``accrual + follow_up``. ``accrual = 0`` means everyone followed
    ``follow_up``.

    Parameters
    ----------
    rate : float
        Event hazard per time unit (>= 0).
    dropout_rate : float
        Dropout hazard per time unit (>= 0), a competing cause of censoring.
    accrual : float
        Duration of uniform accrual (>= 0).
    follow_up : float
        Follow-up after the end of accrual (>= 0).

    Returns
    -------
    float
        ``rate/h [1 - (e^{-h F} - e^{-h (A+F)}) / (h A)]`` with ``h = rate + dropout_rate``
        (``rate/h (1 - e^{-h F})`` when ``A = 0``; 0 when ``h = 0``).
    """
    h = rate + dropout_rate
    if h == 0:
        return 0.0
    if accrual == 0:
        return rate / h * (1 - math.exp(-h * follow_up))
    return rate / h * (1 - (math.exp(-h * follow_up) - math.exp(-h * (accrual + follow_up)))
                       / (h * accrual))


def _signal(hr: float, hr0: float, ratio: float, method: str) -> float:
    """sqrt(d) multiplier: z_a + z_b = sqrt(d) * signal."""
    if method == "schoenfeld":
        return math.sqrt(ratio) / (1 + ratio) * abs(math.log(hr) - math.log(hr0))
    if method == "freedman":
        return math.sqrt(ratio) * abs(1 - hr) / (1 + ratio * hr)
    return math.sqrt(4 * ratio) * abs(1 - hr) / ((1 + ratio) * (1 + hr))


def power_events(hr: float, events: float, *, hr0: float = 1.0, alpha: float = 0.05,
                 sided: int = 2, ratio: float = 1.0, method: str = "schoenfeld") -> float:
    """Power (one tail) of the log-rank test with ``events`` events.

    Parameters
    ----------
    hr : float
        Hazard ratio treatment vs control under the alternative (> 0).
    events : float
        Total number of events (negative values count as 0).
    hr0 : float, default 1.0
        Null hazard ratio (1 superiority; > 1 a non-inferiority margin; Schoenfeld only
        when not 1).
    alpha : float, default 0.05
        Significance level.
    sided : {2, 1}, default 2
        Two-sided (``alpha/2`` per tail) or one-sided test.
    ratio : float, default 1.0
        Allocation ``n1/n2`` (treatment : control).
    method : {"schoenfeld", "freedman", "hsieh"}, default "schoenfeld"
        Events formula (lower case, already validated).

    Returns
    -------
    float
        ``Phi(sqrt(d) * signal - z_{alpha/sided})``, the probability of rejecting in the
        direction of the effect.
    """
    return float(_N.cdf(math.sqrt(max(events, 0.0)) * _signal(hr, hr0, ratio, method)
                        - z_alpha(alpha, sided)))


def events_required(hr: float, power: float, *, hr0: float = 1.0, alpha: float = 0.05,
                    sided: int = 2, ratio: float = 1.0, method: str = "schoenfeld") -> float:
    """Number of events (real) for the requested power.

    Parameters
    ----------
    hr : float
        Hazard ratio treatment vs control under the alternative (> 0).
    power : float
        Requested power, in ``(alpha/sided, 1)``.
    hr0 : float, default 1.0
        Null hazard ratio (1 superiority; > 1 a non-inferiority margin; Schoenfeld only
        when not 1).
    alpha : float, default 0.05
        Significance level.
    sided : {2, 1}, default 2
        Two-sided (``alpha/2`` per tail) or one-sided test.
    ratio : float, default 1.0
        Allocation ``n1/n2`` (treatment : control).
    method : {"schoenfeld", "freedman", "hsieh"}, default "schoenfeld"
        Events formula (lower case, already validated).

    Returns
    -------
    float
        ``((z_{alpha/sided} + z_power) / signal)^2``, not rounded.

    Raises
    ------
    DesignError
        When ``hr`` equals ``hr0`` (no number of events suffices).
    """
    s = _signal(hr, hr0, ratio, method)
    if s == 0:
        raise DesignError("The hazard ratio equals its null value: no number of events suffices.")
    return ((z_alpha(alpha, sided) + float(_N.ppf(power))) / s) ** 2


def _validate(method: str, hr: float | None, hr0: float, alpha: float, sided: int,
              ratio: float, power: float | None) -> str:
    method = method.lower()
    if method not in METHODS:
        raise DesignError(f"Unknown method {method!r}.", hint=f"Use one of {METHODS}.")
    check_alpha(alpha, sided)
    check_ratio(ratio)
    if power is not None:
        check_power(power, alpha, sided)
    if (hr is not None and hr <= 0) or hr0 <= 0:
        raise DesignError("Hazard ratios must be positive.")
    if method != "schoenfeld" and hr0 != 1:
        raise DesignError(f"The {method} formula is for superiority (hr0 = 1) only.",
                          hint="Use method='schoenfeld' for non-inferiority (as rpact does).")
    return method


def _testing(testing: Testing | None) -> Testing:
    testing = Testing() if testing is None else testing
    if not isinstance(testing, Testing):
        raise DesignError(f"testing must be a Testing, got {testing!r}.",
                          hint="E.g. testing=Testing(alpha=0.025, sided=1, margin=1.3).")
    if testing.alternative == "greater":
        raise DesignError("The hazard-ratio design solves on the benefit side (hazard ratio "
                          "below the null); alternative='greater' is not supported.",
                          hint="Leave alternative out (or 'less'); for harm, swap the arms.")
    return testing


# complexity over 10 kept: argument checks and the solve-for dispatch of the rpact-checked design
def survival_design(  # noqa: C901
    hr: float | None,
    *,
    events: float | None = None,
    n: float | None = None,
    power: float | None = None,
    testing: Testing | None = None,
    ratio: float = 1.0,
    method: str = "schoenfeld",
    model: EventModel | None = None,
) -> DesignResult:
    """Solve a log-rank design for whichever of ``hr``, ``power`` and the size is None.

    The size is given either as ``events`` or as ``n`` (patients; needs ``model``), or left
    out (both None) to solve for it: in patients when an event model is given, else in
    events. The hazard ratio is solved on the benefit side, below the null hazard ratio.

    Parameters
    ----------
    hr : float or None
        Hazard ratio treatment vs control under the alternative (> 0; e.g. 0.667). None to
        solve for the detectable hazard ratio.
    events : float, optional
        Number of events (both arms). Give at most one of ``events`` and ``n``.
    n : float, optional
        Number of patients (both arms); needs ``model`` to be turned into events.
    power : float, optional
        Power, in ``(alpha/sided, 1)``; None to solve for it.
    testing : Testing, optional
        Level, sidedness and null hazard ratio (``margin``; 1 when not given, e.g. 1.3 for
        non-inferiority). Default ``Testing()``: two-sided alpha 0.05, superiority.
    ratio : float, default 1.0
        Allocation ``n1/n2`` (treatment : control), rpact's ``allocationRatioPlanned``.
    method : {"schoenfeld", "freedman", "hsieh"}, default "schoenfeld"
        Formula for the number of events: Schoenfeld (1981), Freedman (1982) or
        Hsieh-Freedman; the last two are for superiority (null hazard ratio 1) only.
    model : EventModel, optional
        Control hazard, accrual and follow-up, dropout: what converts events into patients.
        Without it the design is in events only (``n_total`` is NaN).

    Returns
    -------
    DesignResult
        ``kind="survival"``; ``effect`` is the hazard ratio; ``extra`` holds ``events`` and,
        with a model, the hazards (``lambda1``, ``lambda2``, ``dropout_rate``), the event
        probabilities (``p_event1``, ``p_event2``, ``p_event``) and ``study_duration``.

    Raises
    ------
    DesignError
        When not exactly one of ``hr``, the size and ``power`` is None, both ``events`` and
        ``n`` are given, ``n`` is given without a model, or an input is out of range.

    Examples
    --------
    >>> round(survival_design(0.667, power=0.8).extra["events"], 1)
    191.4
    >>> from hsctms.design import Accrual, ControlArm, Dropout, EventModel, Testing
    >>> r = survival_design(0.5, power=0.8, testing=Testing(alpha=0.025, sided=1),
    ...                     model=EventModel(control=ControlArm(proportion=0.3, time=60),
    ...                                      accrual=Accrual(24, follow_up=36),
    ...                                      dropout=Dropout(proportion=0.05, time=12)))
    >>> round(r.n_total, 2)
    379.07
    """
    testing = _testing(testing)
    hr0, alpha, sided = testing.null(1.0), testing.alpha, testing.sided
    method = _validate(method, hr, hr0, alpha, sided, ratio, power)
    if events is not None and n is not None:
        raise DesignError("Give events or n (patients), not both.")
    size = events if events is not None else n
    target = exactly_one_none(hr=hr, size=size, power=power)
    lam2 = None if model is None else model.control.hazard
    phi = 0.0 if model is None else model.dropout.hazard
    accrual = 0.0 if model is None else model.accrual.duration
    follow_up = None if model is None else model.accrual.follow_up
    kw = {"hr0": hr0, "alpha": alpha, "sided": sided, "ratio": ratio, "method": method}
    f1, f2 = ratio / (1 + ratio), 1 / (1 + ratio)

    def p_bar(h: float) -> float:
        if lam2 is None or follow_up is None:
            raise DesignError(
                "Converting between events and patients needs the control hazard and follow-up.",
                hint="Give the control hazard (rate, median, or proportion by a time) and "
                     "the follow-up in an event model (model=EventModel(...)), or give "
                     "events instead of n.")
        return (f1 * event_probability(h * lam2, phi, accrual, follow_up)
                + f2 * event_probability(lam2, phi, accrual, follow_up))

    def to_events(h: float) -> float | None:
        if events is not None:
            return events
        assert n is not None
        return n * p_bar(h)

    if target == "size":
        assert hr is not None and power is not None
        d = events_required(hr, power, **kw)  # type: ignore[arg-type]
    elif target == "power":
        assert hr is not None
        d_opt = to_events(hr)
        assert d_opt is not None
        d = d_opt
        power = power_events(hr, d, **kw)  # type: ignore[arg-type]
    else:  # solve for hr on the side below hr0 (benefit), as is usual for aHSCT designs
        assert power is not None

        def gap(h: float) -> float:
            dd = to_events(h)
            assert dd is not None
            return power_events(h, dd, **kw) - power  # type: ignore[arg-type]

        hr = solve_ratio_effect(gap, hr0, "hazard ratio")
        d_opt = to_events(hr)
        assert d_opt is not None
        d = d_opt
    assert hr is not None and power is not None
    extra: dict[str, float | None] = {"events": d, "hr": hr}
    n_total = float("nan")
    if lam2 is not None and follow_up is not None:
        pb = p_bar(hr)
        n_total = n if n is not None else d / pb
        extra.update({"lambda1": hr * lam2, "lambda2": lam2, "dropout_rate": phi,
                      "p_event1": event_probability(hr * lam2, phi, accrual, follow_up),
                      "p_event2": event_probability(lam2, phi, accrual, follow_up),
                      "p_event": pb, "study_duration": accrual + follow_up})
    hr_v = float(hr)
    events_fixed = events

    def power_fn(nn: float) -> float:
        if events_fixed is not None or lam2 is None or follow_up is None:
            return power_events(hr_v, nn, **kw)  # type: ignore[arg-type]
        return power_events(hr_v, nn * p_bar(hr_v), **kw)  # type: ignore[arg-type]

    inputs = {"hr": hr_v, "hr0": hr0, "alpha": alpha, "sided": sided, "ratio": ratio,
              "method": method, "control_rate": lam2, "accrual": accrual,
              "follow_up": follow_up, "dropout_rate": phi}
    solved = target
    if target == "size":
        solved = "n" if not math.isnan(n_total) else "events"
    return DesignResult(
        kind="survival", method=method, solved_for=solved,
        n_total=n_total, n1=n_total * f1, n2=n_total * f2, power=float(power), effect=hr_v,
        alpha=alpha, sided=sided, inputs=inputs, extra=extra, power_fn=power_fn,
        provenance=Provenance("design.survival", definition=inputs,
                              n=None if math.isnan(n_total) else math.ceil(n_total - 1e-9)),
    )
