"""Web imports never show or store the server's paths (issue 12, finding 10): the answer
(JSON and page, success and refusal), the ``imports`` table and the audit ``source`` name the
uploaded file; the registry's database location is not part of the web result.

Before: ``"source": "/tmp/tmpXXXX/bundle"`` and ``"database": "sqlite:////srv/.../registry.db"``
in the JSON, ``Bundle '/tmp/tmpXXXX/bundle' has 1 validation error(s)`` and the hint
``Run 'hsctms validate /tmp/tmpXXXX/bundle'`` on the page, the temporary path as the audit
entry's source."""

from __future__ import annotations

import io
import sqlite3
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from tests.web._zips import centre_a_bundle, make_zip

TMP = tempfile.gettempdir()


def _post(client: Any, path: str, name: str, data: bytes) -> Any:
    return client.post(path, files={"file": (name, data)},
                       data={"csrf_token": client.headers["X-CSRF-Token"]})


def _audit_sources(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as con:
        return [s for (s,) in con.execute(
            "SELECT json_extract(detail, '$.source') FROM audit_log WHERE action = 'import' "
            "ORDER BY id")]


@pytest.mark.parametrize("path", ["/api/import/bundle", "/exchange/bundle"])
def test_bundle_upload_names_the_uploaded_file(as_user: Any, db_path: Path,
                                               path: str) -> None:
    m = centre_a_bundle(as_user)
    entry = as_user("entry_a")
    r = _post(entry, path, "C:\\Users\\ann\\centre-a.zip", make_zip(m))
    assert r.status_code == 200, r.text
    assert TMP not in r.text and str(db_path) not in r.text
    assert "centre-a.zip" in r.text and "Users" not in r.text
    if path.startswith("/api/"):
        body = r.json()
        assert body["source"] == "centre-a.zip" and "database" not in body
    assert _audit_sources(db_path) == ["centre-a.zip"]
    with sqlite3.connect(db_path) as con:
        assert con.execute("SELECT source FROM imports").fetchall() == [("centre-a.zip",)]


@pytest.mark.parametrize("path", ["/api/import/bundle", "/exchange/bundle"])
def test_refused_upload_shows_no_server_path(as_user: Any, db_path: Path, path: str) -> None:
    m = centre_a_bundle(as_user)
    m["edss.csv"] += b"A1,2021-13-01,3.0\n"  # month 13: a validation error
    r = _post(as_user("entry_a"), path, "bad.zip", make_zip(m))
    assert r.status_code == 422, r.text
    assert TMP not in r.text and "hsctms validate" not in r.text
    assert "bad.zip" in r.text
    if path.startswith("/api/"):
        assert r.json()["report"]["source"] == "bad.zip"
    assert _audit_sources(db_path) == []


def test_redcap_upload_names_the_uploaded_file(as_user: Any, db_path: Path) -> None:
    flat = as_user("admin").get("/api/export/redcap", params={"centre": "A"}).content
    r = _post(as_user("entry_a"), "/api/import/redcap", "export.csv", flat)
    assert r.status_code == 200, r.text
    assert TMP not in r.text and r.json()["source"] == "export.csv"
    assert _audit_sources(db_path) == ["export.csv"]


def test_cli_import_keeps_its_path(db_path: Path, tmp_path: Path) -> None:
    """Outside the web the bundle is still named by its path (the operator's own)."""
    from hsctms.db import export_bundle, import_bundle

    out = export_bundle(db_path, tmp_path / "bundle", centre="A")
    result = import_bundle(out, db_path)
    assert result.source == str(out)
    assert _audit_sources(db_path)[-1] == str(out.resolve())


def test_identifiable_download_names_no_server_path(as_user: Any, db_path: Path) -> None:
    """The downloaded bundle.json does not name the server's database, and the audit entry
    records the download's file name, not the server's temporary directory."""
    r = as_user("lead_a").get("/api/export/bundle", params={"identifiable": "true"})
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        manifest = zf.read("bundle.json").decode()
    assert TMP not in manifest and str(db_path) not in manifest
    assert "database" not in manifest
    with sqlite3.connect(db_path) as con:
        detail = con.execute("SELECT detail FROM audit_log WHERE action = 'export' "
                             "ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert TMP not in detail and '"download": "hsctms-A-bundle.zip"' in detail
