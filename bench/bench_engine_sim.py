"""Benchmark: the endpoint-engine scenarios of ``hsctms design preset zeus`` in one process.

Runs the preset's scenarios that go through the demo generator and the endpoint engine
(``definition`` set; 200 trials of 758 patients each, under the design and its null) exactly as
:func:`hsctms.design.presets.evaluate_preset` does (same seeds), and reports the CPU time
(``time.process_time``), the wall time, the load average before and after, and a digest of
the per-trial results so that two checkouts can be compared for identical outputs. The whole
command (start-up, latent scenarios, report) is measured by ``bench/bench_design.py``.

Run: PYTHONPATH=src .venv/bin/python bench/bench_engine_sim.py [--runs 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import time

import numpy as np


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="cProfile one run (top 25)")
    args = ap.parse_args()
    from hsctms.design.presets import get_preset
    from hsctms.design.simulate import run_grid

    preset = get_preset("zeus")
    slow = [sc for sc in preset.scenarios(preset.primary()) if sc.definition is not None]
    seed, trials = 1 + 1, 200  # the command's default seed 1, + 1 as evaluate_preset does
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(run_grid, slow, trials, seed=seed)
        st = pstats.Stats(prof)
        st.sort_stats("tottime").print_stats(25)
        return
    for _ in range(args.runs):
        before = _load()
        c0, w0 = time.process_time(), time.perf_counter()
        res = run_grid(slow, trials, seed=seed)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        h = hashlib.sha256()
        for r in res:
            h.update(np.asarray(r.estimates, dtype=float).tobytes())
            h.update(repr((r.power, r.type1, r.bias)).encode())
        print(f"{len(slow)} engine scenario(s) x {trials} trials: cpu {cpu:.2f} s, "
              f"wall {wall:.2f} s, load {before} -> {_load()}, digest {h.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
