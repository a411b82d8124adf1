"""Web dashboards: the deidentified export definition, small-count suppression with
``WebSettings.small_count`` in every count of the dashboard HTML and JSON (provenance ``n``
included), captions from the result, and that the web modules hold no statistics."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hsctms.model.cohort import Cohort

from .conftest import PASSWORD, SECRET, TestClient, login


def test_deidentify_definition(three_patient_cohort: Cohort) -> None:
    from hsctms.io.deidentify import deidentify

    c = three_patient_cohort
    out = deidentify(c, k=3, rng=np.random.default_rng(1)).tables
    assert "cause" not in out["deaths"].columns
    assert "conditioning" not in out["transplants"].columns
    assert set(out["transplants"]["intensity"]) <= {"low", "intermediate", "high"}
    assert not set(out["patients"]["patient_id"]) & {"P1", "P2", "P3"}
    edss = out["edss"]
    assert "date" not in edss.columns and sorted(edss["date_day"].tolist()) == [-31, -17, 364,
                                                                                  366]
    for frame in out.values():
        assert not any(str(t).startswith("datetime") for t in frame.dtypes)
    kept = deidentify(c, k=3, keep_ids=True).tables
    assert set(kept["patients"]["patient_id"]) == {"P1", "P2", "P3"}


# ------------------------------------------------- small_count from the settings, everywhere
SMALL = 10
COUNT_KEYS = {"n", "n_patients", "n_transplanted", "at_risk", "events", "patients", "overdue",
              "observed"}
#: column headers of the dashboard tables whose cells are counts
COUNT_HEADERS = ("Patients", "At risk", "Events", "Overdue", "Observed")


def _counts(node: Any) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "alert_counts":
                out += [(k, n) for n in v.values()]
            elif k in COUNT_KEYS and not isinstance(v, dict | list):
                out.append((k, v))
            else:
                out += _counts(v)
    elif isinstance(node, list):
        for v in node:
            out += _counts(v)
    return out


def _is_small(value: Any, small: int = SMALL) -> bool:
    text = str(value).strip()
    return text.isdigit() and 0 < int(text) < small


class _Page(HTMLParser):
    """Collects the dashboard's count cards and the cells of count columns of each table."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[str] = []
        self.cells: list[tuple[str, str]] = []  # (header, text)
        self._headers: list[str] = []
        self._row: list[str] = []
        self._buf: list[str] | None = None
        self._in_head = False
        self._big = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._headers = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._buf = []
        elif tag == "div" and a.get("class") == "big":
            self._big, self._buf = True, []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._buf is not None:
            text = "".join(self._buf).strip()
            if self._in_head:
                self._headers.append(text)
            else:
                self._row.append(text)
            self._buf = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "tr" and not self._in_head:
            for head, text in zip(self._headers, self._row, strict=False):
                if head.startswith(COUNT_HEADERS):
                    self.cells.append((head, text))
        elif tag == "div" and self._big and self._buf is not None:
            self.cards.append("".join(self._buf).strip())
            self._big, self._buf = False, None

    def handle_data(self, data: str) -> None:
        if self._buf is not None:
            self._buf.append(data)


