"""``derive_bundle``: a bundle validated once, for the tables the engine reads, gives the
endpoints and warnings of ``derive(load_bundle(path))``."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hsctms.cli import app
from hsctms.endpoints import ENGINE_TABLES, InputWarning, derive, derive_bundle
from hsctms.errors import DataValidationError
from hsctms.io import load_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "b"
    res = CliRunner().invoke(app, ["demo-data", "-n", "60", "--seed", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def _copy(bundle: Path, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(bundle, data)
    return data


def _with_blank_lines(path: Path) -> None:
    """A blank line after the header and in the middle: file lines differ from positions."""
    lines = path.read_text(encoding="utf-8").splitlines()
    middle = len(lines) // 2
    lines = [lines[0], "", *lines[1:middle], "", *lines[middle:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _warned(call: object) -> tuple[object, list[tuple[str, str, int | None, str | None, str]]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        out = call()  # type: ignore[operator]
    issues = [(i.rule, i.file, i.row, i.field, i.message)
              for w in caught if isinstance(w.message, InputWarning)
              for i in w.message.report.issues]
    return out, issues


def _with_warnings(data: Path) -> None:
    """Visits and relapses before onset, diagnosis before onset, MRI without counts."""
    patients = pd.read_csv(data / "patients.csv", dtype=str, keep_default_na=False)
    edss = pd.read_csv(data / "edss.csv", dtype=str, keep_default_na=False)
    mri = pd.read_csv(data / "mri.csv", dtype=str, keep_default_na=False)
    for pid in edss["patient_id"].unique()[:3]:
        first = edss.loc[edss["patient_id"] == pid, "date"].min()
        later = (pd.Timestamp(first) + pd.Timedelta(days=400)).date().isoformat()
        patients.loc[patients["patient_id"] == pid, "onset_date"] = later
    mri.loc[mri.index[:2], ["new_t2", "gd_lesions"]] = ""
    patients.to_csv(data / "patients.csv", index=False)
    mri.to_csv(data / "mri.csv", index=False)
    for name in ("edss", "relapses", "mri", "patients"):
        _with_blank_lines(data / f"{name}.csv")


@pytest.mark.parametrize("definition", ["halt_ms", "msprog_default"])
def test_derive_bundle_matches_derive_of_load_bundle(bundle: Path, tmp_path: Path,
                                                     definition: str) -> None:
    data = _copy(bundle, tmp_path)
    _with_warnings(data)
    ours, ours_issues = _warned(lambda: derive_bundle(data, definition))
    theirs, their_issues = _warned(lambda: derive(load_bundle(data), definition))
    rules = {r for r, *_ in their_issues}
    assert {"date-before-onset", "diagnosis-before-onset", "mri-counts-missing"} <= rules
    assert ours_issues == their_issues
    pd.testing.assert_frame_equal(ours.result.to_frame(), theirs.to_frame())  # type: ignore[union-attr,attr-defined]
    pd.testing.assert_frame_equal(ours.result.events, theirs.events)  # type: ignore[union-attr,attr-defined]
    pd.testing.assert_frame_equal(ours.result.excluded, theirs.excluded)  # type: ignore[union-attr,attr-defined]


def test_derive_bundle_checks_only_the_engine_tables(bundle: Path, tmp_path: Path) -> None:
    data = _copy(bundle, tmp_path)
    labs = pd.read_csv(data / "labs.csv", dtype=str, keep_default_na=False)
    labs.loc[labs.index[0], "date"] = "not a date"
    labs.to_csv(data / "labs.csv", index=False)
    with pytest.raises(DataValidationError):
        load_bundle(data)
    loaded = derive_bundle(data)
    assert loaded.unchecked == ("dmt", "labs", "adverse_events")
    assert not set(loaded.unchecked) & set(ENGINE_TABLES)
    assert loaded.cohort.table("labs").empty
    assert len(loaded.result.to_frame()) == 60


def test_derive_bundle_refuses_an_error_in_an_engine_table(bundle: Path,
                                                           tmp_path: Path) -> None:
    data = _copy(bundle, tmp_path)
    tx = pd.read_csv(data / "transplants.csv", dtype=str, keep_default_na=False)
    tx.loc[tx.index[0], "patient_id"] = "NOBODY"
    tx.to_csv(data / "transplants.csv", index=False)
    with pytest.raises(DataValidationError) as err:
        derive_bundle(data)
    assert "patient-unknown" in {i.rule for i in err.value.report.issues}  # type: ignore[union-attr]


def test_derive_bundle_refuses_a_bundle_without_visits(bundle: Path, tmp_path: Path) -> None:
    data = _copy(bundle, tmp_path)
    (data / "edss.csv").unlink()
    with pytest.raises(DataValidationError) as err:
        derive_bundle(data)
    assert [i.rule for i in err.value.report.errors] == ["edss-empty"]  # type: ignore[union-attr]


def test_endpoints_cli_names_the_tables_not_checked(bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    res = CliRunner().invoke(app, ["endpoints", "--data", str(bundle), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Not checked (not used by endpoints): dmt, labs, adverse_events" in res.output
    assert f"'hsctms validate {bundle}' checks the whole bundle" in res.output
