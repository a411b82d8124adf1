"""Benchmark: the whole ``hsctms endpoints --data DIR`` command vs polars reading the files.

For each cohort size a synthetic bundle is streamed to disk (``write_demo_bundle``, seed 1),
then, in the same run and each in a fresh subprocess (wall time, best of ``--repeat``):

* **ours**: ``python -m hsctms endpoints --data DIR --definition msprog_default --out F``
  (start-up, reading and validating once the six tables the engine reads, derivation,
  writing the table), with the command's peak resident memory;
* **peer**: polars reading the three files the engine uses (``patients.csv``, ``edss.csv``,
  ``relapses.csv``, dates parsed) and sorting the visits by patient and date, as a
  subprocess (start-up and import included, like ours) and, for reference, the read + sort
  alone as timed inside that process; also polars reading all nine files of the bundle (for
  reference: ``hsctms validate`` checks all of them).

The target is ours <= 3x the peer subprocess. With ``--msprog N`` pymsprog 1.0.7 (its own
environment, as in ``bench_endpoints.py``: only the time inside ``MSprog()`` counts) derives
the first confirmed worsening of the first N patients of the first bundle, and the per-patient
times are compared (target: ours >= 100x faster per patient).

polars is not a dependency of hsctms: give an interpreter that has it with ``--peer-python``
(or ``HSCTMS_POLARS_PYTHON``); by default the running interpreter is used if it has polars.

Usage::

    .venv/bin/python bench/bench_cli_endpoints.py                       # 30,000 and 300,000
    .venv/bin/python bench/bench_cli_endpoints.py --patients 1000000 --repeat 1 --no-peer
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

PEER = r"""
import json, sys, time
import polars as pl
t0 = time.perf_counter()
d = sys.argv[1]
files = sys.argv[2].split(",")
frames = {f: pl.read_csv(f"{d}/{f}.csv", try_parse_dates=True, infer_schema_length=10000)
          for f in files}
visits = frames["edss"].sort(["patient_id", "date"])
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": sum(map(len, frames.values())),
                  "first": visits["patient_id"][0]}))
"""

TABLES = ("patients", "dmt", "transplants", "edss", "relapses", "mri", "labs",
          "adverse_events", "deaths")


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MiB) and stdout of a subprocess
    (measured with ``wait4``, so the figures are that process's own)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(cmd[:4])} failed: {err.read().decode()[-2000:]}")
        return (wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                out.read().decode())


def run_ours(bundle: Path, work: Path, env: dict[str, str], k: int
             ) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS of one ``hsctms endpoints`` run."""
    out = work / f"endpoints-{k}.csv"
    wall, cpu, rss, _ = timed([sys.executable, "-m", "hsctms", "endpoints", "--data",
                               str(bundle), "--definition", "msprog_default", "--out",
                               str(out)], env)
    out.unlink()
    return wall, cpu, rss


def run_peer(python: str, bundle: Path, files: tuple[str, ...]) -> tuple[float, float, float]:
    """Subprocess wall and CPU seconds, and in-process read + sort seconds, of the peer."""
    wall, cpu, _, out = timed([python, "-c", PEER, str(bundle), ",".join(files)])
    return wall, cpu, float(json.loads(out.strip().splitlines()[-1])["seconds"])


def peer_python(arg: str | None) -> str | None:
    """An interpreter with polars, or None."""
    if arg:
        return arg
    if os.environ.get("HSCTMS_POLARS_PYTHON"):
        return os.environ["HSCTMS_POLARS_PYTHON"]
    return sys.executable if importlib.util.find_spec("polars") else None


