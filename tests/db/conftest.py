"""Database fixtures: an SQLite file and a private PostgreSQL schema per test."""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location(
    "hsctms_tests_io_conftest", Path(__file__).resolve().parents[1] / "io" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_io = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_io)

TODAY: dt.date = _io.TODAY


@pytest.fixture
def today() -> dt.date:
    """Pinned 'today' for validation."""
    return TODAY


@pytest.fixture
def make_bundle(tmp_path: Path) -> Callable[..., Path]:
    """Factory writing the valid test bundle with some files overridden."""
    counter = iter(range(1000))

    def factory(files: dict[str, str | bytes | None] | None = None) -> Path:
        return _io.write_files(tmp_path / f"bundle{next(counter)}", files or {})

    return factory


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A database to import into: an SQLite file path, or a PostgreSQL engine."""
    if request.param == "sqlite":
        return tmp_path / "registry.db"
    return request.getfixturevalue("pg_engine")
