"""Benchmark: stream synthetic cohorts to a CSV bundle (hsctms.datasets.write_demo_bundle).

There is no peer generator to compare with, so this prints throughput (patients/s, rows/s)
and the peak resident memory of each run. Each size runs in a fresh subprocess so its peak RSS
is its own; if memory is bounded by the chunk size, peak RSS barely grows with the cohort.

Usage::

    .venv/bin/python bench/bench_generate.py            # 10,000 and 100,000 patients
    .venv/bin/python bench/bench_generate.py 2000 20000  # other sizes
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time, tempfile
from hsctms.datasets import write_demo_bundle
n, chunk = int(sys.argv[1]), int(sys.argv[2])
with tempfile.TemporaryDirectory() as out:
    t0 = time.perf_counter()
    counts = write_demo_bundle(out, n, seed=1, chunk_size=chunk)
    elapsed = time.perf_counter() - t0
rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"n": n, "chunk": chunk, "seconds": elapsed, "rows": sum(counts.values()),
                  "counts": counts, "peak_rss_mib": rss_mib}))
"""


def run(n: int, chunk: int = 10_000) -> dict[str, float]:
    """Generate and write ``n`` patients in a fresh interpreter; return its measurements."""
    with tempfile.TemporaryDirectory():
        proc = subprocess.run([sys.executable, "-c", CHILD, str(n), str(chunk)],
                              capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [10_000, 100_000]
    print(f"{'patients':>9} {'chunk':>7} {'seconds':>8} {'patients/s':>11} {'rows':>10} "
          f"{'rows/s':>10} {'peak RSS MiB':>13}")
    for n in sizes:
        r = run(n)
        print(f"{r['n']:>9,} {r['chunk']:>7,} {r['seconds']:>8.1f} "
              f"{r['n'] / r['seconds']:>11,.0f} {r['rows']:>10,} "
              f"{r['rows'] / r['seconds']:>10,.0f} {r['peak_rss_mib']:>13,.0f}")
    print("(no peer: synthetic MS registry generators with this disease model do not exist; "
          "memory is bounded by --chunk-size, not by the number of patients)")


if __name__ == "__main__":
    main(sys.argv[1:])
