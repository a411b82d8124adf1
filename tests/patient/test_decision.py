"""The decision part of the patient report: first page = the answer, aHSCT beside the
alternatives, competing outcomes, harms with intervals, length and reading grade.

Every example profile in examples/profiles/ is checked (not only the fixture's five).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from hsctms.model.profile import load_profile
from hsctms.patient.decision import (
    competing_outcomes,
    design_label,
    exact_interval,
    failed_drugs,
    side_by_side,
    with_interval,
)
from hsctms.patient.report import build_report, render_patient_report, write_patient_report

from .conftest import PROFILE_DIR

ALL_PROFILES = sorted(p.stem for p in PROFILE_DIR.glob("*.json"))


@pytest.fixture(scope="module")
def all_reports(evidence):
    return {n: build_report(load_profile(PROFILE_DIR / f"{n}.json"), evidence)
            for n in ALL_PROFILES}


@pytest.fixture(scope="module")
def all_html(all_reports):
    return {n: render_patient_report(r) for n, r in all_reports.items()}


class _Body(HTMLParser):
    """Text of <p> and <li> elements inside the main-report sections (``data-main``), outside
    tables: the running prose a person reads (the appendix and the footer are excluded)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth_main = 0
        self.stack: list[str] = []
        self.in_table = 0
        self.collect = 0
        self.parts: list[str] = []
        self.sections: list[bool] = []

    def handle_starttag(self, tag, attrs):
        names = {k for k, _ in attrs}
        if tag == "section":
            self.sections.append("data-main" in names)
        if tag == "table":
            self.in_table += 1
        if tag in ("p", "li") and any(self.sections) and not self.in_table:
            self.collect += 1
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag == "section" and self.sections:
            self.sections.pop()
        if tag == "table":
            self.in_table -= 1
        if tag in ("p", "li") and self.collect:
            self.collect -= 1
            self.parts.append(" ")

    def handle_data(self, data):
        if self.collect:
            self.parts.append(data)


def body_text(markup: str) -> str:
    parser = _Body()
    parser.feed(markup)
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()


def _text(markup: str) -> str:
    import html

    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)))


# ---------------------------------------------------------------------- the answer first
def test_new_profiles_exist():
    assert len(ALL_PROFILES) >= 8
    for name in ("man-rrms-active", "after-failed-alemtuzumab", "spms-edss-6.5-no-activity",
                 "woman-planning-pregnancy", "older-rrms-on-natalizumab"):
        assert name in ALL_PROFILES


def test_answer_is_the_first_section(all_html, all_reports):
    for name, markup in all_html.items():
        main = markup[markup.index("<main>"):]
        first = re.search(r"<section[^>]*>", main)
        assert first and 'id="answer"' in first.group(0), name
        s = all_reports[name].decision.summary
        assert s.meets + s.does_not_meet + s.cannot_tell == s.total == len(
            all_reports[name].eligibility.sets)
        answer = _text(main[:main.index("</section>")])
        assert s.statement in answer
        for n in (s.meets, s.does_not_meet, s.cannot_tell):
            assert f" {n} " in f" {answer} "


def test_progressive_without_inflammation_verdict(all_reports, all_html):
    rep = all_reports["spms-edss-6.5-no-activity"]
    s = rep.decision.summary
    assert s.progressive_inactive and s.meets == 0
    assert f"None of the {s.does_not_meet} guidelines and trials" in s.statement
    assert "The guidelines advise against aHSCT for you" in s.statement
    assert "little benefit for people like you" in s.statement
    pf = rep.estimates.benefit("progression_free", 5.0).range_per100
    assert pf is not None
    assert f"{round(pf[0])} to {round(pf[1])} of 100" in s.statement
    # outcomes that cannot change are put in context, not sold
    assert any("no relapse" in n and "not a reason" in n for n in s.notes)
    assert "advise against aHSCT for you" in _text(all_html["spms-edss-6.5-no-activity"])


def test_active_progressive_not_called_inactive(all_reports):
    s = all_reports["ppms-enhancing"].decision.summary
    assert not s.progressive_inactive and "advise against" not in s.statement


