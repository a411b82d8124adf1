"""Patient ids containing "/" open in the web app (issue 12, finding 10).

The id rule (``hsctms.io._parse.ID_PATTERN``) allows "/" (e.g. ``SITE/0042``); the lists link
to ``/patients/SITE%2F0042``, which the server decodes to ``/patients/SITE/0042``. Before, the
patient routes took one path segment, so every such patient answered 404 from its own link
(page and API), and the redirects after a save went to an unencoded address.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from hsctms.io._parse import ID_PATTERN

PATIENT = {"centre": "A", "sex": "F", "birth_year": "1980", "onset_date": "2010-01-01",
           "phenotype": "RRMS"}


def test_the_id_rule_allows_a_slash() -> None:
    assert re.fullmatch(ID_PATTERN, "A/2")
    assert not re.fullmatch(ID_PATTERN, "/A2")  # the first character is a letter or digit


@pytest.mark.parametrize("pid", ["A/2", "A/b/c", "A/2/", "A/..", "A1/new/edss"])
def test_patient_with_slash_opens_from_its_link(as_user: Any, pid: str) -> None:
    entry = as_user("entry_a")
    token = entry.headers["X-CSRF-Token"]
    r = entry.post("/patients-new", data={"patient_id": pid, **PATIENT, "csrf_token": token},
                   follow_redirects=False)
    assert r.status_code == 303, r.text
    link = r.headers["location"]
    assert link == "/patients/" + pid.replace("/", "%2F")
    listed = entry.get("/patients").text
    assert f'href="{link}"' in listed
    page = entry.get(link)
    assert page.status_code == 200, page.text[:300]
    assert f"Patient {pid}" in page.text
    api = entry.get("/api" + link)
    assert api.status_code == 200 and api.json()["patient_id"] == pid
    # a record under that patient: the form's action and the redirect keep the id encoded
    form = entry.get(f"{link}/new/relapses")
    assert form.status_code == 200, form.text[:300]
    assert f'action="{link}/new/relapses"' in form.text
    saved = entry.post(f"{link}/new/relapses", follow_redirects=False,
                       data={"patient_id": pid, "onset_date": "2021-02-03",
                             "csrf_token": token})
    assert saved.status_code == 303 and saved.headers["location"] == link, saved.text[:300]
    assert [r["onset_date"] for r in entry.get("/api" + link).json()["tables"]["relapses"]] \
        == ["2021-02-03"]


def test_plain_new_record_form_still_routes(as_user: Any) -> None:
    """``/patients/A1/new/edss`` (plain slashes) is the form under A1, not a patient id."""
    entry = as_user("entry_a")
    r = entry.get("/patients/A1/new/edss")
    assert r.status_code == 200 and 'action="/patients/A1/new/edss"' in r.text


def test_other_centres_slash_id_is_refused_like_any_other(as_user: Any) -> None:
    admin = as_user("admin")
    r = admin.post("/api/records/patients", json={"patient_id": "B/9", **PATIENT,
                                                  "centre": "B"})
    assert r.status_code == 201, r.text
    entry = as_user("entry_a")
    assert entry.get("/api/patients/B%2F9").status_code == \
        entry.get("/api/patients/B1").status_code
    assert entry.get("/patients/B%2F9/new/edss").status_code == 403
