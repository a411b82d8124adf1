"""Option objects of the analytic designs: the test, the event model and the count model.

The design functions (:func:`~hsctms.design.two_proportions`,
:func:`~hsctms.design.survival_design`, :func:`~hsctms.design.counts_design`) take the
quantities to solve for (effect, size, power) directly and everything else as a few small
frozen objects, grouped the way rpact and gsDesign users think about a design:

* :class:`Testing` -- the hypothesis test shared by every design: level, sidedness, the null
  value (rpact's ``thetaH0``: a non-inferiority margin, or no difference) and the direction;
* :class:`EventModel` -- for a time-to-event design, what turns a number of events into a
  number of patients (gsDesign's ``nSurv`` rather than ``nEvents``): the control arm's event
  hazard (:class:`ControlArm`), accrual and follow-up (:class:`Accrual`) and loss to
  follow-up (:class:`Dropout`);
* :class:`CountModel` -- for event counts, the exposure per patient and the
  negative-binomial overdispersion.

Each object checks its values when it is built and raises
:class:`~hsctms.errors.DesignError` with a hint saying how to fix them, so an impossible
input is reported where it is written. Times are in any unit (months recommended), used
consistently across the objects of one design.

Examples
--------
>>> from hsctms.design import Accrual, ControlArm, Dropout, EventModel, Testing
>>> Testing(alpha=0.025, sided=1, margin=-0.10).to_dict()
{'alpha': 0.025, 'sided': 1, 'margin': -0.1, 'alternative': None}
>>> model = EventModel(control=ControlArm(median=24), accrual=Accrual(24, follow_up=36),
...                    dropout=Dropout(proportion=0.05, time=12))
>>> round(model.control.hazard, 5), model.accrual.study_duration
(0.02888, 60)
"""

from __future__ import annotations

import math
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal

from hsctms.design._base import check_alpha, rate_from_median, rate_from_proportion
from hsctms.errors import DesignError

__all__ = ["Accrual", "Boundary", "ControlArm", "CountModel", "Dropout", "EventModel", "Futility",
           "Testing"]

ALTERNATIVES = ("greater", "less")

#: Lan-DeMets alpha/beta-spending families (rpact ``asOF``, ``asP``, ``asKD``, ``asHSD``).
SPENDING_FAMILIES = ("obf", "pocock", "kd", "hsd")
#: Fixed-boundary (not spending-function) designs (rpact ``HP``, ``WT``).
FIXED_BOUNDARIES = ("hp", "wt")
_FAMILY_ALIASES = {
    "obf": "obf", "of": "obf", "asof": "obf", "bsof": "obf", "obrien-fleming": "obf",
    "pocock": "pocock", "p": "pocock", "asp": "pocock", "bsp": "pocock",
    "kd": "kd", "askd": "kd", "bskd": "kd", "kim-demets": "kd",
    "hsd": "hsd", "ashsd": "hsd", "bshsd": "hsd", "hwang-shih-decani": "hsd",
    "hp": "hp", "haybittle-peto": "hp", "wt": "wt", "wang-tsiatis": "wt",
}


def _finite(name: str, value: float, *, low: float, strict: bool, hint: str) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or (strict and value == low):
        bound = f"> {low:g}" if strict else f">= {low:g}"
        raise DesignError(f"{name} must be a finite number {bound}, got {value!r}.", hint=hint)


