"""Shared helpers of the analysis tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from hsctms.model.cohort import Cohort

#: Generic names and aliases counted, written out here rather than read from the catalogue.
NAMED = {"interferon beta", "interferon beta-1a", "interferon beta-1b", "glatiramer acetate",
         "glatiramer", "natalizumab", "tysabri", "copaxone", "avonex", "rebif", "betaferon"}


def _counted(drug: str) -> bool:
    from hsctms.model.vocabularies import dmt_catalogue

    name = str(drug).lower().strip()
    rec = dmt_catalogue().get(name)
    return name in NAMED or (rec is not None and bool(rec["cytotoxic"]))


def _direct_halt_ms_like(f: pd.DataFrame, cohort: Cohort) -> tuple[np.ndarray, np.ndarray]:
    """Per patient: relapses on a HALT-MS DMT in the 18 months, and the subset mask."""
    rel = cohort.relapses.dropna(subset=["onset_date"])
    dmt = cohort.tables["dmt"]
    on_dmt, keep = [], []
    for row in f.itertuples():
        onsets = pd.to_datetime(rel.loc[rel["patient_id"].astype(str) == row.patient_id,
                                        "onset_date"])
        before = (row.origin_date - onsets).dt.days
        window = onsets[(before > 0) & (before <= 547.875)]
        courses = dmt[(dmt["patient_id"].astype(str) == row.patient_id)
                      & dmt["drug"].map(_counted).astype(bool)]
        n = 0
        for onset in window:
            if any(pd.Timestamp(c.start_date) <= onset
                   and (pd.isna(c.stop_date) or onset <= pd.Timestamp(c.stop_date))
                   for c in courses.itertuples()):
                n += 1
        on_dmt.append(n)
        keep.append(row.phenotype == "RRMS" and 3.0 <= row.baseline_edss <= 5.5
                    and len(window) >= 2 and n >= 1 and row.disease_duration < 15
                    and 18 <= row.age_at_transplant <= 60)
    return np.array(on_dmt), np.array(keep, dtype=bool)



@pytest.fixture(scope="session")
def direct_halt_ms_like() -> Callable[[pd.DataFrame, Cohort], tuple[np.ndarray, np.ndarray]]:
    """The independent HALT-MS-like computation (a loop over patients, relapses and DMT
    courses): per patient, relapses on a HALT-MS DMT in the 18 months, and the subset mask."""
    return _direct_halt_ms_like
