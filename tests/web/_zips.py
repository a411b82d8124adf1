"""Zip helpers of the web tests: read a downloaded zip, build an upload."""

from __future__ import annotations

import io
import zipfile


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
