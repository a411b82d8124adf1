"""The dashboard cache of the web registry: recomputation never on the request path once a
view has been built.

Every view (scope and options) keeps one entry with the data version it was built from.

* **Same version**: the cached dashboard.
* **Newer version** (a save since): the cached dashboard is served at once, marked *stale*,
  and **one** rebuild per view runs in the background, so a burst of saves neither makes
  readers wait for the recomputation nor starts one recomputation per save.
* **Your own change**: a user who saved since the entry was built waits for that rebuild
  when the view holds at most ``fresh_max_patients`` patients (small and medium registries:
  they see their change at once), for at most ``fresh_wait`` seconds; for larger views, or if
  it is not ready by then, the stale dashboard is served with a notice that their change is
  being included (:attr:`Served.own_change_pending`), so a large registry's recomputation
  never holds up the request and the page never passes off old numbers as current.
* **No entry yet**: built in the request (once; concurrent requests for it wait for it).

Rebuilds run in one background worker: a thread (``workers="thread"``, the default and the
in-process tests) or a separate process (``workers="process"``, what ``hsctms serve`` uses), so
that the recomputation does not hold the server's interpreter lock while other requests are
answered. In process mode the build is described by a picklable :class:`BuildSpec`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import Executor, Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:  # pragma: no cover
    from hsctms.web.dashboard import Dashboard


@dataclass(frozen=True)
class BuildSpec:
    """What to build: everything :func:`build_from_spec` needs, picklable."""

    database: str
    scope: str | None
    suppressed: bool
    record_level: bool
    with_funnel: bool
    small_count: int


_ENGINES: dict[str, Any] = {}  # database URL -> engine of the dashboard builds (per process)
_ENGINES_LOCK = threading.Lock()


def _engine(database: str) -> Any:
    """The engine dashboard builds of ``database`` use in this process (made once)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(database)
        if engine is None:
            from hsctms.db import connect

            engine = _ENGINES[database] = connect(database)
        return engine


def _dispose_engine(database: str) -> None:
    """Close the pooled connections of ``database``'s build engine and forget it (a later
    build makes a new one), so a stopped app leaves no connection to its database open."""
    with _ENGINES_LOCK:
        engine = _ENGINES.pop(database, None)
    if engine is not None:
        engine.dispose()


def build_from_spec(spec: BuildSpec) -> Dashboard:
    """Load the view's cohort and build its dashboard (in any process)."""
    from hsctms.db import load_cohort
    from hsctms.web.dashboard import build_dashboard

    cohort = load_cohort(_engine(spec.database), spec.scope)
    return build_dashboard(cohort, spec.scope or "registry", suppressed=spec.suppressed,
                           record_level=spec.record_level, with_funnel=spec.with_funnel,
                           small_count=spec.small_count)


class _Entry(NamedTuple):
    version: Any
    started: float  # monotonic: compared with the users' save times
    built_at: float  # wall clock, shown as "built at"
    dashboard: Dashboard


