"""A small declarative rule language with three-valued (Kleene) logic.

Rules are plain mappings, as written in the criteria data files:

``{"field": "age", "op": "between", "min": 18, "max": 50}``
    a comparison of one profile fact. Operators: ``lt le gt ge eq ne`` (with ``value``),
    ``in not_in`` (with ``values``), ``between`` (inclusive ``min``/``max``), ``is_true``,
    ``is_false``.
``{"all": [rule, ...]}``, ``{"any": [rule, ...]}``, ``{"not": rule}``
    groups.
``{"dmt_failed": {"min_count": 1, "high_efficacy": true, "names": [...], "cytotoxic": true,
"min_months": 6}}``
    at least ``min_count`` DMTs in the profile that match every given filter *and* failed.

Every evaluation returns an :class:`Outcome`: ``value`` is True, False or None (unknown) and
``reason`` says why in plain words. A fact that is unknown (None) makes its comparison unknown;
``all`` is False if any part is False, else unknown if any part is unknown; ``any`` is True if any
part is True, else unknown if any part is unknown. So an unknown input can never make a rule
true that the known inputs do not make true (monotonicity, tested with hypothesis).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

from hsctms.errors import ConfigurationError, ProfileError

#: Plain-language label and unit of each fact a rule may reference.
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "age": ("age", "years"),
    "sex": ("sex", ""),
    "phenotype": ("type of MS", ""),
    "edss": ("EDSS", ""),
    "edss_raised_by_recent_relapse": ("EDSS raised by a recent relapse", ""),
    "disease_duration": ("time since first symptoms", "years"),
    "years_since_diagnosis": ("time since diagnosis", "years"),
    "relapses_12m": ("relapses in the last 12 months", ""),
    "relapses_18m": ("relapses in the last 18 months", ""),
    "relapses_24m": ("relapses in the last 24 months", ""),
    "relapses_36m": ("relapses in the last 36 months", ""),
    "gd_lesions_12m": ("enhancing (gadolinium) lesions in the last 12 months", ""),
    "new_t2_lesions_12m": ("new or enlarging T2 lesions in the last 12 months", ""),
    "gd_lesions_24m": ("enhancing (gadolinium) lesions in the last 24 months", ""),
    "new_t2_lesions_24m": ("new or enlarging T2 lesions in the last 24 months", ""),
    "mri_activity_12m": ("new or enhancing MRI lesions in the last 12 months", ""),
    "mri_activity_24m": ("new or enhancing MRI lesions in the last 24 months", ""),
    "dmt_count": ("number of DMTs taken", ""),
    "treatment_naive": ("never treated with a DMT", ""),
    "hedmt_contraindicated": ("high-efficacy DMTs contraindicated", ""),
    "rapidly_evolving_severe": ("severe, rapidly evolving MS", ""),
    "csf_oligoclonal_bands": ("oligoclonal bands in spinal fluid", ""),
    "significant_comorbidity": ("another illness that raises transplant risk", ""),
    "prior_ahsct": ("previous aHSCT", ""),
    "pregnant": ("pregnant", ""),
    "nmosd": ("NMO spectrum disorder", ""),
    "planned_intensity": ("planned conditioning intensity", ""),
}

#: Facts compared as numbers; every other fact is a yes/no flag or one of ``_CHOICES``.
_NUMERIC: frozenset[str] = frozenset({
    "age", "edss", "disease_duration", "years_since_diagnosis", "relapses_12m", "relapses_18m",
    "relapses_24m", "relapses_36m", "gd_lesions_12m", "new_t2_lesions_12m", "gd_lesions_24m",
    "new_t2_lesions_24m", "dmt_count"})
#: Facts that take one of a fixed set of values.
_CHOICES: dict[str, tuple[str, ...]] = {
    "sex": ("F", "M", "X"),
    "phenotype": ("RRMS", "SPMS", "PPMS", "PRMS"),
    "planned_intensity": ("low", "intermediate", "high"),
}
_LEAF_KEYS = {"field", "op", "value", "values", "min", "max"}

_COMPARE = {
    "lt": ("<", lambda a, b: a < b),
    "le": ("<=", lambda a, b: a <= b),
    "gt": (">", lambda a, b: a > b),
    "ge": (">=", lambda a, b: a >= b),
    "eq": ("=", lambda a, b: a == b),
    "ne": ("≠", lambda a, b: a != b),
}
_OPS = {*_COMPARE, "in", "not_in", "between", "is_true", "is_false"}
_DMT_KEYS = {"min_count", "high_efficacy", "names", "cytotoxic", "min_months"}


@dataclass(frozen=True)
class Outcome:
    """Result of evaluating a rule: ``value`` True / False / None (unknown) and a reason."""

    value: bool | None
    reason: str


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.1f}" if value != int(value) else f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _label(field: str) -> tuple[str, str]:
    return FIELD_LABELS.get(field, (field.replace("_", " "), ""))


def validate_rule(rule: Any, where: str) -> None:  # noqa: C901 - a validator: one flat list of rules
    """Check a rule's structure; raise :class:`ConfigurationError` naming ``where`` if bad."""
    if not isinstance(rule, Mapping) or not rule:
        raise ConfigurationError(f"{where}: a rule must be a non-empty mapping, got {rule!r}.")
    if "all" in rule or "any" in rule:
        key = "all" if "all" in rule else "any"
        parts = rule[key]
        if len(rule) != 1 or not isinstance(parts, list) or not parts:
            raise ConfigurationError(f"{where}: '{key}' needs a non-empty list and nothing else.")
        for i, part in enumerate(parts):
            validate_rule(part, f"{where}.{key}[{i}]")
        return
    if "not" in rule:
        if len(rule) != 1:
            raise ConfigurationError(f"{where}: 'not' takes exactly one rule.")
        validate_rule(rule["not"], f"{where}.not")
        return
    if "dmt_failed" in rule:
        spec = rule["dmt_failed"]
        if len(rule) != 1 or not isinstance(spec, Mapping) or not set(spec) <= _DMT_KEYS:
            raise ConfigurationError(
                f"{where}: dmt_failed takes a mapping with keys {sorted(_DMT_KEYS)}.")
        _validate_dmt_spec(spec, where)
        return
    field, op = rule.get("field"), rule.get("op")
    if not isinstance(field, str) or field not in FIELD_LABELS:
        raise ConfigurationError(f"{where}: unknown field {field!r}.",
                                 hint=f"Known fields: {', '.join(sorted(FIELD_LABELS))}.")
    if not isinstance(op, str) or op not in _OPS:
        raise ConfigurationError(f"{where}: unknown operator {op!r}.",
                                 hint=f"Use one of {', '.join(sorted(_OPS))}.")
    unknown = set(rule) - _LEAF_KEYS
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {sorted(map(str, unknown))}.",
                                 hint=f"A comparison takes {', '.join(sorted(_LEAF_KEYS))}.")
    needs = {"in": "values", "not_in": "values", "between": "min"}.get(
        op, "value" if op in _COMPARE else None)
    if needs and needs not in rule:
        raise ConfigurationError(f"{where}: operator {op!r} needs '{needs}'.")
    if op == "between" and "max" not in rule:
        raise ConfigurationError(f"{where}: operator 'between' needs 'max'.")
    _validate_operands(field, op, rule, where)


