"""R reference values for the emulation tests.

``golden`` is R's output (``tests/reference/emulation/emulation_reference.R``) on the
committed synthetic frame ``frame.csv``: computed live when Rscript (with MatchIt, sandwich,
MASS, survival, jsonlite) is present, and then also compared with the committed
``golden.json`` so a stale golden file fails; else the committed file.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("emulation_synth", HERE / "synth.py")
assert _spec is not None and _spec.loader is not None
synth = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synth)
make_frame = synth.make_frame
COVARIATES: list[str] = synth.COVARIATES

REF = Path(__file__).resolve().parents[1] / "reference" / "emulation"
PACKAGES = ("MatchIt", "sandwich", "MASS", "survival", "jsonlite")


def _r_available(rscript: str | None) -> bool:
    """True when R is installed; R without the reference packages is a failure, not a skip."""
    if not rscript:
        return False
    expr = (f"for (p in c({', '.join(repr(p) for p in PACKAGES)})) "
            "if (!requireNamespace(p, quietly=TRUE)) quit(status=1)")
    if subprocess.run([rscript, "-e", expr], capture_output=True).returncode != 0:
        pytest.fail(f"Rscript is installed but lacks one of {PACKAGES}, so the live R "
                    "reference cannot run: run scripts/setup --test")
    return True


def _close(a: Any, b: Any, path: str = "") -> None:
    """Recursive comparison of two JSON documents (numbers to 1e-9 relative)."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            if k != "versions":
                _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float | int) and not isinstance(a, bool) and b is not None:
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), path
    else:
        assert a == b, path


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    """The committed synthetic frame; it must equal the generator's output."""
    committed = pd.read_csv(REF / "frame.csv")
    assert [c for c in COVARIATES if c in committed.columns] == COVARIATES
    pd.testing.assert_frame_equal(committed, make_frame(), check_dtype=False)
    return committed


@pytest.fixture(scope="session")
def golden(rscript: str | None, frame: pd.DataFrame) -> dict[str, Any]:
    """R's reference values on the synthetic frame (fresh when R is present)."""
    committed: dict[str, Any] = json.loads((REF / "golden.json").read_text())
    if not _r_available(rscript):
        return committed
    assert rscript is not None
    proc = subprocess.run([rscript, str(REF / "emulation_reference.R"), str(REF / "frame.csv")],
                          capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"R reference script failed:\n{proc.stderr}")
    fresh: dict[str, Any] = json.loads(proc.stdout)
    _close(fresh, committed)
    return fresh
