"""Helpers of the web upload/download tests: zips, centre A's bundle, a digest of the data."""

from __future__ import annotations

import hashlib
import io
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

from hsctms.model.schema import SCHEMA


def zip_members(content: bytes) -> dict[str, bytes]:
    """Member name -> bytes of a zip (a download)."""
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def make_zip(members: dict[str, bytes]) -> bytes:
    """A zip holding ``members`` (an upload)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def centre_a_bundle(as_user: Any) -> dict[str, bytes]:
    """Centre A's identifiable bundle as the admin downloads it (members of the zip)."""
    return zip_members(as_user("admin").get(
        "/api/export/bundle", params={"identifiable": "true", "centre": "A"}).content)


def data_digest(path: Path) -> str:
    """Digest of every registry data table of an SQLite registry (sessions and the audit
    trail change by design: a refused upload is itself audited)."""
    con = sqlite3.connect(path)
    try:
        digest = hashlib.sha256()
        for name in SCHEMA:
            for row in con.execute(f"SELECT * FROM {name} ORDER BY id"):
                digest.update(repr(row).encode())
        return digest.hexdigest()
    finally:
        con.close()
