"""Refused uploads on the web page (issue 19): the issues are listed on the page (the first 50,
grouped by rule, with file, row, field, patient and message) and downloadable in full as CSV;
no server path and no command-line advice; a conflicting upload offers "Update existing
records" to centre leads and administrators only; nothing is imported on error."""

from __future__ import annotations

import csv
import html
import io
import re
import tempfile
from pathlib import Path
from typing import Any

from tests.web._zips import centre_a_bundle, data_digest, make_zip

TMP = tempfile.gettempdir()


def _post(client: Any, kind: str, name: str, data: bytes, **form: str) -> Any:
    return client.post(f"/exchange/{kind}", files={"file": (name, data)},
                       data={"csrf_token": client.headers["X-CSRF-Token"], **form})


def _bad_bundle(as_user: Any, n_bad: int) -> bytes:
    """Centre A's bundle with ``n_bad`` EDSS rows of an impossible month and one unknown
    sex (two rules)."""
    m = centre_a_bundle(as_user)
    last = m["edss.csv"].decode().strip().splitlines()[-1]
    assert "2021-01-10" in last
    rows = "".join(last.replace("2021-01-10", f"2022-13-{d:02d}") + "\n"
                   for d in range(1, n_bad + 1))
    m["edss.csv"] += rows.encode()
    m["patients.csv"] = m["patients.csv"].replace(b",F,", b",Q,", 1)
    return make_zip(m)


def _download_link(page: str) -> str:
    match = re.search(r'id="download-issues" href="([^"]+)"', page)
    assert match, "no download link on the page"
    return html.unescape(match.group(1))


def test_bad_bundle_lists_50_issues_grouped_and_downloads_all(as_user: Any,
                                                              db_path: Path) -> None:
    entry = as_user("entry_a")
    before = data_digest(db_path)
    r = _post(entry, "bundle", "bad.zip", _bad_bundle(as_user, 60))
    assert r.status_code == 422, r.text
    page = r.text
    assert data_digest(db_path) == before  # all-or-nothing: nothing imported
    assert TMP not in page and "hsctms validate" not in page and "--mode" not in page
    assert "50 of the 61 errors and warnings are listed below" in page
    # grouped by rule: one section per rule, each with its total count
    assert page.count('class="rule-group"') == 2
    assert re.search(r"\([\w-]+, 60 issues\)", page)
    assert re.search(r"\([\w-]+, 1 issue\)", page)
    assert len(re.findall(r"<tr><td>[\w-]+</td><td>\w+\.csv</td>", page)) == 50
    # the patient of each row-level issue, read from the uploaded file
    assert "<td>A1</td><td>" in page
    # the full list, as CSV, for the uploader only
    link = _download_link(page)
    csv_r = entry.get(link)
    assert csv_r.status_code == 200
    assert csv_r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_r.text)))
    assert len(rows) == 61
    assert set(rows[0]) == {"severity", "rule", "file", "row", "field", "patient", "message"}
    assert {r["patient"] for r in rows if r["file"] == "edss.csv"} == {"A1"}
    assert TMP not in csv_r.text
    assert as_user("lead_a").get(link).status_code == 404  # another user: not theirs
    assert entry.get("/exchange/report.csv", params={"id": "nope"}).status_code == 404


def test_few_issues_are_all_listed(as_user: Any) -> None:
    r = _post(as_user("entry_a"), "bundle", "bad.zip", _bad_bundle(as_user, 2))
    assert r.status_code == 422
    assert "Every error and warning is listed below" in r.text
    assert len(re.findall(r"<tr><td>[\w-]+</td><td>\w+\.csv</td>", r.text)) == 3


def _conflicting(as_user: Any) -> bytes:
    m = centre_a_bundle(as_user)
    m["edss.csv"] = m["edss.csv"].replace(b"2020-07-01,3.5", b"2020-07-01,5.0")
    assert b"5.0" in m["edss.csv"]
    return make_zip(m)


