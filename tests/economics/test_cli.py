"""``hsctms economics``: report files, terminal summary, errors with hints."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from hsctms.cli import app
from hsctms.economics.inputs import PRESET_DIR

runner = CliRunner()


def test_json_report(tmp_path: Path) -> None:
    out = tmp_path / "econ.json"
    res = runner.invoke(app, ["economics", "--preset", "uk", "--draws", "200", "--out",
                              str(out)], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "aHSCT" in res.output and "placeholders" in res.output
    doc = json.loads(out.read_text())
    assert doc["schema"] == "economics.report"
    assert doc["psa"]["draws"] == 200
    assert {r["status"] for r in doc["input_table"]} <= {"published", "derived", "unverified",
                                                          "assumption"}
    assert all(r["source"] for r in doc["input_table"])


def test_html_report_with_own_yaml(tmp_path: Path) -> None:
    data = yaml.safe_load((PRESET_DIR / "uk.yaml").read_text())
    data["settings"]["horizon_years"] = 10
    mine = tmp_path / "mine.yaml"
    mine.write_text(yaml.safe_dump(data))
    out = tmp_path / "econ.html"
    res = runner.invoke(app, ["economics", "--preset", str(mine), "--draws", "100", "--out",
                              str(out)], terminal_width=200)
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert "10-year horizon" in html and "<svg" in html and "Face validity" in html
    assert "(unverified)" in html


def test_errors_have_hints(tmp_path: Path) -> None:
    res = runner.invoke(app, ["economics", "--preset", "atlantis"], terminal_width=200)
    assert res.exit_code != 0
    assert "Hint" in res.output and "uk" in res.output
    res = runner.invoke(app, ["economics", "--out", str(tmp_path / "x.pdf")],
                        terminal_width=200)
    assert res.exit_code != 0 and ".html" in res.output
