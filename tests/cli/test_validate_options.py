"""``hsctms validate``: short by default, --quiet, --min-severity, --summary, patient ids."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from typer.testing import CliRunner

from hsctms.cli import app
from hsctms.datasets import demo_bundle_path
from hsctms.io import validate_bundle

_spec = importlib.util.spec_from_file_location(
    "hsctms_tests_io_conftest_validate", Path(__file__).resolve().parents[1] / "io" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_io = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_io)

runner = CliRunner()

#: One error (edss-off-grid, P1), one warning (the unknown column 'note') and one info (P2's
#: visit a week after a relapse onset: edss-near-relapse).
BAD = {
    "edss.csv": "patient_id,date,edss,fs_pyramidal,note\n"
                "P1,2015-01-10,3.5,2,x\n"
                "P1,2016-03-10,0.5,,y\n"
                "P2,2016-04-01,6.0,3,z\n",
    "relapses.csv": "patient_id,onset_date\nP1,2014-05-01\nP2,2016-03-25\n",
}


def _bundle(tmp_path: Path) -> Path:
    return _io.write_files(tmp_path / "b", BAD)


def _run(*args: str) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["validate", *args], terminal_width=80)
    return result.exit_code, result.output.strip().splitlines()


def test_valid_demo_bundle_output_is_short() -> None:
    """Infos are counted by rule, not listed: the demo bundle gives two lines, not 370."""
    report = validate_bundle(demo_bundle_path())
    assert report.ok and len(report.infos) > 100  # the demo has many infos
    code, lines = _run(str(demo_bundle_path()))
    assert code == 0
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"Not listed: {len(report.infos)} info(s) (")
    for count in report.rule_counts():
        assert f"{count.rule} {count.count}" in lines[0]
    assert lines[1] == report.summary


def test_min_severity_info_lists_every_issue() -> None:
    report = validate_bundle(demo_bundle_path())
    code, lines = _run(str(demo_bundle_path()), "--min-severity", "info")
    assert code == 0
    assert lines[:-1] == [i.to_line() for i in report.issues]
    assert lines[-1] == report.summary


def test_quiet_prints_the_summary_only(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    code, lines = _run(str(bundle), "--quiet")
    assert code == 1  # the exit code still reports the error
    assert lines == [validate_bundle(bundle).summary]


def test_min_severity_error_counts_the_rest(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    report = validate_bundle(bundle)
    assert report.warnings and report.errors
    code, lines = _run(str(bundle), "--min-severity", "error")
    assert code == 1
    assert lines[:len(report.errors)] == [i.to_line() for i in report.errors]
    hidden = lines[len(report.errors)]
    assert hidden.startswith(f"Not listed: {len(report.warnings)} warning(s)")
    assert "column-unknown 1" in hidden


def test_summary_counts_by_rule_with_a_first_example(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    report = validate_bundle(bundle)
    code, lines = _run(str(bundle), "--summary")
    assert code == 1
    counts = report.rule_counts()
    assert [c.severity for c in counts] == sorted(
        (c.severity for c in counts), key=("error", "warning", "info").index)
    assert lines[:-1] == [f"{c.severity} {c.rule}: {c.count} issue(s), first {c.first.to_line()}"
                          for c in counts]
    assert sum(c.count for c in counts) == len(report)


def test_bad_min_severity_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(_bundle(tmp_path)), "--min-severity", "fatal"])
    assert result.exit_code == 2
    assert "error, warning, info" in result.output


def test_row_issues_name_their_patient(tmp_path: Path) -> None:
    """Every row-level issue of a table with patient_id names the patient: in the plain line
    and in the JSON report."""
    bundle = _bundle(tmp_path)
    code, lines = _run(str(bundle), "--min-severity", "info", "--json",
                       str(tmp_path / "r.json"))
    assert code == 1
    assert any(line.startswith("edss.csv:3: error edss-off-grid edss (patient P1): EDSS '0.5'")
               for line in lines), lines
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    rows = [i for i in doc["issues"] if i["row"] is not None and i["row"] > 1]
    assert rows
    assert all(i["patient"] in ("P1", "P2") for i in rows), rows
    header = [i for i in doc["issues"] if i["row"] == 1]
    assert all(i["patient"] is None for i in header)


def test_every_row_issue_of_the_demo_bundle_names_its_patient() -> None:
    report = validate_bundle(demo_bundle_path())
    assert all(i.patient for i in report.issues if i.row is not None)
