"""Walk EVERY route of the app for every role (and anonymously) and check who may do what
against the access matrix; a route without a declared rule fails the test."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute

from hsctms.web.access import Action, Principal, Role, allowed
from hsctms.web.core import LOGIN, PUBLIC, ROUTE_RULES

from .conftest import PASSWORD, USERS, TestClient, login

LAST = ("/logout", "/api/logout")
LOGINS = ("/login", "/api/login")


def _routes(app: Any) -> list[tuple[str, str]]:
    out = [(m, r.path) for r in app.routes if isinstance(r, APIRoute) for m in r.methods]
    # sign-out routes, then sign-in routes, run last (they change the client's session)
    return sorted(out, key=lambda mp: (mp[1] in LAST or (mp[1] in LOGINS and mp[0] == "POST"),
                                       mp[1] in LOGINS, mp[1], mp[0]))


def test_every_route_has_a_rule(app: Any) -> None:
    routes = _routes(app)
    assert len(routes) > 30
    missing = [mp for mp in routes if mp not in ROUTE_RULES]
    assert not missing, f"routes without an access rule: {missing}"


def _policy(method: str, path: str) -> str:
    """The access rule each route must have, written from the access model in docs/web.md
    (independent of the rule the route declares, which the walk below takes as expected)."""
    p = path.removeprefix("/api")
    if p in ("", "/", "/login", "/tool", "/tool.js"):
        return PUBLIC  # landing page, sign-in and the public patient tool (and its script)
    if p in ("/logout", "/me", "/exchange", "/export/redcap-dictionary"):
        return LOGIN  # own session, the exchange page, the data dictionary (no patient data)
    if p.startswith("/users"):
        return Action.MANAGE_USERS.value
    if p.startswith("/audit"):
        return Action.VIEW_AUDIT.value
    if p == "/export/redcap":
        return Action.EXPORT_IDENTIFIABLE.value  # REDCap flat export keeps record ids
    if p == "/export/bundle":
        return Action.EXPORT_DEIDENTIFIED.value  # identifiable=true is checked in the route
    if p.startswith("/dashboard/registry"):
        return Action.VIEW_REGISTRY_DASHBOARD.value
    if p.startswith("/dashboard"):
        return Action.VIEW_CENTRE_DASHBOARD.value
    changes = (method != "GET" or p.startswith(("/patients-new", "/import"))
               or "/new/" in p or p.startswith("/exchange/"))
    if p.startswith(("/patients", "/records", "/import", "/exchange/")):
        return Action.EDIT_RECORDS.value if changes else Action.READ_RECORDS.value
    raise AssertionError(f"no policy written for {method} {path}: add it from docs/web.md")


def test_declared_rules_follow_the_documented_access_model(app: Any) -> None:
    wrong = {mp: (ROUTE_RULES[mp], _policy(*mp)) for mp in _routes(app)
             if ROUTE_RULES[mp] != _policy(*mp)}
    assert not wrong, f"(declared, documented) rules differ: {wrong}"


def _fill(path: str, row_id: int) -> str:
    path = re.sub(r"{patient_id(:path)?}", "A1", path).replace("{table}", "edss")
    path = path.replace("{row_id}", str(row_id)).replace("{kind}", "bundle")
    # account actions on a user that does not exist: admins get 404, the rest 403 (the walk
    # must not deactivate or re-password the accounts it signs in with)
    path = path.replace("{username}", "ghost").replace("{action}", "deactivate")
    assert not re.search(r"{[\w:]+}", path), path
    return path


def _scoped(method: str, path: str) -> bool:
    """Routes acting on centre A's data (path, body or ``?centre=A``)."""
    if path in ("/dashboard", "/api/dashboard") or (method == "POST" and
                                                    path == "/patients-new"):
        return True
    return any(p in path for p in ("{patient_id", "{row_id}", "/api/records/", "/export/"))


def _expected(user: Principal | None, rule: str, method: str, path: str) -> bool:
    if rule == PUBLIC:
        return True
    if user is None:
        return False
    if rule == LOGIN:
        return True
    return allowed(user, Action(rule), "A" if _scoped(method, path) else None)


def _call(client: TestClient, method: str, path: str, username: str | None) -> Any:
    api = path.startswith("/api/")
    body: dict[str, Any] = {"patient_id": "A1", "centre": "A", "version": 999}
    if path in ("/login", "/api/login"):
        body = {"username": username or "admin", "password": PASSWORD}
    params = {"centre": "A", "version": "999"} if method in ("GET", "DELETE") else None
    if method == "GET":
        return client.get(path, params=params, follow_redirects=False)
    if "import" in path:
        return client.post(path, files={"file": ("x.zip", b"not a zip")},
                           follow_redirects=False)
    if method == "DELETE":
        return client.delete(path, params={**(params or {}), "reason": "walk"},
                             follow_redirects=False)
    if api:
        payload = ({"version": 999, "values": {"edss": "4.0"}, "reason": "walk"}
                   if method == "PUT" else body)
        return client.request(method, path, json=payload, follow_redirects=False)
    return client.request(method, path, data={k: str(v) for k, v in body.items()},
                          follow_redirects=False)


@pytest.mark.parametrize("username", [None, *USERS])
def test_route_walk(app: Any, username: str | None) -> None:
    with TestClient(app, base_url="https://testserver") as admin:
        login(admin, "admin")
        row_id = admin.get("/api/patients/A1").json()["tables"]["edss"][0]["id"]
    user = None
    if username is not None:
        role, centre = USERS[username]
        user = Principal(username, Role(role), centre)
    failures = []
    with TestClient(app, base_url="https://testserver") as client:
        if username:
            login(client, username)
        for method, template in _routes(app):
            rule = ROUTE_RULES[(method, template)]
            path = _fill(template, row_id)
            if path in LAST and username:
                login(client, username)  # each sign-out route gets a live session
            r = _call(client, method, path, username)
            ok = _expected(user, rule, method, template)
            denied = r.status_code in (401, 403) or (
                r.status_code == 303 and r.headers["location"].startswith("/login"))
            if ok and denied:
                failures.append(f"{method} {template}: expected allowed, got {r.status_code}")
            if not ok and not denied:
                failures.append(f"{method} {template}: expected denied, got {r.status_code}")
            if not ok and user is None and path.startswith("/api/") and r.status_code != 401:
                failures.append(f"{method} {template}: anonymous API should be 401")
            if not ok and user is not None and r.status_code != 403:
                failures.append(f"{method} {template}: signed-in denial should be 403")
    assert not failures, "\n".join(failures)
