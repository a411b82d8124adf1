"""Run the property tests round after round with random Hypothesis seeds (``scripts/test --fuzz``).

Each round runs every test marked ``property`` (all Hypothesis tests; see tests/conftest.py)
with a new random seed and ``--hypothesis-show-statistics``, and counts the examples Hypothesis
reports. A failing round is printed with its seed and the command that replays it; the run goes
on until the time is up. Every failure found this way is a bug: fix it, then keep the failing
input as an ``@example`` on the test.

Usage: ``scripts/test --fuzz MINUTES [pytest args]`` (this script is not meant to be called
directly: scripts/test sets up the environment and the ``fuzz`` profile first).
"""

from __future__ import annotations

import argparse
import re
import secrets
import subprocess
import sys
import time

STATS = re.compile(r"- (\d+) passing, (\d+) failing, and (\d+) invalid")
FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


def run_round(seed: int, extra: list[str]) -> tuple[int, int, int, list[str], str]:
    """One pytest run of the property tests; (passing, failing, invalid, failed ids, output)."""
    cmd = [sys.executable, "-m", "pytest", "-m", "property", "-q", "-p", "no:cacheprovider",
           f"--hypothesis-seed={seed}", "--hypothesis-show-statistics", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    passing = failing = invalid = 0
    for m in STATS.finditer(out):
        passing += int(m.group(1))
        failing += int(m.group(2))
        invalid += int(m.group(3))
    failed = FAILED.findall(out)
    if proc.returncode not in (0, 1) and not failed:
        failed = [f"pytest exit code {proc.returncode}"]
    return passing, failing, invalid, failed, out


def main(argv: list[str] | None = None) -> int:
    """Fuzz for the given number of minutes; exit 1 when any round failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + 60 * args.minutes
    rounds = examples = invalid_total = 0
    failures: list[tuple[int, str]] = []
    while True:
        seed = secrets.randbelow(2**31)
        passing, failing, invalid, failed, out = run_round(seed, args.pytest_args)
        rounds += 1
        examples += passing + failing
        invalid_total += invalid
        print(f"round {rounds}: seed {seed}: {passing} passing, {failing} failing, "
              f"{invalid} invalid examples" + (f"; FAILED {', '.join(failed)}" if failed else ""),
              flush=True)
        if failed:
            print(out[-6000:], flush=True)
            failures.extend((seed, name) for name in failed)
        if time.monotonic() >= deadline:
            break
    print(f"fuzz: {rounds} rounds, {examples} examples run ({invalid_total} invalid), "
          f"{len(failures)} failures", flush=True)
    for seed, name in failures:
        print(f"  replay: scripts/test {name} --hypothesis-seed={seed}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
