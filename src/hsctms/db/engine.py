"""Database connections and schema migrations.

``connect("registry.db")`` makes an engine (an SQLite file is created on first use!); any
string with ``://`` is an SQLAlchemy URL, e.g. ``postgresql+psycopg://user@host/db``.
``upgrade(db)`` brings the schema to the newest Alembic revision shipped in
:mod:`hsctms.db.migrations`.

Commands that *read* a registry open it with :func:`open_registry` (``create=False``): a
missing SQLite file or a database without the hsctms schema is refused with
:class:`~hsctms.errors.RegistryNotFoundError` and nothing is created. Only creating
operations (import, adding a user, the web app) pass ``create=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hsctms.errors import ConfigurationError, RegistryNotFoundError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

DatabaseLike = str | Path | Engine


def database_url(url_or_path: str | Path) -> str:
    """SQLAlchemy URL for a URL or a bare path (an SQLite file, made absolute)."""
    text = str(url_or_path)
    if "://" in text:
        return text
    if text in ("", ":memory:"):
        raise ConfigurationError(
            "An in-memory database cannot hold a registry between commands.",
            hint="Give a file path such as registry.db, or a postgresql+psycopg:// URL.",
        )
    return f"sqlite:///{Path(text).expanduser().resolve()}"


#: How long a write waits for other writers' locks before giving up (seconds).
DEFAULT_BUSY_TIMEOUT = 10.0

#: Execution option marking a write transaction (see :func:`hsctms.db.writes.begin_write`).
WRITE_OPTION = "hsctms_write"


def _sqlite_setup(engine: Engine) -> None:
    """Real transactions (incl. DDL) and enforced foreign keys on SQLite;
    write transactions (:data:`WRITE_OPTION`) start with ``BEGIN IMMEDIATE`` so that they
    take the write lock first, waiting up to the busy timeout, instead of failing at once
    when another writer got in between their first read and first write."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _postgres_setup(engine: Engine, busy_timeout: float) -> None:
    """A lock timeout on PostgreSQL: a write waiting longer than ``busy_timeout`` for another
    transaction's locks fails (SQLSTATE 55P03) instead of hanging."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {int(busy_timeout * 1000)}")
        dbapi_connection.commit()


def connect(db: DatabaseLike, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
            **engine_kwargs: Any) -> Engine:
    """An SQLAlchemy engine for a registry database.

    Parameters
    ----------
    db
        An engine (returned as is), an SQLAlchemy URL, or a file path (SQLite).
    busy_timeout
        Seconds a write waits for other writers' locks before it fails with
        :class:`~hsctms.errors.RegistryBusyError` (SQLite ``busy_timeout``, PostgreSQL
        ``lock_timeout``). Ignored when ``db`` is an engine.
    **engine_kwargs
        Passed to :func:`sqlalchemy.create_engine` (e.g. ``connect_args``).

    Returns
    -------
    sqlalchemy.engine.Engine
        The engine (not yet connected: an SQLite file is created on the first connection).
        SQLite engines enforce foreign keys and start write transactions with
        ``BEGIN IMMEDIATE``; PostgreSQL engines set ``lock_timeout``.

    Raises
    ------
    ConfigurationError
        ``busy_timeout`` is not positive, ``db`` is empty or ``":memory:"``, the URL is
        malformed or its database driver is not installed.

    Examples
    --------
    >>> connect("sqlite://").dialect.name            # an in-memory SQLite database
    'sqlite'

    Not run as doctests (they open a database file and a PostgreSQL server):

    >>> engine = connect("/tmp/registry.db")         # doctest: +SKIP
    >>> engine = connect("postgresql+psycopg://hsctms@127.0.0.1/registry")  # doctest: +SKIP
    """
    if isinstance(db, Engine):
        return db
    if not busy_timeout > 0:
        raise ConfigurationError(f"busy_timeout must be positive, not {busy_timeout!r}.",
                                 hint="Give the seconds a write may wait, e.g. 10.")
    url = database_url(db)
    if url.startswith("sqlite"):  # the driver's busy handler waits up to ``timeout``
        engine_kwargs["connect_args"] = {"timeout": busy_timeout,
                                         **engine_kwargs.get("connect_args", {})}
    try:
        engine = sa.create_engine(url, **engine_kwargs)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise ConfigurationError(
            f"Cannot open database {sa.engine.make_url(url).render_as_string()!r}: {exc}.",
            hint="Use a file path (SQLite) or e.g. postgresql+psycopg://user@host:5432/db "
            "(install hsctms[postgres]).",
        ) from exc
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    elif engine.dialect.name == "postgresql":
        _postgres_setup(engine, busy_timeout)
    return engine


def display_url(engine: Engine) -> str:
    """The engine's URL without password (for provenance and messages).

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        A registry engine (e.g. from :func:`connect`).

    Returns
    -------
    str
        The URL with the password replaced by ``***``, e.g. ``sqlite:////srv/registry.db``
        or ``postgresql+psycopg://hsctms:***@host/registry``.

    Examples
    --------
    Not run as a doctest (it needs the ``postgres`` extra, psycopg):

    >>> display_url(connect("postgresql+psycopg://u:secret@db.example/reg"))  # doctest: +SKIP
    'postgresql+psycopg://u:***@db.example/reg'
    """
    return engine.url.render_as_string(hide_password=True)


def _alembic_config(connection: sa.Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration revision shipped with this hsctms.

    Returns
    -------
    str
        The Alembic revision id of the head of :mod:`hsctms.db.migrations`; a registry must
        be at this revision to be read or written (see :func:`open_registry`).
    """
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: DatabaseLike) -> str | None:
    """The database's migration revision (``None`` for an empty database).

    Parameters
    ----------
    db : str, pathlib.Path or sqlalchemy.engine.Engine
        Engine, SQLAlchemy URL or SQLite path. A path to a missing SQLite file creates an
        empty file (use :func:`existing_registry` to refuse it instead).

    Returns
    -------
    str or None
        The Alembic revision id stored in the database, or None when it has no hsctms
        schema (no Alembic version table).

    Raises
    ------
    ConfigurationError
        If the database cannot be opened (server down, wrong credentials, unwritable path).
    """
    from alembic.runtime.migration import MigrationContext

    engine = connect(db)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except sa.exc.OperationalError as exc:
        raise ConfigurationError(
            f"Cannot open database {display_url(engine)!r}: {str(exc.orig).strip()}.",
            hint="Check the path or URL (server running? user and password? directory "
            "exists and is writable?).",
        ) from exc


