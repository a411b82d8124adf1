"""Low-level CSV reading and column-wise typed parsing with error masks.

Files are read as text (UTF-8, BOM tolerated) into string columns, then each column is parsed
to its canonical dtype in one vectorised pass that also yields boolean masks of the cells that
break a rule. Nothing is coerced: a cell either parses exactly or is reported.

The reader keeps the file line number of every row (the header is line 1) so that reports
point at the line a person sees in an editor.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from hsctms._files import FileRefused, read_regular_file
from hsctms.io._issues import Issue, make_issue
from hsctms.io.csvtext import DELIMITERS
from hsctms.model.scales import is_valid_edss
from hsctms.model.schema import ColumnSpec, TableSpec

# Patterns use [0-9], never \d: \d also matches non-ASCII digits such as "١٩٨٠" or "３".
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:/\-]{0,63}"
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
#: Any number of digits: a whole number too large for 32 bits is out of range (not "not a
#: whole number").
INT_PATTERN = r"[+-]?[0-9]+"
FLOAT_PATTERN = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?"
#: EDSS scores are written as plain decimals: "0", "3", "3.5", "3.50", "10.0" (at most three
#: decimals, no sign, exponent or spaces); the grid check then refuses e.g. "0.5" or "3.25".
EDSS_PATTERN = r"[0-9]{1,2}(?:\.[0-9]{1,3})?"
#: Whole numbers are stored as 32-bit integers on every database engine.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
#: Longest text value (characters): keeps natural keys within PostgreSQL's index row limit.
TEXT_MAX_LENGTH = 500
#: C0 control characters other than tab, line feed and carriage return (NUL cannot be stored in
#: PostgreSQL text; the others are invisible and never meant).
CONTROL_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
#: Longest field the csv reader accepts (the module default, 131072 characters, would raise
#: instead of letting the text-length rule report the cell with its line and column).
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
_TRUE = ("yes", "true", "1")
_FALSE = ("no", "false", "0")
DATE_MIN = pd.Timestamp("1900-01-01")
DATE_MAX = pd.Timestamp("2200-12-31")
_DAY_MIN, _DAY_MAX = np.datetime64("1900-01-01", "D"), np.datetime64("2200-12-31", "D")

_EXPECTED = {
    "date": "an ISO date YYYY-MM-DD that exists",
    "int": "a whole number",
    "float": "a number with '.' as decimal mark",
    "edss": "an EDSS score written as a plain decimal with '.' as decimal mark (e.g. 3.5)",
    "bool": "yes or no",
}

#: Name of the hidden column carrying file line numbers through validation.
LINE = "__line__"


@dataclass
class RawTable:
    """One CSV file read as text.

    Attributes
    ----------
    spec
        The table's specification.
    frame
        String columns of the schema present in the header (unknown columns removed).
    lines
        File line number of each row of ``frame``.
    present
        Schema columns present in the header.
    """

    spec: TableSpec
    frame: pd.DataFrame
    lines: npt.NDArray[np.int64]
    present: tuple[str, ...]
    issues: list[Issue] = field(default_factory=list)


def _reason(exc: OSError) -> str:
    if isinstance(exc, FileRefused):
        return exc.reason
    return f"cannot be opened ({exc.strerror or exc})"


def refused_issue(filename: str, exc: OSError) -> Issue:
    """The ``file-unreadable`` issue of a file that is not a regular file (refused by
    :func:`hsctms._files.read_regular_file` before reading) or cannot be opened."""
    return make_issue("file-unreadable", filename, None, None,
                      f"{filename} {_reason(exc)}; nothing of it was read. Input files must "
                      "be plain files (CSV text), not directories, FIFOs or devices.")


def decode(path: Path, filename: str) -> tuple[str | None, bytes, list[Issue]]:
    """Read a file as UTF-8 text (BOM removed); report the line of the first bad byte, or
    a ``file-unreadable`` issue if it is not a regular file."""
    try:
        data = read_regular_file(path)
    except OSError as exc:  # FileRefused (directory, FIFO, device) or cannot be opened
        return None, b"", [refused_issue(filename, exc)]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), data, []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1].hex()
        guess = "UTF-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else \
            "Latin-1 or Windows-1252"
        return None, data, [make_issue(
            "file-encoding", filename, line, None,
            f"{filename} is not UTF-8: byte 0x{bad} on line {line} (probably {guess}). "
            "Re-save the file as UTF-8.",
        )]


def _split_header(text: str, delimiter: str = ",") -> list[str]:
    """The header row's names (LF, CRLF or CR line endings; quoted names allowed)."""
    end = text.find("\n")
    first = text if end < 0 else text[: end + 1]
    if '"' not in first and "\r" not in first[:-2]:
        text = first  # an unquoted header ends at the first line end: read only that line
    try:
        return next(csv.reader(io.StringIO(text, newline=""), strict=True,
                               delimiter=delimiter), [])
    except csv.Error:
        # a header quote that is never closed: take the raw first line, so the names are
        # reported as they are written
        return text.splitlines()[0].split(delimiter) if text else []


