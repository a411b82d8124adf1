"""The evidence as of the current evidence date: new comparative studies with both arms, trial
records, citations fit for a clinician, harms with context and exact intervals, the change
log, and the rules that keep them so."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from hsctms.errors import ConfigurationError, EvidenceError
from hsctms.evidence import (
    ARMS,
    DATA_DIR,
    EVIDENCE_DESIGNS,
    exact_interval,
    load_evidence,
    read_changes,
)
from hsctms.evidence.display import format_estimate, row_estimate


@pytest.fixture(scope="module")
def ev():
    return load_evidence()


def _copy(tmp_path: Path) -> Path:
    for name in ("studies.yaml", "outcomes.csv", "harms.csv", "changes.yaml"):
        shutil.copy(DATA_DIR / name, tmp_path / name)
    return tmp_path


# ----------------------------------------------------------------------- new evidence


def test_muraro2025_both_arms_verified_against_the_abstract(ev):
    s = ev.study("muraro2025")
    assert s["doi"] == "10.1002/ana.27247" and s["pub_year"] == 2025
    assert "Ann Neurol 2025;98(2):294-307" in s["citation"]
    pairs = ev.comparisons(name="arr")
    five = pairs[(pairs["study_id"] == "muraro2025") & (pairs["comparator"] == "alemtuzumab")]
    row = five.iloc[0]
    assert (row["ahsct_estimate"], row["other_estimate"]) == (0.026, 0.087)
    assert (row["ahsct_n"], row["other_n"]) == (103, 204)
    assert row["ahsct_verified"] and row["other_verified"]
    hr = ev.outcomes(study="muraro2025", outcome="relapse", measure="hazard_ratio")
    vs_alz = hr[hr["comparator"] == "alemtuzumab"].iloc[0]
    assert (vs_alz["estimate"], vs_alz["ci_low"], vs_alz["ci_high"]) == (0.29, 0.13, 0.63)
    # figures seen only in a summary of the abstract stay unverified
    vs_ocr = hr[hr["comparator"] == "ocrelizumab"].iloc[0]
    assert not vs_ocr["verified"] and vs_ocr["source_type"] == "secondary"


def test_boffa2023_and_mariottini2022(ev):
    hr = ev.outcomes(study="boffa2023", outcome="progression", measure="hazard_ratio").iloc[0]
    assert (hr["estimate"], hr["ci_low"], hr["ci_high"], hr["comparator"]) == (
        0.5, 0.31, 0.81, "other_dmt")
    assert ev.study("boffa2023")["evidence_design"] == "adjusted_comparison"
    assert ev.study("boffa2023")["phenotype_group"] == "progressive"
    rfs = ev.comparisons(name="relapse_free", comparator="cyclophosphamide").iloc[0]
    assert (rfs["ahsct_estimate"], rfs["other_estimate"]) == (100, 52)
    assert not (rfs["ahsct_verified"] or rfs["other_verified"])  # abstract not found
    assert "citation" in ev.study("mariottini2022")["unverified"]


@pytest.mark.parametrize(("sid", "status", "n"), [
    ("starms", "recruitment_closed", 94), ("coast", "terminated", 1),
    ("ram_ms", "active_not_recruiting", 100), ("beat_ms", "recruiting", 156),
    ("ema2020_alemtuzumab", "decision", None),
])
def test_trial_records_and_the_ema_decision(ev, sid, status, n):
    s = ev.study(sid)
    assert s["status"] == status and s["n"] == n
    assert s["evidence_design"] == "no_results"
    assert ev.outcomes(study=sid).empty  # no results are invented for them
    assert "198" in ev.study("starms")["n_note"] and "2027" in ev.study("starms")["status_note"]
    assert "low acceptance of the control arm" in ev.study("coast")["status_note"]
    assert "status" in ev.study("beat_ms")["unverified"]


def test_zeus_proposal_is_a_proposal_without_invented_design(ev):
    s = ev.study("giovannoni2015_zeus")
    assert (s["kind"], s["evidence_design"], s["pub_year"]) == ("proposal", "no_results", 2015)
    assert s["status"] is None and s["n"] is None and s["doi"] is None  # nothing invented
    assert "design" in s["unverified"] and "non-inferiority" in s["design"]
    assert s["citation"].startswith("Giovannoni G.") and "Barts MS Research blog" in s["citation"]
    assert ev.outcomes(study="giovannoni2015_zeus").empty


# -------------------------------------------------------------------------- citations


def test_no_citation_carries_a_question_mark_or_unconfirmed_text(ev):
    for rec in ev.studies.to_dict("records"):
        assert "?" not in rec["citation"], rec["study_id"]
        assert "not confirmed" not in rec["citation"].lower(), rec["study_id"]


def test_every_reference_has_a_doi_or_says_it_is_missing(ev):
    for rec in ev.studies.to_dict("records"):
        if rec["kind"] in ("trial_record", "regulatory", "review", "proposal"):
            continue
        assert rec["doi"] or "doi" in rec["reference_missing"], rec["study_id"]


def test_second_hand_table_citations_say_so(ev):
    table = ev.studies[ev.studies["source_type"] == "table"]
    assert not table.empty
    for rec in table.to_dict("records"):
        assert "second-hand" in rec["citation"] or rec["study_id"] == "carems_had", rec
        assert rec["reference_missing"], rec["study_id"]


def test_alping_reference_is_fixed(ev):
    s = ev.study("alping2021")
    assert "Alping" not in s["citation"]  # first author not confirmed: not printed
    assert "authors" in s["reference_missing"]
    assert s["doi"] == "10.1212/WNL.0000000000011545"


@pytest.mark.parametrize(("old", "new", "message"), [
    ('citation: "Nash RA et al. Neurology 2017;88:842-852"',
     'citation: "Nash RA et al.? Neurology 2017;88:842-852"', "not as '?'"),
    ("  doi: 10.1212/WNL.0000000000003660\n", "", "give the DOI, or list 'doi'"),
    ("  reference_missing: [doi]\n", "  reference_missing: [isbn]\n", "'isbn' is not one of"),
    ("  status: terminated\n", "  status: finished\n", "'finished' is not one of"),
    ("  status: terminated\n", "", "a trial_record needs its status"),
    ("  evidence_design: randomised\n", "  evidence_design: anecdote\n",
     "'anecdote' is not one of"),
])
def test_reference_and_status_rules(tmp_path, old, new, message):
    base = _copy(tmp_path)
    text = (base / "studies.yaml").read_text(encoding="utf-8")
    assert old in text
    (base / "studies.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(EvidenceError, match=message):
        load_evidence(base)


# ------------------------------------------------------------------------ comparisons


def test_every_comparator_row_has_its_ahsct_row(ev):
    pairs = ev.comparisons()
    assert {"burt2019_mist", "zhukovsky2021", "kalincik2023", "muraro2025", "mariottini2022",
            "boffa2023"} <= set(pairs["study_id"])
    assert set(pairs["comparator"]) <= set(ARMS)
    assert set(pairs["design_label"]) <= set(EVIDENCE_DESIGNS.values())
    mist = pairs[(pairs["study_id"] == "burt2019_mist") & (pairs["name"] == "progression")]
    assert (mist.iloc[0]["ahsct_events"], mist.iloc[0]["other_events"]) == (3, 34)
    assert mist.iloc[0]["design_label"] == "randomised trial"
    # Kalincik: each comparator is paired with the aHSCT row of *its* matched comparison
    kal = pairs[(pairs["study_id"] == "kalincik2023") & (pairs["name"] == "arr")]
    assert dict(zip(kal["comparator"], kal["ahsct_n"], strict=True)) == {
        "fingolimod": 120, "ocrelizumab": 91}
    harms = ev.comparisons("harm", name="thyroid")
    assert {"alemtuzumab", "non_induction_dmt"} <= set(harms["comparator"])
    assert ev.comparisons(verified_only=True)["ahsct_verified"].all()
    with pytest.raises(ConfigurationError):
        ev.comparisons("cost")


def test_a_comparator_row_without_its_ahsct_row_is_refused(tmp_path):
    base = _copy(tmp_path)
    frame = pd.read_csv(base / "outcomes.csv", dtype=str, keep_default_na=False)
    drop = (frame["study_id"] == "muraro2025") & (frame["arm"] == "ahsct") & (
        frame["outcome"] == "arr") & (frame["time_years"] == "5")
    assert drop.sum() == 1
    frame[~drop].to_csv(base / "outcomes.csv", index=False, lineterminator="\n")
    with pytest.raises(EvidenceError, match="comparator arm 'alemtuzumab' has no aHSCT row"):
        load_evidence(base)


def test_unknown_arm_is_refused(tmp_path):
    base = _copy(tmp_path)
    frame = pd.read_csv(base / "harms.csv", dtype=str, keep_default_na=False)
    frame.loc[frame["study_id"] == "dayan_carems", "arm"] = "alemtuzumabb"
    frame.to_csv(base / "harms.csv", index=False, lineterminator="\n")
    with pytest.raises(EvidenceError, match="'alemtuzumabb' is not one of"):
        load_evidence(base)


# ------------------------------------------------------------------------------ harms


def test_harm_records_have_context(ev):
    harms = ev.harms()
    assert "context" in harms.columns
    assert all(isinstance(c, str) for c in harms["context"])  # "" when unknown
    rec = next(harms[harms["harm"] == "ebv_reactivation"].itertuples())
    assert "lymphoproliferative" in rec.context
    assert rec.events == 36 and rec.n == 36
    assert (harms["context"] != "").sum() >= 30


def test_harms_table_needs_the_context_column(tmp_path):
    base = _copy(tmp_path)
    frame = pd.read_csv(base / "harms.csv", dtype=str, keep_default_na=False)
    frame.drop(columns=["context"]).to_csv(base / "harms.csv", index=False,
                                           lineterminator="\n")
    with pytest.raises(EvidenceError, match=r"missing: \['context'\]"):
        load_evidence(base)


def test_exact_intervals_for_events_and_n(ev):
    lo, hi = exact_interval(1, 14)
    assert lo == pytest.approx(0.1807, abs=1e-3) and hi == pytest.approx(33.87, abs=1e-2)
    assert exact_interval(0, 10)[0] == 0.0 and exact_interval(10, 10)[1] == 100.0
    with pytest.raises(ConfigurationError):
        exact_interval(3, 2)
    cancer = ev.harms(study="samijn2006", harm="secondary_malignancy").iloc[0]
    assert (cancer["exact_low"], cancer["exact_high"]) == pytest.approx((0.1807, 33.87),
                                                                        abs=1e-2)
    assert row_estimate(cancer.to_dict()) == "7.1% (0.2 to 33.9, exact)"
    # a published interval wins over the exact one; rows without events have none
    thyroid = ev.harms(study="zhukovsky2021", harm="thyroid")
    assert thyroid["exact_low"].isna().all()


def test_one_precision_rule_per_measure():
    assert format_estimate(0.1972, "percent") == "0.2%"
    assert format_estimate(4.1667, "percent") == "4.2%"
    assert format_estimate(68, "percent") == "68.0%"
    assert format_estimate(0.026, "arr") == "ARR 0.026"
    assert format_estimate(0.5, "hazard_ratio", ci=(0.31, 0.81)) == "HR 0.50 (0.31 to 0.81)"
    assert format_estimate(None, "percent") == ""


# ------------------------------------------------------------------------- change log


def test_evidence_date_and_change_log(ev):
    log = ev.changelog
    assert ev.evidence_date == "2026-12-06"
    assert log.previous_evidence_date == dt.date(2026, 11, 22)
    (current,) = log.since()
    added = {c.study_id for c in current.of_kind("added")}
    assert {"muraro2025", "boffa2023", "mariottini2022", "starms", "coast", "ram_ms",
            "beat_ms", "ema2020_alemtuzumab", "giovannoni2015_zeus"} == added
    assert {c.study_id for c in current.of_kind("updated")} >= {"alping2021",
                                                                "ruizarguelles2019"}
    assert current.of_kind("flag")
    assert [e.date.isoformat() for e in log.since("2000-01-01")] == ["2026-12-06",
                                                                     "2026-11-22"]
    assert log.since("2026-12-06") == []
    assert log.to_dict()["evidence_date"] == "2026-12-06"
    # every study added since the first version is in the log
    first = set(ev.study_ids) - added
    assert len(first) == 53


@pytest.mark.parametrize(("old", "new", "message"), [
    ("evidence_date: 2026-12-06", "evidence_date: 2026-12-07", "is not the newest entry"),
    ("previous_evidence_date: 2026-11-22", "previous_evidence_date: 2026-11-21",
     "is not the second entry"),
    ("added: [muraro2025,", "added: [muraro2052,", "unknown study id 'muraro2052'"),
    ("  - date: 2026-11-22", "  - date: 2026-12-24", "newest first"),
    ("  - date: 2026-11-22", "  - date: 22.11.2026", "not a YYYY-MM-DD date"),
])
def test_change_log_rules(tmp_path, ev, old, new, message):
    base = _copy(tmp_path)
    text = (base / "changes.yaml").read_text(encoding="utf-8")
    assert old in text
    (base / "changes.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(EvidenceError, match=message):
        read_changes(base / "changes.yaml", ev.study_ids)
