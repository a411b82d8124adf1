"""The generated data obey the registry's validation rules (checked directly here)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsctms.datasets import generate_cohort
from hsctms.model.cohort import Cohort, dtype_for
from hsctms.model.regimens import default_regimen_map
from hsctms.model.scales import is_valid_edss
from hsctms.model.schema import CHILD_TABLES, SCHEMA


def _dates(cohort: Cohort) -> pd.DataFrame:
    """Every dated row of every table as (table, patient_id, date)."""
    parts = []
    for name, spec in SCHEMA.items():
        frame = cohort.table(name)
        for col in spec.columns_of_type("date"):
            d = frame[["patient_id", col]].dropna()
            parts.append(pd.DataFrame({"table": name, "patient_id": d["patient_id"],
                                       "date": d[col]}))
    return pd.concat(parts, ignore_index=True)


def test_columns_and_dtypes_are_canonical(small_cohort: Cohort) -> None:
    for name, spec in SCHEMA.items():
        frame = small_cohort.table(name)
        assert list(frame.columns) == list(spec.column_names), name
        for col in spec.columns:
            assert str(frame[col.name].dtype) == dtype_for(col), (name, col.name)
        assert len(frame) > 0, f"{name} is empty"


def test_required_columns_complete_and_values_in_range(small_cohort: Cohort) -> None:
    for name, spec in SCHEMA.items():
        frame = small_cohort.table(name)
        for col in spec.columns:
            s = frame[col.name]
            if not col.nullable:
                assert not s.isna().any(), (name, col.name)
            if col.choices:
                assert set(s.dropna()) <= set(col.choices), (name, col.name)
            if col.minimum is not None:
                assert (s.dropna() >= col.minimum).all(), (name, col.name)
            if col.maximum is not None:
                assert (s.dropna() <= col.maximum).all(), (name, col.name)


def test_edss_on_grid_never_half(small_cohort: Cohort) -> None:
    edss = small_cohort.edss["edss"].to_numpy()
    assert is_valid_edss(edss).all()
    assert not np.isclose(edss, 0.5).any()
    assert edss.max() <= 9.5


def test_unique_natural_keys(small_cohort: Cohort) -> None:
    for name, spec in SCHEMA.items():
        frame = small_cohort.table(name)
        assert not frame.duplicated(list(spec.key)).any(), name


def test_child_rows_belong_to_known_patients(small_cohort: Cohort) -> None:
    ids = set(small_cohort.patients["patient_id"])
    for name in CHILD_TABLES:
        assert set(small_cohort.table(name)["patient_id"]) <= ids, name


def test_no_date_before_birth_or_after_data_date(small_cohort: Cohort) -> None:
    dates = _dates(small_cohort)
    birth = small_cohort.patients.set_index("patient_id")["birth_year"]
    year = dates["date"].dt.year.to_numpy()
    assert (year >= birth.loc[dates["patient_id"]].to_numpy()).all()
    assert small_cohort.data_date is not None
    assert (dates["date"] <= pd.Timestamp(small_cohort.data_date)).all()


def test_nothing_after_death(small_cohort: Cohort) -> None:
    deaths = small_cohort.deaths.set_index("patient_id")["date"]
    assert len(deaths) > 0
    dates = _dates(small_cohort)
    dates = dates[dates["patient_id"].isin(deaths.index)]
    assert (dates["date"].to_numpy() <= deaths.loc[dates["patient_id"]].to_numpy()).all()


def test_onset_before_diagnosis_before_transplant(small_cohort: Cohort) -> None:
    base = small_cohort.baseline_table()
    assert (base["onset_date"] <= base["diagnosis_date"]).all()
    assert (base["diagnosis_date"] < base["transplant_date"]).all()
    assert (base["age_at_transplant"] >= 18).all()
    assert base["intensity"].notna().all()


def test_every_regimen_known_to_the_default_map(small_cohort: Cohort) -> None:
    classes = default_regimen_map().classify_many(small_cohort.transplants["conditioning"])
    assert classes.notna().all()
    assert set(classes) == {"low", "intermediate", "high"}


def test_dmt_courses_before_transplant_and_ordered(small_cohort: Cohort) -> None:
    dmt = small_cohort.table("dmt").merge(
        small_cohort.transplants[["patient_id", "transplant_date"]], on="patient_id")
    assert (dmt["start_date"] < dmt["stop_date"]).all()
    assert (dmt["stop_date"] < dmt["transplant_date"]).all()
    last = dmt.sort_values("start_date").groupby("patient_id").tail(1)
    assert (last["stop_reason"] == "transplant").all()
    # courses of a patient do not overlap
    dmt = dmt.sort_values(["patient_id", "start_date"])
    nxt = dmt.groupby("patient_id")["start_date"].shift(-1)
    assert (nxt.isna() | (dmt["stop_date"] <= nxt)).all()


def test_synthetic_pseudonymous_ids(small_cohort: Cohort) -> None:
    assert small_cohort.synthetic
    assert small_cohort.patients["patient_id"].str.fullmatch(r"SYN-\d{6}").all()
    assert small_cohort.patients["centre"].str.fullmatch(r"SYN-C\d{2}").all()


def test_one_baseline_visit_and_transplant_per_patient(small_cohort: Cohort) -> None:
    tx = small_cohort.transplants.set_index("patient_id")["transplant_date"]
    e = small_cohort.edss
    before = e[e["date"].to_numpy() <= tx.loc[e["patient_id"]].to_numpy()]
    assert set(before["patient_id"]) == set(tx.index)
    assert tx.index.is_unique


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = generate_cohort(120, seed=3)
    b = generate_cohort(120, seed=3)
    c = generate_cohort(120, seed=4)
    for name in SCHEMA:
        pd.testing.assert_frame_equal(a.table(name), b.table(name))
    assert not a.edss.equals(c.edss)


def test_output_independent_of_chunk_size() -> None:
    a = generate_cohort(1500, seed=9, chunk_size=1)
    b = generate_cohort(1500, seed=9, chunk_size=50_000)
    for name in SCHEMA:
        pd.testing.assert_frame_equal(a.table(name), b.table(name))


def test_data_date_censors_follow_up() -> None:
    early = dt.date(2015, 1, 1)
    c = generate_cohort(200, seed=5, data_date=early)
    dates = _dates(c)
    assert (dates["date"] <= pd.Timestamp(early)).all()
    assert (c.transplants["transplant_date"] < pd.Timestamp(early)).all()


def test_io_validation_finds_no_errors(tmp_path: object) -> None:
    """When the project's validator is present, a generated bundle has zero errors."""
    from pathlib import Path

    from hsctms.datasets import write_demo_bundle
    from hsctms.io import bundle

    out = Path(str(tmp_path)) / "b"
    write_demo_bundle(out, 400, seed=21)
    report = bundle.validate_bundle(out, today=dt.date(2026, 11, 22))
    errors = [i for i in report.issues if i.severity == "error"]
    warnings = [i for i in report.issues if i.severity == "warning"]
    assert errors == []
    assert warnings == []