def _separator_of(header: list[str], delimiter: str = ",") -> str | None:
    """The separator a one-column header seems to use instead of ``delimiter`` (``;``, tab,
    ``|``, or ``,`` when another delimiter was asked for)."""
    if len(header) != 1:
        return None
    for sep in DELIMITERS:
        if sep != delimiter and header[0].count(sep) >= 1:
            return sep
    return None


def _looks_separated(header: list[str]) -> str | None:
    """The separator a one-column header seems to use instead of commas, in words
    (``"semicolons"``, ``"tabs"``, ``"vertical bars"``)."""
    sep = _separator_of(header)
    return None if sep is None else DELIMITERS[sep]


def _separated_message(filename: str, header: str, sep: str, delimiter: str
                       ) -> tuple[str, str | None]:
    """The one message of a file whose fields are separated by ``sep``, not ``delimiter``,
    and the same without the command line's ``--delimiter`` (for a web upload; None when
    only the option helps)."""
    shown = "tab" if sep == "\t" else repr(sep)
    option = "tab" if sep == "\t" else f"'{sep}'"
    if sep == ",":
        return (f"{filename} uses ',' between fields, not {delimiter!r} (its header is "
                f"{header[:80]!r}): run without --delimiter."), None
    why = " (a European spreadsheet export)" if sep == ";" else ""
    what = (f"{filename} uses {shown} between fields{why}, not {DELIMITERS[delimiter]} (its "
            f"header is {header[:80]!r}): save it as CSV (comma delimited; a spreadsheet's "
            f"'CSV UTF-8')")
    return f"{what}, or run with --delimiter {option}.", f"{what} and upload it again."


def _malformed(filename: str, start: int, end: int, reason: str) -> Issue:
    """The ``file-unreadable`` issue of a row the csv reader cannot split."""
    if "end of data" in reason:
        what = (f"a quoted value opened on line {start} is never closed (the closing \" is "
                "missing, e.g. a truncated file)")
    elif "expected after" in reason:
        what = (f"a quoted value on line {end} is followed by other characters before the "
                "next comma (write quotes inside a quoted value as \"\")")
    else:
        what = f"line {end} is not valid CSV"
    return make_issue("file-unreadable", filename, start, None,
                      f"{filename} cannot be read from line {start}: {what}. Nothing of the "
                      "file was read.")


