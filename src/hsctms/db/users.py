"""Web registry users and server-side sessions.

Two tables (created by migration ``0002_web_users``):

* ``users``: username (unique, case-insensitive by storing lower case), Argon2id password
  hash, role (``data_entry``, ``centre_lead``, ``analyst``, ``admin``), centre (``NULL`` =
  registry-level user), active flag.
* ``web_sessions``: one row per login; the cookie carries only a signed session id, the server
  keeps the user, the CSRF token and the expiry. Logging out deletes the row.

Password hashing lives in :mod:`hsctms.db.passwords`. Account changes (add, deactivate,
activate, password set or reset) are written to the audit trail (``table_name = "users"``;
never the password or its hash).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass

import sqlalchemy as sa

from hsctms.db.audit import write_audit
from hsctms.db.engine import DatabaseLike, connect
from hsctms.db.passwords import hash_password, needs_rehash, temporary_password, verify_password
from hsctms.db.writes import begin_write
from hsctms.errors import ConfigurationError, NotFoundError

#: Tables of the web layer (kept apart from the registry metadata of :mod:`hsctms.db.tables`).
web_metadata = sa.MetaData()

ROLES = ("data_entry", "centre_lead", "analyst", "admin")

users = sa.Table(
    "users",
    web_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(128), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("centre", sa.String(64), nullable=True),
    sa.Column("active", sa.Boolean(create_constraint=False), nullable=False,
              server_default=sa.true()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.text("CURRENT_TIMESTAMP")),
)

web_sessions = sa.Table(
    "web_sessions",
    web_metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(128), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,127}$")


@dataclass(frozen=True)
class User:
    """A registry user (without the password hash)."""

    username: str
    role: str
    centre: str | None
    active: bool = True

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {"username": self.username, "role": self.role, "centre": self.centre,
                "active": self.active}


@dataclass(frozen=True)
class Session:
    """A server-side login session."""

    user: User
    csrf_token: str
    expires_at: _dt.datetime


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0)


def _aware(value: _dt.datetime) -> _dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=_dt.UTC)


def _hash_id(session_id: str) -> str:
    """Sessions are stored by the SHA-256 of their id, so a database leak yields no cookies."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def canonical_username(username: str) -> str:
    """The form every lookup uses (stripped, lower-cased); not validated — see
    :func:`normalise_username` for new accounts. The login rate limiter keys on it too."""
    return username.strip().lower()


def normalise_username(username: str) -> str:
    """Lower-cased, validated username."""
    name = canonical_username(username)
    if not _USERNAME.match(name):
        raise ConfigurationError(
            f"Invalid username {username!r}.",
            hint="Use 2-128 characters: letters, digits, '.', '_', '@' or '-'.")
    return name


def add_user(db: DatabaseLike, username: str, password: str, role: str,
             centre: str | None = None, *, by: str = "cli") -> User:
    """Create a user (Argon2id-hashed password); audited as done ``by`` that user.

    Raises
    ------
    ConfigurationError
        Unknown role, centre missing for a centre role, duplicate username, short password.
    """
    name = normalise_username(username)
    if role not in ROLES:
        raise ConfigurationError(f"Unknown role {role!r}.", hint=f"Use one of {', '.join(ROLES)}.")
    if role in ("data_entry", "centre_lead") and not centre:
        raise ConfigurationError(f"Role {role} needs a centre.", hint="Pass --centre CODE.")
    hashed = hash_password(password)
    engine = connect(db)
    with begin_write(engine) as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.username == name)).first():
            raise ConfigurationError(f"User {name!r} already exists.",
                                     hint="Choose another username.")
        conn.execute(users.insert().values(username=name, password_hash=hashed, role=role,
                                           centre=centre or None, active=True))
        write_audit(conn, user=by, action="create", table_name="users",
                    key={"username": name},
                    new={"role": role, "centre": centre or None, "active": True})
    return User(name, role, centre or None)


def get_user(conn: sa.Connection, username: str) -> User | None:
    """The active user called ``username`` (None if unknown or deactivated)."""
    row = conn.execute(sa.select(users).where(users.c.username == canonical_username(username),
                                              users.c.active.is_(True))).first()
    if row is None:
        return None
    return User(row.username, row.role, row.centre, bool(row.active))


def list_users(conn: sa.Connection) -> list[User]:
    """All users, by name."""
    rows = conn.execute(sa.select(users).order_by(users.c.username)).all()
    return [User(r.username, r.role, r.centre, bool(r.active)) for r in rows]


