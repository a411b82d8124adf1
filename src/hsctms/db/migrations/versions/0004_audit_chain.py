"""Tamper-evident audit trail: a hash chain over ``audit_log`` and guards against REPLACE.

* ``audit_log.prev_hash`` / ``audit_log.hash``: every new entry is chained to the previous one
  (HMAC-SHA-256 with the registry's audit key, or SHA-256 when no key is set; see
  :mod:`hsctms.db.audit`). Entries written before this revision stay unchained (NULL) and are
  reported as such by ``hsctms audit verify``.
* SQLite: ``REPLACE INTO`` (and ``INSERT OR REPLACE``) deletes the conflicting row without
  firing the DELETE trigger; ``BEFORE INSERT`` triggers now refuse any insert that would
  replace a row of an append-only table (same id, or the same unique key).

Revision ID: 0004_audit_chain
Revises: 0003_randomisation
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_audit_chain"
down_revision = "0003_randomisation"
branch_labels = None
depends_on = None

#: append-only table -> column groups that identify a row (primary key and unique keys)
NO_REPLACE: dict[str, tuple[tuple[str, ...], ...]] = {
    "audit_log": (("id",),),
    "imports": (("id",),),
    "allocations": (("id",), ("trial", "sequence"), ("trial", "patient_id")),
    "eligibility_registrations": (("id",), ("trial", "patient_id")),
}


def _no_replace_ddl(table: str, keys: tuple[tuple[str, ...], ...]) -> str:
    cond = " OR ".join(
        "EXISTS (SELECT 1 FROM {t} WHERE {m})".format(
            t=table, m=" AND ".join(f"{c} = NEW.{c}" for c in cols))
        for cols in keys)
    return (f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} WHEN {cond} BEGIN "
            f"SELECT RAISE(ABORT, '{table} is append-only: REPLACE is not allowed'); END")


def upgrade() -> None:
    # plain ADD COLUMN (no batch copy, which would drop the append-only triggers)
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(length=80), nullable=True))
    op.add_column("audit_log", sa.Column("hash", sa.String(length=80), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        for table, keys in NO_REPLACE.items():
            op.execute(_no_replace_ddl(table, keys))


def downgrade() -> None:  # pragma: no cover - registries are never downgraded in place
    if op.get_bind().dialect.name == "sqlite":
        for table in NO_REPLACE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