def test_relapsing_active_has_no_no_relapse_note(all_reports):
    assert all_reports["young-rrms-high-activity"].decision.summary.notes == ()


def test_older_stable_person_gets_the_no_relapse_context(all_reports):
    s = all_reports["older-rrms-on-natalizumab"].decision.summary
    assert any("not a reason" in n for n in s.notes)
    # "activity despite treatment" criteria fail because there is no activity at all
    assert s.main_reason.startswith("no recent signs of inflammation")


def test_main_reason_for_first_line_is_the_treatments(all_reports):
    s = all_reports["edss2-newly-diagnosed"].decision.summary
    assert s.meets == 0 and s.main_reason.startswith("the treatments tried so far")
    assert s.main_reason in s.statement


# ----------------------------------------------------------------------- side by side
def test_comparator_present_where_evidence_has_one(all_reports, evidence):
    """Every study with an aHSCT arm and another arm in the person's group shows up, unless
    the other arm is a drug that already failed for the person."""
    ev = evidence
    for name, rep in all_reports.items():
        group = rep.estimates.stratum["phenotype_group"]
        failed = failed_drugs(rep.profile)
        df = ev.outcomes(measure="percent")
        df = df[df["estimate"].notna() & (df["phenotype_group"] == group)]
        arms = df.groupby("study_id")["arm"].agg(set)
        expected = set()
        for sid, a in arms.items():
            for arm in a - {"ahsct", "pooled"}:
                if "ahsct" in a and arm.replace("_", " ") not in failed:
                    expected.add((sid, arm))
        got = {(p.ahsct.study_id, p.other.arm) for p in rep.decision.pairs}
        # only pairs on the same outcome/time can be shown; every expected study must
        # contribute at least one pair when the two arms share an outcome and time frame
        for sid, arm in expected:
            a = df[(df["study_id"] == sid) & (df["arm"] == "ahsct")]
            b = df[(df["study_id"] == sid) & (df["arm"] == arm)]
            shared = set(zip(a["outcome"], a["time_label"], strict=True)) & set(
                zip(b["outcome"], b["time_label"], strict=True))
            if shared:
                assert (sid, arm) in got, (name, sid, arm)


def test_mist_beside_continued_dmt(all_reports, all_html):
    rep = all_reports["young-rrms-high-activity"]
    mist = [p for p in rep.decision.pairs if p.ahsct.study_id == "burt2019_mist"
            and p.outcome == "progression"]
    assert mist, "MIST progression 3/55 vs 34/55 must be side by side"
    p = mist[0]
    assert (p.ahsct.events, p.ahsct.n, p.other.events, p.other.n) == (3, 55, 34, 55)
    assert p.design == "randomised trial"
    assert "3 of 55" in all_html["young-rrms-high-activity"]
    assert "34 of 55" in all_html["young-rrms-high-activity"]


def test_pairs_share_outcome_time_and_denominator(all_reports):
    for rep in all_reports.values():
        for p in rep.decision.pairs:
            assert p.ahsct.study_id == p.other.study_id
            assert p.ahsct.outcome == p.other.outcome
            assert p.ahsct.unit == p.other.unit == p.unit
            assert p.ahsct.time_label == p.other.time_label or (
                p.ahsct.time_years is not None
                and abs(p.ahsct.time_years - (p.other.time_years or -1)) <= 0.05)
            assert p.design in ("randomised trial", "matched registry comparison",
                                "non-randomised comparison")


def test_never_a_failed_drug_as_alternative(all_reports, all_html):
    rep = all_reports["after-failed-alemtuzumab"]
    assert "alemtuzumab" in failed_drugs(rep.profile)
    assert rep.decision.pairs
    assert all(p.other.arm != "alemtuzumab" for p in rep.decision.pairs)
    assert "alemtuzumab" not in rep.decision.alternatives
    assert 'data-comparator="alemtuzumab"' not in all_html["after-failed-alemtuzumab"]
    for name, r in all_reports.items():
        failed = failed_drugs(r.profile)
        for p in r.decision.pairs:
            assert p.other.arm.replace("_", " ") not in failed, (name, p.other.arm)


