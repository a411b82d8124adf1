"""Every validation rule fires on a malformed bundle, at the right line and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hsctms.io import RULES, validate_bundle
from hsctms.io._issues import Issue

H_EDSS = "patient_id,date,edss,fs_pyramidal\n"
H_PAT = "patient_id,centre,sex,birth_year,onset_date,diagnosis_date,phenotype\n"
H_TX = "patient_id,transplant_date,conditioning,mobilisation,graft_manipulation,cd34_dose\n"
P1 = "P1,C01,F,1980,2005-03-01,2006-01-15,RRMS\n"
P2 = "P2,C02,M,1975,2000-06-01,2001-02-01,SPMS\n"
E_OK = "P1,2015-01-10,3.5,2\n"

# (rule, files to override, file, line, field)
CASES: list[tuple[str, dict[str, str | bytes | None], str, int | None, str | None]] = [
    ("file-missing-patients", {"patients.csv": None}, "patients.csv", None, None),
    ("file-encoding",
     {"dmt.csv": "patient_id,drug,start_date,stop_date,stop_reason\n"
                 "P1,natalizumab,2010-01-01,,\nP2,interf\xe9ron,2011-01-01,,\n"
                 .encode("latin-1")},
     "dmt.csv", 3, None),
    ("file-unreadable", {"labs.csv": ""}, "labs.csv", 1, None),
    ("file-unknown", {"patient.csv": H_PAT + P1}, "patient.csv", None, None),
    ("manifest-invalid", {"bundle.json": "{not json"}, "bundle.json", None, None),
    ("manifest-invalid", {"bundle.json": '{"format": "hsctms-bundle", "format_version": 1, '
                          '"synthetic": "yes"}'}, "bundle.json", None, "synthetic"),
    ("manifest-invalid", {"bundle.json": '{"format": "hsctms-bundle", "format_version": 2}'},
     "bundle.json", None, "format_version"),
    ("manifest-invalid", {"bundle.json": '{"format": "hsctms-bundle", "format_version": 1, '
                          '"data_date": "31/12/2024"}'}, "bundle.json", None, "data_date"),
    ("manifest-missing", {"bundle.json": None}, "bundle.json", None, None),
    ("column-missing-required", {"edss.csv": "patient_id,date\nP1,2015-01-10\n"},
     "edss.csv", 1, "edss"),
    ("column-missing-required", {"mri.csv": "patient_id,date,new_t2\nP1,2015-02-01,3\n"},
     "mri.csv", 1, "gd_lesions"),
    ("column-duplicate", {"edss.csv": "patient_id,date,edss,date\nP1,2015-01-10,3.5,2015-01-10\n"},
     "edss.csv", 1, "date"),
    ("column-unknown", {"edss.csv": "patient_id,date,edss,score2\nP1,2015-01-10,3.5,x\n"},
     "edss.csv", 1, "score2"),
    ("row-field-count", {"edss.csv": H_EDSS + E_OK + "P1,2016-03-10,3.0,,9\n"},
     "edss.csv", 3, None),
    ("row-field-count", {"edss.csv": H_EDSS + E_OK + "P1,2016-03-10\n"}, "edss.csv", 3, None),
    ("row-blank", {"edss.csv": H_EDSS + E_OK + "\n" + "P1,2016-03-10,3.0,\n"},
     "edss.csv", 3, None),
    ("value-missing", {"patients.csv": H_PAT + P1 + "P2,C02,,1975,,,SPMS\n"},
     "patients.csv", 3, "sex"),
    ("value-missing", {"edss.csv": H_EDSS + E_OK + "P1,2016-03-10,,\n"}, "edss.csv", 3, "edss"),
    ("value-unparseable", {"edss.csv": H_EDSS + E_OK + 'P1,2016-03-10,"2,5",\n'},
     "edss.csv", 3, "edss"),
    ("value-unparseable", {"edss.csv": H_EDSS + E_OK + "P1,2023-02-30,3.0,\n"},
     "edss.csv", 3, "date"),
    ("value-unparseable", {"edss.csv": H_EDSS + E_OK + "P1,01/02/2016,3.0,\n"},
     "edss.csv", 3, "date"),
    ("value-unparseable", {"edss.csv": H_EDSS + E_OK + "P1,2016-3-1,3.0,\n"},
     "edss.csv", 3, "date"),
    ("value-unparseable", {"patients.csv": H_PAT + "P1,C01,F,abc,,,RRMS\n" + P2},
     "patients.csv", 2, "birth_year"),
    ("value-unparseable", {"edss.csv": H_EDSS + "P1,2015-01-10,3.5,2.0\n"},
     "edss.csv", 2, "fs_pyramidal"),
    ("value-unparseable", {"deaths.csv": "patient_id,date,cause,transplant_related\n"
                           "P2,2018-01-10,Sepsis,maybe\n"}, "deaths.csv", 2,
     "transplant_related"),
    ("value-unparseable", {"edss.csv": H_EDSS + "P1,2015-01-10, 3.5,\n"}, "edss.csv", 2, "edss"),
    ("value-invalid-id", {"patients.csv": H_PAT + P1 + "P 2,C02,M,1975,,,SPMS\n"},
     "patients.csv", 3, "patient_id"),
    ("value-category", {"patients.csv": H_PAT + P1 + "P2,C02,M,1975,,,spms\n"},
     "patients.csv", 3, "phenotype"),
    ("value-category", {"patients.csv": H_PAT + P1 + "P2,C02,male,1975,,,SPMS\n"},
     "patients.csv", 3, "sex"),
    ("value-range", {"adverse_events.csv": "patient_id,onset_date,term,grade,relation\n"
                     "P1,2015-03-15,Febrile neutropenia,6,definite\n"},
     "adverse_events.csv", 2, "grade"),
    ("value-range", {"patients.csv": H_PAT + P1 + "P2,C02,M,1850,,,SPMS\n"},
     "patients.csv", 3, "birth_year"),
    ("value-range", {"transplants.csv": H_TX + "P1,2015-03-10,BEAM+ATG,,,-1\n"},
     "transplants.csv", 2, "cd34_dose"),
    ("value-range", {"edss.csv": H_EDSS + "P1,2015-01-10,3.5,7\n"},
     "edss.csv", 2, "fs_pyramidal"),
    ("value-range", {"edss.csv": H_EDSS + "P1,1899-12-31,3.5,\n"}, "edss.csv", 2, "date"),
    ("value-unparseable", {"edss.csv": H_EDSS + "P1,2015-01-10,1e-10,\n"}, "edss.csv", 2, "edss"),
    ("value-unparseable", {"edss.csv": H_EDSS + "P1,2015-01-10,3.50000001,\n"}, "edss.csv", 2,
     "edss"),
    ("value-unparseable", {"edss.csv": H_EDSS + "P1,2015-01-10,+3,\n"}, "edss.csv", 2, "edss"),
    ("value-unparseable", {"edss.csv": H_EDSS + "P1,2015-01-10,３.５,\n"}, "edss.csv", 2,
     "edss"),
    ("value-unparseable", {"patients.csv": H_PAT + "P1,C01,F,١٩٨٠,,,RRMS\n" + P2},
     "patients.csv", 2, "birth_year"),
    ("value-range", {"mri.csv": "patient_id,date,new_t2,gd_lesions\n"
                     "P1,2015-02-01,123456789012345,0\n"}, "mri.csv", 2, "new_t2"),
    ("value-text-invalid", {"deaths.csv": "patient_id,date,cause,transplant_related\n"
                            "P2,2018-01-10,Sep\x00sis,no\n"}, "deaths.csv", 2, "cause"),
    ("value-text-invalid", {"adverse_events.csv": "patient_id,onset_date,term,grade,relation\n"
                            f"P1,2015-03-15,{'x' * 501},3,definite\n"},
     "adverse_events.csv", 2, "term"),
    ("edss-off-grid", {"edss.csv": H_EDSS + E_OK + "P1,2016-03-10,0.5,\n"}, "edss.csv", 3,
     "edss"),
    ("edss-off-grid", {"edss.csv": H_EDSS + E_OK + "P1,2016-03-10,3.25,\n"}, "edss.csv", 3,
     "edss"),
    ("edss-off-grid", {"edss.csv": H_EDSS + E_OK + "P1,2016-03-10,10.5,\n"}, "edss.csv", 3,
     "edss"),
    ("key-duplicate", {"edss.csv": H_EDSS + E_OK + "P1,2015-01-10,4.0,\n"}, "edss.csv", 3,
     "date"),
    ("key-duplicate", {"patients.csv": H_PAT + P1 + P2 + "P1,C03,F,1981,,,RRMS\n"},
     "patients.csv", 4, "patient_id"),
    ("patient-unknown", {"edss.csv": H_EDSS + E_OK + "P9,2016-03-10,3.0,\n"}, "edss.csv", 3,
     "patient_id"),
    ("date-before-birth", {"edss.csv": H_EDSS + E_OK + "P1,1979-12-31,3.0,\n"}, "edss.csv", 3,
     "date"),
    ("date-before-birth", {"patients.csv": H_PAT + "P1,C01,F,1980,1979-05-01,,RRMS\n" + P2},
     "patients.csv", 2, "onset_date"),
    ("date-in-future", {"edss.csv": H_EDSS + E_OK + "P1,2025-07-01,3.0,\n"}, "edss.csv", 3,
     "date"),
    ("date-after-data-date", {"edss.csv": H_EDSS + E_OK + "P1,2025-01-01,3.0,\n"}, "edss.csv",
     3, "date"),
    ("event-after-death", {"edss.csv": H_EDSS + "P2,2018-01-11,7.0,\n"}, "edss.csv", 2, "date"),
    ("event-after-death", {"relapses.csv": "patient_id,onset_date\nP2,2019-01-01\n"},
     "relapses.csv", 2, "onset_date"),
    ("transplant-before-diagnosis",
     {"transplants.csv": H_TX + "P1,2005-06-01,BEAM+ATG,,,\n"}, "transplants.csv", 2,
     "transplant_date"),
    ("transplant-before-onset", {"transplants.csv": H_TX + "P1,2005-01-01,BEAM+ATG,,,\n"},
     "transplants.csv", 2, "transplant_date"),
    ("date-before-onset", {"edss.csv": H_EDSS + E_OK + "P1,2005-01-10,3.0,\n"}, "edss.csv", 3,
     "date"),
    ("date-before-onset", {"relapses.csv": "patient_id,onset_date\nP1,2004-12-01\n"},
     "relapses.csv", 2, "onset_date"),
    ("date-before-diagnosis", {"relapses.csv": "patient_id,onset_date\nP1,2005-06-01\n"},
     "relapses.csv", 2, "onset_date"),
    ("diagnosis-before-onset", {"patients.csv": H_PAT + "P1,C01,F,1980,2005-03-01,"
                                "2004-01-01,RRMS\n" + P2}, "patients.csv", 2, "diagnosis_date"),
    ("dmt-stop-before-start", {"dmt.csv": "patient_id,drug,start_date,stop_date,stop_reason\n"
                               "P1,natalizumab,2010-01-01,2009-06-30,inefficacy\n"},
     "dmt.csv", 2, "stop_date"),
    ("relapse-end-before-onset", {"relapses.csv": "patient_id,onset_date,end_date\n"
                                  "P1,2016-02-20,2016-01-31\n"}, "relapses.csv", 2, "end_date"),
    ("regimen-unknown", {"transplants.csv": H_TX + "P1,2015-03-10,Mystery drug,,,\n"},
     "transplants.csv", 2, "conditioning"),
    ("transplant-multiple", {"transplants.csv": H_TX + "P1,2017-01-01,BEAM+ATG,,,\n"
                             "P1,2015-03-10,BEAM+ATG,,,\n"}, "transplants.csv", 2,
     "transplant_date"),
    ("edss-near-relapse", {"relapses.csv": "patient_id,onset_date\nP1,2016-02-20\n"},
     "edss.csv", 3, "date"),
    ("column-decimal-comma",
     {"edss.csv": H_EDSS + 'P1,2015-01-10,"3,5",\nP1,2016-03-10,"2,5",\n'}, "edss.csv", None,
     "edss"),
    ("column-date-format", {"edss.csv": H_EDSS + "P1,10/01/2015,3.5,\nP1,31/03/2016,3.0,\n"},
     "edss.csv", None, "date"),
    ("mri-counts-missing", {"mri.csv": "patient_id,date,new_t2,gd_lesions,brain_volume\n"
                            "P1,2015-02-01,,,1450\n"}, "mri.csv", 2, "new_t2"),
    ("lab-unit-unexpected", {"labs.csv": "patient_id,date,test,value,unit\n"
                             "P1,2016-03-10,lymphocytes,1200,cells/uL\n"}, "labs.csv", 2,
     "unit"),
    ("lab-test-unknown", {"labs.csv": "patient_id,date,test,value,unit\n"
                          "P1,2016-03-10,ferritin,80,ng/mL\n"}, "labs.csv", 2, "test"),
]


def _find(issues: list[Issue], rule: str, file: str) -> list[Issue]:
    return [i for i in issues if i.rule == rule and i.file == file]


def test_valid_bundle_has_no_issue(make_bundle, today: dt.date) -> None:
    report = validate_bundle(make_bundle(), today=today)
    assert report.issues == []
    assert report.ok
    assert report.rows["edss"] == 4


@pytest.mark.parametrize(("rule", "files", "file", "line", "field"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_fires_at_line_and_field(make_bundle, today: dt.date, rule: str,
                                      files: dict[str, str | bytes | None], file: str,
                                      line: int | None, field: str | None) -> None:
    report = validate_bundle(make_bundle(files), today=today)
    hits = _find(report.issues, rule, file)
    assert hits, report.to_frame().to_string()
    assert any(h.row == line and h.field == field for h in hits), [h.to_dict() for h in hits]
    assert all(h.severity == RULES[rule].severity for h in hits)
    assert report.ok is not any(i.severity == "error" for i in report.issues)
    if RULES[rule].severity == "error":
        assert not report.ok


#: Rules checked when endpoints are derived, not on a bundle alone: (rule, files).
ENDPOINT_CASES: list[tuple[str, dict[str, str | bytes | None]]] = [
    ("edss-empty", {"edss.csv": H_EDSS}),
    ("edss-empty", {"edss.csv": None}),
]


def test_every_rule_has_a_failing_case() -> None:
    # centre-dag-mismatch applies to REDCap files only: tests/data/bad/redcap has its cases
    assert {c[0] for c in CASES} | {c[0] for c in ENDPOINT_CASES} | {"centre-dag-mismatch"} \
        == set(RULES)


@pytest.mark.parametrize(("rule", "files"), ENDPOINT_CASES)
def test_endpoint_rule_fires(make_bundle, today: dt.date, rule: str,
                             files: dict[str, str | bytes | None]) -> None:
    from hsctms.endpoints import derive
    from hsctms.errors import DataValidationError
    from hsctms.io import load_bundle

    cohort = load_bundle(make_bundle(files), today=today)  # a valid bundle ...
    with pytest.raises(DataValidationError) as exc:  # ... without visits for endpoints
        derive(cohort, "halt_ms")
    assert [(i.rule, i.file) for i in exc.value.report.errors] == [(rule, "edss.csv")]


def test_edss_near_relapse_window_edges(make_bundle, today: dt.date) -> None:
    relapses = "patient_id,onset_date\nP1,2016-02-09\nP2,2016-03-01\nP2,2017-05-02\n"
    # EDSS P1 2016-03-10 is 30 days after 2016-02-09 -> flagged; P2 2016-04-01 is 31 days
    # after 2016-03-01 -> not flagged; P2 2017-05-01 is 1 day before 2017-05-02 -> not.
    edss = H_EDSS + E_OK + "P1,2016-03-10,3.0,\nP2,2016-04-01,6.0,\nP2,2017-05-01,6.5,\n" \
        "P2,2017-05-02,6.5,\n"
    report = validate_bundle(make_bundle({"relapses.csv": relapses, "edss.csv": edss}),
                             today=today)
    flagged = sorted(i.row for i in report.issues if i.rule == "edss-near-relapse")
    assert flagged == [3, 6]  # 30 days after, and on the day of onset
    assert report.ok


def test_invalid_values_are_not_silently_fixed(make_bundle, today: dt.date) -> None:
    from hsctms.io import read_bundle

    cohort, report = read_bundle(make_bundle({"edss.csv": H_EDSS + 'P1,2015-01-10,"2,5",\n'}),
                                 today=today)
    assert not report.ok
    assert cohort.edss["edss"].isna().all()


def test_latin1_file_reports_line_of_first_bad_byte(make_bundle, today: dt.date) -> None:
    text = H_PAT + P1 + "P2,C02,M,1975,,,SPMS\n" + "P3,Z\xe9,F,1990,,,RRMS\n"
    report = validate_bundle(make_bundle({"patients.csv": text.encode("latin-1")}), today=today)
    enc = [i for i in report.issues if i.rule == "file-encoding"]
    assert len(enc) == 1 and enc[0].row == 4
    assert "0xe9" in enc[0].message


def test_bom_and_crlf_are_tolerated(make_bundle, today: dt.date, valid_files) -> None:
    files = {name: "\ufeff" + text.replace("\n", "\r\n")
             for name, text in valid_files.items() if name.endswith(".csv")}
    report = validate_bundle(make_bundle(files), today=today)
    assert report.issues == []


def test_quoted_multiline_value_keeps_line_numbers(make_bundle, today: dt.date) -> None:
    ae = ('patient_id,onset_date,term,grade,relation\n'
          'P1,2015-03-15,"Febrile\nneutropenia",3,definite\n'
          'P1,2015-04-01,Herpes zoster,7,possible\n')
    report = validate_bundle(make_bundle({"adverse_events.csv": ae}), today=today)
    [issue] = report.errors
    assert (issue.rule, issue.row, issue.field) == ("value-range", 4, "grade")


def test_bad_directory_raises(tmp_path: Path) -> None:
    from hsctms.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        validate_bundle(tmp_path / "nope")


def test_report_order_is_stable(make_bundle, today: dt.date) -> None:
    files = {"edss.csv": H_EDSS + "P9,2016-03-10,0.5,\nP1,1970-01-01,11,\n",
             "labs.csv": ""}
    a = validate_bundle(make_bundle(files), today=today).to_dict()
    b = validate_bundle(make_bundle(files), today=today).to_dict()
    assert a["issues"] == b["issues"] and a["by_rule"] == b["by_rule"]
    rows = [(i["file"], i["row"] or 0) for i in a["issues"] if i["file"] == "edss.csv"]
    assert rows == sorted(rows)


# -- property: one corrupted cell is reported at exactly its line and field -----------------


_BAD_EDSS = st.sampled_from(["0.5", "2,5", "abc", "10.5", "-1", "3.25", "1e1x", " 2", "4.0.0"])


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=3), _BAD_EDSS)
def test_single_corrupted_edss_cell_is_located(make_bundle, today: dt.date, row: int,
                                               bad: str) -> None:
    lines = ["P1,2015-01-10,3.5,2", "P1,2016-03-10,3.0,", "P2,2016-04-01,6.0,3",
             "P2,2017-05-01,6.5,"]
    parts = lines[row].split(",")
    parts[2] = f'"{bad}"' if "," in bad else bad
    lines[row] = ",".join(parts)
    report = validate_bundle(make_bundle({"edss.csv": H_EDSS + "\n".join(lines) + "\n"}),
                             today=today)
    assert [(i.file, i.row, i.field) for i in report.errors] == [("edss.csv", row + 2, "edss")]
    assert report.errors[0].rule in ("edss-off-grid", "value-unparseable")
