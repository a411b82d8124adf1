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

import csv
import io
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from hsctms.errors import DataValidationError
from hsctms.io.csvtext import write_csv
from hsctms.model.cohort import Cohort
from hsctms.model.schema import SCHEMA, ColumnSpec, TableSpec

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
    """REDCap field name of ``table.column``."""
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
    """The REDCap data dictionary of the hsctms schema (one row per field)."""
    rows = []
    for table, spec in SCHEMA.items():
        if table == "patients":
            rows.append(_dictionary_row(table, spec.column(RECORD_ID)))
        rows.extend(_dictionary_row(table, c) for c in _data_columns(spec))
    return pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))


def flat_columns() -> list[str]:
    """Columns of the REDCap flat export, in order."""
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
    """The cohort as a REDCap flat export (all values as strings)."""
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
    """Write ``records.csv`` (flat export) and ``data_dictionary.csv`` to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = out / "records.csv"
    dictionary = out / "data_dictionary.csv"
    write_csv(to_redcap_flat(cohort), records)
    write_csv(data_dictionary(), dictionary)
    return records, dictionary


def _read_text(source: str | Path | bytes) -> str:
    raw = Path(source).read_bytes() if not isinstance(source, bytes) else source
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataValidationError(
            f"The REDCap file is not UTF-8 (byte {exc.start}).",
            hint="Export from REDCap as CSV (raw) in UTF-8, or re-save the file as UTF-8.",
        ) from exc


def redcap_flat_to_tables(source: str | Path | bytes) -> dict[str, pd.DataFrame]:
    """Split a REDCap flat export into hsctms tables of strings (no parsing, nothing dropped).

    Raises
    ------
    DataValidationError
        If the file lacks the record-ID or repeat columns, names an unknown repeat instrument,
        or has a data access group that contradicts the ``centre`` field.
    """
    text = _read_text(source)
    if not text.strip():
        raise DataValidationError("The REDCap file is empty.",
                                  hint="Export the records as 'CSV (raw data)'.")
    try:
        flat = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise DataValidationError(
            f"The REDCap file is not a readable CSV: {str(exc).strip()}",
            hint="Export the records from REDCap as 'CSV (raw data)' without editing them in "
                 "a spreadsheet; values with commas or line breaks must be quoted.",
        ) from exc
    missing = [c for c in (RECORD_ID, REPEAT_INSTRUMENT, REPEAT_INSTANCE) if c not in flat]
    if missing:
        raise DataValidationError(
            f"The REDCap file lacks column(s) {missing}.",
            hint="Export the records as 'CSV (raw data)' with repeating instruments.",
        )
    unknown = sorted(set(flat[REPEAT_INSTRUMENT]) - set(SCHEMA) - {""})
    if unknown:
        raise DataValidationError(
            f"Unknown REDCap repeat instrument(s) {unknown} (line numbers: "
            f"{_lines(flat.index[flat[REPEAT_INSTRUMENT].isin(unknown)])}).",
            hint=f"Instruments must be the hsctms forms: {', '.join(SCHEMA)}.",
        )
    tables: dict[str, pd.DataFrame] = {}
    for table, spec in SCHEMA.items():
        rows = flat[flat[REPEAT_INSTRUMENT] == ("" if table == "patients" else table)]
        data = {RECORD_ID: rows[RECORD_ID].values}
        for col in _data_columns(spec):
            name = field_name(table, col.name)
            if name in rows:
                values = rows[name]
                if col.type == "bool":
                    values = values.map({"1": "yes", "0": "no", "": ""}).fillna(values)
                data[col.name] = values.values
        frame = pd.DataFrame(data)
        if table == "patients" and DAG in rows:
            frame = _centre_from_dag(frame, rows)
        if table != "patients":
            present = [field_name(table, c.name) for c in _data_columns(spec)
                       if field_name(table, c.name) in rows]
            keep = (rows[present] != "").any(axis=1).values if present else []
            frame = frame[keep] if len(frame) else frame
        tables[table] = frame.reset_index(drop=True)
    return tables


def _centre_from_dag(frame: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    dag = rows[DAG].values
    centre = frame["centre"] if "centre" in frame else pd.Series([""] * len(frame))
    centre = centre.astype(str).values
    clash = [i for i, (c, d) in enumerate(zip(centre, dag, strict=True))
             if c and d and c.lower() != d.lower()]
    if clash:
        raise DataValidationError(
            f"Centre and REDCap data access group disagree for record(s) "
            f"{[str(frame[RECORD_ID].iloc[i]) for i in clash[:10]]}.",
            hint="Fix the centre field or the record's data access group in REDCap.",
        )
    frame = frame.copy()
    frame["centre"] = [c if c else d.upper() for c, d in zip(centre, dag, strict=True)]
    return frame


def _lines(index: Iterable[int]) -> list[int]:
    return [int(i) + 2 for i in list(index)[:10]]


def redcap_to_bundle(source: str | Path | bytes, out_dir: str | Path) -> Path:
    """Convert a REDCap flat export into an hsctms CSV bundle directory (then validate it)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for table, frame in redcap_flat_to_tables(source).items():
        if table == "patients" or len(frame):
            write_csv(frame, out / SCHEMA[table].filename)
    return out
