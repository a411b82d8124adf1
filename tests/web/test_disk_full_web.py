"""A save on a full disk answers 507 in the canonical error shape (not a bare 500), and
nothing is stored. (A real full disk is made in tests/db/test_disk_full.py; here the driver
reports it for the insert, since a small row can still fit into a page's free space.)"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa


def test_web_save_on_a_full_disk_is_507(db_path: Path) -> None:
    from hsctms.web import WebSettings, create_app

    from .conftest import SECRET, TestClient, login

    app = create_app(WebSettings(db=db_path, secret_key=SECRET))
    with TestClient(app, base_url="https://testserver") as client:
        login(client, "entry_a")

        @sa.event.listens_for(app.state.engine, "before_cursor_execute")
        def _full(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("INSERT INTO RELAPSES"):
                raise sqlite3.OperationalError("database or disk is full")

        r = client.post("/api/records/relapses", json={"patient_id": "A1",
                                                       "onset_date": "2021-02-03"})
        assert r.status_code == 507, r.text
        assert r.json()["error"] == "StorageFullError"
        assert "disk" in r.json()["message"] and r.json()["hint"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        sa.event.remove(app.state.engine, "before_cursor_execute", _full)
        rows = client.get("/api/patients/A1").json()["tables"]["relapses"]
        assert rows == []
