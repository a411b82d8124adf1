"""Personal estimates: every figure is an evidence-base row of the person's stratum.

Expected values are read back from :mod:`hsctms.evidence` (the independent source of truth for
published figures), never typed in here, so the tests follow the evidence base as it grows.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hsctms.evidence import RowInclusion
from hsctms.model.profile import parse_profile
from hsctms.model.scales import EDSS_VALUES
from hsctms.patient.estimates import BENEFITS, COMPLEMENTS, TIME_POINTS, personal_estimates

RELAPSING_POPS = {"all", "rrms", "relapsing"}
PROGRESSIVE_POPS = {"all", "progressive", "spms", "ppms"}


def _expected_rows(evidence, outcome, group, t):
    df = evidence.outcomes(outcome=outcome, phenotype=group, arm="ahsct", measure="percent",
                           time_years=t, rows=RowInclusion(include_superseded=False))
    return df[df["estimate"].notna()]


@pytest.mark.parametrize("name", ["young-rrms-high-activity", "spms-edss-6.5-no-activity",
                                  "ppms-enhancing"])
def test_benefit_figures_are_exactly_the_stratum_rows(name, profiles, evidence):
    prof = profiles[name]
    est = personal_estimates(prof, evidence)
    group = "relapsing" if prof.phenotype in ("RRMS", "PRMS") else "progressive"
    assert est.stratum["phenotype_group"] == group
    for outcome in BENEFITS:
        for t in TIME_POINTS:
            e = est.benefit(outcome, t)
            rows = _expected_rows(evidence, outcome, group, t)
            got = sorted((f.study_id, f.value) for f in e.figures if not f.derived_from)
            want = sorted(zip(rows["study_id"], rows["estimate"].astype(float), strict=True))
            assert got == want, (outcome, t)
            # a study reporting only the share WITH the opposite event (e.g. MIST: confirmed
            # worsening) also gives 100 minus it, for studies without a figure of their own
            derived = sorted((f.study_id, f.value) for f in e.figures if f.derived_from)
            want_derived = []
            if outcome in COMPLEMENTS:
                opp = _expected_rows(evidence, COMPLEMENTS[outcome], group, t)
                want_derived = sorted(
                    (sid, 100.0 - float(v)) for sid, v in zip(opp["study_id"], opp["estimate"],
                                                              strict=True)
                    if sid not in set(rows["study_id"]))
            assert derived == want_derived, (outcome, t)
            ids = set(rows["study_id"]) | {sid for sid, _ in want_derived}
            assert e.availability == ("no_data" if not ids else
                                      "thin" if len(ids) == 1 else "available")


@pytest.mark.parametrize("name", ["young-rrms-high-activity", "spms-edss-6.5-no-activity"])
def test_benefit_figures_match_a_selection_from_the_raw_tables(name, profiles, evidence):
    """The test above selects its expected rows with the same ``evidence.outcomes`` query the
    estimates use; here the rows are picked from the raw outcome and study tables with plain
    pandas: aHSCT arm, percent, time within 0.05 y, not superseded, a population of the
    person's group (or a whole cohort of a study of that group)."""
    prof = profiles[name]
    est = personal_estimates(prof, evidence)
    group = "relapsing" if prof.phenotype in ("RRMS", "PRMS") else "progressive"
    pops = RELAPSING_POPS if group == "relapsing" else PROGRESSIVE_POPS
    raw = evidence.outcome_table.merge(
        evidence.studies[["study_id", "phenotype_group", "superseded_by"]], on="study_id")
    pop = raw["population"].fillna("all").str.lower()
    in_group = (pop.isin(pops - {"all"})) | ((pop == "all") & (raw["phenotype_group"] == group))
    compared = 0
    for outcome in BENEFITS:
        for t in TIME_POINTS:
            sel = raw[in_group & (raw["outcome"] == outcome) & (raw["arm"] == "ahsct")
                      & (raw["measure"] == "percent") & raw["superseded_by"].isna()
                      & ((pd.to_numeric(raw["time_years"]) - t).abs() <= 0.05)
                      & raw["estimate"].notna()]
            want = sorted(zip(sel["study_id"], sel["estimate"].astype(float), strict=True))
            figs = est.benefit(outcome, t).figures
            got = sorted((f.study_id, f.value) for f in figs if not f.derived_from)
            assert got == want, (outcome, t)
            compared += len(want)
            if outcome in COMPLEMENTS:
                opp = raw[in_group & (raw["outcome"] == COMPLEMENTS[outcome])
                          & (raw["arm"] == "ahsct") & (raw["measure"] == "percent")
                          & raw["superseded_by"].isna()
                          & ((pd.to_numeric(raw["time_years"]) - t).abs() <= 0.05)
                          & raw["estimate"].notna() & ~raw["study_id"].isin(sel["study_id"])]
                want_d = sorted(zip(opp["study_id"], 100.0 - opp["estimate"].astype(float),
                                    strict=True))
                assert sorted((f.study_id, f.value) for f in figs if f.derived_from) == want_d
    assert compared > 0  # the evidence base has benefit figures for both groups