def _slow_rows(text: str, ncols: int, filename: str, delimiter: str = ","
               ) -> tuple[list[list[str]], list[int], list[Issue]]:
    """csv-module reader for files with quotes or malformed lines (exact line numbers)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []
    issues: list[Issue] = []
    prev_end = 0
    while True:
        start = prev_end + 1
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            issues.append(_malformed(filename, start, reader.line_num, str(exc)))
            return [], [], issues
        prev_end = reader.line_num
        if start == 1:
            continue  # header
        if not rec or (len(rec) == 1 and rec[0] == "" and ncols > 1):
            issues.append(make_issue("row-blank", filename, start, None,
                                     f"Line {start} is blank and was skipped."))
            continue
        if len(rec) != ncols:
            issues.append(make_issue(
                "row-field-count", filename, start, None,
                f"Line {start} has {len(rec)} fields but the header has {ncols}; quote values "
                f"that contain {DELIMITERS[delimiter]}. The row was not read.",
            ))
            continue
        rows.append(rec)
        lines.append(start)
    return rows, lines, issues


def _check_header(header: list[str], spec: TableSpec, issues: list[Issue]) -> set[str]:
    """Append the header's duplicate, unknown and missing-required column issues.

    Returns
    -------
    set of str
        The column names in the header.
    """
    filename = spec.filename
    seen: set[str] = set()
    for name in header:
        if name in seen:
            issues.append(make_issue("column-duplicate", filename, 1, name,
                                     f"Column {name!r} appears more than once in the header."))
        seen.add(name)
    for name in header:
        if not spec.has_column(name):
            issues.append(make_issue(
                "column-unknown", filename, 1, name,
                f"Column {name!r} is not part of {filename}; it is ignored (not stored).",
            ))
    for name in spec.required_columns:
        if name not in seen:
            issues.append(make_issue(
                "column-missing-required", filename, 1, name,
                f"{filename} lacks required column {name!r} (required: "
                f"{', '.join(spec.required_columns)}).",
            ))
    return seen


def read_raw(path: Path, spec: TableSpec, *, delimiter: str = ","
             ) -> tuple[RawTable | None, list[Issue]]:
    """Read one CSV file of the bundle as strings, checking encoding, header and shape
    (``delimiter``: the field separator the user declared, see ``CsvDialect``)."""
    filename = spec.filename
    text, data, issues = decode(path, filename)
    if text is None:
        return None, issues
    header = _split_header(text, delimiter)
    if not header or all(h == "" for h in header):
        issues.append(make_issue("file-unreadable", filename, 1, None,
                                 f"{filename} is empty or has no header row."))
        return None, issues
    separated = _separator_of(header, delimiter)
    if separated and not spec.has_column(header[0]):
        message, plain = _separated_message(filename, header[0], separated, delimiter)
        issues.append(make_issue("file-unreadable", filename, 1, None, message,
                                 plain_message=plain))
        return None, issues
    ncols = len(header)
    seen = _check_header(header, spec, issues)
    present = tuple(c for c in spec.column_names if c in seen)
    frame, lines, row_issues = _read_body(text, data, ncols, filename, delimiter)
    issues.extend(row_issues)
    if any(i.rule == "file-unreadable" for i in row_issues):
        return None, issues
    # keep the first occurrence of each known column only
    keep: dict[str, int] = {}
    for i, name in enumerate(header):
        if spec.has_column(name) and name not in keep:
            keep[name] = i
    out = pd.DataFrame({name: frame.iloc[:, i] for name, i in keep.items()})
    out = out[[c for c in present]] if present else pd.DataFrame(index=frame.index)
    return RawTable(spec, out.reset_index(drop=True), lines, present, []), issues


def _read_unquoted(data: bytes, ncols: int, delimiter: str = ",") -> pd.DataFrame | None:
    """String columns (named 0..ncols-1) of the rows after the header of a file without
    quotes or blank lines: pyarrow's multi-threaded CSV reader, every cell kept as written.

    Returns
    -------
    DataFrame or None
        None when a line has another number of fields than ``ncols`` or is longer than a
        read block (the exact reader then reports or reads it).
    """
    names = [str(i) for i in range(ncols)]
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data),
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1,
                                            use_threads=True),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char=False,
                                              double_quote=False, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={n: pa.large_string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid:
        return None
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    return pd.DataFrame({i: pd.Series(pd.arrays.ArrowStringArray(table.column(n)), dtype=text)
                         for i, n in enumerate(names)})


def _read_body(text: str, data: bytes, ncols: int, filename: str, delimiter: str = ","
               ) -> tuple[pd.DataFrame, npt.NDArray[np.int64], list[Issue]]:
    # fast path: no quotes and only LF or CRLF line ends (a bare CR also ends a line for
    # the csv module, so such files take the exact reader); pyarrow refuses any line with
    # another number of fields, which the exact reader then reports
    if b'"' not in data and ncols > 1 and (b"\r" not in data
                                            or data.count(b"\r") == data.count(b"\r\n")):
        start = data.find(b"\n") + 1
        if start == 0 or start == len(data):
            frame = pd.DataFrame({i: pd.Series([], dtype="str") for i in range(ncols)})
            return frame, np.zeros(0, dtype=np.int64), []
        # pyarrow would read a blank line as a row of blanks: the exact reader reports it
        blank = data.startswith((b"\n", b"\r\n"), start) or b"\n\n" in data \
            or b"\n\r\n" in data
        frame = None if blank else _read_unquoted(data, ncols, delimiter)
        if frame is not None:
            return frame, np.arange(2, len(frame) + 2, dtype=np.int64), []
    rows, line_list, issues = _slow_rows(text, ncols, filename, delimiter)
    frame = pd.DataFrame(rows, columns=list(range(ncols)), dtype="str") if rows else \
        pd.DataFrame({i: pd.Series([], dtype="str") for i in range(ncols)})
    return frame, np.asarray(line_list, dtype=np.int64), issues


# -- typed parsing -----------------------------------------------------------------------------


@dataclass
class Parsed:
    """A parsed column: canonical values plus masks of cells that break a rule."""

    values: pd.Series
    masks: dict[str, npt.NDArray[np.bool_]]


def _to_float(raw: pd.Series, ok: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Floats of the cells where ``ok`` (already checked against the number pattern)."""
    arr = _arrow(raw)
    kept = pc.if_else(pa.array(ok), arr, pa.scalar(None, type=arr.type))
    out = pc.cast(kept, pa.float64()).to_numpy(zero_copy_only=False)
    return np.asarray(out, dtype=np.float64)


