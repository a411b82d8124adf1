"""Tests of the pure domain model: EDSS grid, regimen classes, schema and Cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hsctms.errors import ConfigurationError
from hsctms.model import EDSS_VALUES, SCHEMA, Cohort, is_valid_edss
from hsctms.model.regimens import RegimenMap, default_regimen_map, trialist_regimen_map


def test_edss_grid_has_twenty_values_and_excludes_half() -> None:
    assert len(EDSS_VALUES) == 20
    assert 0.5 not in EDSS_VALUES
    assert EDSS_VALUES[0] == 0.0 and EDSS_VALUES[-1] == 10.0
    # Kurtzke 1983: 0, then 1.0 to 10.0 in steps of 0.5 (1 + 19 = 20 values)
    assert list(EDSS_VALUES) == [0.0] + [1.0 + 0.5 * i for i in range(19)]


@pytest.mark.parametrize(
    ("value", "ok"),
    [(0, True), (0.5, False), (1.0, True), (1.25, False), (4.5, True), (9.5, True),
     (10, True), (10.5, False), (-1, False), (float("nan"), False), (5.000000001, True)],
)
def test_is_valid_edss(value: float, ok: bool) -> None:
    assert bool(is_valid_edss([value])[0]) is ok


@given(st.floats(allow_nan=True, allow_infinity=True))
@example(1.7976931348623157e308)  # 2x overflows: never on the grid
@example(-5e-7)  # within the tolerance of 0
def test_is_valid_edss_agrees_with_grid_membership(x: float) -> None:
    # the Kurtzke grid written out (not EDSS_VALUES): 0, or a multiple of 0.5 in [1, 10]
    with np.errstate(over="ignore", invalid="ignore"):
        nearest = float(np.round(2 * np.float64(x)) / 2)  # nan/inf stay nan/inf
    expected = bool(abs(x - nearest) < 1e-6 and (nearest == 0 or 1 <= nearest <= 10))
    assert expected is any(abs(x - v) < 1e-6 for v in EDSS_VALUES)
    assert bool(is_valid_edss([x])[0]) is expected


@pytest.mark.parametrize(
    ("regimen", "ebmt", "trialist"),
    [
        ("BEAM+ATG", "intermediate", "intermediate"),
        ("BEAM/ATG", "intermediate", "intermediate"),
        ("Cy200+ATG", "intermediate", "low"),
        ("Cy 200 mg/kg + rATG", "intermediate", "low"),
        ("BU+Cy+ATG", "high", "high"),
        ("Cy/TBI/ATG", "high", "high"),
        ("Cy+rituximab", "low", "low"),
        ("cyclophosphamide", "low", "low"),
        ("unobtainium", None, None),
    ],
)
def test_regimen_classes(regimen: str, ebmt: str | None, trialist: str | None) -> None:
    assert default_regimen_map().classify(regimen) == ebmt
    assert trialist_regimen_map().classify(regimen) == trialist


def test_regimen_map_round_trip_and_bad_class() -> None:
    m = default_regimen_map()
    again = RegimenMap.from_dict(m.to_dict())
    assert again.classify("BEAM+ATG") == "intermediate"
    with pytest.raises(ConfigurationError, match="unknown intensity"):
        RegimenMap.from_dict({"rules": [{"contains": ["CY"], "intensity": "extreme"}]})


def test_schema_keys_are_columns() -> None:
    for spec in SCHEMA.values():
        assert set(spec.key) <= set(spec.column_names)
        assert set(spec.required_columns) <= set(spec.column_names)
        assert spec.columns[0].name == "patient_id"


def _cohort() -> Cohort:
    return Cohort.from_frames(
        patients=pd.DataFrame({
            "patient_id": ["P1", "P2"], "centre": ["A", "B"], "sex": ["F", "M"],
            "birth_year": [1985, 1970], "phenotype": ["RRMS", "SPMS"],
            "onset_date": pd.to_datetime(["2005-03-01", "1999-01-01"]),
        }),
        transplants=pd.DataFrame({
            "patient_id": ["P1", "P2", "P2"],
            "transplant_date": pd.to_datetime(["2015-06-01", "2016-01-01", "2019-01-01"]),
            "conditioning": ["BEAM+ATG", "Cy200+ATG", "BU+Cy+ATG"],
        }),
    )


def test_cohort_conforms_tables_and_derives_baseline() -> None:
    c = _cohort()
    assert c.n_patients == 2
    assert set(c.tables) == set(SCHEMA)
    assert c.edss.empty and list(c.edss.columns[:3]) == ["patient_id", "date", "edss"]
    base = c.baseline_table().set_index("patient_id")
    assert base.loc["P2", "conditioning"] == "Cy200+ATG"  # first transplant is the index
    assert base.loc["P1", "age_at_transplant"] == 30
    assert np.isclose(base.loc["P1", "disease_duration"], (pd.Timestamp("2015-06-01")
                      - pd.Timestamp("2005-03-01")).days / 365.25)


def test_cohort_subset_and_unknown_table() -> None:
    c = _cohort()
    assert c.subset(["P2"]).transplants["patient_id"].tolist() == ["P2", "P2"]
    with pytest.raises(ConfigurationError, match="Unknown table"):
        Cohort.from_frames(visits=pd.DataFrame())


def test_cohort_missing_required_column_is_clear() -> None:
    with pytest.raises(ConfigurationError, match="required column"):
        Cohort.from_frames(edss=pd.DataFrame({"patient_id": ["P1"], "edss": [2.0]}))


def test_frames_equal_detects_every_kind_of_difference() -> None:
    """frames_equal is the oracle of every round-trip test (bundle, database, REDCap): it must
    ignore row order only, and see a changed value, a missing value, a dropped or extra row and
    a value turned into text in any table."""
    from hsctms.datasets import generate_cohort
    from hsctms.model.cohort import frames_equal

    c = generate_cohort(12, seed=3)
    tables = {k: v.copy() for k, v in c.tables.items()}
    shuffled = {k: v.sample(frac=1.0, random_state=1) for k, v in tables.items()}
    assert frames_equal(tables, shuffled)
    for name, spec in SCHEMA.items():
        frame = tables[name]
        if frame.empty:
            continue
        others = [col.name for col in spec.columns if col.name not in spec.key]
        for col in others:
            s = frame[col]
            changed = frame.copy()
            if s.notna().iloc[0]:
                changed[col] = changed[col].astype(object)
                changed.iloc[0, changed.columns.get_loc(col)] = None  # value -> missing
                assert not frames_equal(tables, {**tables, name: changed}), (name, col)
                as_text = frame.copy()
                as_text[col] = as_text[col].astype(object)
                as_text.iloc[0, as_text.columns.get_loc(col)] = f"{s.iloc[0]}x"
                assert not frames_equal(tables, {**tables, name: as_text}), (name, col)
        assert not frames_equal(tables, {**tables, name: frame.iloc[1:]}), name
        extra = pd.concat([frame, frame.iloc[:1].assign(patient_id="ZZ-extra")])
        assert not frames_equal(tables, {**tables, name: extra}), name
    edss = tables["edss"].copy()
    edss.loc[edss.index[0], "edss"] += 0.5  # a plausible EDSS, still on the grid
    assert not frames_equal(tables, {**tables, "edss": edss})
