"""``hsctms trial``: register, randomise, log and replay through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hsctms.cli import app
from hsctms.db import open_registry

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args), terminal_width=200)
    return res.exit_code, res.output


def test_trial_workflow(tmp_path: Path) -> None:
    db = str(tmp_path / "reg.sqlite")
    open_registry(db, create=True).dispose()  # trial commands never create a registry
    config = tmp_path / "zeus.json"
    config.write_text(json.dumps({"arms": ["aHSCT", "alemtuzumab"],
                                  "method": "permuted_blocks", "factors": ["centre"],
                                  "block_multiples": [1, 2]}), encoding="utf-8")
    seed = tmp_path / "secret.txt"
    seed.write_text("0123456789abcdef0123", encoding="utf-8")
    common = ["--db", db, "--trial", "ZEUS"]

    code, out = _run("trial", "randomise", *common, "--patient", "P1", "--config", str(config),
                     "--seed-file", str(seed))
    assert code == 1 and "not registered" in out
    for i in range(8):
        code, out = _run("trial", "register", *common, "--patient", f"P{i}",
                         "--confirmed-by", "dr.lead", "--factor", f"centre={'AB'[i % 2]}")
        assert code == 0, out
        code, out = _run("trial", "randomise", *common, "--patient", f"P{i}",
                         "--config", str(config), "--seed-file", str(seed))
        assert code == 0, out
        assert "aHSCT" in out or "alemtuzumab" in out
    code, out = _run("trial", "log", *common, "--json", str(tmp_path / "log.json"))
    assert code == 0 and "intact" in out
    log = json.loads((tmp_path / "log.json").read_text(encoding="utf-8"))
    assert len(log["allocations"]) == 8 and log["chain_intact"]
    assert "0123456789abcdef0123" not in (tmp_path / "log.json").read_text(encoding="utf-8")
    code, out = _run("trial", "replay", *common, "--config", str(config),
                     "--seed-file", str(seed))
    assert code == 0 and "reproduced exactly" in out
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("another-secret-seed-xyz", encoding="utf-8")
    code, out = _run("trial", "replay", *common, "--config", str(config),
                     "--seed-file", str(wrong))
    assert code == 1 and "NOT reproduced" in out


def test_bad_trial_inputs_are_clear(tmp_path: Path) -> None:
    db = str(tmp_path / "reg.sqlite")
    short = tmp_path / "short.txt"
    short.write_text("abc", encoding="utf-8")
    cfg = tmp_path / "c.json"
    cfg.write_text("{not json", encoding="utf-8")
    code, out = _run("trial", "register", "--db", db, "--trial", "T", "--patient", "P",
                     "--confirmed-by", "x", "--factor", "centre")
    assert code == 1 and "NAME=LEVEL" in out
    code, out = _run("trial", "randomise", "--db", db, "--trial", "T", "--patient", "P",
                     "--config", str(cfg), "--seed-file", str(short))
    assert code == 1 and "Cannot read trial file" in out
