"""A full disk during a migration, an import or a save: a clear StorageFullError (507 on the
web), the transaction rolled back and the database as it was. The disk is "full" for real:
SQLite's ``max_page_count`` makes the database unable to grow (SQLITE_FULL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hsctms.db import connect, current_revision, import_bundle, upgrade
from hsctms.errors import StorageFullError


def _full_disk(engine: sa.Engine, pages: int) -> sa.Engine:
    """Cap the database at its current size plus ``pages`` pages on every new connection."""
    @sa.event.listens_for(engine, "connect")
    def _cap(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        count = cur.execute("PRAGMA page_count").fetchone()[0]
        cur.execute(f"PRAGMA max_page_count = {count + pages}")
        cur.close()

    engine.dispose()
    return engine


def test_migration_on_a_full_disk_is_rolled_back(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    path.touch()
    engine = _full_disk(connect(path), 2)
    with pytest.raises(StorageFullError, match="the migration was rolled back") as exc:
        upgrade(engine)
    assert exc.value.hint and "Free disk space" in exc.value.hint
    assert current_revision(engine) is None
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar() == 0


def test_cli_db_upgrade_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hsctms.db as db_module
    from hsctms.cli import app

    path = tmp_path / "registry.db"
    path.touch()
    real = db_module.connect
    monkeypatch.setattr(db_module, "connect", lambda db, **kw: _full_disk(real(db, **kw), 2))
    result = CliRunner().invoke(app, ["db", "upgrade", "--db", str(path)])
    assert result.exit_code == 1
    assert "disk" in result.output and "Traceback" not in result.output
    assert current_revision(real(path)) is None


def test_import_on_a_full_disk_imports_nothing(tmp_path: Path) -> None:
    from hsctms import datasets

    path = tmp_path / "registry.db"
    engine = connect(path)
    upgrade(engine)
    before = path.read_bytes()
    engine = _full_disk(engine, 5)
    with pytest.raises(StorageFullError, match="nothing was imported"):
        import_bundle(datasets.demo_bundle_path(), engine)
    engine.dispose()
    assert path.read_bytes() == before
