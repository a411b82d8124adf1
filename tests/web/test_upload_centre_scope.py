"""Centre users' uploads (issue 12, findings 1 and 2): a conflict report never shows another
centre's stored values, and the centre check is the importer's own strict parser (no pandas
NA spellings, no 500s)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.web._zips import centre_a_bundle, data_digest, make_zip

from hsctms.db import import_bundle
from hsctms.errors import PermissionDeniedError
from hsctms.io import write_bundle


def test_probe_of_other_centre_id_reveals_no_stored_value(as_user: Any, db_path: Path) -> None:
    """Finding 1: centre A names B's patient B1 (with centre A in the row) and adds a death;
    the refusal must not list any of B1's stored values."""
    m = centre_a_bundle(as_user)
    text = m["patients.csv"].decode()
    header, row = text.splitlines()[0], text.splitlines()[1]
    probe = row.replace("A1", "B1", 1).replace("1985", "1970").replace("2010-03-01",
                                                                        "2011-04-02")
    m["patients.csv"] = (text + probe + "\n").encode()
    ann = as_user("entry_a")
    before = data_digest(db_path)
    r = ann.post("/api/import/bundle", files={"file": ("probe.zip", make_zip(m))})
    assert r.status_code == 403, r.text
    body = r.text
    assert "B1" in body  # its own id may be named ...
    for stored in ("1985", "2010-03-01", "RRMS", '"B"', "centre B", "'B'"):
        assert stored not in body, stored  # ... but nothing stored about it
    assert "conflicts" not in r.json()
    assert data_digest(db_path) == before
    assert header.startswith("patient_id")


@pytest.mark.parametrize("spelling", ["NA", "null", "nan", "None", "N/A", ""])
def test_centre_spellings_are_not_missing(as_user: Any, db_path: Path, spelling: str) -> None:
    """Finding 2: a centre written NA/null/... is a centre named so (or a missing value, an
    error) — never a pass for centre A's user."""
    m = centre_a_bundle(as_user)
    lines = m["patients.csv"].decode().splitlines()
    cols = lines[0].split(",")
    i = cols.index("centre")
    fields = lines[1].split(",")
    fields[0] = "A9"
    fields[i] = spelling
    m["patients.csv"] = ("\n".join([*lines, ",".join(fields)]) + "\n").encode()
    before = data_digest(db_path)
    r = as_user("entry_a").post("/api/import/bundle", files={"file": ("na.zip", make_zip(m))})
    assert r.status_code in (403, 422), r.text
    assert r.json()["error"] in ("PermissionDeniedError", "DataValidationError")
    assert data_digest(db_path) == before


@pytest.mark.parametrize("case", ["no_centre_column", "empty_file", "unbalanced_quote",
                                  "extra_field"])
def test_malformed_patients_file_is_4xx_not_500(as_user: Any, db_path: Path,
                                                 case: str) -> None:
    m = centre_a_bundle(as_user)
    text = m["patients.csv"].decode()
    lines = text.splitlines()
    if case == "no_centre_column":
        cols = lines[0].split(",")
        i = cols.index("centre")
        m["patients.csv"] = ("\n".join(",".join(c for j, c in enumerate(r.split(","))
                                                if j != i) for r in lines) + "\n").encode()
    elif case == "empty_file":
        m["patients.csv"] = b""
    elif case == "unbalanced_quote":
        m["patients.csv"] = (text + 'A7,"A\n').encode()
    else:
        m["patients.csv"] = (lines[0] + "\n" + lines[1] + ",extra\n").encode()
    before = data_digest(db_path)
    r = as_user("entry_a").post("/api/import/bundle", files={"file": ("bad.zip", make_zip(m))})
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.json()["error"] == "DataValidationError", r.text
    assert "other centres" not in r.text
    assert data_digest(db_path) == before


def test_library_import_with_centre_scope(tmp_path: Path, db_path: Path) -> None:
    """The rule lives in the library: import_bundle(centre=...) refuses other centres' rows
    and ids stored elsewhere, and the update mode cannot move a patient between centres."""
    from hsctms.db import load_cohort

    cohort = load_cohort(db_path)
    out = write_bundle(cohort, tmp_path / "all")
    with pytest.raises(PermissionDeniedError, match=r"patients.csv:\d+ \(B\)"):
        import_bundle(out, db_path, centre="A")
    pat = (out / "patients.csv").read_text().replace(",B,", ",A,")
    (out / "patients.csv").write_text(pat)
    before = data_digest(db_path)
    for mode in ("insert", "update"):
        with pytest.raises(PermissionDeniedError, match="not available to centre 'A': B1"):
            import_bundle(out, db_path, centre="A", mode=mode)  # type: ignore[arg-type]
    assert data_digest(db_path) == before
