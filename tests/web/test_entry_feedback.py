"""Data entry (issue 19): confirmation after saving, the importer's warnings at entry time,
functional-system scores as constrained inputs, and a required reason for change on edits
and deletions, kept in the (hash-chained) audit trail and shown on the audit page."""

from __future__ import annotations

import re
from typing import Any

from hsctms.db import connect
from hsctms.db import records as R
from hsctms.db.verify import verify_audit
from hsctms.errors import DataValidationError
from hsctms.io import validate_record
from hsctms.model.schema import SCHEMA


def _edss_row(c: Any, date: str = "2020-07-01") -> dict[str, Any]:
    rows = c.get("/api/patients/A1").json()["tables"]["edss"]
    return next(r for r in rows if r["date"] == date)


def test_save_confirmation_after_redirect_once(as_user: Any) -> None:
    c = as_user("entry_a")
    r = c.post("/patients/A1/new/relapses", data={"patient_id": "A1",
                                                  "onset_date": "2021-06-01"})
    assert r.status_code == 200 and r.url.path == "/patients/A1"  # after the 303
    flash = r.text[r.text.index('id="flash"'):]
    assert "Relapse of 2021-06-01 saved." in flash[:400]
    assert 'role="status"' in r.text
    again = c.get("/patients/A1")
    assert 'id="flash"' not in again.text  # shown once


def test_registering_a_patient_is_confirmed(as_user: Any) -> None:
    r = as_user("entry_a").post("/patients-new", data={
        "patient_id": "A9", "centre": "A", "sex": "F", "birth_year": "1990",
        "phenotype": "RRMS"})
    assert r.status_code == 200 and r.url.path == "/patients/A9"
    assert "Patient saved." in r.text[r.text.index('id="flash"'):][:300]


def test_importer_warning_shown_at_entry_time(as_user: Any) -> None:
    c = as_user("entry_a")
    c.post("/patients/A1/new/relapses", data={"patient_id": "A1", "onset_date": "2021-06-01"})
    r = c.post("/patients/A1/new/edss", data={"patient_id": "A1", "date": "2021-06-15",
                                              "edss": "4.5"})
    assert r.status_code == 200
    box = r.text[r.text.index('id="flash-warnings"'):]
    box = box[:box.index("</div>")]
    # the message is the importer's own (one implementation): the same as validate_record's
    with StoredTables(c) as tables:
        report = validate_record("edss", {"patient_id": "A1", "date": "2021-06-15",
                                          "edss": "4.5"}, tables,
                                 replaces={"patient_id": "A1", "date": "2021-06-15"})
    near = [i for i in report if i.rule == "edss-near-relapse"]
    assert near, "the importer flags this visit"
    assert near[0].message.split()[0] in box and "Note" in box
    # a visit far from any relapse: confirmation without warnings
    r = c.post("/patients/A1/new/edss", data={"patient_id": "A1", "date": "2022-09-01",
                                              "edss": "4.5"})
    assert 'id="flash"' in r.text and 'id="flash-warnings"' not in r.text


class StoredTables:
    """The stored tables of patient A1 (through the API client's app engine)."""

    def __init__(self, client: Any) -> None:
        self.engine = client.app.state.engine

    def __enter__(self) -> dict[str, Any]:
        from hsctms.db.loader import read_table

        self.conn = self.engine.connect()
        return {name: read_table(self.conn, name, patient_ids=["A1"]) for name in SCHEMA}

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def test_functional_system_scores_are_constrained_inputs(as_user: Any) -> None:
    html = as_user("entry_a").get("/patients/A1/new/edss").text
    for col in SCHEMA["edss"].columns:
        if not col.name.startswith("fs_"):
            continue
        select = re.search(rf'<select id="f-{col.name}"[^>]*>(.*?)</select>', html, re.S)
        assert select, col.name
        values = re.findall(r'<option value="([^"]*)"', select.group(1))
        assert values == ["", *[str(v) for v in range(0, int(col.maximum or 0) + 1)]]
        assert f"{col.label}" in html
    assert "Allowed: 0 to 6." in html
    # a value outside the range is still refused by the importer's rule (not only the widget)
    r = as_user("entry_a").post("/patients/A1/new/edss", data={
        "patient_id": "A1", "date": "2022-02-02", "edss": "3.0", "fs_pyramidal": "7"})
    assert r.status_code == 422 and 'id="e-fs_pyramidal"' in r.text


