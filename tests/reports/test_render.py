"""Report rendering: base template, synthetic banner, provenance footer, PDF output."""

from __future__ import annotations

from pathlib import Path

import pytest

from hsctms.errors import ConfigurationError
from hsctms.reports.render import ReportMeta, environment, render_html, write_report


def _render(synthetic: bool) -> str:
    env = environment()
    tmpl = env.from_string(
        '{% extends "base.html.j2" %}{% block content %}<p>{{ x|pct }}</p>{% endblock %}'
    )
    meta = ReportMeta(title="T", synthetic=synthetic, n=12, data_date="2026-01-01",
                      definitions=["EFS: death, worsening, relapse or MRI activity"])
    return tmpl.render(meta=meta, x=0.692)


def test_synthetic_banner_only_for_synthetic() -> None:
    assert "SYNTHETIC DATA" in _render(True)
    assert "SYNTHETIC DATA" not in _render(False)


def test_footer_states_n_date_definitions_versions() -> None:
    html = _render(False)
    for needle in ("n = 12", "2026-01-01", "EFS: death", "hsctms", "69.2%"):
        assert needle in html


def test_unknown_template_and_format_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        render_html("nope.html.j2", {}, ReportMeta(title="x"))
    with pytest.raises(ConfigurationError, match="Unknown report format"):
        write_report("<html></html>", tmp_path / "r.docx")


def test_pdf_is_written(tmp_path: Path) -> None:
    out = write_report(_render(True), tmp_path / "r.pdf")
    assert out.read_bytes()[:5] == b"%PDF-"


def test_pdf_of_synthetic_report_has_banner_on_every_page(tmp_path: Path) -> None:
    import shutil
    import subprocess

    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext (poppler-utils, installed by scripts/setup --test) missing")
    env = environment()
    long_body = "".join(f"<h2>Section {i}</h2><p>{'text ' * 400}</p>" for i in range(6))
    tmpl = env.from_string('{% extends "base.html.j2" %}{% block content %}' + long_body
                           + "{% endblock %}")
    html = tmpl.render(meta=ReportMeta(title="T", synthetic=True))
    out = write_report(html, tmp_path / "long.pdf")
    text = subprocess.run([pdftotext, str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) >= 3
    assert all("SYNTHETIC DATA" in p for p in pages)


def _pdf_pages(path: Path) -> list[str]:
    import shutil
    import subprocess

    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext (poppler-utils, installed by scripts/setup --test) missing")
    text = subprocess.run([pdftotext, str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    return [p for p in text.split("\f") if p.strip()]


def _long_synthetic() -> str:
    body = "".join(f"<h2>Section {i}</h2><p>{'text ' * 400}</p><details><summary>More</summary>"
                   f"<p>detail {i} (unverified)</p></details>" for i in range(5))
    tmpl = environment().from_string('{% extends "base.html.j2" %}{% block content %}' + body
                                     + "{% endblock %}")
    return tmpl.render(meta=ReportMeta(title="T", synthetic=True))


@pytest.mark.parametrize("engine", ["chromium", "weasyprint"])
def test_both_pdf_engines_keep_banner_page_numbers_and_folded_content(
        engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from hsctms.reports.render import write_pdf

    if engine == "chromium":
        request.getfixturevalue("chromium")  # skips without a Chromium
    out = tmp_path / f"{engine}.pdf"
    assert write_pdf(_long_synthetic(), out, engine=engine) == engine
    pages = _pdf_pages(out)
    assert len(pages) >= 3
    assert all("SYNTHETIC DATA" in p for p in pages)
    assert all(f"of {len(pages)}" in p for p in pages)  # running "page n of m"
    text = "".join(pages)
    assert all(f"detail {i} (unverified)" in text for i in range(5))  # <details> printed open


def test_chromium_print_html_opens_details_and_repeats_banner() -> None:
    from hsctms.reports.render import chromium_print_html

    html = chromium_print_html(_long_synthetic().replace("<details>", "<details open>", 1))
    assert "<details>" not in html
    assert html.count("<details open") == 5
    assert '@top-center { content: "SYNTHETIC DATA' in html
    assert '@top-center { content: "' not in chromium_print_html(_render(False))


def test_pdf_engine_choice_and_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hsctms.reports import render

    with pytest.raises(ConfigurationError, match="Unknown PDF engine"):
        render.write_pdf("<html></html>", tmp_path / "x.pdf", engine="latex")
    monkeypatch.setenv("HSCTMS_CHROMIUM", str(tmp_path / "no-such-chromium"))
    assert render.find_chromium() is None
    with pytest.raises(ConfigurationError, match="no Chromium found"):
        render.write_pdf("<html></html>", tmp_path / "x.pdf", engine="chromium")
    steps: list[str] = []
    out = write_report(_render(True), tmp_path / "auto.pdf", progress=steps.append)
    assert out.read_bytes()[:5] == b"%PDF-"
    assert steps == ["laying out the PDF with WeasyPrint"]  # auto without Chromium
    fake = tmp_path / "broken-chromium"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("HSCTMS_CHROMIUM", str(fake))
    assert render.write_pdf(_render(True), tmp_path / "fb.pdf") == "weasyprint"
    with pytest.raises(ConfigurationError, match="did not print"):
        render.write_pdf(_render(True), tmp_path / "x.pdf", engine="chromium")
