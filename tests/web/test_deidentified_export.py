"""The web de-identified export: the library's definition, the configured k, the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.web._zips import zip_members

from hsctms.web import WebSettings, create_app

from .conftest import SECRET


@pytest.fixture
def app(db_path: Path) -> Any:
    # the fixture registry has two patients in two centres: k = 2 pools them
    return create_app(WebSettings(db=db_path, secret_key=SECRET, deid_k=2))


def test_deidentified_download_follows_the_definition(as_user: Any) -> None:
    analyst = as_user("analyst")
    r = analyst.get("/api/export/bundle")
    assert r.status_code == 200, r.text
    files = zip_members(r.content)
    patients = files["patients.csv"].decode()
    header = patients.splitlines()[0].split(",")
    assert header == ["patient_id", "centre", "sex", "age_at_transplant",
                      "years_onset_to_transplant", "years_diagnosis_to_transplant",
                      "phenotype"]
    assert "A1" not in patients and "B1" not in patients and "1985" not in patients
    assert "2020-" not in files["edss.csv"].decode()  # no calendar dates
    manifest = json.loads(files["manifest.json"])
    kanon = manifest["k_anonymity"]
    assert kanon["k"] == 2 and kanon["smallest_group"] >= 2
    # one patient per centre: both centres are pooled, and the manifest says so
    assert kanon["suppressed_centres"] == ["A", "B"]
    assert manifest["patient_ids"] == "random code per export"
    assert "README.txt" in files and "k = 2" in files["README.txt"].decode()
    audit = [e for e in as_user("admin").get("/api/audit").json()["entries"]
             if e["action"] == "export"]
    assert audit[0]["detail"]["kind"] == "deidentified_bundle"
    assert audit[0]["detail"]["rows"]["patients"] == 2
