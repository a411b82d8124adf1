"""Kaplan-Meier and cumulative-incidence figures with CI bands, censoring marks and a
numbers-at-risk table under the axis (publication style, Okabe-Ito colours).

Numbers at risk are #(T >= t) (R's convention), computed from the fitted objects, not by a
plotting library.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hsctms.errors import ConfigurationError
from hsctms.plots import _checks
from hsctms.plots._style import PALETTE, new_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from hsctms.survival.cif import CumulativeIncidence
    from hsctms.survival.km import KaplanMeier


#: Risk table: top of its heading and height of a row, in points below the axis.
_RISK_TOP = 44.0
_RISK_ROW = 10.0
#: x-axis label of the survival figures (the unit in parentheses, as journals ask).
XLABEL = "Time since transplant (years)"


def _percent_axis(ax: Axes, label: str) -> None:
    """y axis in percent: ticks 0-100 and the unit in the label, as journals print them."""
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{round(100 * v, 6):g}"))
    ax.set_ylabel(label if "%" in label else f"{label} (%)")


def _risk_times(max_t: float, times: Sequence[float] | None) -> list[float]:
    if times is not None:
        return [float(t) for t in times]
    step = 1.0 if max_t <= 10 else float(np.ceil(max_t / 8))
    return [float(t) for t in np.arange(0.0, max_t + 1e-9, step)]


def add_risk_table(
    ax: Axes,
    labels: Sequence[str],
    counts: Sequence[Sequence[int]],
    times: Sequence[float],
    colors: Sequence[str],
    *,
    title: str = "Number at risk",
) -> None:
    """Write a numbers-at-risk table under ``ax`` (one row per curve, columns at ``times``).

    Parameters
    ----------
    ax
        Axes whose x axis the columns align with (times in data coordinates).
    labels
        Row labels, one per curve (written left of the axis in the curve's colour).
    counts
        One row of counts per label, one count per entry of ``times`` (e.g.
        ``fit.at_risk(times)``).
    times
        Times of the columns, in the unit of the x axis.
    colors
        Colours of the row labels, cycled when there are more rows than colours.
    title
        Heading written above the table; default ``"Number at risk"``.

    Raises
    ------
    ConfigurationError
        When ``colors`` is empty or the counts do not have one row per label and one count
        per time.
    """
    from matplotlib.transforms import Affine2D, ScaledTranslation, blended_transform_factory

    _checks.colours("add_risk_table", colors)
    if len(labels) != len(counts) or any(len(row) != len(times) for row in counts):
        raise ConfigurationError(
            f"add_risk_table needs one row of counts per label ({len(labels)}) and one count "
            f"per time ({len(times)}), got {len(counts)} row(s) of "
            f"{sorted({len(r) for r in counts})} count(s).",
            hint="Compute the counts with fit.at_risk(times) for each fit.")

    # y positions in points below the axis (under the tick labels and the x label), so the
    # table keeps its spacing at any figure size (journal column widths included)
    fig = ax.figure
    axes_box: Any = ax.transAxes  # an affine BboxTransformTo (typed as any Transform)
    points = (Affine2D().scale(1.0, -1.0 / 72.0) + fig.dpi_scale_trans
              + ScaledTranslation(0.0, 0.0, axes_box))
    left = blended_transform_factory(
        ax.transAxes + ScaledTranslation(-24.0 / 72.0, 0.0, fig.dpi_scale_trans), points)
    data_x = blended_transform_factory(ax.transData, points)
    ax.text(0.0, _RISK_TOP, title, transform=blended_transform_factory(ax.transAxes, points),
            ha="left", va="bottom", fontsize=8, fontweight="bold")
    for i, (label, row) in enumerate(zip(labels, counts, strict=True)):
        y = _RISK_TOP + _RISK_ROW * (i + 0.6)
        ax.text(0.0, y, label, transform=left, ha="right", va="center", fontsize=7.5,
                color=colors[i % len(colors)])
        for t, c in zip(times, row, strict=True):
            ax.text(t, y, f"{int(c)}", transform=data_x, ha="center",
                    va="center", fontsize=7.5, clip_on=False)


def _step(ax: Axes, x: np.ndarray, y: np.ndarray, lo: np.ndarray | None,
          hi: np.ndarray | None, color: str, label: str | None, start: float,
          ci: bool) -> None:
    # keep only the points where the curve or its band changes (censoring-only times add
    # nothing to a step plot), plus the last time so the curve reaches the end of follow-up
    change = np.r_[True, np.diff(y) != 0]
    if lo is not None and hi is not None:
        change |= np.r_[True, (np.diff(lo) != 0) | (np.diff(hi) != 0)]
    if change.size:
        change[-1] = True
        x, y = x[change], y[change]
        lo = lo[change] if lo is not None else None
        hi = hi[change] if hi is not None else None
    xs = np.r_[0.0, x]
    ys = np.r_[start, y]
    ax.step(xs, ys, where="post", color=color, lw=1.8, label=label)
    if ci and lo is not None and hi is not None:
        # limits are undefined (NaN) where the estimate is 0 (as in R); draw them as 0 so the
        # band of the previous step is not cut short
        undefined = (np.isnan(lo) | np.isnan(hi)) & ((y == 0.0) | (y == 1.0))
        lo = np.where(undefined, y, lo)
        hi = np.where(undefined, y, hi)
        ax.fill_between(xs, np.r_[start, lo], np.r_[start, hi], step="post", color=color,
                        alpha=0.18, lw=0)


def plot_km(
    fits: Sequence[KaplanMeier],
    ax: Axes | None = None,
    *,
    ci: bool = True,
    censor_marks: bool = True,
    risk_table: bool = True,
    risk_times: Sequence[float] | None = None,
    xlabel: str = XLABEL,
    ylabel: str = "Survival probability",
    title: str | None = None,
    xmax: float | None = None,
    colors: Sequence[str] = PALETTE,
    show_percent: bool = True,
    labels: Sequence[str] | None = None,
) -> Axes:
    """Kaplan-Meier curves (one per fit) with CI bands, censoring ticks and a risk table.

    The legend states the CI level and transform of the fits; ``labels`` overrides the fits'
    labels in the legend and the risk table.

    Parameters
    ----------
    fits
        Kaplan-Meier fits (:class:`hsctms.survival.KaplanMeier`), one curve each.
    ax
        Axes to draw on; None (default) creates a new figure sized for the risk table.
    ci
        Draw the pointwise confidence band of each curve; default True.
    censor_marks
        Mark censoring times with ticks on the curves (at most one per 1/400 of the axis);
        default True.
    risk_table
        Write a numbers-at-risk table under the axis; default True.
    risk_times
        Times of the risk-table columns and x ticks (unit of the fits' times); default every
        year up to 10 years of axis, else about 8 even steps.
    xlabel
        x-axis label; default ``"Time since transplant (years)"``.
    ylabel
        y-axis label; default ``"Survival probability"``.
    title
        Title written at the top left; default None (no title).
    xmax
        End of the x axis, > 0 (unit of the fits' times); default the last observed time.
    colors
        Colours of the curves, cycled; default the Okabe-Ito :data:`PALETTE`.
    show_percent
        Label the y axis in percent (ticks 0-100, " (%)" added to ``ylabel``) rather than as
        proportions; default True.
    labels
        Names of the curves, one per fit; default the fits' labels (``"All patients"`` for a
        single fit).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.

    Raises
    ------
    ConfigurationError
        When ``fits`` is not a non-empty list of Kaplan-Meier fits, or an option is out of
        range (``labels`` not one per fit, ``xmax`` not > 0, empty ``colors``, bad
        ``risk_times``).
    """
    fits = _checks.fits("plot_km", fits, "Kaplan-Meier",
                        ("time", "surv", "lower", "upper", "n_censor", "at_risk"))
    _checks.labels("plot_km", labels, len(fits))
    _checks.positive("plot_km", "xmax", xmax)
    _checks.colours("plot_km", colors)
    _checks.times("plot_km", risk_times)
    names = list(labels) if labels is not None else [
        (f.label if len(fits) > 1 and f.label else "All patients") for f in fits]
    ax = new_axes(ax, figsize=(6.4, 4.6 + 0.25 * len(fits)))
    max_t = xmax if xmax is not None else max(float(f.time.max()) if f.time.size else 1.0
                                             for f in fits)
    for i, f in enumerate(fits):
        color = colors[i % len(colors)]
        label = f"{names[i]} (n={f.n})"
        _step(ax, f.time, f.surv, f.lower, f.upper, color, label, 1.0, ci)
        if censor_marks:
            cens = (f.n_censor > 0) & (f.time <= max_t)
            ct, cs = f.time[cens], f.surv[cens]
            if ct.size > 400:
                # at most one mark per 1/400 of the axis (marks would merge anyway); keeps
                # SVG output small for registries of 100,000 patients
                _, keep = np.unique(np.floor(ct / (max_t / 400.0)), return_index=True)
                ct, cs = ct[keep], cs[keep]
            ax.plot(ct, cs, ls="none", marker="|", ms=6, mew=1.0, color=color)
    ax.set_xlim(0, max_t)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if show_percent:
        _percent_axis(ax, ylabel)
    if title:
        ax.set_title(title, loc="left")
    f0 = fits[0]
    note = "Lines: Kaplan–Meier estimates" + (
        f"\nshaded: pointwise {100 * f0.level:g}% CI ({f0.conf_type})" if ci else "") + (
        "\nticks: censored" if censor_marks else "")
    leg = ax.legend(loc="lower left", title=note, fontsize=7.5, title_fontsize=7,
                    alignment="left")
    leg.get_title().set_color("0.35")
    if risk_table:
        times = [t for t in _risk_times(max_t, risk_times) if t <= max_t]
        ax.set_xticks(times)
        add_risk_table(ax, names, [f.at_risk(times).tolist() for f in fits], times, colors)
    return ax


def plot_cif(
    fits: Sequence[CumulativeIncidence],
    ax: Axes | None = None,
    *,
    cause: int = 1,
    competing: bool = True,
    ci: bool = True,
    risk_table: bool = True,
    risk_times: Sequence[float] | None = None,
    xlabel: str = XLABEL,
    ylabel: str = "Cumulative incidence",
    title: str | None = None,
    xmax: float | None = None,
    ymax: float | None = None,
    colors: Sequence[str] = PALETTE,
) -> Axes:
    """Cumulative incidence curves with CI bands and a risk table.

    With one fit, the cause of interest and (``competing=True``) each competing cause are drawn;
    with several fits (groups), the cause of interest of each group.

    Parameters
    ----------
    fits
        Cumulative-incidence fits (:class:`hsctms.survival.CumulativeIncidence`), e.g. one
        per group.
    ax
        Axes to draw on; None (default) creates a new figure sized for the risk table.
    cause
        Cause code of interest; default 1.
    competing
        With a single fit, also draw the competing causes; default True.
    ci
        Draw the pointwise confidence bands; default True.
    risk_table
        Write a numbers-at-risk table (all causes) under the axis; default True.
    risk_times
        Times of the risk-table columns and x ticks; default every year up to 10 years of
        axis, else about 8 even steps.
    xlabel
        x-axis label; default ``"Time since transplant (years)"``.
    ylabel
        y-axis label; default ``"Cumulative incidence"``.
    title
        Title written at the top left; default None.
    xmax
        End of the x axis, > 0; default the last observed time.
    ymax
        Top of the y axis as a proportion, > 0 (e.g. 0.3 for 30%); default 1.15 times the
        highest visible upper limit, kept between 0.1 and 1.
    colors
        Colours of the curves, cycled; default the Okabe-Ito :data:`PALETTE`.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on (y axis in percent, ticks 0-100).

    Raises
    ------
    ConfigurationError
        When ``fits`` is not a non-empty list of cumulative-incidence fits, ``cause`` is not
        one of their causes, or an option is out of range.
    """
    fits = _checks.fits("plot_cif", fits, "cumulative-incidence",
                        ("time", "cif", "lower", "upper", "causes", "durations"))
    for f in fits:
        if cause not in f.causes:
            raise ConfigurationError(f"plot_cif: cause {cause!r} is not among the fit's causes.",
                                     hint=f"Causes: {', '.join(map(str, f.causes))}.")
    _checks.positive("plot_cif", "xmax", xmax)
    _checks.positive("plot_cif", "ymax", ymax)
    _checks.colours("plot_cif", colors)
    _checks.times("plot_cif", risk_times)
    ax = new_axes(ax, figsize=(6.4, 4.6 + 0.25 * len(fits)))
    max_t = xmax if xmax is not None else max(float(f.time.max()) if f.time.size else 1.0
                                             for f in fits)
    top = 0.0
    series: list[tuple[CumulativeIncidence, int, str]] = []
    if len(fits) == 1:
        f = fits[0]
        causes = list(f.causes) if competing else [cause]
        causes.sort(key=lambda k: k != cause)
        series = [(f, k, f.cause_names.get(k, str(k))) for k in causes]
    else:
        series = [(f, cause, f"{f.label} (n={f.n})") for f in fits]
    for i, (f, k, label) in enumerate(series):
        j = f.causes.index(k)
        color = colors[i % len(colors)]
        _step(ax, f.time, f.cif[:, j], f.lower[:, j], f.upper[:, j], color, label, 0.0,
              ci)
        vis = f.time <= max_t
        hi = f.upper[vis, j]
        top = max(top, float(np.nanmax(hi)) if hi.size and np.isfinite(hi).any() else 0.0,
                  float(f.cif[vis, j].max()) if vis.any() else 0.0)
    ax.set_xlim(0, max_t)
    ax.set_ylim(0, ymax if ymax is not None else min(1.0, max(0.1, top * 1.15)))
    ax.set_xlabel(xlabel)
    _percent_axis(ax, ylabel)
    if title:
        ax.set_title(title, loc="left")
    f0 = fits[0]
    note = "Lines: Aalen–Johansen estimates" + (
        f"\nshaded: pointwise {100 * f0.level:g}% CI ({f0.conf_type})" if ci else "")
    leg = ax.legend(loc="upper left", title=note, fontsize=7.5, title_fontsize=7,
                    alignment="left")
    leg.get_title().set_color("0.35")
    if risk_table:
        times = [t for t in _risk_times(max_t, risk_times) if t <= max_t]
        ax.set_xticks(times)
        add_risk_table(ax, [f.label or "All" for f in fits],
                       [f.at_risk(times).tolist() for f in fits], times,
                       colors if len(fits) > 1 else ["0.2"])
    return ax


def km_figure(fits: Sequence[KaplanMeier], **kwargs: Any) -> Any:
    """A new figure with :func:`plot_km`; returns the Figure.

    Parameters
    ----------
    fits
        Kaplan-Meier fits, one curve each.
    **kwargs
        Options of :func:`plot_km` (not ``ax``).

    Returns
    -------
    matplotlib.figure.Figure
        The new figure (save it with :func:`hsctms.plots._style.save_figure`).
    """
    ax = plot_km(fits, **kwargs)
    return ax.figure


def cif_figure(fits: Sequence[CumulativeIncidence], **kwargs: Any) -> Any:
    """A new figure with :func:`plot_cif`; returns the Figure.

    Parameters
    ----------
    fits
        Cumulative-incidence fits.
    **kwargs
        Options of :func:`plot_cif` (not ``ax``).

    Returns
    -------
    matplotlib.figure.Figure
        The new figure.
    """
    ax = plot_cif(fits, **kwargs)
    return ax.figure
