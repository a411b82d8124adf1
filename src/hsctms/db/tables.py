"""SQLAlchemy table definitions, generated from :data:`hsctms.model.schema.SCHEMA`.

Every registry table gets, besides its schema columns:

* ``id``: surrogate integer primary key (what URLs and foreign keys of later tables use);
* a unique constraint on the table's natural key (``uq_<table>_key``);
* ``version``: integer for optimistic locking (starts at 1, +1 on each update);
* ``created_at`` / ``updated_at``: server timestamps (UTC).

Child tables reference ``patients.patient_id`` (``ON DELETE RESTRICT``); the centre lives on
``patients`` (indexed) and scopes every child row through its patient.

``audit_log`` is append-only (database triggers reject UPDATE, DELETE and TRUNCATE) and
``imports`` records each bundle import. The schema is created and changed only by the Alembic
migrations in :mod:`hsctms.db.migrations`; a test checks that these definitions and the
migrated database agree, so a change here without a migration fails CI.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from hsctms.model.schema import SCHEMA, ColumnSpec, TableSpec

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

#: JSON stored as JSONB on PostgreSQL, as text elsewhere.
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

#: Columns every registry table has besides its schema columns.
BOOKKEEPING = ("id", "version", "created_at", "updated_at")

NOW = sa.text("CURRENT_TIMESTAMP")


def sql_type(col: ColumnSpec) -> sa.types.TypeEngine[Any]:
    """SQL type of a schema column."""
    kind = col.type
    if kind == "id":
        return sa.String(64)
    if kind == "category":
        return sa.String(32)
    if kind == "str":
        return sa.Text()
    if kind == "date":
        return sa.Date()
    if kind == "int":
        return sa.Integer()
    if kind in ("float", "edss"):
        return sa.Float(precision=53)
    if kind == "bool":
        return sa.Boolean(create_constraint=False)
    raise ValueError(f"unknown column type {kind!r}")  # pragma: no cover


def _registry_table(spec: TableSpec) -> sa.Table:
    columns: list[sa.schema.SchemaItem] = [sa.Column("id", sa.Integer, primary_key=True)]
    for col in spec.columns:
        args: list[sa.schema.SchemaItem] = []
        if col.name == "patient_id" and spec.name != "patients":
            args.append(sa.ForeignKey("patients.patient_id", ondelete="RESTRICT"))
        columns.append(sa.Column(col.name, sql_type(col), *args, nullable=col.nullable))
    columns += [
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=NOW),
        sa.UniqueConstraint(*spec.key, name=f"uq_{spec.name}_key"),
    ]
    table = sa.Table(spec.name, metadata, *columns)
    if spec.name == "patients":
        sa.Index("ix_patients_centre", table.c.centre)
    return table


#: Registry tables by name, in load order (patients first).
TABLES: dict[str, sa.Table] = {name: _registry_table(spec) for name, spec in SCHEMA.items()}

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    sa.Column("user_name", sa.String(128), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("table_name", sa.String(64), nullable=True),
    sa.Column("record_key", sa.Text, nullable=True),
    sa.Column("old", JSONType, nullable=True),
    sa.Column("new", JSONType, nullable=True),
    sa.Column("detail", JSONType, nullable=True),
    sa.Column("prev_hash", sa.String(80), nullable=True),
    sa.Column("hash", sa.String(80), nullable=True),
)
sa.Index("ix_audit_log_table_name_record_key", audit_log.c.table_name, audit_log.c.record_key)

imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    sa.Column("user_name", sa.String(128), nullable=False),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("synthetic", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("data_date", sa.Date, nullable=True),
    sa.Column("format_version", sa.Integer, nullable=True),
    sa.Column("counts", JSONType, nullable=False),
)

#: Tables that may never be updated or deleted from (enforced by triggers).
APPEND_ONLY: tuple[str, ...] = ("audit_log", "imports")
