"""Named, hand-checkable scenarios. Days are plain numbers; patient ``A``.

Each docstring gives the hand derivation of the expected result.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from hsctms.endpoints import derive, derive_frames
from hsctms.errors import ConfigurationError, DataValidationError
from hsctms.model import Cohort

from .conftest import make, run


def row(res):  # the single patient's row
    f = res.to_frame()
    assert len(f) == 1
    return f.iloc[0]


def test_confirmed_at_24_weeks_but_not_before() -> None:
    """Baseline 2.0 (day 0), 3.0 at day 90 and day 258 (168 days later) -> confirmed at 24 weeks
    (window 161-898.5 days). With the only later visit 110 days after onset, 24 weeks cannot
    confirm but 12 weeks (window 77-814.5) can."""
    res = run([(0, 2), (90, 3), (258, 3)], conf_days=168)
    r = row(res)
    assert (r.worsening_event, r.worsening_time) == (1, 90.0)
    assert res.events.iloc[0]["confirmation_date"] == 258.0
    assert row(run([(0, 2), (90, 3), (200, 3)], conf_days=168)).worsening_event == 0
    assert row(run([(0, 2), (90, 3), (200, 3)], conf_days=84)).worsening_event == 1


def test_unconfirmed_because_of_intermediate_dip() -> None:
    """2.0, 3.0 (d90), 2.5 (d150), 3.0 (d180), 3.0 (d270): the onset at day 90 is not confirmed
    because day 150 falls below the threshold; the next onset (day 180) is confirmed at 270.
    Without the intermediate check, day 180 (90 days after onset) confirms day 90."""
    visits = [(0, 2), (90, 3), (150, 2.5), (180, 3), (270, 3)]
    assert row(run(visits)).worsening_time == 180.0
    assert row(run(visits, check_intermediate=False)).worsening_time == 90.0


def test_worsening_during_relapse_is_raw() -> None:
    """Relapse at day 80, onset 4.0 -> 5.0 at day 90 (10 days later, <= 90) -> RAW."""
    res = run([(0, 4), (90, 5), (180, 5)], relapses=[80])
    assert res.events.iloc[0]["class"] == "RAW"


def test_pira_and_undetermined() -> None:
    """No relapse -> PIRA. A relapse 60 days before the confirmation visit (and 110 days after
    onset, so not RAW) breaks the Müller window around confirmation -> undetermined."""
    visits = [(0, 2), (100, 3), (270, 3)]
    assert run(visits).events.iloc[0]["class"] == "PIRA"
    res = run(visits, relapses=[210])
    assert res.events.iloc[0]["class"] == "undetermined"
    assert pd.isna(res.events.iloc[0]["pira_confirmation_date"])


def test_raw_window_edge_is_inclusive() -> None:
    """Onset exactly 90 days after the relapse is RAW, 91 days is not."""
    assert run([(0, 2), (100, 3), (200, 3)], relapses=[10]).events.iloc[0]["class"] == "RAW"
    assert run([(0, 2), (100, 3), (200, 3)], relapses=[9]).events.iloc[0]["class"] != "RAW"


def test_roving_rebaseline_after_improvement() -> None:
    """4.0, 2.5, 2.5, 3.5, 3.5, 3.5 every 90 days. Fixed baseline 4.0: no worsening. Roving:
    improvement at day 90 confirmed at 180 (new baseline 2.5), then worsening 3.5 at day 270
    versus 2.5, confirmed at 360."""
    visits = [(0, 4), (90, 2.5), (180, 2.5), (270, 3.5), (360, 3.5), (450, 3.5)]
    fixed = row(run(visits))
    assert fixed.worsening_event == 0 and fixed.improvement_time == 90.0
    res = run(visits, baseline="roving", events="all")
    ev = res.events
    assert list(ev["event_type"]) == ["improvement", "worsening"]
    w = ev.iloc[1]
    assert (w["time"], w["baseline_date"], w["baseline_edss"]) == (270.0, 180.0, 2.5)


def test_baseline_55_under_both_cuts() -> None:
    """Baseline 5.5 -> 6.0: +0.5 is enough with cut 5.0 (msprog), not with cut 5.5 (trials).
    5.5 -> 6.5 (+1.0) is a worsening under both."""
    small = [(0, 5.5), (90, 6), (180, 6)]
    assert row(run(small, delta_cut=5.0)).worsening_event == 1
    assert row(run(small, delta_cut=5.5)).worsening_event == 0
    big = [(0, 5.5), (90, 6.5), (180, 6.5)]
    assert row(run(big, delta_cut=5.5)).worsening_event == 1


def test_reference_zero_needs_one_and_a_half() -> None:
    assert row(run([(0, 0), (90, 1), (180, 1), (270, 1)])).worsening_event == 0
    assert row(run([(0, 0), (90, 1.5), (180, 1.5)])).worsening_time == 90.0


def test_death_before_confirmation() -> None:
    """Onset at day 100, death at day 150 before any confirmation visit: no confirmed
    worsening (censored at the last EDSS visit, day 100); death is an event at 150 and ends
    event-free survival there."""
    r = row(run([(0, 3), (100, 4)], death=150))
    assert (r.worsening_event, r.worsening_time) == (0, 100.0)
    assert (r.death_event, r.death_time) == (1, 150.0)
    assert (r.efs_event, r.efs_time) == (1, 150.0)
    assert r.followup_days == 150.0


def test_transplant_baseline_excludes_visit_within_30_days_after_relapse() -> None:
    """Transplant at day 0. Visits at -100 (2.0) and -20 (4.0), relapse at -40: the -20 visit
    is 20 days after the relapse, so the baseline is the -100 visit (2.0)."""
    r = row(run([(-100, 2), (-20, 4), (90, 3), (200, 3)], "halt_ms", relapses=[-40],
                origin=0, conf_days=84))
    assert (r.baseline_edss, r.baseline_date) == (2.0, -100.0)
    assert (r.worsening_event, r.worsening_time) == (1, 90.0)
    r = row(run([(-100, 2), (-20, 4), (90, 3), (200, 3)], "halt_ms", relapses=[-120],
                origin=0))
    assert r.baseline_edss == 4.0


def test_first_visit_baseline_moves_after_relapse() -> None:
    """msprog: relapse 10 days before the first visit -> baseline moves to the second visit."""
    res = run([(0, 4), (100, 3), (190, 3), (280, 4), (370, 4)], relapses=[-10])
    r = row(res)
    assert (r.baseline_edss, r.baseline_date, r.worsening_time) == (3.0, 100.0, 280.0)


def test_no_baseline_and_no_transplant_are_excluded_with_reason() -> None:
    v = pd.concat([make([(-300, 2), (100, 3)], "A"), make([(-10, 2)], "B"),
                   make([(0, 2)], "C")])
    res = derive_frames(v, origin={"A": 0.0, "B": 0.0}, definition="halt_ms")
    assert list(res.to_frame()["patient_id"]) == ["B"]
    reasons = dict(zip(res.excluded["patient_id"], res.excluded["reason"], strict=True))
    assert "no baseline EDSS" in reasons["A"]
    assert "no transplant" in reasons["C"]
    assert "excluded" in res.summary


@pytest.mark.parametrize(("gap", "confirmed"), [(76, False), (77, True), (814, True),
                                                 (815, False)])
def test_tolerance_window_edges(gap: int, confirmed: bool) -> None:
    """12 weeks with tolerance (7, 730.5): confirmation 77 to 814.5 days after onset."""
    r = row(run([(0, 2), (100, 3), (100 + gap, 3)]))
    assert r.worsening_event == int(confirmed)


def test_confirmation_not_within_30_days_after_relapse() -> None:
    """The only confirmation visit is 20 days after a relapse -> not eligible."""
    assert row(run([(0, 2), (100, 3), (200, 3)], relapses=[180])).worsening_event == 0
    assert row(run([(0, 2), (100, 3), (200, 3)], relapses=[160])).worsening_event == 1


def mri(*scans: tuple[float, float, float]) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": ["A"] * len(scans), "date": [s[0] for s in scans],
                         "new_t2": [s[1] for s in scans], "gd_lesions": [s[2] for s in scans]})


def test_mri_activity_ignored_in_rebaseline_window() -> None:
    """Ignore 180 days: active scans at days 100 and 180 are ignored, day 365 counts."""
    scans = mri((100, 3, 1), (180, 1, 0), (365, 0, 1), (500, 0, 0))
    r = row(run([(-10, 2), (400, 2)], "halt_ms", origin=0, mri=scans))
    assert (r.mri_activity_event, r.mri_activity_time) == (1, 365.0)
    r = row(run([(-10, 2), (400, 2)], "halt_ms", origin=0, mri=scans, mri_ignore_days=0))
    assert r.mri_activity_time == 100.0
    quiet = mri((100, 3, 1), (300, 0, 0), (600, 0, math.nan))
    r = row(run([(-10, 2), (400, 2)], "halt_ms", origin=0, mri=quiet))
    assert (r.mri_activity_event, r.mri_activity_time) == (0, 600.0)


@pytest.mark.parametrize("component", ["worsening", "relapse", "mri_activity"])
def test_neda3_lost_by_each_component(component: str) -> None:
    """Only one component has an event (at day 400/500/600); NEDA-3 is lost exactly then."""
    visits = [(-10, 2), (300, 2), (700, 2)]
    relapses: list[float] = []
    scans = mri((365, 0, 0), (730, 0, 0))
    if component == "worsening":
        visits = [(-10, 2), (400, 3), (700, 3)]
    elif component == "relapse":
        relapses = [500]
    else:
        scans = mri((365, 0, 0), (600, 2, 0), (730, 0, 0))
    r = row(run(visits, "halt_ms", origin=0, relapses=relapses, mri=scans))
    assert r[f"{component}_event"] == 1
    day = {"worsening": 400.0, "relapse": 500.0, "mri_activity": 600.0}[component]
    assert r[f"{component}_time"] == day  # origin 0: the event's own day
    assert (r.neda3_loss_event, r.neda3_loss_time) == (1, r[f"{component}_time"])
    assert (r.efs_event, r.efs_time) == (1, r[f"{component}_time"])


def test_efs_censoring_is_earliest_component_censoring() -> None:
    """No events; EDSS to day 700, MRI to day 365 -> EFS and NEDA-3 censored at 365; death
    censored at the last contact (700)."""
    r = row(run([(-10, 2), (700, 2)], "halt_ms", origin=0, mri=mri((365, 0, 0))))
    assert (r.efs_event, r.efs_time, r.neda3_loss_time) == (0, 365.0, 365.0)
    assert (r.death_event, r.death_time) == (0, 700.0)


def test_neda4_uses_brain_volume_loss() -> None:
    """Reference scan 1500 mL at day 200; 1490 mL at day 565 = 0.67%/year > 0.4% -> lost."""
    scans = mri((200, 0, 0), (565, 0, 0))
    scans["brain_volume"] = [1500.0, 1490.0]
    res = run([(-10, 2), (700, 2)], "halt_ms", origin=0, mri=scans)
    r = row(res)
    assert "neda4_loss" in res.endpoints
    assert (r.neda3_loss_event, r.neda4_loss_event, r.neda4_loss_time) == (0, 1, 565.0)


def test_multiple_events_with_fixed_baseline_is_refused() -> None:
    """pymsprog counts one sustained step twice here (see test_pymsprog); we refuse."""
    from hsctms.errors import DefinitionError

    with pytest.raises(DefinitionError, match="roving"):
        run([(0, 2)], events="all")


def test_bad_inputs() -> None:
    with pytest.raises(DataValidationError, match="duplicate"):
        derive_frames(make([(0, 2), (0, 3)]), definition="msprog_default")
    with pytest.raises(DataValidationError, match=r"edss\.csv:2: error edss-off-grid edss: "):
        derive_frames(make([(0, 12)]), definition="msprog_default")
    with pytest.raises(ConfigurationError, match="origin"):
        derive_frames(make([(0, 2)]), definition="halt_ms")
    with pytest.raises(ConfigurationError, match="lacks"):
        derive_frames(pd.DataFrame({"patient_id": ["A"], "date": [0.0]}))


def test_derive_on_cohort_with_calendar_dates() -> None:
    """A Cohort with one transplanted and one non-transplanted patient."""
    d = pd.to_datetime
    cohort = Cohort.from_frames(
        patients=pd.DataFrame({"patient_id": ["P1", "P2"], "centre": ["X", "X"],
                               "sex": ["F", "M"], "birth_year": [1980, 1985],
                               "phenotype": ["RRMS", "RRMS"]}),
        transplants=pd.DataFrame({"patient_id": ["P1"], "transplant_date": d(["2020-01-15"]),
                                  "conditioning": ["BEAM+ATG"]}),
        edss=pd.DataFrame({"patient_id": ["P1"] * 4 + ["P2"],
                           "date": d(["2019-12-01", "2020-07-01", "2021-01-10", "2021-07-01",
                                      "2020-01-01"]),
                           "edss": [3.0, 4.0, 4.0, 4.0, 2.0]}),
        relapses=pd.DataFrame({"patient_id": ["P1"], "onset_date": d(["2021-03-01"])}),
        synthetic=True,
    )
    res = derive(cohort, "halt_ms")
    f = res.to_frame()
    assert list(f["patient_id"]) == ["P1"]
    r = f.iloc[0]
    assert r.origin_date == pd.Timestamp("2020-01-15")
    assert r.baseline_date == pd.Timestamp("2019-12-01")
    assert r.worsening_time == (pd.Timestamp("2020-07-01") - pd.Timestamp("2020-01-15")).days
    assert r.relapse_time == (pd.Timestamp("2021-03-01") - pd.Timestamp("2020-01-15")).days
    assert res.events.iloc[0]["confirmation_date"] == pd.Timestamp("2021-01-10")
    assert res.excluded.to_dict(orient="records") == [
        {"patient_id": "P2", "reason": "no transplant recorded (the origin is the transplant "
                                       "date)"}]
    out = res.to_dict()
    assert out["provenance"]["synthetic"] is True and out["n"] == 1
    assert "SYNTHETIC" in res.summary


def test_summary_table_and_plot() -> None:
    import matplotlib

    matplotlib.use("Agg")
    res = run([(0, 2), (90, 3), (258, 3)], relapses=[400])
    tab = res.summary_table().set_index("endpoint")
    assert tab.loc["worsening", "events"] == 1 and tab.loc["worsening", "share"] == 1.0
    assert tab.loc["worsening", "median_days_to_event"] == 90.0
    assert tab.loc["death", "events"] == 0
    ax = res.plot()
    assert len(ax.patches) == len(res.endpoints)


def test_dates_as_iso_text_are_accepted_ambiguous_text_refused() -> None:
    v = pd.DataFrame({"patient_id": ["A"] * 3, "date": ["2020-01-01", "2020-04-01",
                                                       "2020-07-01"], "edss": [2.0, 3.0, 3.0]})
    res = derive_frames(v, definition="msprog_default")
    assert res.to_frame().iloc[0]["worsening_time"] == 91.0
    v["date"] = ["01/02/2020", "01/05/2020", "01/08/2020"]
    with pytest.raises(DataValidationError, match="dates must be YYYY-MM-DD"):
        derive_frames(v, definition="msprog_default")


def test_empty_and_single_visit_inputs() -> None:
    empty = pd.DataFrame({"patient_id": pd.Series([], dtype="string"),
                          "date": pd.Series([], dtype="datetime64[ns]"),
                          "edss": pd.Series([], dtype=float)})
    with pytest.raises(DataValidationError, match="edss-empty"):  # issue 20: not empty output
        derive_frames(empty, definition="msprog_default")
    r = row(run([(0, 3)]))
    assert (r.worsening_event, r.worsening_time, r.followup_days) == (0, 0.0, 0.0)
    assert r.baseline_edss == 3.0


def test_post_relapse_rebaseline() -> None:
    """Relapse at day 100; EDSS 2.0 (d0), 2.0 (d200), 3.0 (d300), 3.0 (d400). Without
    re-baselining the worsening at day 300 is measured from day 0. With relapse_rebl the onset
    lies more than 90 days after the relapse, so the baseline first moves to the first visit
    after the relapse (day 200) and the same worsening is measured from there."""
    visits = [(0, 2), (200, 2), (300, 3), (400, 3)]
    assert run(visits, relapses=[100]).events.iloc[0]["baseline_date"] == 0.0
    ev = run(visits, relapses=[100], relapse_rebl=True).events.iloc[0]
    assert (ev["baseline_date"], ev["date"], ev["class"]) == (200.0, 300.0, "PIRA")


def test_pira_endpoint_finds_pira_after_an_earlier_raw() -> None:
    """Relapse at day 80; EDSS 2 (d0), 3 (d90), 3 (d180), 4 (d400), 4 (d500). The first
    worsening is RAW at day 90 (10 days after the relapse). Searching for PIRA as msprog's
    firstPIRA does (fixed baseline: skip the RAW and resume after its onset), the next onset
    is day 180 (3.0 vs 2.0, 100 days after the relapse so not RAW; no relapse 90 days before
    to 30 days after it), confirmed at day 400 (no relapse around it either) -> PIRA at 180."""
    res = run([(0, 2), (90, 3), (180, 3), (400, 4), (500, 4)], relapses=[80],
              pira_raw_endpoints=True)
    r = row(res)
    assert res.events.iloc[0]["class"] == "RAW"
    assert (r.raw_event, r.raw_time) == (1, 90.0)
    assert (r.pira_event, r.pira_time) == (1, 180.0)
    assert {"pira", "raw"} <= set(res.endpoints)
    assert "pira" not in run([(0, 2)]).endpoints
