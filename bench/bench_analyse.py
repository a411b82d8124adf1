"""Benchmark: the full outcomes analysis (``hsctms analyse``) on a large synthetic registry.

Stages timed: writing the synthetic CSV bundle (not part of ``hsctms analyse``, reported
separately), reading and validating the bundle (``hsctms.io``), endpoint derivation, the
analysis stages of :func:`hsctms.analysis.run_outcomes`, figures and HTML report.
Peer: R ``survival`` on the same endpoint table in the same run (Kaplan-Meier of EFS with
summary at years 1-5, log-rank by phenotype, Cox model), timed inside R (excluding
R start-up and CSV reading), against hsctms' own time for the same three computations.

Usage::

    .venv/bin/python bench/bench_analyse.py [--n 100000] [--seed 1] [--no-r]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

R_CODE = r"""
suppressPackageStartupMessages(library(survival))
d <- read.csv("{csv}")
t0 <- proc.time()[["elapsed"]]
f <- survfit(Surv(t, e) ~ 1, data = d, conf.type = "log-log", conf.int = 0.9)
s <- summary(f, times = 1:5, extend = TRUE)
lr <- survdiff(Surv(t, e) ~ g, data = d)
m <- coxph(Surv(t, e) ~ g + age + edss, data = d, ties = "efron")
t1 <- proc.time()[["elapsed"]]
cat(sprintf("%.6f %.10f\n", t1 - t0, s$surv[5]))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-r", action="store_true", help="skip the R peer")
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")

    from hsctms.analysis import OutcomesSettings, run_outcomes
    from hsctms.datasets import write_demo_bundle
    from hsctms.endpoints import derive
    from hsctms.io.bundle import read_bundle
    from hsctms.reports.outcomes import build_outcomes_report
    from hsctms.survival import cox_ph, kaplan_meier, logrank_test

    print(f"hsctms outcomes benchmark: n={args.n:,} synthetic patients (seed {args.seed})")
    tmpdir = tempfile.TemporaryDirectory()
    bundle = Path(tmpdir.name) / "bundle"
    t = time.perf_counter()
    counts = write_demo_bundle(bundle, args.n, args.seed)
    gen = time.perf_counter() - t
    print(f"  generate + write bundle (not timed as analyse): {gen:8.2f} s "
          f"({counts['edss']:,} EDSS visits)")

    stages: list[tuple[str, float, float]] = []

    def timed(name: str, fn: Any) -> Any:
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        stages.append((name, time.perf_counter() - w, time.process_time() - c))
        return out

    cohort, report = timed("read + validate bundle (hsctms.io)", lambda: read_bundle(bundle))
    if not report.ok:
        print("bundle does not validate", file=sys.stderr)
        return 1
    endpoints = timed("derive endpoints (hsctms.endpoints)", lambda: derive(cohort, "halt_ms"))
    analysis = timed("run_outcomes (hsctms.analysis)", lambda: run_outcomes(
        cohort, "halt_ms", settings=OutcomesSettings(level=0.9), endpoints=endpoints))
    figs = timed("figures", analysis.figures)
    out_html = Path(tmpdir.name) / "report.html"
    timed("HTML report", lambda: build_outcomes_report(analysis, figures=figs).write(out_html))

    print(f"  {'stage':<44s} {'wall s':>8s} {'CPU s':>8s}")
    for name, wall, cpu in stages:
        print(f"  {name:<44s} {wall:8.2f} {cpu:8.2f}")
        if name.startswith("run_outcomes"):
            for stage, sec in analysis.timings.items():
                if stage != "endpoints":
                    print(f"    {stage:<42s} {sec:8.2f}")
    wall = sum(x[1] for x in stages)
    cpu = sum(x[2] for x in stages)
    print(f"  {'FULL ANALYSIS (read..report)':<44s} {wall:8.2f} {cpu:8.2f}  "
          f"({'under' if wall < 60 else 'OVER'} the 60 s goal in wall time; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    mine = sum(x[2] for x in stages[2:])
    print(f"  of which analysis + figures + report (CPU):  {mine:8.2f} s")

    # peer comparison: the same three computations in hsctms and in R
    f = analysis.frame
    d = f.assign(t=f["efs_time"] / 365.25, e=f["efs_event"],
                 g=f["phenotype_group"].astype(str), age=f["age_at_transplant"],
                 edss=f["baseline_edss"])[["t", "e", "g", "age", "edss"]].dropna()
    t = time.perf_counter()
    km = kaplan_meier(d["t"], d["e"], level=0.9)
    s5 = float(km.survival_at([1, 2, 3, 4, 5])["surv"].iloc[-1])
    logrank_test(d["t"], d["e"], d["g"])
    cox_ph(d, "t", "e", ["g", "age", "edss"])
    t_py = time.perf_counter() - t
    print(f"  peer set (KM + log-rank + Cox), hsctms:  {t_py:8.3f} s  (S(5) = {s5:.10f})")
    tmpdir.cleanup()
    rscript = shutil.which("Rscript")
    if args.no_r or not rscript:
        print("  R peer skipped" + ("" if args.no_r else " (Rscript not found)"))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "efs.csv"
        d.to_csv(csv, index=False)
        out = subprocess.run([rscript, "-e", R_CODE.format(csv=csv)], capture_output=True,
                             text=True, check=True).stdout.split()
    t_r, s5_r = float(out[0]), float(out[1])
    print(f"  peer set (KM + log-rank + Cox), R:       {t_r:8.3f} s  (S(5) = {s5_r:.10f})")
    print(f"  ratio R / hsctms: {t_r / t_py:.2f}x  (same numbers: "
          f"{abs(s5 - s5_r) < 1e-9})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
