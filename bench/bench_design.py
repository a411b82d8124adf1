"""Benchmark: hsctms trial simulation vs rpact's simulation of the same simple designs.

Run: ``.venv/bin/python bench/bench_design.py [N_TRIALS]`` (default 10,000 trials of 200
patients). Both are timed in the same run; rpact's time excludes R start-up (measured inside
R with ``system.time``). Designs (one-sided alpha 0.025, 100 patients per arm):

* two proportions 0.75 vs 0.60, z-test (rpact ``getSimulationRates``);
* exponential survival, HR 0.6, control hazard 0.3/year, 2-year uniform accrual, log-rank
  (rpact ``getSimulationSurvival`` analyses at 100 events; hsctms analyses at a fixed
  calendar time, 2 years after accrual, ~100 events; the designs are comparable in size,
  not identical in the analysis trigger).

Goal (issue 6): 10,000 simulated trials of 200 patients in under 10 s on 2 cores.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from hsctms.design.simulate import Scenario, simulate_trials

HERE = Path(__file__).resolve().parent


def _time(sc: Scenario, n: int) -> tuple[float, float]:
    simulate_trials(sc, 200, seed=0, type1=False)  # warm-up (imports, allocation)
    start = time.perf_counter()
    res = simulate_trials(sc, n, seed=1, type1=False)
    return time.perf_counter() - start, res.power


def main() -> None:
    """Print times, simulated powers and ratios."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rates = Scenario("proportion", 100, 100, p_treatment=0.75, p_control=0.6, alpha=0.025,
                     sided=1)
    surv = Scenario("survival", 100, 100, hr=0.6, control_rate=0.3, accrual=2.0,
                    follow_up=2.0, alpha=0.025, sided=1)
    t_rates, p_rates = _time(rates, n)
    t_surv, p_surv = _time(surv, n)
    print(f"hsctms  proportions: {n} trials x 200 patients in {t_rates:6.2f} s "
          f"(power {p_rates:.4f})")
    print(f"hsctms  survival   : {n} trials x 200 patients in {t_surv:6.2f} s "
          f"(power {p_surv:.4f})  goal < 10 s: {'met' if t_surv < 10 else 'NOT met'}")
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("rpact: Rscript not found, no peer timing")
        return
    start = time.perf_counter()
    proc = subprocess.run([rscript, str(HERE / "bench_design.R"), str(n)], check=True,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    peer = json.loads(proc.stdout)
    print(f"rpact   proportions: {n} trials in {peer['rates_seconds']:6.2f} s "
          f"(power {peer['rates_power']:.4f})")
    print(f"rpact   survival   : {n} trials in {peer['survival_seconds']:6.2f} s "
          f"(power {peer['survival_power']:.4f}); Rscript wall time incl. start-up {wall:.1f} s")
    print(f"ratio rpact/hsctms : proportions {peer['rates_seconds'] / t_rates:6.1f}x, "
          f"survival {peer['survival_seconds'] / t_surv:6.1f}x")


if __name__ == "__main__":
    main()