def upgrade(db: DatabaseLike, revision: str = "head") -> str:
    """Create or migrate the registry schema to ``revision`` (default: newest).

    Runs in one transaction (on SQLite and PostgreSQL DDL is transactional), so a failed
    migration leaves the database as it was.

    Parameters
    ----------
    db : str, pathlib.Path or sqlalchemy.engine.Engine
        Engine, SQLAlchemy URL or SQLite path; an empty database (or a new SQLite file) gets
        the whole schema.
    revision : str, default "head"
        Alembic revision to migrate to; ``"head"`` is the newest shipped with this hsctms.

    Returns
    -------
    str
        The revision the database is at afterwards (``""`` if it still has none).

    Raises
    ------
    StorageFullError
        The disk or the database's size limit is full; the migration was rolled back.
    ConfigurationError
        The database cannot be opened, or the migration failed (e.g. another process holds
        the database, or its user may not change the schema); it was rolled back.
    """
    from alembic import command

    from hsctms.db.writes import storage_error, storage_full

    engine = connect(db)
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), revision)
    except (sa.exc.DBAPIError, OSError) as exc:  # DBAPIError covers OperationalError
        if storage_full(exc):
            raise storage_error("the migration was rolled back") from exc
        raise ConfigurationError(
            f"The migration failed ({getattr(exc, 'orig', None) or exc}); it was rolled "
            "back and the database is as it was.",
            hint="Check that no other process holds the database and that its user may "
                 "change the schema, then run hsctms db upgrade again.") from exc
    current = current_revision(engine)
    return current or ""


def upgrade_in(conn: sa.Connection, revision: str = "head") -> None:
    """Migrate the schema inside the caller's open transaction ``conn`` (so a first import
    can create the schema and load the data in one all-or-nothing transaction)."""
    from alembic import command

    command.upgrade(_alembic_config(conn), revision)


def sqlite_file(engine: Engine) -> Path | None:
    """The file of an SQLite engine (``None`` for other engines and in-memory databases)."""
    if engine.dialect.name != "sqlite":
        return None
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).expanduser().resolve()


