"""Relapse end dates: ``relapses.end_date`` (nullable; blank = not recorded).

Revision ID: 0005_relapse_end
Revises: 0004_audit_chain
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_relapse_end"
down_revision = "0004_audit_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("relapses") as batch:
        batch.add_column(sa.Column("end_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("relapses") as batch:
        batch.drop_column("end_date")
