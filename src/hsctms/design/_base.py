"""Shared pieces of the analytic designs: the result object and the generic solver.

Every analytic design (two proportions, time to event, negative-binomial counts) is a
function ``power(n, effect)`` in closed form. :func:`solve_missing` finds whichever of
*n*, *power* or *effect* the user left as ``None``, in the spirit of statsmodels'
``solve_power``: closed forms are used where they exist (``n_closed``), otherwise
:func:`scipy.optimize.brentq` on a bracket that is checked first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize, stats

from hsctms._provenance import Provenance
from hsctms.errors import DesignError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

_N = stats.norm


def z_alpha(alpha: float, sided: int) -> float:
    """Critical value of the one-tailed test at level ``alpha/sided``.

    Parameters
    ----------
    alpha : float
        Significance level, in (0, 1).
    sided : {1, 2}
        One- or two-sided test.

    Returns
    -------
    float
        ``z_{1 - alpha/sided}``.
    """
    check_alpha(alpha, sided)
    return float(_N.isf(alpha / sided))


def check_alpha(alpha: float, sided: int) -> None:
    """Raise :class:`DesignError` unless ``0 < alpha < 1`` and ``sided`` is 1 or 2.

    Parameters
    ----------
    alpha : float
        Significance level, in (0, 1).
    sided : {1, 2}
        One- or two-sided test.
    """
    if sided not in (1, 2):
        raise DesignError(f"sided must be 1 or 2, got {sided!r}.",
                          hint="Use sided=1 for a one-sided test (e.g. non-inferiority).")
    if not 0 < alpha < 1:
        raise DesignError(f"alpha must lie in (0, 1), got {alpha!r}.",
                          hint="Typical values: 0.05 two-sided or 0.025 one-sided.")


def check_power(power: float, alpha: float, sided: int) -> None:
    """Power must exceed the one-tail level ``alpha/sided`` and be below 1.

    Parameters
    ----------
    power : float
        The requested power.
    alpha : float
        Significance level, in (0, 1).
    sided : {1, 2}
        One- or two-sided test.

    Raises
    ------
    DesignError
        When ``power`` is outside ``(alpha/sided, 1)``.
    """
    if not alpha / sided < power < 1:
        raise DesignError(
            f"power must lie in (alpha/sided, 1) = ({alpha / sided:g}, 1), got {power!r}.",
            hint="Typical values are 0.8 or 0.9.")


def check_ratio(ratio: float) -> None:
    """The allocation ratio (n1/n2, treatment : control) must be positive and finite.

    Parameters
    ----------
    ratio : float
        Allocation ``n1/n2``.

    Raises
    ------
    DesignError
        When it is not positive and finite.
    """
    if not (math.isfinite(ratio) and ratio > 0):
        raise DesignError(f"allocation ratio must be positive, got {ratio!r}.",
                          hint="ratio = n1/n2 (treatment : control); 1 means 1:1.")


def rate_from_proportion(pi: float, time: float) -> float:
    """Exponential rate with ``P(T <= time) = pi`` (``-log(1 - pi) / time``).

    Parameters
    ----------
    pi : float
        Probability of the event by ``time``, in (0, 1).
    time : float
        The time (> 0) in the design's unit.

    Returns
    -------
    float
        The hazard per time unit.
    """
    if not 0 < pi < 1 or time <= 0:
        raise DesignError(f"Need 0 < pi < 1 and time > 0, got pi={pi!r}, time={time!r}.",
                          hint="Give the proportion as a fraction by a positive time, e.g. "
                               "0.3 by 60 months.")
    return -math.log1p(-pi) / time


def rate_from_median(median: float) -> float:
    """Exponential rate with the given median.

    Parameters
    ----------
    median : float
        Median time to event (> 0).

    Returns
    -------
    float
        ``log(2) / median``.
    """
    if median <= 0:
        raise DesignError(f"median must be positive, got {median!r}.",
                          hint="Give the median time to event in the design's time unit.")
    return math.log(2) / median


def exactly_one_none(**values: Any) -> str:
    """Name of the single argument that is None (the one to solve for).

    Parameters
    ----------
    **values
        The candidate quantities by name, in the order named in the error message.

    Returns
    -------
    str
        The name whose value is None.

    Raises
    ------
    DesignError
        When not exactly one value is None.
    """
    missing = [k for k, v in values.items() if v is None]
    if len(missing) != 1:
        raise DesignError(
            f"Exactly one of {', '.join(values)} must be None (the quantity to solve for); "
            f"got {len(missing)} missing ({', '.join(missing) or 'none'}).",
            hint="Give all but one; e.g. power=None to compute the power of a given n.")
    return missing[0]


def brentq_bracket(fun: Callable[[float], float], lo: float, hi: float, what: str) -> float:
    """Root of ``fun`` on ``[lo, hi]`` with a clear error when there is none.

    Parameters
    ----------
    fun : callable
        A continuous function of one real (power minus the target).
    lo, hi : float
        The bracket.
    what : str
        Name of the unknown, for the error message.

    Returns
    -------
    float
        The root (``brentq``, ``xtol`` 1e-12).

    Raises
    ------
    DesignError
        When ``fun`` has the same sign at both ends.
    """
    flo, fhi = fun(lo), fun(hi)
    if flo == 0:
        return lo
    if fhi == 0:
        return hi
    if np.sign(flo) == np.sign(fhi):
        raise DesignError(
            f"No {what} in [{lo:g}, {hi:g}] reaches the requested power.",
            hint="The requested power is not attainable with these inputs; "
                 "change the sample size, alpha or power.")
    return float(optimize.brentq(fun, lo, hi, xtol=1e-12, rtol=1e-14, maxiter=500))


def solve_ratio_effect(fun: Callable[[float], float], null: float, what: str) -> float:
    """Largest ratio below ``null`` where ``fun`` (power minus target) crosses zero.

    Power need not be monotone far from the null (e.g. negative-binomial variance grows as a
    rate tends to 0), so the log-scale grid is scanned from the null side first and the
    crossing nearest the null is refined with brentq.

    Parameters
    ----------
    fun : callable
        Power minus the target power, as a function of the ratio.
    null : float
        The null ratio (> 0); the grid runs from it down to ``null * e^-9``.
    what : str
        Name of the ratio, for the error messages.

    Returns
    -------
    float
        The ratio nearest the null that gives the target power.

    Raises
    ------
    DesignError
        When the target is reached at the null already, or by no ratio on the grid.
    """
    grid = null * np.exp(-np.linspace(1e-9, 9.0, 400))
    prev = grid[0]
    f_prev = fun(float(prev))
    if f_prev >= 0:
        raise DesignError(f"The requested power is reached even at the null {what}.")
    for x in grid[1:]:
        fx = fun(float(x))
        if fx >= 0:
            return brentq_bracket(fun, float(x), float(prev), what)
        prev, f_prev = x, fx
    raise DesignError(f"No {what} below {null:g} reaches the requested power.",
                      hint="Increase the sample size or lower the power.")


@dataclass(frozen=True)
class DesignResult:
    """An analytic fixed-sample design (sample size, power and effect).

    Built by :func:`~hsctms.design.two_proportions`, :func:`~hsctms.design.survival_design`
    and :func:`~hsctms.design.counts_design`; frozen.

    Parameters
    ----------
    kind : {"two_proportions", "survival", "counts"}
        The endpoint of the design.
    method : str
        Variance / test used (e.g. ``"score"`` = pooled/Farrington-Manning, ``"wald+cc"``,
        ``"schoenfeld"``, ``"negative-binomial (alternative null variance)"``).
    solved_for : str
        Which quantity was computed: ``"n"``, ``"events"`` (survival without an event
        model), ``"power"`` or the effect's name (``"p1"``, ``"p2"``, ``"hr"``, ``"rate1"``).
    n_total : float
        Total number of patients as a real number (NaN for a survival design in events
        only); round up with :attr:`n_total_ceil`.
    n1 : float
        Treatment-arm (arm 1) patients, real; :attr:`n1_ceil` rounds up.
    n2 : float
        Control-arm (arm 2) patients, real; :attr:`n2_ceil` rounds up.
    power : float
        Power of the design (one tail for two-sided tests, as rpact and most texts).
    effect : float
        The effect in its natural scale (``p1 - p2``, hazard ratio or rate ratio).
    alpha : float
        Significance level of the test.
    sided : {1, 2}
        Sidedness; two-sided tests use ``alpha/2`` per tail.
    inputs : dict
        All inputs after defaults and conversions (for the report and the JSON), e.g. the
        control hazard computed from a median.
    extra : dict, default {}
        Kind-specific extras (e.g. ``events``, event probabilities, restricted MLEs).
    power_fn : callable, optional
        Power as a function of the total size (patients, or events for a design in events
        only), the effect held fixed; used by :meth:`power_curve`. Not serialised.
    provenance : Provenance
        What was computed from which inputs.
    """

    kind: str
    method: str
    solved_for: str
    n_total: float
    n1: float
    n2: float
    power: float
    effect: float
    alpha: float
    sided: int
    inputs: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    power_fn: Callable[[float], float] | None = field(default=None, repr=False, compare=False)
    provenance: Provenance = field(default_factory=lambda: Provenance("design"))

    @property
    def n1_ceil(self) -> int | None:
        """Treatment-arm patients rounded up (None when patients are not defined)."""
        return _ceil(self.n1)

    @property
    def n2_ceil(self) -> int | None:
        """Control-arm patients rounded up (None when patients are not defined)."""
        return _ceil(self.n2)

    @property
    def n_total_ceil(self) -> int | None:
        """Total patients after rounding each arm up (None when not defined)."""
        if self.n1_ceil is None or self.n2_ceil is None:
            return None
        return self.n1_ceil + self.n2_ceil

    @property
    def summary(self) -> str:
        """One paragraph in words."""
        side = "two-sided" if self.sided == 2 else "one-sided"
        text = (f"{self.kind.replace('_', ' ')} ({self.method}), {side} alpha {self.alpha:g}: "
                f"effect {self.effect:.4g}, power {self.power:.3f}")
        if self.n_total_ceil is not None:
            text += (f", n = {self.n_total:.2f} ({self.n1:.2f} treatment + {self.n2:.2f} "
                     f"control; rounded up {self.n_total_ceil})")
        if "events" in self.extra:
            text += f", events {self.extra['events']:.2f}"
        return text + f"; solved for {self.solved_for}."

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (see docs/trial-design.md, schema ``design.fixed``).

        Returns
        -------
        dict
            Schema tag, every field except ``power_fn`` (non-finite numbers as None), the
            rounded-up sizes and the provenance.
        """
        return {
            "schema": "hsctms.design.fixed/1",
            "kind": self.kind,
            "method": self.method,
            "solved_for": self.solved_for,
            "n_total": _jsonable(self.n_total),
            "n1": _jsonable(self.n1),
            "n2": _jsonable(self.n2),
            "n_total_ceil": self.n_total_ceil,
            "n1_ceil": self.n1_ceil,
            "n2_ceil": self.n2_ceil,
            "power": self.power,
            "effect": self.effect,
            "alpha": self.alpha,
            "sided": self.sided,
            "inputs": _jsonable(self.inputs),
            "extra": _jsonable(self.extra),
            "provenance": self.provenance.to_dict(),
        }

    def power_curve(self, n_values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Power as a function of the total sample size (effect held fixed).

        Parameters
        ----------
        n_values : numpy.ndarray, optional
            Total sizes (patients; events for a survival design in events only) to evaluate.
            Default: 120 points from 1% (at least 2) to twice the design's size.

        Returns
        -------
        tuple of numpy.ndarray
            ``(n_values, power)``, power at each size.

        Raises
        ------
        DesignError
            When the result carries no power function.
        """
        if self.power_fn is None:
            raise DesignError("This result carries no power function.")
        if n_values is None:
            base = self.n_total if math.isfinite(self.n_total) else self.extra.get("events", 10.0)
            top = max(float(base) * 2.0, 10.0)
            n_values = np.linspace(max(top / 100, 2.0), top, 120)
        return n_values, np.array([self.power_fn(float(n)) for n in n_values])

    def plot(self, ax: Axes | None = None) -> Axes:
        """Power curve against the total number of patients, the design marked.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure's axes when None.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on (x: patients, or events for a design in events only).
        """
        from hsctms.plots._style import PALETTE, new_axes

        ax = new_axes(ax)
        n_values, pw = self.power_curve()
        ax.plot(n_values, pw, color=PALETTE[0], label=f"{self.method}")
        ax.axhline(self.power, color=PALETTE[7], lw=0.8, ls=":")
        size = self.n_total if math.isfinite(self.n_total) else self.extra.get("events", 0.0)
        ax.axvline(size, color=PALETTE[1], lw=0.8, ls="--", label=f"design: {size:.1f}")
        ax.set_xlabel("total number of patients" if math.isfinite(self.n_total)
                      else "number of events")
        ax.set_ylabel("power")
        ax.set_ylim(0, 1)
        ax.legend(loc="lower right")
        return ax


def _ceil(value: float) -> int | None:
    return None if not math.isfinite(value) else math.ceil(value - 1e-9)


def _jsonable(obj: Any) -> Any:
    """``obj`` made safe for ``json.dumps(..., allow_nan=False)``.

    Parameters
    ----------
    obj : object
        Nested dicts, lists, tuples, numpy arrays and scalars, floats and other values.

    Returns
    -------
    object
        The same structure with dict keys as text, tuples and arrays as lists, numpy
        scalars as Python numbers and non-finite floats as None; other values unchanged.
    """
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


jsonable = _jsonable
