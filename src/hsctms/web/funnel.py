"""Figures of the web dashboards as inline SVG: the centre comparison (funnel plot) and the
outcome curves. The statistics are in the library (:mod:`hsctms.analysis.funnel`,
:mod:`hsctms.analysis.monitoring`); this module only draws their results. Matplotlib is not
thread-safe, so every figure is drawn under one lock.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from hsctms.analysis.funnel import Funnel
    from hsctms.analysis.monitoring import OutcomeCurves

PLOT_LOCK = threading.Lock()


def funnel_svg(funnel: Funnel) -> str:
    """The funnel plot of ``funnel`` (:meth:`hsctms.analysis.funnel.Funnel.plot`) as SVG.

    Parameters
    ----------
    funnel
        The centre comparison.

    Returns
    -------
    str
        Inline SVG markup.
    """
    from hsctms.plots._style import figure_to_svg

    with PLOT_LOCK:
        return figure_to_svg(funnel.plot().figure)


def outcomes_svg(outcomes: OutcomeCurves) -> str:
    """The outcome curves (:meth:`hsctms.analysis.monitoring.OutcomeCurves.plot`) as SVG.

    Parameters
    ----------
    outcomes
        The EFS and PFS curves (the risk table is left out while counts are suppressed).

    Returns
    -------
    str
        Inline SVG markup.
    """
    from hsctms.plots._style import figure_to_svg

    with PLOT_LOCK:
        return figure_to_svg(outcomes.plot().figure)
