"""Security probes of issue 12 (findings 1, 2 and 9) against a *running* ``hsctms serve``.

The in-process tests (``test_upload_centre_scope.py``, ``test_accounts.py``) cover the
application; these go through the real server started by the CLI: its uvicorn settings
(``proxy_headers=False``), the TCP peer the login limiter sees, and a CLI command changing
accounts while the server runs. Distinct loopback source addresses (127.0.0.x, all local on
Linux) stand for distinct clients, so each limiter test has its own per-client counter.

What each test caught before the fixes (08978c3, 84624fa):

* finding 1: the 409 conflict report listed the stored values of another centre's patient
  (sex, birth year, dates, phenotype, death date and cause);
* finding 2: the upload's pandas pre-check let a centre written ``NA``/``null``/... pass (the
  patient was stored under centre "NA") and answered 500 for malformed ``patients.csv``;
* finding 9: the limiter keyed on ``username.lower()`` ("lead_a   " with the right password
  got in while "lead_a" was blocked), had no per-client limit, uvicorn believed
  ``X-Forwarded-For`` from 127.0.0.1, and accounts could not be deactivated.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.web._serve import login as serve_login
from tests.web._serve import running_server
from tests.web._zips import data_digest, make_zip, zip_members
from tests.web.conftest import PASSWORD, USERS, seed

from hsctms.db import connect, upgrade
from hsctms.db import records as R
from hsctms.db.users import add_user

#: Centre B's patient whose stored values the probe must not reveal (all distinctive).
B_STORED = {"patient_id": "B7", "centre": "B", "sex": "M", "birth_year": "1961",
            "onset_date": "1999-07-13", "diagnosis_date": "2001-11-27", "phenotype": "SPMS"}
B_DEATH = {"patient_id": "B7", "date": "2023-05-19", "cause": "Zebrafish pneumonitis",
           "transplant_related": "false"}
B_SECRETS = ("1961", "1999-07-13", "2001-11-27", "SPMS", "2023-05-19", "Zebrafish",
             "pneumonitis")
#: Account deactivated by the CLI while the server runs.
GONE = "gone_a"


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def live_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The web fixtures' two-centre registry, plus B7 (with a death) and an extra account."""
    path = tmp_path_factory.mktemp("live") / "registry.db"
    engine = connect(path)
    upgrade(engine)
    for name, (role, centre) in {**USERS, GONE: ("data_entry", "A")}.items():
        add_user(engine, name, PASSWORD, role, centre)
    seed(engine)
    R.create_record(engine, "seed", "patients", B_STORED)
    R.create_record(engine, "seed", "deaths", B_DEATH)
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def base(live_db: Path) -> Iterator[str]:
    """One ``hsctms serve`` (no ``--trusted-proxy``) for the whole module."""
    with running_server(live_db) as url:
        yield url


def _client(address: str = "127.0.0.1") -> httpx.Client:
    """An HTTP client whose TCP connections come from ``address`` (a loopback address)."""
    return httpx.Client(timeout=60, transport=httpx.HTTPTransport(local_address=address))


def _signed_in(base: str, username: str, address: str = "127.0.0.1") -> tuple[httpx.Client,
                                                                             str]:
    c = _client(address)
    r = serve_login(c, base, username, PASSWORD)
    assert r.status_code == 303, r.text
    return c, c.get(base + "/api/me").json()["csrf_token"]


@pytest.fixture(scope="module")
def entry_a(base: str) -> Iterator[tuple[httpx.Client, str]]:
    c, token = _signed_in(base, "entry_a")
    yield c, token
    c.close()


@pytest.fixture(scope="module")
def bundle_a(base: str) -> dict[str, bytes]:
    """Centre A's identifiable bundle as the admin downloads it (members of the zip)."""
    c, _ = _signed_in(base, "admin")
    try:
        r = c.get(base + "/api/export/bundle", params={"identifiable": "true", "centre": "A"})
    finally:
        c.close()
    assert r.status_code == 200, r.text
    return zip_members(r.content)


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def _csv(rows: list[dict[str, str]], fields: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _fields(data: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(data.decode())))


def _upload(base: str, entry: tuple[httpx.Client, str], members: dict[str, bytes], *,
            page: bool) -> httpx.Response:
    """Upload a zipped bundle through the API route or the upload page's form."""
    c, token = entry
    files = {"file": ("upload.zip", make_zip(members), "application/zip")}
    if page:
        return c.post(base + "/exchange/bundle", files=files, data={"csrf_token": token})
    return c.post(base + "/api/import/bundle", files=files, headers={"X-CSRF-Token": token})


def _string_leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _string_leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _string_leaves(v)
    elif value is not None:
        yield str(value)


