"""Timing of the economics PSA: 10,000 draws x 4 strategies x 50 years (target < 10 s).

Run: ``PYTHONPATH=src python bench/bench_economics.py [--draws N]``. Prints CPU and wall time
of sampling and of the model run, and the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import time

from hsctms.economics import load_inputs
from hsctms.economics.psa import run_psa, sample_parameters


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    inputs = load_inputs("uk")
    assert len(inputs.strategies) == 4 and inputs.settings.horizon_years == 50
    for rep in range(args.repeat):
        load = os.getloadavg()
        c0, w0 = time.process_time(), time.perf_counter()
        params = sample_parameters(inputs, args.draws, seed=rep)
        c1, w1 = time.process_time(), time.perf_counter()
        psa = run_psa(inputs, params=params, seed=rep)
        c2, w2 = time.process_time(), time.perf_counter()
        print(f"run {rep}: {psa.draws} draws x {len(psa.strategies)} strategies x "
              f"{inputs.settings.horizon_years} y: sampling {c1 - c0:.2f} s CPU "
              f"({w1 - w0:.2f} s wall), model + curves {c2 - c1:.2f} s CPU ({w2 - w1:.2f} s "
              f"wall), total {c2 - c0:.2f} s CPU; load average {load[0]:.2f} {load[1]:.2f}")


if __name__ == "__main__":
    main()