def _is_number(value: Any) -> bool:
    return (isinstance(value, Real) and not isinstance(value, bool)
            and math.isfinite(float(value)))


def _kind(field: str) -> str:
    if field in _NUMERIC:
        return "a finite number"
    if field in _CHOICES:
        return "one of " + ", ".join(_CHOICES[field])
    return "true or false"


def _fits(field: str, value: Any) -> bool:
    """Whether a rule operand has the type (and, for choices, a value) the fact can take."""
    if field in _NUMERIC:
        return _is_number(value)
    if field in _CHOICES:
        return value in _CHOICES[field]
    return isinstance(value, bool)


def _validate_operands(field: str, op: str, rule: Mapping[str, Any], where: str) -> None:
    if op in ("is_true", "is_false"):
        if field in _NUMERIC or field in _CHOICES:
            raise ConfigurationError(
                f"{where}: operator {op!r} needs a yes/no field; {field!r} is not one.",
                hint="Compare it with eq, in, ge, ... instead.")
        return
    if op in ("lt", "le", "gt", "ge", "between") and field not in _NUMERIC:
        raise ConfigurationError(f"{where}: operator {op!r} needs a numeric field; {field!r} "
                                 "is not one.", hint="Use eq, ne, in or not_in.")
    if op == "between":
        lo, hi = rule["min"], rule["max"]
        if not (_is_number(lo) and _is_number(hi)) or lo > hi:
            raise ConfigurationError(
                f"{where}: 'between' needs numbers min <= max, got min={lo!r}, max={hi!r}.")
        return
    if op in ("in", "not_in"):
        values = rule["values"]
        if not isinstance(values, list) or not values:
            raise ConfigurationError(f"{where}: 'values' must be a non-empty list, got "
                                     f"{values!r}.")
        bad = [v for v in values if not _fits(field, v)]
        if bad:
            raise ConfigurationError(f"{where}: values {bad!r} do not fit {field!r}.",
                                     hint=f"Each value must be {_kind(field)}.")
        return
    if not _fits(field, rule["value"]):
        raise ConfigurationError(f"{where}: value {rule['value']!r} does not fit {field!r}.",
                                 hint=f"The value must be {_kind(field)}.")


