"""Zipped CSV bundles (web uploads): extraction with limits against zip bombs and path tricks.

A zip is read entry by entry and every entry is *streamed* with a running count, so the
sizes written in the zip's headers (which an attacker chooses) are never trusted:

* at most ``max_members`` entries (directories included);
* each table file at most ``max_member_bytes`` decompressed;
* all files together at most ``max_total_bytes`` decompressed;
* each entry at most ``max_ratio`` times its compressed size (CSV text compresses about
  5-20 times; a zip bomb 1000 times or more).

Entries with absolute or ``..`` paths, a name twice, or no ``patients.csv`` are refused.
Files that are neither a bundle file nor ``.csv`` are ignored; unknown ``.csv`` files are
extracted so that validation reports them (``file-unknown``).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hsctms.errors import DataValidationError
from hsctms.model.schema import SCHEMA

ALLOWED_FILES = {spec.filename for spec in SCHEMA.values()} | {"bundle.json", "README.txt"}
MIB = 1024 * 1024


@dataclass(frozen=True)
class ZipLimits:
    """Limits of :func:`extract_bundle_zip` (see the module docstring).

    Parameters
    ----------
    max_upload_bytes
        Largest zip accepted (bytes).
    max_members
        Most entries (directories included).
    max_member_bytes
        Largest decompressed entry (bytes).
    max_total_bytes
        Largest decompressed total (bytes).
    max_ratio
        Highest decompressed / compressed size of an entry.
    """

    max_upload_bytes: int = 200 * MIB
    max_members: int = 64
    max_member_bytes: int = 200 * MIB
    max_total_bytes: int = 512 * MIB
    max_ratio: float = 200.0


def _refuse(message: str, hint: str) -> DataValidationError:
    return DataValidationError(f"{message}; nothing was imported.", hint=hint)


def _copy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, limits: ZipLimits,
          used: int) -> int:
    """Stream one entry to ``dest`` under the limits; returns the bytes written."""
    written = 0
    ceiling = max(1.0, limits.max_ratio * max(info.compress_size, 1))
    with zf.open(info) as src, dest.open("wb") as out:
        while chunk := src.read(1 << 20):
            written += len(chunk)
            if written > limits.max_member_bytes:
                raise _refuse(f"{info.filename} expands to more than "
                              f"{limits.max_member_bytes // MIB} MiB",
                              "Split the bundle (e.g. by centre).")
            if used + written > limits.max_total_bytes:
                raise _refuse(f"the zip expands to more than "
                              f"{limits.max_total_bytes // MIB} MiB",
                              "Split the bundle (e.g. by centre).")
            if written > ceiling:
                raise _refuse(f"{info.filename} expands more than {limits.max_ratio:g} times "
                              "its compressed size (a zip bomb?)",
                              "Zip the bundle's CSV files with a normal zip tool.")
            out.write(chunk)
    return written


# Complexity > 10: a flat sequence of safety refusals (size, members, paths, duplicates).
def extract_bundle_zip(data: bytes, target: Path, *,  # noqa: C901
                       limits: ZipLimits | None = None) -> Path:
    """Extract an uploaded zipped bundle into ``target`` (a new directory) and return it.

    Parameters
    ----------
    data
        The uploaded zip file's bytes.
    target
        Directory to extract into (created).
    limits
        Size and count limits (default :class:`ZipLimits`).

    Returns
    -------
    Path
        ``target``, holding the bundle's files.

    Raises
    ------
    DataValidationError
        Not a zip, corrupt, over a limit, path tricks, duplicate names, no ``patients.csv``.
    """
    lim = limits or ZipLimits()
    if len(data) > lim.max_upload_bytes:
        raise _refuse("The upload is too large", "Split it by centre.")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
        raise _refuse("The upload is not a zip file (or not a readable one)",
                      "Zip the bundle's CSV files and bundle.json.") from exc
    target.mkdir(parents=True, exist_ok=True)
    taken: dict[str, str] = {}
    used = 0
    with zf:
        members = zf.infolist()
        if len(members) > lim.max_members:
            raise _refuse(f"The zip has {len(members)} entries (at most {lim.max_members})",
                          "Zip only the bundle's files.")
        for info in members:
            if info.is_dir():
                continue
            entry = PurePosixPath(info.filename.replace("\\", "/"))
            name = entry.name
            if name not in ALLOWED_FILES and not name.endswith(".csv"):
                continue
            if entry.is_absolute() or ".." in entry.parts or ":" in info.filename:
                raise _refuse(f"The zip entry {info.filename!r} has an absolute or '..' path",
                              "Zip the bundle's files without absolute paths.")
            if name in taken:
                raise _refuse(f"The zip holds {name} twice ({taken[name]!r} and "
                              f"{info.filename!r})", "Zip one bundle (one file per table).")
            taken[name] = info.filename
            try:
                used += _copy(zf, info, target / name, lim, used)
            except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError,
                    RuntimeError) as exc:
                raise _refuse(f"The zip entry {info.filename!r} is corrupt or unsupported "
                              f"({exc})", "Re-create the zip (deflate, no password).") from None
    if not (target / "patients.csv").exists():
        raise DataValidationError("The zip has no patients.csv.",
                                  hint="Upload a CSV bundle (see docs/data-format.md).")
    return target


__all__ = ["ALLOWED_FILES", "ZipLimits", "extract_bundle_zip"]
