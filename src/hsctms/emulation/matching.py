"""Greedy nearest-neighbour matching on the propensity score, as R ``MatchIt`` does it.

This is MatchIt's ``method = "nearest"`` (MatchIt 4.5, ``nn_matchC_vec``) written out, since no
Python library reproduces its matched sets:

* the distance is the propensity score (``distance = "glm"``) or its logit
  (``link = "linear.logit"``);
* treated patients are matched in the order of ``m_order``: ``"largest"`` score first
  (MatchIt's default for the ATT), ``"smallest"`` or ``"data"``;
* with ``ratio = k`` matching runs in ``k`` rounds: in each round every treated patient, in
  that order, takes the nearest control still available (not yet used when matching without
  replacement, not already matched to it when with replacement); a tie between the nearest
  control below and above goes to the one below (MatchIt's ``<=``);
* the caliper, in SDs of the distance over the whole sample (``std.caliper = TRUE``), bars
  controls farther than ``caliper * sd(distance)``; a treated patient without a control in
  the first round stays unmatched (weight 0);
* weights (MatchIt ``weights.matrix``): matched treated 1; each control the sum over the
  treated it serves of one over that treated patient's number of controls, then controls
  rescaled to sum to their number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hsctms._provenance import Provenance
from hsctms.emulation.propensity import PropensityScore, balance
from hsctms.errors import EstimationError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from hsctms.emulation.propensity import BalanceTable

__all__ = ["MatchOptions", "Matching", "match_nearest"]


@dataclass(frozen=True)
class MatchOptions:
    """Settings of nearest-neighbour matching (MatchIt's arguments in brackets).

    Parameters
    ----------
    ratio
        Number of controls per treated patient (``ratio``), >= 1.
    replace
        Match with replacement (``replace``).
    caliper
        Caliper in SDs of the distance (``caliper`` with ``std.caliper = TRUE``); None for none.
    distance
        ``"score"`` (``distance = "glm"``) or ``"logit"`` (``link = "linear.logit"``).
    m_order
        ``"largest"`` (default), ``"smallest"`` or ``"data"`` (``m.order``).
    """

    ratio: int = 1
    replace: bool = False
    caliper: float | None = None
    distance: str = "score"
    m_order: str = "largest"

    def __post_init__(self) -> None:
        if not isinstance(self.ratio, int) or self.ratio < 1:
            raise EstimationError(f"ratio must be an integer >= 1, not {self.ratio!r}.")
        if self.caliper is not None and not (np.isfinite(self.caliper) and self.caliper > 0):
            raise EstimationError(f"caliper must be > 0, not {self.caliper!r}.")
        if self.distance not in ("score", "logit"):
            raise EstimationError("distance must be 'score' or 'logit'.")
        if self.m_order not in ("largest", "smallest", "data"):
            raise EstimationError("m_order must be 'largest', 'smallest' or 'data'.")


@dataclass(frozen=True)
class Matching:
    """A nearest-neighbour matched sample.

    Parameters
    ----------
    treat
        Treatment indicator per patient (0.0/1.0), data order.
    distance
        The distance matched on (score or logit), per patient.
    match_matrix
        One row per treated patient (data order), ``ratio`` columns of matched control
        positions (0-based row positions in the data), -1 where none was found.
    weights
        Matching weights per patient (0 = not in the matched sample).
    options
        The settings used.
    caliper_width
        The caliper on the distance scale (``caliper * sd(distance)``), or None.
    provenance
        How the matching was done.
    """

    treat: np.ndarray
    distance: np.ndarray
    match_matrix: np.ndarray
    weights: np.ndarray
    options: MatchOptions
    caliper_width: float | None
    provenance: Provenance = field(default_factory=lambda: Provenance("match_nearest"))

    @property
    def n_matched(self) -> tuple[int, int]:
        """Numbers of treated and control patients in the matched sample."""
        m = self.weights > 0
        return int((m & (self.treat == 1)).sum()), int((m & (self.treat == 0)).sum())

    @property
    def subclass(self) -> np.ndarray:
        """Matched-set number per patient (1, 2, ... by treated row; 0 = not matched).

        A treated patient and its controls share a number: the cluster for a cluster-robust
        SE by matched set (MatchIt's ``subclass``; Austin 2011). Only defined without
        replacement, where each control is in one set.
        """
        if self.options.replace:
            raise EstimationError("Matched sets overlap when matching with replacement; "
                                  "cluster by patient instead.")
        out = np.zeros(len(self.treat), dtype=int)
        number = 0
        for row, ti in zip(self.match_matrix, np.flatnonzero(self.treat == 1), strict=True):
            got = row[row >= 0]
            if len(got):
                number += 1
                out[ti] = number
                out[got] = number
        return out

    @property
    def summary(self) -> str:
        """Sample sizes before and after matching, as text."""
        n1, n0 = self.n_matched
        o = self.options
        cal = "no caliper" if o.caliper is None else (
            f"caliper {o.caliper:g} SD = {self.caliper_width:.4g}")
        return (f"Nearest-neighbour matching 1:{o.ratio} on the {o.distance}, "
                f"{'with' if o.replace else 'without'} replacement, {o.m_order} first, {cal}: "
                f"treated {n1}/{int(self.treat.sum())}, controls {n0}/"
                f"{int((self.treat == 0).sum())} matched")

    def to_frame(self) -> pd.DataFrame:
        """One row per treated patient with the positions of its controls.

        Returns
        -------
        pandas.DataFrame
            Column ``treated`` (row position) and ``control_1`` ... ``control_k`` (position,
            or -1 when unmatched).
        """
        treated = np.flatnonzero(self.treat == 1)
        frame = pd.DataFrame(self.match_matrix,
                             columns=[f"control_{i + 1}" for i in range(self.options.ratio)])
        frame.insert(0, "treated", treated)
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            Options, caliper width, matched counts, the match matrix, weights and provenance.
        """
        n1, n0 = self.n_matched
        o = self.options
        return {
            "method": "match_nearest",
            "options": {"ratio": o.ratio, "replace": o.replace, "caliper": o.caliper,
                        "distance": o.distance, "m_order": o.m_order},
            "caliper_width": self.caliper_width,
            "n_treated_matched": n1,
            "n_control_matched": n0,
            "match_matrix": self.match_matrix.tolist(),
            "weights": [float(w) for w in self.weights],
            "provenance": self.provenance.to_dict(),
        }

    def balance(self, data: pd.DataFrame, covariates: list[str], *,
                treatment: str = "treat") -> BalanceTable:
        """Balance of ``covariates`` before and after this matching (ATT, treated SD).

        Parameters
        ----------
        data
            The data the score was fitted on, same rows.
        covariates
            Covariates to report.
        treatment
            Name of the treatment column.

        Returns
        -------
        BalanceTable
            As MatchIt's ``summary()``, with the distance first.
        """
        return balance(data, self.weights, covariates=covariates, treatment=treatment,
                       estimand="ATT", distance=self.distance)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Distance of treated patients against that of their matched controls.

        Parameters
        ----------
        ax
            Matplotlib Axes to draw on; None (default) creates a new figure.

        Returns
        -------
        matplotlib.axes.Axes
            The Axes drawn on: one point per matched pair, the diagonal for reference.
        """
        from hsctms.plots._style import PALETTE, new_axes

        ax = new_axes(ax)
        treated = np.flatnonzero(self.treat == 1)
        xs, ys = [], []
        for row, ti in zip(self.match_matrix, treated, strict=True):
            for c in row[row >= 0]:
                xs.append(self.distance[ti])
                ys.append(self.distance[c])
        ax.scatter(xs, ys, s=12, color=PALETTE[0])
        lo, hi = float(np.min(self.distance)), float(np.max(self.distance))
        ax.plot([lo, hi], [lo, hi], color="0.4", lw=0.8, ls="--")
        ax.set_xlabel(f"Treated {self.options.distance}")
        ax.set_ylabel(f"Matched control {self.options.distance}")
        return ax


def _weights(mm: np.ndarray, treat: np.ndarray) -> np.ndarray:
    w = np.zeros(len(treat))
    treated = np.flatnonzero(treat == 1)
    for row, ti in zip(mm, treated, strict=True):
        got = row[row >= 0]
        if len(got):
            w[ti] = 1.0
            np.add.at(w, got, 1.0 / len(got))
    ctrl = treat == 0
    used = ctrl & (w > 0)
    if used.any():
        w[ctrl] *= used.sum() / w[ctrl].sum()
    return w


def _nearest(ii: int, sd: np.ndarray, usable: np.ndarray, width: float | None) -> int:
    """Sorted position of the nearest usable control to sorted position ``ii``, or -1.

    The nearest usable control below and above are found first; one outside the caliper is
    dropped; of two, the one below wins a tie (MatchIt's ``<=``).
    """
    below = np.flatnonzero(usable[:ii])
    above = np.flatnonzero(usable[ii + 1:])
    left = int(below[-1]) if len(below) else -1
    right = ii + 1 + int(above[0]) if len(above) else -1
    if width is not None:
        if left >= 0 and abs(sd[ii] - sd[left]) > width:
            left = -1
        if right >= 0 and abs(sd[ii] - sd[right]) > width:
            right = -1
    if left >= 0 and right >= 0:
        return left if abs(sd[left] - sd[ii]) <= abs(sd[right] - sd[ii]) else right
    return max(left, right)


def _greedy(treat: np.ndarray, dist: np.ndarray, o: MatchOptions,
            width: float | None) -> np.ndarray:
    """The match matrix of MatchIt's ``nn_matchC_vec`` (data positions, -1 = none)."""
    n = len(treat)
    d_ord = np.argsort(dist, kind="stable")  # R's sort.list / order: stable
    pos = np.empty(n, dtype=int)
    pos[d_ord] = np.arange(n)
    sd = dist[d_ord]
    treated = np.flatnonzero(treat == 1)
    td = dist[treated]
    order = {"largest": np.argsort(-td, kind="stable"),
             "smallest": np.argsort(td, kind="stable")}.get(o.m_order,
                                                             np.arange(len(treated)))
    available = treat[d_ord] == 0
    if not available.any():
        raise EstimationError("No control patient to match.")
    mm = np.full((len(treated), o.ratio), -1, dtype=int)
    for r in range(o.ratio):
        for i in order:
            usable = available.copy()
            got = mm[i, :r][mm[i, :r] >= 0]
            usable[pos[got]] = False  # not twice to the same treated patient
            k = _nearest(int(pos[treated[i]]), sd, usable, width)
            if k < 0:
                continue
            mm[i, r] = d_ord[k]
            if not o.replace:
                available[k] = False
                if not available.any():
                    return mm
    return mm


def match_nearest(
    ps: PropensityScore, options: MatchOptions | None = None, *, distance: Any = None,
) -> Matching:
    """Greedy nearest-neighbour matching of treated to control patients (MatchIt's).

    Parameters
    ----------
    ps
        A fitted :class:`~hsctms.emulation.PropensityScore`.
    options
        A :class:`MatchOptions`; None for 1:1 without replacement, no caliper, on the score.
    distance
        Optional distance per patient to match on instead of the score or its logit (R
        ``matchit(distance = <numeric vector>)``); the caliper is then in SDs of it.

    Returns
    -------
    Matching
        Matched sets and weights equal to ``MatchIt::matchit(method = "nearest")``.

    Examples
    --------
    >>> import pandas as pd
    >>> from hsctms.emulation import propensity_score
    >>> d = pd.DataFrame({"t": [0, 0, 1, 1, 0, 0], "x": [1.0, 2.0, 3.0, 1.5, 0.5, 2.5]})
    >>> m = match_nearest(propensity_score(d, ["x"], treatment="t"))
    >>> m.n_matched
    (2, 2)
    """
    o = options or MatchOptions()
    treat = ps.treat
    if distance is None:
        dist = np.asarray(ps.score if o.distance == "score" else ps.linear, dtype=float)
    else:
        dist = np.asarray(distance, dtype=float)
        if dist.shape != treat.shape or not np.isfinite(dist).all():
            raise EstimationError("distance must be one finite number per patient.")
    n = len(treat)
    width = None if o.caliper is None else float(o.caliper * np.std(dist, ddof=1))
    # the data sorted by distance (stable, as R's sort.list)
    mm = _greedy(treat, dist, o, width)
    w = _weights(mm, treat)
    if not (w[treat == 1] > 0).any():
        raise EstimationError("No treated patient was matched; widen the caliper.")
    prov = Provenance("match_nearest", {"ratio": o.ratio, "replace": o.replace,
                                        "caliper": o.caliper, "distance": o.distance,
                                        "m_order": o.m_order,
                                        "custom_distance": distance is not None,
                                        "reference": "MatchIt 4.5 method='nearest'"}, n=n)
    return Matching(treat, dist, mm, w, o, width, prov)
