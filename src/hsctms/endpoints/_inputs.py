"""Validate and normalise the input tables of the endpoint engine.

Every entry point (:func:`~hsctms.endpoints.derive`, :func:`~hsctms.endpoints.derive_frames`,
:func:`~hsctms.endpoints.derive_dask`) passes its tables through :func:`prepare`, which runs
the bundle's validation rules (:func:`hsctms.io.validate.parse_frame` and
:func:`hsctms.io.validate.check_frames`) on the columns the engine reads and raises
:class:`~hsctms.errors.DataValidationError` with the report: no row is dropped or altered
silently. Identifiers are normalised to text (``1``, ``1.0`` and ``"1"`` are one patient).

Dates may be calendar dates (``datetime64``, or ISO ``YYYY-MM-DD`` strings) or plain numbers
of days (as the trial simulator produces); all tables of one call must use the same kind.
Everything is converted to float days since 1970-01-01 (or kept as given).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hsctms.endpoints.disability import FloatArray, IntArray
from hsctms.errors import ConfigurationError, DataValidationError, HsctmsWarning
from hsctms.io._issues import Issue, ValidationReport, make_issue
from hsctms.io._parse import LINE
from hsctms.io.validate import ValidationContext, check_frames, parse_frame
from hsctms.model.schema import SCHEMA, ColumnSpec, TableSpec

if TYPE_CHECKING:
    from hsctms.io.bundle import BundleContents
    from hsctms.model.cohort import Cohort

#: The origin table of :func:`derive_frames` (not a bundle table: derived from transplants).
ORIGIN = TableSpec(
    "origin",
    (ColumnSpec("patient_id", "id", "Patient identifier.", required=True, nullable=False),
     ColumnSpec("origin_date", "date", "Origin (e.g. index transplant) date; blank: no origin "
                "(the patient is excluded with the reason).", required=True)),
    key=("patient_id",),
    description="One origin per patient.",
    event_date="origin_date",
)

#: Columns the engine reads from each input (others are neither checked nor used).
USED: dict[str, tuple[str, ...]] = {
    "patients": ("patient_id", "birth_year", "onset_date", "diagnosis_date"),
    "edss": ("patient_id", "date", "edss"),
    "relapses": ("patient_id", "onset_date", "end_date"),
    "mri": ("patient_id", "date", "new_t2", "gd_lesions", "brain_volume"),
    "deaths": ("patient_id", "date"),
    "origin": ("patient_id", "origin_date"),
}

#: Issues quoted in the message of a DataValidationError (all are in its report).
SHOWN = 10


class InputWarning(HsctmsWarning):
    """The endpoint inputs break a validation rule of severity ``warning`` (e.g. an EDSS
    visit before MS onset); the full report is in ``report``.

    Parameters
    ----------
    message : str
        The warning text: how many validation warnings the inputs have, followed by the
        first ``SHOWN`` (10) of them, one a line.
    report : ValidationReport
        The full validation report of the endpoint inputs, kept as the ``report``
        attribute.
    """

    def __init__(self, message: str, report: ValidationReport) -> None:
        super().__init__(message)
        self.report = report


def _check_kind(series: pd.Series, datetime: bool, what: str) -> None:
    """Refuse a date column of the other kind (numbers among dates, or the reverse)."""
    numeric = pd.api.types.is_numeric_dtype(series.dtype) and not \
        pd.api.types.is_bool_dtype(series.dtype)
    if datetime and numeric:
        raise ConfigurationError(
            f"{what} holds numbers while the visit dates are calendar dates.",
            hint="Use calendar dates in every table, or day numbers in every table.")
    if not datetime and not numeric:
        raise ConfigurationError(
            f"{what} holds dates while the visit dates are day numbers.",
            hint="Use calendar dates in every table, or day numbers in every table.")


@dataclass
class Calendar:
    """Whether days are calendar days since 1970-01-01 (``datetime``) or plain numbers."""

    datetime: bool

    def to_days(self, series: pd.Series, what: str) -> FloatArray:
        """Float days (NaN for missing) of a validated date column."""
        _check_kind(series, self.datetime, what)
        if self.datetime:
            if getattr(series.dtype, "tz", None) is not None:
                series = series.dt.tz_localize(None)
            values = series.to_numpy(dtype="datetime64[ns]")
            nat = np.isnat(values)
            out = values.astype("datetime64[D]").astype(np.int64).astype(np.float64)
            out[nat] = np.nan
            return out
        return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)

    def from_days(self, days: FloatArray) -> Any:
        """Convert float days back to the input kind (datetime64[ns] or float)."""
        if not self.datetime:
            return np.asarray(days, dtype=np.float64)
        out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
        ok = ~np.isnan(days)
        out[ok] = days[ok].astype(np.int64).astype("datetime64[D]").astype("datetime64[ns]")
        return out


def require(frame: pd.DataFrame | None, name: str, columns: Iterable[str]) -> None:
    """Raise a clear error when a table lacks columns."""
    if frame is None:
        return
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigurationError(
            f"The {name} table lacks column(s) {', '.join(missing)}.",
            hint=f"Expected columns: {', '.join(columns)}.")


def detect_calendar(edss: pd.DataFrame) -> Calendar:
    """Calendar dates unless the visit ``date`` column is numeric."""
    return Calendar(datetime=not pd.api.types.is_numeric_dtype(edss["date"].dtype))


# -- validation --------------------------------------------------------------------------------


@dataclass
class Inputs:
    """Validated inputs: typed frames (canonical dtypes, text ids) and the report."""

    edss: pd.DataFrame
    relapses: pd.DataFrame | None
    mri: pd.DataFrame | None
    deaths: pd.DataFrame | None
    origin: pd.DataFrame | None
    patients: pd.DataFrame | None
    calendar: Calendar
    report: ValidationReport


def _origin_frame(origin: Any) -> tuple[pd.DataFrame | None, str]:
    """The origin as a frame (``patient_id``, ``origin_date``) and the user's column name."""
    if origin is None:
        return None, "origin_date"
    if isinstance(origin, pd.DataFrame):
        col = "origin_date" if "origin_date" in origin.columns else "transplant_date"
        require(origin, "origin", ("patient_id", col))
        return origin[["patient_id", col]].rename(columns={col: "origin_date"}), col
    if isinstance(origin, pd.Series):
        return pd.DataFrame({"patient_id": origin.index.to_numpy(dtype=object),
                             "origin_date": origin.to_numpy()}), "origin_date"
    if isinstance(origin, Mapping):
        return pd.DataFrame({"patient_id": pd.Series(list(origin.keys()), dtype=object),
                             "origin_date": pd.Series(list(origin.values()))}), "origin_date"
    raise ConfigurationError("origin must be a DataFrame, a Series or a mapping.",
                             hint="E.g. DataFrame(patient_id=..., origin_date=...).")


