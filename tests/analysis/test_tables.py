"""Study-style tables: consistency with the survival layer, coding rules, published lookup."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hsctms.analysis.published import PublishedFigure, published_figures
from hsctms.analysis.tables import (
    YEAR_DAYS,
    competing_progression,
    halt_ms_table,
    share,
    shevchenko_table,
)
from hsctms.errors import EstimationError
from hsctms.survival import cumulative_incidence, kaplan_meier, logrank_test

ENDPOINTS = ("worsening", "improvement", "relapse", "mri_activity", "neda3_loss", "efs",
             "death")


def synthetic_frame(n: int = 200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    fu = rng.uniform(200, 3500, n).round()
    out: dict[str, object] = {
        "patient_id": [f"P{i}" for i in range(n)],
        "origin_date": pd.Timestamp("2015-01-01"),
        "baseline_edss": rng.choice([2.0, 3.0, 4.5, 6.0], n),
        "baseline_date": pd.Timestamp("2014-12-01"),
        "followup_days": fu,
    }
    for ep in ENDPOINTS:
        t = rng.exponential(4000 if ep != "death" else 30000, n).round() + 1
        out[f"{ep}_time"] = np.minimum(t, fu)
        out[f"{ep}_event"] = (t <= fu).astype(int)
    return pd.DataFrame(out)


def test_halt_ms_rows_equal_kaplan_meier_in_years() -> None:
    f = synthetic_frame()
    tab = halt_ms_table(f, pd.DataFrame(columns=["patient_id", "date", "edss"]).astype(
        {"date": "datetime64[ns]", "edss": float}), years=(1, 3, 5), level=0.9)
    km = kaplan_meier(f["efs_time"] / YEAR_DAYS, f["efs_event"], level=0.9)
    ref = km.survival_at([1, 3, 5])
    rows = [r for r in tab.rows if r.endpoint == "efs"]
    np.testing.assert_allclose([r.estimate for r in rows], ref["surv"], rtol=0, atol=1e-15)
    np.testing.assert_allclose([r.lower for r in rows], ref["lower"], rtol=0, atol=1e-15)
    assert [r.at_risk for r in rows] == [int((f["efs_time"] / YEAR_DAYS >= y).sum())
                                         for y in (1, 3, 5)]
    assert [r.events for r in rows] == [int(((f["efs_time"] / YEAR_DAYS <= y)
                                             & (f["efs_event"] == 1)).sum()) for y in (1, 3, 5)]
    assert tab.conf_type == "log-log" and tab.level == 0.9
    assert "90% CI" in tab.summary
    # independent of hsctms.survival: statsmodels' product-limit estimate and Greenwood SE,
    # log-log limit S^exp(z se(log S) / |log S|) with z = z_0.95 for a 90% interval
    from statsmodels.duration.survfunc import SurvfuncRight

    sm = SurvfuncRight((f["efs_time"] / YEAR_DAYS).to_numpy(), f["efs_event"].to_numpy())
    idx = np.searchsorted(sm.surv_times, [1, 3, 5], side="right") - 1
    s_ref, se_log = sm.surv_prob[idx], sm.surv_prob_se[idx] / sm.surv_prob[idx]
    lower = s_ref ** np.exp(stats.norm.ppf(0.95) * se_log / np.abs(np.log(s_ref)))
    np.testing.assert_allclose([r.estimate for r in rows], s_ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose([r.lower for r in rows], lower, rtol=0, atol=1e-12)


def test_competing_progression_coding() -> None:
    f = pd.DataFrame({
        "worsening_time": [100.0, 200.0, 300.0, 400.0],
        "worsening_event": [1, 0, 0, 1],
        "death_time": [500.0, 250.0, 350.0, 390.0],
        "death_event": [0, 1, 0, 1],
    })
    t, cause = competing_progression(f)
    assert cause.tolist() == [1, 2, 0, 1]
    np.testing.assert_allclose(t * YEAR_DAYS, [100, 250, 300, 400])


def test_shevchenko_table_consistent_with_survival_layer() -> None:
    f = synthetic_frame(seed=5)
    ph = np.where(np.arange(len(f)) % 3 == 0, "SPMS", "RRMS")
    tab = shevchenko_table(f, ph, years=(2, 8), level=0.95)
    t, c = competing_progression(f)
    ref = cumulative_incidence(t, c).incidence_at([2, 8])
    np.testing.assert_allclose([r.estimate for r in tab.progression], ref["cif"], atol=1e-15)
    grp = np.where(ph == "RRMS", "relapsing", "progressive")
    lr = logrank_test(f["efs_time"] / YEAR_DAYS, f["efs_event"], grp)
    assert tab.logrank is not None
    assert tab.logrank.statistic == pytest.approx(lr.statistic)
    from statsmodels.duration.survfunc import survdiff

    chi2, _ = survdiff((f["efs_time"] / YEAR_DAYS).to_numpy(), f["efs_event"].to_numpy(), grp)
    assert tab.logrank.statistic == pytest.approx(chi2, rel=1e-10)
    # Aalen-Johansen written out: CIF_1(y) = sum_{t_j <= y} S(t_j-) d1_j / n_j, S the KM of
    # any event (worsening or death), independent of cumulative_incidence
    times = np.unique(t[c > 0])
    n_j = np.array([(t >= u).sum() for u in times])
    d_any = np.array([((t == u) & (c > 0)).sum() for u in times])
    d_1 = np.array([((t == u) & (c == 1)).sum() for u in times])
    s_before = np.r_[1.0, np.cumprod(1 - d_any / n_j)[:-1]]
    cif = np.cumsum(s_before * d_1 / n_j)
    hand = [cif[times <= y][-1] if (times <= y).any() else 0.0 for y in (2, 8)]
    np.testing.assert_allclose([r.estimate for r in tab.progression], hand, atol=1e-12)
    assert tab.group_n == {"progressive": int((ph == "SPMS").sum()),
                           "relapsing": int((ph == "RRMS").sum())}
    assert tab.improvement.events == int(f["improvement_event"].sum())
    from hsctms.survival import gray_test

    assert tab.gray is not None
    assert tab.gray.statistic == pytest.approx(gray_test(t, c, grp).statistic)


def test_share_is_clopper_pearson() -> None:
    s = share(7, 20, 0.95, "x")
    assert s.lower == pytest.approx(stats.beta.ppf(0.025, 7, 14))
    assert s.upper == pytest.approx(stats.beta.ppf(0.975, 8, 13))


def test_published_figures_from_evidence_are_labelled() -> None:
    figs = published_figures()
    efs = [f for f in figs if f.study_id == "nash2017" and f.outcome == "event_free"]
    assert efs and efs[0].estimate == pytest.approx(0.692)
    assert efs[0].lower == pytest.approx(0.502) and efs[0].level == 0.9
    d = efs[0].to_dict()
    assert d["label"] == "published" and "Neurology" in d["citation"]
    tab = halt_ms_table(synthetic_frame(), pd.DataFrame(
        {"patient_id": pd.Series(dtype=str), "date": pd.Series(dtype="datetime64[ns]"),
         "edss": pd.Series(dtype=float)}), published=figs)
    assert tab.published["efs"].estimate == pytest.approx(0.692)


def test_missing_endpoint_column_is_a_clear_error() -> None:
    f = synthetic_frame().drop(columns=["efs_time"])
    with pytest.raises(EstimationError, match="efs"):
        halt_ms_table(f, pd.DataFrame(columns=["patient_id", "date", "edss"]))


def test_published_parameter_fallback() -> None:
    fig = PublishedFigure("nash2017", "HALT-MS", "Nash 2017", "event_free", "all", 5.0, "5 y",
                          0.692, 0.502, 0.821, 0.9, "percent", "EFS", True, 24)
    tab = halt_ms_table(synthetic_frame(), pd.DataFrame(
        {"patient_id": pd.Series(dtype=str), "date": pd.Series(dtype="datetime64[ns]"),
         "edss": pd.Series(dtype=float)}), published=[fig])
    assert tab.published["efs"] is fig


def test_shevchenko_gray_failure_is_a_caveat_not_silence() -> None:
    """A Gray's test that cannot be computed is reported (summary and JSON), not dropped."""
    f = synthetic_frame(seed=5)
    ph = np.where(np.arange(len(f)) % 3 == 0, "SPMS", "RRMS")
    prog = ph == "SPMS"
    for c in ("worsening", "death"):  # nobody progressive is at risk at any event time
        f.loc[prog, f"{c}_time"] = 0.5
        f.loc[prog, f"{c}_event"] = 0
    tab = shevchenko_table(f, ph, years=(2, 8))
    assert tab.gray is None
    assert len(tab.caveats) == 1 and "Gray's test" in tab.caveats[0]
    assert "singular" in tab.caveats[0]
    assert f"caveat: {tab.caveats[0]}" in tab.summary
    assert tab.to_dict()["caveats"] == list(tab.caveats)
    ok = shevchenko_table(synthetic_frame(seed=5), ph, years=(2, 8))
    assert ok.gray is not None and ok.caveats == ()


