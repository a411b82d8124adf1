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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hsctms.errors import ConfigurationError
from hsctms.io._issues import Issue, ValidationReport, make_issue
from hsctms.io._parse import LINE, Parsed, RawTable, iter_cell_issues, parse_column
from hsctms.model.cohort import Cohort, conform, dtype_for
from hsctms.model.regimens import RegimenMap, default_regimen_map
from hsctms.model.schema import LAB_TESTS, SCHEMA, ColumnSpec, TableSpec

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


def parse_table(raw: RawTable) -> tuple[pd.DataFrame, list[Issue]]:
    """Parse a raw string table into canonical dtypes plus a line-number column.

    Absent optional columns are added as NA; cells that fail a value rule become NA and are
    reported.
    """
    spec = raw.spec
    n = len(raw.frame)
    issues: list[Issue] = []
    out: dict[str, pd.Series] = {}
    for col in spec.columns:
        if col.name in raw.present:
            series = raw.frame[col.name]
            parsed = parse_column(col, series)
            out[col.name] = parsed.values.reset_index(drop=True)
            issues.extend(iter_cell_issues(spec, col, series, parsed, raw.lines))
        else:
            out[col.name] = pd.Series(index=range(n), dtype=dtype_for(col))
    frame = pd.DataFrame(out, index=range(n))
    frame[LINE] = raw.lines
    return frame, issues


# -- helpers ---------------------------------------------------------------------------------


