"""Bad input to the patient API raises hsctms errors (never a bare Python/pydantic error).

Each case calls a public function of :mod:`hsctms.patient` with bad input and checks the
exception type, that it is an :class:`hsctms.errors.HsctmsError`, and that its message names
the field or argument and the problem (and its hint, where there are choices, lists them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsctms.errors import ConfigurationError, EvidenceError, HsctmsError, ProfileError
from hsctms.patient import (
    PatientProfile,
    build_report,
    load_profile,
    parse_profile,
    personal_estimates,
    render_patient_report,
    write_patient_report,
)

BASE = {"age_years": 30, "phenotype": "RRMS", "edss": 3.0}


def _check(exc: HsctmsError, kind: type[HsctmsError], *words: str) -> None:
    assert type(exc) is kind, repr(exc)
    assert isinstance(exc, HsctmsError)
    assert exc.message and exc.hint
    text = str(exc)
    for w in words:
        assert w in text, (w, text)


@pytest.fixture(scope="module")
def estimates(evidence: Any) -> Any:
    return personal_estimates(parse_profile(BASE), evidence)


@pytest.fixture(scope="module")
def report(evidence: Any) -> Any:
    return build_report(BASE, evidence)


# ------------------------------------------------------------------------------ profiles
@pytest.mark.parametrize(("change", "words"), [
    ({"edss": True}, ("edss: a number is needed, got true",)),
    ({"relapses_12m": True}, ("relapses_12m: a number is needed, got true",)),
    ({"age_years": float("nan")}, ("age_years", "finite number")),
    ({"edss": float("inf")}, ("edss", "finite number")),
    ({"dmts": [{"name": "natalizumab", "months": float("nan")}]},
     ("dmts.0.months", "finite number")),
    ({"dmts": [{"name": "natalizumab", "months": False}]},
     ("dmts.0.months", "a number is needed")),
], ids=["edss true", "count true", "nan age", "inf edss", "nan months", "months false"])
def test_flags_and_non_finite_numbers_are_rejected(change: dict[str, Any],
                                                   words: tuple[str, ...]) -> None:
    """true/false would silently become 1/0 (the web form sends yes/no); NaN got a misleading
    'less than or equal to 110' message."""
    with pytest.raises(HsctmsError) as info:
        parse_profile({**BASE, **change})
    _check(info.value, ProfileError, "invalid or missing values", *words)


def test_profile_with_non_text_keys() -> None:
    with pytest.raises(HsctmsError) as info:
        parse_profile({**BASE, 1: 2})
    _check(info.value, ProfileError, "field names must be text", "[1]")


def test_constructing_a_profile_raises_profile_error() -> None:
    with pytest.raises(HsctmsError) as info:
        PatientProfile(edss=0.5, age_years=30)  # type: ignore[call-arg]
    _check(info.value, ProfileError, "phenotype: required but missing",
           "0.5 is not on the Kurtzke EDSS scale", "profile-schema.md")
    assert PatientProfile(**BASE).edss == 3.0  # valid values still construct


@pytest.mark.parametrize(("name", "content", "words"), [
    ("binary.json", b"\xff\xfe\x00 not text", ("not UTF-8 text",)),
    ("profile.yaml", b"age_years: 30\nphenotype: RRMS\nedss: 3\n",
     ("not valid JSON", "Profiles are JSON, not YAML")),
], ids=["binary", "yaml"])
def test_load_profile_bad_files(tmp_path: Path, name: str, content: bytes,
                                words: tuple[str, ...]) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(HsctmsError) as info:
        load_profile(path)
    _check(info.value, ProfileError, name, *words)


def test_load_profile_directory_and_non_path(tmp_path: Path) -> None:
    with pytest.raises(HsctmsError) as info:
        load_profile(tmp_path)
    _check(info.value, ProfileError, "cannot be read", str(tmp_path))
    for bad in (None, 3):
        with pytest.raises(HsctmsError) as info:
            load_profile(bad)  # type: ignore[arg-type]
        _check(info.value, ProfileError, "needs the path of a JSON profile", "parse_profile")


_junk = st.one_of(st.none(), st.booleans(), st.integers(-10, 1000), st.floats(),
                  st.text(max_size=6), st.lists(st.integers(), max_size=2),
                  st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
_fields = sorted(PatientProfile.model_fields)


_changes = st.dictionaries(
    st.one_of(st.sampled_from([*_fields, "agee"]), st.integers()),
    st.one_of(_junk, st.lists(st.dictionaries(st.sampled_from(["name", "months", "failed"]),
                                              _junk), max_size=2)), max_size=4)


_NUMERIC = ("edss", "age_years", "relapses_12m", "relapses_24m", "gd_lesions_12m")
_numbers = st.dictionaries(st.sampled_from(_NUMERIC), _junk, min_size=1, max_size=2)


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(_junk, _changes, _changes.map(lambda c: {**BASE, **c}),
                      _numbers.map(lambda c: {**BASE, **c})))
def test_any_profile_input_is_valid_or_a_profile_error(data: Any) -> None:
    try:
        prof = parse_profile(data)
    except HsctmsError as exc:
        assert isinstance(exc, ProfileError) and exc.message and exc.hint
        return
    assert isinstance(prof, PatientProfile)
    for key in _NUMERIC:
        assert not isinstance(data.get(key), bool), f"{key}: a flag was read as a number"


# ----------------------------------------------------------------------------- estimates
def test_benefit_lookup_unknown_outcome_lists_outcomes(estimates: Any) -> None:
    with pytest.raises(HsctmsError) as info:
        estimates.benefit("nope", 5.0)
    _check(info.value, ConfigurationError, "'nope'", "neda", "progression_free",
           "relapse_free")


@pytest.mark.parametrize("time", [3.0, float("nan"), "5"], ids=["3y", "nan", "text"])
def test_benefit_lookup_unknown_time_lists_times(estimates: Any, time: Any) -> None:
    with pytest.raises(HsctmsError) as info:
        estimates.benefit("neda", time)
    _check(info.value, ConfigurationError, "no neda estimate", "2, 5, 10 years")


def test_harm_lookup_unknown_lists_harms(estimates: Any) -> None:
    with pytest.raises(HsctmsError) as info:
        estimates.harm("nope")
    _check(info.value, ConfigurationError, "'nope'", "thyroid", "febrile_neutropenia")


@pytest.mark.parametrize("profile", [BASE, None], ids=["dict", "None"])
def test_personal_estimates_needs_a_profile(profile: Any, evidence: Any) -> None:
    with pytest.raises(HsctmsError) as info:
        personal_estimates(profile, evidence)
    _check(info.value, ProfileError, "needs a PatientProfile", "parse_profile")


@pytest.mark.parametrize("evidence", ["abc", {}], ids=["str", "dict"])
def test_bad_evidence_argument(evidence: Any) -> None:
    with pytest.raises(HsctmsError) as info:
        personal_estimates(parse_profile(BASE), evidence)
    _check(info.value, EvidenceError, "EvidenceBase", "load_evidence")
    with pytest.raises(HsctmsError) as info:
        build_report(BASE, evidence)
    _check(info.value, EvidenceError, "EvidenceBase")


# -------------------------------------------------------------------------------- report
@pytest.mark.parametrize("bad", [None, {}], ids=["None", "dict"])
def test_render_and_write_need_a_report(bad: Any, tmp_path: Path) -> None:
    with pytest.raises(HsctmsError) as info:
        render_patient_report(bad)
    _check(info.value, ConfigurationError, "render_patient_report needs a PatientReport",
           "build_report")
    with pytest.raises(HsctmsError) as info:
        write_patient_report(bad, tmp_path / "r.json")
    _check(info.value, ConfigurationError, "write_patient_report needs a PatientReport")


def test_write_report_bad_path(report: Any, tmp_path: Path) -> None:
    with pytest.raises(HsctmsError) as info:
        write_patient_report(report, None)  # type: ignore[arg-type]
    _check(info.value, ConfigurationError, "needs an output path", ".json")
    with pytest.raises(HsctmsError) as info:
        write_patient_report(report, tmp_path / "r.docx")
    _check(info.value, ConfigurationError, "'.docx'", ".html, .pdf or .json")
