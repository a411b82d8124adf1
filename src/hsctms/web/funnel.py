"""Figures of the web dashboards as inline SVG: the centre comparison (funnel plot) and the
outcome curves. The statistics are in the library (:mod:`hsctms.analysis.funnel`,
:mod:`hsctms.analysis.monitoring`); this module only draws their results. Matplotlib is not
thread-safe, so every figure is drawn under one lock.

Every SVG carries ``role="img"`` and an ``aria-label`` (its text alternative; the page's
tables hold the numbers). In the funnel plot only the centres outside a control limit are
labelled (labels of many centres inside the limits overlap); the legend says what the point
colours mean and the table under the figure names every centre.
"""

from __future__ import annotations

import threading
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from hsctms.analysis.funnel import Funnel
    from hsctms.analysis.monitoring import OutcomeCurves

PLOT_LOCK = threading.Lock()


def _labelled(svg: str, label: str) -> str:
    """``svg`` with ``role="img"`` and ``aria-label`` on its root element."""
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)


def _point_legend(ax: Any, funnel: Funnel) -> None:
    """Keep labels of outlying centres only; add the point colours to the legend."""
    from matplotlib.lines import Line2D

    shown = [c for c in funnel.centres if not c.hidden(funnel.small_count)]
    outliers = {c.centre for c in shown if c.flag}
    for text in list(ax.texts):
        if text.get_text() in {c.centre for c in shown} - outliers:
            text.remove()
    colours: dict[str, Any] = {}
    for c, points in zip(shown, ax.collections, strict=False):
        colours.setdefault(c.flag or "", points.get_facecolor()[0])
    handles, _ = ax.get_legend_handles_labels()
    for flag in sorted(colours, key=lambda f: (f != "", float(f) if f else 0.0)):
        label = f"centre outside {flag}% limits" if flag else "centre inside the limits"
        handles.append(Line2D([], [], marker="o", linestyle="", color=colours[flag],
                              label=label))
    handles.append(Line2D([], [], color="0.2", lw=1, label="O/E = 1 (as expected)"))
    title = "Centres inside the limits: see the table" if len(outliers) < len(shown) else None
    ax.legend(handles=handles, frameon=False, fontsize=7.5, title=title, title_fontsize=7,
              loc="upper right")


def funnel_svg(funnel: Funnel) -> str:
    """The funnel plot of ``funnel`` (:meth:`hsctms.analysis.funnel.Funnel.plot`) as SVG,
    with only the outlying centres labelled and a legend of the point colours.

    Parameters
    ----------
    funnel
        The centre comparison.

    Returns
    -------
    str
        Inline SVG markup (``role="img"`` with a text alternative).
    """
    from hsctms.plots._style import figure_to_svg

    with PLOT_LOCK:
        ax = funnel.plot()
        if funnel.centres:
            _point_legend(ax, funnel)
        svg = figure_to_svg(ax.figure)
    out = [c.centre for c in funnel.centres if c.flag and not c.hidden(funnel.small_count)]
    label = (f"Funnel plot of observed/expected {funnel.outcome} by expected events, "
             f"{len(funnel.centres)} centres; "
             + (f"outside the limits: {', '.join(out)}." if out
                else "none outside the limits.") + " The table below lists every centre.")
    return _labelled(svg, label)


def outcomes_svg(outcomes: OutcomeCurves) -> str:
    """The outcome curves (:meth:`hsctms.analysis.monitoring.OutcomeCurves.plot`) as SVG.

    Parameters
    ----------
    outcomes
        The EFS and PFS curves (the risk table is left out while counts are suppressed).

    Returns
    -------
    str
        Inline SVG markup (``role="img"`` with a text alternative).
    """
    from hsctms.plots._style import figure_to_svg

    with PLOT_LOCK:
        svg = figure_to_svg(outcomes.plot().figure)
    return _labelled(svg, "Kaplan-Meier curves of event-free and progression-free survival "
                     "from the index transplant with confidence bands; the table below gives "
                     "the estimates at yearly landmarks.")