def _emit(spec: TableSpec, frame: pd.DataFrame, mask: Mask, rule_id: str, field_name: str | None,
          message: Callable[[int], str]) -> list[Issue]:
    """One issue per flagged row (``message`` receives the positional row index)."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    lines = frame[LINE].to_numpy()
    return [make_issue(rule_id, spec.filename, int(lines[i]), field_name, message(int(i)))
            for i in idx.tolist()]


def _b(series: pd.Series | npt.NDArray[Any]) -> Mask:
    """Boolean mask with NA treated as False."""
    if isinstance(series, pd.Series):
        return np.asarray(series.fillna(False), dtype=bool)
    return np.asarray(series, dtype=bool)


def _iso(value: Any) -> str:
    return pd.Timestamp(value).date().isoformat()


class _Lookup:
    """Per-patient reference values (birth year, onset, diagnosis, death) for child rows."""

    def __init__(self, patients: pd.DataFrame, deaths: pd.DataFrame) -> None:
        self.patients = patients.dropna(subset=["patient_id"]).drop_duplicates("patient_id")
        self.deaths = deaths.dropna(subset=["patient_id"]).drop_duplicates("patient_id")
        self._pidx = pd.Index(self.patients["patient_id"])
        self._didx = pd.Index(self.deaths["patient_id"])

    def _positions(self, keys: pd.Series, which: str) -> npt.NDArray[np.intp]:
        index = self._pidx if which == "patients" else self._didx
        codes, uniques = pd.factorize(keys)
        positions = np.append(index.get_indexer(uniques), -1)  # code -1 (NA) -> -1
        return np.asarray(positions[codes], dtype=np.intp)

    def known(self, keys: pd.Series) -> Mask:
        """Whether each id is a patient."""
        return np.asarray(self._positions(keys, "patients") >= 0, dtype=bool)

    def get(self, keys: pd.Series, column: str) -> pd.Series:
        """Value of ``column`` (of patients, or ``death_date``) for each patient id."""
        if column == "death_date":
            src, pos = self.deaths["date"], self._positions(keys, "deaths")
        else:
            src, pos = self.patients[column], self._positions(keys, "patients")
        return pd.Series(src.array.take(pos, allow_fill=True), index=keys.index)


# -- rules -----------------------------------------------------------------------------------


def _check_keys(spec: TableSpec, f: pd.DataFrame) -> list[Issue]:
    key = list(spec.key)
    complete = _b(f[key].notna().all(axis=1))
    if not complete.any():
        return []
    sub = f.loc[complete, [*key, LINE]]
    dup = _b(sub.duplicated(key, keep="first"))
    if not dup.any():
        return []
    first = sub.groupby(key, sort=False, dropna=True)[LINE].transform("first").to_numpy()
    mask = np.zeros(len(f), dtype=bool)
    positions = np.flatnonzero(complete)
    mask[positions[dup]] = True
    first_full = np.zeros(len(f), dtype=np.int64)
    first_full[positions] = first
    key_txt = ", ".join(key)

    def msg(i: int) -> str:
        vals = ", ".join(_fmt(f[k].iat[i]) for k in key)
        return (f"Duplicate {key_txt} ({vals}): already on line {first_full[i]}. Each "
                f"{spec.name} row must be unique by {key_txt}.")

    return _emit(spec, f, mask, "key-duplicate", key[-1], msg)


def _fmt(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def _check_dates(spec: TableSpec, f: pd.DataFrame, ref: _Lookup, ctx: ValidationContext
                 ) -> list[Issue]:
    issues: list[Issue] = []
    pid = f["patient_id"]
    birth = ref.get(pid, "birth_year")
    death = ref.get(pid, "death_date") if spec.name != "deaths" else None
    for name in spec.columns_of_type("date"):
        issues += _check_date_column(spec, f, name, birth, death, ctx)
    return issues


def _check_date_column(spec: TableSpec, f: pd.DataFrame, name: str, birth: pd.Series,
                       death: pd.Series | None, ctx: ValidationContext) -> list[Issue]:
    today = ctx.today_ts
    d = f[name]
    pid = f["patient_id"]
    future = _b(d > today)
    issues = _emit(spec, f, future, "date-in-future", name,
                   lambda i: f"{name} {_iso(d.iat[i])} is after today "
                   f"({today.date().isoformat()}).")
    if ctx.data_date is not None:
        data_date = pd.Timestamp(ctx.data_date)
        late = _b(d > data_date) & ~future
        issues += _emit(spec, f, late, "date-after-data-date", name,
                        lambda i: f"{name} {_iso(d.iat[i])} is after the data date "
                        f"{data_date.date().isoformat()} in bundle.json.")
    years = pd.Series(d.dt.year, dtype="Int64")
    early = _b(years < birth.astype("Int64"))
    issues += _emit(spec, f, early, "date-before-birth", name,
                    lambda i: f"{name} {_iso(d.iat[i])} is before the birth year "
                    f"{birth.iat[i]} of patient {pid.iat[i]}.")
    if death is not None:
        after = _b(d > death)
        issues += _emit(spec, f, after, "event-after-death", name,
                        lambda i: f"{name} {_iso(d.iat[i])} is after the death of patient "
                        f"{pid.iat[i]} on {_iso(death.iat[i])}.")
    return issues


def _check_patients(spec: TableSpec, f: pd.DataFrame) -> list[Issue]:
    early = _b(f["diagnosis_date"] < f["onset_date"])
    return _emit(spec, f, early, "diagnosis-before-onset", "diagnosis_date",
                 lambda i: f"diagnosis_date {_iso(f['diagnosis_date'].iat[i])} precedes "
                 f"onset_date {_iso(f['onset_date'].iat[i])}; check both dates.")


def _transplant_before(spec: TableSpec, f: pd.DataFrame, when: pd.Series, rule_id: str,
                       label: str) -> list[Issue]:
    tx = f["transplant_date"]
    return _emit(spec, f, _b(tx < when), rule_id, "transplant_date",
                 lambda i: f"transplant_date {_iso(tx.iat[i])} is before the {label} "
                 f"({_iso(when.iat[i])}) of patient {f['patient_id'].iat[i]}.")


def _check_transplants(spec: TableSpec, f: pd.DataFrame, ref: _Lookup,
                       ctx: ValidationContext) -> list[Issue]:
    issues: list[Issue] = []
    tx = f["transplant_date"]
    for column, rule_id, label in (("diagnosis_date", "transplant-before-diagnosis", "diagnosis"),
                                   ("onset_date", "transplant-before-onset", "onset")):
        issues += _transplant_before(spec, f, ref.get(f["patient_id"], column), rule_id, label)
    cls = ctx.regimen_map.classify_many(f["conditioning"].astype(object))
    unknown = _b(f["conditioning"].notna() & cls.isna())
    issues += _emit(spec, f, unknown, "regimen-unknown", "conditioning",
                    lambda i: f"Conditioning {f['conditioning'].iat[i]!r} is not recognised by "
                    f"the {ctx.regimen_map.name!r} regimen map; intensity class unknown.")
    ok = _b(f["patient_id"].notna() & tx.notna())
    if ok.any():
        order = f.loc[ok].sort_values(["transplant_date", LINE])
        rank = order.groupby("patient_id", sort=False).cumcount()
        later = np.zeros(len(f), dtype=bool)
        later[order.index[rank.to_numpy() > 0].to_numpy()] = True
        issues += _emit(spec, f, later, "transplant-multiple", "transplant_date",
                        lambda i: f"Patient {f['patient_id'].iat[i]} has more than one "
                        f"transplant; {_iso(tx.iat[i])} is not the index (first) transplant.")
    return issues


def _check_edss_near_relapse(spec: TableSpec, f: pd.DataFrame, relapses: pd.DataFrame
                             ) -> list[Issue]:
    ok = _b(f["patient_id"].notna() & f["date"].notna())
    rel = relapses.loc[_b(relapses["patient_id"].notna() & relapses["onset_date"].notna()),
                       ["patient_id", "onset_date"]]
    if not ok.any() or rel.empty:
        return []
    left = pd.DataFrame({"patient_id": f.loc[ok, "patient_id"].astype(object),
                         "date": f.loc[ok, "date"], "_pos": np.flatnonzero(ok)})
    right = pd.DataFrame({"patient_id": rel["patient_id"].astype(object),
                          "date": rel["onset_date"], "onset": rel["onset_date"]})
    merged = pd.merge_asof(left.sort_values("date"), right.sort_values("date"), on="date",
                           by="patient_id", direction="backward",
                           tolerance=pd.Timedelta(days=30))
    hit = merged[merged["onset"].notna()]
    mask = np.zeros(len(f), dtype=bool)
    mask[hit["_pos"].to_numpy()] = True
    onset = pd.Series(pd.NaT, index=f.index, dtype="datetime64[ns]")
    onset.iloc[hit["_pos"].to_numpy()] = hit["onset"].to_numpy()
    return _emit(spec, f, mask, "edss-near-relapse", "date",
                 lambda i: f"EDSS on {_iso(f['date'].iat[i])} is "
                 f"{(f['date'].iat[i] - onset.iat[i]).days} day(s) after a relapse onset "
                 f"({_iso(onset.iat[i])}); endpoint definitions usually exclude it.")


def _check_child_specific(spec: TableSpec, f: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
                          ref: _Lookup, ctx: ValidationContext) -> list[Issue]:
    name = spec.name
    if name == "transplants":
        return _check_transplants(spec, f, ref, ctx)
    if name == "edss":
        return _check_edss_near_relapse(spec, f, tables["relapses"])
    if name == "dmt":
        mask = _b(f["stop_date"] < f["start_date"])
        return _emit(spec, f, mask, "dmt-stop-before-start", "stop_date",
                     lambda i: f"{f['drug'].iat[i]} stop_date {_iso(f['stop_date'].iat[i])} "
                     f"is before start_date {_iso(f['start_date'].iat[i])}.")
    if name == "relapses" and "end_date" in f.columns:
        mask = _b(f["end_date"] < f["onset_date"])
        return _emit(spec, f, mask, "relapse-end-before-onset", "end_date",
                     lambda i: f"Relapse end_date {_when(f['end_date'].iat[i])} is before its "
                     f"onset_date {_when(f['onset_date'].iat[i])}.")
    if name == "mri":
        mask = _b(f["new_t2"].isna() & f["gd_lesions"].isna())
        return _emit(spec, f, mask, "mri-counts-missing", "new_t2",
                     lambda i: f"MRI on {_iso(f['date'].iat[i])} has neither new_t2 nor "
                     "gd_lesions; it cannot show or exclude activity.")
    if name == "labs":
        test = f["test"].astype(object)
        expected = test.map(LAB_TESTS)
        unit = f["unit"].astype(object)
        bad_unit = _b(expected.notna() & unit.notna() & (unit != expected))
        issues = _emit(spec, f, bad_unit, "lab-unit-unexpected", "unit",
                       lambda i: f"{test.iat[i]} in {unit.iat[i]!r}; the usual unit is "
                       f"{expected.iat[i]!r}. Values are not converted: check them.")
        unlisted = _b(test.notna() & expected.isna())
        issues += _emit(spec, f, unlisted, "lab-test-unknown", "test",
                        lambda i: f"Test {test.iat[i]!r} is not one of "
                        f"{', '.join(LAB_TESTS)}; it is stored but not analysed.")
        return issues
    return []


def _check_patient_known(spec: TableSpec, f: pd.DataFrame, ref: _Lookup) -> list[Issue]:
    pid = f["patient_id"]
    unknown = _b(pid.notna()) & ~ref.known(pid)
    return _emit(spec, f, unknown, "patient-unknown", "patient_id",
                 lambda i: f"patient_id {pid.iat[i]!r} is not in patients.csv.")


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
    """
    ctx = ctx or ValidationContext()
    issues: list[Issue] = []
    ref = _Lookup(tables["patients"], tables["deaths"])
    for name, spec in SCHEMA.items():
        f = tables[name]
        if f.empty or (only is not None and name != only):
            continue
        issues += _check_keys(spec, f)
        if name == "patients":
            issues += _check_patients(spec, f)
        else:
            issues += _check_patient_known(spec, f, ref)
            issues += _check_child_specific(spec, f, tables, ref, ctx)
            issues += _check_before_onset(spec, f, ref)
        issues += _check_dates(spec, f, ref, ctx)
    return issues


