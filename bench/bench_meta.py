"""Benchmark: proportion meta-analysis (hsctms.meta) against its peers, in the same run.

Peers: R metafor ``rma()`` (timed inside R, so R start-up is excluded), statsmodels
``combine_effects`` (DL only) and PyMARE ``meta_regression`` (the library hsctms builds on;
hsctms adds the exact REML solve, metafor-style I²/PI and back-transforms).

Run: .venv/bin/python bench/bench_meta.py [--k 30] [--reps 200]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def timed(fn, reps: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def r_metafor(csv: Path, reps: int) -> dict[str, float] | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    code = f"""
suppressPackageStartupMessages(library(metafor))
d <- read.csv("{csv}")
dat <- escalc("PLO", xi = events, ni = n, data = d)
tm <- function(f) {{ f(); t0 <- proc.time()[["elapsed"]]; for (i in 1:{reps}) f();
                     (proc.time()[["elapsed"]] - t0) / {reps} }}
out <- c(
  DL = tm(function() predict(rma(yi, vi, data = dat, method = "DL"), transf = transf.ilogit)),
  REML = tm(function() predict(rma(yi, vi, data = dat, method = "REML"), transf = transf.ilogit)),
  metareg = tm(function() rma(yi, vi, mods = ~ year, data = dat, method = "REML")))
cat(jsonlite::toJSON(as.list(out), auto_unbox = TRUE, digits = NA))
"""
    proc = subprocess.run([rscript, "-e", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=30, help="studies per meta-analysis")
    ap.add_argument("--reps", type=int, default=200)
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    n = rng.integers(10, 400, a.k)
    p = 1 / (1 + np.exp(-rng.normal(-3.5, 0.8, a.k)))
    x = rng.binomial(n, p)
    year = rng.integers(1995, 2024, a.k).astype(float)

    from statsmodels.stats.meta_analysis import combine_effects

    from hsctms.meta import ModelSpec, escalc, meta_regression, pool_proportions
    with warnings.catch_warnings():  # PyMARE 0.0.13 leaves a file open at import
        warnings.simplefilter("ignore", ResourceWarning)
        import pymare  # the peer (dev extra); hsctms no longer uses it
    yi, vi = escalc("PLO", x, n)

    def pm(method: str) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pymare.meta_regression(y=yi, v=vi, X=None, method=method,
                                   small_sample_correction="wald")

    dl, reml = ModelSpec(method="DL"), ModelSpec(method="REML")
    rows = {
        "DL": {"hsctms": timed(lambda: pool_proportions(x, n, model=dl), a.reps),
               "statsmodels": timed(lambda: combine_effects(yi, vi, method_re="dl"), a.reps),
               "PyMARE": timed(lambda: pm("DL"), a.reps)},
        "REML": {"hsctms": timed(lambda: pool_proportions(x, n, model=reml), a.reps),
                 "PyMARE": timed(lambda: pm("REML"), a.reps)},
        "metareg": {"hsctms": timed(lambda: meta_regression(x, n, {"year": year}), a.reps)},
    }
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        csv.write_text("study,events,n,year\n" + "\n".join(
            f"S{i},{x[i]},{n[i]},{int(year[i])}" for i in range(a.k)) + "\n")
        r = r_metafor(csv, a.reps)
    if r is not None:
        for key in rows:
            rows[key]["R metafor"] = r[key]
    from hsctms.evidence import load_evidence
    from hsctms.evidence.loader import read_all

    t_load = timed(lambda: read_all(None), 5)
    load_evidence()
    print(f"hsctms.meta benchmark: k = {a.k} studies, {a.reps} repetitions (ms per fit)")
    print(f"{'model':8s} {'peer':12s} {'peer ms':>9s} {'hsctms ms':>10s} {'hsctms/peer':>12s}")
    for model, times in rows.items():
        own = times["hsctms"]
        peers = {k: v for k, v in times.items() if k != "hsctms"}
        if not peers:
            print(f"{model:8s} {'-':12s} {'-':>9s} {1e3 * own:10.3f} {'-':>12s}")
        for peer, t in peers.items():
            print(f"{model:8s} {peer:12s} {1e3 * t:9.3f} {1e3 * own:10.3f} {own / t:12.2f}")
    if r is None:
        print("(R metafor not measured: Rscript not found)")
    print(f"evidence base load + validation: {1e3 * t_load:.1f} ms")


if __name__ == "__main__":
    main()