def _missing(where: str, reason: str) -> RegistryNotFoundError:
    return RegistryNotFoundError(
        f"There is no hsctms registry at {where!r} ({reason}); nothing was created.",
        hint=f"Check the --db path or URL, or create the registry with: hsctms import BUNDLE "
        f"--db {where}",
    )


def existing_registry(db: DatabaseLike) -> tuple[Engine, str]:
    """Engine and schema revision of an existing registry; nothing is created or migrated.

    Parameters
    ----------
    db : str, pathlib.Path or sqlalchemy.engine.Engine
        Engine, SQLAlchemy URL or SQLite path. On failure an engine made here is disposed;
        an engine passed in is left open.

    Returns
    -------
    engine : sqlalchemy.engine.Engine
        The registry's engine (``db`` itself when an engine was given).
    revision : str
        Its Alembic schema revision (not checked against :func:`head_revision`).

    Raises
    ------
    RegistryNotFoundError
        The SQLite file does not exist, or the database has no hsctms schema (no Alembic
        version table), e.g. a mistyped path or an empty PostgreSQL database.
    ConfigurationError
        The database cannot be opened.
    """
    engine = connect(db)
    try:
        require_sqlite_file(engine)
        current = current_revision(engine)
        if current is None:
            path = sqlite_file(engine)
            raise _missing(str(path) if path else display_url(engine),
                           "the database has no hsctms schema")
    except ConfigurationError:
        if engine is not db:  # our own engine: close its pool; never the caller's
            engine.dispose()
        raise
    return engine, current


def require_sqlite_file(engine: Engine) -> None:
    """Raise :class:`RegistryNotFoundError` if ``engine`` is SQLite and its file is missing
    (checked before connecting, which would create it)."""
    path = sqlite_file(engine)
    if path is not None and not path.is_file():
        raise _missing(str(path), "the file does not exist")


def check_current(engine: Engine, current: str) -> None:
    """Raise :class:`ConfigurationError` unless revision ``current`` is the newest."""
    head = head_revision()
    if current != head:
        raise ConfigurationError(
            f"Database {display_url(engine)!r} is at schema revision {current}, this hsctms "
            f"needs {head}.",
            hint=f"Back it up, then run: hsctms db upgrade --db {display_url(engine)}",
        )


def open_registry(db: DatabaseLike, *, create: bool = False) -> Engine:
    """Engine for the registry ``db`` with the schema at head.

    Parameters
    ----------
    db
        Engine, SQLAlchemy URL or SQLite path.
    create
        ``False`` (default, for everything that reads a registry): a missing SQLite file or a
        database without the hsctms schema raises :class:`RegistryNotFoundError` and no file
        is left behind. ``True``: such a database is created with the newest schema.

    Returns
    -------
    sqlalchemy.engine.Engine
        Engine of a registry whose schema is at :func:`head_revision`.

    Raises
    ------
    RegistryNotFoundError
        ``create=False`` and there is no registry at ``db``.
    ConfigurationError
        The schema is outdated (migrations run only with ``hsctms db upgrade``), or the
        database cannot be opened.

    Examples
    --------
    Not run as a doctest (it creates ``registry.sqlite`` in the working directory):

    >>> engine = open_registry("registry.sqlite")                # doctest: +SKIP
    """
    if not create:
        engine, current = existing_registry(db)
        check_current(engine, current)
        return engine
    engine = connect(db)
    revision = current_revision(engine)
    if revision is None:
        upgrade(engine)
        return engine
    check_current(engine, revision)
    return engine


def ensure_schema(db: DatabaseLike) -> Engine:
    """Engine for ``db`` with the schema at head: an empty database is created, an outdated
    one is an error (migrations are run explicitly with ``hsctms db upgrade``).

    Same as ``open_registry(db, create=True)``; readers use :func:`open_registry`.

    Parameters
    ----------
    db : str, pathlib.Path or sqlalchemy.engine.Engine
        Engine, SQLAlchemy URL or SQLite path (a missing SQLite file is created).

    Returns
    -------
    sqlalchemy.engine.Engine
        Engine of a registry whose schema is at :func:`head_revision`.

    Raises
    ------
    ConfigurationError
        The schema is outdated, or the database cannot be opened.
    """
    return open_registry(db, create=True)
