"""Group-sequential designs with Lan-DeMets alpha spending and non-binding beta-spending futility.

Boundaries are on the z-scale of the cumulative test statistic ``Z_k`` at information
fractions ``t_k`` (``Z_k ~ N(theta sqrt(t_k), 1)`` with drift ``theta``). The recursive
numerical integration uses the Jennison-Turnbull grid of the ``gsdesign`` package (``h1`` and
``hupdate``, ported from R gsDesign's C code); spending functions, the boundary search, the
drift (inflation factor) and the futility bounds are ours and are checked against rpact
``getDesignGroupSequential`` / ``getDesignCharacteristics``.

Spending functions (``t`` = information fraction, ``a`` = one-sided level):

* ``"obf"`` (Lan-DeMets O'Brien-Fleming type): ``2 (1 - Phi(z_{1-a/2} / sqrt(t)))``;
* ``"pocock"`` (Lan-DeMets Pocock type): ``a log(1 + (e - 1) t)``.

Two-sided designs are symmetric: each side spends ``alpha/2`` by the same function (rpact's
convention). Futility bounds (one-sided designs only) spend ``beta`` with the same families
(rpact ``typeBetaSpending = "bsOF"`` / ``"bsP"``), are **non-binding** (efficacy bounds are
computed as if there were none) and meet the efficacy bound at the final analysis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize, stats

from hsctms._provenance import Provenance
from hsctms.design._base import check_alpha, jsonable
from hsctms.errors import DesignError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

_N = stats.norm
SPENDING = ("obf", "pocock")
_ALIASES = {"obf": "obf", "of": "obf", "asof": "obf", "obrien-fleming": "obf",
            "pocock": "pocock", "p": "pocock", "asp": "pocock"}


def spending(t: np.ndarray | float, level: float, family: str) -> np.ndarray:
    """Cumulative error spent at information fraction(s) ``t`` (Lan-DeMets families)."""
    tt = np.asarray(t, dtype=float)
    if family == "obf":
        with np.errstate(divide="ignore"):
            out = 2 * _N.sf(_N.isf(level / 2) / np.sqrt(tt))
        return np.where(tt > 0, out, 0.0)
    if family == "pocock":
        return level * np.log1p((math.e - 1) * tt)
    raise DesignError(f"Unknown spending family {family!r}.", hint=f"Use one of {SPENDING}.")


def _family(name: str) -> str:
    fam = _ALIASES.get(name.lower())
    if fam is None:
        raise DesignError(f"Unknown spending function {name!r}.", hint=f"Use one of {SPENDING}.")
    return fam


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


def _efficacy_bounds(t: np.ndarray, alpha: float, sided: int, fam: str, r: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    per_side = alpha / sided
    cum = spending(t, per_side, fam) * sided
    inc = np.diff(np.r_[0.0, cum])
    grid = _Grid(r, 0.0, t)
    bounds = []
    for k in range(len(t)):
        target = inc[k]

        def excess(b: float, k: int = k, target: float = target) -> float:
            p = grid.cross(k, b, True)
            if sided == 2:
                p += grid.cross(k, -b, False)
            return p - target

        if target <= 0:
            b = 50.0
        else:
            b = float(optimize.brentq(excess, 0.0, 40.0, xtol=1e-14, rtol=1e-15, maxiter=500))
        bounds.append(b)
        grid.advance(k, -b if sided == 2 else -np.inf, b)
    return np.array(bounds), cum


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


def _futility_for_drift(t: np.ndarray, b: np.ndarray, theta: float, beta: float, fam: str,
                        r: int) -> tuple[np.ndarray, float]:
    """Beta-spending futility bounds for drift ``theta``; returns bounds and final gap."""
    cum = spending(t, beta, fam)
    inc = np.diff(np.r_[0.0, cum])
    grid = _Grid(r, theta, t)
    a = np.zeros(len(t))
    for k in range(len(t) - 1):
        target = inc[k]

        def gap(x: float, k: int = k, target: float = target) -> float:
            return grid.cross(k, x, False) - target

        lo, hi = -40.0, float(b[k])
        if gap(hi) <= 0:  # futility would exceed the efficacy bound: stop at b_k
            a[k] = hi
        else:
            a[k] = float(optimize.brentq(gap, lo, hi, xtol=1e-14, rtol=1e-15, maxiter=500))
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
    spending : {"obf", "pocock"}
        Lan-DeMets alpha-spending family of the efficacy bounds.
    futility_spending : {"obf", "pocock"} or None
        Beta-spending family of the futility bounds, None without futility bounds.
    efficacy : numpy.ndarray
        Efficacy bounds on the z-scale (two-sided: reject when ``|Z_k| >= efficacy_k``).
    futility : numpy.ndarray or None
        Non-binding futility bounds (z-scale; None when there are none). The last equals the
        last efficacy bound.
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
    provenance: Provenance = field(default_factory=lambda: Provenance("design.gsd"))

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
        fut = (f", non-binding {self.futility_spending} beta-spending futility"
               if self.futility is not None else "")
        bounds = ", ".join(f"{b:.4f}" for b in self.efficacy)
        return (f"{self.k} analyses at t = {', '.join(f'{x:.3g}' for x in self.info_rates)}; "
                f"Lan-DeMets {self.spending} alpha spending, {side} alpha {self.alpha:g}{fut}. "
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
                    label="futility (non-binding)")
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
    spending_function: str = "obf",
    futility: str | None = None,
    grid_points: int = 32,
) -> GroupSequentialDesign:
    """Lan-DeMets group-sequential design.

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
    spending_function : {"obf", "pocock"}, default "obf"
        Lan-DeMets alpha-spending type (O'Brien-Fleming or Pocock).
    futility : {"obf", "pocock"}, optional
        Beta-spending type of non-binding futility bounds (one-sided only); None (or
        ``"none"``) for no futility bounds.
    grid_points : int, default 32
        ``r`` of the Jennison-Turnbull grid (32 gives ~1e-7 agreement with rpact).

    Returns
    -------
    GroupSequentialDesign
        Bounds, spent errors, drift, inflation factor and expected sample sizes.

    Raises
    ------
    DesignError
        When the information fractions, levels or spending functions are invalid, or
        futility bounds are asked for a two-sided design.

    Examples
    --------
    >>> d = group_sequential(k=3)
    >>> [round(float(b), 4) for b in d.efficacy]
    [3.7103, 2.5114, 1.993]
    """
    t = _info(info_rates, k)
    check_alpha(alpha, sided)
    if not 0 < beta < 1 - alpha / sided:
        raise DesignError(f"beta must lie in (0, 1 - alpha), got {beta!r}.")
    fam = _family(spending_function)
    fut_fam = None if futility in (None, "none") else _family(str(futility))
    if fut_fam is not None and sided == 2:
        raise DesignError("Futility bounds are supported for one-sided designs only.",
                          hint="Use sided=1 with alpha = one-sided level (e.g. 0.025).")
    b, cum_alpha = _efficacy_bounds(t, alpha, sided, fam, grid_points)
    z_fixed = _N.isf(alpha / sided) + _N.isf(beta)
    fut_bounds: np.ndarray | None = None
    if fut_fam is None:
        def power_gap(theta: float) -> float:
            # power = rejection in the direction of the effect (as rpact); a two-sided
            # design still stops when the lower bound is crossed
            up, _, _ = _run_h1(t, b, theta, sided, grid_points, None)
            return float(up.sum()) - (1 - beta)

        theta = float(optimize.brentq(power_gap, 0.0, 3 * z_fixed + 10, xtol=1e-13,
                                      rtol=1e-15, maxiter=500))
        beta_spent = None
    else:
        def final_gap(theta: float) -> float:
            return _futility_for_drift(t, b, theta, beta, fut_fam, grid_points)[1]

        theta = float(optimize.brentq(final_gap, 1e-6, 3 * z_fixed + 10, xtol=1e-13,
                                      rtol=1e-15, maxiter=500))
        fut_bounds, _ = _futility_for_drift(t, b, theta, beta, fut_fam, grid_points)
        beta_spent = spending(t, beta, fut_fam)
    up, down, fut_p = _run_h1(t, b, theta, sided, grid_points, fut_bounds)
    stop_h1 = up + down + fut_p
    infl = (theta / z_fixed) ** 2
    exp_h1 = infl * _expected_fraction(t, stop_h1)
    up0, down0, fut0 = _run_h1(t, b, 0.0, sided, grid_points, fut_bounds)
    exp_h0 = infl * _expected_fraction(t, up0 + down0 + fut0)
    definition = {"info_rates": t.tolist(), "alpha": alpha, "beta": beta, "sided": sided,
                  "spending": fam, "futility": fut_fam, "grid_points": grid_points}
    return GroupSequentialDesign(
        info_rates=t, alpha=alpha, beta=beta, sided=sided, spending=fam,
        futility_spending=fut_fam, efficacy=b, futility=fut_bounds,
        alpha_spent=cum_alpha, beta_spent=beta_spent, stage_levels=_N.sf(b),
        drift=theta, inflation_factor=infl, rejection_h1=up, futility_h1=fut_p,
        expected_n_h1=exp_h1, expected_n_h0=exp_h0, grid_points=grid_points,
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
