"""Writes under contention (issue 12, finding 7): a save that meets another writer waits for
it (SQLite ``BEGIN IMMEDIATE`` + busy timeout, PostgreSQL ``lock_timeout``) and, when the wait
runs out, answers 503 with ``Retry-After``, the canonical error shape and the form as typed;
never a bare 500. A save at one centre leaves the other centres' cached dashboards valid.

Before the fix: the held lock gave ``sqlite3.OperationalError: database is locked`` as a bare
500 (no security headers) and the typed form was lost; every write invalidated every
centre's dashboard."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.web._serve import login as serve_login
from tests.web._serve import running_server
from tests.web.conftest import PASSWORD, SECRET, login

from hsctms.db import connect
from hsctms.web import WebSettings, create_app


@pytest.fixture
def busy_client(db_path: Path) -> Iterator[TestClient]:
    app = create_app(WebSettings(db=db_path, secret_key=SECRET, busy_timeout=0.2))
    with TestClient(app, base_url="https://testserver") as c:
        login(c, "entry_a")
        yield c


@pytest.fixture
def held_lock(db_path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's writer holding the SQLite write lock (e.g. a long import)."""
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield holder
    holder.execute("ROLLBACK")
    holder.close()


def _relapses(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute("SELECT count(*) FROM relapses").fetchone()[0])


def test_busy_form_save_is_503_with_the_typed_form(busy_client: TestClient, db_path: Path,
                                                   held_lock: Any) -> None:
    before = _relapses(db_path)
    r = busy_client.post("/patients/A1/new/relapses",
                         data={"onset_date": "2021-02-03", "csrf_token":
                               busy_client.headers["X-CSRF-Token"]})
    assert r.status_code == 503
    assert r.headers["Retry-After"].isdigit()
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert 'value="2021-02-03"' in r.text  # what was typed is still in the form
    assert "registry is busy" in r.text and "nothing was written" in r.text
    assert _relapses(db_path) == before


def test_busy_api_write_is_503_in_the_canonical_shape(busy_client: TestClient,
                                                      db_path: Path, held_lock: Any) -> None:
    before = _relapses(db_path)
    r = busy_client.post("/api/records/relapses",
                         json={"patient_id": "A1", "onset_date": "2021-02-03"})
    assert r.status_code == 503
    body = r.json()
    assert body["error"] == "RegistryBusyError" and body["hint"]
    assert r.headers["Retry-After"].isdigit()
    assert _relapses(db_path) == before


def test_save_waits_for_a_short_writer(db_path: Path) -> None:
    """A lock released within the busy timeout: the save waits and succeeds (no 503)."""
    app = create_app(WebSettings(db=db_path, secret_key=SECRET, busy_timeout=10))
    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    release = threading.Timer(0.5, lambda: holder.execute("ROLLBACK"))
    with TestClient(app, base_url="https://testserver") as c:
        login(c, "entry_a")
        holder.execute("BEGIN IMMEDIATE")
        release.start()
        r = c.post("/api/records/relapses",
                   json={"patient_id": "A1", "onset_date": "2021-02-03"})
    release.join()
    holder.close()
    assert r.status_code == 201, r.text
    assert _relapses(db_path) == 1


def test_web_app_switches_sqlite_to_wal(db_path: Path) -> None:
    create_app(WebSettings(db=db_path, secret_key=SECRET))
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_save_invalidates_only_its_own_centre(app: Any) -> None:
    with TestClient(app, base_url="https://testserver") as admin:
        login(admin, "admin")
        cache = app.state.dashboards
        a0 = admin.get("/api/dashboard", params={"centre": "A"}).json()
        admin.get("/api/dashboard", params={"centre": "B"})
        misses = cache.misses
        r = admin.post("/api/records/relapses",
                       json={"patient_id": "A1", "onset_date": "2021-02-03"})
        assert r.status_code == 201, r.text
        admin.get("/api/dashboard", params={"centre": "B"})
        assert cache.misses == misses  # centre B's dashboard still valid
        a1 = admin.get("/api/dashboard", params={"centre": "A"}).json()
        assert cache.misses == misses + 1  # centre A's rebuilt, with the new relapse
        assert a1["alert_counts"]["relapse_after_hsct"] != a0["alert_counts"][
            "relapse_after_hsct"]


