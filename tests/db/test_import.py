"""Import into SQLite and PostgreSQL: all or nothing, idempotent, conflicts, round trip."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from hsctms.db import (
    TABLES,
    BundleConflictError,
    audit_log,
    connect,
    current_revision,
    ensure_schema,
    export_bundle,
    head_revision,
    import_bundle,
    imports,
    load_cohort,
    metadata,
    upgrade,
)
from hsctms.errors import ConfigurationError, DataValidationError, RegistryBusyError
from hsctms.io import read_bundle
from hsctms.model.cohort import frames_equal


def snapshot(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (incl. audit_log, imports), sorted: row-for-row state."""
    engine = connect(db)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in [*TABLES.values(), audit_log, imports]:
            rows = conn.execute(sa.select(table).order_by(table.c.id)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_migrated_schema_matches_table_definitions(db: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    assert upgrade(db) == head_revision() == current_revision(db)
    def ours(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        # later migrations (e.g. the web layer's users) add tables kept in other metadata
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table in metadata.tables

    with connect(db).connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": ours})
        diff = compare_metadata(context, metadata)
    assert diff == [], "tables.py changed without a migration: add one"
    assert upgrade(db) == head_revision()  # idempotent


def test_import_then_reimport_is_idempotent(db: Any, make_bundle, today: dt.date) -> None:
    bundle = make_bundle()
    first = import_bundle(bundle, db, today=today, user="alice")
    assert first.counts["edss"].inserted == 4 and first.inserted == 17
    assert first.changed_anything and first.synthetic
    before = snapshot(db)
    again = import_bundle(bundle, db, today=today, user="alice")
    assert not again.changed_anything
    assert again.unchanged == 17 and again.inserted == 0 and again.updated == 0
    assert "unchanged" in again.summary
    after = snapshot(db)
    for name in TABLES:
        assert after[name] == before[name]
    assert [r.user_name for r in _rows(db, imports)] == ["alice", "alice"]
    actions = [r.action for r in _rows(db, audit_log)]
    assert actions == ["import", "import"]
    assert again.to_dict()["status"] == "unchanged"


def _rows(db: Any, table: sa.Table) -> list[Any]:
    with connect(db).connect() as conn:
        return list(conn.execute(sa.select(table).order_by(table.c.id)).all())


@pytest.mark.parametrize("broken", [
    {"edss.csv": "patient_id,date,edss\nP1,2015-01-10,0.5\nP1,2016-01-10,2.0\n"},
    {"patients.csv": "patient_id,centre,sex,birth_year,phenotype\nP1,C01,F,1980,RRMS\n"},
    {"labs.csv": "patient_id,date,test,value,unit\nP1,2016-03-10,cd4,\xe9,x\n".encode("latin-1")},
])
def test_malformed_bundle_leaves_database_untouched(db: Any, make_bundle, today: dt.date,
                                                    broken: dict[str, Any]) -> None:
    import_bundle(make_bundle(), db, today=today)
    before = snapshot(db)
    digest = file_digest(db) if isinstance(db, Path) else None
    with pytest.raises(DataValidationError) as info:
        import_bundle(make_bundle(broken), db, today=today)
    assert not info.value.report.ok
    assert snapshot(db) == before
    if digest is not None:
        assert file_digest(db) == digest  # byte-for-byte


def test_invalid_bundle_does_not_create_database(tmp_path: Path, make_bundle,
                                                 today: dt.date) -> None:
    target = tmp_path / "new.db"
    with pytest.raises(DataValidationError):
        import_bundle(make_bundle({"edss.csv": "patient_id,date,edss\nP9,2015-01-10,2.0\n"}),
                      target, today=today)
    assert not target.exists()


def test_crash_mid_import_rolls_back_everything(db: Any, make_bundle, today: dt.date,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import hsctms.db.importer as importer

    upgrade(db)
    before = snapshot(db)
    real = importer._bulk_insert
    calls: list[str] = []

    def crashing(conn: Any, spec: Any, frame: Any, progress: Any) -> None:
        calls.append(spec.name)
        if len(calls) == 4:
            raise RuntimeError("simulated crash")
        real(conn, spec, frame, progress)

    monkeypatch.setattr(importer, "_bulk_insert", crashing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        import_bundle(make_bundle(), db, today=today)
    assert calls[:3] == ["patients", "dmt", "transplants"]
    assert snapshot(db) == before
    monkeypatch.setattr(importer, "_bulk_insert", real)
    assert import_bundle(make_bundle(), db, today=today).inserted == 17


def test_conflict_is_reported_and_nothing_written(db: Any, make_bundle, today: dt.date) -> None:
    import_bundle(make_bundle(), db, today=today)
    before = snapshot(db)
    changed = {
        "edss.csv": "patient_id,date,edss,fs_pyramidal\nP1,2015-01-10,4.0,2\n"
                    "P1,2017-01-10,4.0,\n",
        "patients.csv": "patient_id,centre,sex,birth_year,onset_date,diagnosis_date,phenotype\n"
                        "P1,C09,F,1980,2005-03-01,2006-01-15,RRMS\n"
                        "P2,C02,M,1975,2000-06-01,2001-02-01,SPMS\n",
    }
    with pytest.raises(BundleConflictError) as info:
        import_bundle(make_bundle(changed), db, today=today)
    got = {(c.table, c.column, c.stored, c.incoming) for c in info.value.conflicts}
    assert got == {("edss", "edss", 3.5, 4.0), ("patients", "centre", "C01", "C09")}
    assert "--mode update" in (info.value.hint or "")
    assert info.value.to_dict()["conflicts"][0]["key"]["patient_id"] == "P1"
    assert snapshot(db) == before


def test_update_mode_updates_versions_and_audits(db: Any, make_bundle, today: dt.date) -> None:
    import_bundle(make_bundle(), db, today=today)
    changed = {"edss.csv": "patient_id,date,edss,fs_pyramidal\nP1,2015-01-10,4.0,2\n"
                           "P1,2017-01-10,4.0,\n"}
    result = import_bundle(make_bundle(changed), db, today=today, mode="update", user="bob")
    assert result.counts["edss"].to_dict() == {"inserted": 1, "updated": 1, "unchanged": 0}
    engine = connect(db)
    with engine.connect() as conn:
        row = conn.execute(sa.select(TABLES["edss"]).where(
            TABLES["edss"].c.date == dt.date(2015, 1, 10))).one()
        audits = conn.execute(sa.select(audit_log).where(audit_log.c.action == "update")).all()
    assert row.edss == 4.0 and row.version == 2
    assert len(audits) == 1
    assert audits[0].user_name == "bob"
    assert audits[0].old == {"edss": 3.5} and audits[0].new == {"edss": 4.0}
    assert '"patient_id": "P1"' in audits[0].record_key
    # rows the bundle does not mention are kept (an import never deletes)
    assert len(load_cohort(db).edss) == 5


def test_round_trip_bundle_db_bundle_is_lossless(db: Any, make_bundle, today: dt.date,
                                                 tmp_path: Path) -> None:
    bundle = make_bundle()
    import_bundle(bundle, db, today=today)
    out = export_bundle(db, tmp_path / "exported")
    original, _ = read_bundle(bundle, today=today)
    exported, report = read_bundle(out, today=today)
    assert report.ok
    assert frames_equal(original.tables, exported.tables)
    assert exported.synthetic and exported.data_date == original.data_date
    # exported -> new database -> exported again: identical files
    second = tmp_path / "second.db"
    import_bundle(out, second, today=today)
    out2 = export_bundle(second, tmp_path / "exported2")
    for spec_file in sorted(p.name for p in out.glob("*.csv")):
        assert (out / spec_file).read_bytes() == (out2 / spec_file).read_bytes()
    assert [r.action for r in _rows(db, audit_log)] == ["import", "export"]


def test_centre_scoping(db: Any, make_bundle, today: dt.date) -> None:
    import_bundle(make_bundle(), db, today=today)
    c01 = load_cohort(db, centre="C01")
    assert c01.patients["patient_id"].tolist() == ["P1"]
    assert set(c01.edss["patient_id"]) == {"P1"}
    assert c01.deaths.empty  # P2 (C02) died
    assert "centre C01" in (c01.source or "")
    some = load_cohort(db, patient_ids=["P2"])
    assert some.n_patients == 1 and len(some.deaths) == 1


def test_audit_log_and_imports_are_append_only(db: Any, make_bundle, today: dt.date) -> None:
    import_bundle(make_bundle(), db, today=today)
    engine = connect(db)
    for statement in ("UPDATE audit_log SET user_name = 'mallory'", "DELETE FROM audit_log",
                      "DELETE FROM imports", "UPDATE imports SET mode = 'x'"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert len(_rows(db, audit_log)) == 1


def test_outdated_schema_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    upgrade(path)
    with connect(path).begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0000_older'")
    with pytest.raises(ConfigurationError, match="db upgrade"):
        ensure_schema(path)


def test_bad_database_url_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError):
        connect("nosuchdialect://x/y")
    with pytest.raises(ConfigurationError):
        connect(":memory:")


def test_child_rows_need_their_patient_in_the_database(tmp_path: Path) -> None:
    engine = ensure_schema(tmp_path / "fk.db")
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(TABLES["edss"].insert().values(patient_id="P404",
                                                    date=dt.date(2020, 1, 1), edss=2.0))


@pytest.mark.slow
def test_million_edss_rows_import(tmp_path: Path) -> None:
    import numpy as np

    from hsctms.model import EDSS_VALUES

    n_pat, visits = 50_000, 20
    bundle = tmp_path / "big"
    bundle.mkdir()
    pids = np.char.add("P", np.arange(n_pat).astype(str))
    pd.DataFrame({"patient_id": pids, "centre": "C1", "sex": "F", "birth_year": 1970,
                  "phenotype": "RRMS"}).to_csv(bundle / "patients.csv", index=False)
    days = np.tile(np.arange(visits) * 180, n_pat).astype("timedelta64[D]")
    rng = np.random.default_rng(7)
    pd.DataFrame({
        "patient_id": np.repeat(pids, visits),
        "date": (np.datetime64("2000-01-01") + days).astype(str),
        "edss": np.asarray(EDSS_VALUES)[rng.integers(0, 20, n_pat * visits)],
    }).to_csv(bundle / "edss.csv", index=False)
    db = tmp_path / "big.db"
    result = import_bundle(bundle, db, today=dt.date(2025, 1, 1))
    assert result.counts["edss"].inserted == 1_000_000
    with connect(db).connect() as conn:
        n, total = conn.execute(sa.select(sa.func.count(), sa.func.sum(TABLES["edss"].c.edss))
                                ).one()
    expected = pd.read_csv(bundle / "edss.csv")["edss"].sum()
    assert n == 1_000_000 and total == pytest.approx(expected, rel=1e-12)


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Cannot open database"):
        ensure_schema(tmp_path / "no-such-dir" / "x.db")
    with pytest.raises(ConfigurationError, match="Cannot open database"):
        current_revision("postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_locked_sqlite_database_is_a_clear_error(tmp_path: Path, make_bundle,
                                                 today: dt.date) -> None:
    import sqlite3

    db = tmp_path / "locked.db"
    upgrade(db)
    before = snapshot(db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        engine = connect(db, busy_timeout=0.2)
        with pytest.raises(RegistryBusyError, match="nothing was imported"):
            import_bundle(make_bundle(), engine, today=today)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert snapshot(db) == before