def test_no_comparator_stated_when_there_is_none(all_reports, all_html):
    for name, rep in all_reports.items():
        if not any(p.topic == "benefit" for p in rep.decision.pairs):
            assert "data-no-comparator" in all_html[name], name


def test_two_year_progression_free_from_mist(all_reports):
    e = all_reports["young-rrms-high-activity"].estimates.benefit("progression_free", 2.0)
    assert e.availability != "no_data"
    mist = [f for f in e.figures if f.study_id == "burt2019_mist"]
    assert mist and mist[0].derived_from == "progression"
    assert math.isclose(mist[0].value, 98.0)


@pytest.mark.parametrize(("kind", "design", "label"), [
    ("rct", "randomised controlled trial, aHSCT vs DMT (1:1)", "randomised trial"),
    ("cohort", "propensity-matched emulated pairwise trials", "matched registry comparison"),
    ("cohort", "observational comparative cohort (aHSCT vs alemtuzumab)",
     "non-randomised comparison"),
    ("cohort", "single-centre cohort", "single-arm cohort"),
])
def test_design_label(kind, design, label):
    assert design_label(kind, design) == label


def test_side_by_side_needs_no_hard_coded_study(evidence, profiles):
    """A comparator arm added to the data is picked up: drop MIST's DMT rows and its pair
    disappears; nothing else in the code names MIST."""
    import hsctms.patient.decision as dec

    src = Path(dec.__file__).read_text()
    for sid in ("burt2019_mist", "zhukovsky2021", "kalincik2023", "muraro2025", "boffa2023"):
        assert sid not in src
    est = build_report(profiles["young-rrms-high-activity"], evidence).estimates
    pairs = side_by_side(profiles["young-rrms-high-activity"], est, evidence)
    assert {p.ahsct.study_id for p in pairs} >= {"burt2019_mist", "zhukovsky2021"}


# ------------------------------------------------------------------- competing outcomes
def test_competing_outcomes_add_up(all_reports):
    for name, rep in all_reports.items():
        co = competing_outcomes(rep.estimates)
        if co.free is None:
            continue
        lo, hi = co.free
        assert 0 <= lo <= hi <= 100, name
        rf = rep.estimates.benefit("relapse_free", 5.0).range_per100
        pf = rep.estimates.benefit("progression_free", 5.0).range_per100
        assert hi <= min(rf[1], pf[1])  # free of all three <= free of each
        assert co.died is not None and co.died[1] <= co.died[0] <= co.died[2]


def test_competing_icon_array_shown_with_uncertainty(all_html, all_reports):
    markup = all_html["young-rrms-high-activity"]
    seg = markup[markup.index("data-competing"):]
    seg = seg[:seg.index("</section>")]
    assert "<svg" in seg and 'role="img"' in seg and "url(#ia" in seg  # hatched = uncertain
    assert "stay free of all three" in _text(seg)


# ------------------------------------------------------------------------------- harms
def test_exact_interval_matches_scipy_and_known_value():
    lo, hi = exact_interval(1, 14)
    assert math.isclose(lo, 0.1807, abs_tol=1e-3) and math.isclose(hi, 33.87, abs_tol=1e-2)
    lo0, hi0 = exact_interval(0, 20)
    assert lo0 == 0 and math.isclose(hi0, 16.84, abs_tol=1e-2)


def test_every_harm_has_interval_or_says_none(all_reports, all_html):
    for name, rep in all_reports.items():
        text = _text(all_html[name])
        for h in rep.decision.harms:
            f = h.figure
            if f.unit == "per 100" and f.n and f.events is not None:
                assert f.ci_low is not None and f.ci_high is not None, (name, h.key)
                assert f.ci_low <= f.value <= f.ci_high
            assert h.title in text
        if rep.decision.harms:
            assert "95% interval" in text


