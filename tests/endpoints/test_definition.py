"""EndpointDefinition: presets, validation, serialisation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from hsctms.endpoints import PRESETS, EndpointDefinition, get_definition
from hsctms.errors import DefinitionError


def test_msprog_default_is_pymsprog_107_defaults_written_out() -> None:
    d = get_definition("msprog_default")
    assert d.origin == "first_visit"
    assert d.baseline == "fixed"
    assert d.events == "first"
    assert d.conf_days == 84
    assert d.conf_tol_days == (7.0, 730.5)
    assert d.relapse_to_bl == (30.0, 0.0)
    assert d.relapse_to_event == (0.0, 0.0)
    assert d.relapse_to_conf == (30.0, 0.0)
    assert d.relapse_assoc == (90.0, 0.0)
    assert (d.pira_prec, d.pira_event, d.pira_conf) == ((0.0, 0.0), (90.0, 30.0), (90.0, 30.0))
    assert d.delta_cut == 5.0
    assert [d.delta(x) for x in (0.0, 1.0, 5.0, 5.5, 6.0)] == [1.5, 1.0, 1.0, 0.5, 0.5]
    assert d.check_intermediate and d.require_sust_days == 0 and d.impute_last_visit == 0


def test_presets_exist_and_differ() -> None:
    assert {"halt_ms", "msbase", "msprog_default"} <= set(PRESETS)
    assert PRESETS["halt_ms"].origin == "transplant"
    assert PRESETS["halt_ms"].delta_cut == 5.5
    assert PRESETS["halt_ms"].delta(5.5) == 1.0
    assert PRESETS["msbase"].baseline == "roving"
    assert PRESETS["msbase"].conf_tol_days[1] == math.inf


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_round_trip_json(name: str) -> None:
    d = PRESETS[name]
    text = json.dumps(d.to_dict(), allow_nan=False)
    assert EndpointDefinition.from_dict(json.loads(text)) == d


def test_yaml_file_with_preset_and_override(tmp_path: Path) -> None:
    p = tmp_path / "def.yaml"
    p.write_text(yaml.safe_dump({"preset": "halt_ms", "name": "mine", "conf_days": 84,
                                 "conf_tol_days": [7, "inf"]}))
    d = get_definition(str(p))
    assert d.name == "mine" and d.conf_days == 84 and d.conf_tol_days == (7.0, math.inf)
    assert d.delta_cut == 5.5


@pytest.mark.parametrize("bad", [
    {"baseline": "wobbly"},
    {"conf_days": 84.5},
    {"conf_days": 0},
    {"relapse_to_bl": [1, 2, 3]},
    {"relapse_to_conf": -1},
    {"pira_prec": [None, 0]},
    {"delta_low": 0},
    {"efs_components": ["death", "unicorn"]},
    {"events": "all", "baseline": "fixed"},
    {"bl_geq": True},
    {"bl_geq": True, "relapse_rebl": True, "skip_local_extrema": "all"},
    {"no_such_field": 1},
])
def test_invalid_definitions_raise_with_hint(bad: dict) -> None:
    with pytest.raises(DefinitionError):
        EndpointDefinition.from_dict({"name": "x", **bad})


def test_unknown_name_and_missing_file() -> None:
    with pytest.raises(DefinitionError, match="presets"):
        get_definition("nope")
    with pytest.raises(DefinitionError, match="does not exist"):
        get_definition("/nonexistent/def.json")


def test_docs_describe_every_field_and_preset() -> None:
    from dataclasses import fields

    text = (Path(__file__).resolve().parents[2] / "docs" / "endpoints.md").read_text()
    for f in fields(EndpointDefinition):
        assert f"`{f.name}`" in text, f.name
    for name in PRESETS:
        assert f"`{name}`" in text


def test_describe_states_the_criteria() -> None:
    text = get_definition("halt_ms").describe()
    for piece in ("index transplant", "180 days", "1.0 from 1.0 to 5.5", "161 to 898.5 days",
                  "RAW", "PIRA", "first 180 days", "event-free survival"):
        assert piece in text, piece
    assert "1.0 to 5.0" in get_definition("msprog_default").describe()
    assert "unbounded" in get_definition("msbase").describe()
