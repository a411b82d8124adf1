"""Group-sequential designs: Lan-DeMets alpha spending or fixed boundaries, with beta-spending
futility (non-binding by default, or binding).

Boundaries are on the z-scale of the cumulative test statistic ``Z_k`` at information
fractions ``t_k`` (``Z_k ~ N(theta sqrt(t_k), 1)`` with drift ``theta``). The recursive
numerical integration uses the Jennison-Turnbull grid of the ``gsdesign`` package (``h1`` and
``hupdate``, ported from R gsDesign's C code); spending functions, the boundary search, the
drift (inflation factor) and the futility bounds are ours and are checked against rpact
``getDesignGroupSequential`` / ``getDesignCharacteristics`` / ``getPowerAndAverageSampleNumber``.

Spending functions (``t`` = information fraction, ``a`` = one-sided level):

* ``"obf"`` (Lan-DeMets O'Brien-Fleming type): ``2 (1 - Phi(z_{1-a/2} / sqrt(t)))``;
* ``"pocock"`` (Lan-DeMets Pocock type): ``a log(1 + (e - 1) t)``;
* ``"kd"`` (Kim-DeMets power family, rpact ``asKD``): ``a t^gamma``;
* ``"hsd"`` (Hwang-Shih-DeCani, rpact ``asHSD``): ``a (1 - e^{-gamma t}) / (1 - e^{-gamma})``.

Fixed boundaries (not spending functions; :class:`~hsctms.design.options.Boundary`):
Haybittle-Peto (``"hp"``: z = 3 at the interims, the final bound keeping the level exact) and
Wang-Tsiatis (``"wt"``: ``c t_k^(delta - 1/2)``).

Two-sided designs are symmetric: each side spends ``alpha/2`` by the same function (rpact's
convention). Futility bounds (one-sided spending designs only) spend ``beta`` with the same
families (rpact ``typeBetaSpending = "bsOF"``, ``"bsP"``, ``"bsKD"``, ``"bsHSD"``) and meet the
efficacy bound at the final analysis. They are **non-binding by default** (as rpact): the
efficacy bounds are computed as if there were none. With ``Futility(binding=True)`` the
efficacy bounds spend alpha among the trials that have not stopped for futility, which lowers
them (rpact ``bindingFutility = TRUE``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize, stats

from hsctms._provenance import Provenance
from hsctms.design._base import check_alpha, jsonable
from hsctms.design.options import SPENDING_FAMILIES, Boundary, Futility
from hsctms.errors import DesignError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

_N = stats.norm
SPENDING = SPENDING_FAMILIES


def spending(t: np.ndarray | float, level: float, family: str,
             gamma: float | None = None) -> np.ndarray:
    """Cumulative error spent at information fraction(s) ``t`` (Lan-DeMets families).

    Parameters
    ----------
    t : float or numpy.ndarray
        Information fraction(s) in [0, 1].
    level : float
        Total error to spend by ``t = 1``.
    family : {"obf", "pocock", "kd", "hsd"}
        Spending family.
    gamma : float, optional
        Parameter of ``"kd"`` (``level t^gamma``) and ``"hsd"``
        (``level (1 - e^{-gamma t}) / (1 - e^{-gamma})``).

    Returns
    -------
    numpy.ndarray
        The cumulative error spent.
    """
    tt = np.asarray(t, dtype=float)
    if family == "obf":
        with np.errstate(divide="ignore"):
            out = 2 * _N.sf(_N.isf(level / 2) / np.sqrt(tt))
        return np.where(tt > 0, out, 0.0)
    if family == "pocock":
        return level * np.log1p((math.e - 1) * tt)
    if family == "kd" and gamma is not None:
        return level * tt ** gamma
    if family == "hsd" and gamma is not None:
        if gamma == 0:
            return level * tt
        return level * np.expm1(-gamma * tt) / math.expm1(-gamma)
    raise DesignError(f"Unknown spending family {family!r} (or missing gamma).",
                      hint=f"Use one of {SPENDING}; 'kd' and 'hsd' need gamma.")


def _boundary(spec: str | Boundary) -> Boundary:
    return spec if isinstance(spec, Boundary) else Boundary(str(spec))


def _futility_spec(spec: str | Futility | None) -> Futility | None:
    if spec is None or (isinstance(spec, str) and spec.lower() == "none"):
        return None
    return spec if isinstance(spec, Futility) else Futility(str(spec))


class _Grid:
    """Density of Z on the continuation region, carried from analysis to analysis."""

    def __init__(self, r: int, theta: float, t: np.ndarray) -> None:
        self.r, self.theta, self.t = r, theta, t
        self.g: Any = None
        self.empty = False

    def cross(self, k: int, bound: float, upper: bool) -> float:
        """P(continue to analysis k and Z_k beyond ``bound``) (above if upper, else below)."""
        if self.empty:
            return 0.0
        tk = self.t[k]
        if k == 0:
            mean = self.theta * math.sqrt(tk)
            return float(_N.sf(bound - mean) if upper else _N.cdf(bound - mean))
        z, _, h = self.g
        tp = self.t[k - 1]
        shift = self.theta * (tk - tp)
        x = (bound * math.sqrt(tk) - z * math.sqrt(tp) - shift) / math.sqrt(tk - tp)
        return float(np.sum(h * (_N.sf(x) if upper else _N.cdf(x))))

    def advance(self, k: int, lower: float, upper: float) -> None:
        """Restrict to ``lower < Z_k < upper`` and move to analysis k."""
        from gsdesign import h1, hupdate

        lo = -np.inf if lower <= -50 else lower
        hi = np.inf if upper >= 50 else upper
        if self.empty or lo >= hi:
            self.empty = True
            return
        if k == 0:
            self.g = h1(r=self.r, theta=self.theta, info=float(self.t[0]), a=lo, b=hi)
        else:
            self.g = hupdate(r=self.r, theta=self.theta, info=float(self.t[k]), a=lo, b=hi,
                             theta_prev=self.theta, info_prev=float(self.t[k - 1]), gm1=self.g)


def _efficacy_bounds(t: np.ndarray, alpha: float, sided: int, bound: Boundary, r: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Efficacy bounds (futility ignored) and the cumulative alpha they spend."""
    if not bound.is_spending:
        return _fixed_bounds(t, alpha, sided, bound, r)
    per_side = alpha / sided
    cum = spending(t, per_side, bound.family, bound.gamma) * sided
    inc = np.diff(np.r_[0.0, cum])
    grid = _Grid(r, 0.0, t)
    bounds = []
    for k in range(len(t)):
        b = _spend_bound(grid, k, inc[k], sided)
        bounds.append(b)
        grid.advance(k, -b if sided == 2 else -np.inf, b)
    return np.array(bounds), cum


