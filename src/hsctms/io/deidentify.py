"""De-identified exports of a registry cohort, driven by the schema and a definition file.

The definition (``hsctms/io/deidentify.yaml``, repeated in every export's ``manifest.json``)
and the schema attributes of :class:`~hsctms.model.schema.ColumnSpec` decide what happens to
each column:

1. **Free text** (``free_text``: ``deaths.cause``, ``transplants.mobilisation``,
   ``adverse_events.term``) is dropped. ``transplants.conditioning`` (the regimen as typed)
   becomes its EBMT intensity class (``low`` / ``intermediate`` / ``high``).
2. **Hand-typed codes** (``vocabulary``: ``dmt.drug``, ``labs.test``, ``labs.unit``) are kept
   inside their vocabulary (:mod:`hsctms.model.vocabularies`); any other value (a typo, a
   name, a formula) becomes ``other``.
3. **Quasi-identifiers** (``quasi_identifier``: the ``patients`` columns centre, sex,
   birth year, onset and diagnosis dates, phenotype) are coarsened: ``birth_year`` becomes
   ``age_at_transplant`` in bands (``35-39``), onset and diagnosis dates become
   ``years_onset_to_transplant`` / ``years_diagnosis_to_transplant`` in bands. The export is
   then checked for **k-anonymity** on them: every combination of values must be shared by at
   least ``k`` patients. Smaller groups are suppressed (their values blanked, most identifying
   first, and counted in the manifest) or the export is refused (:class:`DisclosureError`).
4. **Other dates** become days from the patient's index (first) transplant: column ``X``
   becomes ``X_day`` (negative before the transplant, blank without a transplant).
5. **Patient ids** become a fresh random code (``D000001`` ...) on every export, so exports
   cannot be linked with each other or with the registry, unless ``keep_ids=True`` (a role that
   may see the pseudonymous ids).

What it does not protect against (listed in the manifest as ``residual_risks``): follow-up
dates, event counts and measured values are kept exactly, so someone who knows a patient's
visits or events can still recognise them, and two exports of the same registry can be linked
through those values.

>>> from hsctms.datasets import demo_cohort                                # doctest: +SKIP
>>> export = deidentify(demo_cohort(), k=5)                                 # doctest: +SKIP
>>> export.smallest_group >= 5                                              # doctest: +SKIP
True
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hsctms._files import safe_load_yaml
from hsctms._provenance import Provenance
from hsctms.errors import DefinitionError, DisclosureError
from hsctms.io.csvtext import csv_text
from hsctms.model.schema import SCHEMA, ColumnSpec
from hsctms.model.vocabularies import VOCABULARIES, in_vocabulary

__all__ = [
    "OTHER",
    "QI_OUTPUT",
    "RESIDUAL_RISKS",
    "DeidentificationDefinition",
    "DeidentifiedExport",
    "default_definition",
    "deidentify",
    "load_definition",
    "quasi_identifier_outputs",
]

#: Output column of each quasi-identifier of ``patients`` (the others keep their name).
QI_OUTPUT: dict[str, str] = {
    "birth_year": "age_at_transplant",
    "onset_date": "years_onset_to_transplant",
    "diagnosis_date": "years_diagnosis_to_transplant",
}

#: Output quasi-identifier -> its schema column of ``patients``.
_QI_SOURCE: dict[str, ColumnSpec] = {
    QI_OUTPUT.get(c.name, c.name): c for c in SCHEMA["patients"].columns if c.quasi_identifier}

#: Value written instead of a code outside its vocabulary.
OTHER = "other"

RESIDUAL_RISKS: tuple[str, ...] = (
    "Follow-up dates (days from the index transplant), event counts and measured values are "
    "kept exactly: someone who knows a patient's visits, relapses or results can still "
    "recognise that patient.",
    "Two exports of the same registry can be linked through those exact values, although "
    "their patient codes differ.",
    "k-anonymity protects against singling out by the quasi-identifiers only; a group of k "
    "patients who share a sensitive value (e.g. all died) still discloses it.",
)


class DeidentificationDefinition(BaseModel):
    """The settings of ``deidentify.yaml`` (see that file for what each one means).

    Parameters
    ----------
    version
        Format version of the definition.
    k
        Smallest group size of the k-anonymity check.
    max_suppressed_fraction
        Largest fraction of patients whose values may be blanked.
    hierarchies
        For each quasi-identifier, its generalisation levels (band widths in years, or maps
        of codes to groups).
    on_small_groups
        ``"suppress"`` (blank values) or ``"refuse"`` (raise) when a group stays smaller
        than ``k``.
    suppression_order
        Quasi-identifiers in the order their values are blanked.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    k: int = Field(5, ge=2, le=1000)
    max_suppressed_fraction: float = Field(0.10, ge=0.0, le=1.0)
    hierarchies: dict[str, tuple[int, ...] | tuple[dict[str, str], ...]]
    on_small_groups: Literal["suppress", "refuse"] = "suppress"
    suppression_order: tuple[str, ...]

    @model_validator(mode="after")
    def _check_quasi_identifiers(self) -> DeidentificationDefinition:
        known = [c for c in quasi_identifier_outputs() if c != "centre"]
        if sorted(self.suppression_order) != sorted(known):
            raise ValueError(f"suppression_order must list each of {known} once "
                             f"(got {list(self.suppression_order)})")
        if sorted(self.hierarchies) != sorted(known):
            raise ValueError(f"hierarchies must have one entry for each of {known} "
                             f"(got {sorted(self.hierarchies)})")
        for name, levels in self.hierarchies.items():
            source = _QI_SOURCE[name]
            if source.type in ("int", "date"):
                widths = [w for w in levels if isinstance(w, int)]
                if len(widths) != len(levels) or min(widths, default=1) < 1 or \
                        widths != sorted(set(widths)):
                    raise ValueError(f"hierarchies.{name}: band widths in years, whole "
                                     f"numbers >= 1 in increasing order (got {list(levels)})")
            else:
                for i, level in enumerate(levels):
                    if not isinstance(level, dict) or set(level) != set(source.choices):
                        raise ValueError(f"hierarchies.{name}[{i}]: map each of "
                                         f"{list(source.choices)} to its group")
        return self

    def describe(self, name: str, level: int) -> str:
        """Words for quasi-identifier ``name`` generalised to ``level``.

        Parameters
        ----------
        name
            Output name of the quasi-identifier.
        level
            Generalisation level (0: the first of its hierarchy).

        Returns
        -------
        str
            E.g. ``"5-year bands"``.
        """
        levels = self.hierarchies[name]
        if level >= len(levels):
            return "blank for every patient (generalised away)"
        step = levels[level]
        if isinstance(step, int):
            return f"{step}-year bands" if step > 1 else "whole years"
        groups = sorted(set(step.values()))
        return "kept" if set(step) == set(groups) else "grouped as " + " / ".join(groups)


