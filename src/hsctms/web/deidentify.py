"""De-identified exports of the registry.

Definition (applied to every export a role without ``export_identifiable`` receives):

1. **Free text is dropped**: ``deaths.cause`` and ``transplants.mobilisation`` (recorded as
   free text); ``transplants.conditioning`` (free text) is replaced by its EBMT intensity
   class (``low`` / ``intermediate`` / ``high``, via the cohort's regimen map).
   Columns meant to hold codes are typed by hand, so they can carry names or formulas: a DMT
   ``drug`` is kept only when it is a generic name of the DMT catalogue
   (``hsctms/patient/dmts.yaml``), a lab ``test`` only when it is a documented test code and
   its ``unit`` only when it is that test's usual unit; anything else becomes ``other``. The
   adverse-event ``term`` (free text: no controlled vocabulary is enforced at entry) is
   dropped; grade and relation stay.
2. **Dates become days from the index transplant** (day 0 = first transplant): every date
   column ``X`` is replaced by the integer column ``X_day`` (negative before the transplant;
   blank when the patient has no transplant). ``birth_year`` is replaced by
   ``age_at_transplant`` (years).
3. **Identifiers**: the pseudonymous ``patient_id`` is kept only when the role may keep it
   (``keep_ids=True``: centre leads for their own centre and administrators); otherwise it is
   replaced by a new random code (``D000001``...) that differs on every export, so exports
   cannot be linked with each other or with the registry.
4. The centre code is kept (it is needed for multi-centre analysis).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hsctms.model.schema import LAB_TESTS, SCHEMA

#: Free-text columns (``ColumnSpec.free_text``) left out of the export, per table.
DROPPED: dict[str, tuple[str, ...]] = {
    table: tuple(c.name for c in spec.columns if c.free_text)
    for table, spec in SCHEMA.items() if any(c.free_text for c in spec.columns)}

#: Value written instead of a code outside its vocabulary.
OTHER = "other"


def _dmt_names() -> frozenset[str]:
    import yaml

    path = Path(__file__).resolve().parents[1] / "patient" / "dmts.yaml"
    return frozenset(str(d["name"]) for d in yaml.safe_load(path.read_text(encoding="utf-8")))


def _coded(name: str, column: str, df: pd.DataFrame) -> np.ndarray | None:
    """Values of a code column kept only inside their vocabulary (None: not a code column)."""
    values = df[column].astype("string")
    if name == "dmt" and column == "drug":
        known = values.isin(_dmt_names())
    elif name == "labs" and column == "test":
        known = values.isin(list(LAB_TESTS))
    elif name == "labs" and column == "unit":
        known = values == df["test"].astype("string").map(LAB_TESTS).astype("string")
    else:
        return None
    keep = known.fillna(False).to_numpy(dtype=bool) | values.isna().to_numpy()
    return values.where(keep, OTHER).to_numpy(dtype=object)


def deidentify(cohort: Any, *, keep_ids: bool = False,
               rng: np.random.Generator | None = None) -> dict[str, pd.DataFrame]:
    """The de-identified tables of a :class:`~hsctms.model.cohort.Cohort` (see module doc)."""
    index = cohort.index_transplant()
    day0 = index.set_index("patient_id")["transplant_date"]
    ids = cohort.patients["patient_id"].astype(str).tolist()
    if keep_ids:
        mapping = {i: i for i in ids}
    else:
        gen = rng or np.random.default_rng(secrets.randbits(64))
        order = gen.permutation(len(ids))
        mapping = {ids[j]: f"D{k + 1:06d}" for k, j in enumerate(order)}
    out: dict[str, pd.DataFrame] = {}
    for name, spec in SCHEMA.items():
        df = cohort.tables[name].copy()
        origin = df["patient_id"].astype(str).map(day0)
        cols: dict[str, Any] = {"patient_id": df["patient_id"].astype(str).map(mapping)}
        for col in spec.columns:
            if col.name == "patient_id" or col.name in DROPPED.get(name, ()):
                continue
            if col.type == "date":
                cols[f"{col.name}_day"] = pd.array(
                    (pd.to_datetime(df[col.name]) - pd.to_datetime(origin)).dt.days,
                    dtype="Int64")
            elif name == "patients" and col.name == "birth_year":
                cols["age_at_transplant"] = pd.array(
                    pd.to_datetime(origin).dt.year - df["birth_year"].astype("Float64"),
                    dtype="Int64")
            elif name == "transplants" and col.name == "conditioning":
                cols["intensity"] = cohort.regimen_map.classify_many(
                    df["conditioning"]).astype("string").to_numpy()
            elif (coded := _coded(name, col.name, df)) is not None:
                cols[col.name] = coded
            else:
                cols[col.name] = df[col.name].to_numpy()
        frame = pd.DataFrame(cols)
        out[name] = frame.sort_values(list(frame.columns[:2])).reset_index(drop=True)
    return out
