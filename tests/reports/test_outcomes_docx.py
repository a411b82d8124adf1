"""Word output of the outcomes report: read back with python-docx, the tables hold the JSON's
numbers (formatted here from the JSON, independently of the report code), the figures are
embedded at their journal width and synthetic data are labelled on every page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hsctms.analysis import OutcomesAnalysis, OutcomesSettings, run_outcomes
from hsctms.reports.outcomes import OutcomesOutputs, outcomes_outputs

docx = pytest.importorskip("docx")


@pytest.fixture(scope="module")
def analysis() -> OutcomesAnalysis:
    from hsctms.datasets import load_demo_cohort

    return run_outcomes(load_demo_cohort(), "halt_ms",
                        settings=OutcomesSettings(level=0.9, years=(1, 2, 3, 4, 5)))


@pytest.fixture(scope="module")
def outputs(analysis: OutcomesAnalysis) -> OutcomesOutputs:
    return outcomes_outputs(analysis)


@pytest.fixture(scope="module")
def document(outputs: OutcomesOutputs, tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = outputs.report.write(tmp_path_factory.mktemp("docx") / "outcomes.docx")
    return docx.Document(str(path))


def _tables(doc: Any) -> dict[str, list[list[str]]]:
    """Caption text (the paragraph before each table) -> the table's cell texts."""
    out: dict[str, list[list[str]]] = {}
    caption = ""
    for block in doc.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = "".join(t.text or "" for t in block.iter() if t.tag.endswith("}t"))
            if text.startswith("Table "):
                caption = text
        elif tag == "tbl":
            table = next(t for t in doc.tables if t._tbl is block)
            out[caption] = [[c.text for c in row.cells] for row in table.rows]
    return out


def _find(tables: dict[str, list[list[str]]], words: str) -> list[list[str]]:
    hits = [v for k, v in tables.items() if words in k]
    assert len(hits) == 1, (words, list(tables))
    return hits[0]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def test_synthetic_label_on_every_page_and_at_the_top(document: Any) -> None:
    assert all("SYNTHETIC DATA" in s.header.paragraphs[0].text for s in document.sections)
    assert any("SYNTHETIC DATA" in p.text for p in document.paragraphs[:4])
    assert "synthetic" in document.core_properties.title


def test_every_report_table_is_a_word_table_with_a_caption(document: Any,
                                                           outputs: OutcomesOutputs) -> None:
    from hsctms.reports.outcomes_docx import outcomes_tables

    specs = outcomes_tables(outputs.report.context)
    tables = _tables(document)
    assert len(document.tables) == len(specs) == len(tables)
    for (caption, cells), spec in zip(tables.items(), specs, strict=True):
        assert spec.caption.removeprefix("Table 1. ") in caption
        assert cells[0] == spec.header and len(cells) == len(spec.rows) + 1
    keys = {s.key for s in specs}
    assert {"baseline", "trm", "adverse_events", "halt_ms", "shevchenko_cif",
            "halt_ms_like", "shevchenko_comparisons", "cox"} <= keys


def test_halt_ms_cells_equal_the_json(document: Any, outputs: OutcomesOutputs) -> None:
    cells = _find(_tables(document), "Survival free of each event")
    by_label = {r[0]: r for r in cells[1:]}
    years = outputs.payload["halt_ms"]["years"]
    for row in outputs.payload["halt_ms"]["rows"]:
        cell = by_label[row["label"]][1 + years.index(row["year"])]
        value, ci, detail = cell.split("\n")
        assert value == _pct(row["estimate"])
        assert ci == f"{100 * row['lower']:.1f}–{100 * row['upper']:.1f}"
        assert detail == f"{row['events']}/{row['at_risk']}"


def test_safety_cells_equal_the_json(document: Any, outputs: OutcomesOutputs) -> None:
    tables = _tables(document)
    trm = _find(tables, "Transplant-related mortality")[1:]
    records = outputs.payload["safety"]["trm"]
    assert len(trm) == len(records)
    for cells, r in zip(trm, records, strict=True):
        assert cells[1] == f"day {r['day']}"
        assert cells[2] == f"{r['events']}/{r['n']}"
        assert cells[3] == f"{100 * r['estimate']:.2f}%"
        assert cells[4] == f"{100 * r['lower']:.2f}–{100 * r['upper']:.2f}"
    aes = _find(tables, "Severe adverse events")[1:]
    assert [int(c[2]) for c in aes] == [r["patients"] for r in
                                       outputs.payload["safety"]["adverse_events"]]