def quasi_identifier_outputs() -> list[str]:
    """Output names of the ``patients`` quasi-identifiers, in schema order.

    Returns
    -------
    list of str
        E.g. ``age_at_transplant``, ``sex``, ...
    """
    return [QI_OUTPUT.get(c.name, c.name) for c in SCHEMA["patients"].columns
            if c.quasi_identifier]


@lru_cache(maxsize=1)
def default_definition() -> DeidentificationDefinition:
    """The packaged definition, ``hsctms/io/deidentify.yaml``."""
    text = files("hsctms.io").joinpath("deidentify.yaml").read_text(encoding="utf-8")
    return load_definition(safe_load_yaml(text))


def load_definition(data: Mapping[str, Any]) -> DeidentificationDefinition:
    """A :class:`DeidentificationDefinition` from a mapping (e.g. a parsed YAML file).

    Parameters
    ----------
    data
        The settings.

    Returns
    -------
    DeidentificationDefinition
        The checked definition.

    Raises
    ------
    DefinitionError
        When a setting is unknown, missing or out of range (each problem named).
    """
    try:
        return DeidentificationDefinition.model_validate(dict(data))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'definition'}: {e['msg']}"
                             for e in exc.errors())
        raise DefinitionError(f"Invalid de-identification definition: {problems}.",
                              hint="Start from hsctms/io/deidentify.yaml.") from None