def test_cancer_1_of_14_has_its_exact_interval(all_reports, all_html):
    rep = all_reports["young-rrms-high-activity"]
    h = next(h for h in rep.decision.harms if h.key == "secondary_malignancy")
    if (h.figure.events, h.figure.n) == (1, 14):
        assert h.interval == "exact"
        assert "exact, from 1 of 14" in all_html["young-rrms-high-activity"]


def test_with_interval_derives_events_only_when_consistent(all_reports):
    from dataclasses import replace

    f = all_reports["young-rrms-high-activity"].decision.harms[0].figure
    bare = replace(f, ci_low=None, ci_high=None, events=None, n=10, value=33.0)
    out, how = with_interval(bare)
    assert how == "" and out.ci_low is None  # 33% of 10 is not a whole count
    out, how = with_interval(replace(bare, value=30.0))
    assert how == "exact" and out.events == 3


def test_second_hand_figure_never_the_headline(all_reports):
    for rep in all_reports.values():
        for h in rep.decision.harms:
            if h.figure.second_hand:
                est = rep.estimates.harm(h.key)
                assert all(f.second_hand for f in est.figures if f.value is not None)


def test_harm_context_rendered_when_present(all_reports, all_html):
    from dataclasses import replace

    for name, rep in all_reports.items():
        for h in rep.decision.harms:
            if h.context:
                assert h.context in _text(all_html[name])
    # a context given in the evidence row reaches the harms table (column shown only then)
    rep = all_reports["young-rrms-high-activity"]
    words = "Mostly without symptoms; found by weekly blood tests."
    harms = tuple(replace(h, context=words) if h.key == "ebv_reactivation" else h
                  for h in rep.decision.harms)
    markup = render_patient_report(replace(rep, decision=replace(rep.decision, harms=harms)))
    row = re.search(r'<tr data-harm="ebv_reactivation">.*?</tr>', markup, re.S)
    assert row and words in _text(row.group(0)) and "What it means" in markup
    if not any(h.context for h in rep.decision.harms):
        assert "What it means" not in all_html["young-rrms-high-activity"]


def test_context_read_from_the_evidence_row(evidence):
    """``context`` of a harms row (another helper adds the column) becomes Figure.context."""
    from hsctms.patient.estimates import _Figures

    row = evidence.harms().iloc[0].to_dict()
    row["context"] = "Usually mild."
    assert _Figures(evidence).make(row, "harm").context == "Usually mild."
    row.pop("context")
    assert _Figures(evidence).make(row, "harm").context == ""


def test_second_hand_only_figure_is_marked(all_reports, all_html):
    rep = all_reports["young-rrms-high-activity"]
    for e in rep.estimates.benefits:
        if e.second_hand_only:
            cell = re.search(rf'data-estimate="{e.key}"[^>]*>(.*?)</td>', all_html[
                "young-rrms-high-activity"], re.S)
            assert cell and "second-hand source" in cell.group(1), e.key


# ---------------------------------------------------------------------------- tailoring
def test_no_pregnancy_item_for_men_anywhere_including_coast(all_reports, all_html):
    for name, rep in all_reports.items():
        if rep.profile.sex != "M":
            continue
        text = _text(all_html[name]).lower()
        assert "pregnan" not in text, name
        assert "periods" not in text, name
    coast = [s for s in all_reports["man-rrms-active"].eligibility.sets
             if s.criteria_set.id == "coast"]
    assert coast and any("pregnan" in r.criterion.text.lower() for r in coast[0].results)


def test_woman_keeps_the_pregnancy_items(all_html):
    text = _text(all_html["woman-planning-pregnancy"]).lower()
    assert "pregnan" in text and "freezing eggs or embryos" in text


# ----------------------------------------------------------------------- reading grade
def test_body_reading_grade_at_most_8(all_html):
    textstat = pytest.importorskip("textstat")
    for name, markup in all_html.items():
        text = body_text(markup)
        assert len(text.split()) > 300, name  # the measure covers the real body text
        grade = textstat.flesch_kincaid_grade(text)
        assert grade <= 8, (name, grade)


