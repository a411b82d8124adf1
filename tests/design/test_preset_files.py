"""Design presets as YAML data: loading, typed values, the text shown = the value used, errors."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from hsctms.design import Testing, two_proportions
from hsctms.design.presets import (
    PRESETS,
    PRESETS_DIR,
    STATUSES,
    Quantity,
    evaluate_preset,
    get_preset,
    load_preset,
)
from hsctms.design.presets._schema import read_spec
from hsctms.design.report import render_preset_report
from hsctms.errors import ConfigurationError
from hsctms.evidence import study

FILES = sorted(PRESETS_DIR.glob("*.yaml"))


def _raw(key: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((PRESETS_DIR / f"{key}.yaml").read_text("utf-8"))
    return data


def _write(tmp_path: Path, data: Any, name: str = "custom.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def _row(data: dict[str, Any], value_id: str) -> dict[str, Any]:
    row: dict[str, Any] = next(r for r in data["assumptions"] if value_id in r.get("values", {}))
    return row


def _shown(q: Quantity) -> list[str]:
    specs = ["", "short"] + (["adjective"] if q.kind == "duration" else [])
    return [format(q, s) for s in specs]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_packaged_file_loads(path: Path) -> None:
    preset = load_preset(path)
    assert preset.key == path.stem
    assert PRESETS[preset.key].title == preset.title
    assert preset.source_file == path
    assert preset.assumptions and preset.sensitivity
    for a in preset.assumptions:
        assert a.status in STATUSES
        assert "{" not in a.value and "{" not in a.name
        for q in a.values.values():  # every typed value is displayed in its row
            assert any(text in a.value for text in _shown(q)), (a.name, q)
    for label, _ in preset.sensitivity:
        assert "{" not in label
    assert preset.primary().kind in ("two_proportions", "survival")


#: What a research-note reference looks like: a notes file, the research folder, a section sign.
RESEARCH_PATH = re.compile(r"evidence(-addendum|-2026)?\.md|\.md\b|research/|/work/|addendum|§")


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_preset_cites_the_evidence_base(path: Path) -> None:
    """References are copies of evidence-base entries, each used, each used one listed."""
    spec = read_spec(path)
    assert spec.references, path.stem
    for sid, ref in spec.references.items():
        s = study(sid)
        assert ref.citation == s["citation"], sid
        assert ref.doi == s.get("doi"), sid
        assert sorted(ref.unverified) == sorted(s.get("unverified") or []), sid
    used = [i for a in spec.assumptions for i in a.studies]
    used += [i for f in spec.framings for i in f.studies]
    used += [i for o in spec.outcomes for i in o.studies]
    used += [] if spec.estimand is None else spec.estimand.studies
    used += [] if spec.protocol is None else spec.protocol.accrual_studies
    assert set(used) == set(spec.references), path.stem
    for a in spec.assumptions:
        assert not RESEARCH_PATH.search(a.source), (path.stem, a.source)
        if a.status in ("published", "unverified"):  # a sourced row names its study
            assert a.studies, (path.stem, a.name)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_no_rendered_report_names_a_research_file(path: Path) -> None:
    """Sources are numbered citations in the report, never research-note paths or sections."""
    res = evaluate_preset(path, n_trials=20, seed=2, engine_trials=0, type1_trials=100)
    html = render_preset_report(res)
    text = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)
    for needle in ("evidence.md", "research/", "§", "addendum"):
        assert needle not in text, (path.stem, needle)
    spec = read_spec(path)
    for i, (sid, ref) in enumerate(
            (k, spec.references[k]) for k in dict.fromkeys(
                [*([] if res.protocol is None else [k for k, _ in
                                                    res.protocol.reference_list()]),
                 *(k for a in spec.assumptions for k in a.studies)])):
        doi = f" doi:{ref.doi}" if ref.doi else ""
        assert f"[{i + 1}] {ref.citation}.{doi}" in html, (path.stem, sid)
    first = next(a for a in res.preset.assumptions if a.studies)
    assert re.search(r"\[\d+\]", text.split(first.source, 1)[1][:40]), first.name


def test_assumption_study_without_a_reference_is_an_error(tmp_path: Path) -> None:
    data = _raw("mist")
    del data["references"]["burt2019_mist"]
    with pytest.raises(ConfigurationError, match=r"assumptions\[0\].studies: studies "
                       r"\['burt2019_mist'\] have no entry in references") as info:
        load_preset(_write(tmp_path, data, "mist_ref.yaml"))
    assert "mist_ref.yaml" in info.value.message and info.value.hint


def test_packaged_order_and_aliases() -> None:
    assert list(PRESETS) == ["zeus", "mist", "starms"]
    assert get_preset("star_ms").key == "starms" and get_preset("MIST-like").key == "mist"


def test_unverified_flags_kept() -> None:
    flagged = {k: [a.name for a in p.assumptions if a.status == "unverified"]
               for k, p in PRESETS.items()}
    assert flagged == {"zeus": [], "mist": ["Control median time to progression"],
                       "starms": ["Revised target"]}
    for p in PRESETS.values():
        for a in p.assumptions:
            if "(unverified)" in a.source:
                assert a.status == "unverified"


def test_displayed_values_are_the_values_used() -> None:
    zeus = PRESETS["zeus"]
    inp = zeus.primary().inputs
    shown = {a.name: a.value for a in zeus.assumptions}
    assert (inp["p1"], inp["p2"], inp["margin"], inp["alpha"], inp["sided"]) == \
        (0.32, 0.32, -0.10, 0.025, 1)
    assert shown["NEDA at 2 y, alemtuzumab"] == "32%"
    assert shown["Non-inferiority margin"] == "-10 percentage points (risk difference)"
    assert shown["alpha / power"] == "one-sided 0.025 / 80%"
    assert shown["Loss to follow-up"] == "10% over 2 years (exponential)"
    drop = [s for s in zeus.scenarios(zeus.primary()) if s.dropout_rate > 0]
    assert drop[0].dropout_rate == pytest.approx(-math.log(0.9) / 2, rel=1e-15)
    assert drop[0].label == "10% loss (excluded)"
    mist = PRESETS["mist"]
    m = mist.primary().inputs
    assert m["control_rate"] == math.log(2) / 2.0 and m["accrual"] == 4.0
    assert m["dropout_rate"] == -math.log1p(-0.05)
    assert {a.name: a.value for a in mist.assumptions}["Control median time to progression"] \
        == "24 months (exponential)"
    assert zeus.gsd == {"info_rates": [0.5, 1.0], "alpha": 0.025, "sided": 1, "beta": 0.2,
                        "spending_function": "obf", "futility": "obf"}


def test_changed_value_changes_result_and_report(tmp_path: Path) -> None:
    data = _raw("zeus")
    _row(data, "p_control")["values"]["p_control"]["value"] = 0.40
    _row(data, "p_treatment")["values"]["p_treatment"]["value"] = 0.40
    _row(data, "margin")["values"]["margin"]["value"] = -0.12
    _row(data, "dropout")["values"]["dropout"]["value"] = 0.20
    path = _write(tmp_path, data)
    res = evaluate_preset(path, n_trials=100, seed=3, engine_trials=0)
    ref = two_proportions(0.40, 0.40, power=0.8, testing=Testing(0.025, 1, margin=-0.12))
    assert res.primary.n_total == ref.n_total
    assert res.primary.n_total != evaluate_preset("zeus", n_trials=20,
                                                  engine_trials=0).primary.n_total
    per_arm = math.ceil(ref.n2 / 0.8 - 1e-9)
    assert res.simulations[0].scenario.n_treatment == per_arm
    assert res.simulations[1].scenario.dropout_rate == -math.log1p(-0.2) / 2
    assert res.sequential is not None and res.sequential.scenario.dropout_rate == \
        -math.log1p(-0.2) / 2
    assert res.sequential.scenario.label == "interim plan, 20% loss (n inflated)"
    html = render_preset_report(res)
    for text in ("40% (equal efficacy", "-12 percentage points (risk difference)",
                 "20% over 2 years (exponential)", "20% loss (excluded)",
                 "interim plan, 20% loss (n inflated)"):
        assert text in html
    for text in ("-10 percentage points", "10% over 2 years", "32%", "10% loss"):
        assert text not in html
    payload = res.to_dict()
    assert payload["provenance"]["definition"]["file"] == str(path)
    row = next(a for a in payload["assumptions"] if a["name"] == "Non-inferiority margin")
    assert row["values"] == {"margin": {"kind": "risk_difference", "value": -0.12}}
    assert "sensitivity" in payload and payload["sensitivity"][0]["label"] == "margin -15 points"


def test_loss_of_a_sensitivity_analysis_follows_the_dropout_value(tmp_path: Path) -> None:
    """STAR-MS' "(10% loss)" analysis was a prose label beside a separate literal n = 178."""
    labels = [label for label, _ in get_preset("starms").sensitivity]
    assert "detectable DMT NEDA at 80% power, 178 (10% loss)" in labels
    data = _raw("starms")
    _row(data, "dropout")["values"]["dropout"]["value"] = 0.20
    preset = load_preset(_write(tmp_path, data))
    label, run = next((lab, f) for lab, f in preset.sensitivity if "loss" in lab)
    assert label == "detectable DMT NEDA at 80% power, 158 (20% loss)"  # floor(198 * 0.8)
    assert run().n_total == 158
    bad = _raw("starms")
    next(v for v in bad["sensitivity"] if "after_loss" in v)["after_loss"] = "trm"
    with pytest.raises(ConfigurationError, match="proportion_over_years"):
        load_preset(_write(tmp_path, bad, "bad.yaml"))


