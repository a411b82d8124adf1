"""Dashboards laid out for a centre lead (issue 19): headline numbers first, then the figures
with their legends, then the lists (folded when long); the funnel plot labels only outlying
centres; every figure has a text alternative; the administrator's dashboard is a per-centre
overview (patients, last upload and entry, open data-quality issues, users)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD, SECRET, TestClient, login


@pytest.fixture(scope="module")
def demo_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An analyst on the bundled demo registry (12 centres)."""
    from hsctms.datasets import demo_bundle_path
    from hsctms.db import connect, import_bundle
    from hsctms.db.users import add_user
    from hsctms.web import WebSettings, create_app

    db = tmp_path_factory.mktemp("layout") / "registry.sqlite"
    import_bundle(demo_bundle_path(), db, user="test")
    engine = connect(db)
    add_user(engine, "analyst", PASSWORD, "analyst", None)
    engine.dispose()
    app = create_app(WebSettings(db=db, secret_key=SECRET))
    with TestClient(app, base_url="https://testserver") as c:
        login(c, "analyst")
        yield c


def _positions(page: str, *needles: str) -> list[int]:
    out = []
    for n in needles:
        assert n in page, n
        out.append(page.index(n))
    return out


def test_centre_dashboard_order_headline_figures_lists(as_user: Any) -> None:
    page = as_user("lead_a").get("/dashboard").text
    glance, outcomes, follow, alerts = _positions(
        page, 'id="glance-h"', 'id="outcomes-h"', 'id="followup-h"', 'id="alerts-h"')
    assert glance < outcomes < follow < alerts
    for key in ("patients", "transplanted", "followup", "overdue", "events", "quality"):
        assert f'id="card-{key}"' in page, key
    assert page.index('id="card-quality"') < outcomes
    assert '<details class="fold" open id="overdue-list">' in page
    assert 'class="legend"' in page  # what lines, bands and ticks mean


def test_dashboard_json_has_the_headline(as_user: Any) -> None:
    d = as_user("lead_a").get("/api/dashboard").json()
    keys = [c["key"] for c in d["headline"]]
    assert keys == ["patients", "transplanted", "followup", "overdue", "events", "quality"]
    assert d["headline"][0]["value"] == 1


def test_admin_dashboard_is_a_centre_overview(as_user: Any) -> None:
    admin = as_user("admin")
    # an entry at centre A and an upload: the overview dates them
    page = admin.get("/dashboard").text
    table = page[page.index('id="centres"'):]
    rows = re.findall(r"<tr><th scope=\"row\">.*?</tr>", table, flags=re.S)
    assert len(rows) == 2
    a_row = rows[0]
    assert ">A</a>" in a_row
    cells = re.findall(r"<td[^>]*>(.*?)</td>", a_row)
    patients, last_upload, last_entry, quality, users = cells
    assert patients == "1" and last_upload == "never"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", last_entry), last_entry
    assert quality.isdigit()
    assert re.search(r">2</a>$", users)  # entry_a and lead_a
    assert 'id="n-patients">2<' in page


def test_analyst_gets_only_the_list_of_centres(as_user: Any) -> None:
    page = as_user("analyst").get("/dashboard").text
    assert 'id="centres"' not in page and "Users" not in page.split("<main", 1)[1]
    assert '/dashboard?centre=A' in page and '/dashboard/registry' in page


def test_figures_have_text_alternatives(demo_client: TestClient) -> None:
    page = demo_client.get("/dashboard/registry").text
    svgs = re.findall(r"<svg [^>]*>", page)
    assert len(svgs) == 2
    assert all('role="img"' in s and 'aria-label="' in s for s in svgs)


def test_funnel_labels_only_outliers(demo_client: TestClient) -> None:
    d = demo_client.get("/api/dashboard/registry").json()
    centres = d["funnel"]["centres"]
    page = demo_client.get("/dashboard/registry").text
    svg = page[page.index('aria-label="Funnel plot'):]
    svg = svg[:svg.index("</svg>")]
    for c in centres:
        if c["flag"] is None:
            continue
        labelled = f">{c['centre']}</text>" in svg
        assert labelled == bool(c["flag"]), c
    assert ">centre inside the limits</text>" in svg


def test_cache_still_serves(as_user: Any, db_path: Path) -> None:
    c = as_user("lead_a")
    first = c.get("/api/dashboard").json()
    assert c.get("/api/dashboard").json() == first


def test_open_quality_issues_are_counted_per_centre(as_user: Any, db_path: Path) -> None:
    """An MRI visit without lesion counts is a warning of the import rules: it counts as one
    open data-quality issue of its centre, on the admin overview and the centre's dashboard."""
    from hsctms.db import connect
    from hsctms.db import records as R

    engine = connect(db_path)
    R.create_record(engine, "seed", "mri", {"patient_id": "A1", "date": "2021-02-01"})
    engine.dispose()
    page = as_user("admin").get("/dashboard").text
    rows = re.findall(r"<tr><th scope=\"row\">.*?</tr>", page, flags=re.S)
    quality = {re.search(r">(\w)</a></th>", r).group(1):  # type: ignore[union-attr]
               re.findall(r"<td[^>]*>(.*?)</td>", r)[3] for r in rows}
    assert quality == {"A": "1", "B": "0"}
    d = as_user("lead_a").get("/api/dashboard").json()
    assert {c["key"]: c["value"] for c in d["headline"]}["quality"] == 1
    # the outcome curves use the visit as stored and say so (no Python warning)
    assert any("data-quality warnings (mri-counts-missing)" in n for n in d["notes"])


def test_home_links_what_the_role_may_open(as_user: Any) -> None:
    analyst = as_user("analyst").get("/").text.split("<main", 1)[1]
    assert 'href="/patients"' not in analyst and 'href="/dashboard/registry"' in analyst
    entry = as_user("entry_a").get("/").text.split("<main", 1)[1]
    assert 'href="/patients"' in entry and "Dashboard of A" in entry
    assert 'href="/dashboard/registry"' not in entry