def _validate_dmt_spec(spec: Mapping[str, Any], where: str) -> None:
    count = spec.get("min_count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ConfigurationError(f"{where}: dmt_failed min_count must be a whole number >= 1, "
                                 f"got {count!r}.")
    months = spec.get("min_months")
    if months is not None and not (_is_number(months) and months >= 0):
        raise ConfigurationError(f"{where}: dmt_failed min_months must be a number >= 0, got "
                                 f"{months!r}.")
    names = spec.get("names")
    if names is not None and (not isinstance(names, list) or not names
                              or not all(isinstance(n, str) and n for n in names)):
        raise ConfigurationError(f"{where}: dmt_failed names must be a non-empty list of "
                                 f"drug names, got {names!r}.")
    for key in ("high_efficacy", "cytotoxic"):
        if key in spec and not isinstance(spec[key], bool):
            raise ConfigurationError(f"{where}: dmt_failed {key} must be true or false, got "
                                     f"{spec[key]!r}.")


def evaluate(rule: Mapping[str, Any], facts: Mapping[str, Any]) -> Outcome:
    """Evaluate ``rule`` on ``facts`` (missing or None facts are unknown)."""
    if "all" in rule:
        return _all([evaluate(r, facts) for r in rule["all"]])
    if "any" in rule:
        return _any([evaluate(r, facts) for r in rule["any"]])
    if "not" in rule:
        inner = evaluate(rule["not"], facts)
        value = None if inner.value is None else not inner.value
        return Outcome(value, inner.reason if value is None else f"not ({inner.reason})")
    if "dmt_failed" in rule:
        return _dmt_failed(rule["dmt_failed"], facts.get("dmts"))
    return _leaf(rule, facts)


_FACTS_HINT = ("Evaluate a PatientProfile (hsctms.patient.parse_profile), or facts shaped like "
               "PatientProfile.facts().")


def _fact(facts: Mapping[str, Any], field: str) -> Any:
    """The fact ``field`` (None if unknown; a float NaN counts as unknown).

    Raises :class:`ProfileError` when the fact has a type the rules cannot compare.
    """
    value = facts.get(field)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    ok = (isinstance(value, bool) or type(value).__name__ == "bool_") if (
        field not in _NUMERIC and field not in _CHOICES) else _fits(field, value)
    if not ok:
        raise ProfileError(f"The fact {field!r} is {value!r}, which is not {_kind(field)}.",
                           hint=_FACTS_HINT)
    return value


def _leaf(rule: Mapping[str, Any], facts: Mapping[str, Any]) -> Outcome:
    field, op = str(rule["field"]), str(rule["op"])
    label, unit = _label(field)
    value = _fact(facts, field) if field in FIELD_LABELS else facts.get(field)
    if value is None:
        return Outcome(None, f"{label} is not known")
    shown = f"{label} {_fmt(value)}" + (f" {unit}" if unit else "")
    if op in _COMPARE:
        sym, fn = _COMPARE[op]
        target = rule["value"]
        ok = bool(fn(value, target))
        return Outcome(ok, f"{shown} ({'' if ok else 'not '}{sym} {_fmt(target)})")
    if op in ("in", "not_in"):
        inside = value in rule["values"]
        ok = inside if op == "in" else not inside
        word = "one of" if inside else "not one of"
        return Outcome(ok, f"{shown} ({word} {_fmt(rule['values'])})")
    if op == "between":
        lo, hi = rule["min"], rule["max"]
        ok = bool(lo <= value <= hi)
        return Outcome(ok, f"{shown} ({'within' if ok else 'outside'} {_fmt(lo)}–{_fmt(hi)})")
    want = op == "is_true"
    ok = bool(value) is want
    return Outcome(ok, f"{label}: {_fmt(bool(value))}")


