"""Zipped bundle uploads: limits against zip bombs (issue 12, finding 5) and corrupt zips."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from hsctms.errors import DataValidationError
from hsctms.io.archive import ZipLimits, extract_bundle_zip

PATIENTS = b"patient_id,centre\nP1,A\n"


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_plain_bundle_extracts(tmp_path: Path) -> None:
    out = extract_bundle_zip(_zip({"patients.csv": PATIENTS, "notes.txt": b"x"}), tmp_path / "b")
    assert (out / "patients.csv").read_bytes() == PATIENTS
    assert not (out / "notes.txt").exists()


def test_zip_bomb_refused_by_ratio(tmp_path: Path) -> None:
    bomb = _zip({"patients.csv": PATIENTS, "edss.csv": b"0" * (50 * 1024 * 1024)})
    assert len(bomb) < 100_000  # 50 MiB of zeros deflate to ~50 kB (ratio ~1000)
    with pytest.raises(DataValidationError, match="expands more than 200 times"):
        extract_bundle_zip(bomb, tmp_path / "b")


def test_total_and_member_limits_count_real_bytes(tmp_path: Path) -> None:
    stored = _zip({"patients.csv": PATIENTS, "edss.csv": b"1" * 3000,
                   "relapses.csv": b"2" * 3000}, zipfile.ZIP_STORED)
    with pytest.raises(DataValidationError, match="expands to more than"):
        extract_bundle_zip(stored, tmp_path / "a",
                           limits=ZipLimits(max_member_bytes=2000, max_total_bytes=10**6))
    with pytest.raises(DataValidationError, match="the zip expands to more than"):
        extract_bundle_zip(stored, tmp_path / "b",
                           limits=ZipLimits(max_member_bytes=10**6, max_total_bytes=5000))


def test_header_sizes_are_not_trusted(tmp_path: Path) -> None:
    """A zip whose central directory understates an entry's size is still counted by the
    bytes actually read (refused by the ratio limit), never extracted in full."""
    data = bytearray(_zip({"patients.csv": PATIENTS, "edss.csv": b"0" * 200_000}))
    pos = data.find(b"PK\x01\x02")  # central directory entries
    while pos != -1:
        name_len = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + name_len] == b"edss.csv":
            data[pos + 24:pos + 28] = (10).to_bytes(4, "little")  # uncompressed size := 10
        pos = data.find(b"PK\x01\x02", pos + 4)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        assert zf.getinfo("edss.csv").file_size == 10  # the lie is in place
    with pytest.raises(DataValidationError):
        extract_bundle_zip(bytes(data), tmp_path / "b")
    edss = tmp_path / "b" / "edss.csv"
    assert not edss.exists() or edss.stat().st_size < 200_000


def test_too_many_members(tmp_path: Path) -> None:
    many = _zip({"patients.csv": PATIENTS, **{f"x{i}.txt": b"" for i in range(70)}})
    with pytest.raises(DataValidationError, match="71 entries"):
        extract_bundle_zip(many, tmp_path / "b")


@pytest.mark.parametrize("blob", [b"", b"PK\x03\x04garbage", b"not a zip at all"])
def test_garbage_is_a_clear_error(tmp_path: Path, blob: bytes) -> None:
    with pytest.raises(DataValidationError, match=r"not a zip file|corrupt"):
        extract_bundle_zip(blob, tmp_path / "b")


def test_corrupt_member_is_a_clear_error(tmp_path: Path) -> None:
    data = bytearray(_zip({"patients.csv": PATIENTS * 50}))
    start = data.find(b"patients.csv") + len("patients.csv")
    data[start + 5:start + 15] = b"\xff" * 10  # damage the compressed stream
    with pytest.raises(DataValidationError, match=r"corrupt|not a zip file"):
        extract_bundle_zip(bytes(data), tmp_path / "b")
