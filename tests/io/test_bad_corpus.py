"""The malformed-input corpus (tests/data/bad): every case is refused with a precise issue.

For every case: validation reports the expected rule at the expected file, line and field with
a message for people; the import into a registry that already holds a valid import is refused
and leaves the SQLite file byte-identical (and, for the PostgreSQL subset, every table's rows
unchanged). REDCap cases go through the REDCap reader; the ``accept`` cases are inputs the docs
declare valid (CRLF, BOM, formula-like text, ...) and must import and round-trip exactly.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from hsctms.db import (
    TABLES,
    BundleConflictError,
    audit_log,
    export_bundle,
    import_bundle,
    imports,
)
from hsctms.db.redcap_import import import_redcap
from hsctms.errors import DataValidationError
from hsctms.io import read_bundle, validate_bundle, write_csv
from hsctms.io.redcap import validate_redcap
from hsctms.model.schema import SCHEMA

_spec = importlib.util.spec_from_file_location(
    "hsctms_bad_corpus", Path(__file__).resolve().parents[1] / "data" / "bad" / "corpus.py")
assert _spec is not None and _spec.loader is not None
corpus = importlib.util.module_from_spec(_spec)
sys.modules.setdefault(_spec.name, corpus)  # dataclasses look their module up
_spec.loader.exec_module(corpus)

TODAY = corpus.TODAY
BUNDLE_CASES = corpus.all_cases("bundle")
ACCEPT_CASES = corpus.all_cases("accept")


def _ids(cases: list[Any]) -> list[str]:
    return [c.name for c in cases]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sidecars(db: Path) -> list[str]:
    """Journal/WAL files next to an SQLite database (there must be none after an import)."""
    return sorted(p.name for p in db.parent.glob(db.name + "-*"))


@pytest.fixture(scope="module")
def registry_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite registry holding one valid import of the base bundle."""
    path = tmp_path_factory.mktemp("registry") / "registry.db"
    import_bundle(corpus.BASE, path, today=TODAY)
    return path


@pytest.fixture
def registry(registry_template: Path, tmp_path: Path) -> Path:
    """A private copy of the registry template."""
    path = tmp_path / "db" / "registry.db"
    path.parent.mkdir()
    shutil.copyfile(registry_template, path)
    return path


# -- the corpus itself -------------------------------------------------------------------------


def test_base_bundle_is_valid_and_complete() -> None:
    report = validate_bundle(corpus.BASE, today=TODAY)
    assert report.ok and report.issues == [], report.summary
    names = {p.name for p in corpus.BASE.iterdir()}
    assert names == {spec.filename for spec in SCHEMA.values()} | {"bundle.json"}
    assert all(n > 0 for n in report.rows.values()), report.rows


def test_corpus_size_and_every_case_used() -> None:
    cases = corpus.all_cases()
    refused = [c for c in cases if c.kind != "accept"]
    assert len(refused) >= 60, len(refused)
    # every directory under a kind is a case with a case.yaml, and nothing else lies around
    for kind in corpus.KINDS:
        root = corpus.CORPUS / kind
        assert root.is_dir(), root
        for path in root.iterdir():
            assert path.is_dir() and (path / "case.yaml").is_file(), path
    on_disk = {p.parent for p in corpus.CORPUS.glob("*/*/case.yaml")}
    assert on_disk == {c.path for c in cases}
    for case in cases:
        assert case.description and case.entry, case.id
        assert set(case.entry) <= set(corpus.ENTRIES), case.id
        assert case.kind == "accept" or case.expect or "message" in case.extra, case.id
        for want in case.expect:
            assert set(want) == {"rule", "file", "line", "field"}, case.id
        # each case is run by the tests of each of its entry points
        if case.kind == "bundle":
            assert {"validate", "import"} <= set(case.entry), case.id
        if case.kind == "redcap":
            assert "redcap" in case.entry, case.id
        if case.kind == "web":
            assert case.entry == ("web",), case.id
        if case.kind == "conflict":
            assert "import" in case.entry, case.id
        for src in case.input_files():
            assert src.name in corpus.BASE_NAMES or case.kind in ("redcap", "web") or \
                any(w["file"] == src.name for w in case.expect), (case.id, src.name)