def authenticate(db: DatabaseLike, username: str, password: str) -> User | None:
    """The user if ``password`` is right (rehashing outdated hashes), else None.

    A dummy verification runs for unknown users so that timing does not reveal which
    usernames exist.
    """
    engine = connect(db)
    name = canonical_username(username)
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == name)).first()
    if row is None or not row.active:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(row.password_hash, password):
        return None
    if needs_rehash(row.password_hash):
        with begin_write(engine) as conn:
            conn.execute(users.update().where(users.c.id == row.id)
                         .values(password_hash=hash_password(password)))
    return User(row.username, row.role, row.centre, True)


_DUMMY_HASH = ("$argon2id$v=19$m=65536,t=3,p=4$GmYqusMtg1dMY2BslOjMqQ$"
               "vHghF5PneEB2175y7g0KV9mpqtNJdE6eFK0H5iLKND8")


def create_session(db: DatabaseLike, user: User, session_id: str, csrf_token: str,
                   max_age_seconds: int) -> Session:
    """Store a new session (the caller signs ``session_id`` into the cookie)."""
    now = _now()
    expires = now + _dt.timedelta(seconds=max_age_seconds)
    engine = connect(db)
    with begin_write(engine) as conn:
        conn.execute(web_sessions.delete().where(web_sessions.c.expires_at < now))
        conn.execute(web_sessions.insert().values(
            id_hash=_hash_id(session_id), username=user.username, csrf_token=csrf_token,
            created_at=now, expires_at=expires))
    return Session(user, csrf_token, expires)


def get_session(db: DatabaseLike, session_id: str) -> Session | None:
    """The live session with this id and its (still active) user, else None."""
    engine = connect(db)
    with engine.connect() as conn:
        row = conn.execute(sa.select(web_sessions)
                           .where(web_sessions.c.id_hash == _hash_id(session_id))).first()
        if row is None or _aware(row.expires_at) < _now():
            return None
        user = get_user(conn, row.username)
    if user is None:
        return None
    return Session(user, row.csrf_token, _aware(row.expires_at))


def delete_session(db: DatabaseLike, session_id: str) -> None:
    """Log out: forget the session."""
    engine = connect(db)
    with begin_write(engine) as conn:
        conn.execute(web_sessions.delete()
                     .where(web_sessions.c.id_hash == _hash_id(session_id)))


def _account_change(db: DatabaseLike, username: str, values: dict[str, object], *, by: str,
                    action: str, detail: dict[str, object]) -> None:
    """Update one account, end its sessions and audit the change (one transaction)."""
    engine = connect(db)
    name = canonical_username(username)
    with begin_write(engine) as conn:
        row = conn.execute(sa.select(users.c.active).where(users.c.username == name)).first()
        if row is None:
            raise NotFoundError(f"No user {name!r}.",
                                hint="List users with: hsctms users list --db REGISTRY")
        if values.get("active") is False:
            _keep_an_admin(conn, name)
        conn.execute(users.update().where(users.c.username == name).values(**values))
        ended = conn.execute(web_sessions.delete()
                             .where(web_sessions.c.username == name)).rowcount
        old = {"active": bool(row.active)} if "active" in values else None
        new = {"active": values["active"]} if "active" in values else None
        write_audit(conn, user=by, action=action, table_name="users", key={"username": name},
                    old=old, new=new, detail={**detail, "sessions_ended": int(ended or 0)})


def _keep_an_admin(conn: sa.Connection, name: str) -> None:
    """Refuse to deactivate the last active administrator (nobody could manage users)."""
    admins = [r.username for r in conn.execute(
        sa.select(users.c.username).where(users.c.role == "admin", users.c.active.is_(True)))]
    if admins == [name]:
        raise ConfigurationError(f"{name!r} is the last active administrator.",
                                 hint="Add or activate another admin first.")


def deactivate_user(db: DatabaseLike, username: str, *, by: str = "cli") -> None:
    """Deactivate a user: they cannot sign in, and their open sessions end at once."""
    _account_change(db, username, {"active": False}, by=by, action="deactivate", detail={})


def activate_user(db: DatabaseLike, username: str, *, by: str = "cli") -> None:
    """Re-activate a deactivated user (their password is unchanged)."""
    _account_change(db, username, {"active": True}, by=by, action="activate", detail={})


def set_password(db: DatabaseLike, username: str, password: str, *, by: str = "cli") -> None:
    """Set a new password (at least 12 characters); the user's open sessions end."""
    hashed = hash_password(password)
    _account_change(db, username, {"password_hash": hashed}, by=by, action="set_password",
                    detail={})


def reset_password(db: DatabaseLike, username: str, *, by: str = "cli") -> str:
    """Replace the password with a random one-time password and return it (shown once, to
    be passed on to the user over a separate channel); the user's sessions end."""
    password = temporary_password()
    _account_change(db, username, {"password_hash": hash_password(password)}, by=by,
                    action="reset_password", detail={})
    return password
