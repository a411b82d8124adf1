"""De-identified exports: hand-typed "code" columns cannot carry names or formulas out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hsctms.io import csv_text
from hsctms.io.deidentify import OTHER, deidentify
from hsctms.model.cohort import Cohort


def _cohort() -> Cohort:
    d = pd.Timestamp
    return Cohort.from_frames(
        patients=pd.DataFrame({"patient_id": ["P1", "P2"], "centre": ["A", "A"],
                               "sex": ["F", "M"], "birth_year": [1980, 1975],
                               "phenotype": ["RRMS", "SPMS"]}),
        transplants=pd.DataFrame({"patient_id": ["P1", "P2"],
                                  "transplant_date": [d("2020-01-01"), d("2020-02-01")],
                                  "conditioning": ["BEAM+ATG", "Cy200+ATG"]}),
        dmt=pd.DataFrame({"patient_id": ["P1", "P1", "P2"],
                          "drug": ["natalizumab", "Dr Jane Smith's trial drug",
                                   '=HYPERLINK("http://x","y")'],
                          "start_date": [d("2015-01-01"), d("2016-01-01"), d("2017-01-01")]}),
        labs=pd.DataFrame({"patient_id": ["P1", "P1", "P2"],
                           "date": [d("2020-06-01"), d("2020-06-01"), d("2020-06-02")],
                           "test": ["lymphocytes", "call Mrs Brown", "cd4"],
                           "value": [1.1, 2.0, 300.0],
                           "unit": ["10^9/L", "+44 20 7946 0000", "cells/uL"]}),
        adverse_events=pd.DataFrame({"patient_id": ["P1"], "onset_date": [d("2020-01-10")],
                                     "term": ["Febrile neutropenia at St Elsewhere"],
                                     "grade": [3]}),
    )


def test_code_columns_outside_their_vocabulary_become_other() -> None:
    # k = 2: two patients; k-anonymity itself is tested in test_deidentify.py
    out = deidentify(_cohort(), k=2, rng=np.random.default_rng(1)).tables
    assert sorted(out["dmt"]["drug"]) == sorted(["natalizumab", OTHER, OTHER])
    labs = out["labs"].sort_values("value")
    assert labs["test"].tolist() == ["lymphocytes", OTHER, "cd4"]
    assert labs["unit"].tolist() == ["10^9/L", OTHER, "cells/uL"]
    assert "term" not in out["adverse_events"].columns
    assert out["adverse_events"]["grade"].tolist() == [3]
    text = "".join(csv_text(f) for f in out.values())
    files = deidentify(_cohort(), k=2).files()
    text += "".join(data.decode() for data in files.values())
    for leaked in ("Smith", "HYPERLINK", "Brown", "+44", "Elsewhere"):
        assert leaked not in text


def test_formula_prefixes_are_neutralised_in_spreadsheet_exports() -> None:
    frame = pd.DataFrame({"x": ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "ok", None]})
    lines = csv_text(frame, neutralise_formulas=True).splitlines()
    assert lines == ["x", "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "ok", ""]
