"""REDCap interchange: a data dictionary for the hsctms schema, and flat CSV export/import.

REDCap conventions followed (``shared/research/ecosystem.md`` §1):

* the data dictionary has REDCap's 18 columns in order; the record-ID field (``patient_id``)
  is the first field of the first form (``patients``); identifiers are flagged ``y``;
* one instrument (form) per hsctms table; every table except ``patients`` is a *repeating
  instrument*; field names are ``<prefix>_<column>`` (see :data:`FORM_PREFIX`) so they are
  unique across forms and at most 26 characters;
* the flat export has one row per record and (repeat instrument, instance) with the columns
  ``patient_id, redcap_repeat_instrument, redcap_repeat_instance, redcap_data_access_group``,
  then every field, then ``<form>_complete`` (2 = complete);
* dates are ``date_ymd`` (ISO), yes/no fields are ``yesno`` (1/0), categories are dropdowns
  with ``raw, label | raw, label`` choices.

Importing a REDCap flat file converts it into an hsctms CSV bundle (strings only, nothing
fixed or dropped) which then goes through the one validation and import path
(:mod:`hsctms.io.validate`, :func:`hsctms.db.import_bundle`). The data access group becomes the
centre code when the ``centre`` field is blank; when both are given and differ it is an error.
"""

from __future__ import annotations

import datetime as _dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from hsctms.errors import DataValidationError
from hsctms.io._issues import Issue, ValidationReport, make_issue
from hsctms.io._parse import (
    _looks_separated,
    _slow_rows,
    _split_header,
    read_raw,
    read_regular_file,
    refused_issue,
)
from hsctms.io.bundle import validate_bundle
from hsctms.io.csvtext import write_csv
from hsctms.model.cohort import Cohort
from hsctms.model.regimens import RegimenMap
from hsctms.model.schema import SCHEMA, ColumnSpec, TableSpec

__all__ = [
    "DICTIONARY_COLUMNS",
    "META_COLUMNS",
    "RedcapBundle",
    "convert_redcap",
    "data_dictionary",
    "field_name",
    "flat_columns",
    "redcap_flat_to_tables",
    "redcap_to_bundle",
    "to_redcap_flat",
    "validate_redcap",
    "write_redcap",
]

#: Column headers of a REDCap data dictionary, in order.
DICTIONARY_COLUMNS: tuple[str, ...] = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)

#: Field-name prefix of each form (keeps REDCap field names unique and short).
FORM_PREFIX: dict[str, str] = {
    "patients": "",
    "dmt": "dmt",
    "transplants": "tx",
    "edss": "edss",
    "relapses": "rel",
    "mri": "mri",
    "labs": "lab",
    "adverse_events": "ae",
    "deaths": "death",
}

RECORD_ID = "patient_id"
REPEAT_INSTRUMENT = "redcap_repeat_instrument"
REPEAT_INSTANCE = "redcap_repeat_instance"
DAG = "redcap_data_access_group"
META_COLUMNS = (RECORD_ID, REPEAT_INSTRUMENT, REPEAT_INSTANCE, DAG)


def field_name(table: str, column: str) -> str:
    """REDCap field name of ``table.column``.

    Parameters
    ----------
    table
        Table name, e.g. ``"edss"``.
    column
        Column of that table.

    Returns
    -------
    str
        The field name (the form prefix and the column; ``patient_id`` as it is).
    """
    if column == RECORD_ID:
        return RECORD_ID
    prefix = FORM_PREFIX[table]
    return f"{prefix}_{column}" if prefix else column


def _data_columns(spec: TableSpec) -> list[ColumnSpec]:
    return [c for c in spec.columns if c.name != RECORD_ID]


