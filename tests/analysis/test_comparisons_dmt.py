"""The DMT-failure criterion of the HALT-MS-like subset ("relapses despite interferon,
glatiramer acetate, natalizumab or cytotoxic therapy"), checked against a direct loop over
patients, relapses and DMT courses."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from hsctms.analysis import OutcomesAnalysis, OutcomesSettings, run_outcomes
from hsctms.analysis.comparisons import (
    HALT_MS_DMT_RESTRICTION,
    HALT_MS_NOT_APPLIED,
    halt_ms_like,
    relapses_on_halt_ms_dmt,
    with_dmt_failure,
)
from hsctms.model.cohort import Cohort
from hsctms.survival import kaplan_meier

DirectHalt = Callable[[pd.DataFrame, Cohort], tuple[np.ndarray, np.ndarray]]


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    from hsctms.datasets import load_demo_cohort

    return load_demo_cohort()


@pytest.fixture(scope="module")
def analysis(cohort: Cohort) -> OutcomesAnalysis:
    return run_outcomes(cohort, "halt_ms",
                        settings=OutcomesSettings(level=0.9, years=(1, 2, 3, 4, 5)))


def test_relapses_on_dmt_equal_a_direct_count(analysis: OutcomesAnalysis, cohort: Cohort,
                                              direct_halt_ms_like: DirectHalt) -> None:
    direct, _ = direct_halt_ms_like(analysis.frame, cohort)
    got = relapses_on_halt_ms_dmt(analysis.frame, cohort.relapses, cohort.tables["dmt"])
    np.testing.assert_array_equal(got, direct)
    assert direct.sum() > 0  # the demo registry has relapses on those drugs


def test_subset_with_the_dmt_criterion(analysis: OutcomesAnalysis, cohort: Cohort,
                                       direct_halt_ms_like: DirectHalt) -> None:
    f = analysis.frame
    framed = with_dmt_failure(f, cohort.relapses, cohort.tables["dmt"])
    like = halt_ms_like(framed, cohort.relapses, edss_visits=cohort.edss,
                        years=(1, 2, 3, 4, 5), level=0.9, published=analysis.published)
    _, keep = direct_halt_ms_like(f, cohort)
    assert set(like.patient_ids) == set(f.loc[keep, "patient_id"])
    assert [r.criterion for r in like.restrictions][3] == HALT_MS_DMT_RESTRICTION[0]
    assert like.not_applied == HALT_MS_NOT_APPLIED
    n_after = [r.n_after for r in like.restrictions]
    assert n_after == sorted(n_after, reverse=True) and n_after[-1] == like.n
    without = analysis.halt_ms_like
    assert without is not None and like.n <= without.n
    if like.n and like.table is not None:
        sub = f[keep]
        km = kaplan_meier(sub["efs_time"] / 365.25, sub["efs_event"], level=0.9)
        row = next(r for r in like.rows_at_year if r.endpoint == "efs")
        assert row.estimate == pytest.approx(float(km.survival_at([5.0])["surv"][0]),
                                             abs=1e-12)


def test_ongoing_course_and_other_drugs() -> None:
    """A relapse during an ongoing natalizumab course counts; one on fingolimod does not; one
    before the course started does not."""
    d = pd.Timestamp
    frame = pd.DataFrame({"patient_id": ["A", "B", "C"],
                          "origin_date": [d("2020-06-01")] * 3})
    relapses = pd.DataFrame({"patient_id": ["A", "A", "B", "C"],
                             "onset_date": [d("2019-06-01"), d("2020-01-01"), d("2019-09-01"),
                                            d("2019-09-01")]})
    dmt = pd.DataFrame({"patient_id": ["A", "B", "C"],
                        "drug": ["natalizumab", "fingolimod", "glatiramer acetate"],
                        "start_date": [d("2019-08-01"), d("2018-01-01"), d("2019-10-01")],
                        "stop_date": [pd.NaT, pd.NaT, d("2020-05-01")]})
    np.testing.assert_array_equal(relapses_on_halt_ms_dmt(frame, relapses, dmt), [1, 0, 0])
