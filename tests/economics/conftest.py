"""Golden values of the economics reference tests (the live-R pattern of tests/survival).

``r_model(inputs_json, draws_json=None)`` runs tests/reference/economics/markov.R when Rscript
is present; the committed ``golden_*.json`` files hold its output for the snapshot inputs
``inputs_uk.json`` (deterministic) and for the seeded PSA draws (``golden_psa.json``). When R
runs, the tests compare the fresh output with the committed file too, so a stale golden file
fails. Regenerate with ``python tests/reference/economics/regenerate.py``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REF = Path(__file__).resolve().parents[1] / "reference" / "economics"
PSA_SEED = 20261202
PSA_DRAWS = 300


def run_r(rscript: str, inputs: Path, draws: Path | None = None) -> dict[str, Any]:
    """Run the base-R reference model and parse its JSON output."""
    args = [rscript, str(REF / "markov.R"), str(inputs)] + ([str(draws)] if draws else [])
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"R reference script failed:\n{proc.stderr}")
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


@pytest.fixture(scope="session")
def have_r(rscript: str | None) -> bool:
    """True when Rscript with jsonlite is available (R without jsonlite is a failure)."""
    if not rscript:
        return False
    expr = 'if (!requireNamespace("jsonlite", quietly=TRUE)) quit(status=1)'
    if subprocess.run([rscript, "-e", expr], capture_output=True).returncode != 0:
        pytest.fail("Rscript is installed but lacks jsonlite: run scripts/setup --test")
    return True


@pytest.fixture(scope="session")
def r_model(rscript: str | None, have_r: bool
            ) -> Callable[[Path, Path | None, str], dict[str, Any]]:
    """Function (inputs json, draws json or None, golden name) -> R output, fresh when R runs."""

    def get(inputs: Path, draws: Path | None, golden: str) -> dict[str, Any]:
        committed = json.loads((REF / golden).read_text())
        if not have_r:
            return committed
        assert rscript is not None
        fresh = run_r(rscript, inputs, draws)
        for key in ("costs", "qalys", "life_years", "relapses"):
            for row_f, row_c in zip(fresh[key], committed[key], strict=True):
                assert row_f == pytest.approx(row_c, rel=1e-9, abs=1e-9), (
                    f"{golden} is stale ({key}): run tests/reference/economics/regenerate.py")
        return fresh

    return get