def _spend_bound(grid: _Grid, k: int, target: float, sided: int) -> float:
    """The bound at analysis k crossed (either side when two-sided) with probability target."""
    def excess(b: float) -> float:
        p = grid.cross(k, b, True)
        if sided == 2:
            p += grid.cross(k, -b, False)
        return p - target

    if target <= 0:
        return 50.0
    lo = 0.0 if sided == 2 else -40.0
    if excess(lo) <= 0:  # (binding futility, extreme drift) too little left to spend
        return lo
    return float(optimize.brentq(excess, lo, 40.0, xtol=1e-14,
                                 rtol=1e-15, maxiter=500))


def _fixed_bounds(t: np.ndarray, alpha: float, sided: int, bound: Boundary, r: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Haybittle-Peto or Wang-Tsiatis bounds with overall level exactly ``alpha``."""
    if bound.family == "hp":
        def shape(c: float) -> np.ndarray:
            return np.r_[np.full(len(t) - 1, bound.interim_bound), c]
    else:
        delta = float(bound.delta if bound.delta is not None else 0.0)

        def shape(c: float) -> np.ndarray:
            return c * t ** (delta - 0.5)

    def level(c: float) -> float:
        up, down, _ = _run_h1(t, shape(c), 0.0, sided, r, None)
        return float(up.sum() + down.sum()) - alpha

    if level(40.0) >= 0:
        raise DesignError("The Haybittle-Peto interim bound spends more than alpha.",
                          hint="Use a larger interim_bound (e.g. 3).")
    c = float(optimize.brentq(level, 0.0 if sided == 2 else -40.0, 40.0, xtol=1e-14,
                              rtol=1e-15, maxiter=500))
    b = shape(c)
    up, down, _ = _run_h1(t, b, 0.0, sided, r, None)
    return b, np.cumsum(up + down)


def _binding_for_drift(t: np.ndarray, alpha: float, bound: Boundary, fut: Futility,
                       theta: float, beta: float, r: int
                       ) -> tuple[np.ndarray, np.ndarray, float]:
    """Binding futility (one-sided): efficacy bounds spend alpha under H0 among the trials
    that crossed neither bound before; futility bounds spend beta under drift ``theta``.
    Returns efficacy bounds, futility bounds and the final beta gap."""
    inc_a = np.diff(np.r_[0.0, spending(t, alpha, bound.family, bound.gamma)])
    inc_b = np.diff(np.r_[0.0, spending(t, beta, fut.spending, fut.gamma)])
    g0, g1 = _Grid(r, 0.0, t), _Grid(r, theta, t)
    b, a = np.zeros(len(t)), np.zeros(len(t))
    for k in range(len(t)):
        b[k] = _spend_bound(g0, k, inc_a[k], 1)
        if k == len(t) - 1:
            break
        a[k] = _futility_bound(g1, k, inc_b[k], b[k])
        g0.advance(k, a[k], b[k])
        g1.advance(k, a[k], b[k])
    k = len(t) - 1
    a[k] = b[k]
    return b, a, g1.cross(k, b[k], False) - inc_b[k]


def _futility_bound(grid: _Grid, k: int, target: float, upper: float) -> float:
    def gap(x: float) -> float:
        return grid.cross(k, x, False) - target

    if gap(upper) <= 0:  # futility would exceed the efficacy bound: stop at b_k
        return upper
    return float(optimize.brentq(gap, -40.0, upper, xtol=1e-14, rtol=1e-15, maxiter=500))


def _run_h1(t: np.ndarray, b: np.ndarray, theta: float, sided: int, r: int,
            futility: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-stage probabilities of crossing up, crossing down (efficacy, two-sided) and futility."""
    grid = _Grid(r, theta, t)
    up, down, fut = np.zeros(len(t)), np.zeros(len(t)), np.zeros(len(t))
    for k in range(len(t)):
        up[k] = grid.cross(k, b[k], True)
        low = -np.inf
        if sided == 2:
            down[k] = grid.cross(k, -b[k], False)
            low = -b[k]
        elif futility is not None and k < len(t) - 1:
            low = futility[k]
            fut[k] = grid.cross(k, low, False)
        if k < len(t) - 1:
            grid.advance(k, low, b[k])
    return up, down, fut


def _futility_for_drift(t: np.ndarray, b: np.ndarray, theta: float, beta: float,
                        fut: Futility, r: int) -> tuple[np.ndarray, float]:
    """Non-binding beta-spending futility bounds for drift ``theta``; bounds and final gap."""
    inc = np.diff(np.r_[0.0, spending(t, beta, fut.spending, fut.gamma)])
    grid = _Grid(r, theta, t)
    a = np.zeros(len(t))
    for k in range(len(t) - 1):
        a[k] = _futility_bound(grid, k, inc[k], float(b[k]))
        grid.advance(k, a[k], b[k])
    k = len(t) - 1
    a[k] = b[k]
    return a, grid.cross(k, b[k], False) - inc[k]


@dataclass(frozen=True)
class GroupSequentialDesign:
    """A group-sequential boundary set and its operating characteristics.

    Built by :func:`group_sequential`; all arrays have one entry per analysis.

    Parameters
    ----------
    info_rates : numpy.ndarray
        Information fractions ``t_1 < ... < t_K = 1``.
    alpha : float
        Overall significance level (one-sided level when ``sided=1``, both sides together
        when ``sided=2``).
    beta : float
        Type II error the drift and the inflation factor are computed for (power
        ``1 - beta``).
    sided : {1, 2}
        One-sided or symmetric two-sided bounds.
    spending : {"obf", "pocock", "kd", "hsd", "hp", "wt"}
        Alpha-spending family (or fixed boundary) of the efficacy bounds.
    futility_spending : {"obf", "pocock", "kd", "hsd"} or None
        Beta-spending family of the futility bounds, None without futility bounds.
    efficacy : numpy.ndarray
        Efficacy bounds on the z-scale (two-sided: reject when ``|Z_k| >= efficacy_k``).
    futility : numpy.ndarray or None
        Futility bounds (z-scale; None when there are none; non-binding unless
        ``futility_rule.binding``). The last equals the last efficacy bound.
    alpha_spent : numpy.ndarray
        Cumulative alpha spent by each analysis (two-sided: both sides together).
    beta_spent : numpy.ndarray or None
        Cumulative beta spent by each analysis (None without futility bounds).
    stage_levels : numpy.ndarray
        Nominal one-sided p-value thresholds ``1 - Phi(efficacy_k)``.
    drift : float
        ``theta`` giving power ``1 - beta``: ``E[Z_K] = theta``.
    inflation_factor : float
        Maximum sample size relative to the fixed design: ``(theta / (z_a + z_b))^2``.
    rejection_h1 : numpy.ndarray
        Per-stage probabilities of stopping for efficacy under H1 (in the direction of the
        effect).
    futility_h1 : numpy.ndarray
        Per-stage probabilities of stopping for futility under H1 (zeros without futility
        bounds).
    expected_n_h1 : float
        Expected sample size relative to the fixed design under H1.
    expected_n_h0 : float
        Expected sample size relative to the fixed design under H0 (futility obeyed).
    grid_points : int
        ``r`` of the Jennison-Turnbull integration grid used.
    boundary : Boundary
        The efficacy boundary: spending family with its ``gamma``, or the Haybittle-Peto /
        Wang-Tsiatis fixed boundary.
    futility_rule : Futility or None
        The futility rule (family, ``gamma``, binding or not); None without futility bounds.
    provenance : Provenance
        What was computed from which inputs (``design.gsd``).
    """

    info_rates: np.ndarray
    alpha: float
    beta: float
    sided: int
    spending: str
    futility_spending: str | None
    efficacy: np.ndarray
    futility: np.ndarray | None
    alpha_spent: np.ndarray
    beta_spent: np.ndarray | None
    stage_levels: np.ndarray
    drift: float
    inflation_factor: float
    rejection_h1: np.ndarray
    futility_h1: np.ndarray
    expected_n_h1: float
    expected_n_h0: float
    grid_points: int
    boundary: Boundary = field(default_factory=Boundary)
    futility_rule: Futility | None = None
    provenance: Provenance = field(default_factory=lambda: Provenance("design.gsd"))

    @property
    def binding_futility(self) -> bool:
        """True when the efficacy bounds assume futility stopping is obeyed (binding)."""
        return self.futility_rule is not None and self.futility_rule.binding

    def power(self, drift: float) -> float:
        """Probability of rejecting H0 for a drift (futility bounds obeyed).

        Parameters
        ----------
        drift : float
            ``E[Z_K]`` at the final analysis: the standardised effect times the square root
            of the maximum information (rpact ``theta * sqrt(nMax)`` for one-sample means).

        Returns
        -------
        float
            Overall rejection probability; for a two-sided design both sides together (as
            rpact's ``overallReject``), so ``power(0)`` is the level.
        """
        up, down, _ = _run_h1(self.info_rates, self.efficacy, float(drift), self.sided,
                              self.grid_points, self.futility)
        return float(up.sum() + down.sum())

    def expected_fraction(self, drift: float) -> float:
        """Expected sample size as a fraction of the maximum, for a drift.

        Parameters
        ----------
        drift : float
            ``E[Z_K]`` at the final analysis (see :meth:`power`).

        Returns
        -------
        float
            ``sum_k t_k P(stop at k)`` with futility bounds obeyed (rpact
            ``averageSampleNumber / nMax``).
        """
        up, down, fut = _run_h1(self.info_rates, self.efficacy, float(drift), self.sided,
                                self.grid_points, self.futility)
        return _expected_fraction(self.info_rates, up + down + fut)

    @property
    def k(self) -> int:
        """Number of analyses."""
        return len(self.info_rates)

    def max_sample_size(self, fixed_n: float) -> float:
        """Maximum sample size (or events) for a fixed-design size ``fixed_n``.

        Parameters
        ----------
        fixed_n : float
            Patients (or events) the fixed design needs for the same alpha and power.

        Returns
        -------
        float
            ``fixed_n`` times the inflation factor, not rounded.
        """
        return fixed_n * self.inflation_factor

    def stage_sizes(self, fixed_n: float) -> np.ndarray:
        """Cumulative sample size (or events) at each analysis.

        Parameters
        ----------
        fixed_n : float
            Patients (or events) the fixed design needs for the same alpha and power.

        Returns
        -------
        numpy.ndarray
            ``info_rates`` times :meth:`max_sample_size`, one entry per analysis, not
            rounded.
        """
        return self.info_rates * self.max_sample_size(fixed_n)

    @property
    def summary(self) -> str:
        """The design in words."""
        side = "two-sided" if self.sided == 2 else "one-sided"
        fut = (f", {self.futility_rule.label} beta-spending futility"
               if self.futility_rule is not None else "")
        kind = (f"Lan-DeMets {self.boundary.label} alpha spending" if self.boundary.is_spending
                else {"hp": "Haybittle-Peto", "wt": "Wang-Tsiatis"}[self.boundary.family]
                + f" boundary ({self.boundary.label[4:-1]})")
        bounds = ", ".join(f"{b:.4f}" for b in self.efficacy)
        return (f"{self.k} analyses at t = {', '.join(f'{x:.3g}' for x in self.info_rates)}; "
                f"{kind}, {side} alpha {self.alpha:g}{fut}. "
                f"Efficacy z-bounds {bounds}; inflation factor {self.inflation_factor:.5f} "
                f"(power {1 - self.beta:g}); expected n under H1 "
                f"{self.expected_n_h1:.3f} x fixed.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (schema ``hsctms.design.gsd/1``).

        Returns
        -------
        dict
            The inputs, bounds, spent errors and operating characteristics (arrays as
            lists) and the provenance.
        """
        return jsonable({
            "schema": "hsctms.design.gsd/1",
            "info_rates": self.info_rates, "alpha": self.alpha, "beta": self.beta,
            "sided": self.sided, "spending": self.spending,
            "futility_spending": self.futility_spending,
            "efficacy": self.efficacy,
            "futility": None if self.futility is None else self.futility,
            "alpha_spent": self.alpha_spent,
            "beta_spent": None if self.beta_spent is None else self.beta_spent,
            "stage_levels": self.stage_levels, "drift": self.drift,
            "inflation_factor": self.inflation_factor, "rejection_h1": self.rejection_h1,
            "futility_h1": self.futility_h1, "expected_n_h1": self.expected_n_h1,
            "expected_n_h0": self.expected_n_h0, "grid_points": self.grid_points,
            "boundary": self.boundary.to_dict(),
            "futility_rule": None if self.futility_rule is None else self.futility_rule.to_dict(),
            "binding_futility": self.binding_futility,
            "provenance": self.provenance.to_dict(),
        })

    def plot(self, ax: Axes | None = None) -> Axes:
        """Boundaries on the z-scale against the information fraction.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure's axes when None.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.
        """
        from hsctms.plots._style import PALETTE, new_axes

        ax = new_axes(ax)
        ax.plot(self.info_rates, self.efficacy, "o-", color=PALETTE[0], label="efficacy")
        if self.sided == 2:
            ax.plot(self.info_rates, -self.efficacy, "o-", color=PALETTE[0])
        if self.futility is not None:
            ax.plot(self.info_rates, self.futility, "s--", color=PALETTE[1],
                    label=f"futility ({'binding' if self.binding_futility else 'non-binding'})")
        ax.set_xlabel("information fraction")
        ax.set_ylabel("z boundary")
        ax.set_xlim(0, 1.05)
        ax.legend(loc="best")
        return ax


def group_sequential(
    info_rates: list[float] | np.ndarray | None = None,
    *,
    k: int | None = None,
    alpha: float = 0.025,
    beta: float = 0.2,
    sided: int = 1,
    spending_function: str | Boundary = "obf",
    futility: str | Futility | None = None,
    grid_points: int = 32,
) -> GroupSequentialDesign:
    """Group-sequential design: Lan-DeMets spending or a Haybittle-Peto / Wang-Tsiatis boundary.

    Parameters
    ----------
    info_rates : sequence of float, optional
        Information fractions of the analyses (strictly increasing from > 0, last = 1), e.g.
        ``[0.5, 1]`` for one interim at half the information. Or give ``k``.
    k : int, optional
        Number of equally spaced analyses (``t_k = k / K``), used when ``info_rates`` is
        None.
    alpha : float, default 0.025
        Overall significance level (one-sided level for ``sided=1``, total for ``sided=2``).
    beta : float, default 0.2
        Type II error (power ``1 - beta``) for the drift / inflation factor.
    sided : {1, 2}, default 1
        One-sided or symmetric two-sided bounds.
    spending_function : str or Boundary, default "obf"
        The efficacy bounds: a family name (``"obf"``, ``"pocock"``) or a
        :class:`~hsctms.design.options.Boundary` (Kim-DeMets ``"kd"`` and
        Hwang-Shih-DeCani ``"hsd"`` spending with ``gamma``, Haybittle-Peto ``"hp"``,
        Wang-Tsiatis ``"wt"`` with ``delta``).
    futility : str or Futility, optional
        Beta-spending futility bounds (one-sided spending designs only): a family name
        (non-binding) or a :class:`~hsctms.design.options.Futility` (family, gamma,
        ``binding``). **Non-binding by default**, as in rpact. None (or ``"none"``) for no
        futility bounds.
    grid_points : int, default 32
        ``r`` of the Jennison-Turnbull grid (32 gives ~1e-7 agreement with rpact).

    Returns
    -------
    GroupSequentialDesign
        Bounds, spent errors, drift, inflation factor and expected sample sizes.

    Raises
    ------
    DesignError
        When the information fractions, levels or boundaries are invalid, or futility
        bounds are asked for a two-sided or fixed-boundary (HP, WT) design.

    Examples
    --------
    >>> d = group_sequential(k=3)
    >>> [round(float(b), 4) for b in d.efficacy]
    [3.7103, 2.5114, 1.993]
    >>> wt = group_sequential(k=3, spending_function=Boundary("wt", delta=0.25))
    >>> [round(float(b), 4) for b in wt.efficacy]
    [2.7411, 2.305, 2.0828]
    """
    t = _info(info_rates, k)
    check_alpha(alpha, sided)
    if not 0 < beta < 1 - alpha / sided:
        raise DesignError(f"beta must lie in (0, 1 - alpha), got {beta!r}.")
    bound = _boundary(spending_function)
    fut = _futility_spec(futility)
    if fut is not None and sided == 2:
        raise DesignError("Futility bounds are supported for one-sided designs only.",
                          hint="Use sided=1 with alpha = one-sided level (e.g. 0.025).")
    if fut is not None and not bound.is_spending:
        raise DesignError("Beta-spending futility bounds need an alpha-spending design "
                          f"(not {bound.family!r}), as in rpact.",
                          hint="Use spending 'obf', 'pocock', 'kd' or 'hsd' with futility.")
    r = grid_points
    z_fixed = _N.isf(alpha / sided) + _N.isf(beta)
    fut_bounds: np.ndarray | None = None
    beta_spent: np.ndarray | None = None
    upper = 3 * z_fixed + 10
    if fut is not None and fut.binding:
        def binding_gap(theta: float) -> float:
            return _binding_for_drift(t, alpha, bound, fut, theta, beta, r)[2]

        theta = float(optimize.brentq(binding_gap, 1e-6, upper, xtol=1e-13, rtol=1e-15,
                                      maxiter=500))
        b, fut_bounds, _ = _binding_for_drift(t, alpha, bound, fut, theta, beta, r)
        cum_alpha = spending(t, alpha, bound.family, bound.gamma)
        beta_spent = spending(t, beta, fut.spending, fut.gamma)
    else:
        b, cum_alpha = _efficacy_bounds(t, alpha, sided, bound, r)
        if fut is None:
            def power_gap(theta: float) -> float:
                # power = rejection in the direction of the effect (as rpact); a two-sided
                # design still stops when the lower bound is crossed
                up, _, _ = _run_h1(t, b, theta, sided, r, None)
                return float(up.sum()) - (1 - beta)

            theta = float(optimize.brentq(power_gap, 0.0, upper, xtol=1e-13, rtol=1e-15,
                                          maxiter=500))
        else:
            def final_gap(theta: float) -> float:
                return _futility_for_drift(t, b, theta, beta, fut, r)[1]

            theta = float(optimize.brentq(final_gap, 1e-6, upper, xtol=1e-13, rtol=1e-15,
                                          maxiter=500))
            fut_bounds, _ = _futility_for_drift(t, b, theta, beta, fut, r)
            beta_spent = spending(t, beta, fut.spending, fut.gamma)
    up, down, fut_p = _run_h1(t, b, theta, sided, r, fut_bounds)
    infl = (theta / z_fixed) ** 2
    exp_h1 = infl * _expected_fraction(t, up + down + fut_p)
    up0, down0, fut0 = _run_h1(t, b, 0.0, sided, r, fut_bounds)
    exp_h0 = infl * _expected_fraction(t, up0 + down0 + fut0)
    definition = {"info_rates": t.tolist(), "alpha": alpha, "beta": beta, "sided": sided,
                  "spending": bound.family, "boundary": bound.to_dict(),
                  "futility": None if fut is None else fut.spending,
                  "futility_rule": None if fut is None else fut.to_dict(),
                  "grid_points": r}
    return GroupSequentialDesign(
        info_rates=t, alpha=alpha, beta=beta, sided=sided, spending=bound.family,
        futility_spending=None if fut is None else fut.spending, efficacy=b,
        futility=fut_bounds, alpha_spent=cum_alpha, beta_spent=beta_spent,
        stage_levels=_N.sf(b), drift=theta, inflation_factor=infl, rejection_h1=up,
        futility_h1=fut_p, expected_n_h1=exp_h1, expected_n_h0=exp_h0, grid_points=r,
        boundary=bound, futility_rule=fut,
        provenance=Provenance("design.gsd", definition=definition),
    )


def _expected_fraction(t: np.ndarray, stop: np.ndarray) -> float:
    stop = stop.copy()
    stop[-1] = max(0.0, 1.0 - stop[:-1].sum())
    return float(np.sum(t * stop))


def _info(info_rates: list[float] | np.ndarray | None, k: int | None) -> np.ndarray:
    if info_rates is None:
        if k is None or k < 1:
            raise DesignError("Give info_rates or the number of analyses k >= 1.")
        return np.arange(1, k + 1) / k
    t = np.asarray(info_rates, dtype=float)
    if t.ndim != 1 or len(t) < 1 or np.any(np.diff(t) <= 0) or t[0] <= 0 or abs(t[-1] - 1) > 1e-12:
        raise DesignError(f"info_rates must increase strictly from >0 to 1, got {t.tolist()}.",
                          hint="E.g. [0.5, 1] for one interim analysis at half the information.")
    return t


def type_ii_error(*, beta: float | None = None, power: float | None = None,
                  default: float = 0.2) -> float:
    """The type II error from either ``beta`` or ``power`` (not both).

    Parameters
    ----------
    beta : float, optional
        Type II error, in (0, 1).
    power : float, optional
        Power ``1 - beta``, in (0, 1).
    default : float, default 0.2
        ``beta`` when neither is given.

    Returns
    -------
    float
        ``beta``, ``1 - power`` or ``default``.

    Raises
    ------
    DesignError
        When both are given (they are mutually exclusive) or the value is outside (0, 1).

    Examples
    --------
    >>> round(type_ii_error(power=0.9), 10)
    0.1
    """
    if beta is not None and power is not None:
        raise DesignError(f"Give either beta ({beta!r}) or power ({power!r}), not both.",
                          hint="power = 1 - beta; e.g. --power 0.9 alone.")
    value = default if beta is None and power is None else (
        beta if beta is not None else 1 - float(power))  # type: ignore[arg-type]
    if not 0 < value < 1:
        raise DesignError(f"beta must lie in (0, 1), got {value!r}.",
                          hint="Give power as a fraction, e.g. 0.8 for 80%.")
    return float(value)
