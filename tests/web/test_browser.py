"""End-to-end in headless Chromium (Debian's /usr/bin/chromium through Playwright): sign in,
register a patient with visits, see the dashboard update, fail to open another centre's
patient (403 in UI and API), use the public patient tool."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD, SECRET

pytestmark = pytest.mark.browser

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(db_path: Path) -> Iterator[str]:
    import uvicorn

    from hsctms.web import WebSettings, create_app

    # plain http on loopback: cookies without Secure, explicitly configured
    app = create_app(WebSettings(db=db_path, secret_key=SECRET, secure_cookies=False))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:  # pragma: no cover
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(chromium: str) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        yield context.new_page()
        context.close()
        browser.close()


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("HSCTMS_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"web-{name}.png"), full_page=True)


def _fill_record(page: Any, values: dict[str, str]) -> None:
    for name, value in values.items():
        sel = f"#f-{name}"
        if page.eval_on_selector(sel, "e => e.tagName") == "SELECT":
            page.select_option(sel, value)
        else:
            page.fill(sel, value)
    page.click("#save")


def test_end_to_end(server: str, page: Any, tmp_path: Path) -> None:
    page.goto(server + "/patients")
    assert "/login" in page.url  # signed out -> sign-in page
    page.fill("#username", "entry_a")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/patients")
    _shot(page, tmp_path, "patients")
    dash = page.goto(server + "/dashboard")
    assert dash is not None and dash.status == 200
    assert page.inner_text("#n-patients").strip() == "1"

    page.goto(server + "/patients")
    page.click("text=Register a patient")
    _fill_record(page, {"patient_id": "A2", "sex": "F", "birth_year": "1988",
                        "onset_date": "2012-05-01", "phenotype": "RRMS"})
    page.wait_for_url(server + "/patients/A2")
    page.click("text=Add transplant")
    _fill_record(page, {"transplant_date": "2020-03-01", "conditioning": "BEAM+ATG"})
    page.wait_for_url(server + "/patients/A2")
    # an invalid visit: the message appears next to the field and nothing is saved
    page.click("text=Add edss visit")
    _fill_record(page, {"date": "2031-01-01", "edss": "3"})
    assert page.is_visible("#e-date")
    _shot(page, tmp_path, "form-error")
    for date, score in (("2020-02-01", "3"), ("2020-09-01", "3"), ("2021-03-01", "3.5")):
        page.goto(server + "/patients/A2/new/edss")
        _fill_record(page, {"date": date, "edss": score})
        page.wait_for_url(server + "/patients/A2")
    page.click("text=Add relapse")
    _fill_record(page, {"onset_date": "2021-01-10"})
    page.wait_for_url(server + "/patients/A2")
    assert page.locator("#table-edss tbody tr").count() == 3
    _shot(page, tmp_path, "patient")

    page.goto(server + "/dashboard")
    assert page.inner_text("#n-patients").strip() == "2"  # updated after the writes
    assert "A2" in page.inner_text("#alerts")
    _shot(page, tmp_path, "dashboard")

    resp = page.goto(server + "/patients/B1")
    assert resp is not None and resp.status == 403
    assert "another centre" in page.inner_text("#error-message")
    _shot(page, tmp_path, "forbidden")
    api = page.request.get(server + "/api/patients/B1")
    assert api.status == 403 and api.json()["error"] == "PermissionDeniedError"

    page.click("text=Sign out")
    page.goto(server + "/tool")
    page.fill("#age_years", "34")
    page.select_option("#phenotype", "RRMS")
    page.select_option("#edss", "3.5")
    page.fill("#relapses_12m", "2")
    page.fill("#gd_lesions_12m", "3")
    page.fill("#dmts", "natalizumab")
    page.select_option("#dmts_failed", "yes")
    page.click("#make-report")
    page.wait_for_load_state()
    assert "What to expect" in page.inner_text("body")
    _shot(page, tmp_path, "tool-report")


def _pregnant_shown(page: Any) -> bool:
    return bool(page.is_visible("#pregnant")) and not page.is_disabled("#pregnant")


def test_tool_hides_the_pregnancy_question_for_men(server: str, page: Any) -> None:
    """The pregnancy question is hidden (and not submitted) while the sex is male, shown
    again for any other answer, and always shown when scripts are off."""
    page.goto(server + "/tool")
    assert _pregnant_shown(page)  # no sex given yet
    page.select_option("#pregnant", "yes")
    page.select_option("#sex", "M")
    assert not page.is_visible("#pregnant") and not page.is_visible("label[for=pregnant]")
    assert page.is_disabled("#pregnant")
    for sex in ("F", "X", ""):
        page.select_option("#sex", sex)
        assert _pregnant_shown(page), sex
        assert page.input_value("#pregnant") == "yes"  # the answer given is kept, not altered
    # a man's submitted answers hold no pregnancy answer, even one chosen before
    page.select_option("#sex", "M")
    page.select_option("#phenotype", "RRMS")
    page.select_option("#edss", "3.5")
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/tool")) as req:
        page.click("#make-report")
    sent = req.value.post_data or ""
    assert "sex=M" in sent and "pregnant" not in sent
    page.wait_for_load_state()
    assert "What to expect" in page.inner_text("body")
    context = page.context.browser.new_context(java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto(server + "/tool")
        plain.select_option("#sex", "M")
        assert _pregnant_shown(plain)  # scripts off: always asked, as the help says
    finally:
        context.close()
