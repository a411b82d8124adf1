"""Strict endpoint definitions (issue 20, defects 3 and 4).

Defect 3: values were coerced loosely (``"false"`` switched a flag on, ``0.5`` meant "always",
a scalar ``conf_tol_days`` meant ``(x, 0)``, ``[84, 168]`` / ``"24w"`` raised raw Python
errors). Defect 4: ``describe()`` left out fields that change results. Each defect test below
fails on the loose implementation.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import typing
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hsctms.endpoints import PRESETS, EndpointDefinition, derive_frames, get_definition
from hsctms.endpoints.synthetic import random_visits
from hsctms.errors import DefinitionError

FIELDS = [f.name for f in dataclasses.fields(EndpointDefinition)]

#: Fields that cannot change a derived result, so describe() need not show them: they only
#: identify the definition (``name``, ``description``) or cite literature (``sources``); the
#: engine (derive.py, disability.py) reads ``name`` only to label results.
NON_RESULT = {"name", "description", "sources"}

#: Used by the engine only with ``origin="transplant"`` (derive.py picks the first valid visit
#: as baseline otherwise), hence not shown with ``origin="first_visit"``; equivalence is
#: checked in ``test_transplant_baseline_fields_do_not_matter_with_first_visit_origin``.
TRANSPLANT_ONLY = {"baseline_window_days", "baseline_after_days"}

#: The EDSS minimum-change table: used only with ``outcome="edss"`` (the other scales have
#: their own rule, hsctms.endpoints.change), hence not shown otherwise; equivalence is
#: checked in ``test_edss_table_does_not_matter_for_other_outcomes``.
EDSS_ONLY = {"delta_zero", "delta_low", "delta_high", "delta_cut"}


def _unused(name: str, d: EndpointDefinition) -> bool:
    """Whether field ``name`` is not used (and not shown) by definition ``d``."""
    return (name in TRANSPLANT_ONLY and d.origin == "first_visit") or \
        (name in EDSS_ONLY and d.outcome != "edss")


def _raises(data: dict[str, Any]) -> DefinitionError:
    with pytest.raises(DefinitionError) as info:
        EndpointDefinition.from_dict({"name": "x", **data})
    return info.value


# -- defect 3: strict values ------------------------------------------------------------
@pytest.mark.parametrize(("field", "value"), [
    ("relapse_rebl", "false"),
    ("check_intermediate", "false"),
    ("mri_count_gd", "true"),
    ("pira_raw_endpoints", 1),
    ("impute_last_visit", 0.5),
    ("impute_last_visit", 730.5),
    ("conf_tol_days", 14),
    ("relapse_to_event", 30),
    ("conf_days", [84, 168]),
    ("conf_days", "24w"),
    ("conf_days", 84.0),
    ("delta_cut", "5.5"),
    ("require_sust_days", float("nan")),
    ("mri_min_new_t2", 1.5),
])
def test_loose_values_are_refused_naming_field_and_value(field: str, value: Any) -> None:
    err = _raises({field: value})
    assert field in err.message and repr(value) in err.message
    assert "Allowed:" in err.message
    assert err.hint


def test_string_false_in_a_yaml_file_names_the_file_and_field(tmp_path: Path) -> None:
    p = tmp_path / "def.yaml"
    p.write_text('preset: msprog_default\nrelapse_rebl: "false"\n')
    with pytest.raises(DefinitionError) as info:
        get_definition(p)
    assert str(p) in info.value.message and "relapse_rebl" in info.value.message
    assert "without quotes" in (info.value.hint or "")


def test_scalar_conf_tol_days_hint_shows_the_pymsprog_pair() -> None:
    """pymsprog 1.0.7 reads a scalar conf_tol_days as (x, x) and a scalar relapse window as
    (x, 0); we refuse both and show the pair pymsprog would use."""
    assert "[14, 14]" in (_raises({"conf_tol_days": 14}).hint or "")
    assert "[30, 0]" in (_raises({"relapse_to_conf": 30}).hint or "")
    assert "[7, 7]" in (_raises({"conf_tol_days": [7]}).hint or "") or \
        "exactly two" in _raises({"conf_tol_days": [7]}).message


def test_impute_probability_is_refused_with_the_reason() -> None:
    err = _raises({"impute_last_visit": 0.5})
    assert "random" in (err.hint or "")


@pytest.mark.parametrize("value", ["wobbly", "Roving", True, ["fixed"]])
def test_unknown_enum_lists_allowed_values_with_other_problems(value: Any) -> None:
    err = _raises({"baseline": value, "events": "some"})
    for piece in ("baseline", repr(value), "'roving_impr'", "events", "'some'", "'all'",
                  "2 problems"):
        assert piece in err.message, piece


def test_unknown_field_is_named_with_a_suggestion_and_other_problems() -> None:
    err = _raises({"conf_tol_dayz": [7, 30], "relapse_rebl": "false"})
    assert "conf_tol_dayz" in err.message and "relapse_rebl" in err.message
    assert "did you mean conf_tol_days" in (err.hint or "")


def test_python_construction_stays_convenient() -> None:
    d = EndpointDefinition(delta_cut=5, conf_tol_days=(7, "inf"), relapse_to_conf=[30, 0],
                           require_sust_days="inf", efs_components=["death", "relapse"])
    assert d.delta_cut == 5.0 and isinstance(d.delta_cut, float)
    assert d.conf_tol_days == (7.0, math.inf) and d.relapse_to_conf == (30.0, 0.0)
    assert d.require_sust_days == math.inf and d.efs_components == ("death", "relapse")
    assert d == EndpointDefinition(delta_cut=5.0, conf_tol_days=(7.0, math.inf),
                                   require_sust_days=math.inf,
                                   efs_components=("death", "relapse"))
    assert hash(d) == hash(d.with_())
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.conf_days = 168  # type: ignore[misc]
    with pytest.raises(DefinitionError, match="relapse_rebl"):
        d.with_(relapse_rebl="false")
    assert yaml.safe_load("a: .inf")["a"] == math.inf
    assert EndpointDefinition.from_dict({"conf_tol_days": [0, math.inf]}).conf_tol_days[1] \
        == math.inf


def test_inf_only_where_an_open_end_is_meaningful() -> None:
    for field in ("mri_ignore_days", "delta_high", "neda4_brain_loss_pct"):
        assert field in _raises({field: "inf"}).message


# -- presets as data files ----------------------------------------------------------------
def test_presets_are_the_yaml_files_written_out_in_full() -> None:
    from hsctms.endpoints.definition import PRESETS_DIR

    files = sorted(PRESETS_DIR.glob("*.yaml"))
    assert {p.stem for p in files} == set(PRESETS)
    for p in files:
        assert yaml.safe_load(p.read_text(encoding="utf-8")) == PRESETS[p.stem].to_dict()
        assert PRESETS[p.stem].sources and PRESETS[p.stem].description


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_yaml_round_trip_is_identity_for_presets(name: str) -> None:
    d = PRESETS[name]
    again = EndpointDefinition.from_dict(yaml.safe_load(yaml.safe_dump(d.to_dict())))
    assert again == d and again.to_dict() == d.to_dict()


# -- defect 4: describe() shows every result-changing field ---------------------------------
def test_describe_template_places_every_result_field_once() -> None:
    from hsctms.endpoints.definition import field_metadata, template_fields

    meta = field_metadata()
    result = [n for n in FIELDS if meta[n]["result"]]
    assert set(FIELDS) - set(result) == NON_RESULT
    assert sorted(template_fields()) == sorted(result)


@functools.cache
def _hints() -> dict[str, Any]:
    return typing.get_type_hints(EndpointDefinition, include_extras=True)


def _literal_choices(tp: Any) -> tuple[Any, ...]:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return typing.get_args(tp) if typing.get_origin(tp) is typing.Literal else ()


# complexity over 10 kept: one branch per field type
def _alternatives(name: str, value: Any) -> list[Any]:  # noqa: C901
    """Other values for a field, generated from its type (invalid ones are skipped later)."""
    if isinstance(value, bool):
        return [not value]
    choices = _literal_choices(_hints()[name])
    if choices:
        return [c for c in choices if c != value]
    if value is None and name == "change_function":
        return ["hsctms.endpoints.change:four_points"]
    if value is None:
        return [0.5, 1.0]
    if isinstance(value, int):
        return [value + 1, value + 7, 1, 0, 400]
    if isinstance(value, float):
        return [value + 0.5, value + 1e-7, value * 2, 0.0, 30.0, math.inf]
    if name == "milestones":
        return [m for m in [(), (4.0,), (4.0, 6.0), (6.0, 4.0), (4.0 + 1e-7,), (0.0,)]
                if m != value]
    if isinstance(value, tuple) and name == "efs_components":
        return [value[1:], value[::-1], ("death",)]
    if name == "extra_conf_days":
        return [(168,), (336,), (168, 336), (336, 168), value[1:]]
    if name == "change_function":
        return [None, "hsctms.endpoints.change:four_points",
                "hsctms.endpoints.change:twenty_percent"]
    if isinstance(value, tuple):
        a, b = value
        num = [0.0, 15.0, 90.0, math.inf]
        return [p for p in [*((x, b) for x in num), *((a, x) for x in num), (a, None),
                            (None, b), (None, None)] if p != value]
    raise AssertionError(f"no alternatives for {name}={value!r}")


BASES = [*PRESETS.values(),
         PRESETS["msprog_default"].with_(relapse_rebl=True, baseline="roving", events="all"),
         PRESETS["halt_ms"].with_(relapse_rebl=True, bl_geq=True, improvement_delta=1.0),
         # the other outcome scales and their change rules
         PRESETS["msprog_default"].with_(outcome="t25fw", extra_conf_days=(168,)),
         PRESETS["msprog_default"].with_(outcome="sdmt"),
         PRESETS["halt_ms"].with_(outcome="custom", worsening="decrease",
                                  change_relative=0.1, change_absolute=3.0),
         PRESETS["halt_ms"].with_(outcome="nhpt",
                                  change_function="hsctms.endpoints.change:twenty_percent"),
         PRESETS["msbase"].with_(outcome="custom", worsening="increase",
                                 change_function="hsctms.endpoints.change:four_points")]


@pytest.mark.parametrize("name", [n for n in FIELDS if n not in NON_RESULT])
def test_changing_any_result_field_changes_describe(name: str) -> None:
    tried = 0
    for base in BASES:
        text = base.describe()
        for alt in _alternatives(name, getattr(base, name)):
            try:
                other = base.with_(**{name: alt})
            except DefinitionError:
                continue
            if other == base:
                continue
            tried += 1
            if _unused(name, base):
                assert other.describe() == text  # not used, not shown (TRANSPLANT/EDSS_ONLY)
            else:
                assert other.describe() != text, (base.name, name, alt)
    assert tried >= 2, name


@pytest.mark.parametrize("name", sorted(NON_RESULT))
def test_non_result_fields_do_not_enter_describe(name: str) -> None:
    d = PRESETS["halt_ms"]
    value = ("a source",) if name == "sources" else "other text"
    assert d.with_(**{name: value}).describe() == d.describe()


def test_transplant_baseline_fields_do_not_matter_with_first_visit_origin() -> None:
    v, r = random_visits(150, (1, 12), seed=5, spacing=(20, 200), relapse_rate=1.0)
    d = get_definition("msprog_default")
    a = derive_frames(v, r, definition=d).to_frame()
    b = derive_frames(v, r, definition=d.with_(baseline_window_days=3.0,
                                               baseline_after_days=400.0)).to_frame()
    assert a.equals(b)


def _as_outcome(v: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """EDSS visits re-expressed on another scale (monotone in EDSS, synthetic)."""
    out = v.drop(columns="edss")
    if outcome == "sdmt":
        out["sdmt"] = (70 - 5 * v["edss"]).round().astype(int)
    else:
        out[outcome] = (5.0 * 1.18 ** v["edss"]).round(1)
    return out


def test_edss_table_does_not_matter_for_other_outcomes() -> None:
    v, r = random_visits(150, (1, 12), seed=5, spacing=(20, 200), relapse_rate=1.0)
    for outcome in ("t25fw", "sdmt"):
        d = get_definition("msprog_default").with_(outcome=outcome)
        w = _as_outcome(v, outcome)
        a = derive_frames(w, r, definition=d).to_frame()
        b = derive_frames(w, r, definition=d.with_(delta_zero=0.5, delta_low=2.0,
                                                   delta_high=1.5, delta_cut=3.0)).to_frame()
        assert a.equals(b) and a["worsening_event"].sum() > 5


def test_describe_names_the_fields_the_old_paragraph_omitted() -> None:
    text = PRESETS["msbase"].describe()
    assert "onsets within 30 days after a relapse onset were not candidate events" in text
    base = PRESETS["msprog_default"]
    pairs = {
        "require_sust_days": (168, "sustained for at least 168 days"),
        "relapse_to_event": ((30, 10), "within 10 days before the next one"),
        "proceed_from": ("event", "continued from the event visit"),
        "impute_last_visit": (731, "at most 731 days after the first visit"),
        "relapse_assoc": ((90, 20), "at most 20 days before the next one"),
        "skip_local_extrema": ("all", "local EDSS minimum or maximum"),
        "prec_type": ("last", "the reference being the last visit before onset"),
        "pira_raw_endpoints": (True, "first PIRA"),
        "neda4_brain_loss_pct": (1.0, "above 1% per year"),
    }
    for name, (value, piece) in pairs.items():
        assert piece in base.with_(**{name: value}).describe(), name
    roving = base.with_(baseline="roving", events="all")
    assert "every confirmed event" in roving.describe()
    assert "below the minimum change" in roving.with_(sub_threshold_rebl="event").describe()
    geq = base.with_(relapse_rebl=True, bl_geq=True).describe()
    assert "re-set after every relapse" in geq and "never below" in geq


# -- properties ---------------------------------------------------------------------------
_DAY = st.one_of(st.sampled_from([0.0, 7.0, 30.0, 90.0, math.inf]),
                 st.floats(0, 1000, allow_nan=False), st.integers(0, 1000))


def _pair(open_ends: bool = False) -> st.SearchStrategy[Any]:
    end = st.one_of(_DAY, st.none()) if open_ends else _DAY
    return st.tuples(end, end)


@st.composite
def definitions(draw: st.DrawFn) -> EndpointDefinition:
    kw: dict[str, Any] = {}
    for name in FIELDS:
        if name in ("name", "description"):
            kw[name] = draw(st.text(max_size=8))
        elif name == "sources":
            kw[name] = tuple(draw(st.lists(st.text(max_size=8), max_size=2)))
        elif choices := _literal_choices(_hints()[name]):
            kw[name] = draw(st.sampled_from(choices))
    kw.update(
        relapse_rebl=draw(st.booleans()), bl_geq=draw(st.booleans()),
        check_intermediate=draw(st.booleans()), mri_count_gd=draw(st.booleans()),
        pira_raw_endpoints=draw(st.booleans()),
        milestones=tuple(draw(st.lists(st.floats(0, 10), max_size=3, unique=True))),
        baseline_window_days=draw(_DAY), baseline_after_days=draw(_DAY),
        require_sust_days=draw(_DAY), mri_ignore_days=draw(st.floats(0, 400)),
        delta_zero=draw(st.floats(0.5, 2)), delta_low=draw(st.floats(0.5, 2)),
        delta_high=draw(st.floats(0.5, 2)), delta_cut=draw(st.sampled_from([5.0, 5.5, 4])),
        improvement_delta=draw(st.one_of(st.none(), st.floats(0.5, 2))),
        conf_days=draw(st.integers(1, 400)), impute_last_visit=draw(st.integers(0, 900)),
        mri_min_new_t2=draw(st.integers(1, 5)), neda4_brain_loss_pct=draw(st.floats(0, 2)),
        efs_components=tuple(draw(st.lists(st.sampled_from(
            ["death", "worsening", "relapse", "mri_activity"]), min_size=1, unique=True))),
        conf_tol_days=draw(_pair()), relapse_to_bl=draw(_pair()),
        relapse_to_event=draw(_pair()), relapse_to_conf=draw(_pair()),
        relapse_assoc=draw(_pair()), pira_prec=draw(_pair(True)),
        pira_event=draw(_pair(True)), pira_conf=draw(_pair(True)),
    )
    # respect the combination rules by construction (few rejections)
    kw["extra_conf_days"] = tuple(draw(st.lists(st.integers(1, 400), max_size=2, unique=True)))
    if kw["outcome"] == "custom":
        kw["worsening"] = draw(st.sampled_from(["increase", "decrease"]))
        kw["change_relative"] = draw(st.one_of(st.none(), st.floats(0.01, 1)))
        kw["change_absolute"] = draw(st.floats(0.1, 10)) if kw["change_relative"] is None \
            else draw(st.one_of(st.none(), st.floats(0.1, 10)))
    else:
        kw["worsening"] = "auto"
    kw["extra_conf_days"] = tuple(x for x in kw["extra_conf_days"] if x != kw["conf_days"])
    if kw["bl_geq"]:
        kw.update(relapse_rebl=True, skip_local_extrema="none")
    if kw["events"] == "all" and kw["baseline"] == "fixed":
        kw["events"] = "first"
    left, right = kw["conf_tol_days"]
    kw["conf_tol_days"] = (min(left, kw["conf_days"], *kw["extra_conf_days"]), right)
    if kw["pira_prec"][0] is None:
        kw["pira_prec"] = (0.0, kw["pira_prec"][1])
    try:
        return EndpointDefinition(**kw)
    except DefinitionError:
        assume(False)
        raise


PROPS = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


@PROPS
@given(definitions())
def test_any_valid_definition_round_trips_and_describes_deterministically(
        d: EndpointDefinition) -> None:
    via_json = EndpointDefinition.from_dict(json.loads(json.dumps(d.to_dict(), allow_nan=False)))
    via_yaml = EndpointDefinition.from_dict(yaml.safe_load(yaml.safe_dump(d.to_dict())))
    assert via_json == d and via_yaml == d and hash(via_yaml) == hash(d)
    assert d.describe() == d.describe() == via_yaml.describe()


RESULT_FIELDS = [n for n in FIELDS if n not in NON_RESULT]


@PROPS
@given(definitions(), st.sampled_from(RESULT_FIELDS), st.data())
def test_one_changed_result_field_changes_describe(d: EndpointDefinition, name: str,
                                                   data: st.DataObject) -> None:
    value = getattr(d, name)
    alts = _alternatives(name, value)
    if isinstance(value, float) and not isinstance(value, bool):
        alts.append(data.draw(st.floats(0, 1000)))
    alt = data.draw(st.sampled_from(alts))
    try:
        other = d.with_(**{name: alt})
    except DefinitionError:
        assume(False)
        raise
    assume(other != d)
    if _unused(name, d):
        assert other.describe() == d.describe()
    else:
        assert other.describe() != d.describe(), (name, value, alt)


_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-5, 1000), st.floats(),
                  st.text(max_size=6), st.lists(st.one_of(st.integers(-1, 99), st.text(max_size=3),
                                                           st.none()), max_size=3))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from([*FIELDS, "no_such_field"]), _JUNK, max_size=4))
def test_bad_input_only_ever_raises_definition_error(data: dict[str, Any]) -> None:
    try:
        EndpointDefinition.from_dict(data)
    except DefinitionError as exc:
        assert exc.message.strip()