def _fullmatch(raw: pd.Series, pattern: str) -> npt.NDArray[np.bool_]:
    return np.array(raw.str.fullmatch(pattern).fillna(False), dtype=bool)


def numeric_bounds(col: ColumnSpec) -> tuple[float, float]:
    """The range a number column accepts: its schema bounds, within 32 bits for whole numbers."""
    lo = -np.inf if col.minimum is None else float(col.minimum)
    hi = np.inf if col.maximum is None else float(col.maximum)
    if col.type == "int":
        lo, hi = max(lo, float(INT_MIN)), min(hi, float(INT_MAX))
    return lo, hi


def parse_column(col: ColumnSpec, raw: pd.Series) -> Parsed:
    """Parse one string column to its canonical dtype.

    Masks returned (all aligned with ``raw``): ``value-missing`` (blank in a non-nullable
    column), ``value-unparseable``, ``value-invalid-id``, ``value-category``, ``value-range``,
    ``edss-off-grid``. Cells in any mask are NA in ``values``.
    """
    raw = raw.astype("str")
    blank = np.asarray(raw == "", dtype=bool)
    masks: dict[str, npt.NDArray[np.bool_]] = {}
    if not col.nullable:
        masks["value-missing"] = blank
    kind = col.type
    if kind in ("id", "str", "category"):
        return _parse_text(col, raw, blank, masks)
    if kind == "date":
        return _parse_date(raw, blank, masks)
    if kind == "bool":
        return _parse_bool(raw, blank, masks)
    return _parse_number(col, raw, blank, masks)


def _parse_text(col: ColumnSpec, raw: pd.Series, blank: npt.NDArray[np.bool_],
                masks: dict[str, npt.NDArray[np.bool_]]) -> Parsed:
    """:func:`parse_column` for ``id``, ``str`` and ``category`` columns."""
    kind = col.type
    values = raw.astype("string").where(~blank, pd.NA)
    if kind == "str":
        masks["value-text-invalid"] = ~blank & (
            np.asarray(raw.str.contains(CONTROL_PATTERN, regex=True), dtype=bool)
            | np.asarray(raw.str.len() > TEXT_MAX_LENGTH, dtype=bool))
    if kind == "id":
        masks["value-invalid-id"] = ~blank & ~_fullmatch(raw, ID_PATTERN)
    elif kind == "category" and col.choices:
        masks["value-category"] = ~blank & ~np.asarray(raw.isin(col.choices), dtype=bool)
    bad = np.zeros(len(raw), dtype=bool)
    for m in masks.values():
        bad |= m & ~blank
    return Parsed(values.where(~bad, pd.NA), masks)


def _parse_date(raw: pd.Series, blank: npt.NDArray[np.bool_],
                masks: dict[str, npt.NDArray[np.bool_]]) -> Parsed:
    """:func:`parse_column` for ``date`` columns (YYYY-MM-DD within the allowed range)."""
    days = _iso_days(raw, _fullmatch(raw, DATE_PATTERN))
    nat = np.isnat(days)
    masks["value-unparseable"] = ~blank & nat
    out_of_range = ~nat & ((days < _DAY_MIN) | (days > _DAY_MAX))
    masks["value-range"] = out_of_range
    days[out_of_range] = np.datetime64("NaT")
    return Parsed(pd.Series(days.astype("datetime64[ns]"), index=raw.index), masks)


def _arrow(raw: pd.Series) -> pa.Array:
    """The pyarrow string array of a text column."""
    if hasattr(raw.array, "__arrow_array__"):
        arr = pa.array(raw.array)
    else:
        arr = pa.array(raw.to_numpy(dtype=object), type=pa.string())
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