def test_edit_requires_reason_kept_in_audit(db_path: Any, as_user: Any) -> None:
    c = as_user("lead_a")
    row = _edss_row(c)
    form = c.get(f"/records/edss/{row['id']}").text
    assert 'id="f-reason"' in form and "Reason for change" in form
    assert 'id="f-reason"' not in c.get("/patients/A1/new/edss").text  # not on first entry
    data = {"patient_id": "A1", "date": row["date"], "edss": "5.0",
            "version": str(row["version"])}
    r = c.post(f"/records/edss/{row['id']}", data=data)
    assert r.status_code == 422 and 'id="e-reason"' in r.text and 'href="#f-reason"' in r.text
    assert 'aria-invalid="true"' in r.text
    assert _edss_row(c)["edss"] == row["edss"]  # nothing saved
    r = c.post(f"/records/edss/{row['id']}", data={**data, "reason": "  source   corrected "})
    assert r.status_code == 200 and "EDSS visit of 2020-07-01 saved." in r.text
    entry = c.get("/api/audit").json()["entries"][0]
    assert entry["action"] == "update" and entry["reason"] == "source corrected"
    assert entry["detail"]["reason"] == "source corrected"
    audit = c.get("/audit").text
    assert '<td data-label="Reason" class="reason">source corrected</td>' in audit
    # the change itself with the schema's labels, not raw column names
    assert entry["table_label"] == "EDSS visit"
    assert entry["changes"] == [{"column": "edss", "label": "EDSS", "old": 3.5, "new": 5.0}]
    assert ('<span class="col">EDSS</span>: 3.5 <span aria-label="changed to">&rarr;</span> '
            '5.0') in audit
    assert "<th scope=\"col\">Reason</th>" in audit
    assert verify_audit(connect(db_path)).ok  # the reason is inside the hash chain


def test_stale_edit_without_reason_reports_the_conflict(as_user: Any) -> None:
    c = as_user("lead_a")
    row = _edss_row(c)
    assert c.put(f"/api/records/edss/{row['id']}", json={
        "version": row["version"], "values": {"edss": "5.0"}, "reason": "typo"}
    ).status_code == 200
    r = c.post(f"/records/edss/{row['id']}", data={
        "patient_id": "A1", "date": row["date"], "edss": "6.0",
        "version": str(row["version"])})
    assert r.status_code == 409 and "someone else" in r.text.lower()
    assert c.get("/api/audit").json()["entries"][0]["reason"] == "typo"


def test_delete_requires_reason(as_user: Any) -> None:
    c = as_user("lead_a")
    row = _edss_row(c, "2021-01-10")
    r = c.post(f"/records/edss/{row['id']}/delete", data={"version": str(row["version"])})
    assert r.status_code == 422 and 'id="e-delete_reason"' in r.text
    assert _edss_row(c, "2021-01-10")["id"] == row["id"]  # still there
    r = c.post(f"/records/edss/{row['id']}/delete", data={
        "version": str(row["version"]), "delete_reason": "entered for the wrong patient"})
    assert r.status_code == 200 and "EDSS visit deleted." in r.text
    entry = c.get("/api/audit").json()["entries"][0]
    assert entry["action"] == "delete" and entry["reason"] == "entered for the wrong patient"


def test_api_edit_and_delete_require_a_reason(as_user: Any) -> None:
    """The JSON API asks for the reason the web forms ask for (first entry needs none): a
    missing or blank reason is a 422 naming the field, with a hint for the API caller, and
    nothing is saved or deleted."""
    c = as_user("lead_a")
    created = c.post("/api/records/relapses", json={"patient_id": "A1",
                                                    "onset_date": "2021-06-01"})
    assert created.status_code == 201, created.text  # first entry: no reason needed
    row = _edss_row(c)
    before = c.get(f"/api/records/edss/{row['id']}").json()
    n_audit = len(c.get("/api/audit").json()["entries"])
    for reason in (None, "", "   "):
        body: dict[str, Any] = {"version": row["version"], "values": {"edss": "5.0"}}
        if reason is not None:
            body["reason"] = reason
        r = c.put(f"/api/records/edss/{row['id']}", json=body)
        assert r.status_code == 422, r.text
        out = r.json()
        assert out["error"] == "DataValidationError" and "Say why" in out["message"]
        assert '"reason"' in out["hint"] and "form" not in out["hint"]
        params: dict[str, Any] = {"version": row["version"]}
        if reason is not None:
            params["reason"] = reason
        r = c.delete(f"/api/records/edss/{row['id']}", params=params)
        assert r.status_code == 422, r.text
        assert "reason=" in r.json()["hint"]
    assert c.get(f"/api/records/edss/{row['id']}").json() == before  # nothing changed
    assert len(c.get("/api/audit").json()["entries"]) == n_audit
    # an unknown record is reported as such, before the missing reason
    assert c.put("/api/records/edss/999999", json={"version": 1, "values": {}}
                 ).status_code == 404
    r = c.put(f"/api/records/edss/{row['id']}", json={
        "version": row["version"], "values": {"edss": "5.0"}, "reason": "typo"})
    assert r.status_code == 200
    assert c.get("/api/audit").json()["entries"][0]["reason"] == "typo"


def test_reason_for_change_rules() -> None:
    assert R.reason_for_change(" a  b ") == "a b"
    assert R.reason_for_change(None, required=False) is None
    for bad in ("", "   ", None, "x" * (R.MAX_REASON + 1)):
        try:
            R.reason_for_change(bad)
        except DataValidationError as exc:
            assert exc.report is not None and exc.report.errors[0].field == "reason"
        else:  # pragma: no cover
            raise AssertionError(bad)
