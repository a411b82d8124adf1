"""The command line as a whole: every command has help with an example; the demo main job."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hsctms.cli import app

runner = CliRunner()


def _commands(group: typer.Typer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [(*prefix, c.name or (c.callback.__name__ if c.callback else ""))
           for c in group.registered_commands]
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        out.extend(_commands(sub.typer_instance, (*prefix, sub.name or "")))
    return out


def test_every_command_has_help_with_an_example() -> None:
    commands = _commands(app)
    assert ("demo",) in commands and ("version",) in commands
    for cmd in commands:
        result = runner.invoke(app, [*cmd, "--help"], terminal_width=200)
        assert result.exit_code == 0, (cmd, result.output)
        assert "Example" in result.output, f"'hsctms {' '.join(cmd)} --help' lacks an example"


def test_console_script_runs() -> None:
    proc = subprocess.run([sys.executable, "-m", "hsctms", "version"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "hsctms" in proc.stdout


def test_demo_builds_registry_and_synthetic_report(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--no-pdf"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    with sqlite3.connect(out / "registry.sqlite") as con:
        n = con.execute("SELECT count(*) FROM patients").fetchone()[0]
        assert n == 300
        assert con.execute("SELECT count(*) FROM edss").fetchone()[0] > n
    html = (out / "outcomes.html").read_text(encoding="utf-8")
    assert "SYNTHETIC DATA" in html
    numbers = json.loads((out / "outcomes.json").read_text(encoding="utf-8"))
    assert numbers["synthetic"] is True and numbers["n"] == 300
    assert (out / "endpoints.csv").stat().st_size > 0
    assert list((out / "figures").glob("*.png"))
    # a second run replaces the earlier output instead of failing or duplicating rows
    again = runner.invoke(app, ["demo", "--out", str(out), "--no-pdf"], terminal_width=200)
    assert again.exit_code == 0, again.output


def test_demo_refuses_to_clobber_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me", encoding="utf-8")
    result = runner.invoke(app, ["demo", "--out", str(tmp_path)], terminal_width=200)
    assert result.exit_code == 1
    assert (tmp_path / "precious.txt").read_text(encoding="utf-8") == "keep me"


@pytest.mark.slow
def test_demo_with_generated_cohort_writes_pdf(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    result = runner.invoke(app, ["demo", "--out", str(out), "--patients", "120", "--seed", "7"],
                           terminal_width=200)
    assert result.exit_code == 0, result.output
    assert (out / "outcomes.pdf").read_bytes()[:5] == b"%PDF-"
    assert json.loads((out / "bundle" / "bundle.json").read_text())["synthetic"] is True
