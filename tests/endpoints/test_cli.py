"""``hsctms endpoints`` on a small synthetic bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hsctms.cli import app


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "b"
    res = CliRunner().invoke(app, ["demo-data", "-n", "60", "--seed", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_endpoints_cli_writes_tables(bundle: Path, tmp_path: Path) -> None:
    out, ev, js = tmp_path / "e.csv", tmp_path / "ev.csv", tmp_path / "e.json"
    res = CliRunner().invoke(app, ["endpoints", "--data", str(bundle), "--definition",
                                   "halt_ms", "--out", str(out), "--events", str(ev),
                                   "--json", str(js)])
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    payload = json.loads(js.read_text())
    assert len(frame) == payload["n"] > 0
    for e in ("worsening", "improvement", "relapse", "mri_activity", "neda3_loss", "efs",
              "death"):
        assert frame[f"{e}_event"].isin([0, 1]).all()
        assert payload["events"][e] == int(frame[f"{e}_event"].sum())
    assert payload["definition"]["name"] == "halt_ms"
    assert payload["provenance"]["synthetic"] is True
    events = pd.read_csv(ev)
    assert set(events["event_type"]) <= {"worsening", "improvement"}
    assert "SYNTHETIC" in res.output


def test_endpoints_cli_errors(bundle: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["endpoints", "--out", str(tmp_path / "x.csv")])
    assert res.exit_code == 1 and "exactly one of --db" in res.output
    res = runner.invoke(app, ["endpoints", "--data", str(bundle), "--definition", "nope",
                              "--out", str(tmp_path / "x.csv")])
    assert res.exit_code == 1 and "Unknown endpoint definition" in res.output


def test_endpoints_help_has_example() -> None:
    res = CliRunner().invoke(app, ["endpoints", "--help"])
    assert res.exit_code == 0 and "Example:" in res.output


def test_endpoints_cli_from_database_matches_bundle(bundle: Path, tmp_path: Path) -> None:
    from hsctms.db.importer import import_bundle

    db = tmp_path / "reg.db"
    import_bundle(bundle, str(db))
    a, b = tmp_path / "db.csv", tmp_path / "bundle.csv"
    runner = CliRunner()
    res = runner.invoke(app, ["endpoints", "--db", str(db), "--out", str(a)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["endpoints", "--data", str(bundle), "--out", str(b)])
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_csv(a), pd.read_csv(b))