@pytest.mark.r
def test_shevchenko_gray_and_cif_match_r_cmprsk(rscript: str | None, tmp_path) -> None:
    """The table's Gray's test and progression CIF equal R cmprsk::cuminc on the same
    competing-risks coding (test_shevchenko_table_consistent_with_survival_layer compares them
    with hsctms.survival, which the table itself calls). Tolerance 1e-9. Skipped without R."""
    import subprocess

    if not rscript:
        pytest.skip("Rscript not available")
    f = synthetic_frame(seed=5)
    ph = np.where(np.arange(len(f)) % 3 == 0, "SPMS", "RRMS")
    tab = shevchenko_table(f, ph, years=(2, 8), level=0.95)
    t, c = competing_progression(f)
    grp = np.where(ph == "RRMS", "relapsing", "progressive")
    csv = tmp_path / "cr.csv"
    pd.DataFrame({"t": t, "c": c, "g": grp}).to_csv(csv, index=False)
    code = (f"library(cmprsk); d <- read.csv('{csv}'); "
            "g <- cuminc(d$t, d$c, d$g, cencode=0); "
            "o <- cuminc(d$t, d$c, cencode=0); "
            "cat(paste(c(g$Tests['1', 'stat'], timepoints(o, c(2, 8))$est['1 1', ]), "
            "collapse=' '))")
    out = subprocess.run([rscript, "-e", code], capture_output=True, text=True, check=True)
    stat, cif2, cif8 = (float(x) for x in out.stdout.split())
    assert tab.gray is not None
    assert tab.gray.statistic == pytest.approx(stat, abs=1e-9)
    np.testing.assert_allclose([r.estimate for r in tab.progression], [cif2, cif8], atol=1e-9)


@pytest.mark.parametrize("missing", ["efs_time", "improvement_event", "followup_days"])
def test_shevchenko_table_names_a_missing_column(missing: str) -> None:
    """A missing column was a bare KeyError."""
    f = synthetic_frame(seed=3)
    ph = np.where(np.arange(len(f)) % 2, "RRMS", "SPMS")
    with pytest.raises(EstimationError, match=missing.split("_")[0]):
        shevchenko_table(f.drop(columns=[missing]), ph, years=(2, 8))
