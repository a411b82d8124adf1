"""Outcomes pipeline, report and CLI on the synthetic demo cohort."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from hsctms.analysis import OutcomesAnalysis, OutcomesSettings, run_outcomes
from hsctms.reports.outcomes import build_outcomes_report, suppress_counts
from hsctms.survival import kaplan_meier


@pytest.fixture(scope="module")
def analysis() -> OutcomesAnalysis:
    from hsctms.datasets import load_demo_cohort

    return run_outcomes(load_demo_cohort(), "halt_ms",
                        settings=OutcomesSettings(level=0.9, years=(1, 2, 3, 4, 5)))


def test_json_is_complete_and_strict(analysis: OutcomesAnalysis) -> None:
    d = analysis.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert d["schema"] == "hsctms.outcomes" and d["synthetic"] is True
    assert d["n"] == analysis.n and d["level"] == 0.9 and d["conf_type"] == "log-log"
    assert {r["endpoint"] for r in d["halt_ms"]["rows"]} == {
        "efs", "worsening", "relapse", "mri_activity", "neda3_loss"}
    assert d["halt_ms"]["published"]["efs"]["label"] == "published"
    assert "Nash" in text and "Shevchenko" in text
    assert d["cox_efs"] is not None and d["cox_ph_test"] is not None


def test_table_matches_direct_kaplan_meier(analysis: OutcomesAnalysis) -> None:
    f = analysis.frame
    km = kaplan_meier(f["efs_time"] / 365.25, f["efs_event"], level=0.9)
    at = km.survival_at([5.0])
    row = next(r for r in analysis.halt_ms.rows if r.endpoint == "efs" and r.year == 5.0)
    assert row.estimate == pytest.approx(float(at["surv"][0]), abs=1e-15)
    assert row.at_risk == int(at["n_risk"][0])


@pytest.mark.r
def test_pipeline_efs_matches_r_survfit(analysis: OutcomesAnalysis, rscript: str | None,
                                        tmp_path: Path) -> None:
    """End to end: the EFS row of the HALT-MS table equals R survfit on the same table
    (tolerance 1e-9). Skipped without R (the survival layer has committed golden values)."""
    if not rscript:
        pytest.skip("Rscript not available")
    f = analysis.frame
    csv = tmp_path / "efs.csv"
    f.assign(t=f["efs_time"] / 365.25)[["t", "efs_event"]].to_csv(csv, index=False)
    code = (f"library(survival); d <- read.csv('{csv}'); "
            "s <- summary(survfit(Surv(t, efs_event) ~ 1, data=d, conf.type='log-log', "
            "conf.int=0.9), times=c(1,2,3,4,5), extend=TRUE); "
            "cat(paste(c(s$surv, s$lower, s$upper, s$n.risk), collapse=' '))")
    out = subprocess.run([rscript, "-e", code], capture_output=True, text=True, check=True)
    vals = np.array(out.stdout.split(), dtype=float).reshape(4, 5)
    rows = [r for r in analysis.halt_ms.rows if r.endpoint == "efs"]
    np.testing.assert_allclose([r.estimate for r in rows], vals[0], atol=1e-9)
    np.testing.assert_allclose([r.lower for r in rows], vals[1], atol=1e-9)
    np.testing.assert_allclose([r.upper for r in rows], vals[2], atol=1e-9)
    assert [r.at_risk for r in rows] == vals[3].astype(int).tolist()


def test_report_html_states_what_it_must(analysis: OutcomesAnalysis, tmp_path: Path) -> None:
    rep = build_outcomes_report(analysis, figures=False)
    html = rep.html()
    assert "SYNTHETIC DATA" in html
    assert "data as of 2026" in html or analysis.provenance.data_date in html
    assert f"n = {analysis.n}" in html
    assert "halt_ms" in html and "log-log" in html and "90% CI" in html
    assert "published" in html and "Nash 2017" in html and "Shevchenko 2015" in html
    assert "hsctms" in html  # software version in the footer
    path = rep.write(tmp_path / "r.html")
    assert path.read_text(encoding="utf-8") == html


def test_small_count_suppression() -> None:
    payload: dict[str, Any] = {"rows": [{"events": 3, "at_risk": 12, "estimate": 0.5},
                                        {"events": 0, "n": 4}], "level": 0.9}
    out = suppress_counts(payload)
    assert out["rows"][0]["events"] == "<5" and out["rows"][0]["at_risk"] == 12
    assert out["rows"][1] == {"events": 0, "n": "<5"} and out["level"] == 0.9


@pytest.mark.slow
def test_cli_writes_html_json_and_figures(tmp_path: Path) -> None:
    from hsctms.cli import app
    from hsctms.datasets import write_demo_bundle

    write_demo_bundle(tmp_path / "bundle", 120, 11)
    res = CliRunner().invoke(app, [
        "analyse", "--data", str(tmp_path / "bundle"), "--out", str(tmp_path / "o.html"),
        "--json", str(tmp_path / "o.json"), "--figures", str(tmp_path / "figs"),
        "--level", "0.95", "--years", "1,3"])
    assert res.exit_code == 0, res.output
    d = json.loads((tmp_path / "o.json").read_text())
    assert d["level"] == 0.95 and d["years"] == [1.0, 3.0] and d["n"] == 120
    assert (tmp_path / "figs" / "efs.svg").exists() and (tmp_path / "figs" / "efs.png").exists()
    assert "SYNTHETIC" in (tmp_path / "o.html").read_text()


def test_cli_errors_are_clear(tmp_path: Path) -> None:
    from hsctms.cli import app

    res = CliRunner().invoke(app, ["analyse", "--out", str(tmp_path / "o.html")])
    assert res.exit_code == 1
    res = CliRunner().invoke(app, ["analyse", "--data", str(tmp_path), "--out",
                                   str(tmp_path / "o.docx")])
    assert res.exit_code == 1


@pytest.mark.slow
def test_report_pdf(analysis: OutcomesAnalysis, tmp_path: Path) -> None:
    import weasyprint  # noqa: F401
    path = build_outcomes_report(analysis).write(tmp_path / "r.pdf")
    data = path.read_bytes()
    assert data[:5] == b"%PDF-" and len(data) > 50_000


def test_write_outcomes_for_demo(analysis: OutcomesAnalysis, tmp_path: Path) -> None:
    from hsctms.reports.outcomes import write_outcomes

    paths = write_outcomes(analysis, tmp_path, pdf=False)
    assert paths["outcomes.html"].exists() and paths["outcomes.json"].exists()
    assert json.loads(paths["outcomes.json"].read_text())["schema"] == "hsctms.outcomes"
    assert paths["figures/efs.svg"].exists() and paths["figures/efs.png"].exists()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                  if p.is_file()) == sorted(paths)


@pytest.mark.slow
def test_cli_db_and_data_give_the_same_numbers(tmp_path: Path) -> None:
    from hsctms.cli import app
    from hsctms.datasets import write_demo_bundle
    from hsctms.db import import_bundle

    write_demo_bundle(tmp_path / "bundle", 150, 5)
    db = tmp_path / "reg.db"
    import_bundle(tmp_path / "bundle", db)
    outs = []
    for opt, val in (("--data", tmp_path / "bundle"), ("--db", db)):
        js = tmp_path / f"{opt[2:]}.json"
        res = CliRunner().invoke(app, ["analyse", opt, str(val), "--out",
                                       str(tmp_path / f"{opt[2:]}.html"), "--json", str(js)])
        assert res.exit_code == 0, res.output
        outs.append(json.loads(js.read_text()))
    a, b = outs
    assert a["n"] == b["n"] == 150
    assert a["halt_ms"]["rows"] == b["halt_ms"]["rows"]
    assert a["shevchenko"]["progression_cif"] == b["shevchenko"]["progression_cif"]


@pytest.mark.parametrize("n", [1, 8, 25])
def test_small_cohorts_still_report(n: int) -> None:
    from hsctms.datasets import load_demo_cohort

    c = load_demo_cohort()
    ids = c.baseline_table()["patient_id"].iloc[:n]
    a = run_outcomes(c.subset(ids))
    json.dumps(a.to_dict(), allow_nan=False)
    html = build_outcomes_report(a, figures=False).html()
    assert f"n = {a.n}" in html
    if n < 10:
        assert a.cox is None and a.cox_note and "not fitted" in a.cox_note


def test_real_data_has_no_synthetic_banner() -> None:
    import dataclasses

    from hsctms.datasets import load_demo_cohort

    c = dataclasses.replace(load_demo_cohort(), synthetic=False)
    html = build_outcomes_report(run_outcomes(c), figures=False).html()
    assert "SYNTHETIC DATA" not in html


def _provenances(obj: Any) -> list[dict[str, Any]]:
    """Every ``provenance`` mapping nested anywhere in a JSON-like structure."""
    found: list[dict[str, Any]] = []
    if isinstance(obj, dict):
        if isinstance(obj.get("provenance"), dict):
            found.append(obj["provenance"])
        for v in obj.values():
            found += _provenances(v)
    elif isinstance(obj, list):
        for v in obj:
            found += _provenances(v)
    return found


def test_every_nested_result_records_the_cohort_as_source(analysis: OutcomesAnalysis) -> None:
    """The source is stated once (``cohort.data_source()``); every result made from the cohort
    (endpoints, curves, tests, Cox model) records it without being passed it."""
    from hsctms.datasets import load_demo_cohort

    cohort = load_demo_cohort()
    provs = _provenances(analysis.to_dict())
    assert len(provs) >= 5
    assert all(p["synthetic"] is True for p in provs)
    assert {p["data_date"] for p in provs} == {cohort.data_date.isoformat()}
    assert kaplan_meier([1, 2], [1, 0]).provenance.synthetic is False  # nothing leaks out


def test_report_has_table_1_and_a_safety_section(analysis: OutcomesAnalysis) -> None:
    """Issue 14: a publishable report opens with who was transplanted and leads with
    transplant-related mortality; its numbers are the analysis' own."""
    import re

    html = build_outcomes_report(analysis, figures=False).html()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Table 1. Characteristics at the index transplant" in text
    assert text.index("Patients at transplant") < text.index("Safety") < text.index(
        "HALT-MS style outcomes")
    assert analysis.safety is not None and analysis.baseline is not None
    trm = analysis.safety.trm.query("by == 'all' and day == 100").iloc[0]
    assert f"All patients day 100 {trm['events']}/{trm['n']} {100 * trm['estimate']:.2f}%" in text
    for word in ("adverse", "mortality", "conditioning", "Sormani 2017"):
        assert word.lower() in text.lower(), word
    sup = build_outcomes_report(analysis, figures=False, suppress_small_counts=True).html()
    sup_text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", sup))
    assert f"All patients day 100 {trm['events']}/" not in sup_text  # 2 deaths: suppressed
    assert "All patients day 100 &lt;5/" in sup_text or "All patients day 100 <5/" in sup_text


