"""CSV bundle writing, the manifest, the bundled demo data and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hsctms.cli import app
from hsctms.datasets import (
    DEMO_PATIENTS,
    DEMO_SEED,
    DiseaseModel,
    demo_bundle_path,
    generate_cohort,
    load_demo_cohort,
    read_bundle,
    write_demo_bundle,
)
from hsctms.datasets.generate import DEFAULT_DATA_DATE, csv_text
from hsctms.errors import ConfigurationError, DataValidationError, NotFoundError
from hsctms.model.cohort import frames_equal
from hsctms.model.schema import SCHEMA


def test_bundle_round_trip_equals_in_memory_cohort(tmp_path: Path) -> None:
    counts = write_demo_bundle(tmp_path, 250, seed=2, chunk_size=100)
    cohort = generate_cohort(250, seed=2)
    assert counts == cohort.row_counts()
    back = read_bundle(tmp_path)
    assert back.synthetic and back.data_date == DEFAULT_DATA_DATE
    assert frames_equal(back.tables, cohort.tables)


def test_bundle_files_follow_the_format(tmp_path: Path) -> None:
    write_demo_bundle(tmp_path, 50, seed=8)
    for spec in SCHEMA.values():
        lines = (tmp_path / spec.filename).read_text(encoding="utf-8").splitlines()
        assert lines[0] == ",".join(spec.column_names)
    edss = (tmp_path / "edss.csv").read_text().splitlines()[1]
    assert edss.split(",")[2].count(".") == 1  # EDSS written with a decimal point
    deaths = (tmp_path / "deaths.csv").read_text().splitlines()[1:]
    assert all(line.rsplit(",", 1)[1] in ("yes", "no") for line in deaths)
    readme = (tmp_path / "README.txt").read_text()
    assert "SYNTHETIC" in readme


def test_manifest(tmp_path: Path) -> None:
    write_demo_bundle(tmp_path, 30, seed=4, created="2026-01-01T00:00:00+00:00")
    doc = json.loads((tmp_path / "bundle.json").read_text())
    assert doc["format"] == "hsctms-bundle" and doc["format_version"] == 1
    assert doc["synthetic"] is True
    assert doc["data_date"] == DEFAULT_DATA_DATE.isoformat()
    gen = doc["generator"]
    assert gen["name"] == "hsctms.datasets"
    assert (gen["seed"], gen["n_patients"]) == (4, 30)
    assert gen["model"] == json.loads(json.dumps(DiseaseModel().to_dict()))
    assert doc["created"] == "2026-01-01T00:00:00+00:00"


def test_csv_quotes_text_with_commas() -> None:
    cohort = generate_cohort(5, seed=1)
    deaths = cohort.deaths.copy()
    frame = cohort.patients.iloc[:1].copy()
    frame.loc[:, "centre"] = 'A, "B"'
    text = csv_text("patients", frame)
    assert '"A, ""B"""' in text
    assert csv_text("deaths", deaths.iloc[:0]).strip() == ",".join(SCHEMA["deaths"].column_names)


def test_bundled_demo_is_reproduced_exactly(tmp_path: Path) -> None:
    demo = demo_bundle_path()
    manifest = json.loads((demo / "bundle.json").read_text())
    write_demo_bundle(tmp_path, DEMO_PATIENTS, DEMO_SEED, created=manifest["created"])
    for spec in SCHEMA.values():
        assert (tmp_path / spec.filename).read_bytes() == (demo / spec.filename).read_bytes(), \
            spec.filename
    regenerated = json.loads((tmp_path / "bundle.json").read_text())
    regenerated["generator"]["version"] = manifest["generator"]["version"]
    assert regenerated == manifest


def test_load_demo_cohort() -> None:
    cohort = load_demo_cohort()
    assert cohort.synthetic
    assert cohort.n_patients == DEMO_PATIENTS
    assert set(cohort.patients["phenotype"]) >= {"RRMS", "SPMS"}


def test_read_bundle_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"bundle\.json"):
        read_bundle(tmp_path)
    write_demo_bundle(tmp_path, 5, seed=1)
    (tmp_path / "mri.csv").unlink()  # child tables are optional in a bundle
    assert read_bundle(tmp_path).mri.empty
    edss = (tmp_path / "edss.csv").read_text(encoding="utf-8").splitlines()
    cells = edss[1].split(",")
    cells[2] = "0.5"  # off the EDSS grid: the one validating reader refuses it
    edss[1] = ",".join(cells)
    (tmp_path / "edss.csv").write_text("\n".join(edss) + "\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="validation error"):
        read_bundle(tmp_path)


@pytest.mark.parametrize("kwargs", [{"n_patients": 0, "seed": 1}, {"n_patients": 5, "seed": -1},
                                    {"n_patients": 5, "seed": 1, "chunk_size": 0}])
def test_bad_arguments_raise(kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError):
        generate_cohort(**kwargs)


def test_cli_demo_data(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    result = CliRunner().invoke(app, ["demo-data", "--patients", "40", "--seed", "3", "--out",
                                      str(out), "--data-date", "2024-12-31"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    doc = json.loads((out / "bundle.json").read_text())
    assert doc["data_date"] == "2024-12-31" and doc["generator"]["n_patients"] == 40
    assert len((out / "patients.csv").read_text().splitlines()) == 41


def test_cli_rejects_bad_date(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo-data", "--out", str(tmp_path), "--data-date",
                                      "31/12/2024"])
    assert result.exit_code == 1
    assert "ISO date" in result.output


@pytest.mark.slow
def test_100k_patients_stream_to_disk(tmp_path: Path) -> None:
    """Scale: 100,000 patients stream to a bundle chunk by chunk (about 25 s; see the bench
    for time and peak memory)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    counts = write_demo_bundle(tmp_path, 100_000, seed=1, chunk_size=10_000)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert counts["patients"] == 100_000
    assert counts["edss"] > 1_000_000
    lines = (tmp_path / "patients.csv").read_text().splitlines()
    assert len(lines) == 100_001 and lines[-1].startswith("SYN-100000,")
    assert grown_mib < 2048


def test_model_round_trip_and_partial_override(tmp_path: Path) -> None:
    from hsctms.datasets import load_model

    model = DiseaseModel()
    assert DiseaseModel.from_dict(json.loads(json.dumps(model.to_dict()))) == model
    write_demo_bundle(tmp_path / "b", 10, seed=1)
    assert load_model(tmp_path / "b" / "bundle.json") == model
    (tmp_path / "m.yaml").write_text("mortality:\n  dropout_rate: 0.2\n", encoding="utf-8")
    loaded = load_model(tmp_path / "m.yaml")
    assert loaded.mortality.dropout_rate == 0.2
    assert loaded.post == model.post


@pytest.mark.parametrize("doc", [{"nope": {}}, {"post": {"relapse_rat": 1}}, {"post": 3},
                                 {"transplant": {"regimens": [{"conditioning": "Cy"}]}}])
def test_model_from_dict_rejects_bad_input(doc: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        DiseaseModel.from_dict(doc)


def test_cli_model_override(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(json.dumps({"mortality": {"dropout_rate": 0.5}}))
    out = tmp_path / "b"
    result = CliRunner().invoke(app, ["demo-data", "-n", "20", "--out", str(out), "--model",
                                      str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "bundle.json").read_text())
    assert doc["generator"]["model"]["mortality"]["dropout_rate"] == 0.5
    bad = CliRunner().invoke(app, ["demo-data", "--out", str(out), "--model",
                                   str(tmp_path / "missing.json")])
    assert bad.exit_code == 1 and "Cannot read" in bad.output