def _patients_frame(patients: Any) -> pd.DataFrame | None:
    if patients is None:
        return None
    if isinstance(patients, pd.DataFrame):
        require(patients, "patients", ("patient_id",))
        return patients
    return pd.DataFrame({"patient_id": pd.Series(list(patients), dtype=object)})


def _used_spec(spec: TableSpec, used: tuple[str, ...]) -> TableSpec:
    """``spec`` restricted to the columns the engine reads (and the natural key)."""
    cols = tuple(c for c in spec.columns if c.name in used or c.name in spec.key)
    return dataclasses.replace(spec, columns=cols)


def _day_spec(spec: TableSpec) -> TableSpec:
    """``spec`` with its date columns as numbers (day numbers instead of calendar dates)."""
    cols = tuple(dataclasses.replace(c, type="float") if c.type == "date" else c
                 for c in spec.columns)
    return dataclasses.replace(spec, columns=cols)


def visit_spec(outcome: str) -> TableSpec:
    """The visits table of an outcome scale: the EDSS table, or the same table with the
    outcome's value column (``nhpt``, ``t25fw``, ``sdmt``; ``value`` for a custom score) and
    the scale's range (docs/endpoints.md, "Outcomes")."""
    if outcome == "edss":
        return SCHEMA["edss"]
    from hsctms.endpoints.change import SCALES

    s = SCALES[outcome]
    rng = (f" between {s.minimum:g} and {s.maximum:g}" if s.minimum is not None
           and s.maximum is not None else "")
    value = ColumnSpec(s.column, "int" if s.whole else "float",
                       f"{s.label} score{rng}.", required=True, nullable=False,
                       minimum=s.minimum, maximum=s.maximum)
    base = SCHEMA["edss"]
    cols = (base.column("patient_id"), base.column("date"), value)
    return dataclasses.replace(base, name="outcome" if outcome == "custom" else outcome,
                               columns=cols, description=f"{s.label} assessments, one row "
                               "per visit.")


