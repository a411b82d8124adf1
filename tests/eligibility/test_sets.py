"""Every criterion of every packaged set: met / not met / unknown, plus set verdicts.

The met / not-met cases are the worked examples stored beside each criterion in its data file;
the unknown case is an empty profile (nothing known). Hand-written cases below check verdicts
for whole profiles against what the published criteria say.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hsctms.eligibility.engine import (
    SETS_DIR,
    assess_eligibility,
    criteria_sets,
    get_set,
    load_set,
)
from hsctms.eligibility.rules import referenced_fields
from hsctms.errors import ConfigurationError
from hsctms.model.profile import load_profile, parse_profile

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "examples" / "profiles"

REQUIRED_SETS = {"ectrims-ebmt-2025", "ebmt-2020", "nmss-2021", "asbmt-2019", "london-2016",
                 "nhs-england-2015", "halt-ms", "mist", "zeus"}

CRITERIA = [(s.id, c) for s in criteria_sets() for c in s.criteria]
IDS = [c.id for _, c in CRITERIA]


def test_all_required_sets_are_packaged():
    assert REQUIRED_SETS <= {s.id for s in criteria_sets()}


def test_every_set_cites_its_source():
    for s in criteria_sets():
        assert s.citation and "evidence.md" in s.evidence_section
        for c in s.criteria:
            assert c.source and c.text
            assert c.id.startswith(s.id + ".")


@pytest.mark.parametrize(("set_id", "criterion"), CRITERIA, ids=IDS)
def test_criterion_met_example(set_id, criterion):
    example = criterion.examples.get("met")
    assert example is not None, f"{criterion.id} has no 'met' example in {set_id}.yaml"
    result = criterion.evaluate(example)
    assert result.status == "met", result.reason


@pytest.mark.parametrize(("set_id", "criterion"), CRITERIA, ids=IDS)
def test_criterion_not_met_example(set_id, criterion):
    example = criterion.examples.get("not_met")
    assert example is not None, f"{criterion.id} has no 'not_met' example in {set_id}.yaml"
    result = criterion.evaluate(example)
    assert result.status == "not_met", result.reason


@pytest.mark.parametrize(("set_id", "criterion"), CRITERIA, ids=IDS)
def test_criterion_unknown_when_nothing_known(set_id, criterion):
    result = criterion.evaluate({})
    assert result.status == "unknown"
    assert result.passes is None
    assert "not known" in result.reason or "cannot tell" in result.reason


@pytest.mark.parametrize(("set_id", "criterion"), CRITERIA, ids=IDS)
def test_criterion_unknown_when_one_needed_fact_removed(set_id, criterion):
    """Blanking each fact a met example relies on never leaves it 'met' by default."""
    example = dict(criterion.examples["met"])
    fields = referenced_fields(criterion.rule)
    if criterion.when is not None:
        fields |= referenced_fields(criterion.when)
    for name in fields & set(example):
        reduced = {**example, name: None}
        status = criterion.evaluate(reduced).status
        # Either still decided by the remaining facts (an 'any' branch), or unknown.
        assert status in ("met", "unknown"), (name, status)


def test_exclusion_semantics():
    crit = next(c for c in get_set("halt-ms").criteria if c.id == "halt-ms.ppms")
    assert crit.kind == "exclusion"
    assert crit.evaluate({"phenotype": "PPMS"}).passes is False
    assert crit.evaluate({"phenotype": "RRMS"}).passes is True
    assert crit.evaluate({}).passes is None


def test_when_gate_not_applicable():
    crit = next(c for c in get_set("london-2016").criteria if c.id == "london-2016.ppms-ocb")
    res = crit.evaluate({"phenotype": "RRMS"})
    assert res.status == "not_applicable" and res.passes is True


def test_unverified_flags_survive():
    ebmt = get_set("ebmt-2020")
    flagged = {c.id for c in ebmt.criteria if c.unverified}
    assert {"ebmt-2020.activity-12m", "ebmt-2020.age", "ebmt-2020.edss"} <= flagged
    assert next(c for c in get_set("halt-ms").criteria if c.id == "halt-ms.age").unverified


def test_zeus_has_no_checkable_criteria():
    res = assess_eligibility(load_profile(PROFILES / "young-rrms-high-activity.json"))["zeus"]
    assert res.verdict == "cannot_tell"
    assert "did not publish" in res.explanation


# ---------------------------------------------------------------- whole-profile verdicts
def _verdicts(name: str) -> dict[str, str]:
    report = assess_eligibility(load_profile(PROFILES / name))
    return {s.criteria_set.id: s.verdict for s in report.sets}


def test_young_rrms_high_activity_meets_guidelines():
    v = _verdicts("young-rrms-high-activity.json")
    for sid in ("ectrims-ebmt-2025", "ebmt-2020", "nmss-2021", "asbmt-2019", "london-2016",
                "nhs-england-2015", "mist", "halt-ms"):
        assert v[sid] == "eligible", sid


def test_spms_65_without_activity_is_not_eligible_where_activity_required():
    report = assess_eligibility(load_profile(PROFILES / "spms-edss-6.5-no-activity.json"))
    for sid in ("ectrims-ebmt-2025", "ebmt-2020", "nmss-2021", "asbmt-2019", "london-2016",
                "nhs-england-2015", "halt-ms", "mist"):
        assert report[sid].verdict == "not_eligible", sid
    ectrims = report["ectrims-ebmt-2025"]
    assert "ectrims-ebmt-2025.active-disease" in [r.criterion.id for r in ectrims.deciding]
    london = report["london-2016"]
    failed = {r.criterion.id for r in london.deciding}
    assert {"london-2016.edss", "london-2016.mri-activity", "london-2016.spms-activity"} <= failed
    assert "london-2016.walk-20m" not in failed  # EDSS 6.5 still walks 20 m with 2 aids


def test_ppms_with_enhancing_lesions():
    v = _verdicts("ppms-enhancing.json")
    assert v["asbmt-2019"] == "eligible"  # progressive MS with superimposed MRI activity
    assert v["london-2016"] == "eligible"  # OCB + activity
    assert v["ectrims-ebmt-2025"] == "not_eligible"  # needs clinical AND MRI activity
    assert v["halt-ms"] == "not_eligible" and v["mist"] == "not_eligible"


def test_after_failed_alemtuzumab():
    report = assess_eligibility(load_profile(PROFILES / "after-failed-alemtuzumab.json"))
    assert report["ectrims-ebmt-2025"].verdict == "eligible"
    assert report["london-2016"].verdict == "eligible"
    assert report["ectrims-ebmt-2025"].outside_preferred == []


def test_newly_diagnosed_edss2_is_not_eligible_first_line():
    report = assess_eligibility(load_profile(PROFILES / "edss2-newly-diagnosed.json"))
    ectrims = report["ectrims-ebmt-2025"]
    assert ectrims.verdict == "not_eligible"
    assert [r.criterion.id for r in ectrims.deciding] == ["ectrims-ebmt-2025.failed-hedmt"]


def test_unknown_dmt_history_gives_cannot_tell_not_eligible():
    data = {"age_years": 30, "phenotype": "RRMS", "edss": 3.0, "relapses_12m": 2,
            "gd_lesions_12m": 1, "new_t2_lesions_12m": 2, "nmosd": False}
    report = assess_eligibility(parse_profile(data))
    ectrims = report["ectrims-ebmt-2025"]
    assert ectrims.verdict == "cannot_tell"
    assert [r.criterion.id for r in ectrims.deciding] == ["ectrims-ebmt-2025.failed-hedmt"]


def test_preferred_criteria_do_not_exclude():
    data = {"age_years": 52, "phenotype": "RRMS", "edss": 3.0, "relapses_12m": 2,
            "years_since_onset": 12, "gd_lesions_12m": 1, "new_t2_lesions_12m": 0,
            "nmosd": False, "dmts": [{"name": "ocrelizumab", "months": 12, "failed": True}]}
    res = assess_eligibility(parse_profile(data))["ectrims-ebmt-2025"]
    assert res.verdict == "eligible"
    assert {r.criterion.id for r in res.outside_preferred} == {
        "ectrims-ebmt-2025.age", "ectrims-ebmt-2025.duration"}
    assert "Outside the preferred profile" in res.explanation


def test_edss_raised_by_relapse_accepted_by_ectrims():
    crit = next(c for c in get_set("ectrims-ebmt-2025").criteria
                if c.id == "ectrims-ebmt-2025.edss")
    assert crit.evaluate({"edss": 7.0, "edss_raised_by_recent_relapse": True}).status == "met"
    assert crit.evaluate({"edss": 7.0}).status == "unknown"


def test_report_to_dict_is_complete():
    report = assess_eligibility(load_profile(PROFILES / "ppms-enhancing.json"))
    d = report.to_dict()
    assert len(d["sets"]) == len(criteria_sets())
    crit = d["sets"][0]["criteria"][0]
    assert {"id", "status", "reason", "source", "unverified", "passes"} <= set(crit)


def test_bad_set_file_is_a_clear_error(tmp_path):
    raw = yaml.safe_load((SETS_DIR / "mist.yaml").read_text())
    raw["criteria"][0]["rule"] = {"field": "age", "op": "approximately", "value": 3}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigurationError, match="unknown operator"):
        load_set(bad)
    with pytest.raises(ConfigurationError, match="Unknown criteria set"):
        get_set("nope")


def test_docs_list_every_criterion():
    from hsctms.eligibility.engine import criteria_markdown

    doc = (REPO / "docs" / "patient-report.md").read_text(encoding="utf-8")
    block = doc.split("<!-- criteria:start -->\n", 1)[1].split("<!-- criteria:end -->", 1)[0]
    assert block == criteria_markdown(), "regenerate the criteria appendix of the docs"
    for s in criteria_sets():
        for c in s.criteria:
            assert f"`{c.id}`" in block
