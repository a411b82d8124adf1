"""Helpers for I/O tests: a small valid bundle that each test breaks in one place."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

#: Fixed "today" so date rules do not depend on the clock.
TODAY = dt.date(2025, 6, 30)

VALID: dict[str, str] = {
    "patients.csv": (
        "patient_id,centre,sex,birth_year,onset_date,diagnosis_date,phenotype\n"
        "P1,C01,F,1980,2005-03-01,2006-01-15,RRMS\n"
        "P2,C02,M,1975,2000-06-01,2001-02-01,SPMS\n"
    ),
    "dmt.csv": (
        "patient_id,drug,start_date,stop_date,stop_reason\n"
        "P1,natalizumab,2010-01-01,2014-06-30,inefficacy\n"
        "P2,fingolimod,2012-01-01,2015-12-31,transplant\n"
    ),
    "transplants.csv": (
        "patient_id,transplant_date,conditioning,mobilisation,graft_manipulation,cd34_dose\n"
        "P1,2015-03-10,BEAM+ATG,Cy2g+G-CSF,none,5.2\n"
        "P2,2016-05-20,Cy200+ATG,,,\n"
    ),
    "edss.csv": (
        "patient_id,date,edss,fs_pyramidal\n"
        "P1,2015-01-10,3.5,2\n"
        "P1,2016-03-10,3.0,\n"
        "P2,2016-04-01,6.0,3\n"
        "P2,2017-05-01,6.5,\n"
    ),
    "relapses.csv": "patient_id,onset_date\nP1,2014-05-01\n",
    "mri.csv": (
        "patient_id,date,new_t2,gd_lesions,brain_volume\n"
        "P1,2015-02-01,3,1,1450.5\n"
        "P1,2016-03-01,0,,\n"
    ),
    "labs.csv": (
        "patient_id,date,test,value,unit\n"
        "P1,2016-03-10,lymphocytes,1.2,10^9/L\n"
        "P1,2016-03-10,cd4,350,cells/uL\n"
    ),
    "adverse_events.csv": (
        "patient_id,onset_date,term,grade,relation\n"
        "P1,2015-03-15,Febrile neutropenia,3,definite\n"
    ),
    "deaths.csv": "patient_id,date,cause,transplant_related\nP2,2018-01-10,Sepsis,yes\n",
    "bundle.json": json.dumps({"format": "hsctms-bundle", "format_version": 1,
                               "synthetic": True, "data_date": "2024-12-31",
                               "generator": None, "created": "2025-01-01T00:00:00+00:00"}),
}

BundleFactory = Callable[..., Path]


def write_files(directory: Path, files: dict[str, str | bytes | None]) -> Path:
    """Write a bundle: the valid files overridden by ``files`` (None deletes a file)."""
    directory.mkdir(parents=True, exist_ok=True)
    merged: dict[str, str | bytes | None] = {**VALID, **files}
    for name, content in merged.items():
        if content is None:
            continue
        path = directory / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("utf-8"))
    return directory


@pytest.fixture
def make_bundle(tmp_path: Path) -> BundleFactory:
    """Factory: ``make_bundle(**{"edss.csv": text})`` writes a bundle and returns its path."""
    counter = iter(range(1000))

    def factory(files: dict[str, str | bytes | None] | None = None) -> Path:
        return write_files(tmp_path / f"bundle{next(counter)}", files or {})

    return factory


@pytest.fixture
def today() -> dt.date:
    """The pinned 'today' of these tests."""
    return TODAY


@pytest.fixture
def valid_files() -> dict[str, str]:
    """The texts of the valid bundle."""
    return dict(VALID)