def test_progressive_profile_never_gets_relapsing_only_figures(profiles, evidence):
    est = personal_estimates(profiles["spms-edss-6.5-no-activity"], evidence)
    for e in est.benefits:
        for f in e.figures:
            st = evidence.study(f.study_id)
            pop = f.population.lower()
            assert pop in PROGRESSIVE_POPS
            if pop == "all":
                assert st["phenotype_group"] == "progressive"
    relapsing_only = evidence.outcomes(outcome="progression_free", phenotype="relapsing",
                                       arm="ahsct", time_years=5,
                                       rows=RowInclusion(include_superseded=False))
    rel_ids = set(relapsing_only["study_id"])
    prog_ids = {f.study_id for f in est.benefit("progression_free", 5.0).figures}
    # A study may report both subgroups (e.g. Boffa 2021); its figures must then differ by
    # population, never reuse the relapsing row.
    for f in est.benefit("progression_free", 5.0).figures:
        if f.study_id in rel_ids:
            assert f.population.lower() in PROGRESSIVE_POPS - {"all"}
    assert prog_ids, "the evidence base has progressive-MS progression-free figures at 5 y"


def test_relapsing_profile_never_gets_progressive_or_mixed_figures(profiles, evidence):
    est = personal_estimates(profiles["young-rrms-high-activity"], evidence)
    for e in (*est.benefits, est.improvement):
        for f in e.figures:
            pop = f.population.lower()
            assert pop in RELAPSING_POPS
            if pop == "all":
                assert evidence.study(f.study_id)["phenotype_group"] == "relapsing"


def test_no_data_is_explicit(evidence):
    prof = parse_profile({"age_years": 45, "phenotype": "PPMS", "edss": 6.0})
    est = personal_estimates(prof, evidence)
    for t in TIME_POINTS:
        e = est.benefit("neda", t)
        if _expected_rows(evidence, "neda", "progressive", t).empty:
            assert e.availability == "no_data"
            assert e.summary.startswith("No reliable data")
            assert e.range_per100 is None


def test_ranges_consistent(profiles, evidence):
    for prof in profiles.values():
        est = personal_estimates(prof, evidence)
        for e in (*est.benefits, *est.harms, est.improvement):
            rng = e.range_per100
            if rng is None:
                continue
            lo, hi = rng
            assert 0 <= lo <= hi <= 100
            per100 = [f for f in e.figures if f.unit == "per 100" and f.value is not None]
            # a recalled or second-hand figure is never the headline: the range is over the
            # first-hand figures when there are any
            first = [f.value for f in per100 if not f.second_hand]
            used = first or [f.value for f in per100]
            if len(used) > 1:
                assert (lo, hi) == (min(used), max(used))
            assert e.second_hand_only == (not first and bool(per100))
            if e.topic == "harm" and e.headline is not None:
                assert e.headline.unit == "per 100"


def test_rates_converted_not_mixed(profiles, evidence):
    est = personal_estimates(profiles["after-failed-alemtuzumab"], evidence)
    rows = evidence.harms(harm="thyroid", arm="ahsct")
    per_py = rows[rows["measure"] == "per_1000_py"]
    figs = {f.study_id: f for f in est.harm("thyroid").figures if f.unit == "per 100 per year"}
    for rec in per_py.to_dict("records"):
        assert math.isclose(figs[rec["study_id"]].value, rec["estimate"] / 10.0)


def test_trm_groups_add_up(profiles, evidence):
    est = personal_estimates(profiles["young-rrms-high-activity"], evidence)
    trm = evidence.outcomes(outcome="trm", arm="ahsct", rows=RowInclusion(include_superseded=False))
    for by in ("era", "intensity"):
        groups = [g for g in est.trm_groups if g.by == by]
        assert sum(g.people for g in groups) == int(
            trm[trm[by].notna()]["n"].sum())
        assert sum(g.deaths for g in groups) == int(
            trm[trm[by].notna()]["events"].sum())
    published = evidence.published_pooled("trm")
    assert {f.study_id for f in est.trm_published} == set(published["study_id"])


def test_comparisons_same_study_and_time(profiles, evidence):
    est = personal_estimates(profiles["after-failed-alemtuzumab"], evidence)
    assert est.comparisons, "the evidence base holds aHSCT vs alemtuzumab comparisons"
    for c in est.comparisons:
        assert c.ahsct.study_id == c.other.study_id
        assert c.ahsct.outcome == c.other.outcome
        assert c.ahsct.time_label == c.other.time_label
        assert c.ahsct.arm == "ahsct" and c.other.arm != "ahsct"
        assert c.ahsct.unit == c.other.unit


def test_progressive_comparisons_exclude_relapsing_benefit_studies(profiles, evidence):
    est = personal_estimates(profiles["spms-edss-6.5-no-activity"], evidence)
    for c in est.comparisons:
        if c.outcome in BENEFITS or c.outcome == "improvement":
            assert evidence.study(c.study_id)["phenotype_group"] != "relapsing"


def test_matching_note_for_high_edss(profiles, evidence):
    est = personal_estimates(profiles["spms-edss-6.5-no-activity"], evidence)
    assert any("higher than the typical EDSS" in n for n in est.matching_notes)


