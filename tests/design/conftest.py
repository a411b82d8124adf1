"""Fixtures for the trial-design tests: rpact golden values (re-run live when R is present)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

REF = Path(__file__).resolve().parents[1] / "reference" / "design"
SCRIPT = REF / "design_rpact.R"
GOLDEN = REF / "rpact_golden.json"


@pytest.fixture(scope="session")
def committed_golden() -> dict[str, Any]:
    """The committed rpact output."""
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def rpact_golden(rscript: str | None, committed_golden: dict[str, Any]) -> dict[str, Any]:
    """rpact values: a live run of the committed R script when Rscript exists, else the JSON."""
    if rscript is None:
        return committed_golden
    proc = subprocess.run([rscript, str(SCRIPT)], check=True, capture_output=True, text=True,
                          timeout=300)
    return json.loads(proc.stdout)