@dataclass(frozen=True)
class Served:
    """A dashboard as served: the dashboard and how current it is."""

    dashboard: Dashboard
    #: The data changed since it was built (a rebuild is running).
    stale: bool = False
    #: The requesting user saved something the dashboard does not include yet.
    own_change_pending: bool = False
    #: Wall-clock time (UNIX seconds) the build started: the data it shows are from then.
    built_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The dashboard JSON with its ``freshness`` (the API's answer)."""
        return {**self.dashboard.to_dict(), "freshness": self.freshness()}

    def freshness(self) -> dict[str, Any]:
        """JSON form for the API (``freshness`` key of the dashboard JSON)."""
        import datetime as _dt

        return {"stale": self.stale, "own_change_pending": self.own_change_pending,
                "built_at": _dt.datetime.fromtimestamp(self.built_at, _dt.UTC)
                .replace(microsecond=0).isoformat()}


class DashboardCache:
    """Thread-safe LRU cache of dashboards (see the module docstring).

    Parameters
    ----------
    max_entries
        Views kept.
    fresh_wait
        Longest wait of a user who just saved for the rebuild that includes their change.
    fresh_max_patients
        Views with more patients never make the saving user wait (the size is the cached
        dashboard's ``size``).
    workers
        ``"thread"`` or ``"process"`` (see the module docstring).
    """

    def __init__(self, max_entries: int = 64, *, fresh_wait: float = 10.0,
                 fresh_max_patients: int = 2000,
                 workers: Literal["thread", "process"] = "thread") -> None:
        self._data: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[Any, ...], threading.Lock] = {}
        self._refreshing: dict[tuple[Any, ...], Future[None]] = {}
        self._writes: dict[str, float] = {}
        self._workers = workers
        self._databases: set[str] = set()  # built in this process (closed by close())
        self._pool: Executor | None = None
        self._refresher: Executor | None = None
        self.max_entries = max_entries
        self.fresh_wait = fresh_wait
        self.fresh_max_patients = fresh_max_patients
        self.misses = 0

    def note_write(self, user: str) -> None:
        """Record that ``user`` just saved something (see *your own change* above)."""
        with self._lock:
            self._writes[user] = time.monotonic()

    def get(self, key: tuple[Any, ...], version: Any, build: BuildSpec, *,
            user: str | None = None) -> Served:
        """The dashboard of view ``key`` at data ``version`` (see the module docstring)."""
        future: Future[None] | None = None
        own = False
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data.move_to_end(key)
                if entry.version == version:
                    return Served(entry.dashboard, built_at=entry.built_at)
                own = user is not None and self._writes.get(user, -1.0) >= entry.started
                future = self._refreshing.get(key)
                if future is None:
                    future = self._refreshing[key] = self._background().submit(
                        self._refresh, key, version, build)
        if entry is None:
            built = self._build(key, version, build)
            return Served(built.dashboard, built_at=built.built_at)
        if own and future is not None and entry.dashboard.size <= self.fresh_max_patients:
            futures_wait([future], timeout=self.fresh_wait)
            with self._lock:
                latest = self._data.get(key)
            if latest is not None and latest.version == version:
                return Served(latest.dashboard, built_at=latest.built_at)
        return Served(entry.dashboard, stale=True, own_change_pending=own,
                      built_at=entry.built_at)

    def _background(self) -> Executor:
        if self._refresher is None:
            from concurrent.futures import ThreadPoolExecutor

            self._refresher = ThreadPoolExecutor(max_workers=1,
                                                 thread_name_prefix="dashboard")
        return self._refresher

    def _compute(self, build: BuildSpec) -> Dashboard:
        if self._workers == "thread":
            with self._lock:
                self._databases.add(build.database)
            return build_from_spec(build)
        with self._lock:
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            pool = self._pool
        return pool.submit(build_from_spec, build).result()

    def _build(self, key: tuple[Any, ...], version: Any, build: BuildSpec) -> _Entry:
        with self._lock:
            lock = self._building.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                entry = self._data.get(key)
                if entry is not None and entry.version == version:
                    return entry
            started, wall = time.monotonic(), time.time()
            built = _Entry(version, started, wall, self._compute(build))
            with self._lock:
                self.misses += 1
                self._data[key] = built
                self._data.move_to_end(key)
                while len(self._data) > self.max_entries:
                    self._data.popitem(last=False)
                self._building.pop(key, None)
            return built

    def _refresh(self, key: tuple[Any, ...], version: Any, build: BuildSpec) -> None:
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
        """Stop the background workers (pending rebuilds finish first) and close the
        connections the in-process builds opened (a worker process closes its own)."""
        for pool in (self._refresher, self._pool):
            if pool is not None:
                pool.shutdown(wait=True)
        with self._lock:
            databases, self._databases = self._databases, set()
        for database in databases:
            _dispose_engine(database)
