"""Malformed versions and out-of-range record ids on the record routes give a 4xx, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

BIG = 2**63


def test_version_abc_is_refused_in_canonical_shape(as_user: Any) -> None:
    ann = as_user("entry_a")
    row = ann.get("/api/patients/A1").json()["tables"]["edss"][0]
    r = ann.put(f"/api/records/edss/{row['id']}", json={"version": "abc",
                                                       "values": {"edss": "5.0"},
                                                       "reason": "typo"})
    assert r.status_code == 422 and r.json()["error"] == "DataValidationError"
    assert r.headers.get("x-content-type-options") == "nosniff"
    form = ann.post(f"/records/edss/{row['id']}", data={
        "patient_id": "A1", "date": row["date"], "edss": "6.5", "version": "abc"})
    assert form.status_code == 422
    assert ann.get(f"/api/records/edss/{row['id']}").json()["version"] == row["version"]


@pytest.mark.parametrize("row_id", [BIG, 10**30])
def test_huge_record_id_is_not_found(as_user: Any, row_id: int) -> None:
    ann = as_user("entry_a")
    r = ann.get(f"/api/records/edss/{row_id}")
    assert r.status_code == 404 and r.json()["error"] == "NotFoundError"
    assert ann.get(f"/records/edss/{row_id}").status_code == 404
    assert ann.put(f"/api/records/edss/{row_id}",
                   json={"version": 1, "values": {}, "reason": "typo"}).status_code == 404


PAGE_ROUTES = ("/audit", "/api/audit", "/patients", "/api/patients")


@pytest.mark.parametrize("page", [str(BIG), str(2**64), str(10**30), "-1", "0",
                                  str(-BIG - 1), "abc", "1e3", "١"])
def test_page_out_of_range_is_422_in_canonical_shape(as_user: Any, page: str) -> None:
    """``?page=`` beyond the signed 64-bit OFFSET gave OverflowError (a bare 500); zero,
    negative and non-numbers are refused the same way, never clamped silently."""
    admin = as_user("admin")
    for path in PAGE_ROUTES:
        r = admin.get(path, params={"page": page})
        assert r.status_code == 422, (path, page, r.status_code, r.text[:200])
        assert r.headers.get("x-content-type-options") == "nosniff"
        if path.startswith("/api/"):
            body = r.json()
            assert body["error"] == "RequestValidationError" and body["hint"], body
            assert "page" in body["message"]
        else:
            assert "Error 422" in r.text and "page" in r.text


def test_largest_page_is_an_empty_page(as_user: Any) -> None:
    from hsctms.web.core import MAX_PAGE

    admin = as_user("admin")
    assert admin.get("/api/audit", params={"page": MAX_PAGE}).json()["entries"] == []
    assert admin.get("/api/patients", params={"page": MAX_PAGE}).json()["patients"] == []
    assert admin.get("/audit", params={"page": 1}).status_code == 200
