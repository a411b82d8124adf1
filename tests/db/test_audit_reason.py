"""The reason for change (issue 19) is kept in the audit entry's details, inside the keyed
hash chain: verification passes on SQLite and PostgreSQL, and editing a stored reason is
detected like any other tampering."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hsctms.db import connect, upgrade
from hsctms.db import records as R
from hsctms.db.tables import audit_log
from hsctms.db.verify import verify_audit
from hsctms.errors import DataValidationError

KEY = "audit-key-for-tests-" + "k" * 24


@pytest.fixture(autouse=True)
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HSCTMS_AUDIT_KEY", KEY)


def _seed(db: Any) -> dict[str, Any]:
    R.create_record(db, "ann", "patients", {"patient_id": "P1", "centre": "A", "sex": "F",
                                            "birth_year": "1985", "phenotype": "RRMS"})
    return R.create_record(db, "ann", "edss", {"patient_id": "P1", "date": "2020-01-01",
                                               "edss": "3.0"})


def test_reason_in_chain(db: Any) -> None:
    if isinstance(db, Path):
        upgrade(connect(db))
    else:
        upgrade(db)
    row = _seed(db)
    R.update_record(db, "bob", "edss", row["id"], {"edss": "3.5"}, row["version"],
                    reason="  source document   corrected")
    R.delete_record(db, "bob", "edss", row["id"], row["version"] + 1,
                    reason="entered for the wrong patient")
    engine = connect(db)
    with engine.connect() as conn:
        entries = R.audit_entries(conn)
    assert [(e["action"], e["reason"]) for e in entries[:2]] == [
        ("delete", "entered for the wrong patient"), ("update", "source document corrected")]
    assert entries[1]["detail"]["reason"] == "source document corrected"
    assert entries[2]["reason"] is None  # a first entry has none
    result = verify_audit(engine)
    assert result.ok and result.keyed == result.entries == 4, result.summary


def test_reason_too_long_writes_nothing(tmp_path: Path) -> None:
    engine = connect(tmp_path / "r.db")
    upgrade(engine)
    row = _seed(engine)
    with pytest.raises(DataValidationError):
        R.update_record(engine, "bob", "edss", row["id"], {"edss": "3.5"}, row["version"],
                        reason="x" * (R.MAX_REASON + 1))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar() == 2
        assert R.get_row(conn, "edss", row["id"])["edss"] == 3.0


def test_edited_reason_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    engine = connect(path)
    upgrade(engine)
    row = _seed(engine)
    R.update_record(engine, "bob", "edss", row["id"], {"edss": "3.5"}, row["version"],
                    reason="typo")
    engine.dispose()
    raw = sqlite3.connect(path)  # someone with the file rewrites the reason
    raw.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    names = [r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='trigger' "
                                       "AND tbl_name='audit_log'")]
    for name in names:
        raw.execute(f"DROP TRIGGER {name}")
    raw.execute("UPDATE audit_log SET detail = replace(detail, 'typo', 'patient request') "
                "WHERE action = 'update'")
    raw.commit()
    raw.close()
    result = verify_audit(connect(path))
    assert not result.ok
