"""Accessibility of every page in headless Chromium (issue 19), at desktop (1280 px) and phone
(390 px) width, on the demo registry, for the role that sees each page:

* every visible form control has an accessible name (label, aria-label, aria-labelledby);
* images have ``alt``; inline SVG figures have ``role="img"`` and a text alternative (or are
  hidden from assistive technology);
* one ``h1`` and no skipped heading level going down;
* text contrast >= 4.5:1 (3:1 for large text), computed in the page from the computed
  colours of each text's element and its effective background (WCAG 2 relative luminance);
* keyboard: Tab reaches the page's main action, and every focused element shows a focus
  indicator (an outline or a box shadow); nothing is wider than the viewport.

Screenshots go to ``$HSCTMS_SCREENSHOTS`` (``a11y-<page>-<width>.png``).
"""

from __future__ import annotations

import io
import os
import re
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD, SECRET
from .test_browser import LAUNCH_ARGS, _free_port

pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)
LEAD_CENTRE = "SYN-C01"


@dataclass(frozen=True)
class PageCase:
    """One page to check: who opens it, its address and the selector of its main action."""

    name: str
    user: str | None
    path: str
    action: str  # CSS selector Tab must reach
    status: int = 200


def _own_patient() -> str:
    import pandas as pd

    from hsctms.datasets import demo_bundle_path

    p = pd.read_csv(demo_bundle_path() / "patients.csv", dtype=str)
    return str(p.loc[p["centre"] == LEAD_CENTRE, "patient_id"].iloc[0])


def _other_patient() -> str:
    import pandas as pd

    from hsctms.datasets import demo_bundle_path

    p = pd.read_csv(demo_bundle_path() / "patients.csv", dtype=str)
    return str(p.loc[p["centre"] != LEAD_CENTRE, "patient_id"].iloc[0])


PID = _own_patient()
OTHER = _other_patient()

CASES = [
    PageCase("home", None, "/", "a.btn[href='/login']"),
    PageCase("login", None, "/login", "button[type=submit]"),
    PageCase("home-analyst", "analyst", "/", "main a[href='/dashboard/registry']"),
    PageCase("tool", None, "/tool", "#make-report"),
    PageCase("patients", "lead", "/patients", f"a[href='/patients/{PID}']"),
    PageCase("patient", "lead", f"/patients/{PID}", "main a[href*='/new/']"),
    PageCase("form", "lead", f"/patients/{PID}/new/edss", "#save"),
    PageCase("dashboard", "lead", "/dashboard", "main a[href='#outcomes-h']"),
    PageCase("registry", "analyst", "/dashboard/registry", "main a[href='#outcomes-h']"),
    PageCase("admin-dashboard", "admin", "/dashboard",
             f"#centres a[href='/dashboard?centre={LEAD_CENTRE}']"),
    PageCase("audit", "lead", "/audit", "main .table-wrap, main nav a"),
    PageCase("exchange", "lead", "/exchange", "#upload-bundle"),
    PageCase("exchange-refused", "lead", "@bad-upload", "#download-issues"),
    PageCase("exchange-conflict", "lead", "@conflict-upload", "#update-existing"),
    PageCase("users", "admin", "/users", "main button[type=submit]"),
    PageCase("choose-centre", "analyst", "/dashboard", "main a[href^='/dashboard?centre=']"),
    PageCase("forbidden", "lead", f"/patients/{OTHER}", "main a[href='/']", 403),
]