def _rename_field(issue: Issue, names: Mapping[str, str]) -> Issue:
    if issue.field is not None and names.get(issue.field, issue.field) != issue.field:
        return dataclasses.replace(issue, field=names[issue.field])
    return issue


def prepare(edss: pd.DataFrame, relapses: pd.DataFrame | None = None,
            mri: pd.DataFrame | None = None, origin: Any = None,
            deaths: pd.DataFrame | None = None, patients: Any = None, *,
            data_date: _dt.date | None = None, empty_ok: bool = False,
            outcome: str = "edss", lines: Mapping[str, IntArray] | None = None,
            on_warnings: Callable[[ValidationReport], None] | None = None) -> Inputs:
    """Validate the inputs of the engine with the bundle rules (see the module docstring).

    Parameters
    ----------
    edss, relapses, mri, origin, deaths, patients
        As for :func:`hsctms.endpoints.derive_frames`.
    data_date
        Dates after it are errors (``date-after-data-date``).
    empty_ok
        Accept an EDSS table without rows (one partition of a distributed run).
    outcome
        The outcome scale of the definition: the visits table holds its column
        (:func:`visit_spec`).
    lines
        Line number of each row by table name (``"edss"``, ``"relapses"``, ...), when the
        tables are parts of larger ones (a partition of a distributed run): issues then name
        the lines of the whole tables. Default: ``frame.to_csv(index=False)`` lines.
    on_warnings
        Called with the report when it holds warnings, instead of issuing an
        :class:`InputWarning` (a partition of a distributed run hands them to the caller).

    Returns
    -------
    Inputs
        The typed tables; ``report`` may hold warnings and infos but no error.

    Raises
    ------
    DataValidationError
        Any error (the report lists rule, table, row, field and message of every issue).
    ConfigurationError
        A required column is missing, or day numbers and calendar dates are mixed.
    """
    vspec = visit_spec(outcome)
    vused = USED["edss"] if outcome == "edss" else tuple(c.name for c in vspec.columns)
    require(edss, "visits" if outcome != "edss" else "edss", vused)
    rel_col = "onset_date"
    if relapses is not None and "onset_date" not in relapses.columns \
            and "date" in relapses.columns:
        rel_col = "date"
        relapses = relapses.rename(columns={"date": "onset_date"})
    require(relapses, "relapses", ("patient_id", "onset_date"))
    require(mri, "mri", ("patient_id", "date", "new_t2", "gd_lesions"))
    require(deaths, "deaths", ("patient_id", "date"))
    origin_frame, origin_col = _origin_frame(origin)
    frames = {"patients": _patients_frame(patients), "edss": edss, "relapses": relapses,
              "mri": mri, "deaths": deaths, "origin": origin_frame}
    cal = detect_calendar(edss)
    used_cols = {**USED, "edss": vused}
    specs = {name: _used_spec(ORIGIN if name == "origin" else
                              vspec if name == "edss" else SCHEMA[name], used_cols[name])
             for name in frames}
    if not cal.datetime:
        specs = {name: _day_spec(spec) for name, spec in specs.items()}
    typed: dict[str, pd.DataFrame] = {}
    issues: list[Issue] = []
    for name, frame in frames.items():
        if frame is None:
            continue
        dates = (ORIGIN if name == "origin" else SCHEMA[name]).columns_of_type("date")
        for col in dates if len(frame) else ():
            if col in USED[name] and col in frame.columns:
                _check_kind(frame[col], cal.datetime, f"{name}.{col}")
        used = [c for c in used_cols[name] if c in frame.columns]
        typed[name], found = parse_frame(specs[name], frame[used],
                                         lines=(lines or {}).get(name))
        issues += found
    if len(edss) == 0 and not empty_ok:
        issues.append(_edss_empty(vspec))
    issues += check_frames(typed, specs, ValidationContext(data_date=data_date),
                           calendar=cal.datetime, patients_known=patients is not None)
    aliases = {"relapses.csv": {"onset_date": rel_col},
               "origin.csv": {"origin_date": origin_col}}
    issues = [_rename_field(i, aliases.get(i.file, {})) for i in issues]
    report = _checked(issues, typed, on_warnings)
    return Inputs(typed["edss"], typed.get("relapses"), typed.get("mri"), typed.get("deaths"),
                  typed.get("origin"), typed.get("patients"), cal, report)


