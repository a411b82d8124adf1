"""The full outcomes report of a 10,000-patient synthetic registry (the project's generator):
every section present in the HTML, the Word file and the JSON, Table 1's column sizes equal to
a direct pandas count, and no two labels of a figure drawn over each other (numbers at risk
of 10,000 patients are five digits wide)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from hsctms.analysis import OutcomesAnalysis, OutcomesSettings, run_outcomes
from hsctms.reports.outcomes import OutcomesOutputs, outcomes_outputs

N = 10_000
SECTIONS = ("overview", "baseline", "safety", "endpoints", "halt", "shev", "like", "cox",
            "methods")


@pytest.fixture(scope="module")
def cohort() -> Any:
    from hsctms.datasets.generate import generate_cohort

    return generate_cohort(N, 1)


@pytest.fixture(scope="module")
def analysis(cohort: Any) -> OutcomesAnalysis:
    return run_outcomes(cohort, "halt_ms",
                        settings=OutcomesSettings(level=0.9, years=(1, 2, 3, 4, 5)))


@pytest.fixture(scope="module")
def outputs(analysis: OutcomesAnalysis) -> OutcomesOutputs:
    return outcomes_outputs(analysis)


@pytest.mark.slow
def test_every_section_of_the_large_report(analysis: OutcomesAnalysis, cohort: Any,
                                           outputs: OutcomesOutputs, tmp_path: Path) -> None:
    html = outputs.report.html()
    for section in SECTIONS:
        assert f'<section aria-labelledby="{section}">' in html, section
    assert html.count("<figure>") == len(outputs.figures) >= 5
    assert "SYNTHETIC DATA" in html and f"n = {N}" in html
    for words in ("Table 1.", "Transplant-related mortality", "Deaths by cause",
                  "Severe adverse events", "HALT-MS-like", "Shevchenko 2015 time points",
                  "Cox proportional-hazards model"):
        assert words in html, words
    # Table 1 column sizes from the patients table directly
    patients = cohort.patients
    groups = patients["phenotype"].map(lambda p: "Relapsing (RRMS)" if p == "RRMS" else
                                       "Progressive (SPMS, PPMS, PRMS)")
    payload = outputs.payload
    assert payload["n"] == N == len(patients)
    n = payload["baseline"]["n"]
    assert n["Overall"] == N
    for g, size in groups.value_counts().items():
        assert n[g] == size and f"{g} (n={size})" in html
    like = payload["halt_ms_like"]
    assert 0 < like["n"] < N and like["table"] is not None
    docx = pytest.importorskip("docx")
    path = outputs.report.write(tmp_path / "large.docx")
    doc = docx.Document(str(path))
    assert len(doc.tables) >= 15 and len(doc.inline_shapes) == len(outputs.figures)


@pytest.mark.slow
def test_no_two_figure_labels_overlap(outputs: OutcomesOutputs) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    for name, fig in outputs.figures.items():
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        ax = fig.axes[0]
        legend = ax.get_legend()
        inside = set() if legend is None else {id(t) for t in legend.findobj(Text)}
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
                 and id(t) not in inside and _in_view(t, fig)]
        boxes = [(t.get_text(), t.get_window_extent(renderer).shrunk(0.98, 0.9))
                 for t in texts]
        clashes = [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2)
                   if ba.overlaps(bb)]
        assert not clashes, (name, clashes[:5])


def _in_view(t: Any, fig: Any) -> bool:
    """False for tick labels of ticks beyond the axis limits (matplotlib does not draw them)."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for loc, lab in zip(axis.get_majorticklocs(), axis.get_majorticklabels(),
                                strict=False):
                if lab is t:
                    return bool(lo - 1e-9 <= loc <= hi + 1e-9)
    return True
