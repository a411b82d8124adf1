"""Accounts can be revoked, and the login limiter cannot be sidestepped (issue 12, finding 9):
canonical usernames, a per-client limit, X-Forwarded-For believed only from configured
proxies; deactivate / activate / set-password / reset from the CLI, the admin page and the
API, each ending the account's sessions at once and each audited without secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hsctms.cli import app as cli_app
from hsctms.db import connect
from hsctms.db import users as U
from hsctms.db.audit import audit_log
from hsctms.errors import ConfigurationError, NotFoundError
from hsctms.web import WebSettings, create_app
from hsctms.web.security import LoginRateLimiter

from .conftest import PASSWORD, SECRET, TestClient, login

NEW = "another long passphrase"


def _attempt(c: TestClient, username: str, password: str, **headers: str) -> int:
    return c.post("/api/login", json={"username": username, "password": password},
                  headers=headers).status_code


def test_padded_or_cased_username_shares_the_counter(client: TestClient) -> None:
    for _ in range(5):
        assert _attempt(client, "lead_a", "wrong password!!") == 401
    # the right password under another spelling of the same account is still blocked
    for name in ("lead_a", "lead_a   ", "  LEAD_A", "Lead_A\t"):
        assert _attempt(client, name, PASSWORD) == 429, name


def test_per_client_limit_across_usernames() -> None:
    clock = [0.0]
    lim = LoginRateLimiter(max_attempts=5, window_seconds=300, max_client_attempts=20,
                           clock=lambda: clock[0])
    for i in range(20):
        assert not lim.blocked(f"user{i}", "10.0.0.9")
        lim.record_failure(f"user{i}", "10.0.0.9")
    assert lim.blocked("someone_else", "10.0.0.9")  # spraying stops at 20
    assert not lim.blocked("someone_else", "10.0.0.10")  # other clients unaffected
    lim.reset("user3", "10.0.0.9")  # a success does not clear the client counter
    assert lim.blocked("user3", "10.0.0.9")
    clock[0] = 301.0
    assert not lim.blocked("someone_else", "10.0.0.9")


def test_forwarded_for_ignored_unless_proxy_is_trusted(db_path: Path) -> None:
    app = create_app(WebSettings(db=db_path, secret_key=SECRET))
    with TestClient(app, base_url="https://testserver") as c:
        for i in range(5):  # a new X-Forwarded-For on every try does not reset the count
            assert _attempt(c, "lead_a", "wrong password!!",
                            **{"X-Forwarded-For": f"203.0.113.{i}"}) == 401
        assert _attempt(c, "lead_a", PASSWORD, **{"X-Forwarded-For": "198.51.100.7"}) == 429
    proxied = create_app(WebSettings(db=db_path, secret_key=SECRET,
                                     trusted_proxies=("testclient",)))
    with TestClient(proxied, base_url="https://testserver") as c:
        for _ in range(5):
            assert _attempt(c, "lead_a", "wrong password!!",
                            **{"X-Forwarded-For": "203.0.113.1"}) == 401
        assert _attempt(c, "lead_a", PASSWORD, **{"X-Forwarded-For": "203.0.113.1"}) == 429
        # behind the trusted proxy another real client is another client
        assert _attempt(c, "lead_a", PASSWORD, **{"X-Forwarded-For": "198.51.100.7"}) == 200


def _account_audit(db_path: Path) -> list[Any]:
    engine = connect(db_path)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log).where(audit_log.c.table_name == "users")
                            .order_by(audit_log.c.id)).all()
    engine.dispose()
    return list(rows)


def test_api_deactivate_ends_sessions_now_and_is_audited(as_user: Any, db_path: Path) -> None:
    admin, ann = as_user("admin"), as_user("entry_a")
    assert ann.get("/api/me").status_code == 200
    r = admin.post("/api/users/entry_a/deactivate")
    assert r.status_code == 200, r.text
    assert ann.get("/api/me").status_code == 401  # the open session ended at once
    with TestClient(ann.app, base_url="https://testserver") as fresh:
        assert _attempt(fresh, "entry_a", PASSWORD) == 401
    assert admin.post("/api/users/entry_a/activate").status_code == 200
    with TestClient(ann.app, base_url="https://testserver") as fresh:
        login(fresh, "entry_a")
    audit = _account_audit(db_path)
    actions = [(a.action, a.user_name) for a in audit]
    assert ("deactivate", "admin") in actions and ("activate", "admin") in actions
    deact = next(a for a in audit if a.action == "deactivate")
    assert deact.old == {"active": True} and deact.new == {"active": False}
    assert deact.detail["sessions_ended"] == 1
    assert admin.post("/api/users/ghost/deactivate").status_code == 404
    assert ann.post("/api/users/admin/deactivate").status_code in (401, 403)


def test_api_password_set_and_reset(as_user: Any, db_path: Path) -> None:
    admin, ann = as_user("admin"), as_user("entry_a")
    assert admin.put("/api/users/entry_a/password", json={"password": "short"}).status_code \
        == 422
    assert admin.put("/api/users/entry_a/password", json={"password": NEW}).status_code == 200
    assert ann.get("/api/me").status_code == 401
    with TestClient(ann.app, base_url="https://testserver") as c:
        assert _attempt(c, "entry_a", PASSWORD) == 401
        login(c, "entry_a", NEW)
    r = admin.post("/api/users/entry_a/reset")
    temp = r.json()["one_time_password"]
    assert len(temp) >= 20
    with TestClient(ann.app, base_url="https://testserver") as c:
        login(c, "entry_a", temp)
    for a in _account_audit(db_path):  # never a password or a hash in the trail
        text = repr((a.old, a.new, a.detail))
        assert NEW not in text and temp not in text and "argon2" not in text


def test_admin_page_forms(as_user: Any) -> None:
    admin = as_user("admin")
    page = admin.get("/users").text
    assert 'action="/users/entry_a/deactivate"' in page
    token = admin.headers["X-CSRF-Token"]
    r = admin.post("/users/entry_a/deactivate", data={"csrf_token": token},
                   follow_redirects=False)
    assert r.status_code == 303
    assert 'action="/users/entry_a/activate"' in admin.get("/users").text
    r = admin.post("/users/entry_a/reset", data={"csrf_token": token})
    assert r.status_code == 200 and "One-time password for entry_a" in r.text
    assert admin.post("/users/entry_a/bogus", data={"csrf_token": token}).status_code == 404


def test_last_admin_cannot_be_deactivated(db_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="last active administrator"):
        U.deactivate_user(db_path, "admin")
    U.add_user(db_path, "admin2", PASSWORD, "admin")
    U.deactivate_user(db_path, "admin")
    with pytest.raises(NotFoundError, match="hsctms users list"):
        U.deactivate_user(db_path, "nobody")


def test_cli_account_commands(db_path: Path) -> None:
    runner = CliRunner()
    db = str(db_path)
    r = runner.invoke(cli_app, ["users", "deactivate", "entry_b", "--db", db])
    assert r.exit_code == 0, r.output
    assert "inactive" in next(line for line in runner.invoke(
        cli_app, ["users", "list", "--db", db]).output.splitlines() if "entry_b" in line)
    assert runner.invoke(cli_app, ["users", "activate", "entry_b", "--db", db]).exit_code == 0
    r = runner.invoke(cli_app, ["users", "set-password", "entry_b", "--db", db,
                                "--password-stdin"], input=NEW + "\n")
    assert r.exit_code == 0, r.output
    assert U.authenticate(db_path, "entry_b", NEW) is not None
    assert U.authenticate(db_path, "entry_b", PASSWORD) is None
    r = runner.invoke(cli_app, ["users", "reset", "entry_b", "--db", db])
    assert r.exit_code == 0, r.output
    temp = r.output.strip().splitlines()[-1].strip()
    assert U.authenticate(db_path, "entry_b", temp) is not None
    r = runner.invoke(cli_app, ["users", "deactivate", "ghost", "--db", db])
    assert r.exit_code != 0 and "No user 'ghost'" in r.output
    missing = runner.invoke(cli_app, ["users", "reset", "x", "--db", str(db_path) + "x"])
    assert missing.exit_code != 0 and not Path(str(db_path) + "x").exists()
