"""Exports of a centre without patients (issue 12, finding 4): the identifiable bundle and the
REDCap file are valid empty exports (header rows only), the de-identified export a clear 404
in the canonical shape (``hsctms.db.export_deidentified`` raises NotFoundError, so the CLI's
``export --deidentified`` says the same); the CLI writes a valid empty bundle. Before: the
de-identified export answered a bare 500 (``TypeError: Cannot cast DatetimeArray to dtype
float64``) and the CLI a traceback."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hsctms.cli import app as cli_app
from hsctms.db import connect
from hsctms.db.users import add_user
from hsctms.io import validate_bundle

from .conftest import PASSWORD


@pytest.fixture
def lead_q(db_path: Path) -> str:
    engine = connect(db_path)
    add_user(engine, "lead_q", PASSWORD, "centre_lead", "Q")
    engine.dispose()
    return "lead_q"


@pytest.mark.parametrize("user", ["admin", "analyst", "lead_q"])
def test_deidentified_export_of_an_empty_centre_is_a_clear_404(as_user: Any, lead_q: str,
                                                               user: str) -> None:
    r = as_user(user).get("/api/export/bundle", params={"centre": "Q"})
    assert r.status_code == 404, r.text
    body = r.json()
    assert body["error"] == "NotFoundError" and body["hint"]
    assert "Centre 'Q' has no patients" in body["message"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("user", ["admin", "lead_q"])
def test_identifiable_exports_of_an_empty_centre_are_valid_and_empty(
        as_user: Any, lead_q: str, user: str, tmp_path: Path) -> None:
    c = as_user(user)
    r = c.get("/api/export/bundle", params={"identifiable": "true", "centre": "Q"})
    assert r.status_code == 200, r.text
    out = tmp_path / "bundle"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        zf.extractall(out)
    assert (out / "patients.csv").read_text().splitlines()[0].startswith("patient_id,")
    assert len((out / "patients.csv").read_text().splitlines()) == 1
    assert validate_bundle(out).ok
    flat = c.get("/api/export/redcap", params={"centre": "Q"})
    assert flat.status_code == 200 and len(flat.text.splitlines()) == 1


def test_cli_export_of_an_empty_centre(db_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    done = CliRunner().invoke(cli_app, ["export", "--db", str(db_path), "--out", str(out),
                                        "--centre", "Q"])
    assert done.exit_code == 0, done.output
    assert done.exception is None
    assert len((out / "patients.csv").read_text().splitlines()) == 1
    assert validate_bundle(out).ok


def test_cli_deidentified_export_of_an_empty_centre(db_path: Path, tmp_path: Path) -> None:
    done = CliRunner().invoke(cli_app, ["export", "--db", str(db_path), "--out",
                                        str(tmp_path / "deid"), "--centre", "Q",
                                        "--deidentified"])
    assert done.exit_code == 1, done.output
    assert not isinstance(done.exception, TypeError)
    assert "Centre 'Q' has no patients" in done.output
