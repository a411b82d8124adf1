"""HTML and PDF reports, rendered from typed report contexts with Jinja2 templates."""

from __future__ import annotations

from hsctms.reports.render import ReportMeta, render_html, write_report

__all__ = ["ReportMeta", "render_html", "write_report"]
