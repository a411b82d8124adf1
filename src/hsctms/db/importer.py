"""Validated, all-or-nothing, idempotent import of a CSV bundle into the registry database.

1. The bundle is read and validated (:mod:`hsctms.io`); any error raises
   :class:`~hsctms.errors.DataValidationError` before the database is even opened.
2. In ONE transaction, every bundle row is compared with the stored row of the same natural
   key: new rows are inserted, identical rows are counted as unchanged, rows whose values
   differ are conflicts. In ``mode="insert"`` (default) any conflict raises
   :class:`BundleConflictError` listing them and nothing is written; ``mode="update"``
   overwrites them (``version`` + 1) with one audit entry per row.
3. The import is recorded in ``imports`` and in one ``audit_log`` entry. Any exception before
   the commit (including a crash mid-way) rolls everything back.

Columns absent from a bundle file are "not provided": they are not compared or updated (and
are stored as blank for new rows). Stored rows that the bundle does not mention are left
alone; an import never deletes.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa

from hsctms._provenance import Provenance
from hsctms.db.audit import jsonable, write_audit, write_audit_many
from hsctms.db.engine import (
    DatabaseLike,
    check_current,
    connect,
    current_revision,
    display_url,
    upgrade_in,
)
from hsctms.db.loader import read_table
from hsctms.db.tables import TABLES, imports
from hsctms.db.writes import begin_write, storage_error, storage_full
from hsctms.errors import (
    ConfigurationError,
    DataValidationError,
    ImportConflictError,
    PermissionDeniedError,
    RegistryBusyError,
    StorageFullError,
)
from hsctms.io._issues import ValidationReport
from hsctms.io._parse import LINE
from hsctms.io.bundle import (
    FORMAT_VERSION,
    BundleContents,
    bundle_checksum,
    read_bundle_contents,
)
from hsctms.io.csvtext import CsvDialect
from hsctms.model.regimens import RegimenMap
from hsctms.model.schema import SCHEMA, TableSpec

ImportMode = Literal["insert", "update"]
#: Progress callback: (stage, done, total). Stages: "compare", then one per table written.
Progress = Callable[[str, int, int], None]

_CHUNK = 100_000


@dataclass(frozen=True)
class TableCounts:
    """Rows of one table: newly inserted, updated (mode="update") and already stored.

    Parameters
    ----------
    inserted : int, default 0
        Bundle rows whose natural key was not stored yet and were inserted.
    updated : int, default 0
        Stored rows overwritten with different bundle values (only in ``mode="update"``;
        always 0 in ``mode="insert"``, where such rows are conflicts).
    unchanged : int, default 0
        Bundle rows already stored with the same values in every column the bundle provides.
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def to_dict(self) -> dict[str, int]:
        """JSON-serialisable form.

        Returns
        -------
        dict of str to int
            ``{"inserted": ..., "updated": ..., "unchanged": ...}`` row counts.
        """
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged}