def test_cli_runs_a_preset_file(tmp_path: Path) -> None:
    from hsctms.cli import app

    data = _raw("starms")
    _row(data, "n")["values"]["n"]["value"] = 150
    path = _write(tmp_path, data, "star150.yaml")
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["design", "preset", str(path), "--trials", "50",
                                   "--engine-trials", "0", "--json", str(out)])
    assert res.exit_code == 0, res.output
    payload = json.loads(out.read_text())
    assert payload["primary"]["n_total"] == 150
    assert payload["question"] == "What does a 150-patient superiority trial on NEDA detect?"
    assert payload["simulations"][0]["scenario"]["n_treatment"] == 75
    res = CliRunner().invoke(app, ["design", "preset", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 1 and "does not exist" in " ".join(res.output.split())


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        target: Any = data
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value
    return edit


def _status(d: dict[str, Any]) -> None:
    d["assumptions"][2]["status"] = "publshed"


def _kind(d: dict[str, Any]) -> None:
    _row(d, "p_control")["values"]["p_control"]["kind"] = "percent"


def _text_type(d: dict[str, Any]) -> None:
    _row(d, "p_control")["values"]["p_control"]["value"] = "32%"


def _extra_unit(d: dict[str, Any]) -> None:
    _row(d, "p_control")["values"]["p_control"]["unit"] = "years"


def _hidden(d: dict[str, Any]) -> None:
    _row(d, "margin")["text"] = "minus ten points"


def _dup(d: dict[str, Any]) -> None:
    _row(d, "p_treatment")["values"] = {"p_control": {"kind": "proportion", "value": 0.3}}


def _label(d: dict[str, Any]) -> None:
    d["sensitivity"][0]["label"] = "margin -15 points"


MALFORMED = [
    ("unknown key", _set(("colour",), "red"), ["colour: unknown key"]),
    ("bad status", _status, ["assumptions[2].status", "'publshed'",
                             "Allowed: published, derived, unverified, assumption"]),
    ("bad kind", _kind, ["assumptions[2].values.p_control.kind", "'percent'",
                         "Allowed: proportion, risk_difference"]),
    ("wrong type", _text_type, ["assumptions[2].values.p_control", "'32%'"]),
    ("key of another kind", _extra_unit, ["'unit' does not apply to kind 'proportion'"]),
    ("out of range", _set(("primary", "args", "power"), {"kind": "proportion", "value": 80}),
     ["primary.args.power", "fraction in [0, 1]"]),
    ("unknown value id", _set(("primary", "args", "p2"), "p_dmt"),
     ["primary.args.p2", "no value with id 'p_dmt'", "Known ids: horizon, p_control"]),
    ("wrong kind for argument", _set(("primary", "args", "margin"), "p_control"),
     ["primary.args.margin", "a proportion value cannot be used here",
      "risk_difference"]),
    ("unknown argument", _set(("primary", "args", "ratioo"), "power"),
     ["primary.args.ratioo", "unknown argument. Allowed: p1, p2"]),
    ("bad option", _set(("sensitivity", 3, "set", "method"), "exact"),
     ["sensitivity[3].set.method", "'exact'", "one of score, wald"]),
    ("number as argument", _set(("primary", "args", "power"), 0.8),
     ["primary.args.power", "given 0.8", "an argument is the id of a value"]),
    ("value not shown", _hidden, ["assumptions[4].text", "does not show its value(s) ['margin']"]),
    ("label hides a value", _label, ["sensitivity[0].label", "does not show the value(s) it "
                                     "sets: ['margin']"]),
    ("unknown placeholder", _set(("title",), "ZEUS at {horizn}"),
     ["title: unknown placeholder(s) ['horizn']"]),
    ("bad format", _set(("title",), "ZEUS at {horizon:pct}"), ["title: cannot render",
                                                                "unknown format 'pct'"]),
    ("duplicate id", _dup, ["values.p_control", "already used"]),
    ("bad inflation", _set(("simulation", "inflate_for"), "margin"),
     ["simulation.inflate_for", "'margin' is not the id of a proportion_over_years value",
      "Allowed: dropout"]),
    ("bad unit", _set(("simulation", "endpoint"), "binary"),
     ["simulation.endpoint", "'binary'"]),
]


@pytest.mark.parametrize(("edit", "expected"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_preset_errors(tmp_path: Path, edit: Callable[[dict[str, Any]], None],
                                 expected: list[str]) -> None:
    data = _raw("zeus")
    edit(data)
    path = _write(tmp_path, data, "zeus_bad.yaml")
    with pytest.raises(ConfigurationError) as info:
        load_preset(path)
    err = info.value
    assert "zeus_bad.yaml" in err.message
    for text in expected:
        assert text in err.message, err.message
    assert err.hint


@pytest.mark.parametrize(("text", "expected"), [
    ("key: [unclosed", "is not valid YAML"), ("- a\n- b\n", "must be a YAML mapping")])
def test_unreadable_preset_files(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigurationError, match=expected) as info:
        get_preset(str(path))
    assert info.value.hint
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_preset(tmp_path / "none.yaml")


def test_interim_simulation_needs_proportions(tmp_path: Path) -> None:
    data = _raw("mist")
    data["interim"]["simulate"] = {"label": "x {dropout}", "dropout": "dropout"}
    with pytest.raises(ConfigurationError, match="proportion endpoints only"):
        load_preset(_write(tmp_path, data))


def test_survival_event_model_needs_control_and_follow_up(tmp_path: Path) -> None:
    data = _raw("mist")
    del data["primary"]["args"]["follow_up"]
    preset = load_preset(_write(tmp_path, data, "mist_bad.yaml"))
    with pytest.raises(ConfigurationError, match="needs both") as info:
        preset.primary()
    assert "mist_bad.yaml: primary" in info.value.message
    assert "follow_up" in str(info.value.hint)


@pytest.mark.parametrize(("spec", "text", "short"), [
    ({"kind": "proportion", "value": 0.32}, "32%", "32%"),
    ({"kind": "proportion", "value": 0.025}, "2.5%", "2.5%"),
    ({"kind": "risk_difference", "value": -0.1}, "-10 percentage points", "-10 points"),
    ({"kind": "hazard_ratio", "value": 0.07}, "0.07", "0.07"),
    ({"kind": "significance", "value": 0.05, "sided": 2}, "two-sided 0.05", "two-sided 0.05"),
    ({"kind": "type_ii_error", "value": 0.1}, "90% power", "90% power"),
    ({"kind": "count", "value": 110}, "110", "110"),
    ({"kind": "duration", "value": 24, "unit": "months"}, "24 months", "24 mo"),
    ({"kind": "duration", "value": 1, "unit": "years"}, "1 year", "1 y"),
    ({"kind": "proportion_over_years", "value": 0.1, "years": 2}, "10% over 2 years", "10%"),
    ({"kind": "proportion_over_years", "value": 0.05, "years": 1}, "5% per year", "5%/year"),
    ({"kind": "information_rates", "value": [0.5, 1]}, "one at 50% information", None),
    ({"kind": "information_rates", "value": [0.25, 0.5, 1]},
     "two at 25% and 50% information", None),
    ({"kind": "spending", "value": "pocock"}, "Pocock", None),
])
def test_quantity_text(spec: dict[str, Any], text: str, short: str | None) -> None:
    q = Quantity.model_validate(spec)
    assert format(q) == text
    if short is not None:
        assert format(q, "short") == short


def test_quantity_numbers() -> None:
    assert Quantity(kind="duration", value=24, unit="months").number == 2.0
    assert Quantity(kind="proportion_over_years", value=0.1, years=2).hazard == \
        -math.log1p(-0.1) / 2.0
    assert format(Quantity(kind="count", value=111), "per_arm") == "55/56"
    assert format(Quantity(kind="duration", value=2, unit="years"), "adjective") == "2-year"
    with pytest.raises(ValueError, match="unknown format"):
        format(Quantity(kind="proportion", value=0.1), "per_arm")


def test_impossible_design_names_the_entry(tmp_path: Path) -> None:
    data = _raw("starms")
    data["sensitivity"][2] = {"label": "patients for {p1} vs {p2}",
                              "set": {"n": None}}  # neither n nor power: nothing to solve
    data["simulation"]["scenarios"][0]["set"] = {"p_control": None}
    preset = load_preset(_write(tmp_path, data, "star_bad.yaml"))
    with pytest.raises(ConfigurationError, match=r"star_bad.yaml: sensitivity\[2\]"):
        preset.sensitivity[2][1]()
    with pytest.raises(ConfigurationError, match=r"star_bad.yaml: simulation.scenarios\[0\]"):
        preset.scenarios(preset.primary())