@dataclass(frozen=True)
class DeidentifiedExport:
    """A de-identified copy of a cohort's tables, with the k-anonymity check's outcome.

    Built by :func:`deidentify`.

    Parameters
    ----------
    tables
        Table name -> de-identified frame (the columns of :meth:`column_rules`).
    definition
        The definition applied (its ``k`` is the k of the check).
    keep_ids
        Whether pseudonymous patient ids were kept (else random per-export codes).
    smallest_group
        Size of the smallest group of patients sharing every quasi-identifier value, after
        suppression (None for an export without patients).
    groups
        Number of such groups.
    suppressed_patients
        Patients with at least one quasi-identifier blanked.
    suppressed_values
        Quasi-identifier output column -> number of values blanked.
    suppressed_centres
        Centres blanked because they have fewer than ``k`` patients (default: none).
    levels
        Quasi-identifier -> the hierarchy level it was generalised to (0: most detailed;
        default: empty).
    provenance
        How the export was made.
    """

    tables: Mapping[str, pd.DataFrame]
    definition: DeidentificationDefinition
    keep_ids: bool
    smallest_group: int | None
    groups: int
    suppressed_patients: int
    suppressed_values: Mapping[str, int]
    suppressed_centres: tuple[str, ...] = ()
    levels: Mapping[str, int] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=lambda: Provenance("io.deidentify"))

    @property
    def k(self) -> int:
        """The k of the k-anonymity check."""
        return self.definition.k

    @property
    def summary(self) -> str:
        """A few lines for the terminal or a log."""
        rows = ", ".join(f"{name} {len(frame)}" for name, frame in self.tables.items())
        lines = [
            f"De-identified export ({'pseudonymous ids' if self.keep_ids else 'random codes'}"
            f"{', synthetic data' if self.provenance.synthetic else ''}): {rows} rows.",
            f"k-anonymity on {', '.join(quasi_identifier_outputs())}: k = {self.k}, "
            f"{self.groups} groups, smallest {self.smallest_group if self.groups else '-'}.",
            "Generalised: " + "; ".join(
                f"{name} {self.definition.describe(name, level)}"
                for name, level in self.levels.items()) + ".",
        ]
        if self.suppressed_patients:
            blanked = ", ".join(f"{c} {n}" for c, n in self.suppressed_values.items() if n)
            lines.append(f"Suppressed: {self.suppressed_patients} patients had values blanked "
                         f"({blanked})"
                         + (f"; centres blanked: {', '.join(self.suppressed_centres)}"
                            if self.suppressed_centres else "") + ".")
        return "\n".join(lines)

    def column_rules(self) -> list[dict[str, Any]]:
        """What happened to every schema column: table, column, output column, rule.

        Returns
        -------
        list of dict
            One entry per schema column.
        """
        out = []
        for table, spec in SCHEMA.items():
            for col in spec.columns:
                output, rule = _rule(table, col, keep_ids=self.keep_ids,
                                     definition=self.definition, levels=self.levels)
                out.append({"table": table, "column": col.name, "output": output,
                            "rule": rule})
        return out

    def to_frame(self) -> pd.DataFrame:
        """:meth:`column_rules` as a frame (one row per schema column).

        Returns
        -------
        DataFrame
            Columns table, column, output, rule.
        """
        return pd.DataFrame(self.column_rules())

    def to_dict(self) -> dict[str, Any]:
        """The manifest (``manifest.json`` of the export): definition, rules, check, risks.

        Returns
        -------
        dict
            The JSON document.
        """
        return {
            "format": "hsctms-deidentified",
            "definition": self.definition.model_dump(mode="json"),
            "patient_ids": "pseudonymous" if self.keep_ids else "random code per export",
            "columns": self.column_rules(),
            "k_anonymity": {
                "quasi_identifiers": quasi_identifier_outputs(),
                "k": self.k,
                "groups": self.groups,
                "smallest_group": self.smallest_group,
                "suppressed_patients": self.suppressed_patients,
                "suppressed_values": dict(self.suppressed_values),
                "suppressed_centres": list(self.suppressed_centres),
                "generalisation": {name: self.definition.describe(name, level)
                                   for name, level in self.levels.items()},
            },
            "rows": {name: len(frame) for name, frame in self.tables.items()},
            "formulas": "text beginning with =, +, -, @, a tab or a carriage return is "
                        "prefixed with ' in the CSV files",
            "residual_risks": list(RESIDUAL_RISKS),
            "provenance": self.provenance.to_dict(),
        }

    def files(self) -> dict[str, bytes]:
        """The export's files: one neutralised CSV per table, ``manifest.json``, ``README.txt``.

        Returns
        -------
        dict of str to bytes
            File name -> contents.
        """
        out = {f"{name}.csv": csv_text(frame, neutralise_formulas=True).encode()
               for name, frame in self.tables.items()}
        out["manifest.json"] = (json.dumps(self.to_dict(), indent=2) + "\n").encode()
        out["README.txt"] = _readme(self).encode()
        return out


