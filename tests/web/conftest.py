"""Fixtures of the web registry tests: a small two-centre registry with one user per role."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    # Starlette >= 0.50 asks for "httpx2" in its TestClient; httpx is what FastAPI documents
    # and what is installed. The warning is about the test client only, not the app.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from hsctms.db import connect, upgrade
from hsctms.db import records as R
from hsctms.db.users import add_user
from hsctms.web import WebSettings, create_app

PASSWORD = "correct horse battery staple"
SECRET = "s" * 48

#: username -> (role, centre)
USERS: dict[str, tuple[str, str | None]] = {
    "admin": ("admin", None),
    "entry_a": ("data_entry", "A"),
    "lead_a": ("centre_lead", "A"),
    "entry_b": ("data_entry", "B"),
    "analyst": ("analyst", None),
}


def seed(db: Any) -> None:
    """Two centres, one patient each, with a transplant and EDSS visits."""
    for pid, centre in (("A1", "A"), ("B1", "B")):
        R.create_record(db, "seed", "patients", {"patient_id": pid, "centre": centre,
                                                 "sex": "F", "birth_year": "1985",
                                                 "onset_date": "2010-03-01",
                                                 "phenotype": "RRMS"})
        R.create_record(db, "seed", "transplants", {"patient_id": pid,
                                                    "transplant_date": "2020-01-15",
                                                    "conditioning": "BEAM+ATG"})
        for date, score in (("2019-12-01", "4.0"), ("2020-07-01", "3.5"),
                            ("2021-01-10", "3.5")):
            R.create_record(db, "seed", "edss", {"patient_id": pid, "date": date,
                                                 "edss": score})


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "registry.db"
    engine = connect(path)
    upgrade(engine)
    for name, (role, centre) in USERS.items():
        add_user(engine, name, PASSWORD, role, centre)
    seed(engine)
    engine.dispose()
    return path


@pytest.fixture
def app(db_path: Path) -> Any:
    return create_app(WebSettings(db=db_path, secret_key=SECRET))


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the API; returns the CSRF token."""
    r = client.post("/api/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    token: str = r.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return token


@pytest.fixture
def as_user(app: Any) -> Iterator[Callable[[str], TestClient]]:
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        c = TestClient(app, base_url="https://testserver")
        c.__enter__()
        clients.append(c)
        login(c, username)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)
