"""Figures (matplotlib, imported lazily by callers): every plot function takes ``ax=None`` and
returns the Axes it drew on. Use :func:`hsctms.plots._style.save_figure` to write SVG/PNG."""

from __future__ import annotations
