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


def _copy(bundle: Path, tmp_path: Path) -> Path:
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(bundle, out)
    return out


def test_endpoints_cli_names_file_row_and_field(bundle: Path, tmp_path: Path) -> None:
    """A bad cell is printed as 'edss.csv:LINE: error RULE edss (patient P): ...' and the exit
    code is 1."""
    data = _copy(bundle, tmp_path)
    path = data / "edss.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    col = lines[0].split(",").index("edss")
    cells = lines[3].split(",")
    cells[col] = "3.25"
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["endpoints", "--data", str(data),
                                   "--out", str(tmp_path / "x.csv")])
    assert res.exit_code == 1
    patient = cells[lines[0].split(",").index("patient_id")]
    assert f"edss.csv:4: error edss-off-grid edss (patient {patient}): EDSS '3.25'" in res.output
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("how", ["missing", "header-only"])
def test_endpoints_cli_refuses_a_bundle_without_visits(bundle: Path, tmp_path: Path,
                                                       how: str) -> None:
    data = _copy(bundle, tmp_path)
    path = data / "edss.csv"
    if how == "missing":
        path.unlink()
    else:
        path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n",
                        encoding="utf-8")
    out = tmp_path / "x.csv"
    res = CliRunner().invoke(app, ["endpoints", "--data", str(data), "--out", str(out)])
    assert res.exit_code == 1
    assert "edss.csv: error edss-empty: " in res.output
    assert not out.exists()


def test_endpoints_cli_prints_pre_onset_warnings(bundle: Path, tmp_path: Path) -> None:
    """An EDSS visit before MS onset is printed as a warning line; the run still succeeds."""
    data = _copy(bundle, tmp_path)
    patients = pd.read_csv(data / "patients.csv", dtype=str, keep_default_na=False)
    edss = pd.read_csv(data / "edss.csv", dtype=str, keep_default_na=False)
    pid = edss["patient_id"].iat[0]
    first = edss.loc[edss["patient_id"] == pid, "date"].min()
    later = (pd.Timestamp(first) + pd.Timedelta(days=1)).date().isoformat()
    patients.loc[patients["patient_id"] == pid, ["onset_date", "diagnosis_date"]] = later
    patients.to_csv(data / "patients.csv", index=False)
    line = int(edss.index[(edss["patient_id"] == pid) & (edss["date"] == first)][0]) + 2
    out = tmp_path / "x.csv"
    res = CliRunner().invoke(app, ["endpoints", "--data", str(data), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (f"edss.csv:{line}: warning date-before-onset date (patient {pid}): EDSS "
            f"assessment on {first}") in res.output
    assert out.exists()
