"""Dashboards of the web registry: the registry monitoring of :mod:`hsctms.analysis.monitoring`
(outcomes, follow-up completeness, overdue follow-up, alerts, centre comparison) rendered for
one view and cached per data version.

This module holds no statistics: :func:`build_dashboard` calls
:func:`hsctms.analysis.monitoring.monitor` with the disclosure threshold of the view
(``WebSettings.small_count`` when the aggregate leaves the centre, else 1), draws the figures
(:mod:`hsctms.web.funnel`) and adds the headline numbers of
:func:`hsctms.services.registry_summary.dashboard_headline`;
:class:`hsctms.web.dashboard_cache.DashboardCache` keeps it.
Every number, caption and label on the page comes from the result and its monitoring schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from hsctms.analysis.monitoring_disclosure import DEFAULT_SMALL_COUNT

if TYPE_CHECKING:  # pragma: no cover
    import datetime as _dt

    from hsctms._provenance import Provenance
    from hsctms.analysis.monitoring import RegistryMonitoring
    from hsctms.analysis.monitoring_schedule import MonitoringSchedule

#: Keys of the dashboard JSON (``/api/dashboard``, ``/api/dashboard/registry``).
JSON_KEYS = ("scope", "reference_date", "small_counts_suppressed", "n_patients",
             "n_transplanted", "survival", "completeness", "overdue", "alerts", "alert_counts",
             "funnel", "notes", "provenance")


@dataclass(frozen=True)
class Dashboard:
    """One dashboard view: the monitoring result, whether counts are suppressed, the figures."""

    scope: str
    suppressed: bool
    monitoring: RegistryMonitoring
    km_svg: str = ""
    funnel_svg: str = ""
    headline: tuple[dict[str, Any], ...] = ()

    @cached_property
    def view(self) -> dict[str, Any]:
        """The disclosure-controlled data of the page (:meth:`RegistryMonitoring.to_dict`)."""
        out = self.monitoring.to_dict()
        out["scope"] = self.scope
        out["small_counts_suppressed"] = self.suppressed
        return out

    @property
    def size(self) -> int:
        """Number of patients in the view (the cache decides from it whether a saving user
        waits for the rebuild)."""
        return int(self.monitoring.n_patients)

    @property
    def small_count(self) -> int:
        """Disclosure threshold of this view (1: nothing suppressed)."""
        return self.monitoring.small_count

    @property
    def record_level(self) -> bool:
        """Whether patient-level lists are shown."""
        return self.monitoring.record_level

    @property
    def reference_date(self) -> _dt.date:
        """Reference date of the data."""
        return self.monitoring.reference_date

    @property
    def provenance(self) -> Provenance:
        """Provenance of the monitoring result."""
        return self.monitoring.provenance

    @property
    def schedule(self) -> MonitoringSchedule:
        """The monitoring schedule used."""
        return self.monitoring.schedule

    @property
    def km_caption(self) -> str:
        """Caption of the outcome curves, from the result (definition, level, CI type)."""
        return self.monitoring.outcomes.caption if self.monitoring.outcomes else ""

    @property
    def funnel_caption(self) -> str:
        """Caption of the funnel plot, from the result (covariates, limits)."""
        return self.monitoring.funnel.caption if self.monitoring.funnel else ""

    @property
    def summary(self) -> str:
        """Short text digest."""
        v = self.view
        return (f"Dashboard {self.scope}: {v['n_patients']} patients, "
                f"{v['n_transplanted']} transplanted; reference date {v['reference_date']}.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (without the SVG figures; ``headline``: the headline
        numbers); every count disclosure-controlled, provenance ``n`` included."""
        return {**{k: self.view[k] for k in JSON_KEYS}, "headline": list(self.headline)}


def build_dashboard(cohort: Any, scope: str, *, suppressed: bool, record_level: bool,
                    with_funnel: bool = False, small_count: int = DEFAULT_SMALL_COUNT,
                    schedule: MonitoringSchedule | None = None) -> Dashboard:
    """Compute one dashboard.

    Parameters
    ----------
    cohort
        The data in scope (one centre or the whole registry).
    scope
        ``"registry"`` or a centre code (label only).
    suppressed
        Apply small-count suppression (the aggregate leaves the centre).
    record_level
        Include patient-level lists (overdue patients, alerts); only for users allowed to
        read the records.
    with_funnel
        Add the risk-adjusted centre comparison (registry scope).
    small_count
        Disclosure threshold when ``suppressed`` (the web app passes
        ``WebSettings.small_count``).
    schedule
        Monitoring schedule (default: the bundled one).

    Returns
    -------
    Dashboard
    """
    from hsctms.analysis.monitoring import monitor
    from hsctms.services.registry_summary import dashboard_headline, quality_issues
    from hsctms.web.funnel import funnel_svg, outcomes_svg

    m = monitor(cohort, small_count=small_count if suppressed else 1, scope=scope,
                record_level=record_level, with_funnel=with_funnel, schedule=schedule)
    quality = sum(quality_issues(cohort).values())
    return Dashboard(scope, suppressed, m,
                     outcomes_svg(m.outcomes) if m.outcomes is not None else "",
                     funnel_svg(m.funnel) if m.funnel is not None else "",
                     tuple(dashboard_headline(m, quality=quality)))
