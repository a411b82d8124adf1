"""Like-for-like published comparisons: the HALT-MS-like subset and the Shevchenko time points,
each number checked against a direct computation (pandas subset + kaplan_meier, R survfit)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hsctms.analysis import OutcomesAnalysis, OutcomesSettings, run_outcomes
from hsctms.analysis.comparisons import (
    HALT_MS_DMT_NOT_APPLIED,
    HALT_MS_DMT_RESTRICTION,
    HALT_MS_NOT_APPLIED,
    halt_ms_like,
    relapses_before,
)
from hsctms.analysis.tables import HALT_MS_ENDPOINTS, halt_ms_table
from hsctms.model.cohort import Cohort
from hsctms.reports.outcomes import build_outcomes_report, suppress_counts
from hsctms.survival import cumulative_incidence, kaplan_meier

Y = 365.25


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    from hsctms.datasets import load_demo_cohort

    return load_demo_cohort()


@pytest.fixture(scope="module")
def analysis(cohort: Cohort) -> OutcomesAnalysis:
    return run_outcomes(cohort, "halt_ms",
                        settings=OutcomesSettings(level=0.9, years=(1, 2, 3, 4, 5)))


def test_subset_is_the_patients_meeting_every_applied_criterion(
        analysis: OutcomesAnalysis, cohort: Cohort, direct_halt_ms_like) -> None:
    like = analysis.halt_ms_like
    assert like is not None and like.table is not None
    direct = analysis.frame[direct_halt_ms_like(analysis.frame, cohort)[1]]
    assert set(like.patient_ids) == set(direct["patient_id"]) and like.n == len(direct) > 0
    assert like.n_registry == analysis.n
    f = analysis.frame
    assert like.restrictions[0].n_after == int((f["phenotype"] == "RRMS").sum())
    assert [r.n_after for r in like.restrictions] == sorted(
        (r.n_after for r in like.restrictions), reverse=True)
    assert like.restrictions[-1].n_after == like.n
    assert [r.verified for r in like.restrictions] == [True, True, True, True, True, False]
    # the pipeline applies the DMT-failure criterion from the registry's DMT courses
    assert like.restrictions[3].criterion == HALT_MS_DMT_RESTRICTION[0]
    assert like.not_applied == HALT_MS_NOT_APPLIED
    assert f"HALT-MS-like subset: {like.n} of {analysis.n} patients" in analysis.summary
    assert "published Nash 2017 (HALT-MS, 5 y) (n=24): 69.2%" in like.summary


def test_subset_numbers_equal_direct_kaplan_meier(analysis: OutcomesAnalysis, cohort: Cohort,
                                                  direct_halt_ms_like) -> None:
    like = analysis.halt_ms_like
    assert like is not None
    sub = analysis.frame[direct_halt_ms_like(analysis.frame, cohort)[1]]
    rows = {r.endpoint: r for r in like.rows_at_year}
    assert set(rows) == set(HALT_MS_ENDPOINTS) and like.year == 5.0
    for ep, r in rows.items():
        km = kaplan_meier(sub[f"{ep}_time"] / Y, sub[f"{ep}_event"], level=0.9,
                          conf_type="log-log")
        at = km.survival_at([5.0])
        assert r.estimate == pytest.approx(float(at["surv"][0]), abs=1e-12)
        assert r.lower == pytest.approx(float(at["lower"][0]), abs=1e-12)
        assert r.upper == pytest.approx(float(at["upper"][0]), abs=1e-12)
        assert r.at_risk == int(at["n_risk"][0]) and r.events == int(at["cum_events"][0])
        assert r.n == len(sub)
    assert like.table is not None
    assert like.table.published["efs"].estimate == pytest.approx(0.692)
    assert like.table.published["efs"].n == 24


def test_subset_table_is_the_halt_ms_table_of_the_subset(analysis: OutcomesAnalysis,
                                                        cohort: Cohort) -> None:
    like = analysis.halt_ms_like
    assert like is not None and like.table is not None
    sub = analysis.frame[analysis.frame["patient_id"].isin(like.patient_ids)]
    direct = halt_ms_table(sub.reset_index(drop=True), cohort.edss, years=(1, 2, 3, 4, 5),
                           level=0.9, published=analysis.published)
    assert like.table.to_dict() == direct.to_dict()
    # the full-cohort table is unchanged by the subset analysis
    full = halt_ms_table(analysis.frame, cohort.edss, years=(1, 2, 3, 4, 5), level=0.9,
                         published=analysis.published)
    assert analysis.halt_ms.to_dict() == full.to_dict()


@pytest.mark.r
def test_subset_efs_matches_r_survfit(analysis: OutcomesAnalysis, rscript: str | None,
                                      tmp_path: Path) -> None:
    """Every HALT-MS endpoint of the subset at 5 years equals R survfit (tolerance 1e-9)."""
    if not rscript:
        pytest.skip("Rscript not available")
    like = analysis.halt_ms_like
    assert like is not None
    sub = analysis.frame[analysis.frame["patient_id"].isin(like.patient_ids)]
    for r in like.rows_at_year:
        csv = tmp_path / f"{r.endpoint}.csv"
        sub.assign(t=sub[f"{r.endpoint}_time"] / Y, e=sub[f"{r.endpoint}_event"])[
            ["t", "e"]].to_csv(csv, index=False)
        code = (f"library(survival); d <- read.csv('{csv}'); "
                "s <- summary(survfit(Surv(t, e) ~ 1, data=d, conf.type='log-log', "
                "conf.int=0.9), times=5, extend=TRUE); "
                "cat(paste(c(s$surv, s$lower, s$upper, s$n.risk), collapse=' '))")
        out = subprocess.run([rscript, "-e", code], capture_output=True, text=True, check=True)
        vals = np.array(out.stdout.split(), dtype=float)
        np.testing.assert_allclose([r.estimate, r.lower, r.upper], vals[:3], atol=1e-9)
        assert r.at_risk == int(vals[3])


def test_relapse_window_counts_onsets_before_the_origin() -> None:
    frame = pd.DataFrame({"patient_id": ["a", "b"],
                          "origin_date": pd.to_datetime(["2020-07-01", "2020-07-01"])})
    rel = pd.DataFrame({"patient_id": ["a", "a", "a", "a", "b"],
                        "onset_date": pd.to_datetime(["2020-07-01", "2019-01-15", "2018-12-01",
                                                      "2020-06-30", "2010-01-01"])})
    # a: same day (not before), 533 days (in), 578 days (out), 1 day (in)
    assert relapses_before(frame, rel).tolist() == [2, 0]


def test_empty_subset_has_no_table_and_says_so(analysis: OutcomesAnalysis,
                                               cohort: Cohort) -> None:
    f = analysis.frame.assign(phenotype="SPMS")
    like = halt_ms_like(f, cohort.relapses, edss_visits=cohort.edss)
    assert like.n == 0 and like.table is None and like.rows_at_year == []
    assert like.note and "No registry patient" in like.note
    assert like.to_dict()["table"] is None


def test_missing_columns_say_how_to_fix(cohort: Cohort) -> None:
    from hsctms.errors import EstimationError

    with pytest.raises(EstimationError, match="lacks") as exc:
        halt_ms_like(pd.DataFrame({"patient_id": ["a"]}), cohort.relapses,
                     edss_visits=cohort.edss)
    assert exc.value.hint and "run_outcomes" in exc.value.hint


def test_shevchenko_comparisons_equal_direct_estimates(analysis: OutcomesAnalysis) -> None:
    cmp = {c.key: c for c in analysis.comparisons}
    assert set(cmp) == {"progression", "efs", "efs_relapsing", "efs_progressive",
                        "improvement_longterm"}
    f = analysis.frame
    p = cmp["progression"]
    assert p.year == 8.0 and p.published.estimate == pytest.approx(0.167)
    w = f["worsening_event"] == 1
    d = f["death_event"] == 1
    t = np.where(w, f["worsening_time"], np.where(d, f["death_time"], f["worsening_time"])) / Y
    cause = np.where(w, 1, np.where(d, 2, 0))
    ci = cumulative_incidence(t, cause, level=0.9).incidence_at([8.0], cause=1)
    assert p.estimate == pytest.approx(float(ci["cif"][0]), abs=1e-12)
    assert p.lower == pytest.approx(float(ci["lower"][0]), abs=1e-12)
    assert p.events == int(ci["cum_events"][0]) and p.n == len(f)
    row8 = next(r for r in analysis.shevchenko.progression if r.year == 8.0)
    assert p.estimate == row8.estimate
    for key, group in (("efs", None), ("efs_relapsing", "relapsing"),
                       ("efs_progressive", "progressive")):
        c = cmp[key]
        sub = f if group is None else f[f["phenotype_group"].astype(str) == group]
        at = kaplan_meier(sub["efs_time"] / Y, sub["efs_event"], level=0.9).survival_at(
            [c.published.time_years])
        assert c.year == pytest.approx(4.08)
        assert c.estimate == pytest.approx(float(at["surv"][0]), abs=1e-12)
        assert c.n == len(sub) and c.note and "loose time point" in c.note
    imp = cmp["improvement_longterm"]
    assert imp.events == analysis.shevchenko.improvement_longterm.events
    assert "0.5" in imp.published_definition and "1.0 up to 5.5" in imp.registry_definition


def test_json_and_report_show_the_comparisons(analysis: OutcomesAnalysis) -> None:
    d = json.loads(json.dumps(analysis.to_dict(), allow_nan=False))
    like = d["halt_ms_like"]
    assert like["n"] == analysis.halt_ms_like.n and like["year"] == 5.0  # type: ignore[union-attr]
    assert like["table"]["published"]["efs"]["n"] == 24
    assert any(not r["verified"] for r in like["restrictions"])
    assert {c["key"] for c in d["published_comparisons"]} >= {"progression",
                                                              "improvement_longterm"}
    html = build_outcomes_report(analysis, figures=False).html()
    assert "HALT-MS-like" in html and "Not applied" in html and "(unverified)" in html
    assert "EDSS change from baseline (median)" in html and "-0.5" in html
    assert "16.7%" in html and "0.5 EDSS point" in html and "loose time point" in html
    sup = build_outcomes_report(analysis, figures=False, suppress_small_counts=True).html()
    assert analysis.halt_ms_like is not None
    small = [r for r in analysis.halt_ms_like.rows_at_year if 0 < r.events < 5]
    assert small  # the demo subset has endpoints with 1-4 events at 5 years
    for r in small:
        assert f">{r.events}/{r.at_risk}, n=" in html
        assert f">{r.events}/{r.at_risk}, n=" not in sup and f"&lt;5/{r.at_risk}, n=" in sup


def test_suppressed_json_hides_small_subset_counts(analysis: OutcomesAnalysis,
                                                   cohort: Cohort) -> None:
    f = analysis.frame.copy()
    f["phenotype"] = ["RRMS"] * 3 + ["SPMS"] * (len(f) - 3)  # at most 3 patients can match
    like = halt_ms_like(f, cohort.relapses, edss_visits=cohort.edss).to_dict()
    sup = suppress_counts(like)
    for r, s in zip(like["restrictions"], sup["restrictions"], strict=True):
        assert s["n_after"] == ("<5" if 0 < r["n_after"] < 5 else r["n_after"])
    assert like["restrictions"][0]["n_after"] == 3 and sup["restrictions"][0]["n_after"] == "<5"


def test_registry_without_dmt_courses_lists_the_dmt_criterion_as_not_applied(
        cohort: Cohort, analysis: OutcomesAnalysis) -> None:
    """No DMT courses recorded at all: the criterion cannot be applied, so it is listed as
    not applied (rather than keeping no one), and the subset is the other criteria's."""
    import dataclasses

    no_dmt = dataclasses.replace(cohort, tables={k: v for k, v in cohort.tables.items()
                                                 if k != "dmt"})
    assert no_dmt.table("dmt").empty
    res = run_outcomes(no_dmt, "halt_ms",
                       settings=OutcomesSettings(level=0.9, years=(1, 2, 3, 4, 5)))
    like = res.halt_ms_like
    assert like is not None and analysis.halt_ms_like is not None
    assert like.not_applied == (HALT_MS_DMT_NOT_APPLIED, *HALT_MS_NOT_APPLIED)
    assert HALT_MS_DMT_RESTRICTION[0] not in [r.criterion for r in like.restrictions]
    assert like.n >= analysis.halt_ms_like.n
