"""Registry storage: SQLAlchemy tables generated from the schema, Alembic migrations, import
and export of CSV bundles.

SQLite by default (a bare path), PostgreSQL by URL. This package depends on :mod:`hsctms.io`
and :mod:`hsctms.model`; the statistical packages never import it.
"""

from __future__ import annotations

from hsctms.db.engine import (
    connect,
    current_revision,
    display_url,
    ensure_schema,
    existing_registry,
    head_revision,
    open_registry,
    upgrade,
)
from hsctms.db.tables import TABLES, audit_log, imports, metadata

__all__ = [
    "TABLES",
    "audit_log",
    "connect",
    "current_revision",
    "display_url",
    "ensure_schema",
    "existing_registry",
    "head_revision",
    "imports",
    "metadata",
    "open_registry",
    "upgrade",
]

from hsctms.db.importer import (
    BundleConflictError,
    Conflict,
    ImportResult,
    TableCounts,
    import_bundle,
)
from hsctms.db.loader import export_bundle, export_deidentified, load_cohort, read_table

__all__ += [
    "BundleConflictError",
    "Conflict",
    "ImportResult",
    "TableCounts",
    "export_bundle",
    "export_deidentified",
    "import_bundle",
    "load_cohort",
    "read_table",
]
