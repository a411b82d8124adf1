"""Golden values for hsctms.meta: R metafor output, re-computed when Rscript is present."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

REF = Path(__file__).resolve().parents[1] / "reference" / "meta"

#: dataset -> oracle options (the same as regenerate.sh)
DATASETS: dict[str, list[str]] = {
    "meta_trm": ["--moderators=year,edss", "--group=era", "--poisson=year,edss"],
    "meta_neda": ["--moderators=year,edss", "--group=era", "--poisson=year,edss"],
    "meta_rare": ["--moderators=year,edss", "--group=era", "--poisson=year,edss"],
    "evidence_trm": ["--moderators=pub_year", "--group=intensity", "--poisson=pub_year"],
    "sormani_trm": ["--moderators=pub_year", "--group=era", "--poisson=pub_year"],
}

_cache: dict[str, dict[str, Any]] = {}


def golden(name: str, rscript: str | None) -> dict[str, Any]:
    """R output for ``name``: freshly computed when Rscript exists, else the committed JSON.

    When Rscript is installed a failing R run (or a missing R package) fails the test; only a
    machine without R uses the committed values.
    """
    if name in _cache:
        return _cache[name]
    committed = json.loads((REF / f"{name}.json").read_text(encoding="utf-8"))
    if rscript:
        proc = subprocess.run(
            [rscript, str(REF / "meta_oracle.R"), str(REF / f"{name}.csv"), *DATASETS[name]],
            check=True, capture_output=True, text=True, timeout=300,
        )
        fresh = json.loads(proc.stdout)
        if "glmm" not in fresh["results"] and "glmm" in committed["results"]:
            pytest.fail(f"R ran without lme4, so the GLMM reference for {name} was not "
                        "recomputed: run scripts/setup --test (installs r-cran-lme4)")
        _assert_same(fresh["results"], committed["results"], name)
        _cache[name] = fresh
    else:
        _cache[name] = committed
    return _cache[name]


def _assert_same(a: Any, b: Any, path: str) -> None:
    """The committed JSON must still be what R computes (else run regenerate.sh)."""
    if isinstance(a, dict):
        assert set(a) == set(b), f"{path}: keys differ; run tests/reference/meta/regenerate.sh"
        for k in a:
            _assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float | int):
        assert abs(a - b) <= 1e-9 * max(1.0, abs(a)), f"{path}: {a} vs committed {b}"
    else:
        assert a == b, f"{path}: {a!r} vs committed {b!r}"


@pytest.fixture(scope="session")
def meta_golden(rscript):
    """Callable: dataset name -> R golden results."""
    return lambda name: golden(name, rscript)
