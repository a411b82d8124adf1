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