def test_body_text_parser_excludes_appendix():
    markup = ('<section data-main><p>Short one.</p><table><tr><td><p>x</p></td></tr></table>'
              '</section><section class="appendix"><p>Appendix words.</p></section>')
    assert body_text(markup) == "Short one."


# ------------------------------------------------------------------------------ length
def _pages(pdf: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    return out.split("\f")[:-1] if out.endswith("\f") else out.split("\f")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("name", ALL_PROFILES)
def test_pdf_page_counts(all_reports, chromium, tmp_path, monkeypatch, name):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) missing")
    monkeypatch.setenv("HSCTMS_CHROMIUM", chromium)
    monkeypatch.setenv("HSCTMS_PDF_ENGINE", "chromium")
    out = write_patient_report(all_reports[name], tmp_path / f"{name}.pdf")
    pages = _pages(out)
    first_appendix = next(i for i, p in enumerate(pages) if "Appendix A: each set" in p)
    assert first_appendix <= 6, (name, first_appendix)  # main report: at most 6 A4 pages
    assert len(pages) <= 12, (name, len(pages))
    assert "Your answer in short" in pages[0]


def test_a_comparator_added_to_the_data_is_picked_up(profiles):
    """A new comparative study in the evidence tables (e.g. an overlap-weighted aHSCT vs DMT
    comparison in active SPMS, as Boffa 2023 will be) appears beside aHSCT for a progressive
    person without any code change, named by its design; an arm that already failed for the
    person does not."""
    import pandas as pd

    from hsctms.evidence import EvidenceBase
    from hsctms.evidence.loader import read_all

    studies, outcomes, harms = read_all()
    st = studies.iloc[0].to_dict()
    st.update(study_id="testcomp2099", label="Test 2099 (test comparator)", kind="cohort",
              design="propensity-score overlap-weighted comparison", pct_rrms=0.0,
              pct_spms=100.0, pct_ppms=0.0, pct_progressive=100.0, superseded_by=None,
              overlaps=[], unverified=[])
    base = outcomes.iloc[0].to_dict()
    rows = []
    for arm, comp, est in (("ahsct", "dmt", 60.0), ("dmt", "ahsct", 40.0),
                           ("ahsct", "siponimod", 61.0), ("siponimod", "ahsct", 41.0)):
        r = dict(base)
        r.update(study_id="testcomp2099", arm=arm, comparator=comp, population="all",
                 outcome="progression_free", measure="percent", time_years=5.0,
                 time_label="5 y", estimate=est, ci_low=None, ci_high=None, ci_level=None,
                 events=None, n=None, estimator="km", verified=True, source_type="abstract")
        rows.append(r)
    ev = EvidenceBase.from_tables(pd.concat([studies, pd.DataFrame([st])], ignore_index=True),
                                  pd.concat([outcomes, pd.DataFrame(rows)], ignore_index=True),
                                  harms)
    man = profiles["spms-edss-6.5-no-activity"]  # siponimod failed for him
    assert "siponimod" in failed_drugs(man)
    rep = build_report(man, ev)
    got = [p for p in rep.decision.pairs if p.ahsct.study_id == "testcomp2099"]
    assert [(p.other.arm, p.ahsct.value, p.other.value) for p in got] == [("dmt", 60.0, 40.0)]
    assert got[0].design == "matched registry comparison"
    assert "data-no-comparator" not in render_patient_report(rep)


def test_exact_interval_equals_r_binom_test():
    """The harms' exact intervals equal R binom.test (the committed golden of
    tests/reference/safety, produced by binom_reference.R), edge cases 0/n and n/n included."""
    import json
    from pathlib import Path

    golden = json.loads((Path(__file__).parents[1] / "reference" / "safety"
                         / "golden_binom.json").read_text(encoding="utf-8"))
    assert len(golden) >= 10
    for case in golden:
        lo, hi = exact_interval(case["events"], case["n"], level=case["level"])
        assert math.isclose(lo, 100 * case["lower"], rel_tol=1e-9, abs_tol=1e-12), case
        assert math.isclose(hi, 100 * case["upper"], rel_tol=1e-9, abs_tol=1e-12), case