@dataclass(frozen=True)
class Testing:
    """The hypothesis test of a design: level, sidedness, null value and direction.

    Parameters
    ----------
    alpha : float, default 0.05
        Significance level, in (0, 1). A two-sided test (``sided=2``) spends ``alpha/2`` in
        each tail, so ``Testing(alpha=0.05)`` and ``Testing(alpha=0.025, sided=1)`` have the
        same critical value.
    sided : {2, 1}, default 2
        Two-sided or one-sided test (one-sided for non-inferiority).
    margin : float, optional
        The boundary of the null hypothesis on the design's effect scale (rpact's
        ``thetaH0``). None (the default) is "no difference": 0 for the risk difference
        ``p1 - p2``, 1 for a hazard ratio or a rate ratio. A non-inferiority margin is e.g.
        ``-0.10`` for NEDA (``p1 - p2``, higher is better) or ``1.3`` for a hazard ratio.
    alternative : {"greater", "less"}, optional
        Direction of the alternative relative to ``margin`` (``"greater"``: effect above the
        margin). Used by :func:`~hsctms.design.two_proportions`, which infers it when None;
        the ratio designs always solve on the benefit side (below the null ratio), so they
        accept only None or ``"less"``.

    Raises
    ------
    DesignError
        When ``alpha`` is outside (0, 1), ``sided`` is not 1 or 2, ``margin`` is not a
        finite number or ``alternative`` is not one of the allowed values.

    Examples
    --------
    >>> Testing(alpha=0.025, sided=1, margin=1.3).null(1.0)
    1.3
    >>> Testing().null(0.0)
    0.0
    """

    #: Not a test class, though its name starts with "Test" (pytest would try to collect it
    #: in every test module that imports it).
    __test__ = False

    alpha: float = 0.05
    sided: int = 2
    _: KW_ONLY
    margin: float | None = None
    alternative: Literal["greater", "less"] | None = None

    def __post_init__(self) -> None:
        check_alpha(self.alpha, self.sided)
        if self.margin is not None:
            _finite("margin", self.margin, low=-math.inf, strict=False,
                    hint="Give the null value on the effect scale (e.g. -0.10 for p1 - p2, "
                         "1.3 for a hazard ratio), or leave it out for no difference.")
        if self.alternative is not None and self.alternative not in ALTERNATIVES:
            raise DesignError(f"alternative must be 'greater' or 'less', got "
                              f"{self.alternative!r}.",
                              hint="Leave it out to infer the direction from the inputs.")

    def null(self, no_difference: float) -> float:
        """The null value of the effect: ``margin``, or ``no_difference`` when it is None.

        Parameters
        ----------
        no_difference : float
            The effect meaning "no difference" on the design's scale (0 for a difference
            of proportions, 1 for a ratio).

        Returns
        -------
        float
            ``margin`` when given, else ``no_difference``.
        """
        return no_difference if self.margin is None else float(self.margin)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-serialisable mapping.

        Returns
        -------
        dict
            ``alpha``, ``sided``, ``margin`` (None for no difference) and ``alternative``.
        """
        return {"alpha": self.alpha, "sided": self.sided, "margin": self.margin,
                "alternative": self.alternative}


def _boundary_family(name: str, allowed: tuple[str, ...]) -> str:
    fam = _FAMILY_ALIASES.get(str(name).lower())
    if fam is None or fam not in allowed:
        raise DesignError(f"Unknown boundary or spending function {name!r}.",
                          hint=f"Use one of {allowed} (rpact names such as 'asKD' also work).")
    return fam


def _gamma(family: str, gamma: float | None) -> float | None:
    if family not in ("kd", "hsd"):
        if gamma is not None:
            raise DesignError(f"gamma applies to the 'kd' and 'hsd' families, not {family!r}.",
                              hint="Leave gamma out, or choose spending 'kd' or 'hsd'.")
        return None
    if gamma is None:
        raise DesignError(f"The {family!r} spending family needs gamma.",
                          hint="E.g. gamma=3 for Kim-DeMets (close to O'Brien-Fleming), "
                               "gamma=-4 for Hwang-Shih-DeCani.")
    if family == "kd":
        _finite("gamma", gamma, low=0.0, strict=True,
                hint="The Kim-DeMets power alpha t^gamma needs gamma > 0.")
    else:
        _finite("gamma", gamma, low=-math.inf, strict=False,
                hint="The Hwang-Shih-DeCani gamma is any finite number (0 is linear).")
    return float(gamma)


@dataclass(frozen=True)
class Boundary:
    """Shape of the efficacy bounds of a group-sequential design.

    Either a Lan-DeMets alpha-spending family or a fixed-boundary design:

    * ``"obf"`` / ``"pocock"`` -- O'Brien-Fleming / Pocock-type spending (rpact ``asOF``,
      ``asP``);
    * ``"kd"`` -- Kim-DeMets power family ``alpha t^gamma`` (rpact ``asKD``, ``gammaA``);
    * ``"hsd"`` -- Hwang-Shih-DeCani ``alpha (1 - e^{-gamma t}) / (1 - e^{-gamma})``
      (``alpha t`` at ``gamma = 0``; rpact ``asHSD``, ``gammaA``);
    * ``"hp"`` -- Haybittle-Peto: ``interim_bound`` (default 3) at every interim analysis
      and a final bound that keeps the overall level exact (rpact ``HP``,
      ``constantBoundsHP``);
    * ``"wt"`` -- Wang-Tsiatis: ``c t_k^(delta - 1/2)`` with ``c`` giving the level exactly
      (rpact ``WT``, ``deltaWT``; ``delta = 0`` is O'Brien-Fleming, ``0.5`` Pocock).

    Parameters
    ----------
    family : str, default "obf"
        One of ``"obf"``, ``"pocock"``, ``"kd"``, ``"hsd"``, ``"hp"``, ``"wt"`` (rpact
        spellings such as ``"asKD"`` or ``"WT"`` are accepted).
    gamma : float, optional
        Parameter of ``"kd"`` (> 0) and ``"hsd"`` (any real); required for them and
        rejected for the others.
    delta : float, optional
        Wang-Tsiatis shape ``delta`` (required for ``"wt"``, rejected otherwise).
    interim_bound : float, default 3.0
        Haybittle-Peto z-bound of the interim analyses (used by ``"hp"`` only).

    Raises
    ------
    DesignError
        When the family is unknown or its parameter is missing, misplaced or out of range.

    Examples
    --------
    >>> Boundary("asKD", gamma=2).to_dict()
    {'family': 'kd', 'gamma': 2.0, 'delta': None, 'interim_bound': None}
    """

    family: str = "obf"
    _: KW_ONLY
    gamma: float | None = None
    delta: float | None = None
    interim_bound: float = 3.0

    def __post_init__(self) -> None:
        fam = _boundary_family(self.family, SPENDING_FAMILIES + FIXED_BOUNDARIES)
        object.__setattr__(self, "family", fam)
        object.__setattr__(self, "gamma", _gamma(fam, self.gamma))
        if fam == "wt":
            if self.delta is None:
                raise DesignError("The Wang-Tsiatis boundary needs delta.",
                                  hint="delta=0 is O'Brien-Fleming-like, 0.5 Pocock-like.")
            _finite("delta", self.delta, low=-math.inf, strict=False,
                    hint="Give a finite Wang-Tsiatis delta, e.g. 0.25.")
            object.__setattr__(self, "delta", float(self.delta))
        elif self.delta is not None:
            raise DesignError("delta applies to the Wang-Tsiatis ('wt') boundary only.",
                              hint="Leave delta out, or choose family 'wt'.")
        if fam == "hp":
            _finite("interim_bound", self.interim_bound, low=0.0, strict=True,
                    hint="The Haybittle-Peto interim z-bound is usually 3.")

    @property
    def is_spending(self) -> bool:
        """True for an alpha-spending family, False for a fixed-boundary design."""
        return self.family in SPENDING_FAMILIES

    @property
    def label(self) -> str:
        """Short description, e.g. ``"kd (gamma 2)"``."""
        if self.gamma is not None:
            return f"{self.family} (gamma {self.gamma:g})"
        if self.family == "wt":
            return f"wt (delta {self.delta:g})"
        if self.family == "hp":
            return f"hp (interim z {self.interim_bound:g})"
        return self.family

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-serialisable mapping.

        Returns
        -------
        dict
            ``family``, ``gamma``, ``delta`` and ``interim_bound`` (None unless ``"hp"``).
        """
        return {"family": self.family, "gamma": self.gamma, "delta": self.delta,
                "interim_bound": self.interim_bound if self.family == "hp" else None}


@dataclass(frozen=True)
class Futility:
    """Beta-spending futility bounds of a one-sided group-sequential design.

    Parameters
    ----------
    spending : str, default "obf"
        Beta-spending family: ``"obf"``, ``"pocock"``, ``"kd"`` or ``"hsd"`` (rpact
        ``bsOF``, ``bsP``, ``bsKD``, ``bsHSD``).
    gamma : float, optional
        Parameter of ``"kd"`` / ``"hsd"`` (rpact ``gammaB``).
    binding : bool, default False
        Non-binding (the default, as in rpact): the efficacy bounds are computed as if
        there were no futility bounds, so the level holds whether or not the trial stops
        for futility. Binding: the efficacy bounds assume the trial always stops at a
        futility bound, which lowers them (and the sample size) but the level holds only
        if futility stopping is obeyed (rpact ``bindingFutility = TRUE``).

    Raises
    ------
    DesignError
        When the family is unknown or its gamma is missing or invalid.

    Examples
    --------
    >>> Futility("bsHSD", gamma=-2, binding=True).to_dict()
    {'spending': 'hsd', 'gamma': -2.0, 'binding': True}
    """

    spending: str = "obf"
    _: KW_ONLY
    gamma: float | None = None
    binding: bool = False

    def __post_init__(self) -> None:
        fam = _boundary_family(self.spending, SPENDING_FAMILIES)
        object.__setattr__(self, "spending", fam)
        object.__setattr__(self, "gamma", _gamma(fam, self.gamma))
        if not isinstance(self.binding, bool):
            raise DesignError(f"binding must be True or False, got {self.binding!r}.")

    @property
    def label(self) -> str:
        """Short description, e.g. ``"non-binding obf"``."""
        kind = "binding" if self.binding else "non-binding"
        gam = f" (gamma {self.gamma:g})" if self.gamma is not None else ""
        return f"{kind} {self.spending}{gam}"

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-serialisable mapping.

        Returns
        -------
        dict
            ``spending``, ``gamma`` and ``binding``.
        """
        return {"spending": self.spending, "gamma": self.gamma, "binding": self.binding}


@dataclass(frozen=True, kw_only=True)
class ControlArm:
    """The control arm's exponential time to event, given in one of three ways.

    Give exactly one of ``rate``, ``proportion`` (with ``time``) or ``median``. The treatment
    arm's hazard is the control hazard times the design's hazard ratio.

    Parameters
    ----------
    rate : float, optional
        Event hazard per time unit (> 0), e.g. 0.0289 per month.
    proportion : float, optional
        Probability of an event by ``time``, in (0, 1); rpact's ``pi2`` with ``eventTime``.
    time : float, optional
        The time (> 0) at which ``proportion`` is reached; needed with ``proportion`` and
        only then.
    median : float, optional
        Median time to event (> 0); the hazard is ``log(2) / median``.

    Raises
    ------
    DesignError
        When none or more than one form is given, ``proportion`` comes without ``time`` (or
        ``time`` without ``proportion``) or a value is out of range.

    Examples
    --------
    >>> round(ControlArm(proportion=0.3, time=60).hazard, 6)
    0.005945
    >>> ControlArm(median=24).to_dict()["median"]
    24
    """

    rate: float | None = None
    proportion: float | None = None
    time: float | None = None
    median: float | None = None
    hazard: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        given = [k for k in ("rate", "proportion", "median") if getattr(self, k) is not None]
        if len(given) != 1:
            raise DesignError(
                "ControlArm needs exactly one of rate, proportion (with time) or median; "
                f"got {', '.join(given) or 'none'}.",
                hint="E.g. ControlArm(median=24), ControlArm(proportion=0.3, time=60) or "
                     "ControlArm(rate=0.03), in the design's time unit.")
        if (self.proportion is None) != (self.time is None):
            raise DesignError("ControlArm: proportion and time go together (the proportion "
                              "with an event by that time).",
                              hint="E.g. ControlArm(proportion=0.3, time=60).")
        if self.rate is not None:
            _finite("ControlArm rate", self.rate, low=0.0, strict=True,
                    hint="The control hazard per time unit, e.g. 0.03.")
            hazard = float(self.rate)
        elif self.proportion is not None:
            assert self.time is not None
            hazard = rate_from_proportion(self.proportion, self.time)
        else:
            assert self.median is not None
            hazard = rate_from_median(self.median)
        object.__setattr__(self, "hazard", hazard)

    def to_dict(self) -> dict[str, Any]:
        """The control-arm model as a JSON-serialisable mapping.

        Returns
        -------
        dict
            The given form (``rate``, ``proportion``, ``time``, ``median``; None when not
            given) and the resulting ``hazard``.
        """
        return {"rate": self.rate, "proportion": self.proportion, "time": self.time,
                "median": self.median, "hazard": self.hazard}


@dataclass(frozen=True)
class Accrual:
    """Uniform accrual followed by a common follow-up, as rpact's accrual and follow-up times.

    Patients enter uniformly over ``[0, duration]`` and the analysis is at
    ``duration + follow_up``, so a patient's potential follow-up lies between ``follow_up``
    and ``duration + follow_up``.

    Parameters
    ----------
    duration : float, default 0.0
        Length of the accrual period (>= 0); 0 means every patient is followed exactly
        ``follow_up``.
    follow_up : float
        Follow-up after the end of accrual (>= 0), keyword only. ``duration + follow_up``
        must be positive.

    Raises
    ------
    DesignError
        When a time is negative or not finite, or both are 0.

    Examples
    --------
    >>> Accrual(24, follow_up=36).study_duration
    60
    """

    duration: float = 0.0
    _: KW_ONLY
    follow_up: float

    def __post_init__(self) -> None:
        hint = "Give times in the design's unit, e.g. Accrual(24, follow_up=36) in months."
        _finite("accrual duration", self.duration, low=0.0, strict=False, hint=hint)
        _finite("follow_up", self.follow_up, low=0.0, strict=False, hint=hint)
        if self.duration + self.follow_up <= 0:
            raise DesignError("Accrual duration and follow-up are both 0: no event can be "
                              "observed.", hint=hint)

    @property
    def study_duration(self) -> float:
        """Time from the first patient's entry to the analysis (``duration + follow_up``)."""
        return self.duration + self.follow_up

    def to_dict(self) -> dict[str, Any]:
        """The accrual settings as a JSON-serialisable mapping.

        Returns
        -------
        dict
            ``duration`` and ``follow_up``.
        """
        return {"duration": self.duration, "follow_up": self.follow_up}


@dataclass(frozen=True, kw_only=True)
class Dropout:
    """Loss to follow-up: an exponential hazard in both arms, as a rate or a proportion.

    ``Dropout()`` is no loss. Give ``rate``, or ``proportion`` with ``time`` (rpact's
    ``dropoutRate1 = dropoutRate2`` with ``dropoutTime``), not both.

    Parameters
    ----------
    rate : float, optional
        Dropout hazard per time unit (>= 0).
    proportion : float, optional
        Probability of dropping out by ``time``, in (0, 1).
    time : float, optional
        The time (> 0) at which ``proportion`` is reached; needed with ``proportion`` and
        only then.

    Raises
    ------
    DesignError
        When both forms are given, ``proportion`` comes without ``time`` (or the reverse) or
        a value is out of range.

    Examples
    --------
    >>> round(Dropout(proportion=0.05, time=12).hazard, 6)
    0.004274
    >>> Dropout().hazard
    0.0
    """

    rate: float | None = None
    proportion: float | None = None
    time: float | None = None
    hazard: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.rate is not None and self.proportion is not None:
            raise DesignError("Dropout takes a rate or a proportion by a time, not both.",
                              hint="E.g. Dropout(rate=0.004) or Dropout(proportion=0.05, "
                                   "time=12).")
        if (self.proportion is None) != (self.time is None):
            raise DesignError("Dropout: proportion and time go together (the proportion lost "
                              "by that time).", hint="E.g. Dropout(proportion=0.05, time=12).")
        hazard = 0.0
        if self.rate is not None:
            _finite("Dropout rate", self.rate, low=0.0, strict=False,
                    hint="The dropout hazard per time unit, e.g. 0.004; 0 for no loss.")
            hazard = float(self.rate)
        elif self.proportion is not None:
            assert self.time is not None
            hazard = rate_from_proportion(self.proportion, self.time)
        object.__setattr__(self, "hazard", hazard)

    def to_dict(self) -> dict[str, Any]:
        """The dropout model as a JSON-serialisable mapping.

        Returns
        -------
        dict
            ``rate``, ``proportion``, ``time`` (None when not given) and the ``hazard``.
        """
        return {"rate": self.rate, "proportion": self.proportion, "time": self.time,
                "hazard": self.hazard}


@dataclass(frozen=True, kw_only=True)
class EventModel:
    """What turns events into patients in a time-to-event design.

    With an event model, :func:`~hsctms.design.survival_design` works in patients: the
    probability that a patient's event is observed by the analysis follows from the control
    hazard (times the hazard ratio in the treatment arm), the dropout hazard and the accrual
    and follow-up times (exponential times, uniform entry), exactly as rpact
    ``getSampleSizeSurvival``. Without one it works in events only.

    Parameters
    ----------
    control : ControlArm
        The control arm's event hazard.
    accrual : Accrual
        Accrual duration and follow-up after the end of accrual.
    dropout : Dropout, default Dropout()
        Loss to follow-up (none by default).

    Raises
    ------
    DesignError
        When a component is not of the documented type.

    Examples
    --------
    >>> m = EventModel(control=ControlArm(rate=0.03), accrual=Accrual(follow_up=24))
    >>> sorted(m.to_dict())
    ['accrual', 'control', 'dropout']
    """

    control: ControlArm
    accrual: Accrual
    dropout: Dropout = field(default_factory=Dropout)

    def __post_init__(self) -> None:
        for name, kind in (("control", ControlArm), ("accrual", Accrual),
                           ("dropout", Dropout)):
            if not isinstance(getattr(self, name), kind):
                raise DesignError(f"EventModel {name} must be a {kind.__name__}, got "
                                  f"{getattr(self, name)!r}.",
                                  hint="E.g. EventModel(control=ControlArm(median=24), "
                                       "accrual=Accrual(24, follow_up=36), "
                                       "dropout=Dropout(proportion=0.05, time=12)).")

    def to_dict(self) -> dict[str, Any]:
        """The event model as a JSON-serialisable mapping.

        Returns
        -------
        dict
            ``control``, ``accrual`` and ``dropout``, each its own ``to_dict()``.
        """
        return {"control": self.control.to_dict(), "accrual": self.accrual.to_dict(),
                "dropout": self.dropout.to_dict()}


@dataclass(frozen=True, kw_only=True)
class CountModel:
    """Exposure and overdispersion of negative-binomial event counts (e.g. relapses).

    Parameters
    ----------
    exposure : float, default 1.0
        Mean exposure (follow-up) per patient (> 0), in the time unit of the rates; e.g. 2
        with annualised relapse rates for two years of follow-up.
    dispersion : float, default 0.0
        Negative-binomial dispersion ``k`` (>= 0), the count variance being
        ``mu + k mu^2``; 0 is Poisson. rpact's ``overdispersion``.

    Raises
    ------
    DesignError
        When ``exposure`` is not positive or ``dispersion`` is negative (or either is not
        finite).

    Examples
    --------
    >>> CountModel(exposure=2, dispersion=0.8).to_dict()
    {'exposure': 2, 'dispersion': 0.8}
    """

    exposure: float = 1.0
    dispersion: float = 0.0

    def __post_init__(self) -> None:
        _finite("exposure", self.exposure, low=0.0, strict=True,
                hint="The mean follow-up per patient in the rates' time unit, e.g. 2 years.")
        _finite("dispersion", self.dispersion, low=0.0, strict=False,
                hint="The negative-binomial k (variance mu + k mu^2); 0 for Poisson counts.")

    def to_dict(self) -> dict[str, Any]:
        """The count model as a JSON-serialisable mapping.

        Returns
        -------
        dict
            ``exposure`` and ``dispersion``.
        """
        return {"exposure": self.exposure, "dispersion": self.dispersion}
