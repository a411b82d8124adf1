"""Layout of the printed outcomes report and its figures.

The demo report is printed with Chromium (``reports.render.write_pdf``) and read back page by
page with ``pdftotext``: every table caption is on the page where its table starts, every
figure caption on the page of the whole figure, and no interval of a table cell is split over
two lines. The figures are checked at their journal sizes: column width, PNG resolution,
legend texts, axis units, and a SYNTHETIC label that covers no other text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from hsctms.analysis import OutcomesAnalysis, OutcomesSettings, run_outcomes
from hsctms.reports.outcomes import FIGURE_SIZES, OutcomesOutputs, outcomes_outputs

#: An interval as the report prints them: "93.4–97.1", "30–41", "+0.0 to +0.5".
INTERVAL = re.compile(r"(?<![\w.+-])[+-]?\d+(?:\.\d+)?%?(?:–| to )[+-]?\d+(?:\.\d+)?%?(?![\w.])")
MM = 25.4


@pytest.fixture(scope="module")
def analysis() -> OutcomesAnalysis:
    from hsctms.datasets import load_demo_cohort

    return run_outcomes(load_demo_cohort(), "halt_ms",
                        settings=OutcomesSettings(level=0.9, years=(1, 2, 3, 4, 5)))


@pytest.fixture(scope="module")
def outputs(analysis: OutcomesAnalysis) -> OutcomesOutputs:
    return outcomes_outputs(analysis)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _bare(text: str) -> str:
    """Text without whitespace and hyphens: a caption wrapped in the PDF still matches the
    HTML (pdftotext joins "time-" at a line end and "adjusted" into "timeadjusted")."""
    return re.sub(r"[\s\-\u2010]+", "", text)


def _pdftotext(pdf: Path, *args: str) -> list[str]:
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.skip("pdftotext (poppler-utils, installed by scripts/setup --test) missing")
    text = subprocess.run([exe, *args, str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


@pytest.fixture(scope="module")
def printed(outputs: OutcomesOutputs, tmp_path_factory: pytest.TempPathFactory,
            request: pytest.FixtureRequest) -> dict[str, Any]:
    chromium = request.getfixturevalue("chromium")  # skips without a Chromium
    import os

    os.environ.setdefault("HSCTMS_CHROMIUM", chromium)
    from hsctms.reports.render import write_pdf

    html = outputs.report.html()
    pdf = tmp_path_factory.mktemp("layout") / "outcomes.pdf"
    assert write_pdf(html, pdf, engine="chromium") == "chromium"
    return {"html": html, "raw": [_bare(p) for p in _pdftotext(pdf)],
            "layout": _pdftotext(pdf, "-layout")}


def _tables(html: str) -> list[dict[str, str]]:
    """Caption, first header cell and first body-row label of each table of the report."""
    import lxml.html

    doc = lxml.html.fromstring(html)
    out = []

    def first_word(cells: list[Any]) -> str:
        return _bare(cells[0].text_content().split()[0]) if cells else ""

    for table in doc.iter("table"):
        caption = table.find("caption")
        if caption is None:
            continue
        head = table.xpath("./thead/tr[1]/th[1]")
        body = table.xpath("./tbody/tr[1]/*[1]")
        out.append({"caption": _bare(caption.text_content()), "head": first_word(head),
                    "first": first_word(body)})
    return out


def _figures(html: str) -> list[dict[str, Any]]:
    """Caption and the words drawn in each figure (SVG text) of the report."""
    import lxml.html

    doc = lxml.html.fromstring(html)
    out = []
    for fig in doc.iter("figure"):
        cap = fig.find("figcaption")
        words = [_bare(t.text_content()) for t in fig.iter() if isinstance(t.tag, str)
                 and t.tag.endswith("text")]
        out.append({"caption": _bare(cap.text_content()) if cap is not None else "",
                    "words": [w for w in words if re.search(r"[A-Za-z]{3}", w)]})
    return out


@pytest.mark.browser
def test_every_table_caption_is_on_the_page_where_its_table_starts(
        printed: dict[str, Any]) -> None:
    tables = _tables(printed["html"])
    assert len(tables) >= 15  # Table 1, safety, HALT-MS, Shevchenko, comparisons, Cox
    pages = printed["raw"]
    for t in tables:
        hits = [(i, p.index(t["caption"])) for i, p in enumerate(pages) if t["caption"] in p]
        assert hits, f"caption not on a single page: {t['caption']!r}"
        ok = any(t["head"] in p[at:] and t["first"] in p[at:]
                 for i, at in hits for p in [pages[i]])
        assert ok, f"table does not start on the page of its caption: {t['caption']!r}"


@pytest.mark.browser
def test_every_figure_is_on_one_page_with_its_caption(printed: dict[str, Any]) -> None:
    figures = _figures(printed["html"])
    assert len(figures) >= 5
    pages = printed["raw"]
    for f in figures:
        assert f["caption"] and f["words"]
        hits = [i for i, p in enumerate(pages) if f["caption"] in p]
        assert len(hits) == 1, f"figure caption not on one page: {f['caption']!r}"
        page = pages[hits[0]]
        before = page[:page.index(f["caption"])]
        missing = [w for w in f["words"] if w not in before]
        assert not missing, (f"{f['caption']!r}: figure text not above its caption on the "
                             f"same page: {missing}")


@pytest.mark.browser
def test_no_interval_in_a_table_is_split_over_lines(printed: dict[str, Any]) -> None:
    import lxml.html

    # a line break inside a cell separates its lines in the text as in the PDF
    doc = lxml.html.fromstring(printed["html"].replace("<br>", " <br>"))
    wanted: Counter[str] = Counter()
    for cell in doc.xpath("//table//td | //table//th"):
        wanted.update(INTERVAL.findall(_squash(cell.text_content())))
    assert sum(wanted.values()) > 100  # the CIs and IQRs of every table
    found: Counter[str] = Counter()
    for page in printed["layout"]:
        for line in page.splitlines():
            found.update(INTERVAL.findall(_squash(line)))
    split = {k: (n, found[k]) for k, n in wanted.items() if found[k] < n}
    assert not split, f"intervals split over lines (in cells, found on one line): {split}"


@pytest.mark.browser
def test_synthetic_banner_on_every_printed_page(printed: dict[str, Any]) -> None:
    assert all(_bare("SYNTHETIC DATA") in p for p in printed["raw"] if p)


def test_figures_have_journal_widths_and_300_dpi(outputs: OutcomesOutputs,
                                                tmp_path: Path) -> None:
    from matplotlib.image import imread

    written = outputs.write(lambda name: _mkparent(tmp_path / name), html=False, pdf=False,
                            json_output=False)
    assert set(outputs.figures) <= set(FIGURE_SIZES)
    for name, fig in outputs.figures.items():
        column, height = FIGURE_SIZES[name]
        width_mm = {"single": 89.0, "double": 183.0}[column]
        w_in, h_in = fig.get_size_inches()
        assert w_in * MM == pytest.approx(width_mm) and h_in * MM == pytest.approx(height)
        png = imread(written[f"figures/{name}.png"])
        # matplotlib truncates the pixel size: within one pixel of the size at 300 dpi
        assert abs(png.shape[1] - width_mm / MM * 300) < 1, name
        assert abs(png.shape[0] - height / MM * 300) < 1, name
        svg = written[f"figures/{name}.svg"].read_text(encoding="utf-8")
        m = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', svg)
        assert m and float(m.group(1)) == pytest.approx(width_mm / MM * 72, abs=0.01), name


def _mkparent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_legends_say_what_lines_and_bands_are(outputs: OutcomesOutputs,
                                              analysis: OutcomesAnalysis) -> None:
    level = f"pointwise {100 * analysis.level:g}% CI ({analysis.conf_type})"
    for name in ("efs", "efs_by_phenotype", "endpoints", "progression_cif"):
        ax = outputs.figures[name].axes[0]
        legend = ax.get_legend()
        assert legend is not None, name
        note = legend.get_title().get_text()
        estimator = "Aalen–Johansen" if name == "progression_cif" else "Kaplan–Meier"
        assert f"Lines: {estimator} estimates" in note, name
        if name != "endpoints":  # the four-component figure has no bands
            assert f"shaded: {level}" in note, name
        assert ax.get_xlabel() == "Time since transplant (years)", name
        assert ax.get_ylabel().endswith("(%)"), name
        ticks = [t.get_text() for t in ax.get_yticklabels()]
        assert not any("%" in t for t in ticks), name  # the unit is in the label
        labels = [t.get_text() for t in legend.get_texts()]
        assert all(re.search(r"\(n=\d+\)$", lab) for lab in labels) or name == \
            "progression_cif", labels


def _ticks_outside_view(fig: Any) -> set[int]:
    """Ids of the tick labels matplotlib does not draw (ticks beyond the axis limits)."""
    out = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            span = (hi - lo) * 1e-9
            for locs, labels in ((axis.get_majorticklocs(), axis.get_majorticklabels()),
                                 (axis.get_minorticklocs(), axis.get_minorticklabels())):
                out |= {id(lab) for loc, lab in zip(locs, labels, strict=False)
                        if not lo - span <= loc <= hi + span}
    return out


def test_synthetic_label_covers_no_text_and_no_text_is_cut_off(outputs: OutcomesOutputs
                                                               ) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    for name, fig in outputs.figures.items():
        canvas = FigureCanvasAgg(fig)  # the report closed the figures' pyplot canvases
        canvas.draw()
        renderer = canvas.get_renderer()
        badges = [t for t in fig.findobj(Text) if t.get_text() == "SYNTHETIC DATA"]
        assert len(badges) == 1, name
        badge = badges[0]
        patch = badge.get_bbox_patch()
        box = (patch if patch is not None else badge).get_window_extent(renderer)
        hidden = _ticks_outside_view(fig)
        others = [t for t in fig.findobj(Text) if t is not badge and t.get_visible()
                  and t.get_text().strip() and id(t) not in hidden]
        for t in others:
            assert not box.overlaps(t.get_window_extent(renderer)), (name, t.get_text())
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent(renderer)), (name, "axes")
        page = fig.bbox
        for t in [badge, *others]:  # every label, tick and number at risk inside the figure
            e = t.get_window_extent(renderer)
            assert (e.x0 >= page.x0 - 1 and e.x1 <= page.x1 + 1 and e.y0 >= page.y0 - 1
                    and e.y1 <= page.y1 + 1), (name, t.get_text(), e, page)
