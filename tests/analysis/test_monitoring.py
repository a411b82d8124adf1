"""Registry monitoring (hsctms.analysis.funnel / monitoring / monitoring_schedule): the
risk-adjusted funnel against R (survival::coxph, predict(type = "expected")), Poisson control
limits, Clark completeness and alerts by hand, the YAML schedule, small-count suppression and
``hsctms monitor`` on the demo registry."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsctms.model.cohort import Cohort
from hsctms.analysis.funnel import centre_funnel, expected_events, poisson_limit
from hsctms.analysis.monitoring import completeness, find_alerts, followup_table
from hsctms.analysis.monitoring_disclosure import suppress

REF = Path(__file__).resolve().parents[1] / "reference" / "web"


@pytest.fixture(scope="module")
def golden(rscript: str | None, tmp_path_factory: pytest.TempPathFactory) -> dict:
    committed = json.loads((REF / "golden_funnel.json").read_text())
    if rscript:
        out = tmp_path_factory.mktemp("r") / "g.json"
        subprocess.run([rscript, str(REF / "funnel.R"), str(REF / "casemix_demo.csv"),
                        str(out)], check=True, capture_output=True)
        fresh = json.loads(out.read_text())
        np.testing.assert_allclose(fresh["expected"], committed["expected"], rtol=1e-10)
        return dict(fresh)
    return dict(committed)


@pytest.mark.r
def test_expected_events_match_r(golden: dict) -> None:
    frame = pd.read_csv(REF / "casemix_demo.csv")
    f = centre_funnel(frame, small_count=1)
    for k, v in golden["coef"].items():
        assert f.coefficients[k] == pytest.approx(v, rel=1e-6, abs=1e-9)
    by = {c.centre: c for c in f.centres}
    assert len(golden["centres"]) == len(by)
    for row in golden["centres"]:
        assert by[row["centre"]].observed == row["observed"]
        assert by[row["centre"]].expected == pytest.approx(row["expected"], rel=1e-6)
    cov = ["age", "baseline_edss", "progressive", "disease_duration"]
    eta = frame[cov].to_numpy(float) @ np.array([golden["coef"][c] for c in cov])
    mine = expected_events(frame["time"].to_numpy(float), frame["event"].to_numpy(float), eta)
    np.testing.assert_allclose(mine, golden["expected"], rtol=1e-9, atol=1e-12)


@pytest.mark.r
def test_poisson_limits_match_r(golden: dict) -> None:
    lim = golden["limits"]
    grid = np.array(lim["E"], dtype=float)
    for key, p in (("p025", 0.025), ("p975", 0.975), ("p001", 0.001), ("p999", 0.999)):
        np.testing.assert_allclose(poisson_limit(grid, p), lim[key], rtol=1e-10)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 50), st.booleans(), st.floats(-2, 2)),
                min_size=1, max_size=40))
def test_breslow_expected_sum_equals_observed(rows: list[tuple[int, bool, float]]) -> None:
    """For any linear predictor, sum_i Lambda0(t_i) exp(eta_i) = number of events."""
    t = np.array([r[0] for r in rows], float)
    d = np.array([r[1] for r in rows], float)
    eta = np.array([r[2] for r in rows], float)
    e = expected_events(t, d, eta)
    assert e.sum() == pytest.approx(d.sum(), rel=1e-9, abs=1e-9)
    assert (e >= 0).all()


@settings(max_examples=40, deadline=None)
@given(st.floats(0.2, 300))
def test_poisson_limits_bracket_one_and_narrow(e: float) -> None:
    lo95, hi95 = poisson_limit(e, 0.025)[0], poisson_limit(e, 0.975)[0]
    lo998, hi998 = poisson_limit(e, 0.001)[0], poisson_limit(e, 0.999)[0]
    assert lo998 <= lo95 <= 1.0 <= hi95 <= hi998
    assert poisson_limit(e * 2, 0.975)[0] <= hi95 + 1e-9


def test_funnel_suppresses_small_centres() -> None:
    frame = pd.read_csv(REF / "casemix_demo.csv")
    f = centre_funnel(frame, small_count=20)
    assert all(c.n >= 20 for c in f.centres) and f.suppressed
    assert set(f.suppressed) | {c.centre for c in f.centres} == set(frame["centre"])


@given(st.integers(0, 1000), st.integers(0, 50))
def test_suppress(n: int, small_count: int) -> None:
    out = suppress(n, small_count)
    assert out == (f"<{small_count}" if 0 < n < small_count else n)
    assert suppress(n, 5) == ("<5" if 0 < n < 5 else n)
    assert suppress(n, 1) == n


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


def test_clark_completeness_by_hand() -> None:
    c = _cohort()
    fu = followup_table(c, dt.date(2022, 3, 1)).set_index("patient_id")
    # P1: potential 2020-01-01..2022-03-01 = 790 d; last contact 2021-01-01 = 366 d
    assert fu.loc["P1", "potential_days"] == 790 and fu.loc["P1", "observed_days"] == 366
    # P3: potential 2021-01-01..2022-03-01 = 424 d; last contact (lab) 2022-01-01 = 365 d
    assert fu.loc["P3", "potential_days"] == 424 and fu.loc["P3", "observed_days"] == 365
    # P2 died 2021-07-01: potential = observed = 547 d (death is a contact)
    assert fu.loc["P2", "potential_days"] == 547 and fu.loc["P2", "observed_days"] == 547
    assert not fu.loc["P2", "overdue"]  # dead patients are never overdue
    assert fu.loc["P1", "overdue"] and not fu.loc["P3", "overdue"]
    comp = completeness(fu.reset_index()).set_index("centre")
    assert comp.loc["A", "clark_c"] == pytest.approx((366 + 547) / (790 + 547))
    assert comp.loc["B", "clark_c"] == pytest.approx(365 / 424)
    assert comp.loc["A", "overdue"] == 1 and comp.loc["B", "overdue"] == 0


def test_alerts_by_hand() -> None:
    alerts = find_alerts(_cohort())
    got = {(r.patient_id, r.kind) for r in alerts.itertuples()}
    # P1: day 364 sample 0.9 is nearest to day 365 -> low; MRI activity after transplant.
    # P2: 1.4 -> no alert; relapse was before transplant. P3: 800 cells/uL = 0.8 -> low,
    # relapse after transplant.
    assert got == {("P1", "lymphocytes_low_12m"), ("P1", "mri_activity_after_hsct"),
                   ("P3", "lymphocytes_low_12m"), ("P3", "relapse_after_hsct")}
