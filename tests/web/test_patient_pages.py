"""The patient page and the patient list (issue 19): labels and units from the schema, the
timeline (figure and table), data-quality flags, search, filters and sorting."""

from __future__ import annotations

import re
from typing import Any

from hsctms.db import connect
from hsctms.db import records as R
from hsctms.model.schema import SCHEMA


def _add(db: Any, table: str, values: dict[str, str]) -> dict[str, Any]:
    return R.create_record(db, "seed", table, values)


def test_patient_page_uses_schema_labels_and_units(db_path: Any, as_user: Any) -> None:
    _add(db_path, "transplants", {"patient_id": "A1", "transplant_date": "2022-01-15",
                                  "conditioning": "BEAM+ATG", "cd34_dose": "4.2"})
    html = as_user("entry_a").get("/patients/A1").text
    headers = re.findall(r'<th scope="col" data-column="([a-z0-9_]+)">([^<]*)</th>', html)
    assert headers, "the record tables have labelled headers"
    for column, text in headers:
        assert text != column
        assert text in {t.column(column).label_with_unit for t in SCHEMA.values()
                        if t.has_column(column)}, (column, text)
    assert "CD34+ dose (10^6/kg)" in html and "Pyramidal FS" in html
    for raw in ("cd34_dose", "fs_pyramidal", "birth_year", "transplant_date"):
        assert f">{raw}<" not in html  # never a raw column name as visible text
    assert "Year of birth" in html and "MS onset" in html


def test_patient_timeline_figure_and_table_agree(db_path: Any, as_user: Any) -> None:
    _add(db_path, "relapses", {"patient_id": "A1", "onset_date": "2019-06-01"})
    _add(db_path, "mri", {"patient_id": "A1", "date": "2019-07-01", "new_t2": "2",
                          "gd_lesions": "1"})
    _add(db_path, "dmt", {"patient_id": "A1", "drug": "natalizumab",
                          "start_date": "2017-01-01", "stop_date": "2019-08-01"})
    c = as_user("entry_a")
    html = c.get("/patients/A1").text
    assert re.search(r'<svg role="img" aria-label="Timeline of patient A1', html)
    data = c.get("/api/patients/A1").json()
    kinds = [e["kind"] for e in data["timeline"]]
    assert kinds.count("edss") == 3 and kinds.count("relapse") == 1
    assert {"mri", "transplant", "dmt"} <= set(kinds)
    assert [e["date"] for e in data["timeline"]] == sorted(e["date"] for e in data["timeline"])
    table = html[html.index('id="timeline-table"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == len(data["timeline"]) + 1  # + header row
    assert "natalizumab" in table and "2019-08-01" in table
    assert "New or enlarging T2 lesions: 2" in table


def test_patient_page_lists_data_quality_issues(db_path: Any, as_user: Any) -> None:
    _add(db_path, "labs", {"patient_id": "A1", "date": "2020-06-01", "test": "lymphocytes",
                           "value": "900", "unit": "cells/uL"})
    c = as_user("entry_a")
    html = c.get("/patients/A1").text
    issues = html[html.index('id="issues"'):]
    assert "lab-unit-unexpected" not in issues[:200]  # users see messages, not rule ids
    assert "Laboratory results, Unit" in issues and "Warning" in issues
    assert any(i["rule"] == "lab-unit-unexpected" for i in c.get("/api/patients/A1")
               .json()["issues"])


def test_patient_list_search_filter_sort_and_quality(db_path: Any, as_user: Any) -> None:
    _add(db_path, "patients", {"patient_id": "A2", "centre": "A", "sex": "M",
                               "birth_year": "1990", "phenotype": "SPMS"})
    _add(db_path, "edss", {"patient_id": "A2", "date": "2023-03-01", "edss": "6.0"})
    _add(db_path, "patients", {"patient_id": "A3", "centre": "A", "sex": "F",
                               "birth_year": "1970", "phenotype": "RRMS"})
    _add(db_path, "labs", {"patient_id": "A3", "date": "2020-06-01", "test": "lymphocytes",
                           "value": "900", "unit": "cells/uL"})  # a warning
    c = as_user("entry_a")

    def ids(**params: str) -> list[str]:
        r = c.get("/api/patients", params=params)
        assert r.status_code == 200, r.text
        return [p["patient_id"] for p in r.json()["patients"]]

    assert ids() == ["A1", "A2", "A3"]  # own centre only
    assert ids(q="2") == ["A2"]
    assert ids(phenotype="SPMS") == ["A2"]
    assert ids(quality="flagged") == ["A3"] and ids(quality="warnings") == ["A3"]
    assert ids(quality="ok") == ["A1", "A2"] and ids(quality="errors") == []
    assert ids(sort="last_visit", desc="true") == ["A2", "A1", "A3"]  # A3: no visit, last
    assert ids(sort="birth_year") == ["A3", "A1", "A2"]
    assert ids(sort="issues")[0] == "A3"
    rows = {p["patient_id"]: p for p in c.get("/api/patients").json()["patients"]}
    assert rows["A2"]["last_visit"] == "2023-03-01" and rows["A3"]["last_visit"] is None
    assert rows["A3"]["quality"] == {"errors": 0, "warnings": 1, "infos": 0,
                                     "status": "warnings"}
    assert c.get("/api/patients", params={"sort": "name"}).status_code == 422
    assert c.get("/api/patients", params={"quality": "bad"}).status_code == 422

    html = c.get("/patients", params={"quality": "flagged"}).text
    assert "A3" in html and ">A2<" not in html and "1 warning" in html
    assert 'aria-sort="ascending"' in c.get("/patients", params={"sort": "last_visit"}).text
    for label in ("Year of birth", "Last EDSS visit", "Data quality", "Index transplant"):
        assert label in html


def test_patient_list_centre_filter_for_administrators(as_user: Any) -> None:
    admin = as_user("admin")
    assert [p["patient_id"] for p in admin.get("/api/patients").json()["patients"]] == \
        ["A1", "B1"]
    only_b = admin.get("/api/patients", params={"centre": "B"}).json()
    assert [p["patient_id"] for p in only_b["patients"]] == ["B1"] and only_b["total"] == 1
    assert 'id="centre"' in admin.get("/patients").text
    # a centre user cannot widen the scope with the filter
    entry = as_user("entry_a")
    assert entry.get("/api/patients", params={"centre": "B"}).json()["patients"] == []
    assert 'id="centre"' not in entry.get("/patients").text


def test_issue_counts_follow_saves(db_path: Any) -> None:
    engine = connect(db_path)
    with engine.connect() as conn:
        assert R.patient_issue_counts(conn, "A") == {}
    _add(engine, "labs", {"patient_id": "A1", "date": "2020-06-01", "test": "lymphocytes",
                          "value": "900", "unit": "cells/uL"})
    with engine.connect() as conn:  # the cached counts of centre A are invalidated
        assert R.patient_issue_counts(conn, "A") == {"A1": {"errors": 0, "warnings": 1,
                                                            "infos": 0}}
        assert R.patient_issue_counts(conn, "B") == {}
        assert R.patient_issue_counts(conn, patient_ids=["A1"])["A1"]["warnings"] == 1
    engine.dispose()
