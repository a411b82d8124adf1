"""Validation of registry data: whole bundles (vectorised) and single records (web forms).

There is ONE implementation of the rules. A bundle is parsed column by column into typed
frames that carry each row's file line number; :func:`check_tables` then applies the
cross-row and cross-table rules to all rows at once. :func:`validate_record` runs exactly the
same parser and checks on one record placed among the patient's stored rows, and returns only
the issues about that record, so the web registry's forms enforce the importer's rules.

Rule ids, severities and meanings are in :mod:`hsctms.io.rules` and
``docs/validation-rules.md``.

Examples
--------
>>> rep = validate_record("edss", {"patient_id": "P1", "date": "2020-01-01", "edss": "0.5"})
>>> sorted({i.rule for i in rep})
['edss-off-grid', 'patient-unknown']
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hsctms.errors import ConfigurationError
from hsctms.io._checks import (
    Lookup,
    b,
    check_before_onset,
    check_child_specific,
    check_dates,
    check_keys,
    check_patient_known,
    check_patients,
)
from hsctms.io._issues import Issue, ValidationReport, make_issue
from hsctms.io._parse import LINE, Parsed, RawTable, iter_cell_issues, parse_column
from hsctms.io.csvtext import (
    DECIMAL_COMMA_PATTERN,
    NUMERIC_DATE_PATTERN,
    CsvDialect,
    dates_to_iso,
    decimal_to_point,
)
from hsctms.model.cohort import Cohort, conform, dtype_for
from hsctms.model.regimens import RegimenMap, default_regimen_map
from hsctms.model.schema import SCHEMA, ColumnSpec, TableSpec

__all__ = [
    "Issue",
    "ValidationContext",
    "ValidationReport",
    "check_frames",
    "check_tables",
    "parse_frame",
    "parse_table",
    "validate_record",
]

#: Line marker of the record under validation in :func:`validate_record`.
_RECORD = -1
#: Line marker of stored context rows (their issues are not reported).
_CONTEXT = -2

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ValidationContext:
    """Settings that rules depend on.

    Parameters
    ----------
    data_date
        Data-extraction date from the bundle manifest; later dates are errors.
    today
        Reference for "in the future" (default: today's date; tests pin it).
    regimen_map
        Regimen map used by ``regimen-unknown``.
    """

    data_date: _dt.date | None = None
    today: _dt.date | None = None
    regimen_map: RegimenMap = field(default_factory=default_regimen_map)

    @property
    def today_ts(self) -> pd.Timestamp:
        """``today`` as a Timestamp."""
        return pd.Timestamp(self.today or _dt.date.today())


def parse_table(raw: RawTable, *, dialect: CsvDialect | None = None
                ) -> tuple[pd.DataFrame, list[Issue]]:
    """Parse a raw string table into canonical dtypes plus a line-number column.

    Absent optional columns are added as NA; cells that fail a value rule become NA and are
    reported. A column written the way a spreadsheet writes it (decimal commas, day-first
    dates in two or more cells) gets one column-level issue that says how to fix it, not one
    per row; such a file is read as written only with an explicit ``dialect``.

    Parameters
    ----------
    raw
        One CSV file read as text (:func:`hsctms.io._parse.read_raw`).
    dialect
        How the file is written, as declared by the user (default: the bundle format).

    Returns
    -------
    (DataFrame, list of Issue)
        The typed frame (with ``__line__``) and the cell issues.
    """
    spec = raw.spec
    dialect = dialect or CsvDialect()
    n = len(raw.frame)
    issues: list[Issue] = []
    out: dict[str, pd.Series] = {}
    for col in spec.columns:
        if col.name in raw.present:
            series = raw.frame[col.name]
            text, refused = _declared_text(spec, col, series, raw.lines, dialect, issues)
            parsed = parse_column(col, text)
            if refused is not None:
                _drop_cells(parsed, refused)
            if dialect.date_format != "iso" and col.type == "date":
                issues.extend(_declared_date_issues(spec, col, series, parsed, raw.lines,
                                                    dialect))
            issues.extend(_column_diagnosis(spec, col, series, parsed, raw.lines, dialect))
            out[col.name] = parsed.values.reset_index(drop=True)
            issues.extend(iter_cell_issues(spec, col, series, parsed, raw.lines))
        else:
            out[col.name] = pd.Series(index=range(n), dtype=dtype_for(col))
    frame = pd.DataFrame(out, index=range(n))
    frame[LINE] = raw.lines
    return frame, issues


# -- spreadsheet dialects: explicit reading and column-level diagnosis ---------------------

#: Lines named in a column-level message (the count of the others is given).
_SHOWN_LINES = 5


def _lines_text(lines: npt.NDArray[np.int64], idx: npt.NDArray[np.intp]) -> str:
    shown = ", ".join(str(int(v)) for v in lines[idx[:_SHOWN_LINES]])
    more = idx.size - _SHOWN_LINES
    word = "line" if idx.size == 1 else "lines"
    return f"{word} {shown}" + (f" and {more:,} more" if more > 0 else "")


def _declared_text(spec: TableSpec, col: ColumnSpec, series: pd.Series,
                   lines: npt.NDArray[np.int64], dialect: CsvDialect, issues: list[Issue]
                   ) -> tuple[pd.Series, Mask | None]:
    """The column's text in the bundle's own notation, for a dialect the user declared.

    Returns the text to parse and the mask of cells refused outright (a ``.`` in a number of
    a decimal-comma file), whose issues are appended to ``issues``.
    """
    if dialect.decimal == "," and col.type in ("float", "edss"):
        text, dotted = decimal_to_point(series)
        if dotted.any():
            for i in np.flatnonzero(dotted).tolist():
                value = str(series.iat[i])
                issues.append(make_issue(
                    "value-unparseable", spec.filename, int(lines[i]), col.name,
                    f"{col.name} {value!r} holds '.', but the file is read with --decimal ',' "
                    f"(is it a thousands separator?); write it with a decimal comma, e.g. "
                    f"{value.replace('.', ',')!r}, or without --decimal ','."))
            return text, dotted
        return text, None
    if dialect.date_format != "iso" and col.type == "date":
        return dates_to_iso(series, dialect.date_format), None
    return series, None


def _drop_cells(parsed: Parsed, cells: Mask) -> None:
    """Make ``cells`` missing and clear them from every mask (they are reported already)."""
    parsed.values = parsed.values.where(~cells)
    for name in parsed.masks:
        parsed.masks[name] = parsed.masks[name] & ~cells


def _declared_date_issues(spec: TableSpec, col: ColumnSpec, series: pd.Series, parsed: Parsed,
                          lines: npt.NDArray[np.int64], dialect: CsvDialect) -> list[Issue]:
    """The unreadable dates of a file read with ``--date-format dayfirst|monthfirst``, with
    the format the user declared in the message (taken out of ``value-unparseable``)."""
    bad = parsed.masks.get("value-unparseable")
    if bad is None or not bad.any():
        return []
    parsed.masks["value-unparseable"] = np.zeros_like(bad)
    form = "DD/MM/YYYY" if dialect.date_format == "dayfirst" else "MM/DD/YYYY"
    return [make_issue("value-unparseable", spec.filename, int(lines[i]), col.name,
                       f"{col.name} {str(series.iat[i])!r} is not a date {form} (as "
                       f"--date-format {dialect.date_format} declares; four-digit year) or "
                       "YYYY-MM-DD that exists.")
            for i in np.flatnonzero(bad).tolist()]


def _column_diagnosis(spec: TableSpec, col: ColumnSpec, series: pd.Series, parsed: Parsed,
                      lines: npt.NDArray[np.int64], dialect: CsvDialect) -> list[Issue]:
    """One issue for a column whose unreadable cells are written as a spreadsheet writes
    them (decimal commas, numeric dates such as 31/12/2019), instead of one per row.

    The cells stay unreadable (missing) and the issue is an error naming how many cells, the
    first lines and both fixes (rewrite the file, or declare its notation); they are taken
    out of the ``value-unparseable`` mask so they are not reported twice. Fewer than two such
    cells keep their per-cell message.
    """
    bad = parsed.masks.get("value-unparseable")
    if bad is None or not bad.any():
        return []
    if col.type in ("float", "edss") and dialect.decimal == ".":
        return _decimal_comma_issue(spec, col, series, parsed, lines, bad)
    if col.type == "date" and dialect.date_format == "iso":
        return _numeric_date_issue(spec, col, series, parsed, lines, bad)
    return []


def _decimal_comma_issue(spec: TableSpec, col: ColumnSpec, series: pd.Series, parsed: Parsed,
                         lines: npt.NDArray[np.int64], bad: Mask) -> list[Issue]:
    text = series.astype(str)
    comma = bad & np.asarray(text.str.fullmatch(DECIMAL_COMMA_PATTERN).fillna(False),
                             dtype=bool)
    idx = np.flatnonzero(comma)
    if idx.size < 2:
        return []
    parsed.masks["value-unparseable"] = bad & ~comma
    first = str(text.iat[idx[0]])
    what = (f"column {col.name} uses ',' as decimal mark ({first!r}) in {idx.size:,} rows "
            f"({_lines_text(lines, idx)}); those values were not read: write numbers with '.' "
            f"({first.replace(',', '.')})")
    return [make_issue(
        "column-decimal-comma", spec.filename, None, col.name,
        f"{what}, or pass --decimal ',' to read the file as written.",
        plain_message=f"{what}: save the file as CSV (comma delimited) with '.' as decimal "
                      "mark and upload it again.")]


def _numeric_date_issue(spec: TableSpec, col: ColumnSpec, series: pd.Series, parsed: Parsed,
                        lines: npt.NDArray[np.int64], bad: Mask) -> list[Issue]:
    text = series.astype(str)
    parts = text.str.extract(f"^{NUMERIC_DATE_PATTERN}$")
    numeric = bad & np.asarray(parts[0].notna(), dtype=bool)
    idx = np.flatnonzero(numeric)
    if idx.size < 2:
        return []
    parsed.masks["value-unparseable"] = bad & ~numeric
    first_n = parts[0].to_numpy()[idx].astype(int)
    second_n = parts[2].to_numpy()[idx].astype(int)
    two_digit = np.asarray(parts[3].to_numpy()[idx].astype(str), dtype=str)
    two_digit_any = bool((np.char.str_len(two_digit) == 2).any())
    day_first, month_first = bool((first_n > 12).any()), bool((second_n > 12).any())
    values = text.to_numpy()[idx]
    where = f"in {idx.size:,} rows ({_lines_text(lines, idx)}); those dates were not read"
    if day_first and not month_first:
        example = str(values[np.flatnonzero(first_n > 12)[0]])
        how = (f"looks day-first ({example})", "or pass --date-format dayfirst to read the "
               "file as written")
    elif month_first and not day_first:
        example = str(values[np.flatnonzero(second_n > 12)[0]])
        how = (f"looks month-first ({example})", "or pass --date-format monthfirst to read "
               "the file as written")
    elif day_first and month_first:
        example = str(values[0])
        how = (f"mixes day-first and month-first dates ({example})",
               "(correct each by hand: no option reads a mixture)")
    else:
        example = str(values[0])
        how = (f"has dates such as {example} (day-first or month-first cannot be told from "
               "the file)", "or pass --date-format dayfirst or monthfirst if you know which")
    if two_digit_any:
        example = str(values[np.flatnonzero(np.char.str_len(two_digit) == 2)[0]])
        how = (f"has dates with two-digit years ({example})",
               "(no option reads two-digit years)")
    return [make_issue(
        "column-date-format", spec.filename, None, col.name,
        f"column {col.name} {how[0]} {where}: write dates as YYYY-MM-DD {how[1]}.",
        plain_message=f"column {col.name} {how[0]} {where}: save the file as CSV (comma "
                      "delimited) with dates as YYYY-MM-DD and upload it again.")]


def check_tables(tables: Mapping[str, pd.DataFrame], ctx: ValidationContext | None = None,
                 *, only: str | None = None) -> list[Issue]:
    """Apply the row, cross-row and cross-table rules to typed frames.

    Parameters
    ----------
    tables
        Typed frames (canonical dtypes) for every table of the schema, each with the hidden
        line-number column ``__line__``.
    ctx
        Validation settings.
    only
        Check only the rows of this table (every rule reports on the rows of the table it
        checks, so a single record needs only its own table checked).

    Returns
    -------
    list of Issue
        The issues of the record rules.
    """
    ctx = ctx or ValidationContext()
    issues: list[Issue] = []
    ref = Lookup(tables["patients"], tables["deaths"])
    for name, spec in SCHEMA.items():
        f = tables[name]
        if f.empty or (only is not None and name != only):
            continue
        issues += check_keys(spec, f, ref)
        if name == "patients":
            issues += check_patients(spec, f)
        else:
            issues += check_patient_known(spec, f, ref)
            issues += check_child_specific(spec, f, tables, ref, ctx)
            issues += check_before_onset(spec, f, ref)
        issues += check_dates(spec, f, ref, ctx)
    return issues


# -- cohorts and single records --------------------------------------------------------------


def _with_lines(cohort: Cohort | Mapping[str, pd.DataFrame], marker: int | None
                ) -> dict[str, pd.DataFrame]:
    tables = cohort.tables if isinstance(cohort, Cohort) else dict(cohort)
    out: dict[str, pd.DataFrame] = {}
    for name, spec in SCHEMA.items():
        frame = tables.get(name)
        if frame is None:
            frame = pd.DataFrame({c: [] for c in spec.column_names})
        typed = conform(spec, frame[[c for c in frame.columns if c != LINE]])
        typed = typed[list(spec.column_names)]
        if marker is None:
            typed[LINE] = np.arange(2, len(typed) + 2, dtype=np.int64)
        else:
            typed[LINE] = np.full(len(typed), marker, dtype=np.int64)
        out[name] = typed
    return out


def _to_text(col: ColumnSpec, value: Any) -> str:
    """Canonical text of a form value, so records go through the same parser as files."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, str):
        return value
    if col.type == "bool" or isinstance(value, bool | np.bool_):
        return "yes" if bool(value) else "no"
    if isinstance(value, pd.Timestamp | _dt.datetime):
        return value.date().isoformat() if col.type == "date" else str(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(value)


def validate_record(
    table: str,
    values: Mapping[str, Any],
    context: Cohort | Mapping[str, pd.DataFrame] | None = None,
    *,
    replaces: Mapping[str, Any] | None = None,
    ctx: ValidationContext | None = None,
) -> ValidationReport:
    """Validate one record (a web form submission) with the importer's rules.

    Parameters
    ----------
    table
        Table name, e.g. ``"edss"``.
    values
        Column -> value; strings are parsed exactly as CSV cells, typed Python values
        (dates, numbers, booleans, None) are accepted too.
    context
        The stored data the record must be consistent with: at least the patient's own rows
        (``patients``, ``deaths``, ``relapses``, and the rows of ``table``). A
        :class:`~hsctms.model.cohort.Cohort` or a mapping of typed frames.
    replaces
        Natural-key values of the stored row being edited (it is removed from the context so
        the record does not clash with its own old version).
    ctx
        Validation settings (today, data date, regimen map).

    Returns
    -------
    ValidationReport
        Issues about this record only; ``row`` is ``None``, ``field`` names the form field.
    """
    if table not in SCHEMA:
        raise ConfigurationError(f"Unknown table {table!r}.",
                                 hint=f"Known tables: {', '.join(SCHEMA)}.")
    spec = SCHEMA[table]
    issues: list[Issue] = []
    for name in values:
        if not spec.has_column(name):
            issues.append(make_issue("column-unknown", spec.filename, None, name,
                                     f"Field {name!r} is not part of {spec.name}; ignored."))
    raw = pd.DataFrame({c.name: pd.Series([_to_text(c, values.get(c.name))], dtype="str")
                        for c in spec.columns})
    parsed_table = RawTable(spec, raw, np.asarray([_RECORD], dtype=np.int64),
                            spec.column_names)
    record, cell_issues = parse_table(parsed_table)
    issues += cell_issues
    tables = _with_lines(context or {}, _CONTEXT)
    current = tables[table]
    if replaces:
        same = np.ones(len(current), dtype=bool)
        for k in spec.key:
            if k in replaces:
                col = spec.column(k)
                want = parse_column(col, pd.Series([_to_text(col, replaces[k])], dtype="str"))
                same &= b(current[k] == want.values.iat[0])
        current = current.loc[~same]
    tables[table] = pd.concat([current, record[current.columns]], ignore_index=True)
    issues += check_tables(tables, ctx, only=table)
    mine = [
        Issue(i.rule, i.severity, i.file, None, i.field, i.message)
        for i in issues
        if i.row in (_RECORD, None)
    ]
    return ValidationReport(mine, source=f"{spec.name} record")


# -- in-memory frames of any dtype (the endpoint engine's inputs) ----------------------------


def _cell_text(col: ColumnSpec, value: Any) -> tuple[str, bool]:
    """Canonical text of one value of a frame, and whether it is a fractional numeric id.

    Identifiers and whole numbers given as floats (as pandas stores integer columns with
    blanks) are normalised: ``1``, ``1.0`` and ``"1"`` are the same patient; ``1.5`` cannot
    be an identifier (and is not a whole number).
    """
    if col.type in ("id", "int") and isinstance(value, float | np.floating):
        number = float(value)
        if number.is_integer():
            return str(int(number)), False
        return repr(number), col.type == "id"
    if col.type == "id" and isinstance(value, int | np.integer) and not isinstance(value, bool):
        return str(int(value)), False
    return _to_text(col, value), False


def _unique_texts(col: ColumnSpec, distinct: Any
                  ) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """:func:`_cell_text` of distinct values (text needs no conversion, calendar dates are
    written as ISO days all at once)."""
    dtype = getattr(distinct, "dtype", None)
    if col.type == "date" and dtype is not None and dtype.kind == "M":
        stamps = pd.DatetimeIndex(distinct)
        if stamps.tz is not None:  # the local calendar day, as Timestamp.date() gives
            stamps = stamps.tz_localize(None)
        days = stamps.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
        return (np.datetime_as_string(days, unit="D").astype(object),
                np.zeros(len(days), dtype=bool))
    uniques = np.asarray(distinct, dtype=object)
    if uniques.size and pd.api.types.infer_dtype(uniques, skipna=False) == "string":
        return uniques, np.zeros(uniques.size, dtype=bool)
    cells = [_cell_text(col, v) for v in uniques]
    return (np.array([t for t, _ in cells], dtype=object),
            np.array([f for _, f in cells], dtype=bool))


def parse_frame(spec: TableSpec, frame: pd.DataFrame, *,
                lines: npt.NDArray[np.int64] | None = None) -> tuple[pd.DataFrame, list[Issue]]:
    """Parse an in-memory frame (columns of any dtype) with the bundle's cell rules.

    Every value is written as its canonical text (as :func:`validate_record` does for form
    values) and parsed by the same parser as a CSV cell, so ``"3,0"``, ``3.25`` and a blank
    EDSS are reported exactly as in ``edss.csv``. The distinct values of each column are
    parsed once, so this is fast on millions of rows. Row numbers are the lines the rows
    would have in ``frame.to_csv(index=False)`` (first row = line 2).

    Parameters
    ----------
    spec
        Table specification; only the schema columns present in ``frame`` are checked (absent
        ones are added as NA, extra ones ignored).
    frame
        The table.
    lines
        Line number of each row, when the rows are a part of a larger table (one partition
        of a distributed run); default ``2, 3, ...``.

    Returns
    -------
    (DataFrame, list of Issue)
        Typed frame (canonical dtypes, failing cells NA, with ``__line__``) and the issues.
    """
    n = len(frame)
    lines = (np.arange(2, n + 2, dtype=np.int64) if lines is None
             else np.asarray(lines, dtype=np.int64))
    out: dict[str, pd.Series] = {}
    issues: list[Issue] = []
    for col in spec.columns:
        if col.name not in frame.columns:
            out[col.name] = pd.Series(index=range(n), dtype=dtype_for(col))
            continue
        series = frame[col.name].reset_index(drop=True)
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        text_u, fraction_u = _unique_texts(col, uniques)
        text = np.append(text_u, np.array([""], dtype=object))  # code -1 (NA) -> ""
        parsed_u = parse_column(col, pd.Series(text, dtype="str"))
        values = parsed_u.values.take(codes).reset_index(drop=True)
        has_na = bool((codes < 0).any())
        flagged = {k: m for k, m in parsed_u.masks.items()
                   if m[:-1].any() or (has_na and m[-1])}
        if flagged or fraction_u.any():  # rows with an issue exist: report them
            raw = pd.Series(text[codes], dtype=object)
            fraction = np.append(fraction_u, False)[codes]
            if fraction.any():
                values = values.where(~fraction, pd.NA)
                issues += [make_issue(
                    "value-invalid-id", spec.filename, int(lines[i]), col.name,
                    f"{col.name} {raw.iat[i]} is a number with a fraction, not an identifier "
                    "(1, 1.0 and '1' are the same patient).")
                    for i in np.flatnonzero(fraction).tolist()]
            masks = {k: m[codes] for k, m in flagged.items()}
            issues += list(iter_cell_issues(spec, col, raw, Parsed(values, masks), lines))
        out[col.name] = values
    typed = pd.DataFrame(out, index=range(n))
    typed[LINE] = lines
    return typed, issues


def check_frames(tables: Mapping[str, pd.DataFrame], specs: Mapping[str, TableSpec],
                 ctx: ValidationContext | None = None, *, calendar: bool = True,
                 patients_known: bool = True) -> list[Issue]:
    """The row, cross-row and cross-table rules of :func:`check_tables` for a subset of tables.

    Used for in-memory inputs (e.g. :func:`hsctms.endpoints.derive_frames`) that hold only
    some tables, possibly with day numbers instead of dates.

    Parameters
    ----------
    tables
        Typed frames from :func:`parse_frame`, by table name (``patients`` and ``deaths`` are
        used as references when present).
    specs
        The specification of each table (schema tables, or extra tables such as an origin).
    ctx
        Validation settings.
    calendar
        False when dates are day numbers: the calendar rules (future, data date, birth year,
        after death, diagnosis before onset, MRI counts) are then not applied. The
        ``edss-near-relapse`` info is never computed here (endpoint definitions apply their
        own relapse windows, and one message per visit is slow on millions of rows).
    patients_known
        Whether ``tables["patients"]`` lists every patient (enables ``patient-unknown``).

    Returns
    -------
    list of Issue
        The issues of the record rules.
    """
    ctx = ctx or ValidationContext()
    patients = tables.get("patients")
    if patients is None:
        patients = parse_frame(SCHEMA["patients"], pd.DataFrame({"patient_id": []}))[0]
    deaths = tables.get("deaths")
    if deaths is None or not calendar:
        deaths = parse_frame(SCHEMA["deaths"], pd.DataFrame({"patient_id": []}))[0]
    ref = Lookup(patients, deaths)
    full = dict(tables)
    issues: list[Issue] = []
    for name, f in tables.items():
        spec = specs[name]
        if f.empty:
            continue
        issues += check_keys(spec, f, ref)
        if name == "patients":
            issues += check_patients(spec, f) if calendar else []
        else:
            if patients_known:
                issues += check_patient_known(spec, f, ref)
            if calendar and name != "edss":  # edss-near-relapse: the definitions' windows
                issues += check_child_specific(spec, f, full, ref, ctx)
            issues += check_before_onset(spec, f, ref)
        if calendar:
            issues += check_dates(spec, f, ref, ctx)
    return issues
