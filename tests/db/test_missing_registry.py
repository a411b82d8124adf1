"""A mistyped --db never creates a registry: every command that reads one refuses a missing
database (message naming the path, hint 'hsctms import'), exits 1 and leaves no file behind.
Only 'hsctms import' and 'hsctms users add' create a registry."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hsctms.cli import app
from hsctms.db import load_cohort, open_registry
from hsctms.errors import RegistryNotFoundError

runner = CliRunner()


def _trial_files(tmp_path: Path) -> tuple[str, str]:
    config = tmp_path / "trial.json"
    config.write_text(json.dumps({"arms": ["a", "b"], "factors": ["centre"],
                                  "levels": {"centre": ["LON"]}}), encoding="utf-8")
    seed = tmp_path / "secret.txt"
    seed.write_text("0123456789abcdef0123", encoding="utf-8")
    return str(config), str(seed)


def _commands(tmp_path: Path, db: str) -> dict[str, list[str]]:
    config, seed = _trial_files(tmp_path)
    trial = ["--db", db, "--trial", "ZEUS"]
    return {
        "endpoints": ["endpoints", "--db", db, "--out", str(tmp_path / "e.csv")],
        "analyse": ["analyse", "--db", db, "--out", str(tmp_path / "o.html"),
                    "--json", str(tmp_path / "o.json")],
        "export": ["export", "--db", db, "--out", str(tmp_path / "bundle-out")],
        "db upgrade": ["db", "upgrade", "--db", db],
        "trial register": ["trial", "register", *trial, "--patient", "P1",
                           "--confirmed-by", "dr.a", "--config", config,
                           "--factor", "centre=LON"],
        "trial randomise": ["trial", "randomise", *trial, "--patient", "P1",
                            "--config", config, "--seed-file", seed],
        "trial log": ["trial", "log", *trial, "--json", str(tmp_path / "log.json")],
        "trial replay": ["trial", "replay", *trial, "--config", config, "--seed-file", seed],
        "users list": ["users", "list", "--db", db],
        "serve": ["serve", "--db", db],
    }


COMMANDS = ["endpoints", "analyse", "export", "db upgrade", "trial register",
            "trial randomise", "trial log", "trial replay", "users list", "serve"]


@pytest.mark.parametrize("command", COMMANDS)
def test_reading_command_refuses_a_missing_sqlite_registry(
        command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HSCTMS_SECRET_KEY", "k" * 48)
    work = tmp_path / "work"
    work.mkdir()
    before = {p.name for p in work.iterdir()}
    files = tmp_path / "files"
    files.mkdir()
    db = work / "registy2.sqlite"  # the typo of the issue
    args = _commands(files, str(db))[command]
    files_before = {p.name for p in files.iterdir()}
    result = runner.invoke(app, args, terminal_width=200)
    text = "".join(result.output.split())  # the console wraps long paths
    assert result.exit_code == 1, result.output
    assert f"Thereisnohsctmsregistryat'{db}'" in text
    assert "hsctmsimportBUNDLE--db" in text
    assert {p.name for p in work.iterdir()} == before, "a file was left behind"
    assert {p.name for p in files.iterdir()} == files_before, "an output was written"


@pytest.mark.parametrize("command", ["endpoints", "trial log", "users list"])
def test_sqlite_url_to_a_missing_file_is_refused_too(command: str, tmp_path: Path) -> None:
    db = tmp_path / "nothere.sqlite"
    result = runner.invoke(app, _commands(tmp_path, f"sqlite:///{db}")[command],
                           terminal_width=200)
    assert result.exit_code == 1, result.output
    assert "nohsctmsregistry" in "".join(result.output.split())
    assert not db.exists()


def test_an_existing_database_without_schema_is_refused_and_not_migrated(
        tmp_path: Path) -> None:
    db = tmp_path / "other.sqlite"
    with sa.create_engine(f"sqlite:///{db}").begin() as conn:
        conn.exec_driver_sql("CREATE TABLE mine (x INTEGER)")
    before = db.read_bytes()
    result = runner.invoke(app, ["endpoints", "--db", str(db), "--out",
                                 str(tmp_path / "e.csv")], terminal_width=200)
    assert result.exit_code == 1
    assert "hasnohsctmsschema" in "".join(result.output.split())
    assert db.read_bytes() == before
    assert not (tmp_path / "e.csv").exists()


def test_library_open_registry_and_load_cohort_refuse_missing(tmp_path: Path) -> None:
    with pytest.raises(RegistryNotFoundError, match="does not exist") as info:
        load_cohort(tmp_path / "missing.db")
    assert info.value.hint and "hsctms import" in info.value.hint
    with pytest.raises(RegistryNotFoundError):
        open_registry(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    engine = open_registry(tmp_path / "made.db", create=True)
    engine.dispose()
    assert open_registry(tmp_path / "made.db").dialect.name == "sqlite"


def test_library_verify_audit_refuses_a_missing_registry(tmp_path: Path) -> None:
    """It used to create an empty SQLite file and fail with a raw 'no such table'."""
    from hsctms.db.verify import verify_audit
    from hsctms.errors import ConfigurationError

    with pytest.raises(RegistryNotFoundError, match="does not exist"):
        verify_audit(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    engine = open_registry(tmp_path / "made.db", create=True)
    engine.dispose()
    assert verify_audit(tmp_path / "made.db").ok
    with pytest.raises(ConfigurationError, match="at least one chained entry"):
        verify_audit(tmp_path / "made.db", expect_head=(0, "abc"))  # was an IndexError


def test_import_and_users_add_create_a_registry(make_bundle, tmp_path: Path) -> None:
    db = tmp_path / "new.sqlite"
    res = runner.invoke(app, ["import", str(make_bundle({"bundle.json": None})),
                              "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert len(load_cohort(db).patients) > 0
    other = tmp_path / "users.sqlite"
    res = runner.invoke(app, ["users", "add", "root", "--role", "admin", "--db", str(other),
                              "--password-stdin"], input="a-long-password-123\n")
    assert res.exit_code == 0, res.output
    listed = runner.invoke(app, ["users", "list", "--db", str(other)])
    assert listed.exit_code == 0 and "root" in listed.output


@pytest.mark.postgres
def test_postgres_database_without_schema_is_refused(postgres_url: str,
                                                     tmp_path: Path) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = f"{postgres_url}?options=-csearch_path%3D{schema}"
    try:
        with pytest.raises(RegistryNotFoundError, match="no hsctms schema"):
            open_registry(url)
        for command in ("endpoints", "trial log", "users list", "serve"):
            res = runner.invoke(app, _commands(tmp_path, url)[command], terminal_width=200)
            assert res.exit_code == 1, res.output
            assert "nohsctmsschema" in "".join(res.output.split())
        with admin.connect() as conn:
            assert sa.inspect(conn).get_table_names(schema=schema) == []  # not migrated
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
