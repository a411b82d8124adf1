"""Profile validation: clear ProfileError messages, derived durations and facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hsctms.errors import ProfileError
from hsctms.model.profile import (
    PatientProfile,
    load_profile,
    parse_profile,
    profile_schema_markdown,
)

REPO = Path(__file__).resolve().parents[2]
BASE = {"age_years": 30, "phenotype": "RRMS", "edss": 3.0}


def test_examples_all_valid():
    files = sorted((REPO / "examples" / "profiles").glob("*.json"))
    assert len(files) >= 5
    for f in files:
        assert isinstance(load_profile(f), PatientProfile)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"edss": 0.5}, "0.5 is not on the Kurtzke EDSS scale"),
        ({"edss": 6.3}, "6.3 is not on the Kurtzke EDSS scale"),
        ({"edss": 10.5}, "not on the Kurtzke EDSS scale"),
        ({"phenotype": "benign"}, "phenotype"),
        ({"age_years": -1}, "age_years"),
        ({"age_years": None}, "give the age in years or date_of_birth"),
        ({"relapses_12m": 3, "relapses_24m": 2}, "relapses_24m: 2 is fewer than relapses_12m"),
        ({"gd_lesions_12m": 3, "gd_lesions_24m": 1}, "gd_lesions_24m: 1 is fewer"),
        ({"relapses_12m": -1}, "relapses_12m"),
        ({"shoe_size": 42}, "shoe_size: unknown field"),
        ({"years_since_onset": 40}, "longer than the age"),
        ({"sex": "M", "pregnant": True}, "pregnant: true but sex is M"),
        ({"assessment_date": "2020-01-01", "onset_date": "2021-01-01"}, "after the assessment"),
        ({"dmts": [{"name": "natalizumab", "months": -3}]}, "dmts.0.months"),
    ],
)
def test_bad_values_raise_profile_error(change, message):
    data = {**BASE, **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ProfileError) as exc:
        parse_profile(data)
    assert message in str(exc.value)
    assert exc.value.hint and "profile-schema.md" in exc.value.hint


def test_missing_required_fields_are_named():
    with pytest.raises(ProfileError) as exc:
        parse_profile({"age_years": 30})
    text = str(exc.value)
    assert "phenotype: required but missing" in text
    assert "edss: required but missing" in text


def test_dates_give_durations():
    p = parse_profile({**BASE, "age_years": None, "date_of_birth": "1990-01-15",
                       "onset_date": "2016-01-15", "diagnosis_date": "2021-01-15",
                       "assessment_date": "2026-01-15"})
    assert p.age == pytest.approx(36.0, abs=0.01)
    assert p.disease_duration == pytest.approx(10.0, abs=0.01)
    assert p.duration_since_diagnosis == pytest.approx(5.0, abs=0.01)


def test_facts_three_valued_mri_and_dmts():
    p = parse_profile({**BASE, "gd_lesions_12m": 0})
    assert p.facts()["mri_activity_12m"] is None  # new T2 unknown
    p = parse_profile({**BASE, "gd_lesions_12m": 0, "new_t2_lesions_12m": 0})
    assert p.facts()["mri_activity_12m"] is False
    p = parse_profile({**BASE, "new_t2_lesions_12m": 2})
    f = p.facts()
    assert f["mri_activity_12m"] is True and f["mri_activity_24m"] is True
    assert f["dmts"] is None and f["treatment_naive"] is None
    p = parse_profile({**BASE, "dmts": [{"name": "Tysabri", "failed": True},
                                        {"name": "Brand-new-mab", "high_efficacy": False}]})
    d = p.facts()["dmts"]
    assert d[0]["name"] == "natalizumab" and d[0]["high_efficacy"] is True
    # a drug the catalogue does not list is accepted with its stated class; the catalogue's
    # other class (cytotoxic) stays unknown, never assumed
    assert d[1]["high_efficacy"] is False and d[1]["cytotoxic"] is None


@pytest.mark.parametrize(("name", "suggestion"), [
    ("natalizumb", "did you mean natalizumab?"),
    ("Ocrevuss", "did you mean ocrelizumab?"),
    ("Brand-new-mab", None),
])
def test_unknown_drug_is_an_error_naming_the_known_drugs(name: str, suggestion: str | None):
    """A misspelt drug used to be accepted with an unknown class, which silently turned
    "failed a high-efficacy DMT" from met to not met (issue 13)."""
    with pytest.raises(ProfileError) as info:
        parse_profile({**BASE, "dmts": [{"name": name, "failed": True}]})
    text = str(info.value)
    assert f"dmts.0: unknown drug {name!r}" in text
    assert "alemtuzumab, cladribine" in text and '"high_efficacy": true or false' in text
    if suggestion:
        assert suggestion in text
    else:
        assert "did you mean" not in text


def test_high_efficacy_override():
    p = parse_profile({**BASE, "dmts": [{"name": "fingolimod", "high_efficacy": True}]})
    assert p.facts()["dmts"][0]["high_efficacy"] is True


def test_load_profile_errors(tmp_path):
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ProfileError, match="not valid JSON"):
        load_profile(bad)
    arr = tmp_path / "arr.json"
    arr.write_text(json.dumps([1, 2]))
    with pytest.raises(ProfileError, match="JSON object"):
        load_profile(arr)


def test_docs_schema_in_sync():
    doc = (REPO / "docs" / "profile-schema.md").read_text(encoding="utf-8")
    assert profile_schema_markdown() in doc, (
        "docs/profile-schema.md is out of date: regenerate with "
        "python -m hsctms.model.profile > docs/profile-schema.md (see its header)")
