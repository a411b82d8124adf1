"""De-identification as data: schema attributes, generalisation and k-anonymity.

The k-anonymity checks recount the groups with pandas ``value_counts`` on the exported table,
independently of the module's own group sizes.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsctms.errors import DefinitionError, DisclosureError
from hsctms.io.deidentify import (
    default_definition,
    deidentify,
    load_definition,
    quasi_identifier_outputs,
)
from hsctms.model.cohort import Cohort
from hsctms.model.schema import SCHEMA

QI = ["centre", "sex", "age_at_transplant", "years_onset_to_transplant",
      "years_diagnosis_to_transplant", "phenotype"]


def smallest_group(patients: pd.DataFrame) -> int:
    """Smallest number of exported patients sharing every quasi-identifier value."""
    return int(patients[QI].astype("string").fillna("<blank>").value_counts().min())


def cohort(rows: list[tuple[str, str, int, str, str, str]]) -> Cohort:
    """(centre, sex, birth year, onset, diagnosis, phenotype) per patient; transplant
    2020-01-01 for all."""
    ids = [f"P{i:03d}" for i in range(len(rows))]
    return Cohort.from_frames(
        patients=pd.DataFrame({
            "patient_id": ids, "centre": [r[0] for r in rows], "sex": [r[1] for r in rows],
            "birth_year": [r[2] for r in rows],
            "onset_date": pd.to_datetime([r[3] for r in rows]),
            "diagnosis_date": pd.to_datetime([r[4] for r in rows]),
            "phenotype": [r[5] for r in rows]}),
        transplants=pd.DataFrame({"patient_id": ids,
                                  "transplant_date": pd.Timestamp("2020-01-01"),
                                  "conditioning": "BEAM+ATG"}))


def test_quasi_identifiers_and_free_text_come_from_the_schema() -> None:
    assert quasi_identifier_outputs() == QI
    assert [c.name for c in SCHEMA["patients"].columns if c.quasi_identifier] == [
        "centre", "sex", "birth_year", "onset_date", "diagnosis_date", "phenotype"]
    export = deidentify(cohort([("A", "F", 1980, "2010-01-01", "2011-01-01", "RRMS")] * 5))
    rules = {(r["table"], r["column"]): r for r in export.column_rules()}
    free = {(t, c.name) for t, spec in SCHEMA.items() for c in spec.columns if c.free_text}
    assert free == {("transplants", "mobilisation"), ("adverse_events", "term"),
                    ("deaths", "cause")}
    for table, column in free:
        assert rules[(table, column)]["output"] is None
        assert column not in export.tables[table].columns
    assert rules[("dmt", "drug")]["rule"].startswith("code kept if in the vocabulary")
    assert set(rules) == {(t, c.name) for t, spec in SCHEMA.items() for c in spec.columns}


def test_bands_are_hand_checked() -> None:
    # born 1983, transplant 2020 -> 37 -> 35-39; onset 2008-06-01 -> 11.6 years -> 10-14;
    # diagnosis 2019-01-01 -> 1.0 years -> 0-4. Five identical patients: nothing suppressed.
    export = deidentify(cohort([("A", "F", 1983, "2008-06-01", "2019-01-01", "RRMS")] * 5))
    row = export.tables["patients"].iloc[0]
    assert (row["age_at_transplant"], row["years_onset_to_transplant"],
            row["years_diagnosis_to_transplant"]) == ("35-39", "10-14", "0-4")
    assert export.suppressed_patients == 0 and export.smallest_group == 5
    assert export.levels == dict.fromkeys(QI[1:], 0)


def test_unique_patients_of_a_small_centre_are_no_longer_unique() -> None:
    # The finding: every patient of a small centre had a unique tuple.
    rows = [("A", s, 1960 + 3 * i, f"{1995 + i}-03-01", f"{1997 + i}-05-01", p)
            for i, (s, p) in enumerate([("F", "RRMS"), ("M", "SPMS"), ("F", "PPMS"),
                                        ("M", "RRMS"), ("F", "SPMS"), ("F", "RRMS"),
                                        ("M", "PPMS"), ("F", "RRMS")])]
    rows += [("B", "F", 1980, "2010-01-01", "2012-01-01", "RRMS")] * 12
    raw = cohort(rows)
    for k in (2, 5, 8):
        export = deidentify(raw, k=k)
        assert smallest_group(export.tables["patients"]) >= k
        assert export.smallest_group == smallest_group(export.tables["patients"])
    # two exports cannot be matched one to one through the quasi-identifiers
    a, b = (deidentify(raw, k=5).tables["patients"] for _ in range(2))
    counts_b = b[QI].astype("string").fillna("<blank>").value_counts()
    for key in a[QI].astype("string").fillna("<blank>").itertuples(index=False):
        assert counts_b[tuple(key)] >= 5


def test_refuse_mode_writes_nothing_and_says_why() -> None:
    # Centre B has one patient: no generalisation can hide it (centres are kept).
    rows = [("A", "F", 1980, "2010-01-01", "2012-01-01", "RRMS")] * 6
    rows += [("B", "M", 1950, "1990-01-01", "1991-01-01", "PPMS")]
    with pytest.raises(DisclosureError, match="1 patients are in groups of fewer than k = 5"):
        deidentify(cohort(rows), on_small_groups="refuse")
    ok = deidentify(cohort(rows[:6]), on_small_groups="refuse")
    assert ok.smallest_group == 6 and ok.suppressed_patients == 0


def test_small_centres_are_pooled_and_named_in_the_manifest() -> None:
    rows = [("A", "F", 1980, "2010-01-01", "2012-01-01", "RRMS")] * 10
    rows += [("B", "M", 1970, "2000-01-01", "2001-01-01", "SPMS")] * 3
    rows += [("C", "F", 1975, "2005-01-01", "2006-01-01", "RRMS")] * 3
    export = deidentify(cohort(rows))
    patients = export.tables["patients"]
    assert smallest_group(patients) >= 5
    assert export.suppressed_centres == ("B", "C")
    assert patients["centre"].isna().sum() == 6
    manifest = json.loads(export.files()["manifest.json"])
    assert manifest["k_anonymity"]["suppressed_centres"] == ["B", "C"]
    assert manifest["k_anonymity"]["smallest_group"] == export.smallest_group


def test_fewer_than_k_patients_is_refused() -> None:
    with pytest.raises(DisclosureError, match="fewer than k = 5"):
        deidentify(cohort([("A", "F", 1980, "2010-01-01", "2012-01-01", "RRMS")] * 4))


def test_definition_is_validated() -> None:
    base = default_definition().model_dump()
    with pytest.raises(DefinitionError, match="k_min"):
        load_definition({**base, "k_min": 3})
    with pytest.raises(DefinitionError, match="suppression_order"):
        load_definition({**base, "suppression_order": ["sex"]})
    with pytest.raises(DefinitionError, match=r"hierarchies\.phenotype"):
        load_definition({**base, "hierarchies": {**base["hierarchies"],
                                                 "phenotype": [{"RRMS": "RRMS"}]}})
    with pytest.raises(DefinitionError, match="increasing order"):
        load_definition({**base, "hierarchies": {**base["hierarchies"],
                                                 "age_at_transplant": [10, 5]}})
    with pytest.raises(DefinitionError, match="k"):
        deidentify(cohort([("A", "F", 1980, "2010-01-01", "2012-01-01", "RRMS")] * 5), k=1)


def test_manifest_and_files() -> None:
    export = deidentify(cohort([("A", "F", 1980, "2010-01-01", "2012-01-01", "RRMS")] * 5))
    files = export.files()
    assert set(files) == {f"{t}.csv" for t in SCHEMA} | {"manifest.json", "README.txt"}
    manifest = json.loads(files["manifest.json"])
    assert manifest["definition"]["k"] == 5 and manifest["residual_risks"]
    assert manifest["rows"]["patients"] == 5
    assert "k = 5" in files["README.txt"].decode()
    assert export.to_frame().shape[0] == sum(len(s.columns) for s in SCHEMA.values())


_ROW = st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["F", "M", "X"]),
                 st.integers(1940, 2000),
                 st.dates(pd.Timestamp("1980-01-01").date(),
                          pd.Timestamp("2019-12-31").date()).map(str),
                 st.dates(pd.Timestamp("1980-01-01").date(),
                          pd.Timestamp("2019-12-31").date()).map(str),
                 st.sampled_from(["RRMS", "SPMS", "PPMS", "PRMS"]))


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_ROW, min_size=5, max_size=60), k=st.integers(2, 5),
       refuse=st.booleans())
def test_every_group_has_at_least_k_patients(rows: list[tuple[str, str, int, str, str, str]],
                                             k: int, refuse: bool) -> None:
    raw = cohort(rows)
    try:
        export = deidentify(raw, k=k, on_small_groups="refuse" if refuse else "suppress",
                            keep_ids=True)
    except DisclosureError:
        assert refuse or len(rows) < k
        return
    patients = export.tables["patients"]
    assert smallest_group(patients) >= k
    assert len(patients) == len(rows)                     # nobody is dropped
    # generalisation is global and suppression only blanks: every exported value is the
    # value of its hierarchy level (computed here by hand) or blank
    expected = _generalised_by_hand(rows, export.levels)
    got = patients.set_index("patient_id").sort_index()
    for column in QI[1:]:
        shown = got[column].astype("string")
        assert ((shown == expected[column]) | shown.isna()).all(), column
    blanked_here = got[QI[1:]].isna() & expected.notna()
    assert int((blanked_here.any(axis=1) | got["centre"].isna()).sum()) == \
        export.suppressed_patients
    assert {c: int(blanked_here[c].sum()) for c in QI[1:]} == {
        c: export.suppressed_values[c] for c in QI[1:]}


def _generalised_by_hand(rows: list[tuple[str, str, int, str, str, str]],
                         levels: dict[str, int]) -> pd.DataFrame:
    hier = default_definition().hierarchies
    day0 = pd.Timestamp("2020-01-01")

    def band(years: float, name: str) -> object:
        steps = hier[name]
        if levels[name] >= len(steps):
            return pd.NA
        width = steps[levels[name]]
        assert isinstance(width, int)
        lo = int(np.floor(years / width)) * width
        return f"{lo}-{lo + width - 1}"

    def group(value: str, name: str) -> object:
        steps = hier[name]
        if levels[name] >= len(steps):
            return pd.NA
        level = steps[levels[name]]
        assert isinstance(level, dict)
        return level[value]

    out = pd.DataFrame({
        "sex": [group(r[1], "sex") for r in rows],
        "age_at_transplant": [band(2020 - r[2], "age_at_transplant") for r in rows],
        "years_onset_to_transplant": [
            band((day0 - pd.Timestamp(r[3])).days / 365.25, "years_onset_to_transplant")
            for r in rows],
        "years_diagnosis_to_transplant": [
            band((day0 - pd.Timestamp(r[4])).days / 365.25, "years_diagnosis_to_transplant")
            for r in rows],
        "phenotype": [group(r[5], "phenotype") for r in rows],
    }, index=[f"P{i:03d}" for i in range(len(rows))]).astype("string")
    return out


def test_empty_cohort_gives_an_empty_export() -> None:
    # (crashed with a pandas TypeError before; the web and CLI refuse an empty centre with a
    # NotFoundError before calling it, tests/web/test_empty_export.py)
    export = deidentify(cohort([]))
    assert all(frame.empty for frame in export.tables.values())
    assert list(export.tables["patients"].columns) == ["patient_id", *QI]
    assert export.smallest_group is None and export.groups == 0
    assert json.loads(export.files()["manifest.json"])["rows"]["patients"] == 0
