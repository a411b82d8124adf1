"""EDSS trajectories after transplant: one thin line per patient (spaghetti) plus the median
and interquartile range at yearly time points."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hsctms.errors import ConfigurationError
from hsctms.plots import _checks
from hsctms.plots._style import PALETTE, new_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes


def plot_trajectories(
    visits: pd.DataFrame,
    summary: pd.DataFrame | None = None,
    ax: Axes | None = None,
    *,
    max_patients: int = 150,
    seed: int = 1,
    xmax: float | None = None,
    xlabel: str = "Years since transplant",
    ylabel: str = "EDSS",
    title: str | None = None,
) -> Axes:
    """Spaghetti plot of EDSS over time with the median (and IQR) by year.

    Parameters
    ----------
    visits
        Columns ``patient_id``, ``year`` (years from origin, baseline at <= 0) and ``edss``.
    summary
        Columns ``year``, ``median``, ``q1``, ``q3``, ``n`` (e.g. from
        :func:`hsctms.analysis.pipeline.trajectory_summary`); computed from ``visits``
        when omitted (yearly bins).
    ax
        Axes to draw on; None (default) creates a new figure.
    max_patients
        At most this many patients are drawn (random sample with ``seed``) to keep the figure
        readable; the median uses everyone.
    seed
        Seed of the random sample of patients drawn (same seed, same patients); default 1.
    xmax
        End of the x axis in years; default None (all follow-up).
    xlabel
        x-axis label; default ``"Years since transplant"``.
    ylabel
        y-axis label; default ``"EDSS"`` (the axis spans 0-10 EDSS points).
    title
        Title written at the top left; default None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on; a note at the top right says how many patients are drawn.

    Raises
    ------
    DataValidationError
        When ``visits`` (or ``summary``) is not a table with the columns above, a ``year`` is
        missing or not finite, or an ``edss`` is not numeric (missing EDSS values are allowed).
    ConfigurationError
        When ``max_patients`` is not a whole number >= 0 or ``xmax`` is not a finite number.
    """
    where = "plot_trajectories"
    _checks.frame(where, "visits", visits, ("patient_id", "year", "edss"), numeric=("year",
                  "edss"), allow_missing=("edss",))
    if summary is not None:
        _checks.frame(where, "summary", summary, ("year", "median", "q1", "q3"))
    if not isinstance(max_patients, int) or isinstance(max_patients, bool) or max_patients < 0:
        raise ConfigurationError(f"{where}: max_patients must be a whole number >= 0, got "
                                 f"{max_patients!r}.", hint="The default draws 150 patients.")
    if xmax is not None and not _checks.is_number(xmax):
        raise ConfigurationError(f"{where}: xmax must be a finite number, got {xmax!r}.",
                                 hint="Leave xmax out to show all follow-up.")
    ax = new_axes(ax, figsize=(6.4, 4.2))
    ids = visits["patient_id"].astype(str).unique()
    if ids.size > max_patients:
        rng = np.random.default_rng(seed)
        ids = rng.choice(ids, size=max_patients, replace=False)
    shown = visits[visits["patient_id"].astype(str).isin(set(ids))].sort_values(
        ["patient_id", "year"])
    for _, g in shown.groupby("patient_id", sort=False):
        ax.plot(g["year"], g["edss"], color="0.55", lw=0.6, alpha=0.35)
    if summary is None:
        v = visits.assign(bin=np.round(visits["year"]).astype(int))
        summary = v.groupby("bin")["edss"].agg(
            median="median", q1=lambda s: s.quantile(0.25), q3=lambda s: s.quantile(0.75),
            n="size").reset_index().rename(columns={"bin": "year"})
    ax.fill_between(summary["year"], summary["q1"], summary["q3"], color=PALETTE[0],
                    alpha=0.2, lw=0, label="Interquartile range")
    ax.plot(summary["year"], summary["median"], color=PALETTE[0], lw=2.4, marker="o", ms=4,
            label="Median")
    ax.set_ylim(0, 10)
    ax.set_yticks(range(0, 11))
    if xmax is not None:
        ax.set_xlim(min(0.0, float(visits["year"].min())), xmax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, loc="left")
    n_all = int(visits["patient_id"].nunique())
    ax.text(1.0, 1.01, f"{len(ids)} of {n_all} patients drawn", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=7.5, color="0.35")
    ax.legend(loc="upper left")
    return ax


def trajectories_figure(visits: pd.DataFrame, summary: pd.DataFrame | None = None,
                        **kwargs: Any) -> Any:
    """A new figure with :func:`plot_trajectories`; returns the Figure.

    Parameters
    ----------
    visits
        Columns ``patient_id``, ``year`` and ``edss`` (see :func:`plot_trajectories`).
    summary
        Optional yearly summary (``year``, ``median``, ``q1``, ``q3``); computed from
        ``visits`` when None.
    **kwargs
        Other options of :func:`plot_trajectories` (not ``ax``).

    Returns
    -------
    matplotlib.figure.Figure
        The new figure.
    """
    return plot_trajectories(visits, summary, **kwargs).figure