def test_data_date_before_transplant_era_is_an_error() -> None:
    from hsctms.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="data_date"):
        generate_cohort(10, seed=1, data_date=dt.date(1990, 1, 1))


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 60), seed=st.integers(0, 2**31), year=st.integers(1998, 2030))
def test_generator_invariants_for_any_seed(n: int, seed: int, year: int) -> None:
    data_date = dt.date(year, 6, 30)
    c = generate_cohort(n, seed=seed, data_date=data_date)
    assert c.n_patients == n
    assert is_valid_edss(c.edss["edss"]).all()
    for name, spec in SCHEMA.items():
        assert not c.table(name).duplicated(list(spec.key)).any(), name
    dates = _dates(c)
    assert (dates["date"] <= pd.Timestamp(data_date)).all()
    deaths = c.deaths.set_index("patient_id")["date"]
    d = dates[dates["patient_id"].isin(deaths.index)]
    assert (d["date"].to_numpy() <= deaths.loc[d["patient_id"]].to_numpy()).all()
    birth = c.patients.set_index("patient_id")["birth_year"]
    assert (dates["date"].dt.year.to_numpy() >= birth.loc[dates["patient_id"]].to_numpy()).all()


def test_io_reader_agrees_with_demo_loader() -> None:
    """hsctms.io reads the committed demo bundle to the same tables, with no errors."""
    from hsctms.datasets import demo_bundle_path, load_demo_cohort
    from hsctms.io import bundle
    from hsctms.model.cohort import frames_equal

    cohort, report = bundle.read_bundle(demo_bundle_path(), today=dt.date(2026, 11, 22))
    assert [i for i in report.issues if i.severity in ("error", "warning")] == []
    assert cohort.synthetic
    assert frames_equal(cohort.tables, load_demo_cohort().tables)
