"""The public patient tool (/tool) asks what the profile asks, the same way: EDSS from the
grid, each drug from the catalogue with its own "active on it?" answer, and never sends the
public to developer documentation."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from hsctms.model.scales import EDSS_VALUES
from hsctms.model.vocabularies import dmt_names


@pytest.fixture
def client(tmp_path: Path):
    with warnings.catch_warnings():
        # as in tests/web/conftest.py: Starlette's TestClient warns that it prefers httpx2
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from hsctms.db import connect, upgrade
    from hsctms.web import WebSettings, create_app

    db = tmp_path / "r.db"
    upgrade(connect(db))
    with TestClient(create_app(WebSettings(db=db, secret_key="s" * 48)),
                    base_url="https://testserver") as c:
        yield c


def _options(markup: str, select_id: str) -> list[str]:
    m = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', markup, re.S)
    assert m, select_id
    return [v for v in re.findall(r'<option value="([^"]*)"', m.group(1)) if v]


def test_edss_is_chosen_from_the_grid(client):
    page = client.get("/tool").text
    shown = [float(v) for v in _options(page, "edss")]
    assert shown == list(EDSS_VALUES)


def test_each_drug_from_the_catalogue_with_its_own_activity(client):
    page = client.get("/tool").text
    assert set(_options(page, "dmt_1")) == set(dmt_names())
    assert _options(page, "dmt_1_failed") == ["yes", "no"]
    assert _options(page, "dmt_2_failed") == ["yes", "no"]


def test_activity_per_drug_reaches_the_report(client):
    r = client.post("/tool", data={"age_years": "35", "sex": "F", "phenotype": "RRMS",
                                   "edss": "4.0", "relapses_12m": "2",
                                   "dmt_1": "alemtuzumab", "dmt_1_failed": "yes",
                                   "dmt_2": "natalizumab", "dmt_2_failed": "no"})
    assert r.status_code == 200
    assert "Drugs that did not work for you are left out: alemtuzumab." in r.text
    assert 'data-comparator="alemtuzumab"' not in r.text


def test_no_developer_docs_for_the_public(client):
    page = client.get("/tool").text
    bad = client.post("/tool", data={"phenotype": "RRMS", "edss": "3.3"})
    assert bad.status_code == 422
    report = client.post("/tool", data={"phenotype": "SPMS", "edss": "6.5"}).text
    for markup in (page, bad.text, report):
        assert "docs/" not in markup and "profile-schema" not in markup
        assert ".md" not in re.sub(r"<[^>]+>", " ", markup)


def test_pregnancy_question_is_in_the_page_and_its_script_is_served(client):
    """Without scripts the question is asked of everyone (the browser test checks that the
    script hides it for men); the script comes from the site itself (CSP script-src 'self')."""
    page = client.get("/tool").text
    assert re.search(r'<div class="field" id="pregnant-field">.*?<select id="pregnant"', page)
    assert 'id="pregnant-field" hidden' not in page
    assert '<script src="/tool.js" defer></script>' in page
    js = client.get("/tool.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "pregnant-field" in js.text and "disabled" in js.text
    assert "script-src 'self'" in client.get("/tool").headers["content-security-policy"]