def test_json_baseline_is_suppressed_with_its_own_rule(analysis: OutcomesAnalysis) -> None:
    from hsctms.reports.outcomes import outcomes_outputs

    payload = outcomes_outputs(analysis, suppress_small_counts=True).payload
    cells = [c for r in payload["baseline"]["rows"] for c in r["cells"].values()]
    assert "suppressed" in cells and "<5" in cells and payload["baseline"]["small_count"] == 5
    plain = analysis.to_dict()
    assert plain["baseline"]["small_count"] == 1 and plain["safety"]["n_transplanted"] == 300
    json.dumps(payload, allow_nan=False)


def test_outcomes_settings_defaults_and_validation() -> None:
    from hsctms.errors import ConfigurationError, EstimationError

    s = OutcomesSettings()
    assert s.to_dict() == {"level": 0.9, "years": [1.0, 2.0, 3.0, 4.0, 5.0],
                           "shevchenko_years": None, "conf_type": "log-log",
                           "edss_window_days": 182.0}
    assert s.table_years == tuple(float(k) for k in range(1, 9))
    assert OutcomesSettings(years=(1, 10)).table_years[-1] == 10.0
    assert OutcomesSettings(shevchenko_years=(2, 4)).table_years == (2.0, 4.0)
    for bad, error in [({"years": ()}, EstimationError), ({"years": (0, 1)}, EstimationError),
                       ({"shevchenko_years": (-1,)}, EstimationError),
                       ({"level": 1.5}, ConfigurationError),
                       ({"conf_type": "logit"}, ConfigurationError),
                       ({"edss_window_days": 0}, ConfigurationError)]:
        with pytest.raises(error) as exc:
            OutcomesSettings(**bad)  # type: ignore[arg-type]
        assert exc.value.hint


