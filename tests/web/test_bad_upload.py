"""Malformed uploads through the web page (tests/data/bad): a 4xx page listing the issue, and
the registry database file byte-identical afterwards."""

from __future__ import annotations

import hashlib
import html
import importlib.util
import io
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location(
    "hsctms_bad_corpus", Path(__file__).resolve().parents[1] / "data" / "bad" / "corpus.py")
assert _spec is not None and _spec.loader is not None
corpus = importlib.util.module_from_spec(_spec)
sys.modules.setdefault(_spec.name, corpus)  # dataclasses look their module up
_spec.loader.exec_module(corpus)

BUNDLE_CASES = corpus.cases_for("web", "bundle")
REDCAP_CASES = corpus.cases_for("web", "redcap")
WEB_CASES = corpus.all_cases("web")


def _ids(cases: list[Any]) -> list[str]:
    return [c.name for c in cases]


def _zip(files: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _bundle_zip(case: Any, tmp_path: Path) -> bytes:
    bundle = corpus.build_bundle(case, tmp_path / "bundle")
    return _zip([(p.name, p.read_bytes()) for p in sorted(bundle.iterdir())])


def _web_upload(case: Any) -> bytes:
    if "zip" not in case.extra:
        return (case.path / "upload.bin").read_bytes()
    files = []
    for entry, source in case.extra["zip"]:
        src = corpus.CORPUS / source if source.startswith("base/") else case.path / source
        files.append((entry, src.read_bytes()))
    return _zip(files)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _post(as_user: Any, user: str, kind: str, filename: str, data: bytes) -> Any:
    client = as_user(user)  # sign in first: the login itself may write to the database
    return client, lambda: client.post(f"/exchange/{kind}", files={"file": (filename, data)})


def _check_page(response: Any, case: Any) -> str:
    assert 400 <= response.status_code < 500, (case.id, response.status_code)
    page = html.unescape(response.text)
    assert "Traceback" not in page and "Internal Server Error" not in page, case.id
    assert 'role="alert"' in response.text, case.id
    for want in case.expect:
        line = "" if want["line"] is None else str(want["line"])
        cells = f"<td>{want['rule']}</td><td>{want['file']}</td><td>{line}</td>" \
                f"<td>{want['field'] or ''}</td>"
        assert cells in page, f"{case.id}: {cells} not listed on the page"
    return page


@pytest.mark.parametrize("case", BUNDLE_CASES, ids=_ids(BUNDLE_CASES))
def test_bundle_upload_lists_the_issue_and_leaves_db(case: Any, as_user: Any, db_path: Path,
                                                     tmp_path: Path) -> None:
    _, post = _post(as_user, "admin", "bundle", "bundle.zip", _bundle_zip(case, tmp_path))
    before = sha256(db_path)
    _check_page(post(), case)
    assert sha256(db_path) == before, f"{case.id}: the database file changed"


@pytest.mark.parametrize("case", REDCAP_CASES, ids=_ids(REDCAP_CASES))
def test_redcap_upload_lists_the_issue_and_leaves_db(case: Any, as_user: Any,
                                                     db_path: Path) -> None:
    data = (case.path / "records.csv").read_bytes()
    _, post = _post(as_user, "admin", "redcap", "records.csv", data)
    before = sha256(db_path)
    _check_page(post(), case)
    assert sha256(db_path) == before, f"{case.id}: the database file changed"


@pytest.mark.parametrize("case", WEB_CASES, ids=_ids(WEB_CASES))
def test_malformed_zip_is_refused_and_leaves_db(case: Any, as_user: Any, db_path: Path) -> None:
    _, post = _post(as_user, case.extra.get("user", "admin"), "bundle", "bundle.zip",
                    _web_upload(case))
    before = sha256(db_path)
    page = _check_page(post(), case)
    assert case.extra["message"] in page, f"{case.id}: {case.extra['message']!r} not shown"
    assert sha256(db_path) == before, f"{case.id}: the database file changed"


def test_valid_base_bundle_uploads(as_user: Any) -> None:
    """The base the cases break is itself accepted by the same upload path."""
    data = _zip([(p.name, p.read_bytes()) for p in sorted(corpus.BASE.iterdir())])
    _, post = _post(as_user, "admin", "bundle", "bundle.zip", data)
    response = post()
    assert response.status_code == 200, response.text
    assert "Imported" in response.text
