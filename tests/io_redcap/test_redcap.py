"""REDCap data dictionary and flat export/import round trip."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hsctms.errors import DataValidationError
from hsctms.io import read_bundle
from hsctms.io.redcap import (
    DICTIONARY_COLUMNS,
    data_dictionary,
    flat_columns,
    redcap_to_bundle,
    to_redcap_flat,
    write_redcap,
)
from hsctms.model import SCHEMA, Cohort
from hsctms.model.cohort import frames_equal


def _cohort() -> Cohort:
    return Cohort.from_frames(
        patients=pd.DataFrame({
            "patient_id": ["P1", "P2"], "centre": ["LON", "UPP"], "sex": ["F", "M"],
            "birth_year": [1985, 1979], "phenotype": ["RRMS", "SPMS"],
            "onset_date": pd.to_datetime(["2005-03-01", "2001-05-05"]),
            "diagnosis_date": pd.to_datetime(["2006-01-01", pd.NaT]),
        }),
        transplants=pd.DataFrame({
            "patient_id": ["P1", "P2"],
            "transplant_date": pd.to_datetime(["2015-06-01", "2016-02-03"]),
            "conditioning": ["BEAM+ATG", "Cy200+ATG"], "cd34_dose": [4.25, None],
        }),
        edss=pd.DataFrame({
            "patient_id": ["P1", "P1", "P2"],
            "date": pd.to_datetime(["2015-05-01", "2015-12-01", "2016-01-10"]),
            "edss": [3.5, 3.0, 6.5],
        }),
        relapses=pd.DataFrame({"patient_id": ["P1"], "onset_date": pd.to_datetime(["2014-11-02"])}),
        mri=pd.DataFrame({"patient_id": ["P1"], "date": pd.to_datetime(["2016-06-01"]),
                          "new_t2": [0], "gd_lesions": pd.array([pd.NA], dtype="Int64")}),
        deaths=pd.DataFrame({"patient_id": ["P2"], "date": pd.to_datetime(["2019-01-01"]),
                             "cause": ["sepsis"], "transplant_related": [False]}),
    )


def test_dictionary_has_redcap_columns_and_record_id_first() -> None:
    dd = data_dictionary()
    assert tuple(dd.columns) == DICTIONARY_COLUMNS
    assert dd.iloc[0]["Variable / Field Name"] == "patient_id"
    assert dd.iloc[0]["Form Name"] == "patients"
    names = dd["Variable / Field Name"]
    assert names.is_unique
    assert names.str.fullmatch(r"[a-z][a-z0-9_]{1,25}").all()
    # forms are contiguous
    forms = dd["Form Name"].tolist()
    assert forms == sorted(forms, key=list(SCHEMA).index)
    phen = dd.set_index("Variable / Field Name").loc["phenotype"]
    assert phen["Field Type"] == "dropdown" and "SPMS, SPMS" in phen[
        "Choices, Calculations, OR Slider Labels"]
    assert dd.set_index("Variable / Field Name").loc["death_transplant_related",
                                                     "Field Type"] == "yesno"


def test_flat_export_layout() -> None:
    flat = to_redcap_flat(_cohort())
    assert list(flat.columns) == flat_columns()
    # independent of flat_columns, from the data dictionary the export must match: the record
    # id, REDCap's repeating-instrument and DAG columns, every dictionary field in dictionary
    # order, and one "<form>_complete" status per instrument (REDCap matches import columns by
    # name; hsctms puts the status columns last)
    dd = data_dictionary()
    fields = dd["Variable / Field Name"].tolist()
    forms = list(dict.fromkeys(dd["Form Name"]))
    assert list(flat.columns) == [fields[0], "redcap_repeat_instrument", "redcap_repeat_instance",
                                  "redcap_data_access_group", *fields[1:],
                                  *(f"{f}_complete" for f in forms)]
    edss = flat[flat["redcap_repeat_instrument"] == "edss"]
    assert edss["redcap_repeat_instance"].tolist() == ["1", "2", "1"]
    assert set(flat["redcap_data_access_group"]) == {"lon", "upp"}
    assert flat.loc[flat["redcap_repeat_instrument"] == "deaths",
                    "death_transplant_related"].tolist() == ["0"]


def test_round_trip_through_bundle_is_lossless(tmp_path: Path) -> None:
    original = _cohort()
    records, _ = write_redcap(original, tmp_path / "rc")
    bundle = redcap_to_bundle(records, tmp_path / "bundle")
    back, report = read_bundle(bundle)
    assert report.ok, report.summary
    assert frames_equal(original.tables, back.tables)


def test_unknown_instrument_and_dag_clash_are_errors(tmp_path: Path) -> None:
    flat = to_redcap_flat(_cohort())
    bad = flat.copy()
    bad.loc[bad.index[-1], "redcap_repeat_instrument"] = "vitals"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="vitals"):
        redcap_to_bundle(path, tmp_path / "b1")
    clash = flat.copy()
    clash.loc[0, "redcap_data_access_group"] = "other"
    clash.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="disagree"):
        redcap_to_bundle(path, tmp_path / "b2")


def test_blank_centre_taken_from_dag_and_non_utf8_refused(tmp_path: Path) -> None:
    flat = to_redcap_flat(_cohort())
    flat.loc[flat["redcap_repeat_instrument"] == "", "centre"] = ""
    path = tmp_path / "dag.csv"
    flat.to_csv(path, index=False)
    bundle = redcap_to_bundle(path, tmp_path / "b")
    cohort, report = read_bundle(bundle)
    assert report.ok
    assert sorted(cohort.patients["centre"]) == ["LON", "UPP"]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("patient_id,redcap_repeat_instrument,redcap_repeat_instance\nPé,,\n"
                      .encode("latin-1"))
    with pytest.raises(DataValidationError, match="not UTF-8"):
        redcap_to_bundle(latin, tmp_path / "b3")


def test_missing_columns_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("record,field_name,value\n1,a,b\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="lacks column"):
        redcap_to_bundle(path, tmp_path / "b")


def test_a_path_without_a_file_name_is_reported_as_given(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    from hsctms.io.redcap import validate_redcap

    monkeypatch.chdir(tmp_path)
    report = validate_redcap(Path("."))  # a directory: refused unread
    assert not report.ok
    assert {i.file for i in report.issues} == {"."}  # was "" (Path('.').name)
