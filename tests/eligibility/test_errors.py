"""Bad input to the eligibility API raises hsctms errors (never a bare Python/YAML error).

Each case calls a public function of :mod:`hsctms.eligibility` with bad input and checks the
exception type, that it is an :class:`hsctms.errors.HsctmsError`, and that its message names
the problem (and its hint, where there are choices, lists them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsctms.eligibility import Criterion, assess_eligibility, criteria_sets, get_set
from hsctms.eligibility.engine import load_set
from hsctms.eligibility.rules import FIELD_LABELS, evaluate, validate_rule
from hsctms.errors import ConfigurationError, HsctmsError, ProfileError
from hsctms.model.profile import parse_profile

BASE = {"age_years": 30, "phenotype": "RRMS", "edss": 3.0}
HEAD = ("id: s\nname: S\nkind: trial\ncitation: c\nevidence_section: e\nsummary: s\n"
        "criteria:\n")
CRIT = ("  - id: a\n    kind: inclusion\n    level: required\n    text: t\n    source: s\n"
        "    rule: {field: age, op: ge, value: 18}\n")


def _check(exc: HsctmsError, kind: type[HsctmsError], *words: str) -> None:
    assert type(exc) is kind, repr(exc)
    assert isinstance(exc, HsctmsError)
    assert exc.message
    text = str(exc)
    for w in words:
        assert w in text, (w, text)


def _set_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------- malformed criteria files
BAD_FILES: list[tuple[str, str, tuple[str, ...]]] = [
    ("empty file", "", ("must be a YAML mapping",)),
    ("a list", "- 1\n- 2\n", ("must be a YAML mapping", "list")),
    ("a scalar", "hello\n", ("must be a YAML mapping",)),
    ("bad YAML", "id: [unclosed\n", ("not valid YAML", "line")),
    ("criteria is text", HEAD.replace("criteria:\n", "criteria: abc\n"), ("'criteria'",)),
    ("criteria is a mapping", HEAD.replace("criteria:\n", "criteria: {a: 1}\n"),
     ("'criteria'",)),
    ("criterion is text", HEAD + "  - abc\n", ("criteria[0]", "must be a mapping")),
    ("unknown set kind", HEAD.replace("kind: trial", "kind: blah") + CRIT, ("kind", "blah")),
    ("unknown top-level key", HEAD.replace("summary: s\n", "summary: s\nsumary: x\n") + CRIT,
     ("unknown top-level keys", "sumary")),
    ("empty criterion id", HEAD + CRIT.replace("id: a", "id: "), ("'id'", "non-empty")),
    ("empty criterion text", HEAD + CRIT.replace("text: t", "text: "), ("'text'",)),
    ("id is a list", HEAD.replace("id: s", "id: [s]") + CRIT, ("'id'",)),
    ("field is a list", HEAD + CRIT.replace("field: age", "field: [age]"),
     ("unknown field", "Known fields")),
    ("operator is a list", HEAD + CRIT.replace("op: ge", "op: [ge]"),
     ("unknown operator", "Use one of")),
    ("value is text", HEAD + CRIT.replace("value: 18", "value: abc"),
     ("value 'abc'", "finite number")),
    ("value misspelt", HEAD + CRIT.replace("value: 18", "valeu: 18"),
     ("unknown keys", "valeu", "value, values")),
    ("extra leaf key", HEAD + CRIT.replace("value: 18}", "value: 18, unit: y}"),
     ("unknown keys", "unit")),
    ("between with text", HEAD + CRIT.replace("{field: age, op: ge, value: 18}",
                                              "{field: age, op: between, min: a, max: b}"),
     ("min <= max",)),
    ("between reversed", HEAD + CRIT.replace("{field: age, op: ge, value: 18}",
                                             "{field: age, op: between, min: 50, max: 18}"),
     ("min <= max",)),
    ("values not a list", HEAD + CRIT.replace("{field: age, op: ge, value: 18}",
                                              "{field: phenotype, op: in, values: 3}"),
     ("'values' must be a non-empty list",)),
    ("unknown phenotype", HEAD + CRIT.replace("{field: age, op: ge, value: 18}",
                                              "{field: phenotype, op: eq, value: RMS}"),
     ("RMS", "RRMS, SPMS, PPMS, PRMS")),
    ("ordering a yes/no field", HEAD + CRIT.replace("field: age", "field: pregnant"),
     ("numeric field",)),
    ("is_true on a number", HEAD + CRIT.replace("{field: age, op: ge, value: 18}",
                                                "{field: edss, op: is_true}"),
     ("yes/no field",)),
    ("dmt min_count text", HEAD + CRIT.replace("{field: age, op: ge, value: 18}",
                                               "{dmt_failed: {min_count: abc}}"),
     ("min_count", "whole number")),
    ("dmt min_months text", HEAD + CRIT.replace("{field: age, op: ge, value: 18}",
                                                "{dmt_failed: {min_months: abc}}"),
     ("min_months",)),
    ("dmt names not a list", HEAD + CRIT.replace("{field: age, op: ge, value: 18}",
                                                 "{dmt_failed: {names: 3}}"), ("names",)),
    ("dmt flag not bool", HEAD + CRIT.replace("{field: age, op: ge, value: 18}",
                                              "{dmt_failed: {cytotoxic: maybe}}"),
     ("cytotoxic", "true or false")),
    ("examples a list", HEAD + CRIT + "    examples: [1]\n", ("'examples'",)),
    ("duplicate ids", HEAD + CRIT + CRIT, ("duplicate criterion ids", "'a'")),
    ("centre requirements text", HEAD.replace("criteria:\n", "centre_requirements: 3\n"
                                              "criteria:\n") + CRIT,
     ("centre_requirements",)),
    ("unverified not bool", HEAD + CRIT + "    unverified: sometimes\n", ("'unverified'",)),
]


@pytest.mark.parametrize(("text", "words"), [c[1:] for c in BAD_FILES],
                         ids=[c[0] for c in BAD_FILES])
def test_malformed_criteria_file_raises_configuration_error(tmp_path: Path, text: str,
                                                            words: tuple[str, ...]) -> None:
    with pytest.raises(HsctmsError) as info:
        load_set(_set_file(tmp_path, text))
    _check(info.value, ConfigurationError, "s.yaml", *words)


def test_unreadable_criteria_files(tmp_path: Path) -> None:
    with pytest.raises(HsctmsError) as info:
        load_set(tmp_path / "nope.yaml")
    _check(info.value, ConfigurationError, "does not exist", "nope.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    with pytest.raises(HsctmsError) as info:
        load_set(binary)
    _check(info.value, ConfigurationError, "cannot be read", "UTF-8")
    with pytest.raises(HsctmsError) as info:
        load_set(tmp_path)
    _check(info.value, ConfigurationError, "cannot be read")
    with pytest.raises(HsctmsError) as info:
        load_set(None)  # type: ignore[arg-type]
    _check(info.value, ConfigurationError, "needs the path")
    # the stricter checks still accept a valid file and every packaged set
    assert [c.id for c in load_set(_set_file(tmp_path, HEAD + CRIT)).criteria] == ["a"]
    assert len(criteria_sets()) >= 13


# ------------------------------------------------------------------------------ lookups
def test_report_lookup_of_unknown_set_lists_the_sets() -> None:
    report = assess_eligibility(parse_profile(BASE))
    with pytest.raises(HsctmsError) as info:
        report["nope"]
    _check(info.value, ConfigurationError, "'nope'", "mist", "ectrims-ebmt-2025")
    assert info.value.hint and "mist" in info.value.hint


@pytest.mark.parametrize("sets", ["mist", ["mist"], [None], get_set("mist"), 3],
                         ids=["str", "list of ids", "list of None", "one set", "int"])
def test_assess_eligibility_bad_sets(sets: Any) -> None:
    with pytest.raises(HsctmsError) as info:
        assess_eligibility(parse_profile(BASE), sets=sets)
    _check(info.value, ConfigurationError, "criteria set", "get_set('mist')", "mist")
    # any iterable of sets is still accepted
    report = assess_eligibility(parse_profile(BASE), sets=iter([get_set("mist")]))
    assert [s.criteria_set.id for s in report.sets] == ["mist"]


# ------------------------------------------------------------------------ bad facts
BAD_FACTS: list[tuple[str, Any, tuple[str, ...]]] = [
    ("None", None, ("needs a PatientProfile or a mapping", "NoneType")),
    ("int", 3, ("needs a PatientProfile or a mapping", "int")),
    ("age text", {"age": "thirty"}, ("'age'", "'thirty'", "finite number")),
    ("edss text", {"edss": "x"}, ("'edss'", "finite number")),
    ("phenotype unknown", {"phenotype": "benign"}, ("'phenotype'", "RRMS")),
    ("flag not bool", {"pregnant": "no"}, ("'pregnant'", "true or false")),
    ("dmts text", {"dmts": "natalizumab"}, ("'dmts'", "list of DMT records")),
    ("dmts of ints", {"dmts": [1]}, ("'dmts'",)),
    ("dmt months text", {"dmts": [{"name": "x", "failed": True, "months": "a"}]},
     ("dmts[0].months",)),
    ("dmt failed text", {"dmts": [{"name": "x", "failed": "yes"}]},
     ("dmts[0].failed", "true or false")),
]


def _all_sets(facts: Any) -> None:
    for s in criteria_sets():
        s.evaluate(facts)


@pytest.mark.parametrize(("facts", "words"), [c[1:] for c in BAD_FACTS],
                         ids=[c[0] for c in BAD_FACTS])
def test_bad_facts_raise_profile_error(facts: Any, words: tuple[str, ...]) -> None:
    with pytest.raises(HsctmsError) as info:
        _all_sets(facts)
    _check(info.value, ProfileError, *words)


def test_nan_fact_counts_as_unknown() -> None:
    res = get_set("mist").evaluate({"age": float("nan"), "edss": float("nan")})
    by_id = {r.criterion.id: r for r in res.results}
    assert by_id["mist.edss"].status == "unknown"


def test_criterion_checks_its_rule_and_facts() -> None:
    with pytest.raises(HsctmsError) as info:
        Criterion("x", "inclusion", "required", "t", "s", {"field": "agee", "op": "ge",
                                                           "value": 1})
    _check(info.value, ConfigurationError, "criterion x", "unknown field 'agee'", "age")
    with pytest.raises(HsctmsError) as info:
        Criterion("x", "include", "required", "t", "s", {"field": "age", "op": "ge",  # type: ignore[arg-type]
                                                         "value": 1})
    _check(info.value, ConfigurationError, "inclusion or exclusion")
    crit = get_set("mist").criteria[0]
    with pytest.raises(HsctmsError) as info:
        crit.evaluate(None)  # type: ignore[arg-type]
    _check(info.value, ProfileError, "mapping of facts")


# ------------------------------------------------------------------- property: only ours
_junk = st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.floats(allow_nan=True),
                  st.text(max_size=5), st.lists(st.integers(), max_size=2),
                  st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
_dmt_junk = st.one_of(_junk, st.lists(st.one_of(_junk, st.fixed_dictionaries(
    {"name": _junk, "failed": _junk, "months": _junk, "high_efficacy": _junk,
     "cytotoxic": _junk})), max_size=3))


@settings(max_examples=200, deadline=None)
@given(facts=st.one_of(_junk, st.dictionaries(
    st.sampled_from([*FIELD_LABELS, "dmts"]), st.one_of(_junk, _dmt_junk), max_size=8)))
def test_any_facts_give_a_result_or_a_profile_error(facts: Any) -> None:
    try:
        _all_sets(facts)
    except HsctmsError as exc:
        assert isinstance(exc, ProfileError) and exc.message


_rule_junk = st.recursive(
    st.one_of(_junk, st.fixed_dictionaries({
        "field": st.one_of(st.sampled_from(sorted(FIELD_LABELS)), _junk),
        "op": st.one_of(st.sampled_from(["lt", "ge", "eq", "in", "between", "is_true"]), _junk),
    }, optional={"value": _junk, "values": _junk, "min": _junk, "max": _junk})),
    lambda inner: st.one_of(st.dictionaries(st.sampled_from(["all", "any", "not"]),
                                            st.one_of(inner, st.lists(inner, max_size=3)),
                                            min_size=1, max_size=1),
                            st.fixed_dictionaries({"dmt_failed": st.dictionaries(
                                st.sampled_from(["min_count", "names", "min_months",
                                                 "cytotoxic"]), _junk, max_size=3)})),
    max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(rule=_rule_junk)
def test_any_rule_is_valid_or_a_configuration_error_and_valid_ones_evaluate(rule: Any) -> None:
    try:
        validate_rule(rule, "test")
    except HsctmsError as exc:
        assert isinstance(exc, ConfigurationError) and exc.message.startswith("test")
        return
    facts = parse_profile({**BASE, "dmts": [{"name": "natalizumab", "failed": True,
                                             "months": 12}]}).facts()
    out = evaluate(rule, facts)
    assert out.value in (True, False, None) and out.reason