def _when(value: Any) -> str:
    """A date as ISO text, a day number as ``day N``."""
    if isinstance(value, pd.Timestamp | _dt.date):
        return _iso(value)
    return f"day {float(value):g}"


#: Columns checked against the patient's onset and diagnosis dates, per table.
_ONSET_CHECKED = {"edss": ("date", "EDSS assessment"), "relapses": ("onset_date", "Relapse"),
                  # the visit tables of the other outcome scales of the endpoint engine
                  "nhpt": ("date", "NHPT assessment"), "t25fw": ("date", "T25FW assessment"),
                  "sdmt": ("date", "SDMT assessment"), "outcome": ("date", "Assessment")}


def _check_before_onset(spec: TableSpec, f: pd.DataFrame, ref: _Lookup) -> list[Issue]:
    """``date-before-onset`` and ``date-before-diagnosis`` for EDSS visits and relapses."""
    if spec.name not in _ONSET_CHECKED or ref.patients.empty:
        return []
    name, what = _ONSET_CHECKED[spec.name]
    d, pid = f[name], f["patient_id"]
    issues: list[Issue] = []
    for column, rule_id, label in (("onset_date", "date-before-onset", "MS onset"),
                                   ("diagnosis_date", "date-before-diagnosis", "diagnosis")):
        when = ref.get(pid, column)

        def message(i: int, when: pd.Series = when, label: str = label) -> str:
            return (f"{what} on {_when(d.iat[i])} is before the {label} "
                    f"({_when(when.iat[i])}) of patient {pid.iat[i]}.")

        issues += _emit(spec, f, _b(d < when), rule_id, name, message)
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
                same &= _b(current[k] == want.values.iat[0])
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