def test_outcomes_settings_are_used(analysis: OutcomesAnalysis) -> None:
    from hsctms.datasets import load_demo_cohort

    other = run_outcomes(load_demo_cohort(), "halt_ms",
                         settings=OutcomesSettings(level=0.95, years=(1, 2),
                                                   conf_type="plain", edss_window_days=91))
    assert (other.level, other.conf_type, other.years) == (0.95, "plain", (1.0, 2.0))
    assert other.halt_ms.edss_window_days == 91.0
    assert analysis.level == 0.9 and analysis.years == (1.0, 2.0, 3.0, 4.0, 5.0)


def test_report_labels_terms_and_p_values_as_a_paper_does(analysis: OutcomesAnalysis) -> None:
    """Issue 14: no R-style column names (phenotype_grouprelapsing), no "p = <0.001", and
    the follow-up with its unit."""
    import re

    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", build_outcomes_report(
        analysis, figures=False).html()))
    assert "phenotype_grouprelapsing" not in text and "intensitylow" not in text
    assert "Phenotype group: relapsing (vs progressive)" in text
    assert "Conditioning intensity: low (vs high)" in text
    assert "Age at transplant (per year)" in text and "Baseline EDSS (per point)" in text
    assert "p = <" not in text and "p = &lt;" not in text
    # the terminal summary (hsctms analyse, scripts/demo) labels the Cox terms the same way
    assert analysis.cox is not None
    for col in analysis.cox.columns:
        assert f"  {col}:" not in analysis.summary
    assert "Phenotype group: relapsing (vs progressive): HR" in analysis.summary
    assert "Global test: chi2 = " in analysis.summary
    labelled = [line for line in analysis.summary.splitlines()
                if line.startswith(("Cox PH", "Proportional-hazards", "  EDSS change"))
                or ": HR " in line]
    assert len(labelled) >= 2 + len(analysis.cox.columns)
    assert all("p=" not in line for line in labelled)
    assert any(re.search(r"EDSS change at 5 y: .*\d+ improved, \d+ stable, \d+ worsened; "
                         r"signed-rank p (=|<) ", line) for line in labelled)
    assert re.search(r"Median follow-up \d+\.\d years \(reverse Kaplan-Meier; IQR "
                     r"\d+\.\d-\d+\.\d years\)", analysis.summary)
