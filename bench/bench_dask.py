"""Benchmark: derive_dask (2 workers, threads and processes) against derive_frames (one process).

Usage::

    .venv/bin/python bench/bench_dask.py                  # 100,000 and 1,000,000 visits
    .venv/bin/python bench/bench_dask.py --huge           # ... and 5,000,000 visits
    .venv/bin/python bench/bench_dask.py --sizes 100000   # quick

For each size, ``random_visits`` makes patients with 20 visits each (and their relapses); an
MRI table holds a quarter of the visit dates. The same tables are derived (``msprog_default``)

* by ``derive_frames`` in this process (the reference, timed first);
* by ``derive_dask`` on ``dd.from_pandas(visits, npartitions=--partitions)``, computed with
  the local ``threads`` scheduler and the local ``processes`` scheduler (a pool of 2 worker
  processes started and warmed before timing), both with 2 workers; hsctms partitions the
  visits by patient (the default);
* by ``derive_dask(..., partitioning=Partitioning(by_patient=True))`` on partitions cut
  between patients (no shuffle; one pass over ``patient_id`` for the check), with both schedulers.

Each Dask time is the whole call: building the graph plus ``.compute()`` into an
``EndpointResult``. Every run is repeated ``--repeat`` times and the fastest is shown (the
development machine is shared). Every result is checked identical to ``derive_frames``'
(per-patient rows, events, exclusions) and the ratio one-process time / Dask time is
printed (above 1: Dask is faster), all measured in the same run.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from hsctms.endpoints import EndpointResult, Partitioning, derive_dask, derive_frames
from hsctms.endpoints.synthetic import random_visits

DEFINITION = "msprog_default"


def tables(n_visits: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Visits (20 per patient), relapses and an MRI table on a quarter of the visit dates."""
    v, r = random_visits(n_visits // 20, 20, seed=seed)
    rng = np.random.default_rng(seed)
    m = v.sample(frac=0.25, random_state=seed)[["patient_id", "date"]].reset_index(drop=True)
    m["new_t2"] = rng.poisson(0.3, len(m))
    m["gd_lesions"] = rng.poisson(0.1, len(m))
    return v, r, m


def by_patient(v: pd.DataFrame, k: int) -> Any:
    """``v`` (sorted by patient) as ``k`` Dask partitions cut between patients."""
    starts = np.flatnonzero(v["patient_id"].to_numpy() != np.roll(v["patient_id"].to_numpy(), 1))
    cuts = [0, *(int(starts[len(starts) * i // k]) for i in range(1, k)), len(v)]
    return dd.concat([dd.from_pandas(v.iloc[a:b], npartitions=1)
                      for a, b in itertools.pairwise(cuts)])


def same(got: EndpointResult, ref: EndpointResult) -> bool:
    for name in ("frame", "events", "excluded"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(ref, name))
    return True


def timed(fn: Callable[[], EndpointResult], repeat: int
          ) -> tuple[float, float, EndpointResult]:
    """Fastest wall time of ``repeat`` runs, its CPU time (this process) and the result."""
    best: tuple[float, float, EndpointResult] | None = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        t, c = time.perf_counter() - t0, time.process_time() - c0
        if best is None or t < best[0]:
            best = (t, c, out)
    assert best is not None
    return best


def run_size(n: int, a: argparse.Namespace, pool: ProcessPoolExecutor) -> None:
    """Time every run on ``n`` visits and print one line each."""
    v, r, m = tables(n, a.seed)
    t_ref, c_ref, ref = timed(lambda: derive_frames(v, r, m, definition=DEFINITION), a.repeat)
    print(f"{len(v):>10,} {'derive_frames (one process)':<34} {t_ref:8.2f} {c_ref:8.2f} "
          f"{1.0:7.2f} -   ({len(r):,} relapses, {len(m):,} MRI, {ref.n:,} patients)")
    threads = {"scheduler": "threads", "num_workers": a.workers}
    processes = {"scheduler": "processes", "num_workers": a.workers, "pool": pool}
    runs: list[tuple[str, Callable[[], EndpointResult]]] = [
        ("derive_dask threads", lambda: derive_dask(
            dd.from_pandas(v, npartitions=a.partitions), r, m, definition=DEFINITION
        ).compute(**threads)),
        ("derive_dask processes", lambda: derive_dask(
            dd.from_pandas(v, npartitions=a.partitions), r, m, definition=DEFINITION
        ).compute(**processes)),
        ("derive_dask threads, by patient", lambda: derive_dask(
            by_patient(v, a.partitions), r, m, definition=DEFINITION,
            partitioning=Partitioning(by_patient=True)).compute(**threads)),
        ("derive_dask processes, by patient", lambda: derive_dask(
            by_patient(v, a.partitions), r, m, definition=DEFINITION,
            partitioning=Partitioning(by_patient=True)).compute(**processes)),
    ]
    for label, fn in runs:
        t, c, got = timed(fn, a.repeat)
        ok = same(got, ref)
        print(f"{len(v):>10,} {label:<34} {t:8.2f} {c:8.2f} {t_ref / t:7.2f} {ok}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000],
                   help="numbers of visits")
    p.add_argument("--huge", action="store_true", help="also 5,000,000 visits")
    p.add_argument("--partitions", type=int, default=4, help="Dask partitions")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3, help="runs of each (fastest shown)")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    sizes = [*a.sizes, *([5_000_000] if a.huge else [])]

    pool = ProcessPoolExecutor(a.workers, mp_context=multiprocessing.get_context("spawn"))
    v, r, m = tables(2_000, a.seed)  # warm-up: imports, caches, the worker processes
    for kw in ({"scheduler": "threads"}, {"scheduler": "processes", "pool": pool}):
        derive_dask(dd.from_pandas(v, npartitions=2), r, m, definition=DEFINITION
                    ).compute(num_workers=a.workers, **kw)
    derive_frames(v, r, m, definition=DEFINITION)

    print(f"{a.workers} workers, {a.partitions} partitions, definition {DEFINITION}, "
          f"fastest of {a.repeat}; load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs")
    print(f"{'visits':>10} {'run':<34} {'wall s':>8} {'CPU s':>8} {'ratio':>7} identical")
    for n in sizes:
        run_size(n, a, pool)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    pool.shutdown()


if __name__ == "__main__":
    main()