def test_baseline_cox_and_comparison_cells_equal_the_json(document: Any,
                                                          outputs: OutcomesOutputs) -> None:
    tables = _tables(document)
    t1 = _find(tables, "Characteristics at the index transplant")
    base = outputs.payload["baseline"]
    assert t1[0][1:] == [f"{c} (n={base['n'][c]})" for c in base["columns"]]
    for cells, r in zip(t1[1:], base["rows"], strict=True):
        assert cells[0] == r["label"]
        assert cells[1:] == [r["cells"][c] for c in base["columns"]]
    cox = _find(tables, "Cox proportional-hazards model")[1:]
    coefs = outputs.payload["cox_efs"]["coefficients"]
    assert [c[1] for c in cox] == [f"{r['hr']:.2f}" for r in coefs]
    assert [c[2] for c in cox] == [f"{r['hr_lower']:.2f}–{r['hr_upper']:.2f}" for r in coefs]
    comp = _find(tables, "Shevchenko 2015 time points")[1:]
    published = outputs.payload["published_comparisons"]
    assert [c[1] for c in comp] == [_pct(r["estimate"]) for r in published]


def test_figures_are_embedded_at_their_width(document: Any, outputs: OutcomesOutputs) -> None:
    from docx.shared import Inches

    shapes = document.inline_shapes
    assert len(shapes) == len(outputs.figures)
    for shape, fig in zip(shapes, outputs.figures.values(), strict=True):
        assert abs(shape.width - Inches(float(fig.get_size_inches()[0]))) <= 1
    captions = [p.text for p in document.paragraphs if p.text.startswith("Figure ")]
    assert len(captions) == len(outputs.figures)
    assert any("Kaplan–Meier" in c and "pointwise 90%" in c for c in captions)


def test_cli_format_docx(tmp_path: Path) -> None:
    from hsctms.cli import app

    runner = CliRunner()
    bundle = tmp_path / "bundle"
    res = runner.invoke(app, ["demo-data", "-n", "80", "--out", str(bundle)])
    assert res.exit_code == 0, res.output
    out = tmp_path / "outcomes.docx"
    res = runner.invoke(app, ["analyse", "--data", str(bundle), "--format", "docx",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = docx.Document(str(out))
    assert doc.tables and "SYNTHETIC DATA" in doc.sections[0].header.paragraphs[0].text
    res = runner.invoke(app, ["analyse", "--data", str(bundle), "--format", "docx",
                              "--out", str(tmp_path / "outcomes.pdf")])
    assert res.exit_code != 0 and "does not match" in res.output
    assert not (tmp_path / "outcomes.pdf").exists()


#: LaTeX escapes of the special characters, undone when reading the file back.
UNESCAPE = {r"\textbackslash{}": "\\", r"\textasciitilde{}": "~", r"\textasciicircum{}": "^",
            r"\textless{}": "<", r"\textgreater{}": ">", r"\&": "&", r"\%": "%", r"\$": "$",
            r"\#": "#", r"\_": "_", r"\{": "{", r"\}": "}"}


def _unescape(text: str) -> str:
    import re

    return re.sub("|".join(re.escape(k) for k in UNESCAPE), lambda m: UNESCAPE[m.group(0)],
                  text)


def _tex_tables(tex: str) -> dict[str, list[list[str]]]:
    """label -> body rows of each booktabs table, cells unescaped, lines joined by newlines."""
    import re

    out = {}
    for m in re.finditer(r"\\label\{tab:(\w+)\}.*?\\midrule\n(.*?)\\bottomrule", tex, re.S):
        rows = []
        for line in m.group(2).strip("\n").split("\n"):
            body = line.removesuffix(r" \\")
            cells = re.split(r" & (?![^{]*\})", body)
            rows.append([_unescape(re.sub(r"^\\makecell\[tr\]\{(.*)\}$", r"\1", c)
                                  .replace(r" \\ ", "\n")) for c in cells])
        out[m.group(1)] = rows
    return out


def test_latex_tables_hold_the_json_numbers(outputs: OutcomesOutputs, tmp_path: Path) -> None:
    from hsctms.reports.outcomes_docx import outcomes_tables

    path = outputs.report.write(tmp_path / "tables.tex")
    tex = path.read_text(encoding="utf-8")
    specs = outcomes_tables(outputs.report.context)
    tables = _tex_tables(tex)
    assert list(tables) == [s.key for s in specs]
    assert tex.count(r"\toprule") == len(specs) == tex.count(r"\caption{SYNTHETIC DATA. ")
    for spec in specs:
        assert tables[spec.key] == spec.rows, spec.key
    years = outputs.payload["halt_ms"]["years"]
    by_label = {r[0]: r for r in tables["halt_ms"]}
    for row in outputs.payload["halt_ms"]["rows"]:
        value, ci, detail = by_label[row["label"]][1 + years.index(row["year"])].split("\n")
        assert value == f"{100 * row['estimate']:.1f}%"
        assert ci == f"{100 * row['lower']:.1f}–{100 * row['upper']:.1f}"
        assert detail == f"{row['events']}/{row['at_risk']}"