def _page(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    return p


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hsctms.datasets import demo_bundle_path
    from hsctms.db import connect, import_bundle
    from hsctms.db.users import add_user

    db = tmp_path_factory.mktemp("dash") / "registry.sqlite"
    import_bundle(demo_bundle_path(), db, user="test")
    engine = connect(db)
    add_user(engine, "analyst", PASSWORD, "analyst", None)
    add_user(engine, "entry_c12", PASSWORD, "data_entry", "SYN-C12")
    engine.dispose()
    return db


@pytest.fixture(scope="module")
def clients(demo_db: Path) -> Iterator[dict[str, TestClient]]:
    from hsctms.web import WebSettings, create_app

    app = create_app(WebSettings(db=demo_db, secret_key=SECRET, small_count=SMALL))
    out = {name: TestClient(app, base_url="https://testserver") for name in
           ("analyst", "entry_c12")}
    for name, c in out.items():
        c.__enter__()
        login(c, name)
    yield out
    for c in out.values():
        c.__exit__(None, None, None)


@pytest.mark.parametrize("path", ["/api/dashboard/registry", "/api/dashboard?centre=SYN-C12",
                                  "/api/dashboard?centre=SYN-C11",
                                  "/api/dashboard?centre=SYN-C01"])
def test_dashboard_json_honours_small_count(clients: dict[str, TestClient], path: str) -> None:
    r = clients["analyst"].get(path)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["small_counts_suppressed"] is True
    found = _counts(d)
    assert found and not [kv for kv in found if _is_small(kv[1])], found
    assert all(v == f"<{SMALL}" for _, v in found if isinstance(v, str))
    assert d["provenance"]["definition"]["small_count"] == SMALL
    assert d["overdue"] == [] and d["alerts"] == []
    if "SYN-C1" in path and "C01" not in path:  # 5 and 9 patients
        assert d["n_patients"] == f"<{SMALL}" and d["provenance"]["n"] == f"<{SMALL}"
    if d["funnel"]:
        assert set(d["funnel"]["suppressed"]) == {"SYN-C11", "SYN-C12"}  # 9 and 5 patients
        assert d["funnel"]["provenance"]["n"] == 300


@pytest.mark.parametrize("path", ["/dashboard/registry", "/dashboard?centre=SYN-C12",
                                  "/dashboard?centre=SYN-C01"])
def test_dashboard_html_honours_small_count(clients: dict[str, TestClient], path: str) -> None:
    r = clients["analyst"].get(path)
    assert r.status_code == 200, r.text
    page = _page(r.text)
    # the six headline numbers (patients, transplanted, follow-up completeness, overdue,
    # EFS events, data-quality issues) and the three alert counts: every one checked below
    assert len(page.cards) == 6 + 3
    assert page.cells or "SYN-C12" in path
    shown = page.cards + [text for _, text in page.cells]
    assert not [v for v in shown if _is_small(v)], (page.cards, page.cells)
    assert f"Counts below {SMALL} are shown as &lt;{SMALL}." in r.text
    if "registry" in path:
        assert "95% log-log CIs" in r.text and "(halt_ms endpoint definitions)" in r.text
        assert "exact Poisson 95% and 99.8% limits" in r.text
        assert "Not compared (fewer than 10 patients): SYN-C11, SYN-C12." in r.text
        assert any(text == f"<{SMALL}" for _, text in page.cells)


def test_own_centre_sees_its_counts(clients: dict[str, TestClient]) -> None:
    d = clients["entry_c12"].get("/api/dashboard").json()
    assert d["small_counts_suppressed"] is False and d["scope"] == "SYN-C12"
    assert d["n_patients"] == 5 and d["provenance"]["n"] == 5
    assert len(d["completeness"]) == 1 and d["completeness"][0]["patients"] == 5
    html = clients["entry_c12"].get("/dashboard").text
    assert _page(html).cards[0] == "5" and "Counts below" not in html


def test_captions_and_labels_come_from_the_schedule(demo_db: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from hsctms.analysis import monitoring_schedule as ms
    from hsctms.web import WebSettings, create_app

    raw = yaml.safe_load(ms.DEFAULT_SCHEDULE.read_text(encoding="utf-8"))
    raw["outcomes"]["level"]["value"] = 0.9
    raw["outcomes"]["conf_type"]["value"] = "log"
    raw["followup"]["grace_days"]["value"] = 0
    raw["funnel"]["limits"]["value"] = [0.9, 0.99]
    raw["alerts"]["relapse_after_hsct"]["label"] = "Relapse since the transplant"
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    custom = ms.load_schedule(path)
    monkeypatch.setattr(ms, "_default", lambda: custom)
    app = create_app(WebSettings(db=demo_db, secret_key=SECRET, small_count=SMALL))
    with TestClient(app, base_url="https://testserver") as c:
        login(c, "analyst")
        html = c.get("/dashboard/registry").text
    assert "95%" not in html and "log-log" not in html
    assert "90% log CIs" in html and ">90% CI<" in html
    assert "exact Poisson 90% and 99% limits" in html
    assert "Overdue (no EDSS in 365 days)" in html and "Relapse since the transplant" in html


def test_web_modules_hold_no_statistics() -> None:
    web = Path(__file__).resolve().parents[2] / "src" / "hsctms" / "web"
    moved = {"expected_events", "poisson_limit", "centre_funnel", "case_mix", "completeness",
             "followup_table", "find_alerts", "suppress", "kaplan_meier", "monitor"}
    banned = ("numpy", "scipy", "statsmodels", "pandas", "math", "statistics",
              "hsctms.survival", "hsctms.endpoints", "hsctms.meta")
    for name in ("dashboard.py", "funnel.py"):
        tree = ast.parse((web / name).read_text(encoding="utf-8"))
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
        bad = {m for m in imported for b in banned if m == b or m.startswith(b + ".")}
        assert not bad, (name, bad)
        assert "hsctms.analysis.monitoring" in imported or name == "funnel.py"
        defined = {n.name for n in ast.walk(tree)
                   if isinstance(n, ast.FunctionDef | ast.ClassDef)}
        assert not defined & moved, (name, defined & moved)
    template = (web / "templates" / "dashboard.html.j2").read_text(encoding="utf-8")
    for literal in ("95%", "99.8%", "log-log", "halt_ms", "below 5", "&lt;5", "12 months"):
        assert literal not in template, literal