def test_unverified_flags_carried(profiles, evidence):
    est = personal_estimates(profiles["young-rrms-high-activity"], evidence)
    rows = evidence.outcomes(arm="ahsct", phenotype="relapsing",
                             rows=RowInclusion(include_superseded=False))
    flagged = {(r["study_id"], r["outcome"], r["time_years"]) for r in
               rows[~rows["verified"].astype(bool)].to_dict("records")}
    for e in est.benefits:
        for f in e.figures:
            if (f.study_id, f.outcome, f.time_years) in flagged:
                assert not f.verified


def test_to_dict_json_and_provenance(profiles, evidence):
    import json

    est = personal_estimates(profiles["ppms-enhancing"], evidence)
    d = est.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["provenance"]["synthetic"] is False
    assert d["stratum"]["phenotype_group"] == "progressive"


def test_trm_for_you_uses_recent_studies_of_planned_intensity(profiles, evidence):
    prof = profiles["after-failed-alemtuzumab"]
    assert prof.planned_intensity == "intermediate"
    est = personal_estimates(prof, evidence)
    mine = est.trm_for_you()
    assert mine is not None
    trm = evidence.outcomes(outcome="trm", arm="ahsct", rows=RowInclusion(include_superseded=False))
    want = trm[(trm["era"] == "2005 or later") & (trm["intensity"] == "intermediate")]
    assert set(mine.study_ids) == set(want["study_id"])
    assert mine.deaths == int(want["events"].sum()) and mine.people == int(want["n"].sum())
    assert mine.per100 == pytest.approx(100 * mine.deaths / mine.people)
    assert mine.ci[0] < mine.per100 < mine.ci[1]


def test_trm_for_you_from_the_raw_tables(profiles, evidence):
    """As above, with the expected studies picked from the raw outcome and study tables
    (plain pandas) rather than the ``evidence.outcomes`` query the estimates also use."""
    mine = personal_estimates(profiles["after-failed-alemtuzumab"], evidence).trm_for_you()
    assert mine is not None
    raw = evidence.outcome_table.merge(
        evidence.studies[["study_id", "era", "intensity", "superseded_by"]], on="study_id")
    want = raw[(raw["outcome"] == "trm") & (raw["arm"] == "ahsct") & raw["superseded_by"].isna()
               & (raw["era"] == "2005 or later") & (raw["intensity"] == "intermediate")]
    assert not want.empty
    assert set(mine.study_ids) == set(want["study_id"])
    assert (mine.deaths, mine.people) == (int(want["events"].sum()), int(want["n"].sum()))


def test_trm_zero_death_group_has_no_rate(profiles, evidence):
    est = personal_estimates(profiles["young-rrms-high-activity"], evidence)
    for p in est.trm_pooled:
        if p.deaths == 0:
            assert p.per100 is None and p.ci is None
            assert "does not mean the risk is zero" in p.note


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(phenotype=st.sampled_from(["RRMS", "SPMS", "PPMS", "PRMS"]),
       edss=st.sampled_from(EDSS_VALUES), age=st.floats(18, 75),
       planned=st.sampled_from([None, "low", "intermediate", "high"]))
def test_any_profile_gets_only_its_stratum(evidence, phenotype, edss, age, planned):
    prof = parse_profile({"age_years": age, "phenotype": phenotype, "edss": edss,
                          "planned_intensity": planned})
    est = personal_estimates(prof, evidence)
    group = "relapsing" if phenotype in ("RRMS", "PRMS") else "progressive"
    pops = RELAPSING_POPS if group == "relapsing" else PROGRESSIVE_POPS
    for e in (*est.benefits, est.improvement):
        for f in e.figures:
            assert f.population.lower() in pops
            if f.population.lower() == "all":
                assert evidence.study(f.study_id)["phenotype_group"] == group
        if e.range_per100 is not None:
            lo, hi = e.range_per100
            assert 0 <= lo <= hi <= 100
    mine = est.trm_for_you()
    if mine is not None:
        trm = {f.study_id: f for f in est.trm_studies}
        for sid in mine.study_ids:
            assert trm[sid].era == "2005 or later"
            if planned:
                assert trm[sid].intensity == planned
    assert est.stratum["edss_band"] in ("0-3.5", "4.0-5.5", "6.0+")


def test_prior_ahsct_note(evidence):
    prof = parse_profile({"age_years": 40, "phenotype": "RRMS", "edss": 3.0,
                          "prior_ahsct": True})
    est = personal_estimates(prof, evidence)
    assert any("had aHSCT before" in n for n in est.matching_notes)


def test_report_states_the_evidence_date(profiles, evidence):
    """The header date says when the evidence base was last checked (its change log), not
    only the latest publication year."""
    assert evidence.evidence_date is not None
    est = personal_estimates(profiles["young-rrms-high-activity"], evidence=evidence)
    latest = int(evidence.studies["pub_year"].dropna().max())
    assert est.data_date == (f"published studies up to {latest}; "
                             f"evidence checked {evidence.evidence_date}")
