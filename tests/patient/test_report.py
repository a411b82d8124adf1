"""The report object, its HTML and JSON, PDF rendering and the CLI."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest
from typer.testing import CliRunner

from hsctms.cli import app
from hsctms.errors import ConfigurationError, ProfileError
from hsctms.patient.report import (
    JSON_SCHEMA_ID,
    build_report,
    fmt100,
    render_patient_report,
    report_context,
    write_patient_report,
)

from .conftest import PROFILE_DIR


def _text(markup: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)))


@pytest.mark.parametrize(("value", "shown"), [(91.3, "91"), (2.1, "2.1"), (0.17, "0.2"),
                                              (9.96, "10"), (3.0, "3"), (None, "–")])
def test_fmt100(value, shown):
    assert fmt100(value) == shown


def test_never_synthetic(rendered, reports):
    for name, markup in rendered.items():
        assert reports[name].meta.synthetic is False
        assert "SYNTHETIC DATA" not in markup and 'class="synthetic-banner"' not in markup


def test_every_benefit_sentence_in_html(reports, rendered):
    for name, rep in reports.items():
        text = _text(rendered[name])
        ctx = report_context(rep)
        for b in ctx["benefits"]:
            assert b["sentence"] in text, (name, b["key"])
        assert "aHSCT is not a cure" in text
        assert "Questions to ask a centre" in text
        assert " 1 in " not in text  # IPDAS: no "1 in x" formats


def test_every_figure_source_cited(reports, rendered):
    for name, rep in reports.items():
        markup = html_lib.unescape(rendered[name])
        for f in rep.estimates.all_figures():
            assert f.citation in markup, (name, f.study_id)


def test_unverified_flag_visible(reports, rendered):
    rep, markup = reports["young-rrms-high-activity"], rendered["young-rrms-high-activity"]
    flagged = [f for f in rep.estimates.all_figures() if not f.verified]
    assert flagged
    assert "(unverified)" in markup


def test_verdicts_in_html(rendered, reports):
    for name, rep in reports.items():
        for s in rep.eligibility.sets:
            m = re.search(rf'id="set-{re.escape(s.criteria_set.id)}" data-verdict="(\w+)"',
                          rendered[name])
            assert m and m.group(1) == s.verdict


def test_icon_arrays_have_text_alternatives(rendered):
    for markup in rendered.values():
        svgs = re.findall(r"<svg[^>]*>", markup)
        assert svgs
        for tag in svgs:
            assert 'role="img"' in tag and "aria-labelledby" in tag


def test_json_document(reports):
    d = json.loads(render_patient_report(reports["ppms-enhancing"], "json"))
    assert d["schema"] == JSON_SCHEMA_ID
    assert {"profile", "stratum", "eligibility", "estimates", "report", "provenance"} <= set(d)
    assert d["report"]["synthetic"] is False
    fig = d["estimates"]["benefits"][0]
    assert {"key", "availability", "figures", "range_per100"} <= set(fig)
    with pytest.raises(ConfigurationError):
        render_patient_report(reports["ppms-enhancing"], "docx")  # type: ignore[arg-type]


def test_bad_profile_is_profile_error(evidence):
    with pytest.raises(ProfileError, match="edss"):
        build_report({"age_years": 30, "phenotype": "RRMS", "edss": 0.5}, evidence)


@pytest.mark.slow
def test_pdf_renders(reports, tmp_path):
    import weasyprint
    rep = reports["spms-edss-6.5-no-activity"]
    out = write_patient_report(rep, tmp_path / "r.pdf")
    assert out.read_bytes()[:5] == b"%PDF-"
    doc = weasyprint.HTML(string=render_patient_report(rep)).render()
    assert len(doc.pages) >= 4


def test_cli_html_and_json(tmp_path):
    runner = CliRunner()
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    res = runner.invoke(app, ["expect", str(PROFILE_DIR / "edss2-newly-diagnosed.json"),
                              "--out", str(out), "--json", str(js)])
    assert res.exit_code == 0, res.output
    assert "What to expect from aHSCT" in out.read_text(encoding="utf-8")
    d = json.loads(js.read_text(encoding="utf-8"))
    ectrims = next(s for s in d["eligibility"] if s["set"] == "ectrims-ebmt-2025")
    assert ectrims["verdict"] == "not_eligible"
    assert "ECTRIMS / EBMT consensus 2025: does not meet the criteria" in res.output


def test_cli_errors(tmp_path):
    runner = CliRunner()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"age_years": 30, "phenotype": "RRMS", "edss": 6.3}))
    res = runner.invoke(app, ["expect", str(bad)])
    assert res.exit_code == 1
    assert "6.3 is not on the Kurtzke EDSS scale" in res.output
    res = runner.invoke(app, ["expect", str(PROFILE_DIR / "ppms-enhancing.json"),
                              "--out", str(tmp_path / "r.docx")])
    assert res.exit_code == 1 and "Unknown report format" in res.output


def test_missing_information_named_plainly(evidence):
    rep = build_report({"age_years": 30, "phenotype": "RRMS", "edss": 3.0}, evidence)
    text = _text(render_patient_report(rep))
    assert "relapses in the last 12 months; enhancing lesions" in text
    assert "cannot tell yet" in text.lower()


def test_docs_describe_every_json_key(reports):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "patient-report.md").read_text()
    d = reports["ppms-enhancing"].to_dict()
    for key in d:
        assert f"`{key}`" in doc or f"`{key}." in doc, key
    for key in d["estimates"]:
        assert f"`estimates.{key}`" in doc or f"`{key}`" in doc, key
    for key in d["eligibility"][0]:
        assert f"`{key}`" in doc, key
    fig = next(b["figures"][0] for b in d["estimates"]["benefits"] if b["figures"])
    for key in fig:
        assert key in doc, key


def test_cli_expect_lists_harms_as_well_as_benefits():
    """The terminal summary lists transplant-related mortality (with its CI and context) and
    the headline harms, from the same library objects as the report."""
    from hsctms.model.profile import load_profile
    from hsctms.patient.report import build_report

    res = CliRunner().invoke(app, ["expect", str(PROFILE_DIR / "man-rrms-active.json")])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    est = build_report(load_profile(PROFILE_DIR / "man-rrms-active.json")).estimates
    assert "Harms:" in out
    assert " ".join(est.harms_summary[1].split()) in out  # TRM for you, with its 95% CI
    assert "95% CI" in out and "Transplant-related mortality" in out
    assert "Context: all" in out
    assert " ".join(est.harm("febrile_neutropenia").summary.split()) in out
    assert "pregnant" not in out and "periods" not in out
    assert out.index("had no relapse") < out.index("Harms:")
