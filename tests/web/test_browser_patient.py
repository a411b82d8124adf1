"""Issue 19 in headless Chromium at desktop (1280 px) and phone (390 px) width: the patient
list (search, filters, sorting, data-quality flags), the patient page (schema labels, the
timeline and its table), data entry (save confirmation, the importer's warning at entry
time, functional-system scores as lists) and the reason for change kept in the audit trail.
Screenshots go to ``$HSCTMS_SCREENSHOTS`` (else the test's temporary folder)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hsctms.db import records as R

from .conftest import PASSWORD
from .test_browser import LAUNCH_ARGS, server  # noqa: F401 - the live-server fixture

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(params=sorted(WIDTHS))
def sized_page(request: Any, chromium: str) -> Iterator[tuple[str, Any]]:
    sync_api = pytest.importorskip("playwright.sync_api")
    width, height = WIDTHS[request.param]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": width, "height": height})
        yield request.param, context.new_page()
        context.close()
        browser.close()


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("HSCTMS_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"web19a-{name}.png"), full_page=True)


def _sign_in(page: Any, base: str, user: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _every_control_labelled(page: Any) -> None:
    """Every visible form control has a label (screen readers name it)."""
    unlabelled = page.evaluate("""() => [...document.querySelectorAll(
        'input:not([type=hidden]), select, textarea')]
        .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label'))
        .map(e => e.id || e.name)""")
    assert unlabelled == []


def _no_horizontal_page_scroll(page: Any) -> None:
    """The page itself never scrolls sideways (wide tables scroll inside their box)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_patient_pages_and_entry_in_browser(server: str, sized_page: tuple[str, Any],  # noqa: F811
                                            db_path: Path, tmp_path: Path) -> None:
    size, page = sized_page
    R.create_record(db_path, "seed", "relapses", {"patient_id": "A1",
                                                  "onset_date": "2019-11-20"})
    R.create_record(db_path, "seed", "mri", {"patient_id": "A1", "date": "2019-11-25",
                                             "new_t2": "2", "gd_lesions": "1"})
    R.create_record(db_path, "seed", "dmt", {"patient_id": "A1", "drug": "natalizumab",
                                             "start_date": "2016-05-01",
                                             "stop_date": "2019-10-01",
                                             "stop_reason": "transplant"})
    R.create_record(db_path, "seed", "patients", {"patient_id": "A7", "centre": "A",
                                                  "sex": "M", "birth_year": "1979",
                                                  "phenotype": "SPMS"})
    R.create_record(db_path, "seed", "labs", {"patient_id": "A7", "date": "2021-02-01",
                                              "test": "lymphocytes", "value": "800",
                                              "unit": "cells/uL"})  # a warning
    _sign_in(page, server, "lead_a")

    # the list: data-quality flags, filter, sort
    page.goto(server + "/patients")
    assert page.locator("#patients tbody tr").count() == 2
    assert page.get_attribute("#patients tbody tr:nth-child(2) td[data-status]",
                              "data-status") == "warnings"
    _no_horizontal_page_scroll(page)
    _every_control_labelled(page)
    _shot(page, tmp_path, f"{size}-patients")
    page.select_option("#quality", "flagged")
    with page.expect_navigation():
        page.click("#apply")
    assert page.locator("#patients tbody tr").count() == 1
    assert "A7" in page.inner_text("#patients") and "1 warning" in page.inner_text("#patients")
    page.goto(server + "/patients")
    with page.expect_navigation():
        page.click("#patients thead >> text=Last EDSS visit")
    assert "sort=last_visit" in page.url
    assert page.get_attribute("#patients thead th[aria-sort]", "aria-sort") == "ascending"
    page.fill("#q", "A1")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # keyboard use: search with Enter
    assert page.locator("#patients tbody tr").count() == 1

    # the patient page: labels, timeline figure and its table
    page.goto(server + "/patients/A1")
    body = page.inner_text("main")
    assert "Year of birth" in body and "Transplant date (day 0)" in body
    assert "birth_year" not in body and "transplant_date" not in body
    svg = page.locator("#timeline-figure svg")
    assert svg.get_attribute("role") == "img" and "Timeline of patient A1" in (
        svg.get_attribute("aria-label") or "")
    # the figure stays readable (at least 44rem wide); on a phone it scrolls inside its box
    box = page.locator("#timeline-figure .scroll").bounding_box()
    assert box is not None and box["width"] <= WIDTHS[size][0]
    figure = svg.bounding_box()
    assert figure is not None and figure["width"] >= min(704, box["width"])
    page.click("#timeline-table-box summary")
    assert page.is_visible("#timeline-table")
    assert "natalizumab" in page.inner_text("#timeline-table")
    _no_horizontal_page_scroll(page)
    _shot(page, tmp_path, f"{size}-patient")

    # data entry: FS scores are lists; the importer's note about a visit after a relapse
    page.click("text=Add EDSS visit")
    assert page.eval_on_selector("#f-fs_pyramidal", "e => e.tagName") == "SELECT"
    _every_control_labelled(page)
    assert page.eval_on_selector_all("#f-fs_other option", "os => os.map(o => o.value)") == \
        ["", "0", "1"]
    page.fill("#f-date", "2019-12-05")
    page.select_option("#f-edss", "4.5")
    page.select_option("#f-fs_pyramidal", "3")
    _shot(page, tmp_path, f"{size}-form-fs")
    page.click("#save")
    page.wait_for_url(server + "/patients/A1")
    assert "EDSS visit of 2019-12-05 saved." in page.inner_text("#flash")
    assert "relapse" in page.inner_text("#flash-warnings").lower()
    _shot(page, tmp_path, f"{size}-saved-with-warning")

    # an edit needs a reason for change, shown on the audit page
    page.click("text=Open it again")
    page.select_option("#f-edss", "5")
    page.click("#save")
    assert page.is_visible("#e-reason")
    _every_control_labelled(page)
    page.click("a[href='#f-reason']")  # the error summary links to the field
    assert page.evaluate("document.activeElement.id") == "f-reason"
    assert page.get_attribute("#f-reason", "aria-invalid") == "true"
    _shot(page, tmp_path, f"{size}-reason-missing")
    page.fill("#f-reason", "transcription error")
    page.click("#save")
    page.wait_for_url(server + "/patients/A1")
    assert "saved" in page.inner_text("#flash")
    page.goto(server + "/audit")
    first = page.locator("#audit tbody tr").first
    assert "transcription error" in first.inner_text() and "update" in first.inner_text()
    _shot(page, tmp_path, f"{size}-audit")
