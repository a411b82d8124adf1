"""Benchmark: validated bundle import of 1,000,000 EDSS rows vs plain ``sqlite3.executemany``.

Usage::

    .venv/bin/python bench/bench_import.py                  # 50,000 patients x 20 visits
    .venv/bin/python bench/bench_import.py --patients 5000  # quick

All runs write the same bundle (patients.csv + edss.csv) into a fresh SQLite file whose tables
were created by ``hsctms.db.upgrade`` (so the peers insert into an *equivalent* table: same
columns, natural-key unique constraint, foreign key to patients, server defaults).

* **hsctms**: ``import_bundle`` end to end: read and decode the CSV files, parse every column,
  apply every validation rule, compare with stored rows, insert in one transaction, record the
  import and its audit entry.
* **peer A, csv + executemany**: what a plain loader does: ``csv.reader`` over both files,
  ``float()`` on the score, ``executemany`` in one transaction. No validation at all.
* **peer B, executemany only**: rows already in memory as tuples; only ``executemany``.

With ``--postgres URL`` the same comparison also runs on PostgreSQL (each run in a fresh
schema): hsctms (``COPY``) against a plain ``psycopg`` ``executemany`` of the same rows.

Every variant is timed ``--repeat`` times in interleaved order (the machine is shared) and the
best time is reported. The ratios printed are hsctms time / peer time (goal: <= 3 against
peer A).
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hsctms.db import import_bundle, upgrade
from hsctms.model import EDSS_VALUES

EDSS_COLS = ("patient_id", "date", "edss", "fs_pyramidal", "fs_cerebellar", "fs_brainstem",
             "fs_sensory", "fs_bowel_bladder", "fs_visual", "fs_cerebral", "fs_other")


def write_bundle(directory: Path, patients: int, visits: int) -> None:
    """patients.csv and edss.csv with ``patients * visits`` EDSS rows (valid, seed 1)."""
    directory.mkdir(parents=True, exist_ok=True)
    pids = np.char.add("P", np.char.zfill(np.arange(patients).astype(str), 7))
    pd.DataFrame({"patient_id": pids, "centre": "C01", "sex": "F", "birth_year": 1970,
                  "phenotype": "RRMS"}).to_csv(directory / "patients.csv", index=False)
    rng = np.random.default_rng(1)
    days = np.tile(np.arange(visits) * 180, patients).astype("timedelta64[D]")
    pd.DataFrame({
        "patient_id": np.repeat(pids, visits),
        "date": (np.datetime64("2000-01-01") + days).astype(str),
        "edss": np.asarray(EDSS_VALUES)[rng.integers(0, len(EDSS_VALUES), patients * visits)],
    }).to_csv(directory / "edss.csv", index=False)


def fresh_db(path: Path) -> Path:
    path.unlink(missing_ok=True)
    upgrade(path)
    return path


def run_hsctms(bundle: Path, db: Path) -> float:
    fresh_db(db)
    start = time.perf_counter()
    result = import_bundle(bundle, db)
    elapsed = time.perf_counter() - start
    assert result.counts["edss"].inserted > 0 and result.report.ok
    return elapsed


def _peer_insert(db: Path, patients: list[Any], edss: list[Any]
                 ) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("BEGIN")
    con.executemany("INSERT INTO patients (patient_id, centre, sex, birth_year, phenotype) "
                    "VALUES (?, ?, ?, ?, ?)", patients)
    marks = ", ".join("?" * len(EDSS_COLS))
    con.executemany(f"INSERT INTO edss ({', '.join(EDSS_COLS)}) VALUES ({marks})", edss)
    con.execute("COMMIT")
    con.close()


def _read_plain(bundle: Path) -> tuple[list[Any], list[Any]]:
    with open(bundle / "patients.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        patients = [(a, b, c, d, e) for a, b, c, d, e in reader]
    pad = (None,) * (len(EDSS_COLS) - 3)
    with open(bundle / "edss.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        edss = [(p, d, float(e), *pad) for p, d, e in reader]
    return patients, edss


def run_peer_a(bundle: Path, db: Path) -> float:
    fresh_db(db)
    start = time.perf_counter()
    patients, edss = _read_plain(bundle)
    _peer_insert(db, patients, edss)
    return time.perf_counter() - start


def run_peer_b(bundle: Path, db: Path) -> float:
    fresh_db(db)
    patients, edss = _read_plain(bundle)
    start = time.perf_counter()
    _peer_insert(db, patients, edss)
    return time.perf_counter() - start


def _pg_schema(url: str, name: str) -> object:
    import sqlalchemy as sa

    from hsctms.db import connect

    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {name}")
    admin.dispose()
    engine = connect(url, connect_args={"options": f"-csearch_path={name}"})
    upgrade(engine)
    return engine


def _pg_drop(url: str, name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    admin.dispose()


def run_pg_hsctms(bundle: Path, url: str) -> float:
    engine = _pg_schema(url, "bench_import")
    start = time.perf_counter()
    import_bundle(bundle, engine)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    engine.dispose()  # type: ignore[attr-defined]
    _pg_drop(url, "bench_import")
    return elapsed


def run_pg_peer(bundle: Path, url: str) -> float:
    import psycopg
    import sqlalchemy as sa

    engine = _pg_schema(url, "bench_import")
    engine.dispose()  # type: ignore[attr-defined]
    dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    start = time.perf_counter()
    patients, edss = _read_plain(bundle)
    with psycopg.connect(dsn, options="-csearch_path=bench_import") as con:
        with con.cursor() as cur:
            cur.executemany("INSERT INTO patients (patient_id, centre, sex, birth_year, "
                            "phenotype) VALUES (%s, %s, %s, %s, %s)",
                            [(a, b, c, int(d), e) for a, b, c, d, e in patients])
            marks = ", ".join(["%s"] * len(EDSS_COLS))
            cur.executemany(f"INSERT INTO edss ({', '.join(EDSS_COLS)}) VALUES ({marks})",
                            edss)
        con.commit()
    elapsed = time.perf_counter() - start
    _pg_drop(url, "bench_import")
    return elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patients", type=int, default=50_000)
    p.add_argument("--visits", type=int, default=20)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--postgres", default=None, help="also compare on this PostgreSQL URL")
    args = p.parse_args()
    rows = args.patients * args.visits
    with tempfile.TemporaryDirectory(prefix="hsctms-bench-import-") as tmp:
        root = Path(tmp)
        bundle = root / "bundle"
        write_bundle(bundle, args.patients, args.visits)
        db = root / "bench.db"
        if args.postgres:
            pg = {"hsctms": run_pg_hsctms(bundle, args.postgres),
                  "psycopg": run_pg_peer(bundle, args.postgres)}
            print(f"PostgreSQL, {rows:,} EDSS rows (+{args.patients:,} patients), 1 run:")
            print(f"  hsctms import_bundle (COPY, validation included) {pg['hsctms']:7.2f} s")
            print(f"  peer: csv.reader + psycopg executemany          {pg['psycopg']:7.2f} s")
            print(f"  ratio hsctms / peer: {pg['hsctms'] / pg['psycopg']:.2f}\n", flush=True)
        times: dict[str, list[float]] = {"hsctms": [], "peer A": [], "peer B": []}
        runners = {"hsctms": run_hsctms, "peer A": run_peer_a, "peer B": run_peer_b}
        for i in range(args.repeat):
            order = list(runners) if i % 2 == 0 else list(reversed(runners))
            for name in order:
                times[name].append(runners[name](bundle, db))
                print(f"  run {i + 1} {name:7s} {times[name][-1]:7.2f} s", flush=True)
    best = {k: min(v) for k, v in times.items()}
    total_rows = rows + args.patients
    print(f"\nImport of {rows:,} EDSS rows (+{args.patients:,} patients) into SQLite, best of "
          f"{args.repeat}:")
    labels = {"hsctms": "hsctms import_bundle (validation included)",
              "peer A": "peer A: csv.reader + sqlite3.executemany",
              "peer B": "peer B: sqlite3.executemany only"}
    for name, label in labels.items():
        print(f"  {label:45s} {best[name]:7.2f} s  {total_rows / best[name]:>12,.0f} rows/s")
    print(f"  ratio hsctms / peer A: {best['hsctms'] / best['peer A']:.2f}  (goal <= 3)")
    print(f"  ratio hsctms / peer B: {best['hsctms'] / best['peer B']:.2f}")


if __name__ == "__main__":
    main()
