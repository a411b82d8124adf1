"""Randomisation: eligibility registrations and the append-only allocation log.

Revision ID: 0003_randomisation
Revises: 0002_web_users
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_randomisation"
down_revision = "0002_web_users"
branch_labels = None
depends_on = None

APPEND_ONLY = ("eligibility_registrations", "allocations")


def _append_only_ddl(table: str) -> list[str]:
    # Same triggers as audit_log (0001_initial); the PostgreSQL function exists since 0001.
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        return [
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION hsctms_append_only()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION hsctms_append_only()",
        ]
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN "
            f"SELECT RAISE(ABORT, '{table} is append-only: UPDATE is not allowed'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN "
            f"SELECT RAISE(ABORT, '{table} is append-only: DELETE is not allowed'); END",
        ]
    return []


def upgrade() -> None:
    op.create_table(
        "eligibility_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("eligible", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("confirmed_by", sa.String(length=128), nullable=False),
        sa.Column("factors", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_eligibility_registrations"),
        sa.UniqueConstraint("trial", "patient_id", name="uq_eligibility_trial_patient"),
    )
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("arm", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("factors", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("eligibility_confirmed_by", sa.String(length=128), nullable=False),
        sa.Column("seed_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.String(length=40), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_allocations"),
        sa.UniqueConstraint("trial", "sequence", name="uq_allocations_trial_sequence"),
        sa.UniqueConstraint("trial", "patient_id", name="uq_allocations_trial_patient"),
    )
    for table in APPEND_ONLY:
        for ddl in _append_only_ddl(table):
            op.execute(ddl)


def downgrade() -> None:
    op.drop_table("allocations")
    op.drop_table("eligibility_registrations")
