"""Reading the registry back: typed tables, a :class:`~hsctms.model.cohort.Cohort`, and
export to a CSV bundle.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import sqlalchemy as sa

from hsctms.db.engine import DatabaseLike, connect, display_url, open_registry
from hsctms.db.tables import TABLES, imports
from hsctms.db.writes import begin_write
from hsctms.errors import NotFoundError
from hsctms.model.cohort import Cohort, conform
from hsctms.model.regimens import RegimenMap
from hsctms.model.schema import SCHEMA

if TYPE_CHECKING:
    from hsctms.io.deidentify import DeidentifiedExport


#: Vectorised conversion of a fetched column to its canonical dtype, by schema type
#: (other types are left to :func:`conform`).
_CASTS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "date": lambda s: pd.to_datetime(s, format="ISO8601"),
    "bool": lambda s: s.astype("boolean"),
    "float": lambda s: pd.to_numeric(s).astype("float64"),
    "edss": lambda s: pd.to_numeric(s).astype("float64"),
    "int": lambda s: pd.to_numeric(s).astype("Int64"),
}


def _fetch_rows(conn: sa.Connection, query: sa.Select[Any], *, whole_table: bool) -> list[Any]:
    """The rows of ``query`` as plain tuples (fast paths; see the comments)."""
    if whole_table:
        # whole table: plain DBAPI cursor (no per-row Result objects) for speed
        sql = str(query.compile(dialect=conn.dialect))
        cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql)
            return list(cursor.fetchall())
        finally:
            cursor.close()
    # plain tuples: pandas probes each SQLAlchemy Row for attributes, which is slow
    return [tuple(r) for r in conn.execute(query).fetchall()]


def read_table(
    conn: sa.Connection,
    name: str,
    *,
    centre: str | None = None,
    patient_ids: Iterable[str] | None = None,
    bookkeeping: bool = False,
) -> pd.DataFrame:
    """One registry table as a typed DataFrame (canonical dtypes of the schema).

    Parameters
    ----------
    conn
        Open connection to a registry at the newest schema.
    name
        Schema table name, a key of :data:`hsctms.model.schema.SCHEMA` (e.g. ``"patients"``,
        ``"edss"``); another name raises ``KeyError``.
    centre
        Only rows of patients of this centre (default: every centre).
    patient_ids
        Only rows of these patients (default: every patient). Combined with ``centre``, a
        row must satisfy both.
    bookkeeping
        Also return ``id`` and ``version`` (for updates and optimistic locking).

    Returns
    -------
    pandas.DataFrame
        One row per stored row, in insertion order, with the schema's columns in schema
        order and canonical dtypes (dates ``datetime64``, booleans ``boolean``, integers
        ``Int64``, EDSS and other numbers ``float64``), plus ``id`` and ``version``
        (``int64``) when ``bookkeeping`` is True.
    """
    spec = SCHEMA[name]
    table = TABLES[name]
    sqlite = conn.dialect.name == "sqlite"
    cols: list[Any] = []
    for col in spec.columns:
        c = table.c[col.name]
        # SQLite keeps dates as ISO text: skip SQLAlchemy's per-row conversion, parse vectorised
        cols.append(sa.type_coerce(c, sa.String).label(col.name) if sqlite and
                    col.type == "date" else c)
    if bookkeeping:
        cols += [table.c.id, table.c.version]
    query = sa.select(*cols)
    if centre is not None:
        patients = TABLES["patients"]
        if name == "patients":
            query = query.where(table.c.centre == centre)
        else:
            query = query.join(patients, patients.c.patient_id == table.c.patient_id).where(
                patients.c.centre == centre)
    if patient_ids is not None:
        query = query.where(table.c.patient_id.in_(list(patient_ids)))
    query = query.order_by(table.c.id)
    names = [c.name for c in query.selected_columns]
    rows = _fetch_rows(conn, query, whole_table=centre is None and patient_ids is None)
    frame = pd.DataFrame(rows, columns=names)
    for col in spec.columns:
        cast = _CASTS.get(col.type)
        if cast is not None:
            frame[col.name] = cast(frame[col.name])
    typed = conform(spec, frame)
    if bookkeeping:
        typed["id"] = frame["id"].astype("int64").to_numpy()
        typed["version"] = frame["version"].astype("int64").to_numpy()
    return typed


def registry_status(conn: sa.Connection) -> tuple[bool, _dt.date | None]:
    """``(synthetic, data_date)`` of the registry from its import history: synthetic when any
    imported bundle was synthetic; data date = the latest imported data date."""
    synthetic = bool(conn.execute(
        sa.select(sa.func.count()).where(imports.c.synthetic.is_(True))).scalar())
    latest = conn.execute(sa.select(sa.func.max(imports.c.data_date))).scalar()
    if isinstance(latest, str):
        latest = _dt.date.fromisoformat(latest)
    return synthetic, latest


def load_cohort(
    db: DatabaseLike,
    centre: str | None = None,
    *,
    patient_ids: Iterable[str] | None = None,
    regimen_map: RegimenMap | None = None,
) -> Cohort:
    """Load the registry (or one centre, or some patients) as a :class:`Cohort`.

    Parameters
    ----------
    db
        Database path, URL or engine.
    centre
        Restrict to the patients of this centre (the web registry's centre scoping).
    patient_ids
        Restrict to these patients (e.g. the context of a web form).
    regimen_map
        Regimen map attached to the cohort (default: :func:`~hsctms.model.default_regimen_map`).

    Returns
    -------
    Cohort
        Every schema table (restricted to ``centre`` and ``patient_ids`` when given); the
        cohort is synthetic when any imported bundle was synthetic, its data date is the
        latest imported data date, and its source names the database (and the centre).

    Examples
    --------
    One centre's patients of the demo registry, imported into an in-memory database:

    >>> from hsctms.datasets.demo import demo_bundle_path
    >>> from hsctms.db import connect, import_bundle
    >>> engine = connect("sqlite://")
    >>> _ = import_bundle(demo_bundle_path(), engine)
    >>> cohort = load_cohort(engine, centre="SYN-C01")
    >>> cohort.n_patients, cohort.synthetic
    (101, True)

    Not run as a doctest (it needs a registry database file):

    >>> cohort = load_cohort("registry.db", centre="C01")   # doctest: +SKIP

    Raises
    ------
    RegistryNotFoundError
        There is no registry at ``db`` (nothing is created).
    """
    engine = open_registry(db)
    ids = list(patient_ids) if patient_ids is not None else None
    with engine.connect() as conn:
        tables = {name: read_table(conn, name, centre=centre, patient_ids=ids)
                  for name in SCHEMA}
        synthetic, data_date = registry_status(conn)
    source = display_url(engine) + (f" (centre {centre})" if centre else "")
    cohort = Cohort(tables=tables, synthetic=synthetic, data_date=data_date, source=source)
    if regimen_map is not None:
        cohort.regimen_map = regimen_map
    return cohort


def export_bundle(db: DatabaseLike, path: str | Path, *, centre: str | None = None,
                  user: str = "cli", download: str | None = None) -> Path:
    """Write the registry (or one centre) as a CSV bundle; the export is audited.

    Round trip bundle -> database -> bundle is lossless (same rows and values).

    Parameters
    ----------
    db
        Database (path, URL or engine).
    path
        Output directory.
    centre
        Only this centre's patients.
    user
        Recorded in the audit trail.
    download
        The file name the bundle is handed out under (a web download): the audit entry
        records it instead of ``path`` (a server temporary directory) and ``bundle.json``
        does not name the server's database.

    Returns
    -------
    pathlib.Path
        The bundle directory written (the CSV files and ``bundle.json``).

    Raises
    ------
    RegistryNotFoundError
        There is no registry at ``db`` (nothing is created).
    """
    from hsctms.db.audit import write_audit
    from hsctms.io.bundle import write_bundle

    engine = connect(db)
    cohort = load_cohort(engine, centre)
    generator: dict[str, Any] = {"name": "hsctms export", "centre": centre}
    if download is None:
        generator["database"] = display_url(engine)
    out = write_bundle(cohort, path, generator=generator)
    where = {"path": str(Path(path).resolve())} if download is None else {"download": download}
    with begin_write(engine) as conn:
        write_audit(conn, user=user, action="export",
                    detail={**where, "centre": centre, "rows": cohort.row_counts()})
    return out


def export_deidentified(db: DatabaseLike, *, centre: str | None = None, user: str = "cli",
                        keep_ids: bool = False, k: int | None = None,
                        on_small_groups: Literal["suppress", "refuse"] | None = None,
                        ) -> DeidentifiedExport:
    """The de-identified export of the registry (or one centre); the export is audited.

    See :func:`hsctms.io.deidentify.deidentify` for the definition, ``k`` and
    ``on_small_groups``. The audit entry (``action="export"``, ``kind="deidentified_bundle"``)
    records the centre, the row counts and the k-anonymity outcome; nothing is audited when
    the export is refused (:class:`~hsctms.errors.DisclosureError`, or
    :class:`~hsctms.errors.NotFoundError` when the centre has no patients).

    Parameters
    ----------
    db : str, pathlib.Path or sqlalchemy.engine.Engine
        Database path, URL or engine of an existing registry.
    centre : str, optional
        Export only this centre's patients (default: the whole registry).
    user : str, default "cli"
        Who exports (recorded in the audit trail).
    keep_ids : bool, default False
        Keep the pseudonymous patient ids (only for roles that may see them); by default
        they are replaced with random per-export codes.
    k : int, optional
        Minimum number of patients sharing every quasi-identifier value (2 to 1000); default
        the definition's ``k`` (5).
    on_small_groups : {"suppress", "refuse"}, optional
        What to do with groups smaller than ``k``: ``"suppress"`` blanks their
        quasi-identifiers, ``"refuse"`` raises :class:`~hsctms.errors.DisclosureError`;
        default the definition's setting (``"suppress"``).

    Returns
    -------
    DeidentifiedExport
        The de-identified tables (dates as days from the index transplant), with the
        k-anonymity outcome (smallest group, suppressed patients and values).

    Raises
    ------
    NotFoundError
        The registry, or ``centre``, has no patients.
    DisclosureError
        ``on_small_groups="refuse"`` and a group has fewer than ``k`` patients, or the
        export has fewer than ``k`` patients at all.
    RegistryNotFoundError
        There is no registry at ``db``.
    """
    from hsctms.db.audit import write_audit
    from hsctms.io.deidentify import deidentify

    engine = connect(db)
    cohort = load_cohort(engine, centre)
    if cohort.patients.empty:  # nothing to de-identify: a clear answer, not a TypeError
        raise NotFoundError(
            f"{'Centre ' + repr(centre) if centre else 'The registry'} has no patients; "
            "there is nothing to export.",
            hint="Check the centre code (the registry dashboard lists the centres).")
    export = deidentify(cohort, keep_ids=keep_ids, k=k, on_small_groups=on_small_groups)
    with begin_write(engine) as conn:
        write_audit(conn, user=user, action="export",
                    detail={"centre": centre, "kind": "deidentified_bundle",
                            "identifiable": False,
                            "rows": {n: len(f) for n, f in export.tables.items()},
                            "k": export.k, "smallest_group": export.smallest_group,
                            "suppressed_patients": export.suppressed_patients})
    return export
