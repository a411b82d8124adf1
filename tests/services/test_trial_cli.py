"""``hsctms trial``: register, randomise, log and replay through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hsctms.cli import app
from hsctms.db import import_bundle, open_registry

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args), terminal_width=200)
    return res.exit_code, res.output


def _registry_with(tmp_path: Path, patients: list[str]) -> str:
    """A registry holding ``patients`` (trial commands never create one)."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    rows = "".join(f"{p},C01,F,1980,2005-03-01,2006-01-15,RRMS\n" for p in patients)
    (bundle / "patients.csv").write_text(
        "patient_id,centre,sex,birth_year,onset_date,diagnosis_date,phenotype\n" + rows,
        encoding="utf-8")
    db = str(tmp_path / "reg.sqlite")
    import_bundle(bundle, db)
    return db


def test_trial_workflow(tmp_path: Path) -> None:
    db = _registry_with(tmp_path, [f"P{i}" for i in range(8)])
    config = tmp_path / "zeus.json"
    config.write_text(json.dumps({"arms": ["aHSCT", "alemtuzumab"],
                                  "method": "permuted_blocks", "factors": ["centre"],
                                  "block_multiples": [1, 2],
                                  "levels": {"centre": ["A", "B"]}}), encoding="utf-8")
    seed = tmp_path / "secret.txt"
    seed.write_text("0123456789abcdef0123", encoding="utf-8")
    common = ["--db", db, "--trial", "ZEUS"]

    code, out = _run("trial", "randomise", *common, "--patient", "P1", "--config", str(config),
                     "--seed-file", str(seed))
    assert code == 1 and "not registered" in out
    for i in range(8):
        code, out = _run("trial", "register", *common, "--patient", f"P{i}",
                         "--confirmed-by", "dr.lead", "--config", str(config),
                         "--factor", f"centre={'AB'[i % 2]}")
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
                     "--confirmed-by", "x", "--config", str(cfg), "--factor", "centre")
    assert code == 1 and "NAME=LEVEL" in out
    code, out = _run("trial", "randomise", "--db", db, "--trial", "T", "--patient", "P",
                     "--config", str(cfg), "--seed-file", str(short))
    assert code == 1 and "Cannot read trial file" in out


def _zeus(tmp_path: Path) -> tuple[str, Path]:
    db = _registry_with(tmp_path, ["P1", "P2"])
    config = tmp_path / "zeus.json"
    config.write_text(json.dumps({"arms": ["aHSCT", "alemtuzumab"],
                                  "factors": ["centre", "edss_band"],
                                  "levels": {"centre": ["LON", "UPP"],
                                             "edss_band": ["0-3.5", "4.0-6.0"]}}),
                      encoding="utf-8")
    return db, config


def _register(db: str, config: Path, patient: str, *factors: str) -> tuple[int, str]:
    args = [f for item in factors for f in ("--factor", item)]
    return _run("trial", "register", "--db", db, "--trial", "ZEUS", "--patient", patient,
                "--confirmed-by", "dr.lead", "--config", str(config), *args)


def _registrations(db: str) -> int:
    import sqlalchemy as sa

    from hsctms.db.randomisation import eligibility_registrations

    engine = open_registry(db)
    try:
        with engine.connect() as conn:
            return len(conn.execute(sa.select(eligibility_registrations)).all())
    finally:
        engine.dispose()


def test_register_refuses_a_patient_not_in_the_registry(tmp_path: Path) -> None:
    db, config = _zeus(tmp_path)
    code, out = _register(db, config, "P0001", "centre=LON", "edss_band=0-3.5")
    assert code == 1
    assert "'P0001' is not in the registry" in out
    assert _registrations(db) == 0


def test_register_refuses_a_missing_factor(tmp_path: Path) -> None:
    """An immutable registration without every factor could never be randomised."""
    db, config = _zeus(tmp_path)
    code, out = _register(db, config, "P1", "centre=LON")
    assert code == 1
    assert "lacks factor(s) edss_band" in out and "--factor edss_band=LEVEL" in out
    assert _registrations(db) == 0


def test_register_refuses_a_level_typo_listing_the_allowed_levels(tmp_path: Path) -> None:
    db, config = _zeus(tmp_path)
    code, out = _register(db, config, "P1", "centre=LNO", "edss_band=0-3.5")
    assert code == 1
    assert "'LNO' is not a level of factor centre; allowed: LON, UPP." in out
    code, out = _register(db, config, "P1", "centre=LON", "edss=0-3.5", "edss_band=0-3.5")
    assert code == 1 and "'edss' is not a factor of this trial" in out
    code, out = _register(db, config, "P1", "centre=LON", "centre=UPP", "edss_band=0-3.5")
    assert code == 1 and "given twice" in out
    assert _registrations(db) == 0
    code, out = _register(db, config, "P1", "centre=LON", "edss_band=0-3.5")
    assert code == 0, out
    assert _registrations(db) == 1


def test_a_screening_failure_may_leave_factors_out(tmp_path: Path) -> None:
    db, config = _zeus(tmp_path)
    code, out = _run("trial", "register", "--db", db, "--trial", "ZEUS", "--patient", "P2",
                     "--confirmed-by", "dr.lead", "--config", str(config), "--not-eligible")
    assert code == 0, out
    assert "not eligible" in out


def test_trial_file_levels_must_name_its_factors(tmp_path: Path) -> None:
    db, _ = _zeus(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"arms": ["a", "b"], "factors": ["centre"],
                               "levels": {"center": ["LON"]}}), encoding="utf-8")
    code, out = _register(db, bad, "P1", "centre=LON")
    assert code == 1 and "levels names center" in out
    nolevels = tmp_path / "nolevels.json"
    nolevels.write_text(json.dumps({"arms": ["a", "b"], "factors": ["centre"]}),
                        encoding="utf-8")
    code, out = _register(db, nolevels, "P1", "centre=LON")
    assert code == 1 and "lists no levels for factor(s) centre" in out
