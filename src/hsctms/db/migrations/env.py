"""Alembic environment: run programmatically by :func:`hsctms.db.upgrade` (no alembic.ini).

The caller passes an open connection in ``config.attributes["connection"]``; the migration
runs inside the caller's transaction.
"""

from __future__ import annotations

from alembic import context

from hsctms.db.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when alembic is run by hand
    raise RuntimeError("Run migrations through hsctms.db.upgrade(url) or 'hsctms db upgrade'.")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
