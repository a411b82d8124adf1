"""Form descriptions generated from :data:`hsctms.model.schema.SCHEMA` (one field per column),
so the web forms always match the importer's columns and rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hsctms.model.scales import EDSS_VALUES
from hsctms.model.schema import SCHEMA, ColumnSpec

#: Tables with a data-entry form, in the order shown on the patient page.
FORM_TABLES: tuple[str, ...] = ("patients", "transplants", "edss", "relapses", "mri", "labs",
                                "adverse_events", "deaths", "dmt")

#: What one row of each table is called (from the schema, :attr:`TableSpec.label`).
TABLE_LABELS: dict[str, str] = {name: spec.label for name, spec in SCHEMA.items()}
#: Headings of lists of rows (:attr:`TableSpec.plural`).
TABLE_PLURALS: dict[str, str] = {name: spec.plural for name, spec in SCHEMA.items()}
#: Largest number of choices a bounded whole-number column is offered as a list (the
#: functional-system scores 0-6, the CTCAE grade 1-5); wider ranges are number inputs.
MAX_CHOICES = 11


@dataclass(frozen=True)
class Field:
    """One form field."""

    name: str
    label: str
    widget: str  # text, date, number, select, hidden
    required: bool
    help: str
    options: tuple[tuple[str, str], ...] = ()
    step: str | None = None
    minimum: float | None = None
    maximum: float | None = None


def _label(col: ColumnSpec) -> str:
    return col.label_with_unit


def column_labels(table: str) -> dict[str, str]:
    """Column name -> label with unit (``"CD34+ dose (10^6/kg)"``) of a table, from the schema.

    Parameters
    ----------
    table : str
        A schema table name.

    Returns
    -------
    dict of str to str
        One entry per column, in file order.
    """
    return {c.name: c.label_with_unit for c in SCHEMA[table].columns}


def field_for(col: ColumnSpec, *, hidden: bool = False) -> Field:
    """The form field of one schema column."""
    required = not col.nullable
    if hidden:
        return Field(col.name, _label(col), "hidden", required, col.description)
    if col.type == "date":
        return Field(col.name, _label(col), "date", required, col.description)
    if col.type == "edss":
        opts = tuple((f"{v:g}", f"{v:.1f}" if v else "0") for v in EDSS_VALUES)
        return Field(col.name, _label(col), "select", required, col.description,
                     (("", "choose"), *opts))
    if col.type == "category":
        opts = tuple((c, c) for c in col.choices)
        return Field(col.name, _label(col), "select", required, col.description,
                     (("", "choose" if required else "not recorded"), *opts))
    if col.type == "bool":
        return Field(col.name, _label(col), "select", required, col.description,
                     (("", "choose" if required else "not recorded"), ("yes", "yes"),
                      ("no", "no")))
    if (col.type == "int" and col.minimum is not None and col.maximum is not None
            and col.maximum - col.minimum < MAX_CHOICES):
        opts = tuple((str(v), str(v)) for v in range(int(col.minimum), int(col.maximum) + 1))
        return Field(col.name, _label(col), "select", required,
                     f"{col.description} Allowed: {int(col.minimum)} to {int(col.maximum)}.",
                     (("", "choose" if required else "not recorded"), *opts))
    if col.type in ("int", "float"):
        return Field(col.name, _label(col), "number", required, col.description,
                     step="1" if col.type == "int" else "any", minimum=col.minimum,
                     maximum=col.maximum)
    return Field(col.name, _label(col), "text", required, col.description)


def form_fields(table: str) -> list[Field]:
    """Fields of a table's form (``patient_id`` hidden on child tables)."""
    spec = SCHEMA[table]
    return [field_for(c, hidden=(c.name == "patient_id" and table != "patients"))
            for c in spec.columns]


def form_values(form: Mapping[str, Any], table: str) -> dict[str, str]:
    """The table's columns from a submitted form (other fields such as the CSRF token are
    dropped); values are stripped strings, parsed later by the importer's rules."""
    spec = SCHEMA[table]
    return {c.name: str(form.get(c.name, "")).strip() for c in spec.columns if c.name in form}


def display(value: Any) -> str:
    """A stored value as shown in tables and form inputs."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