def _checked(issues: list[Issue], typed: Mapping[str, pd.DataFrame],
             on_warnings: Callable[[ValidationReport], None] | None) -> ValidationReport:
    """The report of the inputs: raise on an error, warn (or hand over) the warnings."""
    report = ValidationReport(issues, source="endpoint inputs",
                              rows={n: len(f) for n, f in typed.items()})
    if not report.ok:
        raise DataValidationError(
            f"The endpoint inputs have {len(report.errors)} validation error(s) (nothing was "
            "derived):\n" + _quote(report.errors),
            report=report,
            hint="Correct the rows named (row = line in frame.to_csv(index=False), the first "
                 "row being line 2; for a bundle, the line in the file); see "
                 "docs/validation-rules.md for each rule.")
    if report.warnings:
        if on_warnings is not None:
            on_warnings(report)
        else:
            warnings.warn(input_warning(report), stacklevel=5)
    return report


def canonical_inputs(edss: pd.DataFrame, relapses: pd.DataFrame | None = None,
                     mri: pd.DataFrame | None = None, origin: Any = None,
                     deaths: pd.DataFrame | None = None, patients: Any = None) -> Inputs:
    """The inputs of tables already in the canonical schema, taken as they are.

    For tables the toolkit generated itself (:func:`hsctms.datasets.course.simulate_arm`,
    which conforms every table to :data:`~hsctms.model.schema.SCHEMA`): the per-cell checks of
    :func:`prepare` are skipped, so never use it for data from outside. EDSS outcome only.

    Parameters
    ----------
    edss, relapses, mri, origin, deaths, patients
        As for :func:`hsctms.endpoints.derive_frames`.

    Returns
    -------
    Inputs
        The tables restricted to the columns the engine reads; an empty report.
    """
    require(edss, "edss", USED["edss"])
    frames = {"edss": edss, "relapses": relapses, "mri": mri, "deaths": deaths,
              "origin": _origin_frame(origin)[0], "patients": _patients_frame(patients)}
    typed = {name: f[[c for c in USED[name] if c in f.columns]]
             for name, f in frames.items() if f is not None}
    report = ValidationReport([], source="endpoint inputs (canonical, not re-validated)",
                              rows={n: len(f) for n, f in typed.items()})
    return Inputs(typed["edss"], typed.get("relapses"), typed.get("mri"), typed.get("deaths"),
                  typed.get("origin"), typed.get("patients"), detect_calendar(edss), report)


#: The rules :func:`prepare` can find in the tables of a bundle that passed validation (its
#: other rules are errors, or rules of cells and rows the bundle validation applied alike).
_BUNDLE_RULES = frozenset({"diagnosis-before-onset", "date-before-onset",
                           "date-before-diagnosis", "mri-counts-missing"})