def _dictionary_row(table: str, col: ColumnSpec) -> dict[str, str]:
    row = dict.fromkeys(DICTIONARY_COLUMNS, "")
    row["Variable / Field Name"] = field_name(table, col.name)
    row["Form Name"] = table
    row["Field Label"] = col.description
    row["Required Field?"] = "y" if (col.required and not col.nullable) else ""
    if col.type == "category":
        row["Field Type"] = "dropdown"
        row["Choices, Calculations, OR Slider Labels"] = " | ".join(
            f"{c}, {c}" for c in col.choices
        )
    elif col.type == "bool":
        row["Field Type"] = "yesno"
    else:
        row["Field Type"] = "text"
        validation = {"date": "date_ymd", "int": "integer", "float": "number",
                      "edss": "number_1dp"}.get(col.type, "")
        row["Text Validation Type OR Show Slider Number"] = validation
        if col.type == "edss":
            row["Text Validation Min"], row["Text Validation Max"] = "0", "10"
            row["Field Note"] = "0, 1.0-9.5 in 0.5 steps, or 10"
        else:
            if col.minimum is not None:
                row["Text Validation Min"] = f"{col.minimum:g}"
            if col.maximum is not None:
                row["Text Validation Max"] = f"{col.maximum:g}"
    if col.unit:
        row["Field Note"] = (row["Field Note"] + f" Unit: {col.unit}").strip()
    if col.type == "id" and col.name == "patient_id":
        row["Identifier?"] = ""  # pseudonymous by design, not a direct identifier
    return row


def data_dictionary() -> pd.DataFrame:
    """The REDCap data dictionary of the hsctms schema (one row per field).

    Returns
    -------
    DataFrame
        The dictionary, with REDCap's dictionary columns.
    """
    rows = []
    for table, spec in SCHEMA.items():
        if table == "patients":
            rows.append(_dictionary_row(table, spec.column(RECORD_ID)))
        rows.extend(_dictionary_row(table, c) for c in _data_columns(spec))
    return pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))


def flat_columns() -> list[str]:
    """Columns of the REDCap flat export, in order.

    Returns
    -------
    list of str
        Record id, repeat instrument and instance, data access group, the fields, then one
        ``<form>_complete`` column per form.
    """
    cols = list(META_COLUMNS)
    for table, spec in SCHEMA.items():
        cols.extend(field_name(table, c.name) for c in _data_columns(spec))
    cols.extend(f"{table}_complete" for table in SCHEMA)
    return cols


def _format(series: pd.Series, col: ColumnSpec) -> pd.Series:
    if col.type == "date":
        return series.dt.strftime("%Y-%m-%d").fillna("")
    if col.type == "bool":
        return series.map({True: "1", False: "0"}).fillna("").astype(str)
    if col.type in ("int",):
        return series.astype("string").fillna("")
    if col.type in ("float", "edss"):
        return series.map(lambda v: "" if pd.isna(v) else f"{v:g}" if col.type == "float"
                          else f"{v:.1f}")
    return series.astype("string").fillna("")


def to_redcap_flat(cohort: Cohort) -> pd.DataFrame:
    """The cohort as a REDCap flat export (all values as strings).

    Parameters
    ----------
    cohort
        The registry data.

    Returns
    -------
    DataFrame
        One row per patient and one per repeated-instrument instance, columns
        :func:`flat_columns`.
    """
    columns = flat_columns()
    blocks = []
    patients = cohort.patients
    base = pd.DataFrame({RECORD_ID: patients[RECORD_ID].astype(str),
                         REPEAT_INSTRUMENT: "", REPEAT_INSTANCE: "",
                         DAG: patients["centre"].astype(str).str.lower()})
    for col in _data_columns(SCHEMA["patients"]):
        base[field_name("patients", col.name)] = _format(patients[col.name], col).values
    base["patients_complete"] = "2"
    blocks.append(base)
    dag = dict(zip(base[RECORD_ID], base[DAG], strict=True))
    for table, spec in SCHEMA.items():
        if table == "patients":
            continue
        frame = cohort.table(table).sort_values(list(spec.key), kind="stable")
        if frame.empty:
            continue
        block = pd.DataFrame({RECORD_ID: frame[RECORD_ID].astype(str).values})
        block[REPEAT_INSTRUMENT] = table
        block[REPEAT_INSTANCE] = (block.groupby(RECORD_ID).cumcount() + 1).astype(str)
        block[DAG] = block[RECORD_ID].map(dag).fillna("")
        for col in _data_columns(spec):
            block[field_name(table, col.name)] = _format(frame[col.name], col).values
        block[f"{table}_complete"] = "2"
        blocks.append(block)
    out = pd.concat(blocks, ignore_index=True).reindex(columns=columns).astype(object)
    return out.where(out.notna(), "")


