"""Benchmark: start-up wall time of small ``hsctms`` commands, against interpreter peers.

Each command runs in a fresh subprocess (stdout and stderr discarded), ``--runs`` times,
round-robin over all commands so that a burst of machine load spreads over every row. Peers,
measured in the same run the same way: ``python -c pass`` (the interpreter's own start-up)
and ``python -c "import pandas"`` (what any command that touches the data model pays).
Goal: every command here under 0.5 s of wall time. The CPU time (user + system) of each run is
reported beside it: on a loaded machine it moves much less than the wall time.

The commands run through the ``hsctms`` console script beside the interpreter when there is
one, else ``python -m hsctms``. ``--src DIR`` puts DIR first on PYTHONPATH, e.g. to compare
a checkout's ``src`` with another's in two runs.

Run: .venv/bin/python bench/bench_startup.py [--runs 15] [--src src]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_S = 0.5

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("version",),
    ("evidence", "list"),
    ("evidence", "--help"),
    ("users", "--help"),
    ("db", "--help"),
    ("design", "--help"),
    ("trial", "--help"),
    ("validate", "--help"),
    ("analyse", "--help"),
)


def hsctms_command() -> list[str]:
    """The console script beside this interpreter, else ``python -m hsctms``."""
    script = Path(sys.executable).with_name("hsctms")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hsctms"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``argv``; a failing command stops the benchmark."""
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                          check=False)
    elapsed, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr.decode(errors='replace')}")
    return elapsed, cpu


def measure(cases: dict[str, list[str]], runs: int,
            env: dict[str, str]) -> dict[str, list[tuple[float, float]]]:
    """``runs`` (wall, CPU) times of every case, round-robin, after one warm-up run each."""
    for argv in cases.values():
        run_once(argv, env)  # warm the file-system cache and the bytecode cache
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, argv in cases.items():
            times[name].append(run_once(argv, env))
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="runs per command (median reported)")
    ap.add_argument("--src", type=Path, default=None,
                    help="directory put first on PYTHONPATH (e.g. a checkout's src)")
    a = ap.parse_args()
    env = dict(os.environ)
    if a.src is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(a.src.resolve()), env.get("PYTHONPATH", "")) if p)
    base = hsctms_command()
    cases = {"python -c pass": [sys.executable, "-c", "pass"],
             "python -c 'import pandas'": [sys.executable, "-c", "import pandas"]}
    cases.update({"hsctms " + " ".join(c): [*base, *c] for c in COMMANDS})
    probe = subprocess.run([sys.executable, "-c", "import hsctms; print(hsctms.__file__)"],
                           capture_output=True, text=True, env=env, check=True)
    print(f"hsctms from {probe.stdout.strip()}; run as {' '.join(base)}")
    print(f"{a.runs} runs per command, round-robin; load average {os.getloadavg()}")
    times = measure(cases, a.runs, env)
    med = {name: statistics.median(w for w, _ in ts) for name, ts in times.items()}
    cpu = {name: statistics.median(c for _, c in ts) for name, ts in times.items()}
    bare, pandas = med["python -c pass"], med["python -c 'import pandas'"]
    pandas_cpu = cpu["python -c 'import pandas'"]
    print(f"\n{'command':30s} {'wall s':>7s} {'min s':>6s} {'x pass':>6s} {'x pandas':>8s} "
          f"{'CPU s':>6s} {'x pandas':>8s}  goal")
    for name, ts in times.items():
        goal = "" if name.startswith("python") else ("ok" if med[name] < GOAL_S else "MISSED")
        print(f"{name:30s} {med[name]:7.3f} {min(w for w, _ in ts):6.3f} "
              f"{med[name] / bare:6.1f} {med[name] / pandas:8.2f} {cpu[name]:6.3f} "
              f"{cpu[name] / pandas_cpu:8.2f}  {goal}")
    print(f"\ngoal: under {GOAL_S} s each; load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
