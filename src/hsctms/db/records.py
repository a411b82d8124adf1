"""Record-level access to the registry for the web forms: create, read, update and delete one
row of any :data:`~hsctms.model.schema.SCHEMA` table.

Every function takes the caller's **centre scope** (``centre=None`` means all centres, for
administrators): rows of patients of another centre raise
:class:`~hsctms.errors.PermissionDeniedError` (HTTP 403), unknown rows
:class:`~hsctms.errors.NotFoundError` (404). Every change

* is validated by :func:`hsctms.io.validate_record` (the importer's rules, one
  implementation) against the patient's stored rows; failures raise
  :class:`~hsctms.errors.DataValidationError` whose ``report`` has field-level issues;
* uses optimistic locking: the caller passes the ``version`` it read; if the stored row has a
  different version a :class:`~hsctms.errors.StaleRecordError` is raised and nothing is
  written (the check is repeated atomically in the ``UPDATE ... WHERE version = ?``);
* appends one ``audit_log`` entry (who, when, action, table, natural key, old and new values)
  in the same transaction.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import sqlalchemy as sa

from hsctms.db.audit import jsonable, write_audit
from hsctms.db.engine import DatabaseLike, connect
from hsctms.db.loader import read_table
from hsctms.db.tables import TABLES, audit_log
from hsctms.db.writes import begin_write
from hsctms.errors import (
    ConfigurationError,
    DataValidationError,
    NotFoundError,
    PermissionDeniedError,
    StaleRecordError,
)
from hsctms.io import validate_record
from hsctms.io._issues import Issue, ValidationReport, make_issue
from hsctms.io._parse import parse_column
from hsctms.model.schema import SCHEMA, ColumnSpec, TableSpec

_T = TypeVar("_T")

Row = dict[str, Any]


def _spec(table: str) -> TableSpec:
    if table not in SCHEMA:
        raise NotFoundError(f"Unknown table {table!r}.", hint=f"Tables: {', '.join(SCHEMA)}.")
    return SCHEMA[table]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, _dt.datetime | pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, float) and np.isnan(value):
        return ""
    return str(value).strip()


def _typed(col: ColumnSpec, value: Any) -> Any:
    """The Python value stored in the database for one (validated) form value."""
    parsed = parse_column(col, pd.Series([_text(value)], dtype="str")).values.iat[0]
    if parsed is None or parsed is pd.NA or (not isinstance(parsed, str) and pd.isna(parsed)):
        return None
    if col.type == "date":
        return pd.Timestamp(parsed).date()
    if col.type == "int":
        return int(parsed)
    if col.type in ("float", "edss"):
        return float(parsed)
    if col.type == "bool":
        return bool(parsed)
    return str(parsed)


def data_version(conn: sa.Connection, centre: str | None = None) -> int:
    """A number that changes whenever registry data change: the newest non-export audit
    entry; used to cache derived analyses and invalidate them on writes.

    With ``centre``: the newest entry that names that centre or is an import (imports may
    touch any centre), so a save at one centre leaves the other centres' cached dashboards
    valid.
    """
    a = audit_log
    if centre is None:
        value = conn.execute(sa.select(sa.func.max(a.c.id)).where(a.c.action != "export")
                             ).scalar()
        return int(value or 0)
    names = sa.cast(a.c.detail, sa.Text).contains(f'"centre": "{centre}"', autoescape=True)
    value = conn.execute(sa.select(a.c.id).where(a.c.action != "export",
                                                 sa.or_(a.c.action == "import", names))
                         .order_by(a.c.id.desc()).limit(1)).scalar()
    return int(value or 0)


def patient_centre(conn: sa.Connection, patient_id: str) -> str | None:
    """The centre of a patient (None if the patient does not exist)."""
    t = TABLES["patients"]
    value = conn.execute(sa.select(t.c.centre).where(t.c.patient_id == patient_id)).scalar()
    return None if value is None else str(value)


def centres(conn: sa.Connection) -> list[str]:
    """The centre codes that have patients, sorted.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Open connection to the registry.

    Returns
    -------
    list of str
        Distinct ``patients.centre`` values.
    """
    t = TABLES["patients"]
    return [str(r[0]) for r in conn.execute(sa.select(t.c.centre).distinct()
                                            .order_by(t.c.centre))]


def _check_scope(centre_of_row: str | None, scope: str | None, what: str) -> None:
    if centre_of_row is None:
        raise NotFoundError(f"{what} not found.", hint="Check the identifier.")
    if scope is not None and centre_of_row != scope:
        raise PermissionDeniedError(
            f"{what} belongs to another centre; you may only open centre {scope!r}.",
            hint="Ask that centre, or a registry administrator, for access.")


#: Sort keys of :func:`list_patients` (``issues``: errors, then warnings, then notes).
PATIENT_SORTS: tuple[str, ...] = ("patient_id", "centre", "phenotype", "birth_year",
                                  "transplant_date", "last_visit", "issues")
#: Data-quality filters of :func:`list_patients`: ``flagged`` = any error or warning.
QUALITY_FILTERS: tuple[str, ...] = ("ok", "flagged", "errors", "warnings")


@dataclass(frozen=True)
class PatientQuery:
    """Search, filters and sort order of the patient list.

    Parameters
    ----------
    search : str, optional
        Part of the patient identifier.
    centre : str, optional
        Only this centre (within the caller's scope).
    phenotype : str, optional
        Only this MS phenotype (``RRMS``, ...).
    quality : str, optional
        One of :data:`QUALITY_FILTERS`: ``ok`` (no error or warning), ``flagged`` (at least
        one), ``errors``, ``warnings``.
    sort : str, default "patient_id"
        One of :data:`PATIENT_SORTS`.
    descending : bool, default False
        Reverse the order.
    """

    search: str | None = None
    centre: str | None = None
    phenotype: str | None = None
    quality: str | None = None
    sort: str = "patient_id"
    descending: bool = False

    def __post_init__(self) -> None:
        if self.sort not in PATIENT_SORTS:
            raise DataValidationError(f"Cannot sort patients by {self.sort!r}.",
                                      hint=f"Sort by one of {', '.join(PATIENT_SORTS)}.")
        if self.quality not in (None, *QUALITY_FILTERS):
            raise DataValidationError(f"Unknown data-quality filter {self.quality!r}.",
                                      hint=f"Use one of {', '.join(QUALITY_FILTERS)}.")


def _quality_match(counts: Mapping[str, int], quality: str) -> bool:
    errors, warnings = counts["errors"], counts["warnings"]
    return {"ok": errors + warnings == 0, "flagged": errors + warnings > 0,
            "errors": errors > 0, "warnings": warnings > 0}[quality]


def list_patients(conn: sa.Connection, centre: str | None = None, *, search: str | None = None,
                  query: PatientQuery | None = None, limit: int = 100, offset: int = 0
                  ) -> tuple[list[Row], int]:
    """Patients (of ``centre`` when given) with their index transplant date, number of EDSS
    visits, last EDSS visit and data-quality counts; returns ``(rows, total)``.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Open connection to the registry.
    centre : str, optional
        The caller's centre scope (None = all centres).
    search : str, optional
        Part of the patient identifier (the same as ``query.search``; kept for callers that
        only search).
    query : PatientQuery, optional
        Search, filters and sort order.
    limit, offset : int
        The page.

    Returns
    -------
    rows : list of dict
        ``id``, ``patient_id``, ``centre``, ``sex``, ``birth_year``, ``phenotype``,
        ``transplant_date``, ``edss_visits``, ``last_visit`` and ``quality`` (the counts of
        :func:`patient_issue_counts` plus ``status``: ``ok``, ``warnings`` or ``errors``).
    total : int
        Number of patients matching the filters.
    """
    q = query or PatientQuery(search=search)
    text = q.search if q.search is not None else search
    p, tx, ed = TABLES["patients"], TABLES["transplants"], TABLES["edss"]
    where: list[Any] = []
    if centre is not None:
        where.append(p.c.centre == centre)
    if q.centre:
        where.append(p.c.centre == q.centre)
    if q.phenotype:
        where.append(p.c.phenotype == q.phenotype)
    if text and text.strip():
        where.append(p.c.patient_id.contains(text.strip(), autoescape=True))
    first_tx = (sa.select(sa.func.min(tx.c.transplant_date)).where(tx.c.patient_id ==
                p.c.patient_id).scalar_subquery())
    visits = (sa.select(sa.func.count()).where(ed.c.patient_id == p.c.patient_id)
              .scalar_subquery())
    last = (sa.select(sa.func.max(ed.c.date)).where(ed.c.patient_id == p.c.patient_id)
            .scalar_subquery())
    columns = {"patient_id": p.c.patient_id, "centre": p.c.centre, "phenotype": p.c.phenotype,
               "birth_year": p.c.birth_year, "transplant_date": first_tx, "last_visit": last}
    select = sa.select(p.c.id, p.c.patient_id, p.c.centre, p.c.sex, p.c.birth_year,
                       p.c.phenotype, first_tx.label("transplant_date"),
                       visits.label("edss_visits"), last.label("last_visit")).where(*where)
    in_python = q.quality is not None or q.sort == "issues"
    if not in_python:
        total = conn.execute(sa.select(sa.func.count()).select_from(p).where(*where)
                             ).scalar_one()
        order = columns[q.sort]
        order = order.desc() if q.descending else order.asc()
        select = (select.order_by(order.nulls_last(), p.c.patient_id)
                  .limit(limit).offset(offset))
    rows = [{k: jsonable(v) for k, v in r._mapping.items()} for r in conn.execute(select)]
    counts = patient_issue_counts(conn, centre, patient_ids=None if in_python else
                                  [r["patient_id"] for r in rows])
    for r in rows:
        c = counts.get(r["patient_id"], {"errors": 0, "warnings": 0, "infos": 0})
        status = "errors" if c["errors"] else "warnings" if c["warnings"] else "ok"
        r["quality"] = {**c, "status": status}
    if in_python:
        if q.quality is not None:
            rows = [r for r in rows if _quality_match(r["quality"], q.quality)]
        rows.sort(key=lambda r: r["patient_id"])
        if q.sort == "issues":
            rows.sort(key=lambda r: (r["quality"]["errors"], r["quality"]["warnings"],
                                     r["quality"]["infos"]), reverse=not q.descending)
        else:
            present = [r for r in rows if r[q.sort] is not None]
            present.sort(key=lambda r: r[q.sort], reverse=q.descending)
            rows = present + [r for r in rows if r[q.sort] is None]
        total = len(rows)
        rows = rows[offset:offset + limit]
    return rows, int(total)


def _issues_by_patient(conn: sa.Connection, centre: str | None, ids: list[str] | None
                       ) -> dict[str, list[Issue]]:
    """The importer's issues of the stored rows (as :func:`hsctms.io.validate_cohort` reports
    them for an export of these patients), by patient; whole-file issues are left out."""
    from hsctms.db.loader import registry_status
    from hsctms.io import validate_cohort
    from hsctms.model.cohort import Cohort

    tables = {name: read_table(conn, name, centre=centre, patient_ids=ids) for name in SCHEMA}
    synthetic, data_date = registry_status(conn)
    cohort = Cohort(tables=tables, synthetic=synthetic, data_date=data_date)
    out: dict[str, list[Issue]] = {}
    for issue in validate_cohort(cohort):
        if issue.row is None:
            continue
        frame = cohort.table(issue.file.removesuffix(".csv"))
        index = issue.row - 2
        if 0 <= index < len(frame):
            out.setdefault(str(frame["patient_id"].iat[index]), []).append(issue)
    return out


def patient_issues(conn: sa.Connection, patient_id: str, centre: str | None = None
                   ) -> list[Issue]:
    """The importer's issues about one patient's stored rows (the detail behind
    :func:`patient_issue_counts`), in report order (table, line, field).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Open connection to the registry.
    patient_id : str
        The patient.
    centre : str, optional
        The caller's centre scope (None = any centre).

    Returns
    -------
    list of Issue
        ``file`` names the table, ``field`` the column; ``row`` is the line the row would
        have in an export of this patient alone. Cached until the centre's data change
        (:func:`data_version`) or the day changes.

    Raises
    ------
    NotFoundError, PermissionDeniedError
        Unknown patient, or a patient of another centre.
    """
    own = patient_centre(conn, patient_id)
    _check_scope(own, centre, f"Patient {patient_id!r}")
    key = (str(conn.engine.url), f"patient:{patient_id}", data_version(conn, own),
           _dt.date.today().isoformat())
    with _QUALITY_LOCK:
        cached = _ISSUES_CACHE.get(key)
    if cached is not None:
        return list(cached)
    issues = sorted(_issues_by_patient(conn, None, [patient_id]).get(patient_id, []),
                    key=lambda i: i.sort_key())
    with _QUALITY_LOCK:
        if len(_ISSUES_CACHE) >= 512:
            _ISSUES_CACHE.clear()
        _ISSUES_CACHE[key] = tuple(issues)
    return issues


_QUALITY_CACHE: dict[tuple[str, str | None, int, str], dict[str, dict[str, int]]] = {}
_ISSUES_CACHE: dict[tuple[str, str | None, int, str], tuple[Issue, ...]] = {}
_QUALITY_LOCK = threading.Lock()


def patient_issue_counts(conn: sa.Connection, centre: str | None = None, *,
                         patient_ids: Iterable[str] | None = None
                         ) -> dict[str, dict[str, int]]:
    """Data-quality flags: the number of validation issues per patient, by severity.

    The stored rows are checked with the importer's rules (:func:`hsctms.io.validate_cohort`,
    as if the patients were exported and read back), so the counts are what ``hsctms
    validate`` reports for them; a rule that depends on today's date (a visit in the future)
    can flag a row that was valid when it was saved. The counts of a whole scope are cached
    until its data change (:func:`data_version`) or the day changes.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Open connection to the registry.
    centre : str, optional
        The caller's centre scope (None = all centres).
    patient_ids : iterable of str, optional
        Only these patients (default: every patient of the scope).

    Returns
    -------
    dict
        Patient id -> ``{"errors": n, "warnings": n, "infos": n}``; patients without issues
        are absent.

    Examples
    --------
    >>> from hsctms.db import connect, upgrade
    >>> engine = connect("sqlite://")
    >>> _ = upgrade(engine)
    >>> with engine.connect() as conn:
    ...     patient_issue_counts(conn)
    {}
    """
    ids = None if patient_ids is None else sorted(set(patient_ids))
    key = None
    if ids is None:
        key = (str(conn.engine.url), centre, data_version(conn, centre),
               _dt.date.today().isoformat())
        with _QUALITY_LOCK:
            if key in _QUALITY_CACHE:
                return _QUALITY_CACHE[key]
    elif not ids:
        return {}
    out: dict[str, dict[str, int]] = {}
    for pid, issues in _issues_by_patient(conn, centre, ids).items():
        counts = out.setdefault(pid, {"errors": 0, "warnings": 0, "infos": 0})
        for issue in issues:
            counts[{"error": "errors", "warning": "warnings"}.get(issue.severity,
                                                                  "infos")] += 1
    if key is not None:
        with _QUALITY_LOCK:
            if len(_QUALITY_CACHE) >= 16:
                _QUALITY_CACHE.clear()
            _QUALITY_CACHE[key] = out
    return out


def patient_record(conn: sa.Connection, patient_id: str, centre: str | None = None
                   ) -> dict[str, list[Row]]:
    """All rows of one patient, table by table (with ``id`` and ``version``)."""
    _check_scope(patient_centre(conn, patient_id), centre, f"Patient {patient_id!r}")
    out: dict[str, list[Row]] = {}
    for name in SCHEMA:
        frame = read_table(conn, name, patient_ids=[patient_id], bookkeeping=True)
        out[name] = [{k: jsonable(v) for k, v in row.items()}
                     for row in frame.to_dict(orient="records")]
    return out


def get_row(conn: sa.Connection, table: str, row_id: int, centre: str | None = None) -> Row:
    """One row by surrogate id (with ``id``, ``version`` and the patient's ``centre``)."""
    spec = _spec(table)
    t = TABLES[table]
    row = conn.execute(sa.select(t).where(t.c.id == row_id)).first()
    if row is None:
        raise NotFoundError(f"No {table} record {row_id}.",
                            hint="It may have been deleted; reload the patient page.")
    values = dict(row._mapping)
    _check_scope(patient_centre(conn, str(values["patient_id"])), centre,
                 f"{table} record {row_id}")
    out = {c.name: jsonable(values[c.name]) for c in spec.columns}
    out["id"] = int(values["id"])
    out["version"] = int(values["version"])
    return out


def _context(conn: sa.Connection, patient_id: str) -> dict[str, pd.DataFrame]:
    return {name: read_table(conn, name, patient_ids=[patient_id]) for name in SCHEMA}


def _validate(conn: sa.Connection, spec: TableSpec, values: Mapping[str, Any],
              replaces: Mapping[str, Any] | None = None) -> Row:
    unknown = [k for k in values if not spec.has_column(k)]
    if unknown:
        report = ValidationReport(
            [make_issue("column-unknown", spec.filename, None, k,
                        f"Field {k!r} is not part of {spec.name}.") for k in unknown],
            source=f"{spec.name} record")
        raise DataValidationError(f"Unknown field(s) for {spec.name}: {', '.join(unknown)}.",
                                  report=report, hint="Send only the table's columns.")
    pid = _text(values.get("patient_id"))
    context = _context(conn, pid) if pid else None
    report = validate_record(spec.name, {k: _text(v) for k, v in values.items()}, context,
                             replaces=replaces)
    if report.errors:
        fields = sorted({i.field or "record" for i in report.errors})
        raise DataValidationError(
            f"The {spec.name} record is not valid ({len(report.errors)} problem(s) in "
            f"{', '.join(fields)}).", report=report,
            hint="Correct the fields marked and submit again.")
    return {c.name: _typed(c, values.get(c.name)) for c in spec.columns}


def record_warnings(conn: sa.Connection, table: str, row_id: int, centre: str | None = None
                    ) -> list[Issue]:
    """The importer's warnings and notes about one stored row, against the patient's other
    rows (e.g. ``edss-near-relapse``: an EDSS visit 0-30 days after a relapse onset).

    Shown to the user right after they saved the row; the rules are those of
    :func:`hsctms.io.validate_record` (one implementation).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Open connection to the registry.
    table : str
        Schema table name.
    row_id : int
        The row's surrogate id.
    centre : str, optional
        The caller's centre scope (None = any centre).

    Returns
    -------
    list of Issue
        Issues of severity ``warning`` or ``info`` (errors cannot be stored), field-level.

    Raises
    ------
    NotFoundError, PermissionDeniedError
        Unknown row, or a row of another centre's patient.
    """
    spec = _spec(table)
    row = get_row(conn, table, row_id, centre)
    values = {c.name: _text(row[c.name]) for c in spec.columns}
    report = validate_record(spec.name, values, _context(conn, values["patient_id"]),
                             replaces=_key(spec, row))
    return [i for i in report if i.severity != "error"]


def _fingerprint(conn: sa.Connection, patient_id: str) -> frozenset[tuple[Any, ...]]:
    """A cheap fingerprint of everything stored for one patient, in one query: per table the
    row count, the largest id and the sum of versions (an insert, update or delete changes
    it)."""
    parts = [sa.select(sa.literal(name).label("t"), sa.func.count().label("n"),
                       sa.func.max(TABLES[name].c.id).label("m"),
                       sa.func.coalesce(sa.func.sum(TABLES[name].c.version), 0).label("v"))
             .where(TABLES[name].c.patient_id == patient_id) for name in SCHEMA]
    return frozenset(tuple(row) for row in conn.execute(sa.union_all(*parts)))


def _prevalidated(engine: sa.Engine, patient_id: str | None,
                  check: Callable[[sa.Connection], _T]) -> tuple[_T, Any] | None:
    """Run ``check`` (scope checks and validation against the stored rows) in a plain read
    transaction, before the write lock is taken, so that concurrent savers do not queue
    behind each other's validation. Returns the typed row and the patient's fingerprint, which
    the write transaction compares: unchanged, the result stands; changed (someone saved
    for the same patient in between), the write validates again under the lock. Errors are
    raised at once (nothing was written)."""
    if not patient_id:
        return None
    with engine.connect() as conn:
        fingerprint = _fingerprint(conn, patient_id)  # before the rows it vouches for
        typed = check(conn)
    return typed, fingerprint


def _still_valid(conn: sa.Connection, patient_id: str | None,
                 pre: tuple[_T, Any] | None) -> _T | None:
    if pre is None or not patient_id or _fingerprint(conn, patient_id) != pre[1]:
        return None
    return pre[0]


#: Longest reason for change kept in the audit trail (characters).
MAX_REASON = 500


def reason_for_change(reason: object, *, required: bool = True) -> str | None:
    """The reason for a change or deletion as it is kept in the audit trail.

    Edits and deletions made in the web forms must say why (REDCap and 21 CFR Part 11 style
    audit trails expect one); the first entry of a record needs none.

    Parameters
    ----------
    reason : object
        The submitted text (None or blank when not given).
    required : bool, default True
        Refuse a missing reason.

    Returns
    -------
    str or None
        The text with surrounding and repeated white space removed; None when blank and not
        required.

    Raises
    ------
    DataValidationError
        When the reason is required and blank, or longer than :data:`MAX_REASON` characters
        (the report's issue names the field ``reason``).

    Examples
    --------
    >>> reason_for_change("  typo in   the date ")
    'typo in the date'
    >>> reason_for_change("", required=False) is None
    True
    """
    text = " ".join(str(reason or "").split())
    problem = None
    if not text and required:
        problem = "Say why you change this record (e.g. 'transcription error')."
    elif len(text) > MAX_REASON:
        problem = f"The reason is {len(text)} characters long; at most {MAX_REASON}."
    if problem is not None:
        report = ValidationReport([make_issue("value-missing" if not text else "value-text-invalid",
                                              "audit", None, "reason", problem)],
                                  source="reason for change")
        raise DataValidationError(problem, report=report,
                                  hint="Write a short reason for change and save again.")
    return text or None


def _reason_detail(reason: str | None) -> dict[str, str]:
    return {"reason": reason} if reason else {}


def _key(spec: TableSpec, row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in spec.key}


def create_record(db: DatabaseLike, user: str, table: str, values: Mapping[str, Any], *,
                  centre: str | None = None) -> Row:
    """Insert one row after validation; returns it with ``id`` and ``version``.

    Parameters
    ----------
    db
        Database (path, URL or engine).
    user
        Username written to the audit trail.
    table
        Table name.
    values
        Column -> value (strings as in the CSV files, or typed values).
    centre
        The caller's centre scope: new patients must belong to it and child rows must belong
        to one of its patients (None = any centre).
    """
    spec = _spec(table)
    engine = connect(db)
    pid = _text(values.get("patient_id"))

    def checked(conn: sa.Connection) -> Row:
        if table == "patients":
            if centre is not None and _text(values.get("centre")) != centre:
                raise PermissionDeniedError(
                    f"You may only register patients of centre {centre!r}.",
                    hint=f"Set the centre to {centre}.")
        elif pid:
            _check_scope(patient_centre(conn, pid), centre, f"Patient {pid!r}")
        return _validate(conn, spec, values)

    pre = _prevalidated(engine, pid, checked)
    with begin_write(engine) as conn:
        kept = _still_valid(conn, pid, pre)
        typed = kept if kept is not None else checked(conn)
        t = TABLES[table]
        exists = conn.execute(sa.select(t.c.id).where(
            *[t.c[k] == typed[k] for k in spec.key])).first()
        if exists is not None:
            report = ValidationReport(
                [make_issue("key-duplicate", spec.filename, None, spec.key[-1],
                            f"A {spec.name} record with this key already exists.")],
                source=f"{spec.name} record")
            raise DataValidationError(f"Duplicate {spec.name} record.", report=report,
                                      hint="Edit the existing record instead.")
        new_id = conn.execute(t.insert().values(**typed).returning(t.c.id)).scalar_one()
        write_audit(conn, user=user, action="insert", table_name=table,
                    key=_key(spec, typed), new=typed,
                    detail={"centre": patient_centre(conn, str(typed["patient_id"])),
                            "id": int(new_id)})
        return get_row(conn, table, int(new_id))


def update_record(db: DatabaseLike, user: str, table: str, row_id: int,
                  values: Mapping[str, Any], version: int, *,
                  centre: str | None = None, reason: str | None = None) -> Row:
    """Update one row if it still has ``version`` (optimistic locking).

    ``values`` may be partial: missing columns keep their stored value. Raises
    :class:`StaleRecordError` when someone changed the row since it was read. ``reason``
    (the reason for change, see :func:`reason_for_change`) is kept in the audit entry's
    details, inside the hash chain.
    """
    spec = _spec(table)
    engine = connect(db)
    why = reason_for_change(reason, required=False)

    def checked(conn: sa.Connection) -> tuple[Row, Row]:
        old = get_row(conn, table, row_id, centre)
        if int(version) != old["version"]:
            raise StaleRecordError(
                f"The {table} record was changed by someone else (version {old['version']}, "
                f"your form had version {version}); nothing was saved.",
                hint="Reload the record, re-apply your change and save again.")
        merged = {c.name: old[c.name] for c in spec.columns}
        merged.update(values)
        if table == "patients":
            if _text(merged["patient_id"]) != old["patient_id"]:
                raise ConfigurationError("A patient's identifier cannot be changed.",
                                         hint="Register a new patient instead.")
            if centre is not None and _text(merged["centre"]) != centre:
                raise PermissionDeniedError("You may not move a patient to another centre.",
                                            hint="Ask a registry administrator.")
        elif _text(merged["patient_id"]) != old["patient_id"]:
            raise ConfigurationError("A record cannot be moved to another patient.",
                                     hint="Delete it and enter it for the right patient.")
        return old, _validate(conn, spec, merged, replaces=_key(spec, old))

    with engine.connect() as conn:
        pid = get_row(conn, table, row_id, centre)["patient_id"]
    pre = _prevalidated(engine, str(pid), checked)
    with begin_write(engine) as conn:
        kept = _still_valid(conn, str(pid), pre)
        old, typed = kept if kept is not None else checked(conn)
        t = TABLES[table]
        done = conn.execute(
            t.update().where(t.c.id == row_id, t.c.version == int(version))
            .values(**typed, version=t.c.version + 1, updated_at=sa.func.now())).rowcount
        if done != 1:  # changed between our read and write
            raise StaleRecordError(f"The {table} record was changed by someone else; "
                                   "nothing was saved.", hint="Reload and try again.")
        changed = {k for k in typed if jsonable(typed[k]) != old[k]}
        write_audit(conn, user=user, action="update", table_name=table,
                    key=_key(spec, old), old={k: old[k] for k in sorted(changed)},
                    new={k: typed[k] for k in sorted(changed)},
                    detail={"centre": patient_centre(conn, old["patient_id"]), "id": row_id,
                            "version": int(version) + 1, **_reason_detail(why)})
        return get_row(conn, table, row_id)


def delete_record(db: DatabaseLike, user: str, table: str, row_id: int, version: int, *,
                  centre: str | None = None, reason: str | None = None) -> None:
    """Delete one row if it still has ``version``; a patient with records cannot be deleted.
    ``reason`` (the reason for the deletion) is kept in the audit entry's details."""
    spec = _spec(table)
    engine = connect(db)
    why = reason_for_change(reason, required=False)
    with begin_write(engine) as conn:
        old = get_row(conn, table, row_id, centre)
        old_centre = patient_centre(conn, old["patient_id"])
        if int(version) != old["version"]:
            raise StaleRecordError(
                f"The {table} record was changed by someone else (version {old['version']}); "
                "nothing was deleted.", hint="Reload the record and decide again.")
        if table == "patients":
            pid = old["patient_id"]
            for child in SCHEMA:
                if child == "patients":
                    continue
                c = TABLES[child]
                if conn.execute(sa.select(c.c.id).where(c.c.patient_id == pid)).first():
                    raise DataValidationError(
                        f"Patient {pid!r} still has {child} records; nothing was deleted.",
                        hint="Delete the patient's records first.")
        t = TABLES[table]
        done = conn.execute(t.delete().where(t.c.id == row_id,
                                             t.c.version == int(version))).rowcount
        if done != 1:
            raise StaleRecordError(f"The {table} record changed meanwhile; nothing was deleted.",
                                   hint="Reload and try again.")
        write_audit(conn, user=user, action="delete", table_name=table,
                    key=_key(spec, old), old={c.name: old[c.name] for c in spec.columns},
                    detail={"centre": old_centre, "id": row_id, "version": int(version),
                            **_reason_detail(why)})


def audit_entries(conn: sa.Connection, centre: str | None = None, *, limit: int = 200,
                  offset: int = 0) -> list[Row]:
    """Audit trail, newest first. With ``centre``: the entries whose details name that centre
    (every web change and every export of that centre records it). Each entry also has
    ``reason`` (the reason for change, if any), ``table_label`` and ``changes`` (column
    label with unit, old and new value, from the schema)."""
    a = audit_log
    query = sa.select(a).order_by(a.c.id.desc())
    if centre is not None:
        query = query.where(sa.cast(a.c.detail, sa.Text).contains(
            f'"centre": "{centre}"', autoescape=True))
    rows = conn.execute(query.limit(limit).offset(offset)).all()
    return [{"id": r.id, "at": jsonable(r.at), "user": r.user_name, "action": r.action,
             "table": r.table_name, "key": r.record_key, "old": r.old, "new": r.new,
             "detail": r.detail,
             "reason": r.detail.get("reason") if isinstance(r.detail, dict) else None,
             "table_label": SCHEMA[r.table_name].label if r.table_name in SCHEMA else None,
             "changes": _labelled_changes(r.table_name, r.old, r.new)}
            for r in rows]


def _labelled_changes(table: str | None, old: Any, new: Any) -> list[Row]:
    """Column label, old and new value of each column an audit entry records (schema
    labels; columns not in the schema keep their name)."""
    spec = SCHEMA.get(table or "")
    before = old if isinstance(old, dict) else {}
    after = new if isinstance(new, dict) else {}
    names = [*before, *(k for k in after if k not in before)]
    if spec is not None:
        order = {c: i for i, c in enumerate(spec.column_names)}
        names.sort(key=lambda k: order.get(k, len(order)))
    return [{"column": k,
             "label": spec.column(k).label_with_unit if spec and spec.has_column(k) else k,
             "old": before.get(k), "new": after.get(k)} for k in names]