@dataclass(frozen=True)
class Conflict:
    """A bundle value that differs from the stored value under the same natural key.

    One conflict is one column of one row: a row that differs in three columns gives three.

    Parameters
    ----------
    table : str
        Schema table name (e.g. ``"edss"``, ``"transplants"``).
    key : dict of str to Any
        The row's natural key, column name to value (e.g. ``{"patient_id": "P001",
        "date": date(2020, 1, 5)}``).
    column : str
        The column whose values differ.
    stored : Any
        Value in the registry database (None when blank).
    incoming : Any
        Value in the bundle (None when blank).
    """

    table: str
    key: dict[str, Any]
    column: str
    stored: Any
    incoming: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict of str to Any
            ``table``, ``key``, ``column``, ``stored`` and ``incoming``, with dates as ISO
            strings and missing values as None.
        """
        return {"table": self.table, "key": {k: jsonable(v) for k, v in self.key.items()},
                "column": self.column, "stored": jsonable(self.stored),
                "incoming": jsonable(self.incoming)}

    def __str__(self) -> str:
        key = ", ".join(f"{k}={jsonable(v)}" for k, v in self.key.items())
        return (f"{self.table} ({key}): {self.column} stored {jsonable(self.stored)!r}, "
                f"bundle {jsonable(self.incoming)!r}")


class BundleConflictError(ImportConflictError):
    """The bundle would change stored rows; ``conflicts`` lists every differing value.

    The message counts the differing rows, names their tables and shows the first ten
    conflicts; nothing was imported.

    Parameters
    ----------
    conflicts : list of Conflict
        Every differing value (one per row and column), kept as ``.conflicts``.
    hint : str, optional
        How to fix it (shown after the message).
    """

    def __init__(self, conflicts: list[Conflict], *, hint: str | None = None) -> None:
        tables = sorted({c.table for c in conflicts})
        rows = len({(c.table, tuple(c.key.values())) for c in conflicts})
        shown = "; ".join(str(c) for c in conflicts[:10])
        more = f"; ... and {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
        super().__init__(
            f"{rows} row(s) in {', '.join(tables)} already stored with different values: "
            f"{shown}{more}. Nothing was imported.",
            hint=hint,
        )
        self.conflicts = conflicts

    def to_dict(self) -> dict[str, Any]:
        """Canonical error shape of :meth:`HsctmsError.to_dict` plus the conflicts.

        Returns
        -------
        dict of str to Any
            ``error``, ``message``, ``hint`` and ``conflicts`` (a list of
            :meth:`Conflict.to_dict` mappings, every conflict, not only the ten in the message).
        """
        out = super().to_dict()
        out["conflicts"] = [c.to_dict() for c in self.conflicts]
        return out


@dataclass(frozen=True)
class ImportResult:
    """Outcome of :func:`import_bundle`.

    Parameters
    ----------
    source : str
        How the bundle is named: the ``source`` given to :func:`import_bundle`, else the
        bundle path as given.
    database : str
        The registry, as shown to users (:func:`~hsctms.db.display_url`: no password).
    checksum : str
        Checksum of the bundle files (:func:`hsctms.io.bundle.bundle_checksum`), also stored
        in the ``imports`` table; the same bundle gives the same checksum.
    mode : str
        ``"insert"`` or ``"update"``.
    user : str
        Who imported (recorded in ``imports`` and ``audit_log``).
    counts : dict of str to TableCounts
        Rows inserted, updated and unchanged, per schema table (every table, in schema
        order).
    report : ValidationReport
        The bundle's validation report (no errors; warnings and infos may be present).
    import_id : int
        Id of the row written to the ``imports`` table.
    seconds : float
        Wall-clock time of the whole import (reading, validating, writing), in seconds.
    synthetic : bool
        True when the bundle manifest (``bundle.json``) declares synthetic demo data; False
        without a manifest.
    data_date : datetime.date or None
        Data extraction date from the bundle manifest, if any.
    provenance : Provenance, optional
        How the result was made (method ``"import_bundle"``, mode, checksum, number of rows).
    """

    source: str
    database: str
    checksum: str
    mode: str
    user: str
    counts: dict[str, TableCounts]
    report: ValidationReport
    import_id: int
    seconds: float
    synthetic: bool
    data_date: _dt.date | None
    provenance: Provenance = field(repr=False, default_factory=lambda: Provenance("import"))

    @property
    def inserted(self) -> int:
        """Rows inserted, all tables."""
        return sum(c.inserted for c in self.counts.values())

    @property
    def updated(self) -> int:
        """Rows updated, all tables."""
        return sum(c.updated for c in self.counts.values())

    @property
    def unchanged(self) -> int:
        """Rows already stored with the same values, all tables."""
        return sum(c.unchanged for c in self.counts.values())

    @property
    def changed_anything(self) -> bool:
        """False when the import was a no-op (e.g. the same bundle imported again)."""
        return bool(self.inserted or self.updated)

    @property
    def summary(self) -> str:
        """Human-readable summary."""
        label = " (SYNTHETIC data)" if self.synthetic else ""
        if not self.changed_anything:
            head = f"Import #{self.import_id}: unchanged: all {self.unchanged} row(s) were " \
                   "already stored"
        else:
            head = (f"Import #{self.import_id}: {self.inserted} row(s) inserted, "
                    f"{self.updated} updated, {self.unchanged} unchanged")
        per = ", ".join(f"{n} +{c.inserted}/~{c.updated}/={c.unchanged}"
                        for n, c in self.counts.items() if c.inserted or c.updated or
                        c.unchanged)
        warn = f"; {len(self.report.warnings)} warning(s)" if self.report.warnings else ""
        if self.report.infos:
            warn += (f"; {len(self.report.infos)} info flag(s) (hsctms validate "
                     "--min-severity info lists them)")
        return (f"{head}{label} from {self.source} into {self.database} in "
                f"{self.seconds:.1f} s [{per}]{warn}.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the CLI's ``--json`` output and the web API's answer).

        Returns
        -------
        dict of str to Any
            Every field, plus ``status`` (``"changed"`` or ``"unchanged"``) and ``totals``
            (rows inserted, updated and unchanged over all tables); ``validation`` holds the
            report, ``seconds`` is rounded to milliseconds and ``data_date`` is an ISO string.
        """
        return {
            "import_id": self.import_id,
            "source": self.source,
            "database": self.database,
            "checksum": self.checksum,
            "mode": self.mode,
            "user": self.user,
            "status": "changed" if self.changed_anything else "unchanged",
            "counts": {n: c.to_dict() for n, c in self.counts.items()},
            "totals": {"inserted": self.inserted, "updated": self.updated,
                       "unchanged": self.unchanged},
            "synthetic": self.synthetic,
            "data_date": self.data_date.isoformat() if self.data_date else None,
            "seconds": round(self.seconds, 3),
            "validation": self.report.to_dict(),
            "provenance": self.provenance.to_dict(),
        }


