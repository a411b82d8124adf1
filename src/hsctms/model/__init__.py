"""Pure domain model: table schemas, clinical scales, regimen classes, records and the Cohort.

Nothing in this package performs I/O beyond reading its own packaged vocabularies
(:mod:`hsctms.model.vocabularies`).
"""

from __future__ import annotations

from hsctms.model.cohort import Cohort
from hsctms.model.regimens import RegimenMap, default_regimen_map
from hsctms.model.scales import EDSS_VALUES, is_valid_edss
from hsctms.model.schema import SCHEMA, ColumnSpec, TableSpec

__all__ = [
    "EDSS_VALUES",
    "SCHEMA",
    "Cohort",
    "ColumnSpec",
    "RegimenMap",
    "TableSpec",
    "default_regimen_map",
    "is_valid_edss",
]