def test_corpus_covers_every_file_and_entry_point() -> None:
    cases = corpus.all_cases()
    touched = {src.name for c in BUNDLE_CASES for src in c.input_files()}
    assert {spec.filename for spec in SCHEMA.values()} | {"bundle.json"} <= touched
    for entry, at_least in (("validate", 60), ("import", 60), ("redcap", 8), ("web", 10),
                            ("postgres", 8)):
        assert len([c for c in cases if entry in c.entry]) >= at_least, entry


# -- validation and SQLite import ----------------------------------------------------------------


@pytest.mark.parametrize("case", BUNDLE_CASES, ids=_ids(BUNDLE_CASES))
def test_validation_reports_the_issue(case: Any, tmp_path: Path) -> None:
    bundle = corpus.build_bundle(case, tmp_path / "bundle")
    report = validate_bundle(bundle, today=TODAY)
    assert not report.ok, f"{case.id} was accepted: {report.summary}"
    corpus.assert_expected(report.issues, case)
    assert any(corpus.matches(i, w) for i in report.errors for w in case.expect), case.id


@pytest.mark.parametrize("case", BUNDLE_CASES, ids=_ids(BUNDLE_CASES))
def test_import_is_refused_and_database_untouched(case: Any, registry: Path,
                                                  tmp_path: Path) -> None:
    bundle = corpus.build_bundle(case, tmp_path / "bundle")
    before = sha256(registry)
    with pytest.raises(DataValidationError) as info:
        import_bundle(bundle, registry, today=TODAY)
    assert corpus.human(info.value.message), info.value.message
    corpus.assert_expected(info.value.report.issues, case)
    assert sha256(registry) == before, f"{case.id}: the database file changed"
    assert sidecars(registry) == [], f"{case.id}: journal files left: {sidecars(registry)}"


# -- conflicts with the stored registry -------------------------------------------------------

CONFLICT_CASES = corpus.all_cases("conflict")


def _conflict_issues(error: BundleConflictError) -> list[dict[str, Any]]:
    return [{"rule": "import-conflict", "file": SCHEMA[c.table].filename, "row": None,
             "field": c.column, "message": str(c)} for c in error.conflicts]


@pytest.mark.parametrize("case", CONFLICT_CASES, ids=_ids(CONFLICT_CASES))
def test_conflicting_import_is_refused_and_database_untouched(case: Any, registry: Path,
                                                              tmp_path: Path) -> None:
    bundle = corpus.build_bundle(case, tmp_path / "bundle")
    assert validate_bundle(bundle, today=TODAY).ok  # valid on its own ...
    before = sha256(registry)
    with pytest.raises(BundleConflictError) as info:  # ... but contradicts stored rows
        import_bundle(bundle, registry, today=TODAY)
    assert corpus.human(info.value.message), info.value.message
    corpus.assert_expected(_conflict_issues(info.value), case)
    assert sha256(registry) == before, f"{case.id}: the database file changed"
    assert sidecars(registry) == [], f"{case.id}: journal files left: {sidecars(registry)}"


# -- REDCap flat files -----------------------------------------------------------------------

REDCAP_CASES = corpus.all_cases("redcap")


def test_base_redcap_file_is_valid() -> None:
    report = validate_redcap(corpus.BASE_RECORDS, today=TODAY)
    assert report.ok and report.issues == [], [i.to_line() for i in report]


@pytest.mark.parametrize("case", REDCAP_CASES, ids=_ids(REDCAP_CASES))
def test_redcap_validation_reports_the_issue(case: Any) -> None:
    report = validate_redcap(case.path / "records.csv", today=TODAY)
    assert not report.ok, f"{case.id} was accepted"
    corpus.assert_expected(report.issues, case)


@pytest.mark.parametrize("case", REDCAP_CASES, ids=_ids(REDCAP_CASES))
def test_redcap_import_is_refused_and_database_untouched(case: Any, registry: Path) -> None:
    before = sha256(registry)
    with pytest.raises(DataValidationError) as info:
        import_redcap(case.path / "records.csv", registry, today=TODAY)
    assert corpus.human(info.value.message), info.value.message
    corpus.assert_expected(info.value.report.issues, case)
    assert sha256(registry) == before, f"{case.id}: the database file changed"
    assert sidecars(registry) == []


# -- PostgreSQL subset ---------------------------------------------------------------------------

PG_CASES = corpus.cases_for("postgres", "bundle")


