"""Single output files (``--json F``, ``--out F``, ``--forest F``) are never written over a
file the command did not write itself.

Before: every such option overwrote whatever was at the path (a user's notes, another
command's result, a file edited since). Now a file is written only when new, or when the
same command wrote it earlier and it is unchanged (recorded in ``.hsctms-files.json``
beside it); the output goes to a temporary file moved into place when complete.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hsctms.cli import app
from hsctms.cli._outputs import FILES_MARKER, OutputFile, write_output
from hsctms.errors import ConfigurationError

runner = CliRunner()
DESIGN = ["design", "proportions", "--p1", "0.8", "--p2", "0.4", "--power", "0.8"]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _design(path: Path) -> object:
    return runner.invoke(app, [*DESIGN, "--json", str(path)])


def test_a_users_file_is_not_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    target.write_text("my own notes\n", encoding="utf-8")
    result = _design(target)
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigurationError)
    assert "the file exists and was not written by hsctms" in _flat(str(result.exception))
    assert target.read_text(encoding="utf-8") == "my own notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_a_rerun_replaces_its_own_unchanged_output(tmp_path: Path) -> None:
    target = tmp_path / "out" / "result.json"
    first = _design(target)
    assert first.exit_code == 0, first.output
    assert json.loads(target.read_text(encoding="utf-8"))
    ledger = json.loads((target.parent / FILES_MARKER).read_text(encoding="utf-8"))
    assert ledger["files"]["result.json"]["written_by"] == "hsctms design proportions"
    second = _design(target)
    assert second.exit_code == 0, second.output
    # nothing but the output and the marker: no temporary file left behind
    assert sorted(p.name for p in target.parent.iterdir()) == [FILES_MARKER, "result.json"]


def test_an_edited_output_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    assert _design(target).exit_code == 0
    target.write_text(target.read_text(encoding="utf-8") + " ", encoding="utf-8")
    edited = target.read_bytes()
    result = _design(target)
    assert result.exit_code == 1
    assert target.read_bytes() == edited


def test_another_commands_output_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "rows.json"
    assert runner.invoke(app, ["evidence", "list", "--json", str(target)]).exit_code == 0
    before = target.read_bytes()
    result = _design(target)
    assert result.exit_code == 1
    assert target.read_bytes() == before


def test_refused_before_the_work_is_done(tmp_path: Path) -> None:
    """analyse refuses an occupied --out at once (before loading, deriving, rendering)."""
    report = tmp_path / "outcomes.html"
    report.write_text("<p>the lead's draft</p>", encoding="utf-8")
    result = runner.invoke(app, ["analyse", "--data", str(tmp_path / "no-such-bundle"),
                                 "--out", str(report)])
    assert result.exit_code == 1
    text = _flat(result.output + repr(result.exception))
    assert "Refusing to write" in text and "no-such-bundle" not in text
    assert report.read_text(encoding="utf-8") == "<p>the lead's draft</p>"


@pytest.mark.parametrize("kind", ["symlink", "directory"])
def test_links_and_directories_are_refused(tmp_path: Path, kind: str) -> None:
    real = tmp_path / "real.json"
    real.write_text("{}", encoding="utf-8")
    target = tmp_path / "target.json"
    if kind == "symlink":
        os.symlink(real, target)
    else:
        target.mkdir()
    with pytest.raises(ConfigurationError, match="Refusing to write"):
        OutputFile(target, command="hsctms test").check()
    assert real.read_text(encoding="utf-8") == "{}"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    write_output(target, lambda tmp: tmp.write_text("a\n1\n", encoding="utf-8"))

    def broken(tmp: Path) -> None:
        tmp.write_text("a\n", encoding="utf-8")
        raise RuntimeError("disk full half-way")

    with pytest.raises(RuntimeError):
        write_output(target, broken)
    assert target.read_text(encoding="utf-8") == "a\n1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILES_MARKER, "table.csv"]


def test_endpoints_csv_outputs_are_protected(tmp_path: Path) -> None:
    from hsctms.datasets import write_demo_bundle

    bundle = tmp_path / "bundle"
    write_demo_bundle(bundle, n_patients=30, seed=3)
    events = tmp_path / "events.csv"
    events.write_text("keep me\n", encoding="utf-8")
    result = runner.invoke(app, ["endpoints", "--data", str(bundle), "--definition",
                                 "halt_ms", "--out", str(tmp_path / "per-patient.csv"),
                                 "--events", str(events)])
    assert result.exit_code == 1
    assert events.read_text(encoding="utf-8") == "keep me\n"
    assert not (tmp_path / "per-patient.csv").exists()  # refused before anything was written


def test_outputs_get_the_permissions_of_any_new_file(tmp_path: Path) -> None:
    """An output (and the ledger beside it) is moved into place from an owner-only
    temporary file; it must end with the mode ``open(path, "w")`` would give (0666 less the
    umask), not 0600, or colleagues sharing the folder cannot read the report."""
    old = os.umask(0o022)
    try:
        target = tmp_path / "result.json"
        assert _design(target).exit_code == 0
        plain = tmp_path / "plain.txt"
        plain.write_text("x", encoding="utf-8")
        want = plain.stat().st_mode & 0o777
        assert want == 0o644
        assert target.stat().st_mode & 0o777 == want
        assert (tmp_path / FILES_MARKER).stat().st_mode & 0o777 == want
    finally:
        os.umask(old)
