"""In-process tests of the web registry: auth, CSRF, records, locking, audit, exports,
dashboards, the patient tool, migrations."""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.web._zips import zip_members

from hsctms.db import connect
from hsctms.db.tables import TABLES, audit_log
from hsctms.web.core import ROUTE_RULES

from .conftest import PASSWORD, SECRET, TestClient, login


def test_single_alembic_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hsctms.db.engine import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, heads  # one linear history of migrations


def test_secret_key_required(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hsctms.errors import ConfigurationError
    from hsctms.web import WebSettings, create_app

    monkeypatch.delenv("HSCTMS_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="secret key"):
        create_app(WebSettings(db=db_path))


def test_login_sets_secure_cookie_and_logout_ends_session(client: TestClient) -> None:
    r = client.post("/api/login", json={"username": "entry_a", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    assert client.get("/api/me").json()["username"] == "entry_a"
    stolen = dict(client.cookies)
    assert client.post("/api/logout").status_code == 200
    client.cookies.update(stolen)  # replaying the old cookie must not work
    assert client.get("/api/me").status_code == 401


def test_wrong_password_and_rate_limit(client: TestClient) -> None:
    for _ in range(5):
        r = client.post("/api/login", json={"username": "entry_a", "password": "x" * 12})
        assert r.status_code == 401
        assert r.json()["error"] == "AuthenticationRequired"
    r = client.post("/api/login", json={"username": "entry_a", "password": PASSWORD})
    assert r.status_code == 429  # even the right password, until the window passes


def test_csrf_required_on_changes(client: TestClient) -> None:
    login(client, "entry_a")
    del client.headers["X-CSRF-Token"]
    r = client.post("/api/records/edss", json={"patient_id": "A1", "date": "2022-01-01",
                                                "edss": "3.0"})
    assert r.status_code == 403 and "CSRF" in r.json()["message"]
    client.headers["X-CSRF-Token"] = "forged"
    assert client.post("/api/records/edss", json={}).status_code == 403
    r = client.post("/patients-new", data={"patient_id": "A9", "csrf_token": "forged"})
    assert r.status_code == 403


def test_passwords_are_argon2id(db_path: Path) -> None:
    from hsctms.db.users import users

    with connect(db_path).connect() as conn:
        hashes = [r[0] for r in conn.execute(sa.select(users.c.password_hash))]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)


def test_field_level_validation_api_and_form(client: TestClient) -> None:
    login(client, "entry_a")
    r = client.post("/api/records/edss", json={"patient_id": "A1", "date": "2022-01-01",
                                                "edss": "3.3"})
    assert r.status_code == 422
    issues = r.json()["report"]["issues"]
    assert [i["field"] for i in issues] == ["edss"]
    r = client.post("/patients/A1/new/edss", data={"patient_id": "A1", "date": "2030-01-01",
                                                    "edss": "3.3"})
    assert r.status_code == 422
    assert 'id="e-edss"' in r.text and 'id="e-date"' in r.text  # messages next to fields
    assert 'aria-invalid="true"' in r.text


def test_optimistic_locking_never_overwrites(as_user: Any) -> None:
    ann, lead = as_user("entry_a"), as_user("lead_a")
    row = ann.get("/api/patients/A1").json()["tables"]["edss"][0]
    r1 = ann.put(f"/api/records/edss/{row['id']}", json={"version": row["version"],
                                                        "values": {"edss": "5.0"},
                                                        "reason": "typo"})
    assert r1.status_code == 200 and r1.json()["version"] == row["version"] + 1
    r2 = lead.put(f"/api/records/edss/{row['id']}", json={"version": row["version"],
                                                         "values": {"edss": "6.0"},
                                                         "reason": "typo"})
    assert r2.status_code == 409 and r2.json()["error"] == "StaleRecordError"
    form = lead.post(f"/records/edss/{row['id']}", data={
        "patient_id": "A1", "date": row["date"], "edss": "6.5", "version": str(row["version"])})
    assert form.status_code == 409 and "someone else" in form.text.lower()
    assert ann.get(f"/api/records/edss/{row['id']}").json()["edss"] == 5.0


def test_every_change_is_audited_and_audit_is_append_only(as_user: Any, db_path: Path
                                                           ) -> None:
    ann, lead = as_user("entry_a"), as_user("lead_a")
    created = ann.post("/api/records/relapses", json={"patient_id": "A1",
                                                      "onset_date": "2021-06-01"}).json()
    ann.put(f"/api/records/relapses/{created['id']}",
            json={"version": 1, "values": {"onset_date": "2021-06-02"},
                  "reason": "wrong day"})
    assert ann.delete(f"/api/records/relapses/{created['id']}",
                      params={"version": 2, "reason": "entered twice"}).status_code == 200
    entries = lead.get("/api/audit").json()["entries"]
    mine = [e for e in entries if e["table"] == "relapses"]
    assert [e["action"] for e in mine] == ["delete", "update", "insert"]
    assert mine[1]["old"] == {"onset_date": "2021-06-01"}
    assert mine[1]["new"] == {"onset_date": "2021-06-02"}
    assert all(e["user"] == "entry_a" for e in mine)
    assert all(e["detail"]["centre"] == "A" for e in entries)  # lead sees own centre only
    # no route may change the audit trail
    assert {m for (m, p) in ROUTE_RULES if "audit" in p} == {"GET"}
    # and the database refuses updates and deletes
    engine = connect(db_path)
    for stmt in (audit_log.update().values(user_name="x"), audit_log.delete()):
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
            conn.execute(stmt)


def test_other_centre_is_403_in_ui_and_api(as_user: Any) -> None:
    ann = as_user("entry_a")
    assert ann.get("/api/patients/B1").status_code == 403
    page = ann.get("/patients/B1")
    assert page.status_code == 403 and "another centre" in page.text
    assert [p["patient_id"] for p in ann.get("/api/patients").json()["patients"]] == ["A1"]
    r = ann.post("/api/records/edss", json={"patient_id": "B1", "date": "2022-01-01",
                                             "edss": "3.0"})
    assert r.status_code == 403


def test_exports_deidentified_by_role_and_audited(as_user: Any) -> None:
    analyst, lead = as_user("analyst"), as_user("lead_a")
    # two patients are fewer than the k-anonymity threshold (5): refused, nothing exported
    # (the content of a de-identified export: tests/web/test_deidentified_export.py)
    r = analyst.get("/api/export/bundle")
    assert r.status_code == 422 and r.json()["error"] == "DisclosureError"
    assert "fewer than k = 5" in r.json()["message"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert analyst.get("/api/export/bundle", params={"identifiable": "true"}).status_code == 403
    assert analyst.get("/api/export/redcap").status_code == 403
    ident = zip_members(lead.get("/api/export/bundle",
                                  params={"identifiable": "true"}).content)
    assert "A1" in ident["patients.csv"].decode() and "B1" not in ident["patients.csv"].decode()
    assert lead.get("/api/export/redcap").status_code == 200
    kinds = [e["detail"].get("kind") for e in lead.get("/api/audit").json()["entries"]
             if e["action"] == "export"]
    assert "redcap_flat" in kinds


def test_bundle_upload_roundtrip_all_or_nothing(as_user: Any) -> None:
    admin, ann = as_user("admin"), as_user("entry_a")
    bundle = admin.get("/api/export/bundle", params={"identifiable": "true",
                                                     "centre": "A"}).content
    again = ann.post("/api/import/bundle", files={"file": ("a.zip", bundle)})
    assert again.status_code == 200, again.text
    assert again.json()["counts"]["edss"]["unchanged"] == 3
    everything = admin.get("/api/export/bundle", params={"identifiable": "true"}).content
    r = ann.post("/api/import/bundle", files={"file": ("all.zip", everything)})
    assert r.status_code == 403  # contains centre B
    members = zip_members(bundle)
    members["edss.csv"] = members["edss.csv"] + b"A1,2023-01-01,3.3" + b"," * 8 + b"\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, v in members.items():
            zf.writestr(k, v)
    before = len(ann.get("/api/patients/A1").json()["tables"]["edss"])
    bad = ann.post("/api/import/bundle", files={"file": ("bad.zip", buf.getvalue())})
    assert bad.status_code == 422
    assert len(ann.get("/api/patients/A1").json()["tables"]["edss"]) == before


def test_redcap_dictionary_and_flat_roundtrip(as_user: Any) -> None:
    lead = as_user("lead_a")
    d = lead.get("/api/export/redcap-dictionary")
    assert d.status_code == 200 and "field name" in d.text.splitlines()[0].lower()
    flat = lead.get("/api/export/redcap").content
    r = lead.post("/api/import/redcap", files={"file": ("flat.csv", flat)})
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["patients"]["unchanged"] == 1


def test_dashboard_updates_on_write_and_suppresses_small_counts(as_user: Any) -> None:
    ann, analyst = as_user("entry_a"), as_user("analyst")
    before = ann.get("/api/dashboard").json()
    assert before["n_patients"] == 1 and before["small_counts_suppressed"] is False
    ann.post("/api/records/relapses", json={"patient_id": "A1", "onset_date": "2021-02-01"})
    after = ann.get("/api/dashboard").json()
    assert after["alert_counts"]["relapse_after_hsct"] == 1
    assert [a["kind"] for a in after["alerts"]] == ["relapse_after_hsct"]
    reg = analyst.get("/api/dashboard/registry").json()
    assert reg["small_counts_suppressed"] is True
    assert reg["n_patients"] == "<5" and reg["overdue"] == [] and reg["alerts"] == []
    assert reg["alert_counts"]["relapse_after_hsct"] == "<5"
    for row in reg["completeness"]:
        assert row["patients"] == "<5" and row["clark_c"] is None
    other = analyst.get("/api/dashboard", params={"centre": "A"}).json()
    assert other["n_patients"] == "<5" and other["survival"] == []


def test_patient_tool_stores_and_logs_nothing(client: TestClient, db_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    engine = connect(db_path)

    def counts() -> list[int]:
        with engine.connect() as conn:
            tables = [*TABLES.values(), audit_log]
            from hsctms.db.users import web_sessions

            tables.append(web_sessions)
            return [conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                    for t in tables]

    before = counts()
    caplog.set_level(logging.DEBUG)
    r = client.post("/tool", data={"age_years": "37", "phenotype": "RRMS", "edss": "3.5",
                                   "relapses_12m": "2", "label": "Zebra-Quokka-7731"})
    assert r.status_code == 200 and "set-cookie" not in r.headers
    assert "What to expect" in r.text
    api = client.post("/api/tool", json={"age_years": 37, "phenotype": "RRMS", "edss": 3.5})
    assert api.status_code == 200 and api.json()["schema"].startswith("hsctms.patient-report")
    bad = client.post("/tool", data={"phenotype": "RRMS", "edss": "3.3"})
    assert bad.status_code == 422 and 'id="tool-error"' in bad.text
    typo = client.post("/tool", data={"age_years": "37", "phenotype": "RRMS", "edss": "3.5",
                                      "dmts": "natalizumb", "dmts_failed": "yes"})
    assert typo.status_code == 422 and "did you mean natalizumab?" in typo.text
    assert 'value="natalizumb"' in typo.text  # what was typed is kept for correction
    assert counts() == before
    assert "Zebra-Quokka-7731" not in caplog.text and "37" not in caplog.text


def test_error_shape_and_openapi(client: TestClient) -> None:
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and set(r.json()) == {"error", "message", "hint"}
    spec = client.get("/openapi.json").json()
    assert "/api/patients" in spec["paths"] and "/patients" not in spec["paths"]


def test_cli_users_add(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hsctms.cli import app

    db = str(tmp_path / "r.db")
    res = CliRunner().invoke(app, ["users", "add", "root", "--role", "admin", "--db", db,
                                   "--password-stdin"], input=PASSWORD + "\n")
    assert res.exit_code == 0, res.output
    from hsctms.db.users import authenticate

    assert authenticate(db, "root", PASSWORD) is not None
    res = CliRunner().invoke(app, ["users", "add", "xx", "--role", "data_entry", "--db", db,
                                   "--password-stdin"], input=PASSWORD + "\n")
    assert res.exit_code == 1 and "needs a centre" in res.output


@pytest.mark.postgres
def test_postgres_smoke(postgres_url: str) -> None:
    import secrets

    name = f"hsctms_web_{secrets.token_hex(4)}"
    admin_engine = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.engine.make_url(postgres_url).set(database=name).render_as_string(
        hide_password=False)
    try:
        _pg_run(url)
        # a stopped app leaves no connection open: before, the dashboard builds' engine kept
        # its pooled connections, which DROP ... FORCE killed, and their clean-up later failed
        # an unrelated test. A closed connection's server process exits asynchronously, so
        # wait (briefly) for it to leave pg_stat_activity; a leaked one never does.
        import time

        deadline = time.monotonic() + 10.0
        while True:
            with admin_engine.connect() as conn:
                left = conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity "
                                            "WHERE datname = :name"), {"name": name}).scalar()
            if left == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert left == 0
    finally:
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin_engine.dispose()


def _pg_run(postgres_url: str) -> None:
    from hsctms.db import upgrade
    from hsctms.db.users import add_user
    from hsctms.web import WebSettings, create_app

    from .conftest import seed

    engine = connect(postgres_url)
    upgrade(engine)
    add_user(engine, "lead_a", PASSWORD, "centre_lead", "A")
    seed(engine)
    app = create_app(WebSettings(db=postgres_url, secret_key=SECRET))
    with TestClient(app, base_url="https://testserver") as c:
        login(c, "lead_a")
        row = c.get("/api/patients/A1").json()["tables"]["edss"][0]
        assert c.put(f"/api/records/edss/{row['id']}",
                     json={"version": row["version"], "values": {"edss": "4.5"},
                           "reason": "typo"}).status_code == 200
        assert c.get("/api/patients/B1").status_code == 403
        assert c.get("/api/audit").json()["entries"][0]["action"] == "update"
        assert c.get("/api/dashboard").status_code == 200
    engine.dispose()