def _unique_texts(col: ColumnSpec, uniques: npt.NDArray[Any]
                  ) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """:func:`_cell_text` of distinct values (text needs no conversion)."""
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
        text_u, fraction_u = _unique_texts(col, np.asarray(uniques, dtype=object))
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
    """
    ctx = ctx or ValidationContext()
    patients = tables.get("patients")
    if patients is None:
        patients = parse_frame(SCHEMA["patients"], pd.DataFrame({"patient_id": []}))[0]
    deaths = tables.get("deaths")
    if deaths is None or not calendar:
        deaths = parse_frame(SCHEMA["deaths"], pd.DataFrame({"patient_id": []}))[0]
    ref = _Lookup(patients, deaths)
    full = dict(tables)
    issues: list[Issue] = []
    for name, f in tables.items():
        spec = specs[name]
        if f.empty:
            continue
        issues += _check_keys(spec, f)
        if name == "patients":
            issues += _check_patients(spec, f) if calendar else []
        else:
            if patients_known:
                issues += _check_patient_known(spec, f, ref)
            if calendar and name != "edss":  # edss-near-relapse: the definitions' windows
                issues += _check_child_specific(spec, f, full, ref, ctx)
            issues += _check_before_onset(spec, f, ref)
        if calendar:
            issues += _check_dates(spec, f, ref, ctx)
    return issues