@pytest.fixture
def pg_registry(pg_engine: sa.Engine) -> sa.Engine:
    """A private PostgreSQL schema (tests/conftest.py ``pg_engine``) holding one valid
    import."""
    import_bundle(corpus.BASE, pg_engine, today=TODAY)
    return pg_engine


def snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, including imports and audit_log."""
    with engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(sa.select(t).order_by(t.c.id))]
                for t in [*TABLES.values(), audit_log, imports]}


@pytest.mark.postgres
@pytest.mark.parametrize("case", PG_CASES, ids=_ids(PG_CASES))
def test_postgres_import_is_refused_and_tables_unchanged(case: Any, pg_registry: sa.Engine,
                                                        tmp_path: Path) -> None:
    bundle = corpus.build_bundle(case, tmp_path / "bundle")
    before = snapshot(pg_registry)
    assert sum(len(v) for v in before.values()) > 0
    with pytest.raises(DataValidationError) as info:
        import_bundle(bundle, pg_registry, today=TODAY)
    corpus.assert_expected(info.value.report.issues, case)
    assert snapshot(pg_registry) == before, f"{case.id}: PostgreSQL rows changed"


PG_CONFLICT_CASES = corpus.cases_for("postgres", "conflict")


@pytest.mark.postgres
@pytest.mark.parametrize("case", PG_CONFLICT_CASES, ids=_ids(PG_CONFLICT_CASES))
def test_postgres_conflict_is_refused_and_tables_unchanged(case: Any, pg_registry: sa.Engine,
                                                          tmp_path: Path) -> None:
    bundle = corpus.build_bundle(case, tmp_path / "bundle")
    before = snapshot(pg_registry)
    with pytest.raises(BundleConflictError) as info:
        import_bundle(bundle, pg_registry, today=TODAY)
    corpus.assert_expected(_conflict_issues(info.value), case)
    assert snapshot(pg_registry) == before, f"{case.id}: PostgreSQL rows changed"


# -- inputs the docs accept ----------------------------------------------------------------------


@pytest.mark.parametrize("case", ACCEPT_CASES, ids=_ids(ACCEPT_CASES))
def test_documented_variants_are_accepted_and_round_trip(case: Any, tmp_path: Path) -> None:
    bundle = corpus.build_bundle(case, tmp_path / "bundle")
    cohort, report = read_bundle(bundle, today=TODAY)
    assert report.ok, f"{case.id}: {report.summary}"
    for want in case.expect:  # the warnings/infos the case must still show
        assert any(corpus.matches(i, want) for i in report.issues), (case.id, want)
    db = tmp_path / "registry.db"
    import_bundle(bundle, db, today=TODAY)
    out = export_bundle(db, tmp_path / "export")
    again, report2 = read_bundle(out, today=TODAY)
    assert report2.ok, report2.summary
    for name in SCHEMA:
        a = cohort.table(name).sort_values(list(SCHEMA[name].key)).reset_index(drop=True)
        b = again.table(name).sort_values(list(SCHEMA[name].key)).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=True)


def test_formula_text_is_stored_as_is_and_neutralised_on_spreadsheet_export(
        tmp_path: Path) -> None:
    case = next(c for c in ACCEPT_CASES if c.name == "formula_prefixes_in_text")
    bundle = corpus.build_bundle(case, tmp_path / "bundle")
    db = tmp_path / "registry.db"
    import_bundle(bundle, db, today=TODAY)
    out = export_bundle(db, tmp_path / "export")
    terms = pd.read_csv(out / "adverse_events.csv", dtype=str, keep_default_na=False)["term"]
    written = pd.read_csv(bundle / "adverse_events.csv", dtype=str,
                          keep_default_na=False)["term"]
    risky = [t for t in written if t[:1] in "=+-@"]
    assert len(risky) >= 4 and {t[0] for t in risky} == set("=+-@")
    assert sorted(terms) == sorted(written)  # stored and exported byte for byte
    sheet = tmp_path / "sheet.csv"
    write_csv(pd.DataFrame({"term": terms}), sheet, neutralise_formulas=True)
    shown = pd.read_csv(sheet, dtype=str, keep_default_na=False)["term"]
    assert sorted(shown) == sorted(f"'{t}" if t[:1] in "=+-@" else t for t in terms)
