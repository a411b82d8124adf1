"""Benchmark: mixed web load with 20% writes on loopback (issue 12, finding 7).

Usage::

    .venv/bin/python bench/bench_web_load.py                       # 10,000 patients
    .venv/bin/python bench/bench_web_load.py --patients 2000 --requests 200   # quick

1. Generates a synthetic bundle and imports it into a fresh SQLite registry (as
   ``bench_web.py``); adds one data-entry user per client thread at the busiest centre.
2. Starts ``hsctms serve`` in a subprocess (one uvicorn worker, WAL, busy timeout 10 s).
3. Each thread sends a bounded number of requests: 20% writes (a new EDSS visit of a patient
   of its centre, JSON API with CSRF), 80% reads (the centre dashboard, the patient list, a
   patient page), in a fixed pseudo-random order (seed 1).
4. Reports p50/p95/max latency of reads and writes, the error rate and the number of 5xx.

Peer, measured in the same run: a raw ``sqlite3`` driver insert of one EDSS row with its
commit on the same file (what a write costs without validation, audit chain, HTTP and
locking). Printed ratio = web write p50 / raw insert p50. Goal: no 5xx, p95 < 500 ms.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as _dt
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from bench_web import _pct, _port

PASSWORD = "benchmark passphrase 123"


def _raw_insert_p50(db: Path, patient_id: str, n: int = 200) -> float:
    conn = sqlite3.connect(db, isolation_level=None, timeout=10)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO edss (patient_id, date, edss, version) VALUES (?, ?, ?, 1)",
                     (patient_id, f"2030-01-01T{i:05d}", 3.0))
        conn.execute("ROLLBACK")  # leave the registry as it was
        times.append(time.perf_counter() - t0)
    conn.close()
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=150, help="per thread")
    ap.add_argument("--threads", type=int, default=6)
    args = ap.parse_args()

    from hsctms.datasets import write_demo_bundle
    from hsctms.db import connect, import_bundle, load_cohort, upgrade
    from hsctms.db.users import add_user

    tmp = Path(tempfile.mkdtemp(prefix="hsctms-bench-load-"))
    atexit.register(shutil.rmtree, tmp, True)  # the bench removes what it made
    write_demo_bundle(tmp / "bundle", args.patients, seed=7)
    db = tmp / "registry.db"
    engine = connect(db)
    upgrade(engine)
    import_bundle(tmp / "bundle", engine, user="bench")
    patients = load_cohort(engine).patients
    centre = str(patients["centre"].value_counts().index[0])
    ids = sorted(patients.loc[patients["centre"] == centre, "patient_id"].astype(str))
    for k in range(args.threads):
        add_user(engine, f"entry{k}", PASSWORD, "data_entry", centre)
    engine.dispose()
    raw = _raw_insert_p50(db, ids[0])

    port = _port()
    env = dict(os.environ, HSCTMS_SECRET_KEY="b" * 48)
    server = subprocess.Popen([sys.executable, "-m", "hsctms", "serve", "--db", str(db),
                               "--port", str(port), "--insecure-cookies"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    reads: list[float] = []
    writes: list[float] = []
    statuses: list[int] = []
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)

        def client(k: int) -> None:
            rng = random.Random(1000 + k)
            with httpx.Client(base_url=base, timeout=120) as c:
                r = c.post("/api/login", json={"username": f"entry{k}", "password": PASSWORD})
                r.raise_for_status()
                c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
                c.get("/api/dashboard")  # warm this view's cache once
                for i in range(args.requests):
                    pid = rng.choice(ids)
                    t0 = time.perf_counter()
                    if rng.random() < 0.2:
                        day = _dt.date(2025, 6, 30) - _dt.timedelta(days=1000 * k + i)  # past
                        r = c.post("/api/records/edss", json={
                            "patient_id": pid, "date": day.isoformat(), "edss": "3.0"})
                        writes.append(time.perf_counter() - t0)
                    else:
                        path = rng.choice(["/api/dashboard", "/api/patients",
                                           f"/api/patients/{pid}"])
                        r = c.get(path)
                        reads.append(time.perf_counter() - t0)
                    statuses.append(r.status_code)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(client, range(args.threads)))
        wall = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(timeout=30)

    errors = sum(s >= 400 for s in statuses)
    five = sum(s >= 500 for s in statuses)
    print(f"{args.patients} patients, {args.threads} threads x {args.requests} requests "
          f"({len(writes)} writes, {len(reads)} reads) in {wall:.1f} s on loopback")
    for name, lat in (("reads", reads), ("writes", writes)):
        print(f"{name:7s} p50 {1000 * statistics.median(lat):8.1f} ms  p95 "
              f"{1000 * _pct(lat, 95):8.1f} ms  max {1000 * max(lat):8.1f} ms")
    print(f"error rate {errors / len(statuses):.2%} (5xx: {five}); raw sqlite3 insert p50 "
          f"{1000 * raw:.2f} ms; web write p50 / raw insert p50 = "
          f"{statistics.median(writes) / raw:.0f}")
    counts = {code: statuses.count(code) for code in sorted(set(statuses))}
    print(f"status counts: {counts}")
    print("goal: no 5xx, p95 < 500 ms")


if __name__ == "__main__":
    main()
