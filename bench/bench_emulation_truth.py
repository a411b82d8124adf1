"""Simulation study: do the emulation methods recover a known truth? (issue 16, item 2)

Replicates of :func:`hsctms.emulation.simulate_comparison` (SYNTHETIC data, confounding by
indication, true relapse rate ratio 0.3 and conditional worsening hazard ratio 0.5), each
analysed by :func:`hsctms.emulation.method_estimates` (naive, 1:1 caliper matching, IPW (ATE),
overlap weights). Prints, per confounding strength, method and outcome: the geometric mean
estimate, the bias of the log estimate, the empirical SE and the mean model (robust) SE of the
log estimate, and the coverage of the truth by the 95% CI with its Monte Carlo SE. Replicate
r uses seed ``seed + r``.

Run: .venv/bin/python bench/bench_emulation_truth.py [--replicates 200] [--n 600]
     [--confounding 1 2] [--seed 20261206]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from hsctms.emulation import ComparisonTruth, method_estimates, simulate_comparison


def study(truth: ComparisonTruth, replicates: int, n: int, seed: int) -> pd.DataFrame:
    """All replicate estimates, one row per (replicate, method, outcome)."""
    out = []
    for r in range(replicates):
        e = method_estimates(simulate_comparison(n, truth=truth, seed=seed + r))
        out.append(e.assign(replicate=r))
    df = pd.concat(out, ignore_index=True)
    df["truth"] = np.where(df["outcome"] == "RR", truth.rate_ratio, truth.hazard_ratio)
    df["cover"] = (df["lower"] <= df["truth"]) & (df["truth"] <= df["upper"])
    return df


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Mean estimate, bias, empirical and model SE (log scale) and coverage per method."""
    rows = []
    for (outcome, method), g in df.groupby(["outcome", "method"], sort=False):
        log = np.log(g["estimate"].to_numpy())
        cov = float(g["cover"].mean())
        rows.append({
            "outcome": outcome, "method": method, "truth": float(g["truth"].iloc[0]),
            "mean_estimate": float(np.exp(log.mean())),
            "bias_log": float(log.mean() - np.log(g["truth"].iloc[0])),
            "empirical_se": float(log.std(ddof=1)), "model_se": float(g["se"].mean()),
            "coverage": cov, "coverage_mcse": float(np.sqrt(cov * (1 - cov) / len(g))),
            "mean_n": float(g["n"].mean()),
        })
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--confounding", type=float, nargs="+", default=[1.0, 2.0])
    ap.add_argument("--seed", type=int, default=20261206)
    a = ap.parse_args()
    pd.set_option("display.width", 140)
    for c in a.confounding:
        truth = ComparisonTruth(confounding=c)
        table = summarise(study(truth, a.replicates, a.n, a.seed))
        print(f"\nconfounding {c}: {a.replicates} replicates of n = {a.n}, seeds "
              f"{a.seed}..{a.seed + a.replicates - 1}; {truth}")
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