def test_conflict_offers_update_to_centre_lead_only(as_user: Any, db_path: Path) -> None:
    data = _conflicting(as_user)
    before = data_digest(db_path)
    entry = as_user("entry_a")
    r = _post(entry, "bundle", "a.zip", data)
    assert r.status_code == 409, r.text
    assert "--mode" not in r.text and "re-run" not in r.text
    assert 'id="conflicts"' in r.text and "<td>3.5</td><td>5.0</td>" in r.text
    assert 'id="update-existing"' not in r.text and 'name="update"' not in r.text
    assert "centre lead" in r.text
    # data entry may not force an update, on the page or through the API
    assert _post(entry, "bundle", "a.zip", data, update="yes").status_code == 403
    api = entry.post("/api/import/bundle", params={"update": "true"},
                     files={"file": ("a.zip", data)})
    assert api.status_code == 403
    assert data_digest(db_path) == before

    lead = as_user("lead_a")
    r = _post(lead, "bundle", "a.zip", data)
    assert r.status_code == 409
    assert 'id="update-existing"' in r.text and "Update existing records" in r.text
    assert data_digest(db_path) == before
    r = _post(lead, "bundle", "a.zip", data, update="yes")
    assert r.status_code == 200, r.text
    assert "1 updated" in r.text
    assert data_digest(db_path) != before


def test_api_conflict_hint_is_for_the_web(as_user: Any) -> None:
    data = _conflicting(as_user)
    r = as_user("entry_a").post("/api/import/bundle", files={"file": ("a.zip", data)})
    assert r.status_code == 409
    body = r.json()
    assert "--mode" not in body["hint"] and body["conflicts"]
    r = as_user("admin").post("/api/import/bundle", params={"update": "true"},
                              files={"file": ("a.zip", data)})
    assert r.status_code == 200, r.text
    assert r.json()["totals"]["updated"] == 1


def test_upload_form_shows_update_choice_by_role(as_user: Any) -> None:
    assert 'id="bundle-update"' not in as_user("entry_a").get("/exchange").text
    assert 'id="bundle-update"' in as_user("lead_a").get("/exchange").text
    assert 'id="bundle-update"' in as_user("admin").get("/exchange").text


def _european_bundle(as_user: Any) -> bytes:
    """Centre A's bundle as a European spreadsheet saves it: patients.csv separated by ';',
    EDSS scores with decimal commas and visit dates day-first (31/12/2020)."""
    m = centre_a_bundle(as_user)
    m["patients.csv"] = m["patients.csv"].replace(b",", b";")
    text = m["edss.csv"].decode()
    text = re.sub(r"(\d{4})-(\d{2})-(\d{2})", r"\3/\2/\1", text)
    text = re.sub(r",(\d+)\.(\d+)(,|\r?\n)", r',"\1,\2"\3', text)
    assert "/20" in text and ',"3,5"' in text
    m["edss.csv"] = text.encode()
    return make_zip(m)


def test_spreadsheet_dialect_advice_is_for_the_web(as_user: Any, db_path: Path) -> None:
    """A semicolon-separated file, decimal commas and day-first dates: the page and the
    download say how to save the file, not which command-line option reads it."""
    entry = as_user("entry_a")
    before = data_digest(db_path)
    r = _post(entry, "bundle", "eu.zip", _european_bundle(as_user))
    assert r.status_code == 422, r.text
    assert data_digest(db_path) == before
    page = html.unescape(r.text)
    for rule in ("file-unreadable", "column-decimal-comma", "column-date-format"):
        assert rule in page
    for option in ("--delimiter", "--decimal", "--date-format", "dayfirst"):
        assert option not in page
    assert "save it as CSV (comma delimited" in page
    assert "save the file as CSV (comma delimited) with dates as YYYY-MM-DD" in page
    assert "with '.' as decimal mark" in page
    rows = list(csv.DictReader(io.StringIO(entry.get(_download_link(r.text)).text)))
    assert {row["rule"] for row in rows} >= {"file-unreadable", "column-decimal-comma",
                                            "column-date-format"}
    assert not any("--" in row["message"] for row in rows)