# -- comparison ------------------------------------------------------------------------------


@dataclass
class _Plan:
    spec: TableSpec
    present: tuple[str, ...]
    new: pd.DataFrame
    changed: pd.DataFrame  # incoming values + "__id" + "__version" of the stored row
    changed_cols: list[list[str]]
    stored_changed: pd.DataFrame
    unchanged: int


def _same(a: pd.Series, b: pd.Series) -> npt.NDArray[np.bool_]:
    an = np.asarray(a.isna(), dtype=bool)
    bn = np.asarray(b.isna(), dtype=bool)
    eq = np.asarray((a == b).fillna(False), dtype=bool) if len(a) else np.zeros(0, dtype=bool)
    return np.asarray((an & bn) | (~an & ~bn & eq), dtype=bool)


def _plan_table(conn: sa.Connection, spec: TableSpec, incoming: pd.DataFrame,
                present: tuple[str, ...]) -> _Plan:
    key = list(spec.key)
    table = TABLES[spec.name]
    empty = conn.execute(sa.select(table.c.id).limit(1)).first() is None
    none = incoming.iloc[0:0]
    if empty or incoming.empty:
        return _Plan(spec, present, incoming, none, [], none, 0)
    ids = incoming["patient_id"].dropna().unique().tolist()
    stored = read_table(conn, spec.name, bookkeeping=True,
                        patient_ids=ids if len(ids) <= 1000 else None)
    stored = stored.rename(columns={"id": "__id", "version": "__version"})
    merged = incoming.merge(stored, on=key, how="left", suffixes=("", "__db"),
                            indicator=True)
    is_new = np.asarray(merged["_merge"] == "left_only", dtype=bool)
    compare = [c for c in present if c not in key]
    diff = np.zeros((len(merged), len(compare)), dtype=bool)
    for j, col in enumerate(compare):
        diff[:, j] = ~_same(merged[col], merged[f"{col}__db"])
    diff[is_new, :] = False
    is_changed = diff.any(axis=1)
    unchanged = int((~is_new & ~is_changed).sum())
    changed = merged.loc[is_changed]
    changed_cols = [[compare[j] for j in np.flatnonzero(row)] for row in diff[is_changed]]
    stored_changed = changed[[f"{c}__db" for c in compare]].rename(
        columns=lambda c: c.removesuffix("__db"))
    return _Plan(spec, present, incoming.loc[is_new], changed[[*incoming.columns, "__id",
                                                               "__version"]],
                 changed_cols, stored_changed, unchanged)


def _conflicts(plan: _Plan) -> list[Conflict]:
    out: list[Conflict] = []
    key = list(plan.spec.key)
    for (_, row), (_, old), cols in zip(plan.changed.iterrows(), plan.stored_changed.iterrows(),
                                        plan.changed_cols, strict=True):
        k = {c: row[c] for c in key}
        out.extend(Conflict(plan.spec.name, k, c, old[c], row[c]) for c in cols)
    return out


# -- writing ---------------------------------------------------------------------------------


def _column_values(series: pd.Series, kind: str) -> npt.NDArray[np.object_]:
    """Python objects for the driver: ISO text for dates, None for missing."""
    na = np.asarray(series.isna(), dtype=bool)
    if na.all():
        return np.full(len(series), None, dtype=object)
    if kind == "date":
        days = series.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
        values = np.datetime_as_string(days, unit="D").astype(object)
    elif kind in ("float", "edss"):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan).astype(object)
    else:
        values = series.to_numpy(dtype=object, na_value=None)
    values = np.array(values, dtype=object)
    values[na] = None
    return values


