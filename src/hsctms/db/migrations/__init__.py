"""Alembic migrations of the registry schema (run with :func:`hsctms.db.upgrade`)."""
