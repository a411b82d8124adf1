"""The committed format and rule documents are generated from the code and in sync."""

from __future__ import annotations

from pathlib import Path

from hsctms.io import RULES
from hsctms.io.docs import render_data_format, render_validation_rules
from hsctms.model import SCHEMA

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_data_format_doc_in_sync() -> None:
    assert (DOCS / "data-format.md").read_text(encoding="utf-8") == render_data_format(), \
        "regenerate: .venv/bin/python -m hsctms.io.docs docs/"


def test_validation_rules_doc_in_sync() -> None:
    assert (DOCS / "validation-rules.md").read_text(encoding="utf-8") == \
        render_validation_rules(), "regenerate: .venv/bin/python -m hsctms.io.docs docs/"


def test_docs_mention_every_column_and_rule() -> None:
    fmt = render_data_format()
    for spec in SCHEMA.values():
        for col in spec.columns:
            assert f"| `{col.name}` |" in fmt
    rules = render_validation_rules()
    for rule_id in RULES:
        assert f"`{rule_id}`" in rules
