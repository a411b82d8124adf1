"""The append-only, hash-chained audit trail (shared by the importer and the web registry).

Every change to registry data and every export writes one ``audit_log`` row: who, when, what
action, which table and natural key, the old and new values (JSON), and details. The table is
append-only in the database itself (triggers reject UPDATE, DELETE, TRUNCATE and, on SQLite,
REPLACE), and tamper-evident: each entry stores ``hash = MAC(prev_hash, entry)``, an HMAC-SHA-256
with the registry's audit key (environment variable ``HSCTMS_AUDIT_KEY``, kept outside the
database) or a plain SHA-256 when no key is set. :func:`hsctms.db.verify.verify_audit`
(``hsctms audit verify``) recomputes the chain.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from hsctms.db.tables import audit_log

ACTIONS = ("import", "insert", "update", "delete", "export")


def jsonable(value: Any) -> Any:
    """A JSON-serialisable version of one cell (dates as ISO text, NA as None)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp | _dt.datetime):
        if isinstance(value, pd.Timestamp) and value == value.normalize() and value.tz is None:
            return value.date().isoformat()  # a date column read through pandas
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def record_key(key: Mapping[str, Any]) -> str:
    """Canonical text of a natural key, e.g. ``{"date": "2020-01-01", "patient_id": "P1"}``."""
    return json.dumps({k: jsonable(v) for k, v in key.items()}, sort_keys=True)


AUDIT_KEY_ENV = "HSCTMS_AUDIT_KEY"


def audit_key() -> bytes | None:
    """The audit chain key from ``HSCTMS_AUDIT_KEY`` (None: chain with plain SHA-256)."""
    key = os.environ.get(AUDIT_KEY_ENV)
    return key.encode("utf-8") if key else None


def canonical_time(value: _dt.datetime) -> str:
    """UTC, microseconds, no zone: the same text for a value written and read back."""
    if value.tzinfo is not None:
        value = value.astimezone(_dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _canonical_json(value: Any) -> Any:
    return None if value is None else json.loads(json.dumps(value, sort_keys=True,
                                                            default=str))


def entry_mac(prev_hash: str | None, entry: Mapping[str, Any], key: bytes | None) -> str:
    """Chain value of one entry: ``"h:"`` + HMAC-SHA-256 (keyed) or ``"s:"`` + SHA-256."""
    payload = json.dumps(
        [prev_hash, canonical_time(entry["at"]), entry["user_name"], entry["action"],
         entry["table_name"], entry["record_key"], _canonical_json(entry["old"]),
         _canonical_json(entry["new"]), _canonical_json(entry["detail"])],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    if key is not None:
        return "h:" + hmac.new(key, payload, hashlib.sha256).hexdigest()
    return "s:" + hashlib.sha256(payload).hexdigest()


def _append(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Chain and insert entries in order, inside the caller's transaction."""
    if conn.dialect.name == "postgresql":  # one writer extends the chain at a time
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(4242001)"))
    prev = conn.execute(sa.select(audit_log.c.hash).order_by(audit_log.c.id.desc())
                        .limit(1)).scalar()
    key = audit_key()
    now = _dt.datetime.now(_dt.UTC)  # aware: PostgreSQL stores it whatever the session zone
    for row in rows:
        row["at"] = now
        for col in ("old", "new", "detail"):
            row[col] = _canonical_json(row[col])
        row["prev_hash"] = prev
        row["hash"] = prev = entry_mac(prev, row, key)
    conn.execute(audit_log.insert(), rows)


def write_audit(
    conn: sa.Connection,
    *,
    user: str,
    action: str,
    table_name: str | None = None,
    key: Mapping[str, Any] | None = None,
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append one (chained) audit entry inside the caller's transaction."""
    write_audit_many(conn, [{"user": user, "action": action, "table_name": table_name,
                             "key": key, "old": old, "new": new, "detail": detail}])


def write_audit_many(conn: sa.Connection, entries: list[dict[str, Any]]) -> None:
    """Append several audit entries (dicts with the keyword arguments of :func:`write_audit`)."""
    if not entries:
        return
    rows = [
        {
            "user_name": e["user"],
            "action": e["action"],
            "table_name": e.get("table_name"),
            "record_key": record_key(e["key"]) if e.get("key") is not None else None,
            "old": ({k: jsonable(v) for k, v in e["old"].items()}
                    if e.get("old") is not None else None),
            "new": ({k: jsonable(v) for k, v in e["new"].items()}
                    if e.get("new") is not None else None),
            "detail": dict(e["detail"]) if e.get("detail") is not None else None,
        }
        for e in entries
    ]
    _append(conn, rows)
