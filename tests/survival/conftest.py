"""Golden values for the survival reference tests.

``golden(name)`` returns R's output for dataset ``name`` of
``tests/reference/survival/datasets.json``: freshly computed by ``survival_reference.R`` when
Rscript (with survival, cmprsk, jsonlite) is present, else the committed ``golden_<name>.json``.
When R runs, the fresh values are also compared with the committed file, so a stale golden
file fails the suite.
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

REF = Path(__file__).resolve().parents[1] / "reference" / "survival"
DATASETS: dict[str, dict[str, Any]] = json.loads((REF / "datasets.json").read_text())


def _r_available(rscript: str | None) -> bool:
    """True when R is installed; R without the reference packages is a failure, not a skip."""
    if not rscript:
        return False
    expr = ('for (p in c("survival","cmprsk","jsonlite")) '
            "if (!requireNamespace(p, quietly=TRUE)) quit(status=1)")
    if subprocess.run([rscript, "-e", expr], capture_output=True).returncode != 0:
        pytest.fail("Rscript is installed but lacks survival, cmprsk or jsonlite, so the live "
                    "R reference cannot run: run scripts/setup --test")
    return True


def _run_r(rscript: str, name: str) -> dict[str, Any]:
    cfg = DATASETS[name]
    args = [
        rscript, str(REF / "survival_reference.R"), str(REF / cfg["csv"]),
        "--times=" + ",".join(f"{t:g}" for t in cfg["times"]),
        "--levels=" + ",".join(f"{t:g}" for t in cfg["levels"]),
        f"--tau={cfg['tau']:g}",
        "--covariates=" + ",".join(cfg["covariates"]),
        "--factors=" + ",".join(cfg["factors"]),
    ]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"R reference script failed:\n{proc.stderr}")
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def _close(a: Any, b: Any, path: str = "") -> None:
    """Recursive comparison of two JSON documents (numbers to 1e-9 relative)."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            if k in ("file", "r"):
                continue
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
def golden(rscript: str | None) -> Callable[[str], dict[str, Any]]:
    """Function: dataset name -> R golden values (fresh when R is present)."""
    cache: dict[str, dict[str, Any]] = {}
    have_r = _r_available(rscript)

    def get(name: str) -> dict[str, Any]:
        if name not in cache:
            committed = json.loads((REF / f"golden_{name}.json").read_text())
            if have_r:
                assert rscript is not None
                fresh = _run_r(rscript, name)
                _close(fresh, committed)
                cache[name] = fresh
            else:
                cache[name] = committed
        return cache[name]

    return get


@pytest.fixture(scope="session")
def dataset() -> Callable[[str], pd.DataFrame]:
    """Function: dataset name -> the committed CSV as a DataFrame."""

    def get(name: str) -> pd.DataFrame:
        return pd.read_csv(REF / DATASETS[name]["csv"])

    return get
