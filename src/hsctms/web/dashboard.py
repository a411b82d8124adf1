"""Dashboards of the web registry: the registry monitoring of :mod:`hsctms.analysis.monitoring`
(outcomes, follow-up completeness, overdue follow-up, alerts, centre comparison) rendered for
one view and cached per data version.

This module holds no statistics: :func:`build_dashboard` calls
:func:`hsctms.analysis.monitoring.monitor` with the disclosure threshold of the view
(``WebSettings.small_count`` when the aggregate leaves the centre, else 1), draws the figures
(:mod:`hsctms.web.funnel`) and keeps the result in :class:`DashboardCache`. Every number,
caption and label on the page comes from the result and its monitoring schedule.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait
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

    @cached_property
    def view(self) -> dict[str, Any]:
        """The disclosure-controlled data of the page (:meth:`RegistryMonitoring.to_dict`)."""
        out = self.monitoring.to_dict()
        out["scope"] = self.scope
        out["small_counts_suppressed"] = self.suppressed
        return out

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
        """JSON-serialisable form (without the SVG figures); every count disclosure-
        controlled, provenance ``n`` included."""
        return {k: self.view[k] for k in JSON_KEYS}


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
    from hsctms.web.funnel import funnel_svg, outcomes_svg

    m = monitor(cohort, small_count=small_count if suppressed else 1, scope=scope,
                record_level=record_level, with_funnel=with_funnel, schedule=schedule)
    return Dashboard(scope, suppressed, m,
                     outcomes_svg(m.outcomes) if m.outcomes is not None else "",
                     funnel_svg(m.funnel) if m.funnel is not None else "")


class DashboardCache:
    """Thread-safe LRU cache of dashboards keyed by view (scope and options), each entry
    remembering the data version it was built from.

    * Same version: the cached dashboard.
    * A newer version (someone saved meanwhile): the cached dashboard is served as it is and
      **one** rebuild per view runs in a background thread, off the request path, so that a
      burst of saves does not make every reader wait for the recomputation.
    * Read-your-writes: a user who saved after the entry was built gets a fresh build at once
      (:meth:`note_write` records their saves), so their own change is always shown.
    * No entry yet: built in the request (once; concurrent requests for it wait for it).
    """

    def __init__(self, max_entries: int = 64) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._data: OrderedDict[tuple[Any, ...], tuple[Any, float, Dashboard]] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[Any, ...], threading.Lock] = {}
        self._refreshing: dict[tuple[Any, ...], Future[None]] = {}
        self._writes: dict[str, float] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dashboard")
        self.max_entries = max_entries
        self.misses = 0

    def note_write(self, user: str) -> None:
        """Record that ``user`` just saved something (see read-your-writes above)."""
        with self._lock:
            self._writes[user] = time.monotonic()

    def get(self, key: tuple[Any, ...], version: Any, build: Callable[[], Dashboard], *,
            user: str | None = None) -> Dashboard:
        """The dashboard of view ``key`` at data ``version`` (see the class notes)."""
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data.move_to_end(key)
                built_version, started, value = entry
                own_write = user is not None and self._writes.get(user, -1.0) >= started
                if built_version == version:
                    return value
                if not own_write:
                    if key not in self._refreshing:
                        self._refreshing[key] = self._pool.submit(
                            self._refresh, key, version, build)
                    return value
        return self._build(key, version, build)

    def _build(self, key: tuple[Any, ...], version: Any, build: Callable[[], Dashboard]
               ) -> Dashboard:
        with self._lock:
            lock = self._building.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                entry = self._data.get(key)
                if entry is not None and entry[0] == version:
                    return entry[2]
            started = time.monotonic()
            value = build()
            with self._lock:
                self.misses += 1
                self._data[key] = (version, started, value)
                self._data.move_to_end(key)
                while len(self._data) > self.max_entries:
                    self._data.popitem(last=False)
                self._building.pop(key, None)
            return value

    def _refresh(self, key: tuple[Any, ...], version: Any, build: Callable[[], Dashboard]
                 ) -> None:
        try:
            self._build(key, version, build)
        finally:
            with self._lock:
                self._refreshing.pop(key, None)

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait for the background rebuilds running now (tests, shutdown)."""
        with self._lock:
            pending = list(self._refreshing.values())
        futures_wait(pending, timeout=timeout)

    def close(self) -> None:
        """Stop the background thread (pending rebuilds finish first)."""
        self._pool.shutdown(wait=True)
