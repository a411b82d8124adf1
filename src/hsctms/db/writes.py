"""Write transactions that survive contention.

Every change to a registry goes through :func:`begin_write`:

* On SQLite the transaction starts with ``BEGIN IMMEDIATE``: it takes the database's write
  lock before its first read, waiting up to the engine's busy timeout
  (:data:`hsctms.db.engine.DEFAULT_BUSY_TIMEOUT`) while another writer (an import, another
  user's save) holds it. A deferred transaction would instead fail at once with "database is
  locked" when another writer committed between its first read and its first write.
* On PostgreSQL a write waits at most the same time for row and advisory locks
  (``lock_timeout``); deadlocks and serialisation failures are retried by
  :func:`retry_busy`.
* When the wait runs out, :class:`~hsctms.errors.RegistryBusyError` is raised: nothing was
  written, the web app answers 503 with ``Retry-After`` and keeps the submitted form.

:func:`enable_wal` switches an SQLite registry to write-ahead logging, in which readers
never wait for writers (the web app does this when it starts).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hsctms.db.engine import WRITE_OPTION, sqlite_file
from hsctms.errors import HsctmsError, RegistryBusyError, StorageFullError

#: PostgreSQL SQLSTATEs of a transaction that lost a race and may simply be run again:
#: serialization_failure, deadlock_detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
#: lock_not_available (``lock_timeout`` ran out).
LOCK_TIMEOUT_SQLSTATE = "55P03"
#: disk_full (PostgreSQL could not extend a file).
DISK_FULL_SQLSTATE = "53100"
#: SQLite result code SQLITE_FULL ("database or disk is full").
_SQLITE_FULL = 13
#: SQLite result codes SQLITE_BUSY and SQLITE_LOCKED (primary codes).
_SQLITE_BUSY_CODES = frozenset({5, 6})

P = ParamSpec("P")
T = TypeVar("T")


def busy_kind(exc: BaseException) -> str | None:
    """``"retry"`` (lost a race: run again), ``"busy"`` (waited for locks and gave up) or
    ``None`` (any other database error) for a driver error wrapped by SQLAlchemy."""
    orig = getattr(exc, "orig", None)
    if orig is None:
        return None
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return "retry"
    if sqlstate == LOCK_TIMEOUT_SQLSTATE:
        return "busy"
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) in _SQLITE_BUSY_CODES:
        return "busy"
    text = str(orig).lower()
    if "database is locked" in text or "database table is locked" in text:
        return "busy"
    return None


def storage_full(exc: BaseException) -> bool:
    """Whether a driver error wrapped by SQLAlchemy (or a raw driver/OS error) says the
    database could not grow: SQLITE_FULL, PostgreSQL ``disk_full``, or ENOSPC."""
    import errno

    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, OSError) and orig.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate == DISK_FULL_SQLSTATE:
        return True
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) == _SQLITE_FULL:
        return True
    text = str(orig).lower()
    return "database or disk is full" in text or "no space left on device" in text


def storage_error(what: str) -> StorageFullError:
    """The :class:`StorageFullError` for a failed ``what`` ("nothing was imported", ...)."""
    return StorageFullError(
        f"The database could not grow: the disk (or the database's size limit) is full; "
        f"{what}.",
        hint="Free disk space (or raise the quota) and run the command again; the database "
             "is as it was before.")


def known_database_error(exc: BaseException) -> HsctmsError | None:
    """The hsctms error for a driver error that is the registry's state rather than a fault
    (disk full, locks held too long), else None."""
    if storage_full(exc):
        return storage_error("nothing was written")
    if busy_kind(exc) is not None:
        return busy_error(exc)
    return None


def busy_error(exc: BaseException) -> RegistryBusyError:
    """The :class:`RegistryBusyError` for a busy driver error (see :func:`busy_kind`)."""
    error = RegistryBusyError(
        "The registry is busy (another import or save holds the database lock); nothing "
        "was written.",
        hint="Try again in a few seconds; if this persists, check for a long-running import.")
    error.retryable = busy_kind(exc) == "retry"  # type: ignore[attr-defined]
    return error


@contextlib.contextmanager
def begin_write(engine: Engine) -> Iterator[sa.Connection]:
    """A write transaction on ``engine`` (committed on success, rolled back on error).

    Raises
    ------
    RegistryBusyError
        Other writers held the lock for longer than the busy timeout, or (PostgreSQL) the
        transaction lost a deadlock or serialisation race; nothing was written.
    StorageFullError
        The database could not grow (disk full); nothing was written.
    """
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            yield conn
    except (sa.exc.OperationalError, sa.exc.DBAPIError) as exc:
        if storage_full(exc):
            raise storage_error("nothing was written") from exc
        if busy_kind(exc) is None:
            raise
        raise busy_error(exc) from exc


def retry_busy(attempts: int = 3, *, backoff: float = 0.05
               ) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorator: run a function that opens its own :func:`begin_write` transaction again
    (up to ``attempts`` times, with exponential backoff) when it lost a PostgreSQL deadlock
    or serialisation race. A lock wait that ran out is not retried: the busy timeout has
    already waited."""

    def decorate(fn: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            for attempt in range(attempts):
                try:
                    return fn(*args, **kwargs)
                except RegistryBusyError as exc:
                    if not getattr(exc, "retryable", False) or attempt == attempts - 1:
                        raise
                    time.sleep(backoff * 2 ** attempt)
            raise AssertionError("unreachable")  # pragma: no cover

        return wrapper

    return decorate


def enable_wal(engine: Engine) -> bool:
    """Switch an SQLite registry file to write-ahead logging (readers never wait for a
    writer; the setting stays with the file). Returns whether the file is now in WAL mode;
    other engines and in-memory databases are left alone (False).

    WAL needs a local file system (not a network share): see the SQLite documentation.
    """
    if sqlite_file(engine) is None:
        return False
    raw = engine.raw_connection()  # outside a transaction: the pragma refuses to run in one
    try:
        cursor = raw.cursor()
        mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        cursor.close()
    finally:
        raw.close()
    return str(mode).lower() == "wal"

