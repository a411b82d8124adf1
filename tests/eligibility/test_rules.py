"""The rule language: three-valued logic, operators, DMT-failure counting, validation."""

from __future__ import annotations

import pytest

from hsctms.eligibility.rules import evaluate, referenced_fields, validate_rule
from hsctms.errors import ConfigurationError

AGE_LT_45 = {"field": "age", "op": "lt", "value": 45}
EDSS_LT_6 = {"field": "edss", "op": "lt", "value": 6.0}


@pytest.mark.parametrize(
    ("rule", "facts", "expected"),
    [
        (AGE_LT_45, {"age": 44.9}, True),
        (AGE_LT_45, {"age": 45}, False),
        (AGE_LT_45, {"age": None}, None),
        (AGE_LT_45, {}, None),
        ({"field": "edss", "op": "le", "value": 5.5}, {"edss": 5.5}, True),
        ({"field": "edss", "op": "ge", "value": 3.0}, {"edss": 2.5}, False),
        ({"field": "edss", "op": "gt", "value": 5.0}, {"edss": 5.5}, True),
        ({"field": "phenotype", "op": "eq", "value": "SPMS"}, {"phenotype": "SPMS"}, True),
        ({"field": "phenotype", "op": "ne", "value": "SPMS"}, {"phenotype": "SPMS"}, False),
        ({"field": "phenotype", "op": "in", "values": ["RRMS", "PRMS"]}, {"phenotype": "PRMS"},
         True),
        ({"field": "phenotype", "op": "not_in", "values": ["PPMS"]}, {"phenotype": "PPMS"},
         False),
        ({"field": "age", "op": "between", "min": 18, "max": 50}, {"age": 18}, True),
        ({"field": "age", "op": "between", "min": 18, "max": 50}, {"age": 50.5}, False),
        ({"field": "pregnant", "op": "is_true"}, {"pregnant": False}, False),
        ({"field": "pregnant", "op": "is_false"}, {"pregnant": False}, True),
        ({"field": "pregnant", "op": "is_false"}, {"pregnant": None}, None),
    ],
)
def test_leaf_operators(rule, facts, expected):
    assert evaluate(rule, facts).value is expected


@pytest.mark.parametrize(
    ("age", "edss", "all_", "any_"),
    [
        # Kleene truth tables for all/any with True (T), False (F), unknown (None).
        (30, 3.0, True, True),
        (30, 7.0, False, True),
        (50, 7.0, False, False),
        (None, 3.0, None, True),
        (None, 7.0, False, None),
        (30, None, None, True),
        (50, None, False, None),
        (None, None, None, None),
    ],
)
def test_kleene_groups(age, edss, all_, any_):
    facts = {"age": age, "edss": edss}
    assert evaluate({"all": [AGE_LT_45, EDSS_LT_6]}, facts).value is all_
    assert evaluate({"any": [AGE_LT_45, EDSS_LT_6]}, facts).value is any_


def test_not_keeps_unknown_unknown():
    assert evaluate({"not": AGE_LT_45}, {"age": 30}).value is False
    assert evaluate({"not": AGE_LT_45}, {"age": 50}).value is True
    assert evaluate({"not": AGE_LT_45}, {}).value is None


def _dmt(name, failed, months=12, he=True, cyto=False):
    return {"name": name, "failed": failed, "months": months, "high_efficacy": he,
            "cytotoxic": cyto}


@pytest.mark.parametrize(
    ("spec", "dmts", "expected"),
    [
        ({"min_count": 1}, None, None),
        ({"min_count": 1}, [], False),
        ({"min_count": 1}, [_dmt("natalizumab", True)], True),
        ({"min_count": 1}, [_dmt("natalizumab", False)], False),
        ({"min_count": 1}, [_dmt("natalizumab", None)], None),
        ({"min_count": 2}, [_dmt("natalizumab", True), _dmt("x", None)], None),
        ({"min_count": 2}, [_dmt("natalizumab", True), _dmt("x", False)], False),
        ({"high_efficacy": True}, [_dmt("fingolimod", True, he=False)], False),
        ({"high_efficacy": True}, [_dmt("newdrug", True, he=None)], None),
        ({"names": ["alemtuzumab", "natalizumab"], "min_months": 6},
         [_dmt("natalizumab", True, months=5)], False),
        ({"names": ["alemtuzumab", "natalizumab"], "min_months": 6},
         [_dmt("natalizumab", True, months=None)], None),
        ({"names": ["alemtuzumab", "natalizumab"], "min_months": 6},
         [_dmt("ocrelizumab", True, months=24)], False),
        ({"cytotoxic": True}, [_dmt("mitoxantrone", True, cyto=True)], True),
    ],
)
def test_dmt_failed(spec, dmts, expected):
    out = evaluate({"dmt_failed": spec}, {"dmts": dmts})
    assert out.value is expected
    assert out.reason


def test_reasons_are_plain_language():
    out = evaluate(AGE_LT_45, {"age": 52})
    assert out.reason == "age 52 years (not < 45)"
    assert evaluate(AGE_LT_45, {}).reason == "age is not known"


@pytest.mark.parametrize(
    "bad",
    [
        {"field": "age", "op": "around", "value": 3},
        {"field": "shoe_size", "op": "lt", "value": 3},
        {"field": "age", "op": "lt"},
        {"field": "age", "op": "between", "min": 1},
        {"all": []},
        {"any": [AGE_LT_45], "extra": 1},
        {"dmt_failed": {"colour": "red"}},
        [],
    ],
)
def test_validate_rule_rejects_malformed(bad):
    with pytest.raises(ConfigurationError):
        validate_rule(bad, "test")


def test_referenced_fields():
    rule = {"all": [AGE_LT_45, {"any": [EDSS_LT_6, {"dmt_failed": {}}]}]}
    assert referenced_fields(rule) == {"age", "edss", "dmts"}