def test_running_server_concurrent_saves_during_an_import(db_path: Path,
                                                          tmp_path: Path) -> None:
    """Against a running ``hsctms serve``: 4 clients save EDSS visits while a CLI import
    writes to the same SQLite file; every answer is 201 or 503 (never another 5xx), and
    every 201 is stored."""
    from hsctms.datasets import write_demo_bundle

    bundle = tmp_path / "bundle"
    write_demo_bundle(bundle, n_patients=300, seed=5)
    statuses: list[int] = []
    lock = threading.Lock()

    def writer(base: str, k: int) -> None:
        with httpx.Client(timeout=60) as c:
            serve_login(c, base, "entry_a", PASSWORD)
            token = c.get(base + "/api/me").json()["csrf_token"]
            for i in range(12):
                r = c.post(base + "/api/records/edss", headers={"X-CSRF-Token": token},
                           json={"patient_id": "A1", "date": f"2022-{k + 1:02d}-{i + 1:02d}",
                                 "edss": "3.0"})
                with lock:
                    statuses.append(r.status_code)

    with running_server(db_path, extra_args=("--busy-timeout", "30")) as base:
        imp = subprocess.Popen([sys.executable, "-m", "hsctms", "import", str(bundle),
                                "--db", str(db_path)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
        threads = [threading.Thread(target=writer, args=(base, k)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        _, err = imp.communicate(timeout=300)
    assert imp.returncode == 0, err.decode()
    assert len(statuses) == 48
    assert set(statuses) <= {201, 503}, statuses
    engine = connect(db_path)
    with engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT count(*) FROM edss WHERE patient_id='A1' AND date >= '2022-01-01'"
        ).scalar()
    engine.dispose()
    assert stored == statuses.count(201)


def test_another_users_save_is_rebuilt_off_the_request_path(as_user: Any, app: Any) -> None:
    """A reader is not made to wait for the recomputation after someone else's save: the
    cached dashboard is served, marked stale, and one background rebuild replaces it."""
    admin, entry = as_user("admin"), as_user("entry_a")
    cache = app.state.dashboards
    before = admin.get("/api/dashboard", params={"centre": "A"}).json()
    assert before.pop("freshness")["stale"] is False
    misses = cache.misses
    r = entry.post("/api/records/relapses", json={"patient_id": "A1",
                                                  "onset_date": "2021-02-03"})
    assert r.status_code == 201, r.text
    stale = admin.get("/api/dashboard", params={"centre": "A"}).json()
    freshness = stale.pop("freshness")
    assert freshness["stale"] is True and freshness["own_change_pending"] is False
    assert stale == before  # served at once from the cache
    page = admin.get("/dashboard", params={"centre": "A"})
    assert 'id="freshness"' in page.text and "Updating" in page.text
    cache.wait_idle()
    assert cache.misses == misses + 1  # rebuilt once, in the background
    fresh = admin.get("/api/dashboard", params={"centre": "A"}).json()
    assert fresh.pop("freshness")["stale"] is False
    assert fresh["alert_counts"]["relapse_after_hsct"] != before["alert_counts"][
        "relapse_after_hsct"]
    assert cache.misses == misses + 1
    assert 'id="freshness"' not in admin.get("/dashboard", params={"centre": "A"}).text


def test_own_change_waits_briefly_then_says_it_is_pending(db_path: Path) -> None:
    """The user who saved waits (at most fresh_wait) for the rebuild that includes the change
    when the view is small; if the rebuild is slower, or the view is large, the previous
    figures come with a notice, never passed off as current."""
    import shutil
    import threading

    from hsctms.web import WebSettings, create_app

    from .conftest import SECRET, TestClient, login

    # (longest wait, rebuild slowed by, view-size limit, change pending when read)
    cases = ((30.0, 0.0, 2000, False),   # small view: waits, sees the change
             (0.05, 1.0, 2000, True),    # the rebuild is slower than the longest wait
             (30.0, 1.0, 0, True))       # a "large" view: served at once with a notice
    for i, (wait, slow, max_patients, pending) in enumerate(cases):
        db = db_path.with_name(f"copy-{i}.db")
        shutil.copy(db_path, db)
        app = create_app(WebSettings(db=db, secret_key=SECRET, dashboard_fresh_wait=wait,
                                     dashboard_fresh_max_patients=max_patients))
        with TestClient(app, base_url="https://testserver") as entry:
            login(entry, "entry_a")
            first = entry.get("/api/dashboard").json()
            cache = app.state.dashboards
            release = threading.Event()
            real = cache._compute

            def slowed(build: Any, real: Any = real, slow: float = slow,
                       release: threading.Event = release) -> Any:
                release.wait(slow)
                return real(build)

            cache._compute = slowed
            r = entry.post("/api/records/relapses", json={
                "patient_id": "A1", "onset_date": "2021-03-03"})
            assert r.status_code == 201, r.text
            own = entry.get("/api/dashboard").json()
            fresh = own.pop("freshness")
            # (a large view that waited would see the 1 s rebuild done: pending False)
            assert fresh["own_change_pending"] is pending
            if pending:
                assert own["alert_counts"] == first["alert_counts"]
                page = entry.get("/dashboard")
                assert "Your latest change is being included" in page.text
                release.set()
                cache.wait_idle()
                own = entry.get("/api/dashboard").json()
                assert own.pop("freshness")["own_change_pending"] is False
            assert own["alert_counts"]["relapse_after_hsct"] == \
                first["alert_counts"]["relapse_after_hsct"] + 1


def test_dashboards_rebuilt_in_a_separate_process(db_path: Path) -> None:
    """``hsctms serve`` recomputes dashboards in a worker process: same figures as the
    in-process build, and a save is included after the background rebuild."""
    import os

    from hsctms.web import WebSettings, create_app

    from .conftest import SECRET, TestClient, login

    app = create_app(WebSettings(db=db_path, secret_key=SECRET, dashboard_workers="process"))
    threaded = create_app(WebSettings(db=db_path, secret_key=SECRET))
    with TestClient(app, base_url="https://testserver") as admin, \
            TestClient(threaded, base_url="https://testserver") as other:
        login(admin, "entry_a")
        login(other, "entry_a")
        first = admin.get("/api/dashboard").json()
        same = other.get("/api/dashboard").json()
        for doc in (first, same):
            doc.pop("freshness")
            doc["provenance"].pop("created")
        assert first == same
        pool = app.state.dashboards._pool
        assert pool is not None and all(pid != os.getpid() for pid in pool._processes)
        r = admin.post("/api/records/relapses", json={"patient_id": "A1",
                                                      "onset_date": "2021-02-03"})
        assert r.status_code == 201
        admin.get("/api/dashboard")
        app.state.dashboards.wait_idle()
        after = admin.get("/api/dashboard").json()
        assert after["freshness"]["stale"] is False
        assert after["alert_counts"]["relapse_after_hsct"] == \
            first["alert_counts"]["relapse_after_hsct"] + 1