#: Days of each month (index 1..12; 0 and 13 stand for invalid months).
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0], dtype=np.int64)


def _days_from_civil(y: npt.NDArray[np.int64], m: npt.NDArray[np.int64],
                     d: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01 of valid proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    out: npt.NDArray[np.int64] = era * 146097 + doe - 719468
    return out


def _iso_days(raw: pd.Series, ok: npt.NDArray[np.bool_]) -> npt.NDArray[np.datetime64]:
    """Days (``datetime64[D]``) of the cells ``ok`` (matching ``YYYY-MM-DD``) that name a
    day of the proleptic Gregorian calendar; NaT elsewhere (2023-02-30, month 13, day 0).
    Years outside 1900-2200 are days too (the range rule reports them)."""
    out = np.full(len(raw), np.datetime64("NaT"), dtype="datetime64[D]")
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out
    text = _arrow(raw)
    if idx.size != len(raw):
        text = text.take(pa.array(idx))
    # every cell is 10 ASCII characters: the string data are rows of 10 bytes
    wide = pa.types.is_large_string(text.type)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64 if wide else np.int32
                            )[text.offset:]
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8)
    cells = data[offsets[0]:offsets[0] + 10 * idx.size].reshape(idx.size, 10)

    def number(first: int, last: int) -> npt.NDArray[np.int64]:
        value = np.zeros(idx.size, dtype=np.int64)
        for k in range(first, last):
            value = value * 10 + cells[:, k] - 48
        return value

    y, m, d = number(0, 4), number(5, 7), number(8, 10)
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    length = _MONTH_DAYS[np.clip(m, 0, 13)] + ((m == 2) & leap)
    valid = (m >= 1) & (m <= 12) & (d >= 1) & (d <= length)
    # day = (1 January of the year) + (days before the month) + day - 1, by table look-up
    # (the same days as _days_from_civil, without its divisions on every cell)
    first = _YEAR_START[y[valid]] + _MONTH_START[leap[valid].astype(np.intp), m[valid]]
    out[idx[valid]] = (first + d[valid] - 1).astype("datetime64[D]")
    return out


#: Days since 1970-01-01 of 1 January of each year 0000-9999 (all a 4-digit cell can write).
_YEAR_START = _days_from_civil(np.arange(10_000, dtype=np.int64), np.ones(10_000, np.int64),
                               np.ones(10_000, np.int64))
#: Days of the year before the 1st of each month (rows: common, leap year; index 1..12).
_MONTH_START = np.zeros((2, 13), dtype=np.int64)
_MONTH_START[0, 1:] = np.cumsum(np.r_[0, _MONTH_DAYS[1:12]])
_MONTH_START[1, 1:] = _MONTH_START[0, 1:] + (np.arange(1, 13) > 2)


def _parse_bool(raw: pd.Series, blank: npt.NDArray[np.bool_],
                masks: dict[str, npt.NDArray[np.bool_]]) -> Parsed:
    """:func:`parse_column` for ``bool`` columns."""
    low = raw.str.lower()
    true = np.asarray(low.isin(_TRUE), dtype=bool)
    false = np.asarray(low.isin(_FALSE), dtype=bool)
    masks["value-unparseable"] = ~blank & ~true & ~false
    arr = pd.array(np.where(true, True, False), dtype="boolean")
    arr[~true & ~false] = pd.NA
    return Parsed(pd.Series(arr, index=raw.index), masks)


def _parse_number(col: ColumnSpec, raw: pd.Series, blank: npt.NDArray[np.bool_],
                  masks: dict[str, npt.NDArray[np.bool_]]) -> Parsed:
    """:func:`parse_column` for ``int``, ``float`` and ``edss`` columns."""
    kind = col.type
    pattern = {"int": INT_PATTERN, "edss": EDSS_PATTERN}.get(kind, FLOAT_PATTERN)
    ok = _fullmatch(raw, pattern)
    numbers = _to_float(raw, ok)
    if kind != "int":  # digits only: an infinite value is a huge whole number, out of range
        ok = ok & np.isfinite(numbers)
    masks["value-unparseable"] = ~blank & ~ok
    valid = ok.copy()
    lo, hi = numeric_bounds(col)
    if np.isfinite(lo) or np.isfinite(hi):
        with np.errstate(invalid="ignore"):
            rng = ok & ((numbers < lo) | (numbers > hi))
        masks["value-range"] = rng
        valid &= ~rng
    if kind == "edss":
        off = ok & ~is_valid_edss(numbers)
        masks["edss-off-grid"] = off
        valid &= ~off
    if kind == "int":
        ints = pd.array(np.where(valid, numbers, 0).astype(np.int64), dtype="Int64")
        ints[~valid] = pd.NA
        return Parsed(pd.Series(ints, index=raw.index), masks)
    return Parsed(pd.Series(np.where(valid, numbers, np.nan), index=raw.index,
                            dtype="float64"), masks)