def deidentify(cohort: Any, *, keep_ids: bool = False, k: int | None = None,
               on_small_groups: Literal["suppress", "refuse"] | None = None,
               definition: DeidentificationDefinition | None = None,
               rng: np.random.Generator | None = None) -> DeidentifiedExport:
    """De-identify a :class:`~hsctms.model.cohort.Cohort` (see the module docstring).

    Parameters
    ----------
    cohort
        The cohort (usually :func:`hsctms.db.load_cohort` of one centre or the registry).
    keep_ids
        Keep the pseudonymous patient ids (only for roles that may see them).
    k, on_small_groups
        Override the definition's ``k`` and ``on_small_groups``.
    definition
        The definition (default: :func:`default_definition`).
    rng
        Random generator of the patient codes (default: seeded from :mod:`secrets`).

    Returns
    -------
    DeidentifiedExport
        The de-identified tables and the outcome of the k-anonymity check.

    Raises
    ------
    DisclosureError
        ``on_small_groups="refuse"`` and a group has fewer than ``k`` patients, or the export
        has fewer than ``k`` patients at all.
    """
    base = definition or default_definition()
    overrides = {key: value for key, value in
                 (("k", k), ("on_small_groups", on_small_groups)) if value is not None}
    rules = load_definition({**base.model_dump(), **overrides}) if overrides else base
    day0 = cohort.index_transplant().set_index("patient_id")["transplant_date"]
    day0_of = {str(k): v for k, v in day0.items()}  # (Series.map fails on empty frames)
    mapping = _codes(cohort.patients["patient_id"].astype(str).tolist(), keep_ids, rng)
    tables: dict[str, pd.DataFrame] = {}
    for name, spec in SCHEMA.items():
        df = cohort.tables[name]
        origin = pd.to_datetime(df["patient_id"].astype(str).map(day0_of).astype(object))
        cols: dict[str, Any] = {"patient_id": df["patient_id"].astype(str).map(mapping)}
        for col in spec.columns:
            if col.name == "patient_id" or col.free_text:
                continue
            out_name = _rule(name, col, keep_ids=keep_ids, definition=rules)[0]
            if col.quasi_identifier:
                cols[str(out_name)] = _raw_quasi_identifier(col, df[col.name], origin)
            elif col.type == "date":
                cols[str(out_name)] = pd.array(
                    (pd.to_datetime(df[col.name]) - origin).dt.days, dtype="Int64")
            elif name == "transplants" and col.name == "conditioning":
                cols[str(out_name)] = cohort.regimen_map.classify_many(
                    df["conditioning"]).astype("string").to_numpy()
            elif col.vocabulary is not None:
                values = df[col.name].astype("string")
                keep = in_vocabulary(col.vocabulary, values,
                                     tests=df["test"] if col.vocabulary == "lab_unit" else None)
                cols[col.name] = values.where(keep, OTHER).to_numpy(dtype=object)
            else:
                cols[col.name] = df[col.name].to_numpy()
        tables[name] = pd.DataFrame(cols)
    raw = tables["patients"]
    check = _k_anonymise(raw, rules)
    tables["patients"] = pd.concat([raw[["patient_id"]], check.pop("frame")], axis=1)
    for name, frame in tables.items():
        tables[name] = frame.sort_values(list(frame.columns[:2])).reset_index(drop=True)
    prov = Provenance("io.deidentify", definition=rules.model_dump(mode="json"),
                      n=len(tables["patients"]), synthetic=bool(cohort.synthetic))
    return DeidentifiedExport(tables=tables, definition=rules, keep_ids=keep_ids,
                              provenance=prov, **check)


