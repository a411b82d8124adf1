"""The report is tailored by sex: no pregnancy or periods for men, fertility for everyone,
both (worded neutrally) when sex is unknown or X; the expect summary lists harms."""

from __future__ import annotations

import json
import re

import pytest

from hsctms.model.profile import load_profile, parse_profile
from hsctms.patient.estimates import WOMEN_ONLY_HARMS
from hsctms.patient.report import build_report, render_patient_report, report_context

from .conftest import PROFILE_DIR

MAN = "man-rrms-active"
WOMAN = "young-rrms-high-activity"


def _report(name: str, evidence, **change):
    data = json.loads((PROFILE_DIR / f"{name}.json").read_text(encoding="utf-8"))
    data.update(change)
    return build_report(parse_profile(data), evidence)


@pytest.fixture(scope="module")
def man(evidence):
    return build_report(load_profile(PROFILE_DIR / f"{MAN}.json"), evidence)


@pytest.fixture(scope="module")
def woman(evidence):
    return build_report(load_profile(PROFILE_DIR / f"{WOMAN}.json"), evidence)


def _visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_man_example_is_a_man_without_a_pregnancy_field():
    data = json.loads((PROFILE_DIR / f"{MAN}.json").read_text(encoding="utf-8"))
    assert data["sex"] == "M"
    assert "pregnant" not in data


def test_no_pregnancy_or_periods_item_for_a_man(man):
    shown = {e.outcome for e in man.estimates.harms}
    assert not shown & WOMEN_ONLY_HARMS
    ctx = report_context(man)
    assert not {h["key"] for h in ctx["harms"]} & WOMEN_ONLY_HARMS
    html = render_patient_report(man)
    # the whole report, criteria included: the COAST pregnancy exclusion is not shown to a man
    text = _visible_text(html[html.index("<main>"):]).lower()
    for word in ("pregnan", "periods", "menstrua", "menses", "egg", "embryo"):
        assert word not in text, word
    assert not {i["harms"][0] for i in ctx["fertility"] if i["harms"]} & WOMEN_ONLY_HARMS


def test_a_man_is_not_asked_whether_he_is_pregnant(man):
    """A missing 'pregnant' never leaves a criterion unknown for a man."""
    for s in man.eligibility.sets:
        for r in s.results:
            if r.criterion.id.endswith("pregnancy"):
                assert r.status != "unknown", (s.criteria_set.id, r.reason)


def test_male_fertility_item_present(man):
    items = man.estimates.fertility
    assert [i.audience for i in items] == ["men"]
    assert "sperm banking" in items[0].text
    assert not items[0].verified  # no source in the evidence base: flagged
    html = render_patient_report(man)
    assert 'data-fertility="men"' in html
    assert "sperm banking" in html
    assert "(unverified: no source in the evidence base)" in html
    assert "Can I freeze sperm first" in html
    assert man.to_dict()["estimates"]["fertility"][0]["audience"] == "men"


def test_womens_items_present_for_a_woman(woman):
    shown = {e.outcome for e in woman.estimates.harms}
    assert WOMEN_ONLY_HARMS <= shown
    ctx = report_context(woman)
    assert WOMEN_ONLY_HARMS <= {h["key"] for h in ctx["harms"]}
    assert {i.audience for i in woman.estimates.fertility} == {"women"}
    html = render_patient_report(woman)
    assert 'data-harm="menses_recovery"' in html and 'data-harm="pregnancy"' in html
    assert 'data-fertility="women"' in html and 'data-fertility="men"' not in html
    assert "sperm banking" not in html
    assert "Can I freeze eggs or embryos first" in html


@pytest.mark.parametrize("sex", [None, "X"])
def test_unknown_or_x_shows_both_worded_neutrally(evidence, sex):
    rep = _report(MAN, evidence, sex=sex)
    shown = {e.outcome for e in rep.estimates.harms}
    assert WOMEN_ONLY_HARMS <= shown
    assert {i.audience for i in rep.estimates.fertility} == {"women", "men"}
    html = render_patient_report(rep)
    assert 'data-fertility="women"' in html and 'data-fertility="men"' in html
    assert "Can I freeze eggs, sperm or embryos first" in html
    assert "Periods coming back (women)" in html
    assert re.search(r"\byou (are|were) (a )?(man|woman)\b", _visible_text(html)) is None


def test_sex_does_not_change_any_figure(evidence, man):
    """Only what is shown changes: the shared figures are identical for every sex."""
    other = _report(MAN, evidence, sex="F")
    assert other.estimates.benefits == man.estimates.benefits
    assert other.estimates.trm_pooled == man.estimates.trm_pooled
    mine = {e.outcome: e for e in man.estimates.harms}
    assert all(mine[e.outcome] == e for e in other.estimates.harms
               if e.outcome not in WOMEN_ONLY_HARMS)
