"""Shared fixtures: temporary databases, optional PostgreSQL, the oracle environments."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def postgres_url() -> str:
    """URL of the test PostgreSQL server (``scripts/pg-start``); skips when not configured.

    In CI ``scripts/test`` always starts one, so these tests always run there.
    """
    url = os.environ.get("HSCTMS_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("HSCTMS_TEST_POSTGRES_URL is not set in CI; scripts/test must start it")
        pytest.skip("no PostgreSQL: run scripts/test, or set HSCTMS_TEST_POSTGRES_URL")
    return url


@pytest.fixture(scope="session")
def rscript() -> str | None:
    """Path of Rscript, or None (reference tests then use committed golden values)."""
    return shutil.which("Rscript")


@pytest.fixture(scope="session")
def oracle_python() -> str:
    """Python of the pymsprog oracle environment; skips outside CI when absent."""
    path = os.environ.get("HSCTMS_ORACLE_PYTHON", str(REPO / ".venv-oracle" / "bin" / "python"))
    if not Path(path).exists():
        if os.environ.get("CI"):
            pytest.fail(f"pymsprog oracle environment missing at {path}")
        pytest.skip("pymsprog oracle environment missing: run scripts/setup --test")
    return path


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a headless-capable Chromium; skips outside CI when absent."""
    path = os.environ.get("HSCTMS_CHROMIUM") or shutil.which("chromium") or ""
    if not path or not Path(path).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium missing in CI; scripts/setup --test installs it")
        pytest.skip("Chromium missing: run scripts/setup --test")
    return path
