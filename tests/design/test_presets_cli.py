"""Presets (assumption flags), the design report and the ``hsctms design`` commands."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hsctms.design.presets import PRESETS, evaluate_preset, get_preset
from hsctms.design.report import render_preset_report
from hsctms.errors import ConfigurationError


@pytest.fixture(scope="module")
def zeus() -> Any:
    return evaluate_preset("zeus", n_trials=200, seed=3, engine_trials=0)


def test_zeus_primary_matches_rpact(zeus: Any, committed_golden: dict[str, Any]) -> None:
    ref = committed_golden["rates"]["NI_32v32_m10_zeus"]
    assert zeus.primary.n_total == pytest.approx(ref["nFixed"], rel=1e-9)
    assert zeus.gsd.max_sample_size(zeus.gsd_fixed_size) > zeus.primary.n_total


def test_every_preset_keeps_its_flags() -> None:
    statuses = {k: {a.status for a in p.assumptions} for k, p in PRESETS.items()}
    assert "assumption" in statuses["zeus"]
    assert "unverified" in statuses["mist"]
    assert "unverified" in statuses["starms"]
    for key in PRESETS:
        res = evaluate_preset(key, n_trials=100, seed=1, engine_trials=0)
        payload = json.loads(json.dumps(res.to_dict(), allow_nan=False))
        assert payload["schema"] == "hsctms.design.preset/1"
        assert {a["status"] for a in payload["assumptions"]} == statuses[key]
        assert len(payload["operating_characteristics"]) >= 4
        assert "Flagged" in res.summary


def test_preset_lookup() -> None:
    assert get_preset("STAR-MS").key == "starms"
    with pytest.raises(ConfigurationError, match="Available"):
        get_preset("nope")


def test_report_html(zeus: Any) -> None:
    html = render_preset_report(zeus)
    assert html.count("<svg") >= 2
    assert "assumption" in html
    assert "Operating characteristics" in html
    assert "Interim analysis plan" in html
    mist = render_preset_report(evaluate_preset("mist", n_trials=100, engine_trials=0))
    assert "(unverified)" in mist


def test_preset_with_engine_scenario() -> None:
    import hsctms.endpoints  # noqa: F401
    res = evaluate_preset("starms", n_trials=100, seed=2, engine_trials=10)
    engine = [r for r in res.simulations if r.scenario.definition == "halt_ms"]
    assert len(engine) == 1 and engine[0].n_trials == 10
    assert "endpoint engine" in render_preset_report(res)


def test_cli_commands(tmp_path: Path) -> None:
    from hsctms.cli import app

    runner = CliRunner()
    out = tmp_path / "p.json"
    res = runner.invoke(app, ["design", "proportions", "--p1", "0.8", "--p2", "0.4",
                              "--power", "0.8", "--json", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["schema"] == "hsctms.design.fixed/1"
    assert data["n2"] == pytest.approx(22.33, abs=0.01)
    res = runner.invoke(app, ["design", "survival", "--hr", "0.667", "--power", "0.8"])
    assert res.exit_code == 0 and "191.44" in res.output
    res = runner.invoke(app, ["design", "counts", "--rate1", "0.1", "--rate2", "0.3",
                              "--exposure", "2", "--dispersion", "0.8", "--power", "0.8"])
    assert res.exit_code == 0, res.output
    gj = tmp_path / "g.json"
    res = runner.invoke(app, ["design", "gsd", "--info", "0.5,1", "--futility", "obf",
                              "--fixed-n", "100", "--json", str(gj)])
    assert res.exit_code == 0, res.output
    assert json.loads(gj.read_text())["max_size"] == pytest.approx(105.6, abs=0.01)
    sj = tmp_path / "s.json"
    res = runner.invoke(app, ["design", "simulate", "--n-treatment", "30", "--n-control", "30",
                              "--p-treatment", "0.8", "--p-control", "0.5", "--trials", "200",
                              "--seed", "1", "--json", str(sj)])
    assert res.exit_code == 0, res.output
    assert json.loads(sj.read_text())["schema"] == "hsctms.design.simulation/1"
    html, pj = tmp_path / "r.html", tmp_path / "r.json"
    res = runner.invoke(app, ["design", "preset", "starms", "--trials", "100",
                              "--engine-trials", "0", "--out",
                              str(html), "--json", str(pj)])
    assert res.exit_code == 0, res.output
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert json.loads(pj.read_text())["preset"] == "starms"
    res = runner.invoke(app, ["design", "proportions", "--p1", "0.8", "--p2", "0.4"])
    assert res.exit_code == 1
    assert "Exactly one" in res.output
    res = runner.invoke(app, ["design", "presets"])
    assert "zeus" in res.output


def test_cli_zeus_prints_one_headline_per_framing(tmp_path: Path) -> None:
    from hsctms.cli import app
    from hsctms.design.options import Testing
    from hsctms.design.proportions import two_proportions

    res = CliRunner().invoke(app, ["design", "preset", "zeus", "--trials", "100",
                                   "--engine-trials", "0", "--json", str(tmp_path / "z.json")])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    sup = two_proportions(0.70, 0.40, power=0.8, testing=Testing(0.025, 1))
    per_arm = math.ceil(sup.n2 / 0.9 - 1e-9)  # evaluable per arm / (1 - 10% loss)
    assert f"Superiority: Randomise {2 * per_arm} patients" in text
    assert "Non-inferiority (the ZEUS proposal): Randomise 758 patients" in text
    assert "Type I error, 10000 trials under the null" in text
    payload = json.loads((tmp_path / "z.json").read_text())
    assert [f["randomised"] for f in payload["protocol"]["framings"]] == [758, 2 * per_arm]