def _codes(ids: list[str], keep_ids: bool, rng: np.random.Generator | None) -> dict[str, str]:
    if keep_ids:
        return {i: i for i in ids}
    gen = rng or np.random.default_rng(secrets.randbits(64))
    order = gen.permutation(len(ids))
    return {ids[j]: f"D{n + 1:06d}" for n, j in enumerate(order)}


def _raw_quasi_identifier(col: ColumnSpec, values: pd.Series, origin: pd.Series) -> np.ndarray:
    """A quasi-identifier before generalisation: years (age, durations) or the text value."""
    if col.name == "birth_year":
        age = origin.dt.year - pd.to_numeric(values, errors="raise")
        return age.astype("Float64").to_numpy(dtype=object, na_value=np.nan)
    if col.type == "date":
        years = (origin - pd.to_datetime(values)).dt.days / 365.25
        return years.astype("Float64").to_numpy(dtype=object, na_value=np.nan)
    return values.astype("string").to_numpy(dtype=object, na_value=pd.NA)


def _band(values: pd.Series, width: int) -> pd.Series:
    """Whole years in bands of ``width``: 37.4 -> '35-39' (width 1: '37')."""
    def label(v: Any) -> Any:
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return pd.NA
        lo = math.floor(float(v) / width) * width
        return str(lo) if width == 1 else f"{lo}-{lo + width - 1}"
    return values.astype(object).map(label).astype("string")


def _generalise(raw: pd.DataFrame, levels: Mapping[str, int],
                rules: DeidentificationDefinition,
                cache: dict[tuple[str, int], pd.Series] | None = None) -> pd.DataFrame:
    """The quasi-identifiers at the given hierarchy levels (as text; blank past the last).

    ``cache`` keeps each (column, level) once across the calls of the level search.
    """
    cache = {} if cache is None else cache
    out = pd.DataFrame(index=raw.index)
    out["centre"] = raw["centre"].astype("string")
    for name, steps in rules.hierarchies.items():
        level = levels[name]
        if (name, level) not in cache:
            if level >= len(steps):
                column = pd.Series(pd.NA, index=raw.index, dtype="string")
            elif isinstance(step := steps[level], int):
                column = _band(raw[name], step)
            else:
                column = raw[name].astype("string").map(step).astype("string")
            cache[(name, level)] = column
        out[name] = cache[(name, level)]
    return out[quasi_identifier_outputs()]


