"""The data commands: validate, import, export, db upgrade."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hsctms.cli import app

runner = CliRunner()


def test_validate_exit_codes_and_json(make_bundle, tmp_path: Path) -> None:
    good = runner.invoke(app, ["validate", str(make_bundle({"bundle.json": None}))])
    assert good.exit_code == 0, good.output
    assert "is valid" in good.output
    bad = make_bundle({"edss.csv": "patient_id,date,edss\nP1,2015-01-10,0.5\n"})
    out = tmp_path / "report.json"
    result = runner.invoke(app, ["validate", str(bad), "--json", str(out)])
    assert result.exit_code == 1
    assert "edss-off-grid" in result.output
    doc = json.loads(out.read_text())
    assert doc["ok"] is False
    assert doc["issues"][0] == {"rule": "edss-off-grid", "severity": "error",
                                "file": "edss.csv", "row": 2, "field": "edss",
                                "message": doc["issues"][0]["message"], "patient": "P1"}


def test_validate_warnings_do_not_fail(make_bundle) -> None:
    bundle = make_bundle({"labs.csv": "patient_id,date,test,value,unit\n"
                                      "P1,2016-03-10,lymphocytes,1200,cells/uL\n"})
    result = runner.invoke(app, ["validate", str(bundle)])
    assert result.exit_code == 0
    assert "lab-unit-unexpected" in result.output


def test_validate_missing_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "does not exist" in " ".join(result.output.split())


def test_import_export_upgrade(make_bundle, tmp_path: Path) -> None:
    db = tmp_path / "reg.db"
    missing = runner.invoke(app, ["db", "upgrade", "--db", str(db)])
    assert missing.exit_code == 1 and "nohsctmsregistry" in "".join(missing.output.split())
    assert not db.exists()  # a mistyped path is never created
    db.touch()  # an existing empty database (e.g. a new PostgreSQL one) gets the schema
    up = runner.invoke(app, ["db", "upgrade", "--db", str(db)])
    assert up.exit_code == 0 and "empty ->" in up.output
    bundle = make_bundle({"bundle.json": None})
    out = tmp_path / "imp.json"
    first = runner.invoke(app, ["import", str(bundle), "--db", str(db), "--json", str(out)])
    assert first.exit_code == 0, first.output
    assert json.loads(out.read_text())["totals"]["inserted"] == 17
    again = runner.invoke(app, ["import", str(bundle), "--db", str(db)])
    assert again.exit_code == 0 and "unchanged" in again.output
    conflict = make_bundle({"bundle.json": None,
                            "edss.csv": "patient_id,date,edss\nP1,2015-01-10,4.0\n"})
    clash = runner.invoke(app, ["import", str(conflict), "--db", str(db)])
    assert clash.exit_code == 1 and "--mode update" in clash.output
    upd = runner.invoke(app, ["import", str(conflict), "--db", str(db), "--mode", "update"])
    assert upd.exit_code == 0 and "1 updated" in upd.output
    exported = tmp_path / "exp"
    ex = runner.invoke(app, ["export", "--db", str(db), "--out", str(exported)])
    assert ex.exit_code == 0
    assert (exported / "edss.csv").read_text().count("\n") == 5
    assert json.loads((exported / "bundle.json").read_text())["synthetic"] is False


def test_import_invalid_bundle_prints_report(make_bundle, tmp_path: Path) -> None:
    db = tmp_path / "reg.db"
    bad = make_bundle({"edss.csv": "patient_id,date,edss\nP9,2015-01-10,2.0\n"})
    result = runner.invoke(app, ["import", str(bad), "--db", str(db)])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "patient-unknown" in flat and "nothing was imported" in flat
    assert not db.exists()


def test_help_has_examples() -> None:
    for args in (["validate"], ["import"], ["export"], ["db", "upgrade"], ["db"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0
        assert "Example: hsctms" in result.output


def test_demo_bundle_is_valid_and_imports(tmp_path: Path) -> None:

    from hsctms import datasets
    from hsctms.db import import_bundle, load_cohort
    from hsctms.io import validate_bundle

    path = datasets.demo_bundle_path()
    report = validate_bundle(path)
    assert report.ok, report.summary
    result = import_bundle(path, tmp_path / "demo.db")
    cohort = load_cohort(tmp_path / "demo.db")
    assert cohort.synthetic and result.synthetic
    assert sum(cohort.row_counts().values()) == result.inserted


def test_export_deidentified(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from hsctms import datasets
    from hsctms.db import connect, import_bundle
    from hsctms.db.tables import audit_log

    db = tmp_path / "demo.db"
    import_bundle(datasets.demo_bundle_path(), db)
    out = tmp_path / "deid"
    result = runner.invoke(app, ["export", "--db", str(db), "--out", str(out),
                                 "--deidentified", "--k", "10"])
    assert result.exit_code == 0, result.output
    assert "k = 10" in result.output and "synthetic data" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["k_anonymity"]["k"] == 10
    assert manifest["k_anonymity"]["smallest_group"] >= 10
    patients = (out / "patients.csv").read_text()
    assert "SYN-" in patients and "birth_year" not in patients
    assert "SYNTHETIC DATA" in (out / "README.txt").read_text()
    with connect(db).connect() as conn:
        detail = conn.execute(sa.select(audit_log.c.detail).where(
            audit_log.c.action == "export").order_by(audit_log.c.id.desc())).scalars().first()
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["kind"] == "deidentified_bundle" and detail["k"] == 10
    # refused: nothing written, no directory created
    too_big = tmp_path / "refused"
    refused = runner.invoke(app, ["export", "--db", str(db), "--out", str(too_big),
                                  "--deidentified", "--k", "1000"])
    assert refused.exit_code == 1 and "fewer than k = 1000" in refused.output
    assert not too_big.exists()
    # the de-identification options need --deidentified
    wrong = runner.invoke(app, ["export", "--db", str(db), "--out", str(tmp_path / "x"),
                                "--k", "5"])
    assert wrong.exit_code != 0 and "--deidentified" in wrong.output
    assert not (tmp_path / "x").exists()
