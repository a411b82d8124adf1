"""Import a REDCap flat export into the registry: :func:`hsctms.io.redcap.convert_redcap`
(the conversion, in the I/O layer) followed by :func:`hsctms.db.importer.import_bundle`, with
validation issues translated back to the REDCap file's own lines and fields."""

from __future__ import annotations

import datetime as _dt
import tempfile
from pathlib import Path
from typing import Any

from hsctms.db.importer import ImportMode, ImportResult, import_bundle
from hsctms.errors import DataValidationError
from hsctms.io.redcap import convert_redcap
from hsctms.model.regimens import RegimenMap


def import_redcap(source: str | Path | bytes, db: Any, *, name: str | None = None,
                  user: str = "cli", mode: ImportMode = "insert",
                  regimen_map: RegimenMap | None = None,
                  today: _dt.date | None = None, centre: str | None = None) -> ImportResult:
    """Convert a REDCap flat export and import it (:func:`hsctms.db.import_bundle`;
    ``centre`` restricts it to one centre's patients, as there).

    Raises
    ------
    DataValidationError
        The file breaks a rule; the report names the REDCap file, line and field, and the
        database is untouched.
    """
    with tempfile.TemporaryDirectory() as tmp:
        converted = convert_redcap(source, Path(tmp) / "bundle", name=name)
        try:
            # named by the REDCap file, not the temporary bundle it was converted to
            return import_bundle(converted.path, db, user=user, mode=mode,
                                 regimen_map=regimen_map, today=today, centre=centre,
                                 source=converted.name)
        except DataValidationError as exc:
            report = converted.translate(exc.report)
            raise DataValidationError(
                f"The REDCap file {converted.name} has {len(report.errors)} validation "
                "error(s); nothing was imported.", report=report,
                hint="Fix the records in REDCap (the report names line and field), export "
                     "again and re-import.") from None


__all__ = ["import_redcap"]
