"""Benchmark: web registry dashboard latency with 10,000 synthetic patients (loopback only).

Usage::

    .venv/bin/python bench/bench_web.py                   # 10,000 patients, 300 requests
    .venv/bin/python bench/bench_web.py --patients 2000 --requests 100   # quick

1. Generates a synthetic bundle (``hsctms.datasets.write_demo_bundle``) and imports it into a
   fresh SQLite registry with ``hsctms.db.import_bundle``; adds an analyst and a centre lead.
2. Starts ``uvicorn`` in a **subprocess** on 127.0.0.1 (free port), so the load generator does
   not share the server's interpreter.
3. Sends a fixed number of requests (bounded; the script stops by itself) from a few client
   threads and reports p50/p95/max latency per endpoint.

Peer, measured in the same run: the **uncached** dashboard, i.e. ``load_cohort`` +
``build_dashboard`` in-process for the same scope (what every request would cost without the
per-data-version cache). Printed ratio = cached p95 / uncached time. The first request after a
write pays the uncached cost once (also reported: ``cold``). Goal: registry dashboard
p95 < 200 ms.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

PASSWORD = "benchmark passphrase 123"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=300, help="per endpoint")
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()

    from hsctms.datasets import write_demo_bundle
    from hsctms.db import connect, import_bundle, load_cohort, upgrade
    from hsctms.db.users import add_user
    from hsctms.web.dashboard import build_dashboard

    tmp = Path(tempfile.mkdtemp(prefix="hsctms-bench-web-"))
    atexit.register(shutil.rmtree, tmp, True)  # the bench removes what it made
    t0 = time.perf_counter()
    write_demo_bundle(tmp / "bundle", args.patients, seed=7)
    t_gen = time.perf_counter() - t0
    db = tmp / "registry.db"
    engine = connect(db)
    upgrade(engine)
    t0 = time.perf_counter()
    res = import_bundle(tmp / "bundle", engine, user="bench")
    t_imp = time.perf_counter() - t0
    centre = str(load_cohort(engine).patients["centre"].value_counts().index[0])
    add_user(engine, "analyst", PASSWORD, "analyst")
    add_user(engine, "lead", PASSWORD, "centre_lead", centre)
    print(f"{args.patients} patients generated in {t_gen:.1f} s, imported "
          f"({res.inserted} rows) in {t_imp:.1f} s; busiest centre {centre}")

    # peer: the uncached computation, in-process
    t0 = time.perf_counter()
    build_dashboard(load_cohort(engine), "registry", suppressed=True, record_level=False,
                    with_funnel=True)
    t_reg = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_dashboard(load_cohort(engine, centre), centre, suppressed=False, record_level=True)
    t_cen = time.perf_counter() - t0
    engine.dispose()

    port = _port()
    env = dict(os.environ, HSCTMS_DB=str(db), HSCTMS_INSECURE_COOKIES="1",
               HSCTMS_SECRET_KEY="b" * 48)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "hsctms.web.app:app_factory", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        clients = {}
        for name in ("analyst", "lead"):
            c = httpx.Client(base_url=base, timeout=60)
            r = c.post("/api/login", json={"username": name, "password": PASSWORD})
            r.raise_for_status()
            clients[name] = c
        endpoints = [("analyst", "/api/dashboard/registry", t_reg),
                     ("analyst", "/dashboard/registry", t_reg),
                     ("lead", "/api/dashboard", t_cen),
                     ("lead", "/dashboard", t_cen),
                     ("lead", "/api/patients", None)]
        print(f"\n{'endpoint':28s} {'cold ms':>9s} {'p50 ms':>8s} {'p95 ms':>8s} "
              f"{'max ms':>8s} {'uncached ms':>12s} {'p95/uncached':>13s}")
        for who, path, uncached in endpoints:
            c = clients[who]
            t0 = time.perf_counter()
            c.get(path).raise_for_status()
            cold = time.perf_counter() - t0

            def one(_: int, c: httpx.Client = c, path: str = path) -> float:
                s = time.perf_counter()
                c.get(path).raise_for_status()
                return time.perf_counter() - s

            with ThreadPoolExecutor(args.threads) as pool:
                lat = list(pool.map(one, range(args.requests)))
            p50, p95 = statistics.median(lat), _pct(lat, 95)
            unc = f"{1000 * uncached:12.0f}" if uncached else f"{'-':>12s}"
            ratio = f"{p95 / uncached:13.3f}" if uncached else f"{'-':>13s}"
            print(f"{path:28s} {1000 * cold:9.0f} {1000 * p50:8.1f} {1000 * p95:8.1f} "
                  f"{1000 * max(lat):8.1f} {unc} {ratio}")
        print(f"\n{args.requests} requests per endpoint from {args.threads} threads on "
              "loopback; goal: dashboard p95 < 200 ms.")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
