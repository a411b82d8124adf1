"""Validation scoped to some tables: ``tables=`` of read/validate/load_bundle."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from hsctms.datasets import write_demo_bundle
from hsctms.errors import ConfigurationError, DataValidationError
from hsctms.io import load_bundle, validate_bundle
from hsctms.io.bundle import checked_tables, read_bundle_contents
from hsctms.model.schema import SCHEMA


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle with an issue in labs, dmt, edss and transplants."""
    out = tmp_path_factory.mktemp("scoped") / "b"
    write_demo_bundle(out, 40, seed=5)
    for name, column, value in (("labs", "date", "someday"), ("dmt", "start_date", "x"),
                                ("edss", "edss", "3.25"), ("transplants", "patient_id", "X")):
        frame = pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False)
        frame.loc[frame.index[0], column] = value
        frame.to_csv(out / f"{name}.csv", index=False)
    return out


def test_checked_tables_adds_what_the_rules_need() -> None:
    assert checked_tables(None) == tuple(SCHEMA)
    assert checked_tables(["labs"]) == ("patients", "labs", "deaths")
    assert checked_tables(["edss"]) == ("patients", "edss", "relapses", "deaths")
    with pytest.raises(ConfigurationError, match="Unknown table"):
        checked_tables(["edss", "visits"])


@pytest.mark.parametrize("tables", [("edss",), ("transplants", "mri"), ("labs",),
                                    ("patients",)])
def test_scoped_report_is_the_full_report_of_those_tables(broken: Path,
                                                          tables: tuple[str, ...]) -> None:
    full = validate_bundle(broken)
    scope = checked_tables(tables)
    files = {SCHEMA[n].filename for n in scope}
    scoped = validate_bundle(broken, tables=tables)
    expected = [i for i in full.issues
                if i.file in files or i.file not in {s.filename for s in SCHEMA.values()}]
    assert scoped.issues == expected
    assert set(scoped.rows) == set(scope)


def test_unchecked_tables_are_empty_and_not_read(broken: Path, tmp_path: Path) -> None:
    data = tmp_path / "b"
    shutil.copytree(broken, data)
    (data / "labs.csv").write_bytes(b"\xff\xfe not even text")
    contents = read_bundle_contents(data, tables=("edss",))
    assert "labs" not in contents.files and contents.tables["labs"].empty
    assert "patients" in contents.files and "relapses" in contents.files


def test_load_bundle_scoped_refuses_errors_of_its_tables_only(broken: Path) -> None:
    with pytest.raises(DataValidationError):
        load_bundle(broken)
    with pytest.raises(DataValidationError):
        load_bundle(broken, tables=("edss",))
    cohort = load_bundle(broken, tables=("mri", "relapses"))
    assert cohort.table("labs").empty and not cohort.mri.empty