def _unparseable_hint(col: ColumnSpec, value: str) -> str:
    """What to change in a cell that is not of its column's type ("" when nothing specific)."""
    if col.type in ("float", "edss") and re.fullmatch(r"[+-]?[0-9]+,[0-9]+", value):
        return " (use '.' as decimal mark)"
    if value != value.strip():
        return " (remove the spaces around the value)"
    if not value.isascii():
        return " (use the digits 0-9)"
    if col.type == "edss" and re.fullmatch(r"[+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?", value):
        return " (write the score without sign or exponent, at most 3 decimals)"
    if col.type == "date" and re.fullmatch(r"[0-9]{1,2}[/.][0-9]{1,2}[/.][0-9]{2,4}", value):
        return " (dates must be YYYY-MM-DD)"
    return ""


def _range_message(col: ColumnSpec, shown: str) -> str:
    """Message for a ``value-range`` cell: the bounds it must lie within."""
    if col.type == "date":
        return f"{col.name} {shown} is outside 1900-01-01..2200-12-31."
    lo, hi = numeric_bounds(col)
    bounds = []
    if np.isfinite(lo):
        bounds.append(f">= {lo:g}" if col.type != "int" else f">= {int(lo)}")
    if np.isfinite(hi):
        bounds.append(f"<= {hi:g}" if col.type != "int" else f"<= {int(hi)}")
    return f"{col.name} {shown} is out of range (must be {' and '.join(bounds)})."


def _text_invalid_message(col: ColumnSpec, value: str) -> str:
    """Message for a ``value-text-invalid`` cell: too long, or control characters."""
    if len(value) > TEXT_MAX_LENGTH:
        return (f"{col.name} has {len(value)} characters; at most {TEXT_MAX_LENGTH} are "
                "allowed (keep long notes outside the registry).")
    bad = sorted({f"U+{ord(c):04X}" for c in re.findall(CONTROL_PATTERN, value)})
    return (f"{col.name} contains the control character(s) {', '.join(bad)} "
            "(e.g. NUL), which cannot be stored; remove them.")


def describe_failure(col: ColumnSpec, rule_id: str, value: str) -> str:
    """Human message for one failing cell."""
    shown = repr(value)
    if rule_id == "value-missing":
        return f"{col.name} is required but blank."
    if rule_id == "value-unparseable":
        return (f"{col.name} {shown} is not {_EXPECTED.get(col.type, col.type)}"
                f"{_unparseable_hint(col, value)}.")
    if rule_id == "value-invalid-id":
        return (f"{col.name} {shown} is not a valid identifier (1-64 letters, digits, "
                ". _ : / -; no spaces).")
    if rule_id == "value-category":
        return f"{col.name} {shown} is not allowed; use one of {', '.join(col.choices)}."
    if rule_id == "value-range":
        return _range_message(col, shown)
    if rule_id == "value-text-invalid":
        return _text_invalid_message(col, value)
    if rule_id == "edss-off-grid":
        return (f"EDSS {shown} is not a valid score (0, 1.0-9.5 in steps of 0.5, or 10; "
                "0.5 is not valid).")
    return f"{col.name} {shown} breaks rule {rule_id}."


def iter_cell_issues(spec: TableSpec, col: ColumnSpec, raw: pd.Series, parsed: Parsed,
                     lines: npt.NDArray[np.int64]) -> Iterator[Issue]:
    """Issues for every flagged cell of one parsed column."""
    for rule_id, mask in parsed.masks.items():
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            continue
        values = raw.to_numpy()[idx]
        for i, value in zip(idx.tolist(), values.tolist(), strict=True):
            yield make_issue(rule_id, spec.filename, int(lines[i]), col.name,
                             describe_failure(col, rule_id, str(value)))