def loaded_inputs(contents: BundleContents, cohort: Cohort, origin: pd.DataFrame | None
                  ) -> Inputs:
    """The inputs of a bundle :func:`hsctms.io.bundle.read_bundle_contents` has just read and
    validated without error, taken as they are (the bundle's typed tables).

    The report is the one :func:`prepare` would give for them: the bundle's issues of the
    rules :func:`prepare` applies to them, with rows numbered as in
    ``frame.to_csv(index=False)`` of the cohort's tables; its warnings are issued as an
    :class:`InputWarning`. Only for a ``contents``/``cohort`` pair straight from a validated
    read (:func:`hsctms.endpoints.derive_bundle`), never for data from outside.

    Parameters
    ----------
    contents
        The bundle, read and validated with ``report.ok`` true.
    cohort
        ``contents.cohort()``.
    origin
        ``patient_id``, ``origin_date`` of the index transplant (or None), as
        :func:`~hsctms.endpoints.derive` builds it from the cohort.

    Returns
    -------
    Inputs
        The tables restricted to the columns the engine reads, and the report.
    """
    if not contents.report.ok:
        raise ConfigurationError("loaded_inputs takes a bundle without validation errors.",
                                 hint="Call hsctms.io.load_bundle to get the errors.")
    frames = {"patients": cohort.patients, "edss": cohort.edss, "relapses": cohort.relapses,
              "mri": cohort.mri, "deaths": cohort.deaths, "origin": origin}
    typed = {name: f[[c for c in USED[name] if c in f.columns]]
             for name, f in frames.items() if f is not None}
    names = {SCHEMA[n].filename: n for n in typed if n != "origin"}
    kept = [(issue, names[issue.file]) for issue in contents.report.issues
            if issue.rule in _BUNDLE_RULES and issue.file in names and issue.row is not None]
    rows = np.zeros(len(kept), dtype=np.int64)
    for name in {n for _, n in kept}:  # file line -> to_csv line, one search per table
        at = np.fromiter((k for k, (_, n) in enumerate(kept) if n == name), dtype=np.intp)
        lines = contents.tables[name][LINE].to_numpy()
        wanted = np.fromiter((kept[k][0].row for k in at), dtype=np.int64, count=at.size)
        rows[at] = np.searchsorted(lines, wanted) + 2
    # Issue(...) with the new row (what dataclasses.replace builds, at half its cost); every
    # other field kept, the patient id included
    issues: list[Issue] = [Issue(i.rule, i.severity, i.file, row, i.field, i.message,
                                 patient=i.patient, plain_message=i.plain_message)
                           for (i, _), row in zip(kept, rows.tolist(), strict=True)]
    if len(typed["edss"]) == 0:
        issues.append(_edss_empty(SCHEMA["edss"]))
    report = _checked(issues, typed, None)
    return Inputs(typed["edss"], typed.get("relapses"), typed.get("mri"), typed.get("deaths"),
                  typed.get("origin"), typed.get("patients"), detect_calendar(cohort.edss),
                  report)


def _edss_empty(vspec: TableSpec) -> Issue:
    return make_issue(
        "edss-empty", vspec.filename, None, None,
        "The edss table has no rows (edss.csv missing or header only): endpoints are "
        "derived from EDSS visits. Add the assessments, or check the file or query.")


def input_warning(report: ValidationReport) -> InputWarning:
    """The :class:`InputWarning` of a report with warnings."""
    return InputWarning(f"The endpoint inputs have {len(report.warnings)} validation "
                        "warning(s):\n" + _quote(report.warnings), report)


def _quote(issues: list[Issue]) -> str:
    lines = [i.to_line() for i in issues[:SHOWN]]
    if len(issues) > SHOWN:
        lines.append(f"... and {len(issues) - SHOWN} more (see the report).")
    return "\n".join(lines)


# -- normalised arrays ---------------------------------------------------------------------------


@dataclass
class Universe:
    """Patient identifiers (sorted) and lookup of codes."""

    ids: pd.Index

    @classmethod
    def build(cls, *sources: Iterable[Any]) -> Universe:
        """Union of identifiers from several sources, as sorted strings."""
        parts = [np.asarray(pd.Series(s).dropna().astype(str).unique(), dtype=object)
                 for s in sources]
        ids = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=object)
        return cls(pd.Index(ids, dtype="object"))

    def codes(self, ids: pd.Series) -> IntArray:
        """Codes of identifiers (-1 when not in the universe)."""
        # looked up once per distinct value (missing values too, as ``astype(str)`` writes
        # them): the same codes as looking up every row, without hashing every row's string
        fcodes, uniques = pd.factorize(ids, use_na_sentinel=False)
        keys = pd.Series(uniques, dtype=ids.dtype).astype(str)
        if len(keys) == self.n and np.array_equal(keys.to_numpy(dtype=object),
                                                  self.ids.to_numpy(dtype=object)):
            # every patient, in universe order (a table sorted by patient): the lookup of
            # distinct identifiers is the identity, so skip hashing every identifier
            look = np.arange(self.n, dtype=np.int64)
        else:
            look = self.ids.get_indexer(keys)
        return np.asarray(look, dtype=np.int64)[np.asarray(fcodes, dtype=np.intp)]

    @property
    def n(self) -> int:
        """Number of patients."""
        return len(self.ids)


