"""Outside a terminal (CI logs, pipes, files) every validation issue is one plain line."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from typer.testing import CliRunner

from hsctms.cli import app

_spec = importlib.util.spec_from_file_location(
    "hsctms_tests_io_conftest_plain", Path(__file__).resolve().parents[1] / "io" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_io = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_io)

LINE = re.compile(r"^[a-z_]+\.(csv|json)(:\d+)?: (error|warning|info) [a-z0-9-]+( \w+)?"
                  r"( \(patient [^)]+\))?: .+$")


def test_validate_prints_one_plain_line_per_issue(tmp_path: Path) -> None:
    long_name = "x" * 150  # a message far wider than 80 columns must not wrap
    bundle = _io.write_files(tmp_path / "b", {
        "edss.csv": "patient_id,date,edss,fs_pyramidal\nP1,2015-01-10,1e-10,\n"
                    "P1,2016-03-10,0.5,\n",
        "dmt.csv": "patient_id,drug,start_date,stop_date,stop_reason\n"
                   f"P1,{long_name},2010-01-01,2009-06-30,inefficacy\n",
    })
    result = CliRunner().invoke(app, ["validate", str(bundle)], terminal_width=80)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    issues, summary = lines[:-1], lines[-1]
    assert len(issues) >= 3
    for line in issues:
        assert LINE.match(line), line
    assert "edss.csv:2: error value-unparseable edss (patient P1): " in result.output
    assert "edss.csv:3: error edss-off-grid edss (patient P1): " in result.output
    assert "dmt.csv:2: error dmt-stop-before-start stop_date (patient P1): " in result.output
    assert "│" not in result.output  # no table borders
    assert "error" in summary.lower()


def test_row_numbers_are_never_turned_into_emoji() -> None:
    """Rich turns ":100:" into an emoji by default, which corrupted "relapses.csv:100: info
    ..." in validate's output; the CLI's consoles print such text as it is."""
    from hsctms.cli._common import console, err_console

    for con in (console, err_console):
        with con.capture() as cap:
            con.print("relapses.csv:100: info date-before-diagnosis :thumbs_up:",
                      markup=False, highlight=False)
        assert cap.get().strip() == "relapses.csv:100: info date-before-diagnosis :thumbs_up:"
