"""Registry data interchange: the CSV bundle reader/writer and the validation rules.

Public API
----------
:func:`read_bundle`, :func:`load_bundle`, :func:`validate_bundle`, :func:`write_bundle`,
:func:`validate_cohort`, :func:`validate_record`, :class:`ValidationReport`, :class:`Issue`,
:data:`RULES`; :func:`csv_text`, :func:`write_csv` and :func:`neutralise_formula` for CSV
exports (the latter two for files a spreadsheet will open).
"""

from __future__ import annotations

from hsctms.io._issues import Issue, ValidationReport
from hsctms.io.bundle import (
    Manifest,
    bundle_checksum,
    load_bundle,
    read_bundle,
    read_manifest,
    validate_bundle,
    validate_cohort,
    write_bundle,
    write_manifest,
)
from hsctms.io.csvtext import csv_text, neutralise_formula, neutralise_frame, write_csv
from hsctms.io.rules import RULES, Rule
from hsctms.io.validate import ValidationContext, validate_record

__all__ = [
    "RULES",
    "Issue",
    "Manifest",
    "Rule",
    "ValidationContext",
    "ValidationReport",
    "bundle_checksum",
    "csv_text",
    "load_bundle",
    "neutralise_formula",
    "neutralise_frame",
    "read_bundle",
    "read_manifest",
    "validate_bundle",
    "validate_cohort",
    "validate_record",
    "write_bundle",
    "write_csv",
    "write_manifest",
]