def write_redcap(cohort: Cohort, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``records.csv`` (flat export) and ``data_dictionary.csv`` to ``out_dir``.

    Parameters
    ----------
    cohort
        The registry data.
    out_dir
        Output directory (created if needed; the two files are replaced).

    Returns
    -------
    (Path, Path)
        ``records.csv`` and ``data_dictionary.csv``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = out / "records.csv"
    dictionary = out / "data_dictionary.csv"
    write_csv(to_redcap_flat(cohort), records)
    write_csv(data_dictionary(), dictionary)
    return records, dictionary


class _Refused(Exception):
    """Internal: the flat file cannot be converted; carries the issues."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues)
        self.issues = issues


def _refuse(name: str, issues: list[Issue]) -> DataValidationError:
    report = ValidationReport(issues, source=name)
    first = report.errors[0] if report.errors else report.issues[0]
    return DataValidationError(
        f"The REDCap file {name} cannot be converted ({len(report.errors)} error(s)); "
        f"first: {first.to_line()}",
        report=report,
        hint="Export the records from REDCap as 'CSV (raw data)' in UTF-8, with repeating "
             "instruments, without editing them in a spreadsheet.",
    )


def _label(source: str | Path | bytes) -> str:
    """The name a REDCap file is reported under: its file name, or the path as given when it
    has none (``.``, ``/``), ``records.csv`` for bytes."""
    if isinstance(source, bytes):
        return "records.csv"
    return Path(source).name or str(source)


def _read_flat(source: str | Path | bytes, name: str
               ) -> tuple[pd.DataFrame, npt.NDArray[np.int64], list[Issue]]:
    """The flat file as string columns, the file line of every row, and warnings."""
    if isinstance(source, bytes):
        raw = source
    else:
        try:  # a directory, FIFO or device is refused before reading (no hang)
            raw = read_regular_file(Path(source))
        except OSError as exc:  # FileRefused (directory, FIFO, device) or cannot be opened
            raise _Refused([refused_issue(name, exc)]) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _Refused([make_issue(
            "file-encoding", name, line, None,
            f"{name} is not UTF-8: byte 0x{raw[exc.start]:02x} on line {line} (probably "
            "Latin-1 or Windows-1252). Export from REDCap in UTF-8 or re-save it as UTF-8.")]
        ) from None
    header = _split_header(text) if text.strip() else []
    if not header or all(h == "" for h in header):
        raise _Refused([make_issue("file-unreadable", name, 1, None,
                                   f"{name} is empty or has no header row.")])
    separated = _looks_separated(header)
    if separated:
        raise _Refused([make_issue(
            "file-unreadable", name, 1, None,
            f"{name} is not comma-separated: its header is separated by {separated}.")])
    issues: list[Issue] = []
    seen: set[str] = set()
    for col in header:
        if col in seen:
            issues.append(make_issue("column-duplicate", name, 1, col,
                                     f"Column {col!r} appears more than once in the header."))
        seen.add(col)
    known = set(flat_columns())
    issues += [make_issue("column-unknown", name, 1, col,
                          f"Column {col!r} is not a field of the hsctms REDCap project; it is "
                          "ignored (not stored).")
               for col in dict.fromkeys(header) if col not in known]
    issues += [make_issue("column-missing-required", name, 1, col,
                          f"{name} lacks column {col!r}; export the records as 'CSV (raw "
                          "data)' with repeating instruments.")
               for col in (RECORD_ID, REPEAT_INSTRUMENT, REPEAT_INSTANCE) if col not in seen]
    rows, lines, row_issues = _slow_rows(text, len(header), name)
    issues += row_issues
    if any(i.severity == "error" for i in issues):
        raise _Refused(issues)
    first = {col: i for i, col in reversed(list(enumerate(header)))}
    frame = pd.DataFrame({col: [r[i] for r in rows] for col, i in first.items()}, dtype=object)
    return frame.astype(str) if len(frame) else frame, np.asarray(lines, dtype=np.int64), issues


def _split_flat(flat: pd.DataFrame, lines: npt.NDArray[np.int64], name: str
                ) -> tuple[dict[str, pd.DataFrame], dict[str, npt.NDArray[np.int64]]]:
    """hsctms tables of strings from the flat rows, and the flat-file line of each row."""
    instrument = flat[REPEAT_INSTRUMENT]
    bad = ~instrument.isin([*SCHEMA, ""]).to_numpy() | \
        (instrument == "patients").to_numpy()
    if bad.any():
        raise _Refused([make_issue(
            "value-category", name, int(lines[i]), REPEAT_INSTRUMENT,
            f"Repeat instrument {instrument.iat[i]!r} is not an hsctms form; use one of "
            f"{', '.join(n for n in SCHEMA if n != 'patients')} (blank for the patients form).")
            for i in np.flatnonzero(bad)])
    tables: dict[str, pd.DataFrame] = {}
    table_lines: dict[str, npt.NDArray[np.int64]] = {}
    for table, spec in SCHEMA.items():
        mask = (instrument == ("" if table == "patients" else table)).to_numpy()
        rows = flat[mask]
        data = {RECORD_ID: rows[RECORD_ID].to_numpy()}
        for col in _data_columns(spec):
            fname = field_name(table, col.name)
            if fname in rows:
                values = rows[fname]
                if col.type == "bool":
                    values = values.map({"1": "yes", "0": "no", "": ""}).fillna(values)
                data[col.name] = values.to_numpy()
        frame = pd.DataFrame(data)
        row_lines = lines[mask]
        if table == "patients" and DAG in rows:
            frame = _centre_from_dag(frame, rows, row_lines, name)
        if table != "patients":
            present = [field_name(table, c.name) for c in _data_columns(spec)
                       if field_name(table, c.name) in rows]
            keep = (rows[present] != "").any(axis=1).to_numpy() if present else \
                np.zeros(len(rows), dtype=bool)
            frame, row_lines = frame[keep], row_lines[keep]
        tables[table] = frame.reset_index(drop=True)
        table_lines[table] = row_lines
    return tables, table_lines


def redcap_flat_to_tables(source: str | Path | bytes) -> dict[str, pd.DataFrame]:
    """Split a REDCap flat export into hsctms tables of strings (no parsing, nothing dropped).

    Parameters
    ----------
    source
        The flat export: a path, or its bytes (an upload).

    Returns
    -------
    dict of str to DataFrame
        String tables by table name.

    Raises
    ------
    DataValidationError
        With a report (rule, line, field) if the file is not UTF-8 CSV, lacks the record-ID
        or repeat columns, names an unknown repeat instrument, or has a data access group that
        contradicts the ``centre`` field.
    """
    name = _label(source)
    try:
        flat, lines, _ = _read_flat(source, name)
        return _split_flat(flat, lines, name)[0]
    except _Refused as exc:
        raise _refuse(name, exc.issues) from None


def _centre_from_dag(frame: pd.DataFrame, rows: pd.DataFrame, lines: npt.NDArray[np.int64],
                     name: str) -> pd.DataFrame:
    dag = rows[DAG].to_numpy()
    centre = frame["centre"] if "centre" in frame else pd.Series([""] * len(frame))
    centre = centre.astype(str).to_numpy()
    clash = [i for i, (c, d) in enumerate(zip(centre, dag, strict=True))
             if c and d and c.lower() != d.lower()]
    if clash:
        raise _Refused([make_issue(
            "centre-dag-mismatch", name, int(lines[i]), "centre",
            f"Record {frame[RECORD_ID].iloc[i]}: centre {centre[i]!r} and data access group "
            f"{dag[i]!r} disagree; fix one of them in REDCap.") for i in clash])
    frame = frame.copy()
    frame["centre"] = [c if c else d.upper() for c, d in zip(centre, dag, strict=True)]
    return frame


@dataclass
class RedcapBundle:
    """A REDCap flat export converted to a CSV bundle, remembering where each row came from.

    :meth:`translate` turns a report about the bundle into one about the REDCap file: the file
    is the flat export, the line its line, the field the REDCap field name.

    Parameters
    ----------
    path
        The bundle directory written.
    name
        Name of the REDCap file (used in reports).
    lines
        For each table written, the line of the flat export of each of its rows.
    issues
        Issues found while splitting the export (warnings).
    """

    path: Path
    name: str
    lines: dict[str, npt.NDArray[np.int64]]
    issues: list[Issue] = field(default_factory=list)

    def _bundle_lines(self, table: str) -> dict[int, int]:
        spec = SCHEMA[table]
        raw, _ = read_raw(self.path / spec.filename, spec)
        written = raw.lines if raw is not None else np.zeros(0, dtype=np.int64)
        return {int(b): int(f) for b, f in zip(written, self.lines[table], strict=True)}

    def translate(self, report: ValidationReport) -> ValidationReport:
        """The report with file, line and field of the REDCap file (plus its warnings).

        Parameters
        ----------
        report
            A report about the converted bundle (:func:`hsctms.io.validate_bundle`).

        Returns
        -------
        ValidationReport
            The same issues, naming the REDCap file, its lines and field names.
        """
        by_file = {spec.filename: name for name, spec in SCHEMA.items()}
        cache: dict[str, dict[int, int]] = {}
        out = list(self.issues)
        for issue in report.issues:
            table = by_file.get(issue.file)
            if table is None:
                if issue.rule != "manifest-missing":  # a REDCap file has no manifest
                    out.append(issue)
                continue
            row = issue.row
            if row is not None and row > 1:
                row = cache.setdefault(table, self._bundle_lines(table)).get(row, row)
            fld = field_name(table, issue.field) if issue.field else None
            out.append(Issue(issue.rule, issue.severity, self.name, row, fld,
                             f"{issue.message} (form {table})"))
        return ValidationReport(out, source=self.name, rows=dict(report.rows))


def convert_redcap(source: str | Path | bytes, out_dir: str | Path, *,
                   name: str | None = None) -> RedcapBundle:
    """Convert a REDCap flat export into an hsctms CSV bundle directory (not yet validated).

    Parameters
    ----------
    source
        The flat export: a path, or its bytes (an upload).
    out_dir
        Bundle directory to write (created if needed).
    name
        Name of the REDCap file in reports (default: the file name).

    Returns
    -------
    RedcapBundle
        The bundle written and the line of the export of each of its rows.

    Raises
    ------
    DataValidationError
        With a report naming the REDCap file, line and field, if the file cannot be split
        into the hsctms tables.
    """
    label = name or _label(source)
    try:
        flat, lines, issues = _read_flat(source, label)
        tables, table_lines = _split_flat(flat, lines, label)
    except _Refused as exc:
        raise _refuse(label, exc.issues) from None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kept: dict[str, npt.NDArray[np.int64]] = {}
    for table, frame in tables.items():
        if table == "patients" or len(frame):
            write_csv(frame, out / SCHEMA[table].filename)
            kept[table] = table_lines[table]
    return RedcapBundle(out, label, kept, issues)


def redcap_to_bundle(source: str | Path | bytes, out_dir: str | Path) -> Path:
    """Convert a REDCap flat export into an hsctms CSV bundle directory (then validate it).

    Parameters
    ----------
    source
        The flat export: a path, or its bytes (an upload).
    out_dir
        Bundle directory to write (created if needed).

    Returns
    -------
    Path
        The bundle directory.
    """
    return convert_redcap(source, out_dir).path


def validate_redcap(source: str | Path | bytes, *, name: str | None = None,
                    regimen_map: RegimenMap | None = None,
                    today: _dt.date | None = None) -> ValidationReport:
    """Validate a REDCap flat export with the bundle rules; issues name the REDCap file.

    Parameters
    ----------
    source
        The flat export: a path, or its bytes (an upload).
    name
        Name of the REDCap file in the report (default: the file name).
    regimen_map
        Regimen map for the ``regimen-unknown`` rule (default EBMT).
    today
        Reference date for "in the future" (default: today).

    Returns
    -------
    ValidationReport
        Issues with the REDCap file, line and field name.
    """
    with tempfile.TemporaryDirectory() as tmp:
        try:
            converted = convert_redcap(source, Path(tmp) / "bundle", name=name)
        except DataValidationError as exc:
            report: ValidationReport = exc.report
            return report
        return converted.translate(validate_bundle(converted.path, regimen_map=regimen_map,
                                                   today=today))


