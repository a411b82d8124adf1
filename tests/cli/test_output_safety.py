"""Nothing lost: commands never delete or overwrite files they did not write.

``hsctms demo --out DIR`` used to ``rmtree`` any DIR holding a ``registry.sqlite`` (the
README's own name for a real registry); now it writes only into a new or empty directory or
its own earlier output, and a re-run deletes exactly the unchanged files its marker lists.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hsctms.cli import app
from hsctms.cli._outputs import MARKER, OutputDirectory
from hsctms.errors import ConfigurationError

runner = CliRunner()


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _users_registry(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(directory / "registry.sqlite") as con:
        con.execute("CREATE TABLE patients (patient_id TEXT)")
        con.execute("INSERT INTO patients VALUES ('REAL-001')")
    (directory / "notes.txt").write_text("my notes", encoding="utf-8")


def _flat(output: str) -> str:
    return " ".join(output.split())


def test_demo_leaves_a_users_registry_byte_identical(tmp_path: Path) -> None:
    work = tmp_path / "work"
    _users_registry(work)
    before = _snapshot(work)
    result = runner.invoke(app, ["demo", "--out", str(work), "--no-pdf"])
    assert result.exit_code == 1, result.output
    text = _flat(result.output)
    assert "Refusing to write into" in text and "Nothing was changed" in text
    assert "Choose another --out" in text
    assert _snapshot(work) == before


def test_demo_out_dot_beside_a_registry_is_refused(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _users_registry(tmp_path)
    before = _snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo", "--out", ".", "--no-pdf"])
    assert result.exit_code == 1, result.output
    assert _snapshot(tmp_path) == before


def test_demo_refuses_a_forged_or_foreign_marker(tmp_path: Path) -> None:
    _users_registry(tmp_path)
    (tmp_path / MARKER).write_text(json.dumps({"written_by": "hsctms demo",
                                               "files": {"../x": None}, "dirs": []}))
    before = _snapshot(tmp_path)
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 1
    assert _snapshot(tmp_path) == before


def test_demo_rerun_replaces_only_its_own_unchanged_files(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    first = runner.invoke(app, ["demo", "--out", str(out), "--no-pdf"])
    assert first.exit_code == 0, first.output
    marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk - {MARKER} <= set(marker["files"])  # every output is listed
    assert "registry.sqlite" in marker["files"] and "outcomes.html" in marker["files"]
    # the user adds files of their own, in the directory and in figures/
    (out / "my-analysis.txt").write_text("mine", encoding="utf-8")
    (out / "figures" / "my-figure.png").write_bytes(b"not the demo's")
    again = runner.invoke(app, ["demo", "--out", str(out), "--no-pdf"])
    assert again.exit_code == 0, again.output
    assert (out / "my-analysis.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "figures" / "my-figure.png").read_bytes() == b"not the demo's"
    with sqlite3.connect(out / "registry.sqlite") as con:
        assert con.execute("SELECT count(*) FROM patients").fetchone()[0] == 300
    # a demo output the user changed is not thrown away: the re-run is refused
    (out / "outcomes.html").write_text("my edited report", encoding="utf-8")
    before = _snapshot(out)
    edited = runner.invoke(app, ["demo", "--out", str(out), "--no-pdf"])
    assert edited.exit_code == 1
    assert "changed since hsctms demo wrote it" in _flat(edited.output)
    assert _snapshot(out) == before


def test_output_directory_never_overwrites_a_file_it_did_not_write(tmp_path: Path) -> None:
    d = OutputDirectory(tmp_path / "o", command="hsctms demo")
    d.prepare()
    d.claim("a.txt").write_text("demo", encoding="utf-8")
    d.done("a.txt")
    (tmp_path / "o" / "b.txt").write_text("user", encoding="utf-8")
    again = OutputDirectory(tmp_path / "o", command="hsctms demo")
    again.prepare()
    assert not (tmp_path / "o" / "a.txt").exists()  # its own file: removed
    with pytest.raises(ConfigurationError, match="was not written by"):
        again.claim("b.txt")
    assert (tmp_path / "o" / "b.txt").read_text(encoding="utf-8") == "user"
    # another command's directory is foreign
    with pytest.raises(ConfigurationError, match="not empty"):
        OutputDirectory(tmp_path / "o", command="hsctms export").prepare()
    # a path that is a file is refused
    (tmp_path / "f").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not a directory"):
        OutputDirectory(tmp_path / "f", command="hsctms demo").prepare()
    assert (tmp_path / "f").read_text(encoding="utf-8") == "x"


def test_output_directory_cleans_up_after_a_crashed_run(tmp_path: Path) -> None:
    d = OutputDirectory(tmp_path / "o", command="hsctms demo")
    d.prepare()
    d.claim("sub/half.bin").write_bytes(b"partial")  # claimed, never finished
    again = OutputDirectory(tmp_path / "o", command="hsctms demo")
    again.prepare()
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [MARKER]


def test_demo_data_never_overwrites_a_users_bundle(tmp_path: Path) -> None:
    mine = tmp_path / "my-bundle"
    mine.mkdir()
    (mine / "patients.csv").write_text("patient_id\nREAL-001\n", encoding="utf-8")
    before = _snapshot(mine)
    res = runner.invoke(app, ["demo-data", "-n", "5", "--out", str(mine)])
    assert res.exit_code == 1 and "Refusing to write into" in _flat(res.output)
    assert _snapshot(mine) == before
    out = tmp_path / "gen"
    assert runner.invoke(app, ["demo-data", "-n", "5", "--out", str(out)]).exit_code == 0
    again = runner.invoke(app, ["demo-data", "-n", "6", "--out", str(out)])
    assert again.exit_code == 0, again.output  # its own earlier output is replaced
    assert len((out / "patients.csv").read_text().splitlines()) == 7


def test_export_never_overwrites_a_users_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "gen"
    assert runner.invoke(app, ["demo-data", "-n", "5", "--out", str(bundle)]).exit_code == 0
    db = tmp_path / "r.sqlite"
    assert runner.invoke(app, ["import", str(bundle), "--db", str(db)]).exit_code == 0
    before = _snapshot(bundle)
    res = runner.invoke(app, ["export", "--db", str(db), "--out", str(bundle)])
    assert res.exit_code == 1 and "Refusing to write into" in _flat(res.output)
    assert _snapshot(bundle) == before  # another command's output is foreign too
    out = tmp_path / "exported"
    for _ in range(2):  # re-export into its own output works
        res = runner.invoke(app, ["export", "--db", str(db), "--out", str(out)])
        assert res.exit_code == 0, res.output
    assert len((out / "patients.csv").read_text().splitlines()) == 6


def test_analyse_figures_never_overwrites_a_users_directory(tmp_path: Path) -> None:
    from hsctms.datasets import demo_bundle_path

    figs = tmp_path / "figs"
    figs.mkdir()
    (figs / "km_efs.svg").write_text("my own figure", encoding="utf-8")
    before = _snapshot(figs)
    args = ["analyse", "--data", str(demo_bundle_path()), "--out", str(tmp_path / "o.html"),
            "--figures", str(figs)]
    res = runner.invoke(app, args)
    assert res.exit_code == 1 and "Refusing to write into" in _flat(res.output)
    assert _snapshot(figs) == before
    own = tmp_path / "own"
    args[-1] = str(own)
    for _ in range(2):  # its own earlier figures are replaced
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
    assert list(own.glob("*.png"))
