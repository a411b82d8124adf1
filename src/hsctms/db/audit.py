"""The append-only audit trail (shared by the importer and the web registry).

Every change to registry data and every export writes one ``audit_log`` row: who, when, what
action, which table and natural key, the old and new values (JSON), and details. The table is
append-only in the database itself (triggers reject UPDATE/DELETE/TRUNCATE).
"""

from __future__ import annotations

import datetime as _dt
import json
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
    """Append one audit entry inside the caller's transaction."""
    conn.execute(
        audit_log.insert().values(
            user_name=user,
            action=action,
            table_name=table_name,
            record_key=record_key(key) if key is not None else None,
            old={k: jsonable(v) for k, v in old.items()} if old is not None else None,
            new={k: jsonable(v) for k, v in new.items()} if new is not None else None,
            detail=dict(detail) if detail is not None else None,
        )
    )


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
            "old": e.get("old"),
            "new": e.get("new"),
            "detail": e.get("detail"),
        }
        for e in entries
    ]
    conn.execute(audit_log.insert(), rows)
