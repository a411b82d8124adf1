"""Benchmark: hsctms endpoint engine vs pymsprog 1.0.7 on the same synthetic cohort.

Usage::

    .venv/bin/python bench/bench_endpoints.py                 # 10,000 x 20 visits + 1M visits
    .venv/bin/python bench/bench_endpoints.py --patients 1000 --big 0   # quick

Both engines derive the first confirmed worsening (msprog_default: fixed baseline, 12-week
confirmation, RAW/PIRA classification) on the same visits and relapses. pymsprog runs in its
own virtual environment (``.venv-oracle``) as a subprocess; only the time spent inside its
``MSprog()`` calls is counted (not start-up or CSV I/O), and it is given its fastest mode
(subjects in chunks of ``--chunk``, see peers-msprog.md §7). Our time is the whole
``derive_frames`` call (input validation, all endpoints and the events table). The script
prints both times, the ratio, and whether the event tables are identical; then it times
``derive_frames`` on ``--big`` visits.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "endpoints"))

from _oracle import mismatches, msprog_kwargs, oracle_events, our_events, run_oracle  # noqa: E402

from hsctms.endpoints import derive_frames, get_definition  # noqa: E402
from hsctms.endpoints.synthetic import random_visits  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patients", type=int, default=10_000)
    p.add_argument("--visits", type=int, default=20)
    p.add_argument("--big", type=int, default=1_000_000, help="visits for the scale run")
    p.add_argument("--chunk", type=int, default=1000, help="pymsprog subjects per call")
    p.add_argument("--oracle", default=str(REPO / ".venv-oracle" / "bin" / "python"))
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    v, r = random_visits(a.patients, a.visits, seed=a.seed)
    d = get_definition("msprog_default")
    derive_frames(v.head(200), r, definition=d)  # warm-up (imports, caches)
    t0, c0 = time.perf_counter(), time.process_time()
    ours = derive_frames(v, r, definition=d)
    t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
    print(f"cohort: {a.patients} patients x {a.visits} visits = {len(v)} visits, "
          f"{len(r)} relapses")
    print(f"hsctms derive_frames: {t_ours:8.3f} s wall, {c_ours:8.3f} s CPU")
    if Path(a.oracle).exists():
        kw = msprog_kwargs(d, "firstCDW")
        with tempfile.TemporaryDirectory() as tmp:
            res, status = run_oracle(a.oracle, v, r, {**kw, "_chunk": a.chunk}, Path(tmp))
        t_theirs = float(status["seconds"])
        c_theirs = float(status.get("cpu_seconds", float("nan")))
        theirs = oracle_events(res, d.conf_days, day=False)
        mine = our_events(ours.events[ours.events["event_type"] == "worsening"], day=False)
        diff = mismatches(mine, theirs)
        print(f"pymsprog {status['pymsprog']} MSprog(): {t_theirs:8.3f} s wall, "
              f"{c_theirs:8.3f} s CPU (chunks of {a.chunk} subjects)")
        print(f"ratio pymsprog / hsctms: {t_theirs / t_ours:8.1f}x wall, "
              f"{c_theirs / c_ours:8.1f}x CPU")
        print(f"identical results: {diff.empty} ({len(mine)} vs {len(theirs)} confirmed "
              f"worsening events, {len(diff)} differing rows)")
    else:
        print(f"pymsprog oracle not found at {a.oracle}: ratio not measured")
    if a.big:
        n_big = a.big // a.visits
        vb, rb = random_visits(n_big, a.visits, seed=a.seed + 1)
        t0 = time.perf_counter()
        big = derive_frames(vb, rb, definition=d)
        t_big = time.perf_counter() - t0
        print(f"scale: {len(vb)} visits ({n_big} patients): {t_big:.2f} s "
              f"({big.counts()['worsening']} worsening events)")
        t0 = time.perf_counter()
        derive_frames(vb, rb, definition=d.with_(baseline="roving", events="all"))
        print(f"scale, all events with roving baseline: {time.perf_counter() - t0:.2f} s")
    print(json.dumps({"patients": a.patients, "ours_s": round(t_ours, 3)}))


if __name__ == "__main__":
    main()