def _all(parts: Sequence[Outcome]) -> Outcome:
    false = [p for p in parts if p.value is False]
    if false:
        return Outcome(False, "; ".join(p.reason for p in false))
    unknown = [p for p in parts if p.value is None]
    if unknown:
        return Outcome(None, "; ".join(p.reason for p in unknown))
    return Outcome(True, "; ".join(p.reason for p in parts))


def _any(parts: Sequence[Outcome]) -> Outcome:
    true = [p for p in parts if p.value is True]
    if true:
        return Outcome(True, "; ".join(p.reason for p in true))
    unknown = [p for p in parts if p.value is None]
    if unknown:
        return Outcome(None, "; ".join(p.reason for p in unknown))
    return Outcome(False, "none of: " + "; ".join(p.reason for p in parts))


def _describe_dmt_filter(spec: Mapping[str, Any]) -> str:
    words = []
    if spec.get("high_efficacy"):
        words.append("high-efficacy")
    if spec.get("cytotoxic"):
        words.append("cytotoxic")
    what = " ".join([*words, "DMT"])
    if spec.get("names"):
        what = f"{what} ({', '.join(spec['names'])})"
    if spec.get("min_months"):
        what += f" taken for at least {spec['min_months']:g} months"
    return what


def _dmt_months(i: int, d: Mapping[str, Any]) -> Any:
    """Check one DMT record of the facts; return its months (None if unknown or NaN)."""
    months = d.get("months")
    if isinstance(months, float) and math.isnan(months):
        months = None  # NaN counts as unknown, as for every other fact
    if months is not None and not _is_number(months):
        raise ProfileError(f"dmts[{i}].months is {months!r}, which is not a finite number.",
                           hint=_FACTS_HINT)
    for key in ("failed", "high_efficacy", "cytotoxic"):
        flag = d.get(key)
        if flag is not None and not isinstance(flag, bool):
            raise ProfileError(f"dmts[{i}].{key} is {flag!r}, which is not true or false.",
                               hint=_FACTS_HINT)
    return months


def _dmt_checks(spec: Mapping[str, Any], d: Mapping[str, Any],
                months: float | None) -> list[bool | None]:
    """Whether one DMT record meets each condition of ``spec`` (``None``: not known)."""
    checks: list[bool | None] = [d.get("failed")]
    if spec.get("high_efficacy"):
        checks.append(d.get("high_efficacy"))
    if spec.get("cytotoxic"):
        checks.append(d.get("cytotoxic"))
    if spec.get("names"):
        checks.append(d.get("name") in spec["names"])
    if spec.get("min_months"):
        checks.append(None if months is None else months >= spec["min_months"])
    return checks


def _dmt_failed(spec: Mapping[str, Any], dmts: Sequence[Mapping[str, Any]] | None) -> Outcome:
    need = int(spec.get("min_count", 1))
    what = _describe_dmt_filter(spec)
    if dmts is None:
        return Outcome(None, f"DMT history is not known (needed: failure of {what})")
    if isinstance(dmts, str | bytes) or not isinstance(dmts, Sequence) or not all(
            isinstance(d, Mapping) for d in dmts):
        raise ProfileError(f"The fact 'dmts' is {dmts!r}, which is not a list of DMT records.",
                           hint=_FACTS_HINT)
    sure: list[str] = []
    maybe: list[str] = []
    for i, d in enumerate(dmts):
        months = _dmt_months(i, d)
        checks = _dmt_checks(spec, d, months)
        if any(c is False for c in checks):
            continue
        (sure if all(c is True for c in checks) else maybe).append(str(d.get("name")))
    if len(sure) >= need:
        return Outcome(True, f"failed {what}: {', '.join(sure)}")
    if len(sure) + len(maybe) >= need:
        return Outcome(None, f"not known whether {', '.join(maybe)} counts as a failed {what}")
    if not dmts:
        return Outcome(False, f"no DMT taken so far (needed: failure of {what})")
    return Outcome(False, f"no failed {what} in the DMT history")


def referenced_fields(rule: Mapping[str, Any]) -> set[str]:
    """Every fact name a rule reads (``dmts`` for ``dmt_failed``)."""
    if "all" in rule or "any" in rule:
        out: set[str] = set()
        for r in rule.get("all", rule.get("any", [])):
            out |= referenced_fields(r)
        return out
    if "not" in rule:
        return referenced_fields(rule["not"])
    if "dmt_failed" in rule:
        return {"dmts"}
    return {str(rule["field"])}
