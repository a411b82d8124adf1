"""kill -9 during a large import leaves the registry untouched or complete, never half.

A real ``python -m hsctms import`` subprocess loads a generated bundle (about 190,000 rows)
and is killed with SIGKILL at several points: before the import transaction starts, as soon
as it has begun, 0.6 s into it, and just after its commit. After each kill every table holds
none or all of the bundle's rows (the schema included: a first import creates it in the same
transaction), the import and audit records agree with the data, and a re-import then
succeeds and gives the complete registry.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import hsctms
from hsctms.datasets import write_demo_bundle
from hsctms.db import TABLES, audit_log, imports, load_cohort
from hsctms.model.schema import SCHEMA

pytestmark = pytest.mark.slow

N_PATIENTS = 3000
SRC = str(Path(hsctms.__file__).resolve().parents[1])
#: seconds after the import transaction has begun (None: before it, 0.3 s after start;
#: "commit": as soon as the commit is visible, while the process is still finishing)
KILL_POINTS: tuple[float | str | None, ...] = (None, 0.0, 0.6, "commit")


@pytest.fixture(scope="module")
def big_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("kill") / "bundle"
    write_demo_bundle(path, N_PATIENTS, 11)
    counts = {name: len(pd.read_csv(path / f"{name}.csv", dtype=str))
              if (path / f"{name}.csv").exists() else 0 for name in SCHEMA}
    assert counts["patients"] == N_PATIENTS and sum(counts.values()) > 150_000
    return path, counts


def _start_import(bundle: Path, db: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "hsctms", "import", str(bundle),
                             "--db", db, "--user", "killtest"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def _kill_at(proc: subprocess.Popen[bytes], began: Callable[[], bool],
             after: float | str | None, committed: Callable[[], bool]) -> bool:
    """SIGKILL ``proc`` at the kill point; True if it was still running when killed."""
    if after is None:
        time.sleep(0.3)
    elif after == "commit":
        deadline = time.monotonic() + 60
        while not committed() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
    else:
        assert isinstance(after, float)
        deadline = time.monotonic() + 60
        while not began() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(after)
    running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return running


def _count_imports(url: str) -> int:
    """Committed imports visible to another connection (0 while there is no schema)."""
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return 0
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(imports)).scalar()
                       or 0)
    except sa.exc.DBAPIError:
        return 0  # no table yet, or locked by the writer
    finally:
        engine.dispose()


def _state(engine: sa.Engine, expected: dict[str, int], *, n_imports: int = 1) -> str:
    """'untouched' (no tables at all) or 'complete' (all rows, ``n_imports``
    recorded imports each with its audit entry); anything else fails."""
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        if not names:
            return "untouched"
        assert "alembic_version" in names and set(TABLES) <= names, names
        counts = {n: conn.execute(sa.select(sa.func.count()).select_from(TABLES[n])).scalar()
                  for n in SCHEMA}
        stored_imports = conn.execute(sa.select(sa.func.count()).select_from(imports)).scalar()
        n_audit = conn.execute(sa.select(sa.func.count()).select_from(audit_log)
                               .where(audit_log.c.action == "import")).scalar()
    # a first import creates the schema in its own transaction: an empty schema left
    # behind would be a half-made registry that readers accept as a real (empty) one
    assert counts == expected, f"a killed import left a partial registry: {counts}"
    assert stored_imports == n_audit == n_imports
    return "complete"


def _reimport_is_complete(bundle: Path, db: str, engine: sa.Engine,
                          expected: dict[str, int], before: str) -> None:
    proc = _start_import(bundle, db)
    assert proc.wait(timeout=120) == 0
    # a re-import over a complete registry changes nothing but is recorded as an import
    assert _state(engine, expected, n_imports=2 if before == "complete" else 1) == "complete"
    assert load_cohort(engine).n_patients == N_PATIENTS


def test_kill_9_sqlite_import(big_bundle: tuple[Path, dict[str, int]],
                              tmp_path: Path) -> None:
    bundle, expected = big_bundle
    interrupted: list[bool] = []
    outcomes: list[tuple[float | str | None, bool, str]] = []
    for k, after in enumerate(KILL_POINTS):
        path = tmp_path / f"registry{k}.sqlite"
        journal = Path(f"{path}-journal")
        proc = _start_import(bundle, str(path))

        def committed(p: Path = path) -> bool:
            return _count_imports(f"sqlite:///{p}") > 0

        interrupted.append(_kill_at(proc, journal.exists, after, committed))
        engine = sa.create_engine(f"sqlite:///{path}")
        state = _state(engine, expected) if path.exists() else "untouched"
        outcomes.append((after, interrupted[-1], state))
        _reimport_is_complete(bundle, str(path), engine, expected, state)
        engine.dispose()
    print("sqlite kill points (after, running when killed, state):", outcomes)
    assert sum(interrupted) >= 3, f"the kills did not interrupt the imports: {outcomes}"


@pytest.mark.postgres
def test_kill_9_postgres_import(big_bundle: tuple[Path, dict[str, int]],
                                postgres_url: str) -> None:
    bundle, expected = big_bundle
    admin = sa.create_engine(postgres_url)
    interrupted: list[bool] = []
    outcomes: list[tuple[float | str | None, bool, str]] = []
    try:
        for after in KILL_POINTS:
            schema = f"k_{uuid.uuid4().hex[:12]}"
            with admin.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
            url = f"{postgres_url}?options=-csearch_path%3D{schema}&application_name={schema}"

            def began(name: str = schema) -> bool:
                with admin.connect() as conn:
                    return bool(conn.execute(sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :a "
                        "AND xact_start IS NOT NULL AND backend_xid IS NOT NULL"),
                        {"a": name}).scalar())

            def committed(u: str = url) -> bool:
                return _count_imports(u) > 0

            proc = _start_import(bundle, url)
            interrupted.append(_kill_at(proc, began, after, committed))
            engine = sa.create_engine(postgres_url, connect_args={
                "options": f"-csearch_path={schema}"})
            state = _state(engine, expected)
            outcomes.append((after, interrupted[-1], state))
            _reimport_is_complete(bundle, url, engine, expected, state)
            engine.dispose()
            with admin.begin() as conn:  # the killed client's backend may linger briefly
                conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                     f" WHERE application_name = '{schema}'")
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    finally:
        admin.dispose()
    print("postgres kill points (after, running when killed, state):", outcomes)
    assert sum(interrupted) >= 3, f"the kills did not interrupt the imports: {outcomes}"