AUDIT_JS = r"""
() => {
  const problems = [];
  const visible = el => {
    const s = getComputedStyle(el);
    if (s.display === 'none' || s.visibility === 'hidden') return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const describe = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.getAttribute('name') ? `[name=${el.getAttribute('name')}]` : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '');
  // 1. form controls have an accessible name
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || !visible(el)) continue;
    const id = el.id;
    const byFor = id && document.querySelector(`label[for="${CSS.escape(id)}"]`);
    const wrapped = el.closest('label');
    const aria = (el.getAttribute('aria-label') || '').trim();
    const ids = (el.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean);
    const byIds = ids.some(i => (document.getElementById(i)?.textContent || '').trim());
    const text = (byFor && byFor.textContent.trim()) || (wrapped && wrapped.textContent.trim());
    if (!text && !aria && !byIds) problems.push(`label: ${describe(el)} has no label`);
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    if (!visible(el)) continue;
    const name = (el.textContent || '').trim() || el.getAttribute('aria-label') ||
                 el.querySelector('img[alt]')?.getAttribute('alt');
    if (!name) problems.push(`name: ${describe(el)} has no text`);
  }
  // 2. images and SVG
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push(`alt: ${describe(img)} has no alt`);
  }
  for (const svg of document.querySelectorAll('svg')) {
    if (svg.parentElement.closest('svg')) continue;
    if (svg.closest('[aria-hidden="true"]')) continue;
    const labelled = (svg.getAttribute('aria-label') || '').trim() ||
      (svg.getAttribute('aria-labelledby') || '').trim() || svg.querySelector(':scope > title');
    if (svg.getAttribute('role') !== 'img' || !labelled)
      problems.push(`svg: ${describe(svg)} has no role=img with a text alternative`);
  }
  // 3. headings
  const hs = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')];
  const h1s = hs.filter(h => h.tagName === 'H1').length;
  if (h1s !== 1) problems.push(`headings: ${h1s} h1 elements`);
  let last = 0;
  for (const h of hs) {
    const level = +h.tagName[1];
    if (last && level > last + 1)
      problems.push(`headings: h${last} then h${level} ("${h.textContent.trim().slice(0, 40)}")`);
    last = level;
  }
  // 4. contrast
  const parse = c => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const lum = c => {
    const f = v => {
      v /= 255;
      return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const blend = (top, bottom) => ({r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a), b: top.b * top.a + bottom.b * (1 - top.a), a: 1});
  const background = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let bg = {r: 255, g: 255, b: 255, a: 1};
    for (const c of layers.reverse()) bg = blend(c, bg);
    return bg;
  };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const el = n.parentElement;
    if (!el || seen.has(el) || el.closest('svg, script, style, option')) continue;
    seen.add(el);
    if (!visible(el)) continue;
    const s = getComputedStyle(el);
    const fg0 = parse(s.color);
    if (!fg0) continue;
    const bg = background(el);
    const fg = blend({...fg0, a: fg0.a * (+s.opacity || 1)}, bg);
    const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(s.fontSize), bold = +s.fontWeight >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < need)
      problems.push(`contrast: ${describe(el)} "${n.textContent.trim().slice(0, 30)}" ` +
                    `${ratio.toFixed(2)}:1 < ${need}:1 (${s.color} on ` +
                    `rgb(${[bg.r, bg.g, bg.b].map(Math.round).join(',')}))`);
  }
  // 5. a region that scrolls sideways (a wide table on a phone) can be scrolled with the
  // keyboard: it is focusable or holds something focusable
  const focusable = 'a[href], button, input, select, textarea, summary, [tabindex]';
  for (const el of document.querySelectorAll('body *')) {
    const s = getComputedStyle(el);
    if (!['auto', 'scroll'].includes(s.overflowX)) continue;
    if (el.scrollWidth <= el.clientWidth + 1 || !visible(el)) continue;
    if (el.matches('[tabindex]:not([tabindex="-1"])') || el.querySelector(focusable)) continue;
    problems.push(`keyboard: ${describe(el)} scrolls sideways but cannot be reached with Tab`);
  }
  // 6. nothing wider than the viewport (phone)
  const over = document.documentElement.scrollWidth - document.documentElement.clientWidth;
  if (over > 1) problems.push(`layout: page is ${over}px wider than the viewport`);
  return problems;
}
"""

FOCUS_JS = r"""
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  // focus inside the browser's own controls (a date input's calendar button) is drawn by
  // the browser, not by the page's styles
  if (!el.matches(':focus')) return null;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  const shadow = s.boxShadow && s.boxShadow !== 'none';
  return {visible: outline || shadow,
          what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                ' "' + (el.textContent || el.value || '').trim().slice(0, 30) + '"'};
}
"""


@pytest.fixture(scope="module")
def a11y_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hsctms.datasets import demo_bundle_path
    from hsctms.db import connect, import_bundle
    from hsctms.db.users import add_user

    db = tmp_path_factory.mktemp("a11y") / "registry.sqlite"
    import_bundle(demo_bundle_path(), db, user="test")
    engine = connect(db)
    add_user(engine, "admin", PASSWORD, "admin", None)
    add_user(engine, "lead", PASSWORD, "centre_lead", LEAD_CENTRE)
    add_user(engine, "analyst", PASSWORD, "analyst", None)
    engine.dispose()
    return db


@pytest.fixture(scope="module")
def a11y_server(a11y_db: Path) -> Iterator[str]:
    import uvicorn

    from hsctms.web import WebSettings, create_app

    app = create_app(WebSettings(db=a11y_db, secret_key=SECRET, secure_cookies=False))
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


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        yield b
        b.close()