def _bulk_insert(conn: sa.Connection, spec: TableSpec, frame: pd.DataFrame,
                 progress: Progress | None) -> None:
    """Insert rows with the driver's fastest path (executemany on SQLite, COPY on
    PostgreSQL), inside the caller's transaction."""
    columns = list(spec.column_names)
    arrays = [_column_values(frame[c], spec.column(c).type) for c in columns]
    total = len(frame)
    dialect = conn.dialect.name
    raw: Any = conn.connection.dbapi_connection
    assert raw is not None
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in columns)
    if dialect == "sqlite":
        # a larger page cache keeps the natural-key index in memory during big loads
        conn.exec_driver_sql("PRAGMA cache_size=-131072")
    name = conn.dialect.identifier_preparer.quote(spec.name)
    for start in range(0, total, _CHUNK):
        stop = min(start + _CHUNK, total)
        rows = list(zip(*(a[start:stop] for a in arrays), strict=True))
        if dialect == "sqlite":
            marks = ", ".join("?" * len(columns))
            cursor = raw.cursor()
            cursor.executemany(f"INSERT INTO {name} ({quoted}) VALUES ({marks})", rows)
            cursor.close()
        elif dialect == "postgresql":
            with raw.cursor() as cursor, cursor.copy(
                    f"COPY {name} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:  # pragma: no cover - other dialects are not supported targets
            table = TABLES[spec.name]
            conn.execute(table.insert(), [dict(zip(columns, r, strict=True)) for r in rows])
        if progress:
            progress(spec.name, stop, total)


def _bundle_patient_ids(contents: BundleContents) -> list[str]:
    """Every patient id the bundle mentions, in any file."""
    ids: set[str] = set()
    for frame in contents.tables.values():
        if "patient_id" in frame.columns:
            ids.update(str(v) for v in frame["patient_id"].dropna())
    return sorted(ids)


def _check_bundle_centre(contents: BundleContents, centre: str) -> None:
    """Every patient row of the bundle names ``centre`` (rows are named by file and line)."""
    patients = contents.tables["patients"]
    bad = patients[patients["centre"].astype(object) != centre]
    if len(bad):
        rows = ", ".join(f"patients.csv:{int(r[LINE])} ({r['centre']})"
                         for _, r in bad.head(5).iterrows())
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise PermissionDeniedError(
            f"The bundle has {len(bad)} patient row(s) of another centre than {centre!r}: "
            f"{rows}{more}. Nothing was imported.",
            hint=f"Upload only centre {centre}'s patients (centre column = {centre}).")


def _check_stored_centre(conn: sa.Connection, contents: BundleContents, centre: str) -> None:
    """No id of the bundle is stored under another centre (checked inside the import
    transaction, before any stored value is compared or reported)."""
    ids = _bundle_patient_ids(contents)
    taken: list[str] = []
    table = TABLES["patients"]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        taken += [str(r[0]) for r in conn.execute(
            sa.select(table.c.patient_id).where(table.c.patient_id.in_(chunk),
                                                table.c.centre != centre))]
    if taken:
        shown = ", ".join(sorted(taken)[:5]) + (f" and {len(taken) - 5} more"
                                                 if len(taken) > 5 else "")
        raise PermissionDeniedError(
            f"{len(taken)} patient id(s) of the bundle are not available to centre {centre!r}: "
            f"{shown}. Nothing was imported.",
            hint="Patient ids are unique across the registry: use your centre's own "
                 "pseudonymous ids (ask the registry administrator if an id seems wrong).")


def _python(value: Any, kind: str) -> Any:
    value = jsonable(value)
    if value is not None and kind == "date":
        return _dt.date.fromisoformat(value)
    return value


def _apply_updates(conn: sa.Connection, plan: _Plan, user: str) -> None:
    table = TABLES[plan.spec.name]
    key = list(plan.spec.key)
    audits: list[dict[str, Any]] = []
    for (_, row), (_, old), cols in zip(plan.changed.iterrows(), plan.stored_changed.iterrows(),
                                        plan.changed_cols, strict=True):
        values = {c: _python(row[c], plan.spec.column(c).type) for c in cols}
        result = conn.execute(
            sa.update(table)
            .where(table.c.id == int(row["__id"]), table.c.version == int(row["__version"]))
            .values(**values, version=table.c.version + 1, updated_at=sa.func.now())
        )
        if result.rowcount != 1:  # pragma: no cover - concurrent edit inside our transaction
            raise ImportConflictError(
                f"{plan.spec.name} row {row['__id']} changed during the import.",
                hint="Re-run the import.")
        audits.append({"user": user, "action": "update", "table_name": plan.spec.name,
                       "key": {k: row[k] for k in key},
                       "old": {c: jsonable(old[c]) for c in cols},
                       "new": {c: jsonable(row[c]) for c in cols},
                       "detail": {"via": "import", "version": int(row["__version"]) + 1}})
    write_audit_many(conn, audits)


# -- entry point -----------------------------------------------------------------------------


def import_bundle(
    path: str | Path,
    db: DatabaseLike,
    *,
    user: str = "cli",
    mode: ImportMode = "insert",
    regimen_map: RegimenMap | None = None,
    today: _dt.date | None = None,
    progress: Progress | None = None,
    centre: str | None = None,
    source: str | None = None,
    dialect: CsvDialect | None = None,
) -> ImportResult:
    """Validate a CSV bundle and load it into the registry in one transaction.

    Parameters
    ----------
    path
        Bundle directory (the CSV files and, optionally, ``bundle.json``).
    db
        Database: file path (SQLite), SQLAlchemy URL, or engine. An empty database gets the
        schema; an outdated one must be upgraded first (``hsctms db upgrade``).
    user
        Who imports (recorded in ``imports`` and ``audit_log``).
    mode
        ``"insert"``: rows whose natural key is stored with different values are conflicts
        (nothing is written); ``"update"``: such rows are updated and audited.
    regimen_map, today
        Validation settings (see :func:`hsctms.io.read_bundle`).
    progress
        Optional callback ``(stage, done, total)``.
    centre
        Restrict the import to one centre (a centre user's upload): every patient row must
        name this centre, and no patient id of the bundle (in any file) may be stored under
        another centre. The refusal names only the bundle's own rows and ids, never a stored
        value of another centre's patient.
    source
        How the bundle is named in messages, the validation report, the result, the
        ``imports`` table and the audit trail (default: its resolved path). A web upload
        passes the uploaded file's name, so that the server's temporary directory is never
        shown to the user nor stored.
    dialect
        How the CSV files are written, when the user declares a spreadsheet's notation
        (:class:`hsctms.io.csvtext.CsvDialect`); default: the bundle format.

    Returns
    -------
    ImportResult
        Rows inserted, updated and unchanged per table, the import id, the validation report
        (with its warnings) and the bundle's synthetic flag and data date.

    Raises
    ------
    DataValidationError
        The bundle has validation errors (``.report``); the database is untouched.
    PermissionDeniedError
        ``centre`` is given and the bundle holds patients of another centre, or ids stored
        under another centre; the database is untouched.
    BundleConflictError
        ``mode="insert"`` and some rows differ from stored ones (``.conflicts``).

    Examples
    --------
    The packaged demo bundle into an in-memory registry (the first import creates the schema):

    >>> from hsctms.datasets.demo import demo_bundle_path
    >>> from hsctms.db import connect
    >>> engine = connect("sqlite://")
    >>> result = import_bundle(demo_bundle_path(), engine)
    >>> result.inserted, result.updated, result.counts["patients"].inserted, result.synthetic
    (18531, 0, 300, True)

    Not run as a doctest (it reads a bundle directory and writes a registry database file):

    >>> result = import_bundle("bundle/", "registry.db")   # doctest: +SKIP
    >>> print(result.summary)                               # doctest: +SKIP
    """
    if mode not in ("insert", "update"):
        raise ConfigurationError(f"Unknown import mode {mode!r}.", hint="Use insert or update.")
    started = time.perf_counter()
    contents = read_bundle_contents(path, regimen_map=regimen_map, today=today,
                                    dialect=dialect)
    report = contents.report
    if source is not None:
        report.source = source
    if not report.ok:
        raise DataValidationError(
            f"Bundle {source or str(path)!r} has {len(report.errors)} validation error(s); "
            "nothing was imported.",
            report=report,
            hint=(f"Run 'hsctms validate {path}' for the full list, fix the files, re-import."
                  if source is None else "Fix the files (the report lists every issue) and "
                  "import them again."),
        )
    if centre is not None:
        _check_bundle_centre(contents, centre)
    checksum = bundle_checksum(path)
    manifest = contents.manifest
    engine = connect(db)
    current = current_revision(engine)
    if current is not None:
        check_current(engine, current)
    presence = _presence(contents)
    counts = {name: TableCounts() for name in SCHEMA}
    # raw driver calls (bulk inserts) raise the driver's own OperationalError
    driver_error: type[Exception] = getattr(engine.dialect.loaded_dbapi, "OperationalError",
                                            sa.exc.OperationalError)
    try:
        import_id = _load(engine, contents, source or str(Path(path).resolve()), checksum,
                          presence, counts, user, mode, progress,
                          create_schema=current is None, centre=centre)
    except RegistryBusyError as exc:
        raise RegistryBusyError(
            "Another writer (an import, a save in the web app) held the registry for longer "
            "than the busy timeout; nothing was imported.",
            hint="Retry when it is free (SQLite allows one writer at a time).") from exc
    except StorageFullError as exc:  # from begin_write
        raise storage_error("nothing was imported") from exc
    except (sa.exc.OperationalError, driver_error) as exc:
        if storage_full(exc):  # raw driver calls (bulk inserts)
            raise storage_error("nothing was imported") from exc
        reason = str(getattr(exc, "orig", None) or exc).strip()
        raise ConfigurationError(
            f"The database failed during the import ({reason}); nothing was "
            "imported.",
            hint="Another process may be writing to it (SQLite allows one writer at a time), "
            "or the disk is full. Retry when it is free.",
        ) from exc
    synthetic = bool(manifest.synthetic) if manifest else False
    data_date = manifest.data_date if manifest else None
    total = sum(len(f) for f in contents.tables.values())
    return ImportResult(
        source=source or str(path), database=display_url(engine), checksum=checksum, mode=mode,
        user=user, counts=counts, report=report, import_id=import_id,
        seconds=time.perf_counter() - started, synthetic=synthetic, data_date=data_date,
        provenance=Provenance("import_bundle", {"mode": mode, "checksum": checksum},
                              n=total, synthetic=synthetic,
                              data_date=data_date.isoformat() if data_date else None),
    )


def _load(engine: sa.Engine, contents: BundleContents, source: str, checksum: str,
          presence: dict[str, tuple[str, ...]], counts: dict[str, TableCounts], user: str,
          mode: str, progress: Progress | None, *, create_schema: bool,
          centre: str | None = None) -> int:
    """The transactional part of :func:`import_bundle`; returns the import id (``source``
    names the bundle in the ``imports`` table and the audit trail).

    On a new database the schema is created in the same transaction, so a crash (even
    kill -9) leaves no half-made registry: either nothing or the schema with all the data.
    """
    manifest = contents.manifest
    with begin_write(engine) as conn:
        if create_schema:
            upgrade_in(conn)
        if centre is not None:  # before any comparison: a conflict report shows stored values
            _check_stored_centre(conn, contents, centre)
        plans: list[_Plan] = []
        for i, (name, spec) in enumerate(SCHEMA.items()):
            incoming = contents.tables[name].drop(columns=[LINE])
            plans.append(_plan_table(conn, spec, incoming, presence[name]))
            if progress:
                progress("compare", i + 1, len(SCHEMA))
        conflicts = [c for p in plans for c in _conflicts(p)]
        if conflicts and mode == "insert":
            raise BundleConflictError(
                conflicts,
                hint="Fix the bundle, or re-run with --mode update to overwrite the stored "
                "values (each change is audited).")
        for plan in plans:
            name = plan.spec.name
            if len(plan.new):
                _bulk_insert(conn, plan.spec, plan.new, progress)
            if len(plan.changed):
                _apply_updates(conn, plan, user)
            counts[name] = TableCounts(len(plan.new), len(plan.changed), plan.unchanged)
        detail = {n: c.to_dict() for n, c in counts.items()}
        import_id = int(_first_key(conn.execute(
            imports.insert().values(
                user_name=user, source=source, checksum=checksum, mode=mode,
                synthetic=bool(manifest.synthetic) if manifest else False,
                data_date=manifest.data_date if manifest else None,
                format_version=manifest.format_version if manifest else FORMAT_VERSION,
                counts=detail))))
        centres = sorted({str(c) for c in contents.tables["patients"]["centre"].dropna()})
        if centre is None and len(centres) == 1:
            centre = centres[0]  # the centre's lead sees the import in their audit trail
        write_audit(conn, user=user, action="import",
                    detail={"import_id": import_id, "source": source,
                            "checksum": checksum, "mode": mode, "counts": detail,
                            "centre": centre, "centres": centres})
    return import_id


def _first_key(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _presence(contents: BundleContents) -> dict[str, tuple[str, ...]]:
    """Schema columns present in each bundle file (absent columns are not compared)."""
    return {name: contents.present.get(name, spec.column_names)
            for name, spec in SCHEMA.items()}