def _group_sizes(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Per row: the number of rows with the same values in ``columns`` (blank = a value)."""
    if frame.empty:
        return pd.Series([], dtype="int64")
    keys = frame[columns].astype("string").fillna("\x00")
    return keys.groupby(columns, sort=False)[columns[0]].transform("size").astype("int64")


def _generalisation_levels(raw: pd.DataFrame, rules: DeidentificationDefinition
                           ) -> dict[str, int]:
    """Hierarchy levels, generalised one quasi-identifier one level at a time.

    Each step is the one that hides the most patients of small groups per unit of precision
    lost (Sweeney's precision metric: a step of a hierarchy with ``h`` levels costs ``1/h``,
    so blanking sex costs as much as widening an age band three times), until at most
    ``max_suppressed_fraction`` of the patients are in groups smaller than k.
    """
    qi = quasi_identifier_outputs()
    levels = dict.fromkeys(rules.hierarchies, 0)
    limit = rules.max_suppressed_fraction * len(raw)
    columns: dict[tuple[str, int], pd.Series] = {}

    def n_small(candidate: Mapping[str, int]) -> int:
        view = _generalise(raw, candidate, rules, columns)
        return int((_group_sizes(view, qi) < rules.k).sum())

    current = n_small(levels)
    while current > limit:
        trials = []
        for c in rules.suppression_order:
            height = len(rules.hierarchies[c])
            if levels[c] < height:
                after = n_small({**levels, c: levels[c] + 1})
                trials.append(((current - after) * height, -1.0 / height,
                               -rules.suppression_order.index(c), after, c))
        if not trials:
            break
        *_, current, best = max(trials)
        levels[best] += 1
    return levels


def _k_anonymise(raw: pd.DataFrame, rules: DeidentificationDefinition) -> dict[str, Any]:
    """Generalise, check and (with ``suppress``) enforce k-anonymity on the quasi-identifiers."""
    qi = quasi_identifier_outputs()
    k = rules.k
    if len(raw) and len(raw) < k:
        raise DisclosureError(
            f"The export would hold {len(raw)} patients, fewer than k = {k}: no grouping "
            "can hide them.", hint="Export more centres together, or ask for an identifiable "
            "export if your role allows it.")
    levels = _generalisation_levels(raw, rules)
    frame = _generalise(raw, levels, rules)
    sizes = _group_sizes(frame, qi)
    if rules.on_small_groups == "refuse" and bool((sizes < k).any()):
        n_small = int((sizes < k).sum())
        raise DisclosureError(
            f"{n_small} patients are in groups of fewer than k = {k} patients sharing "
            f"{', '.join(qi)} (smallest group: {int(sizes.min())}); nothing was exported.",
            hint="Use on_small_groups='suppress' to blank their quasi-identifiers, add "
                 "coarser hierarchy levels, or export more centres together.")
    blanked = dict.fromkeys(rules.suppression_order, 0)
    touched = pd.Series(False, index=frame.index)
    for col in rules.suppression_order:
        small = sizes < k
        if not small.any():
            break
        changed = small & frame[col].notna()
        blanked[col] += int(changed.sum())
        frame.loc[small, col] = pd.NA
        touched |= changed
        sizes = _group_sizes(frame, qi)
    others = list(rules.suppression_order)
    for centre in frame.loc[sizes < k, "centre"].dropna().unique():
        # The centre's fully blanked patients are fewer than k: blank the centre's smallest
        # remaining group too (a whole group, so no other group falls below k).
        rest = frame[(frame["centre"] == centre) & frame[others].notna().any(axis=1)]
        if rest.empty:
            continue
        _blank(frame, _smallest_group(rest, qi), others, blanked, touched)
    sizes = _group_sizes(frame, qi)
    centres: tuple[str, ...] = ()
    if bool((sizes < k).any()):
        # Centres with fewer than k patients: pooled under a blank centre.
        small = sizes < k
        centres = tuple(sorted(str(c) for c in frame.loc[small, "centre"].dropna().unique()))
        frame.loc[small, "centre"] = pd.NA
        touched |= small
        sizes = _group_sizes(frame, qi)
        if bool((sizes < k).any()):
            rest = frame[frame["centre"].notna()]
            if rest.empty:
                raise DisclosureError(
                    f"The small centres pooled hold {int((sizes < k).sum())} patients, fewer "
                    f"than k = {k}.", hint="Export more centres together.")
            members = _smallest_group(rest, qi)
            centres = tuple(sorted({*centres, *map(str, frame.loc[members, "centre"])}))
            _blank(frame, members, qi, blanked, touched)
            sizes = _group_sizes(frame, qi)
    return {
        "frame": frame,
        "levels": levels,
        "smallest_group": int(sizes.min()) if len(sizes) else None,
        "groups": int(frame.astype("string").fillna("\x00").drop_duplicates().shape[0]),
        "suppressed_patients": int(touched.sum()),
        "suppressed_values": {**blanked, "centre": int(frame["centre"].isna().sum())},
        "suppressed_centres": centres,
    }


def _blank(frame: pd.DataFrame, members: pd.Index, columns: list[str],
           blanked: dict[str, int], touched: pd.Series) -> None:
    """Blank ``columns`` of the rows ``members`` (a whole group), counting the values blanked
    per column (the centre is counted from the frame at the end) and the patients touched."""
    present = frame.loc[members, columns].notna()
    for c in columns:
        if c in blanked:
            blanked[c] += int(present[c].sum())
    touched.loc[members] |= present.any(axis=1)
    frame.loc[members, columns] = pd.NA


def _smallest_group(frame: pd.DataFrame, columns: list[str]) -> pd.Index:
    """Index of the rows of (one of) the smallest group(s) of ``frame``."""
    keys = frame[columns].astype("string").fillna("\x00")
    sizes = _group_sizes(frame, columns)
    first = keys.loc[sizes.idxmin()]
    return frame.index[(keys == first).all(axis=1)]


def _rule(table: str, col: ColumnSpec, *, keep_ids: bool,
          definition: DeidentificationDefinition,
          levels: Mapping[str, int] | None = None) -> tuple[str | None, str]:
    """(output column or None, rule in words) for one schema column."""
    if col.name == "patient_id":
        return "patient_id", ("pseudonymous id kept" if keep_ids
                              else "replaced by a random code, new on every export")
    if col.free_text:
        return None, "dropped (free text)"
    if col.quasi_identifier:
        out = QI_OUTPUT.get(col.name, col.name)
        what = {"birth_year": "age at the index transplant",
                "onset_date": "years from MS onset to the index transplant",
                "diagnosis_date": "years from diagnosis to the index transplant"}.get(
                    col.name, "value")
        if out == "centre":
            return out, "quasi-identifier: kept; blank for centres pooled below k"
        level = definition.describe(out, (levels or {}).get(out, 0))
        return out, f"quasi-identifier: {what}, {level}; blank where suppressed below k"
    if col.type == "date":
        return f"{col.name}_day", "days from the index transplant"
    if table == "transplants" and col.name == "conditioning":
        return "intensity", "replaced by its EBMT intensity class"
    if col.vocabulary is not None:
        return col.name, (f"code kept if in the vocabulary ({VOCABULARIES[col.vocabulary]}), "
                          f"else '{OTHER}'")
    return col.name, "kept"


def _readme(export: DeidentifiedExport) -> str:
    return (
        "De-identified hsctms registry export.\n\n"
        "manifest.json says what was done to every column (free text dropped, codes outside "
        "their vocabulary replaced by 'other', ages and disease durations in bands, other "
        "dates as days from the index transplant, patient codes), the k-anonymity check on the "
        "quasi-identifiers and what it suppressed, and the risks that remain.\n"
        "Text beginning with =, +, -, @, a tab or a carriage return is prefixed with ' so that "
        "a spreadsheet does not run it; these files are for reading, not for re-import.\n\n"
        + export.summary + "\n"
        + ("\nSYNTHETIC DATA: generated by the hsctms demo disease model, not real patients.\n"
           if export.provenance.synthetic else "")
    )