def msprog_per_patient(oracle: str, bundle: Path, n: int) -> dict[str, Any]:
    """pymsprog seconds per patient on the first ``n`` patients of ``bundle``."""
    sys.path.insert(0, str(REPO / "tests" / "endpoints"))
    import pandas as pd
    from _oracle import msprog_kwargs, run_oracle

    from hsctms.endpoints import get_definition

    visits = pd.read_csv(bundle / "edss.csv", usecols=["patient_id", "date", "edss"],
                         parse_dates=["date"])
    keep = visits["patient_id"].drop_duplicates().head(n)
    visits = visits[visits["patient_id"].isin(keep)].sort_values(["patient_id", "date"])
    rel = pd.read_csv(bundle / "relapses.csv", usecols=["patient_id", "onset_date"],
                      parse_dates=["onset_date"])
    rel = rel[rel["patient_id"].isin(keep)]
    d = get_definition("msprog_default")
    with tempfile.TemporaryDirectory() as tmp:
        _, status = run_oracle(oracle, visits, rel, {**msprog_kwargs(d, "firstCDW"),
                                                     "_chunk": 1000}, Path(tmp))
    return {"patients": len(keep), "visits": len(visits), "seconds": float(status["seconds"]),
            "version": status.get("pymsprog")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patients", type=int, nargs="+", default=[30_000, 300_000])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--workdir", type=Path, default=None,
                   help="keep bundles here (reused when present) instead of a temp dir")
    p.add_argument("--peer-python", default=None)
    p.add_argument("--no-peer", action="store_true")
    p.add_argument("--src", type=Path, default=REPO / "src",
                   help="hsctms source tree the command runs (e.g. another checkout's)")
    p.add_argument("--msprog", type=int, default=1000, help="patients for pymsprog (0: skip)")
    p.add_argument("--oracle", default=str(REPO / ".venv-oracle" / "bin" / "python"))
    a = p.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(a.src), *filter(None, [os.environ.get("PYTHONPATH")])])}
    peer = None if a.no_peer else peer_python(a.peer_python)
    tmp = tempfile.TemporaryDirectory() if a.workdir is None else None
    root = Path(tmp.name) if tmp else a.workdir
    root.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO / "src"))
    from hsctms.datasets import write_demo_bundle

    per_patient_ours: dict[int, float] = {}
    print(f"load average at start: {os.getloadavg()}; {os.cpu_count()} CPUs")
    for n in a.patients:
        bundle = root / f"bundle-{n}"
        if not (bundle / "edss.csv").exists():
            t0 = time.perf_counter()
            write_demo_bundle(bundle, n, seed=1, chunk_size=10_000)
            print(f"generated {n:,} patients in {time.perf_counter() - t0:.1f} s")
        rows = {t: sum(1 for _ in open(bundle / f"{t}.csv", "rb")) - 1 for t in TABLES}
        mib = sum((bundle / f"{t}.csv").stat().st_size for t in TABLES) / 2**20
        print(f"\n{n:,} patients: {rows['edss']:,} EDSS rows, {sum(rows.values()):,} rows in "
              f"9 files ({mib:,.0f} MiB)")
        ours, three, allf = [], [], []
        for k in range(a.repeat):  # interleaved, so that both see the same machine load
            ours.append(run_ours(bundle, root, env, k))
            if peer is not None:
                three.append(run_peer(peer, bundle, ("patients", "edss", "relapses")))
                allf.append(run_peer(peer, bundle, TABLES))
        wall, cpu = min(w for w, _, _ in ours), min(c for _, c, _ in ours)
        rss = max(r for _, _, r in ours)
        per_patient_ours[n] = wall / n
        print(f"  hsctms endpoints (whole command): {wall:7.2f} s wall, {cpu:7.2f} s CPU "
              f"(best of {a.repeat}; walls {', '.join(f'{w:.2f}' for w, _, _ in ours)}), "
              f"peak RSS {rss:,.0f} MiB")
        if peer is not None:
            p_wall, p_cpu = min(w for w, _, _ in three), min(c for _, c, _ in three)
            q_wall, q_cpu = min(w for w, _, _ in allf), min(c for _, c, _ in allf)
            p_in, q_in = min(x for _, _, x in three), min(x for _, _, x in allf)
            print(f"  polars read 3 files + sort: {p_wall:7.2f} s wall, {p_cpu:7.2f} s CPU "
                  f"(subprocess; {p_in:.2f} s wall in-process)")
            print(f"  polars read all 9 files + sort: {q_wall:7.2f} s wall, {q_cpu:7.2f} s CPU "
                  f"(subprocess; {q_in:.2f} s wall in-process)")
            print(f"  ratio ours / polars 3 files: {wall / p_wall:5.1f}x wall, "
                  f"{cpu / p_cpu:5.1f}x CPU (target <= 3); in-process peer: "
                  f"{wall / p_in:5.1f}x; all 9 files: {wall / q_wall:5.1f}x wall, "
                  f"{cpu / q_cpu:5.1f}x CPU")
        print(f"  load average: {os.getloadavg()}")
    if a.msprog and Path(a.oracle).exists():
        n0 = a.patients[0]
        m = msprog_per_patient(a.oracle, root / f"bundle-{n0}", a.msprog)
        theirs = m["seconds"] / m["patients"]
        print(f"\npymsprog {m['version']} MSprog() on the first {m['patients']:,} patients of "
              f"the {n0:,}-patient bundle ({m['visits']:,} visits): {m['seconds']:.2f} s "
              f"= {theirs * 1e3:.3f} ms/patient")
        print(f"hsctms endpoints (whole command) at {n0:,} patients: "
              f"{per_patient_ours[n0] * 1e3:.4f} ms/patient; ratio pymsprog / hsctms per "
              f"patient: {theirs / per_patient_ours[n0]:,.0f}x (target >= 100)")
    elif a.msprog:
        print(f"pymsprog oracle not found at {a.oracle}: per-patient ratio not measured")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