def visits(edss: pd.DataFrame, uni: Universe, cal: Calendar, column: str = "edss"
           ) -> tuple[IntArray, FloatArray, FloatArray]:
    """Sorted (code, day, value) of validated visits (value column ``column``)."""
    code = uni.codes(edss["patient_id"])
    day = cal.to_days(edss["date"], "edss.date")
    value = edss[column].to_numpy(dtype=np.float64, na_value=np.nan)
    keep = code >= 0  # rows of patients outside ``patients`` (validated: none when given)
    if not keep.all():
        code, day, value = code[keep], day[keep], value[keep]
    if _in_order(code, day):  # a bundle written by patient and date: the stable order is itself
        return code, day, value.copy()  # a copy, as the sorted arrays are (never a view)
    order = np.lexsort((day, code))
    return code[order], day[order], value[order]


def _in_order(code: IntArray, day: FloatArray) -> bool:
    """Whether rows are already sorted by (code, day) with no NaN day, i.e. whether the stable
    ``np.lexsort((day, code))`` is the identity."""
    if code.size < 2:
        return not np.isnan(day).any()
    same = code[1:] == code[:-1]
    return bool(not np.isnan(day).any() and (code[1:] >= code[:-1]).all()
                and (~same | (day[1:] >= day[:-1])).all())


def dated_rows(frame: pd.DataFrame | None, name: str, date_col: str, uni: Universe,
               cal: Calendar, extra: Mapping[str, str] | None = None
               ) -> tuple[IntArray, FloatArray, dict[str, FloatArray]]:
    """Sorted (code, day, extra columns as float) of a validated patient table.

    Rows of patients outside the universe (without EDSS visits, when no ``patients`` list is
    given) are not used.
    """
    extra = dict(extra or {})
    if frame is None or len(frame) == 0:
        return (np.zeros(0, dtype=np.int64), np.zeros(0),
                {k: np.zeros(0) for k in extra})
    code = uni.codes(frame["patient_id"])
    day = cal.to_days(frame[date_col], f"{name}.{date_col}")
    cols = {k: cal.to_days(frame[c], f"{name}.{c}")
            if (frame[c].dtype.kind == "M" or getattr(frame[c].dtype, "tz", None) is not None)
            or (not cal.datetime and c.endswith("_date"))
            else pd.to_numeric(frame[c]).to_numpy(dtype=np.float64, na_value=np.nan)
            for k, c in extra.items() if c in frame.columns}
    cols.update({k: np.full(len(frame), np.nan) for k, c in extra.items()
                 if c not in frame.columns})
    keep = (code >= 0) & ~np.isnan(day)
    if keep.all() and _in_order(code, day):
        return code, day, {k: v.copy() for k, v in cols.items()}
    order = np.lexsort((day[keep], code[keep]))
    return (code[keep][order], day[keep][order],
            {k: v[keep][order] for k, v in cols.items()})


def origin_days(origin: pd.DataFrame | None, uni: Universe, cal: Calendar) -> FloatArray:
    """Origin day per patient code (NaN when the patient has no origin).

    ``origin`` is the validated origin frame of :func:`prepare` (one row per patient).
    """
    out = np.full(uni.n, np.nan)
    if origin is None:
        return out
    code = uni.codes(origin["patient_id"])
    day = cal.to_days(origin["origin_date"], "origin")
    ok = code >= 0
    out[code[ok]] = day[ok]
    return out
