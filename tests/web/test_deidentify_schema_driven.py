"""The de-identified export drops the columns the schema marks as free text."""

from __future__ import annotations


def test_dropped_columns_come_from_the_schema() -> None:
    from hsctms.model.schema import SCHEMA
    from hsctms.web.deidentify import DROPPED

    assert DROPPED == {"transplants": ("mobilisation",), "adverse_events": ("term",),
                       "deaths": ("cause",)}
    assert all(SCHEMA[t].column(c).free_text for t, cols in DROPPED.items() for c in cols)
