"""Benchmark: hsctms trial simulation vs rpact's simulation of the same simple designs.

Run: ``.venv/bin/python bench/bench_design.py [N_TRIALS] [--presets-only | --no-presets]``
(default 10,000 trials of 200 patients). Both are timed in the same run; rpact's time
excludes R start-up (measured inside R with ``system.time``). Designs (one-sided alpha
0.025, 100 patients per arm):

* two proportions 0.75 vs 0.60, z-test (rpact ``getSimulationRates``);
* exponential survival, HR 0.6, control hazard 0.3/year, 2-year uniform accrual, log-rank
  (rpact ``getSimulationSurvival`` analyses at 100 events; hsctms analyses at a fixed
  calendar time, 2 years after accrual, ~100 events; the designs are comparable in size,
  not identical in the analysis trigger).

Goal (issue 6): 10,000 simulated trials of 200 patients in under 10 s on 2 cores.

Then the whole command ``hsctms design preset NAME --out NAME.html --json NAME.json`` for
ZEUS, MIST and STAR-MS (fresh processes, default 2,000 latent / 200 endpoint-engine trials):
wall and CPU time (the command and its worker), once as shipped and once with
``HSCTMS_SIMULATION_PROCESSES=1`` (everything in one process), with the load average; goal
(issue 18) < 5 s each. No other tool simulates these scenarios (the endpoint engine), so rpact
above is the external peer of this run. ``--presets-only`` skips the rpact part,
``--no-presets`` the presets.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hsctms.design.simulate import Scenario, simulate_trials

HERE = Path(__file__).resolve().parent
PRESETS = ("zeus", "mist", "starms")


def _time(sc: Scenario, n: int) -> tuple[float, float]:
    simulate_trials(sc, 200, seed=0, type1=False)  # warm-up (imports, allocation)
    start = time.perf_counter()
    res = simulate_trials(sc, n, seed=1, type1=False)
    return time.perf_counter() - start, res.power


def _preset_command(name: str, folder: Path, single: bool) -> tuple[float, float]:
    """Wall and CPU seconds (children included) of one ``hsctms design preset`` command."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src"), "MPLBACKEND": "Agg"}
    if single:
        env["HSCTMS_SIMULATION_PROCESSES"] = "1"
    tag = f"{name}-{'single' if single else 'default'}"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hsctms", "design", "preset", name, "--out",
                    str(folder / f"{tag}.html"), "--json", str(folder / f"{tag}.json")],
                   check=True, capture_output=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def presets() -> None:
    """Time the preset commands, as shipped and in one process; results must agree."""
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in PRESETS:
            w1, c1 = _preset_command(name, folder, single=True)
            w2, c2 = _preset_command(name, folder, single=False)
            same = _same(folder / f"{name}-single.json", folder / f"{name}-default.json")
            print(f"hsctms design preset {name:6s}: {w2:5.2f} s wall ({c2:5.2f} s CPU); one "
                  f"process {w1:5.2f} s ({c1:5.2f} s CPU); x{w1 / w2:.2f}; results "
                  f"{'identical' if same else 'DIFFER'}; goal < 5 s: "
                  f"{'met' if w2 < 5 else 'NOT met'}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


def _same(a: Path, b: Path) -> bool:
    def strip(x: object) -> object:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in ("seconds", "provenance")}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    return strip(json.loads(a.read_text())) == strip(json.loads(b.read_text()))


def main() -> None:
    """Print times, simulated powers and ratios."""
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--no-presets" not in flags:
        presets()
    if "--presets-only" in flags:
        return
    n = int(args[0]) if args else 10_000
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
