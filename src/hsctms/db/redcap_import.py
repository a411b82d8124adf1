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

    The export is converted into a bundle in a temporary directory (removed afterwards),
    then validated and imported in one transaction.

    Parameters
    ----------
    source : str, pathlib.Path or bytes
        The REDCap flat CSV export (UTF-8): a file path, or its content as bytes (a web
        upload).
    db : str, pathlib.Path or sqlalchemy.engine.Engine
        Database: file path (SQLite), SQLAlchemy URL, or engine; an empty database gets the
        schema.
    name : str, optional
        How the file is named in messages, the validation report, the result and the audit
        trail (default: the file name of ``source``, ``records.csv`` for bytes).
    user : str, default "cli"
        Who imports (recorded in ``imports`` and ``audit_log``).
    mode : {"insert", "update"}, default "insert"
        ``"insert"``: rows stored with different values are conflicts and nothing is
        written; ``"update"``: such rows are updated and audited.
    regimen_map : RegimenMap, optional
        Regimen map for the conditioning intensity classes and the ``regimen-unknown``
        validation rule (default: the packaged EBMT map).
    today : datetime.date, optional
        Reference date for the "date in the future" rule (default: today).
    centre : str, optional
        Restrict the import to this centre's patients (a centre user's upload).

    Returns
    -------
    ImportResult
        Rows inserted, updated and unchanged per table, the import id and the validation
        report; ``source`` is the REDCap file's name.

    Raises
    ------
    DataValidationError
        The file breaks a rule; the report names the REDCap file, line and field, and the
        database is untouched.
    PermissionDeniedError
        ``centre`` is given and the file holds patients of another centre.
    BundleConflictError
        ``mode="insert"`` and some rows differ from stored ones.
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