def _assert_canonical_error(r: httpx.Response, *, page: bool, error: set[str]) -> None:
    """A 4xx in the canonical shape: JSON ``{error, message, hint}`` under /api, else the
    page with the message; the security headers in both."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert "Traceback" not in r.text and "Internal Server Error" not in r.text
    if page:
        assert r.headers["content-type"].startswith("text/html")
        assert "nothing was imported" in r.text.lower() or "nothing" in r.text.lower()
    else:
        body = r.json()
        assert body["error"] in error, body
        assert body["message"] and body["hint"], body


# ----------------------------------------------------------------------------- finding 1
@pytest.mark.parametrize("page", [False, True], ids=["api", "page"])
def test_probe_of_another_centres_id_reveals_nothing_stored(
        base: str, live_db: Path, entry_a: tuple[httpx.Client, str],
        bundle_a: dict[str, bytes], page: bool) -> None:
    """Centre A's data_entry user names B's patient B7 (with centre A in the row, other
    values) and adds a death: refused 403, naming no stored value of B7; nothing written."""
    m = dict(bundle_a)
    pat_fields = _fields(m["patients.csv"])
    probe = {**B_STORED, "centre": "A", "sex": "F", "birth_year": "1980",
             "onset_date": "2005-01-01", "diagnosis_date": "2006-01-01", "phenotype": "RRMS"}
    m["patients.csv"] = _csv([*_rows(m["patients.csv"]), probe], pat_fields)
    death_fields = _fields(m["deaths.csv"])
    m["deaths.csv"] = _csv([*_rows(m["deaths.csv"]),
                            {**B_DEATH, "date": "2024-02-03", "cause": "probe"}], death_fields)
    before = data_digest(live_db)
    r = _upload(base, entry_a, m, page=page)
    assert r.status_code == 403, (r.status_code, r.text)
    _assert_canonical_error(r, page=page, error={"PermissionDeniedError"})
    for secret in B_SECRETS:
        assert secret not in r.text, secret
    if page:
        assert not re.search(r">\s*(M|B)\s*<", r.text)  # stored sex / centre in a cell
    else:
        body = r.json()
        assert "conflicts" not in body
        leaves = set(_string_leaves(body))
        assert not leaves & {"M", "B"}, leaves  # stored sex and centre
    assert "centre B" not in r.text and "'B'" not in r.text
    assert data_digest(live_db) == before


# ----------------------------------------------------------------------------- finding 2
@pytest.mark.parametrize("spelling", ["NA", "null", "nan", "None", "N/A"])
def test_centre_spelled_as_missing_is_refused(base: str, live_db: Path,
                                              entry_a: tuple[httpx.Client, str],
                                              bundle_a: dict[str, bytes],
                                              spelling: str) -> None:
    m = dict(bundle_a)
    fields = _fields(m["patients.csv"])
    rows = _rows(m["patients.csv"])
    rows.append({**rows[0], "patient_id": "A9", "centre": spelling})
    m["patients.csv"] = _csv(rows, fields)
    before = data_digest(live_db)
    r = _upload(base, entry_a, m, page=False)
    _assert_canonical_error(r, page=False,
                            error={"PermissionDeniedError", "DataValidationError"})
    assert data_digest(live_db) == before
    with sqlite3.connect(live_db) as con:
        assert con.execute("SELECT count(*) FROM patients WHERE patient_id = 'A9' "
                           "OR centre NOT IN ('A', 'B')").fetchone()[0] == 0


def test_centre_spelled_na_is_refused_on_the_upload_page(
        base: str, live_db: Path, entry_a: tuple[httpx.Client, str],
        bundle_a: dict[str, bytes]) -> None:
    m = dict(bundle_a)
    fields = _fields(m["patients.csv"])
    rows = _rows(m["patients.csv"])
    m["patients.csv"] = _csv([*rows, {**rows[0], "patient_id": "A9", "centre": "NA"}], fields)
    before = data_digest(live_db)
    r = _upload(base, entry_a, m, page=True)
    _assert_canonical_error(r, page=True, error=set())
    assert data_digest(live_db) == before


def _malformed(text: str, case: str) -> bytes:
    lines = text.splitlines()
    if case == "no_centre_column":
        i = lines[0].split(",").index("centre")
        return ("\n".join(",".join(c for j, c in enumerate(line.split(",")) if j != i)
                          for line in lines) + "\n").encode()
    if case == "empty_file":
        return b""
    if case == "unbalanced_quote":
        return (text + 'A7,"A\n').encode()
    return (lines[0] + "\n" + lines[1] + ",extra\n").encode()  # a row with an extra field


@pytest.mark.parametrize("case", ["no_centre_column", "empty_file", "unbalanced_quote",
                                  "extra_field"])
@pytest.mark.parametrize("page", [False, True], ids=["api", "page"])
def test_malformed_patients_file_is_a_clear_4xx(base: str, live_db: Path,
                                                entry_a: tuple[httpx.Client, str],
                                                bundle_a: dict[str, bytes], case: str,
                                                page: bool) -> None:
    m = dict(bundle_a)
    m["patients.csv"] = _malformed(m["patients.csv"].decode(), case)
    before = data_digest(live_db)
    r = _upload(base, entry_a, m, page=page)
    _assert_canonical_error(r, page=page, error={"DataValidationError"})
    assert r.status_code == 422, (r.status_code, r.text)
    assert "other centre" not in r.text
    assert data_digest(live_db) == before


# ----------------------------------------------------------------------------- finding 9
def _attempt(c: httpx.Client, base: str, username: str, password: str,
             **headers: str) -> int:
    """One sign-in through the form; 303 = signed in, 401 = wrong, 429 = limited."""
    return c.post(base + "/login", data={"username": username, "password": password},
                  headers=headers).status_code


def test_limiter_counts_every_spelling_of_the_username(base: str) -> None:
    with _client("127.0.0.11") as c:
        for _ in range(5):
            assert _attempt(c, base, "lead_a", "wrong password!!") == 401
        for name in ("lead_a", "lead_a   ", "LEAD_A", "  Lead_A\t"):
            assert _attempt(c, base, name, PASSWORD) == 429, repr(name)
        r = c.post(base + "/api/login", json={"username": "LEAD_A  ", "password": PASSWORD})
        assert r.status_code == 429 and r.json()["error"] == "TooManyAttempts"
    with _client("127.0.0.12") as other:  # the limit is per client: another one gets in
        assert _attempt(other, base, "lead_a   ", PASSWORD) == 303


def test_per_client_limit_across_usernames(base: str) -> None:
    """Password spraying: 20 failures from one client, each for another username, block
    that client (even for a right password), not the others."""
    with _client("127.0.0.13") as c:
        for i in range(20):
            assert _attempt(c, base, f"nobody{i}", "wrong password!!") == 401
        assert _attempt(c, base, "analyst", PASSWORD) == 429
    with _client("127.0.0.14") as other:
        assert _attempt(other, base, "analyst", PASSWORD) == 303


def test_forwarded_for_is_ignored_without_trusted_proxy(base: str) -> None:
    """From 127.0.0.1 (what a local reverse proxy would be) a fresh X-Forwarded-For on each
    try does not make a fresh client: the server was started without --trusted-proxy."""
    with _client("127.0.0.1") as c:
        for i in range(5):
            assert _attempt(c, base, "entry_b", "wrong password!!",
                            **{"X-Forwarded-For": f"203.0.113.{i}"}) == 401
        assert _attempt(c, base, "entry_b", PASSWORD,
                        **{"X-Forwarded-For": "198.51.100.7"}) == 429


def test_forwarded_for_is_believed_only_from_the_trusted_proxy(live_db: Path) -> None:
    with running_server(live_db, extra_args=("--trusted-proxy", "127.0.0.21")) as url:
        with _client("127.0.0.21") as proxy:
            for _ in range(5):
                assert _attempt(proxy, url, "lead_a", "wrong password!!",
                                **{"X-Forwarded-For": "203.0.113.1"}) == 401
            assert _attempt(proxy, url, "lead_a", PASSWORD,
                            **{"X-Forwarded-For": "203.0.113.1"}) == 429
            # behind the trusted proxy another real client is another client
            assert _attempt(proxy, url, "lead_a", PASSWORD,
                            **{"X-Forwarded-For": "198.51.100.7"}) == 303
        with _client("127.0.0.22") as stranger:  # not the named proxy: header ignored
            for i in range(5):
                assert _attempt(stranger, url, "lead_a", "wrong password!!",
                                **{"X-Forwarded-For": f"203.0.113.{50 + i}"}) == 401
            assert _attempt(stranger, url, "lead_a", PASSWORD,
                            **{"X-Forwarded-For": "198.51.100.8"}) == 429


def test_deactivated_users_session_ends_at_once(base: str, live_db: Path) -> None:
    """``hsctms users deactivate`` run while the server runs: the next request with the
    session cookie is signed out, and the password no longer signs in."""
    c, token = _signed_in(base, GONE, "127.0.0.31")
    try:
        assert c.get(base + "/api/me").status_code == 200
        assert c.get(base + "/patients").status_code == 200
        done = subprocess.run([sys.executable, "-m", "hsctms", "users", "deactivate", GONE,
                               "--db", str(live_db)], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        me = c.get(base + "/api/me")
        assert me.status_code == 401, me.text
        assert json.loads(me.text)["error"] == "AuthenticationRequired"
        page = c.get(base + "/patients")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        r = c.post(base + "/api/records/relapses", headers={"X-CSRF-Token": token},
                   json={"patient_id": "A1", "onset_date": "2021-02-03"})
        assert r.status_code == 401, r.text
        assert _attempt(c, base, GONE, PASSWORD) == 401
    finally:
        c.close()
