"""Tamper evidence (issue 12, finding 3): REPLACE cannot rewrite append-only rows on SQLite,
the audit trail is a keyed hash chain, and ``hsctms audit verify`` detects edits, deletions
(including the last allocation) and allocations without their audit entry."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hsctms.cli import app as cli_app
from hsctms.db import connect, upgrade
from hsctms.db import records as R
from hsctms.db.verify import verify_audit
from hsctms.design.randomisation import PermutedBlockRandomiser
from hsctms.services.randomisation import (
    DatabaseAllocationStore,
    randomise,
    register_eligibility,
)

KEY = "k" * 40
ARMS = ("aHSCT", "alemtuzumab")


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HSCTMS_AUDIT_KEY", KEY)


def _registry(path: Path) -> Path:
    engine = connect(path)
    upgrade(engine)
    for pid in ("P1", "P2"):
        R.create_record(engine, "ann", "patients", {"patient_id": pid, "centre": "A",
                                                    "sex": "F", "birth_year": "1985",
                                                    "onset_date": "2010-03-01",
                                                    "phenotype": "RRMS"})
    engine.dispose()
    return path


def _trial(db: str, n: int = 4) -> None:
    rnd = PermutedBlockRandomiser(ARMS, "seed-secret", store=DatabaseAllocationStore(db, "T"),
                                  strata=("centre",), block_multiples=(1,))
    for i in range(n):
        f = {"centre": "A"}
        register_eligibility(db, "T", f"T{i}", confirmed_by="dr.lead", factors=f)
        randomise(db, "T", rnd, f"T{i}")


def _raw(path: Path, *sql: str) -> None:
    """What an attacker with the file can do: drop the guards, edit, delete."""
    con = sqlite3.connect(path)
    try:
        for name, in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
            con.execute(f"DROP TRIGGER {name}")
        for s in sql:
            con.execute(s)
        con.commit()
    finally:
        con.close()


def test_intact_registry_verifies_keyed(tmp_path: Path, keyed: None) -> None:
    db = _registry(tmp_path / "r.db")
    _trial(str(db))
    res = verify_audit(db)
    assert res.ok, res.summary
    assert res.entries == res.chained == res.keyed == 2 + 4 * 2
    assert res.head[0] == res.entries and str(res.head[1]).startswith("h:")
    assert "Intact" in res.summary


@pytest.mark.parametrize("sql", [
    "REPLACE INTO audit_log (id, at, user_name, action) SELECT id, at, 'eve', action "
    "FROM audit_log WHERE id = 1",
    "INSERT OR REPLACE INTO audit_log (id, at, user_name, action) VALUES (1, '2020-01-01', "
    "'eve', 'insert')",
    "REPLACE INTO allocations SELECT * FROM allocations WHERE id = 1",
    "REPLACE INTO allocations (trial, sequence, patient_id, arm, method, factors, details, "
    "eligibility_confirmed_by, seed_fingerprint, timestamp, prev_hash, hash) SELECT trial, "
    "sequence, patient_id, 'other', method, factors, details, eligibility_confirmed_by, "
    "seed_fingerprint, timestamp, prev_hash, hash FROM allocations WHERE id = 1",
    "REPLACE INTO eligibility_registrations SELECT * FROM eligibility_registrations "
    "WHERE id = 1",
    "REPLACE INTO imports SELECT * FROM imports WHERE id = 1",
])
def test_sqlite_replace_is_refused(tmp_path: Path, sql: str) -> None:
    db = _registry(tmp_path / "r.db")
    _trial(str(db))
    engine = connect(db)
    with engine.begin() as conn:  # an import row, so that imports has one to replace
        conn.execute(sa.text("INSERT INTO imports (user_name, checksum, mode, synthetic, counts) "
                             "VALUES ('x', 'c', 'insert', 0, '{}')"))
    engine.dispose()
    before = (tmp_path / "r.db").read_bytes()
    con = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError, match="append-only: REPLACE"):
        con.execute(sql)
    con.close()
    assert (tmp_path / "r.db").read_bytes() == before


def test_edited_entry_detected_even_if_rechained_without_key(tmp_path: Path,
                                                             keyed: None) -> None:
    db = _registry(tmp_path / "r.db")
    _raw(db, "UPDATE audit_log SET user_name = 'eve' WHERE id = 1")
    res = verify_audit(db)
    assert not res.ok and [p.kind for p in res.problems] == ["edited"]
    assert "audit_log id 1" in res.problems[0].where
    # recomputing an unkeyed chain does not help: the entries must carry the keyed HMAC
    from hsctms.db.audit import entry_mac

    engine = connect(db)
    with engine.connect() as conn:
        rows = list(conn.execute(sa.text("SELECT * FROM audit_log ORDER BY id")))
    engine.dispose()
    prev = None
    fixes = []
    for r in rows:
        entry = {"at": __import__("datetime").datetime.fromisoformat(r.at),
                 "user_name": r.user_name, "action": r.action, "table_name": r.table_name,
                 "record_key": r.record_key, "old": json.loads(r.old) if r.old else None,
                 "new": json.loads(r.new) if r.new else None,
                 "detail": json.loads(r.detail) if r.detail else None}
        h = entry_mac(prev, entry, None)
        fixes.append(f"UPDATE audit_log SET prev_hash = {_q(prev)}, hash = '{h}' "
                     f"WHERE id = {r.id}")
        prev = h
    _raw(db, *fixes)
    assert verify_audit(db, use_env_key=False).ok  # consistent as an unkeyed chain ...
    kinds = {p.kind for p in verify_audit(db).problems}
    assert kinds == {"unkeyed"}  # ... but not under the audit key


def _q(v: str | None) -> str:
    return "NULL" if v is None else f"'{v}'"


def test_deleted_middle_entry_breaks_the_chain(tmp_path: Path) -> None:
    db = _registry(tmp_path / "r.db")
    _trial(str(db))
    _raw(db, "DELETE FROM audit_log WHERE id = 2")
    kinds = [p.kind for p in verify_audit(db).problems]
    assert "broken-link" in kinds


def test_deleted_last_allocation_detected(tmp_path: Path) -> None:
    db = _registry(tmp_path / "r.db")
    _trial(str(db))
    _raw(db, "DELETE FROM allocations WHERE id = (SELECT max(id) FROM allocations)")
    res = verify_audit(db)
    assert [p.kind for p in res.problems] == ["row-missing"], res.summary
    assert "T3" in res.problems[0].where


def test_edited_allocation_with_recomputed_allocation_chain_detected(tmp_path: Path) -> None:
    db = _registry(tmp_path / "r.db")
    _trial(str(db))
    _raw(db, "UPDATE allocations SET arm = CASE arm WHEN 'aHSCT' THEN 'alemtuzumab' ELSE "
             "'aHSCT' END, hash = 'x' || substr(hash, 2) WHERE id = 2")
    res = verify_audit(db)
    assert [p.kind for p in res.problems] == ["row-edited"]
    assert "arm, hash" in res.problems[0].message


def test_allocation_without_audit_entry_detected(tmp_path: Path) -> None:
    db = _registry(tmp_path / "r.db")
    _trial(str(db), n=2)
    _raw(db, "INSERT INTO allocations (trial, sequence, patient_id, arm, method, factors, "
             "details, eligibility_confirmed_by, seed_fingerprint, timestamp, prev_hash, "
             "hash) SELECT trial, 99, 'X9', arm, method, factors, details, "
             "eligibility_confirmed_by, seed_fingerprint, timestamp, hash, 'x' FROM "
             "allocations WHERE id = 2")
    res = verify_audit(db)
    assert [p.kind for p in res.problems] == ["no-audit"]


def test_truncated_chain_detected_only_against_an_anchor(tmp_path: Path) -> None:
    db = _registry(tmp_path / "r.db")
    _trial(str(db), n=2)
    anchor = verify_audit(db).head
    assert anchor[1] is not None
    # the last randomisation removed with both its rows and its audit entries
    _raw(db, "DELETE FROM allocations WHERE patient_id = 'T1'",
         "DELETE FROM eligibility_registrations WHERE patient_id = 'T1'",
         "DELETE FROM audit_log WHERE id > (SELECT max(id) - 2 FROM audit_log)")
    assert verify_audit(db).ok  # a consistent prefix: nothing to see without an anchor
    res = verify_audit(db, expect_head=(anchor[0], str(anchor[1])))
    assert [p.kind for p in res.problems] == ["truncated"]


def test_cli_audit_verify(tmp_path: Path) -> None:
    db = _registry(tmp_path / "r.db")
    runner = CliRunner()
    ok = runner.invoke(cli_app, ["audit", "verify", "--db", str(db)])
    assert ok.exit_code == 0 and "Intact" in ok.output, ok.output
    head = next(line for line in ok.output.splitlines() if line.startswith("Head:"))
    anchor = head.split()[1]
    _raw(db, "UPDATE audit_log SET action = 'export' WHERE id = 2")
    bad = runner.invoke(cli_app, ["audit", "verify", "--db", str(db), "--expect-head",
                                  anchor, "--json", str(tmp_path / "v.json")])
    assert bad.exit_code == 1 and "edited audit_log id 2" in bad.output
    assert json.loads((tmp_path / "v.json").read_text())["ok"] is False
    missing = runner.invoke(cli_app, ["audit", "verify", "--db", str(tmp_path / "no.db")])
    assert missing.exit_code != 0 and not (tmp_path / "no.db").exists()


@pytest.mark.postgres
def test_postgres_chain_verifies(keyed: None, postgres_url: str) -> None:
    """JSONB and timestamptz round trips keep the chain; the writer's session time zone
    does not matter."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    writer = connect(postgres_url, connect_args={
        "options": f"-csearch_path={schema} -ctimezone=Pacific/Chatham"})
    reader = connect(postgres_url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(writer)
        R.create_record(writer, "ann", "patients", {"patient_id": "P1", "centre": "A",
                                                    "sex": "F", "birth_year": "1985",
                                                    "phenotype": "RRMS"})
        R.update_record(writer, "ann", "patients", 1, {"birth_year": "1986"}, 1)
        res = verify_audit(reader)
        assert res.ok and res.keyed == res.entries == 2, res.summary
    finally:
        writer.dispose()
        reader.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