def _bad_bundle() -> bytes:
    from hsctms.datasets import demo_bundle_path

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(demo_bundle_path().iterdir()):
            data = path.read_bytes()
            if path.name == "edss.csv":  # an impossible month on every row
                head, *rows = data.decode().splitlines()
                rows = [re.sub(r",(\d{4})-\d\d-", r",\1-13-", r, count=1) if i % 3 == 0
                        else r for i, r in enumerate(rows)]
                data = "\n".join([head, *rows]).encode() + b"\n"
            zf.writestr(path.name, data)
    return buf.getvalue()


def _conflicting_bundle() -> bytes:
    """The lead's centre from the demo bundle with one EDSS score changed (a conflict)."""
    import csv

    from hsctms.datasets import demo_bundle_path

    files = {p.name: p.read_text(encoding="utf-8") for p in demo_bundle_path().iterdir()}
    patients = list(csv.DictReader(io.StringIO(files["patients.csv"])))
    ids = {r["patient_id"] for r in patients if r["centre"] == LEAD_CENTRE}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in sorted(files.items()):
            if not name.endswith(".csv"):
                continue
            reader = csv.DictReader(io.StringIO(text))
            rows = [r for r in reader if r.get("patient_id") in ids]
            if name == "edss.csv":
                rows[0]["edss"] = "9.5" if rows[0]["edss"] != "9.5" else "9.0"
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=reader.fieldnames or [],
                                    lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            zf.writestr(name, out.getvalue())
    return buf.getvalue()


def _open(browser: Any, base: str, case: PageCase, width: int, tmp_path: Path) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    if case.user:
        page.goto(base + "/login")
        page.fill("#username", case.user)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
    if case.path.startswith("@"):
        page.goto(base + "/exchange")
        bundle = tmp_path / "centre.zip"
        bundle.write_bytes(_bad_bundle() if case.path == "@bad-upload"
                           else _conflicting_bundle())
        page.set_input_files("#bundle", str(bundle))
        with page.expect_navigation():
            page.click("#upload-bundle")
    else:
        resp = page.goto(base + case.path)
        assert resp is not None and resp.status == case.status, (case.path, resp and resp.status)
    return context, page


def _tab_to(page: Any, selector: str, limit: int = 80) -> list[str]:
    """Press Tab until an element matching ``selector`` has the focus; problems found."""
    problems: list[str] = []
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); "
                  "window.scrollTo(0, 0); }")
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_JS)
        if focus is None:
            continue
        if not focus["visible"]:
            problems.append(f"focus: {focus['what']} shows no focus indicator")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return problems
    problems.append(f"keyboard: {limit} Tab presses do not reach {selector}")
    return problems


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("HSCTMS_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"a11y-{name}.png"), full_page=True)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_page_is_accessible(case: PageCase, browser: Any, a11y_server: str,
                            tmp_path: Path) -> None:
    problems: list[str] = []
    for width in WIDTHS:
        context, page = _open(browser, a11y_server, case, width, tmp_path)
        try:
            _shot(page, tmp_path, f"{case.name}-{width}")
            problems += [f"{width}px {p}" for p in page.evaluate(AUDIT_JS)]
            problems += [f"{width}px {p}" for p in _tab_to(page, case.action)]
        finally:
            context.close()
    assert not problems, f"{case.name}:\n" + "\n".join(dict.fromkeys(problems))


def test_skip_link_is_first_and_visible_on_focus(browser: Any, a11y_server: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(a11y_server + "/tool")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.className") == "skip"
        box = page.evaluate("() => document.activeElement.getBoundingClientRect().left")
        assert box >= 0  # moved on screen when focused
        page.keyboard.press("Enter")
        assert page.evaluate("() => location.hash") == "#main"
    finally:
        context.close()


BAD_PAGE = """<!doctype html><html lang="en"><body><main>
<h1>Title</h1><h3>Skipped a level</h3><h1>Second h1</h1>
<input id="x" name="unlabelled">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<svg width="10" height="10"><rect width="10" height="10"/></svg>
<p style="color:#aaa">grey on white</p>
<button style="outline:none">No focus ring</button>
<div style="overflow-x:auto;width:100px"><div style="width:600px">wide</div></div>
</main></body></html>"""


def test_checks_find_known_problems(browser: Any) -> None:
    """The in-page checks are not vacuous: each kind of problem of a known-bad page is
    found (label, alt, svg, headings, contrast, keyboard scrolling, focus indicator)."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.set_content(BAD_PAGE)
        found = page.evaluate(AUDIT_JS)
        kinds = {p.split(":", 1)[0] for p in found}
        assert kinds >= {"label", "alt", "svg", "headings", "contrast", "keyboard"}, found
        assert any("2 h1" in p for p in found) and any("h1 then h3" in p for p in found)
        assert any('"grey on white" 2.32:1' in p for p in found), found
        assert any("focus indicator" in p for p in _tab_to(page, "button"))
    finally:
        context.close()
