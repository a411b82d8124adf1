"""Database connections and schema migrations.

``connect("registry.db")`` opens (or creates) an SQLite file; any string with ``://`` is an
SQLAlchemy URL, e.g. ``postgresql+psycopg://user@host/db``. ``upgrade(db)`` brings the schema
to the newest Alembic revision shipped in :mod:`hsctms.db.migrations`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hsctms.errors import ConfigurationError

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


def _sqlite_setup(engine: Engine) -> None:
    """Real transactions (incl. DDL) and enforced foreign keys on SQLite."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")


def connect(db: DatabaseLike, **engine_kwargs: Any) -> Engine:
    """An SQLAlchemy engine for a registry database.

    Parameters
    ----------
    db
        An engine (returned as is), an SQLAlchemy URL, or a file path (SQLite).
    **engine_kwargs
        Passed to :func:`sqlalchemy.create_engine` (e.g. ``connect_args``).

    Examples
    --------
    >>> engine = connect("/tmp/registry.db")         # doctest: +SKIP
    >>> engine = connect("postgresql+psycopg://hsctms@127.0.0.1/registry")  # doctest: +SKIP
    """
    if isinstance(db, Engine):
        return db
    url = database_url(db)
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
    return engine


def display_url(engine: Engine) -> str:
    """The engine's URL without password (for provenance and messages)."""
    return engine.url.render_as_string(hide_password=True)


def _alembic_config(connection: sa.Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration revision shipped with this hsctms."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: DatabaseLike) -> str | None:
    """The database's migration revision (``None`` for an empty database).

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
    migration leaves the database as it was. Returns the revision reached.
    """
    from alembic import command

    engine = connect(db)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)
    current = current_revision(engine)
    return current or ""


def ensure_schema(db: DatabaseLike) -> Engine:
    """Engine for ``db`` with the schema at head: an empty database is created, an outdated
    one is an error (migrations are run explicitly with ``hsctms db upgrade``)."""
    engine = connect(db)
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return engine
    if current is None:
        upgrade(engine)
        return engine
    raise ConfigurationError(
        f"Database {display_url(engine)!r} is at schema revision {current}, this hsctms "
        f"needs {head}.",
        hint=f"Back it up, then run: hsctms db upgrade --db {display_url(engine)}",
    )
