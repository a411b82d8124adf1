"""The outcomes report: a typed context built from an :class:`~hsctms.analysis.OutcomesAnalysis`
and rendered to HTML (and PDF through WeasyPrint) with ``outcomes/report.html.j2``.

Everything shown comes from the analysis object; the same object gives the JSON output
(``OutcomesAnalysis.to_dict``), so the report and the JSON never disagree. With
``suppress_small_counts=True`` every count between 1 and 4 in the report (and in
:func:`suppress_counts` applied to the JSON) is shown as "<5", for tables that leave a centre.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hsctms.analysis.labels import COVARIATE_LABELS, cox_term_label, format_p
from hsctms.reports.render import ReportMeta, render_html, write_report

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from hsctms.analysis.comparisons import HaltMsLikeSubset, PublishedComparison
    from hsctms.analysis.pipeline import OutcomesAnalysis
    from hsctms.analysis.published import PublishedFigure
    from hsctms.analysis.tables import ShevchenkoTable

TEMPLATE = "outcomes/report.html.j2"
SMALL = 5
COUNT_KEYS = frozenset({"events", "at_risk", "n", "improved", "stable", "worsened",
                        "n_nonzero", "observed", "n_after", "n_registry"})


def _count(v: int | None, suppress: bool) -> str:
    if v is None:
        return "–"
    if suppress and 0 < int(v) < SMALL:
        return f"<{SMALL}"
    return str(int(v))


def _pct(x: float | None, digits: int = 1) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    return f"{100 * x:.{digits}f}%"


def _ci(lo: float | None, hi: float | None) -> str:
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return ""
    return f"{100 * lo:.1f}–{100 * hi:.1f}"


def _num(x: float | None, digits: int = 2, sign: bool = False) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _p(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


@dataclass(frozen=True)
class Cell:
    """One formatted estimate: value, CI and events / at risk."""

    value: str
    ci: str
    detail: str


@dataclass(frozen=True)
class PublishedCell:
    """A published figure beside a result."""

    value: str
    ci: str
    when: str
    study: str
    citation: str
    verified: bool
    population: str = "all"


@dataclass(frozen=True)
class Row:
    """A labelled row of cells (one per year) with an optional published figure."""

    label: str
    cells: list[Cell]
    published: PublishedCell | None = None


@dataclass(frozen=True)
class SimpleRow:
    """A row of already-formatted strings."""

    cells: list[str]


@dataclass(frozen=True)
class ComparisonRow:
    """A registry figure beside a published one, with the definitions compared."""

    label: str
    value: str
    ci: str
    detail: str
    published: PublishedCell | None
    published_n: str
    definition: str = ""


@dataclass(frozen=True)
class LikeForLike:
    """The HALT-MS-like subset as the template shows it."""

    n: str
    n_registry: str
    year: str
    restrictions: list[SimpleRow]
    not_applied: list[SimpleRow]
    rows: list[ComparisonRow]
    note: str | None


@dataclass(frozen=True)
class OutcomesReportContext:
    """Everything the outcomes template shows (all strings already formatted)."""

    definition_name: str
    level_pct: str
    conf_type: str
    years: list[str]
    followup: str
    halt_rows: list[Row]
    edss_rows: list[SimpleRow]
    edss_published: PublishedCell | None
    sh_years: list[str]
    progression: Row
    death: Row
    efs_groups: list[Row]
    efs_published: list[PublishedCell]
    logrank: str
    improvement: list[SimpleRow]
    improvement_published: PublishedCell | None
    competing_rule: str
    cox_rows: list[SimpleRow]
    ph_rows: list[SimpleRow]
    cox_note: str | None
    figures: dict[str, str]
    published_source: str
    suppressed: bool
    methods: list[str]
    counts: dict[str, str] = field(default_factory=dict)
    citations: list[str] = field(default_factory=list)
    endpoint_rows: list[SimpleRow] = field(default_factory=list)
    worsening_classes: str = ""
    definition_text: str = ""
    baseline_columns: list[str] = field(default_factory=list)
    baseline_rows: list[SimpleRow] = field(default_factory=list)
    baseline_notes: list[str] = field(default_factory=list)
    trm_rows: list[SimpleRow] = field(default_factory=list)
    death_rows: list[SimpleRow] = field(default_factory=list)
    ae_rows: list[SimpleRow] = field(default_factory=list)
    safety_notes: list[str] = field(default_factory=list)
    trm_published: list[SimpleRow] = field(default_factory=list)
    halt_ms_like: LikeForLike | None = None
    comparison_rows: list[ComparisonRow] = field(default_factory=list)
    figure_captions: dict[str, str] = field(default_factory=dict)


#: Journal size of each report figure: column ("single" 89 mm, "double" 183 mm) and height
#: in mm. Figures with several curves or a long time axis take the double column, so the
#: numbers at risk of a large registry do not run into each other.
FIGURE_SIZES: dict[str, tuple[str, float]] = {
    "efs": ("single", 95.0),
    "endpoints": ("double", 120.0),
    "efs_by_phenotype": ("double", 110.0),
    "progression_cif": ("double", 110.0),
    "edss_trajectories": ("double", 90.0),  # single: its "n of N drawn" note hits the title
    "ph_check": ("double", 90.0),
}


def figure_captions(level_pct: str) -> dict[str, str]:
    """Caption of each report figure (HTML, PDF and Word), by figure name.

    Parameters
    ----------
    level_pct
        Confidence level as printed, e.g. ``"90%"``.

    Returns
    -------
    dict of str to str
        Name (as :data:`FIGURE_SIZES`) -> caption.
    """
    return {
        "efs": f"Event-free survival (Kaplan–Meier) with its pointwise {level_pct} confidence "
               "band, censoring marks and numbers at risk.",
        "endpoints": "Freedom from confirmed worsening, relapse, MRI activity and loss of "
                     "NEDA-3 (Kaplan–Meier), with numbers at risk.",
        "edss_trajectories": "EDSS trajectories (a random sample of patients in grey) with the "
                             "median and interquartile range at baseline and each anniversary.",
        "progression_cif": "Cumulative incidence of confirmed worsening and of death "
                           f"(Aalen–Johansen), with pointwise {level_pct} confidence bands.",
        "efs_by_phenotype": f"Event-free survival by phenotype group (Kaplan–Meier) with "
                            f"pointwise {level_pct} confidence bands and numbers at risk.",
        "ph_check": "Scaled Schoenfeld residuals for the coefficient with the smallest "
                    "proportional-hazards p-value, with a LOWESS smooth; a flat smooth near "
                    "the fitted coefficient supports proportional hazards.",
    }


def journal_figures(figures: Mapping[str, Figure]) -> dict[str, Figure]:
    """Size the report figures to journal columns (:data:`FIGURE_SIZES`, in place).

    Parameters
    ----------
    figures
        Name -> Figure, as :meth:`OutcomesAnalysis.figures` draws them; a name not in
        :data:`FIGURE_SIZES` gets a single column at its aspect ratio.

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        The same figures, now saved at exactly their column width
        (:func:`hsctms.plots._style.journal_size`; PNG at 300 dpi).
    """
    from hsctms.plots._style import journal_size

    out = {}
    for name, fig in figures.items():
        column, height = FIGURE_SIZES.get(name, ("single", None))
        out[name] = journal_size(fig, column, height_mm=height)
    return out


def _baseline(a: OutcomesAnalysis, sup: bool) -> tuple[list[str], list[SimpleRow], list[str]]:
    """Table 1 as rows of [label, kind, cell per column] (suppressed when the report is)."""
    if a.baseline is None:
        return [], [], []
    t = a.baseline.with_small_count(SMALL) if sup else a.baseline
    columns = [f"{c} (n={t.n[c]})" for c in t.columns]
    rows = [SimpleRow([r.label, r.kind, *(r.cells[c] for c in t.columns)]) for r in t.rows]
    return columns, rows, list(t.footnotes)


_RANGE = re.compile(r"(-?\d+) to (-?\d+)")


def _keep_range(text: str) -> str:
    """``"day -10 to 30"`` with no-break spaces in the range, so it never wraps."""
    return _RANGE.sub("\\1\u00a0to\u00a0\\2", text)


def _proportion_cells(events: int, n: int, estimate: float | None, lower: float | None,
                      upper: float | None, sup: bool) -> list[str]:
    """n/N, % and exact CI; the percentage and CI are withheld with a suppressed count."""
    hidden = sup and (0 < events < SMALL or 0 < n < SMALL)
    ci = "" if hidden or lower is None or upper is None else \
        f"{100 * lower:.2f}–{100 * upper:.2f}"
    return [f"{_count(events, sup)}/{_count(n, sup)}",
            "suppressed" if hidden else _pct(estimate, 2), ci]


def _trm_published() -> list[SimpleRow]:
    """Pooled TRM of the evidence base, in percent as the registry's figures."""
    import pandas as pd

    from hsctms.analysis.safety import published_trm

    def pct(x: Any) -> str:
        v = pd.to_numeric(pd.Series([x]), errors="coerce").iloc[0]
        return "" if pd.isna(v) else f"{float(v):.2f}"

    rows = []
    for r in published_trm().to_dict(orient="records"):
        lo, hi = pct(r["ci_low"]), pct(r["ci_high"])
        rows.append(SimpleRow([str(r["label"]), str(r["population"]),
                               f"{pct(r['percent'])}%", f"{lo}–{hi}" if lo and hi else "",
                               "" if r["verified"] else "(unverified)", str(r["citation"])]))
    return rows


def _safety(a: OutcomesAnalysis, sup: bool) -> tuple[list[SimpleRow], list[SimpleRow],
                                                      list[SimpleRow], list[str]]:
    s = a.safety
    if s is None:
        return [], [], [], []
    group_names = {"all": "All patients", "era": "Era", "intensity": "Conditioning intensity"}
    trm = [SimpleRow([group_names[str(r["by"])] + ("" if r["by"] == "all" else
                                                   f": {r['group']}"), f"day {r['day']}",
                      *_proportion_cells(int(r["events"]), int(r["n"]), r["estimate"],
                                         r["lower"], r["upper"], sup)])
           for r in s.trm.to_dict(orient="records")]
    deaths = [SimpleRow([str(r["cause"]), "yes" if r["transplant_related"] is True else
                         "no" if r["transplant_related"] is False else "not recorded",
                         _count(int(r["n"]), sup)])
              for r in s.deaths.to_dict(orient="records")]
    aes = [SimpleRow([str(r["category"]), _keep_range(str(r["period"])),
                      _count(int(r["patients"]), sup),
                      "suppressed" if sup and 0 < int(r["patients"]) < SMALL
                      else f"{float(r['percent']):.1f}%", _count(int(r["events"]), sup)])
           for r in s.adverse_events.to_dict(orient="records")]
    au = s.autoimmunity
    cells = _proportion_cells(au.events, au.n, au.estimate, au.lower, au.upper, sup)
    notes = [
        f"Transplant-related mortality: transplant-related deaths up to the day, among the "
        f"patients followed to that day (transplanted at least that long before the data date "
        f"{s.data_date.isoformat()}, or dead before it); exact (Clopper-Pearson) "
        f"{100 * s.level:g}% intervals.",
        f"Adverse events of grade {s.settings.min_grade} or higher, by category and period "
        "from the transplant (day 0 = reinfusion); patients with at least one, and events. "
        "The registry records no conditioning or engraftment dates: the periods are day "
        "ranges (settings " + s.settings.id + ").",
        f"Secondary autoimmunity (any grade, after day 0): {cells[0]} patients, {cells[1]}"
        + (f" ({cells[2]})" if cells[2] else "") + ".",
    ]
    return trm, deaths, aes, notes


def _published(f: PublishedFigure | None) -> PublishedCell | None:
    if f is None:
        return None
    if f.measure == "percent":
        value = _pct(f.estimate)
        ci = _ci(f.lower, f.upper)
        if ci and f.level:
            ci = f"{100 * f.level:g}% CI {ci}"
    else:
        value = _num(f.estimate, 1, sign=True)
        ci = ""
    return PublishedCell(value, ci, f.time_label, f.study, f.citation, f.verified, f.population)


def _published_n(f: PublishedFigure | None) -> str:
    return "–" if f is None or f.n is None else str(f.n)


def _like_for_like(subset: HaltMsLikeSubset | None, sup: bool) -> LikeForLike | None:
    if subset is None:
        return None
    restrictions = [SimpleRow([r.criterion + ("" if r.verified else " (unverified)"), r.rule,
                               _count(r.n_after, sup)]) for r in subset.restrictions]
    not_applied = [SimpleRow([c, why]) for c, why in subset.not_applied]
    pubs = subset.table.published if subset.table is not None else {}
    rows = [ComparisonRow(r.label, _pct(r.estimate), _ci(r.lower, r.upper),
                          f"{_count(r.events, sup)}/{_count(r.at_risk, sup)}, "
                          f"n={_count(r.n, sup)}",
                          _published(pubs.get(r.endpoint)), _published_n(pubs.get(r.endpoint)))
            for r in subset.rows_at_year]
    if subset.table is not None:
        pub = subset.table.published_edss
        rows += [ComparisonRow("EDSS change from baseline (median)", _num(e.median, 1, sign=True),
                               f"IQR {_num(e.q1, 1, sign=True)} to {_num(e.q3, 1, sign=True)}",
                               f"n={_count(e.n, sup)} assessed, signed-rank p "
                               f"{_p(e.test.p_value)}", _published(pub), _published_n(pub))
                 for e in subset.table.edss_change if e.year == subset.year]
    return LikeForLike(_count(subset.n, sup), _count(subset.n_registry, sup), f"{subset.year:g}",
                       restrictions, not_applied, rows, subset.note)


def _comparison_rows(comparisons: Sequence[PublishedComparison],
                     sup: bool) -> list[ComparisonRow]:
    rows = []
    for c in comparisons:
        when = (f"at {c.year:g} y; {_count(c.events, sup)} events, n={_count(c.n, sup)}"
                if c.year is not None else
                f"crude share: {_count(c.events, sup)}/{_count(c.n, sup)}")
        definition = (f"Registry: {c.registry_definition}. Published: "
                      f"{c.published_definition}." + (f" {c.note}" if c.note else ""))
        rows.append(ComparisonRow(
            c.label, _pct(c.estimate), _ci(c.lower, c.upper),
            when,
            _published(c.published), _published_n(c.published), definition))
    return rows


def _methods(a: OutcomesAnalysis) -> list[str]:
    lvl = f"{100 * a.level:g}%"
    return [
        f"Survival-type endpoints: Kaplan-Meier estimates with Greenwood standard errors and "
        f"{lvl} pointwise confidence intervals using the {a.conf_type} transform; numbers at "
        "risk are patients still under observation at the time point (T >= t).",
        "Median follow-up: reverse Kaplan-Meier (censoring as the event) on time to death or "
        "last contact.",
        "Cumulative incidence of confirmed worsening: Aalen-Johansen estimator with death as a "
        "competing risk (Dinse-Larson variance, as R survfit); groups compared with Gray's test.",
        "Event-free survival by phenotype: log-rank test (Mantel-Haenszel).",
        "Cox proportional-hazards model of event-free survival (Efron ties, Wald CIs); the "
        "proportional-hazards assumption is checked with the Grambsch-Therneau score test "
        "(Kaplan-Meier time scale), as R cox.zph.",
        "EDSS change from baseline: the assessment closest to each anniversary (within "
        f"{a.halt_ms.edss_window_days:g} days) among patients alive; Wilcoxon signed-rank test "
        "of zero median change (R wilcox.test conventions).",
        "Every statistical routine is checked against R (survival, cmprsk) golden values in the "
        "hsctms test suite.",
    ]


def _halt_rows(a: OutcomesAnalysis, sup: bool) -> list[Row]:
    """One row per HALT-MS endpoint: estimate, CI and events/at risk at each year."""
    halt_rows = []
    for ep, fit in a.halt_ms.fits.items():
        cells = []
        for r in [x for x in a.halt_ms.rows if x.endpoint == ep]:
            cells.append(Cell(_pct(r.estimate), _ci(r.lower, r.upper),
                              f"{_count(r.events, sup)}/{_count(r.at_risk, sup)}"))
        halt_rows.append(Row(fit.label or ep, cells, _published(a.halt_ms.published.get(ep))))
    return halt_rows


def _phenotype_tests_text(sh: ShevchenkoTable) -> str:
    """The sentence on the log-rank (and Gray's) test by phenotype, with the caveats."""
    lr = sh.logrank
    logrank = (f"Event-free survival by phenotype, log-rank test: χ² = {lr.statistic:.2f} on "
               f"{lr.df} df, {format_p(lr.p_value)}."
               if lr else "Log-rank test not computed (fewer than two phenotype groups with "
               "events).")
    if sh.gray is not None:
        gt = sh.gray
        logrank += (f" Cumulative incidence of confirmed worsening by phenotype (death "
                    f"competing), Gray's test: χ² = {gt.statistic:.2f} on {gt.df} df, "
                    f"{format_p(gt.p_value)}.")
    for c in sh.caveats:
        logrank += f" Caveat: {c}."
    return logrank


def build_context(analysis: OutcomesAnalysis, *, suppress_small_counts: bool = False,
                  figures: bool | Mapping[str, Figure] = True) -> OutcomesReportContext:
    """Format every number of ``analysis`` for the template.

    ``figures``: True to draw them, False for none, or already drawn figures (closed here).
    """
    a = analysis
    sup = suppress_small_counts
    years = list(a.years)
    halt_rows = _halt_rows(a, sup)
    edss_rows = [
        SimpleRow([f"{e.year:g}", _count(e.n, sup), _num(e.median, 1, sign=True),
                   f"{_num(e.q1, 1, sign=True)} to {_num(e.q3, 1, sign=True)}",
                   _count(e.improved, sup), _count(e.stable, sup), _count(e.worsened, sup),
                   _p(e.test.p_value)])
        for e in a.halt_ms.edss_change
    ]
    sh = a.shevchenko

    def inc_row(label: str, rows: Sequence[Any], published: PublishedCell | None = None) -> Row:
        return Row(label, [Cell(_pct(r.estimate), _ci(r.lower, r.upper),
                                f"{_count(r.events, sup)}/{_count(r.at_risk, sup)}")
                           for r in rows], published)

    groups = []
    for g, rows in sh.efs_by_group.items():
        groups.append(Row(f"{g} (n={_count(sh.group_n[g], sup)})",
                          [Cell(_pct(r.estimate), _ci(r.lower, r.upper),
                                f"{_count(r.events, sup)}/{_count(r.at_risk, sup)}")
                           for r in rows]))
    efs_pub = [p for p in (_published(sh.published.get(k)) for k in
                           ("efs", "efs_relapsing", "efs_progressive")) if p is not None]
    logrank = _phenotype_tests_text(sh)
    imp = []
    for s in (sh.improvement, sh.improvement_longterm):
        imp.append(SimpleRow([s.description, f"{_count(s.events, sup)} / {_count(s.n, sup)}",
                              _pct(s.estimate), _ci(s.lower, s.upper)]))
    cox_rows = []
    if a.cox is not None:
        lo, hi = a.cox.hr_ci()
        for i, name in enumerate(a.cox.columns):
            label = cox_term_label(name, a.cox.terms, references=a.cox.references,
                                   columns=tuple(a.cox.columns))
            cox_rows.append(SimpleRow([label, _num(a.cox.hr[i]),
                                       f"{_num(lo[i])}–{_num(hi[i])}", _p(a.cox.p[i])]))
    ph_rows = []
    if a.ph_test is not None:
        for r in a.ph_test.table.itertuples():
            term = COVARIATE_LABELS.get(str(r.term), (str(r.term), None))[0]
            ph_rows.append(SimpleRow([term if term != "GLOBAL" else "Global test",
                                      _num(r.chisq), str(int(r.df)), _p(r.p)]))
    figs: dict[str, str] = {}
    if figures is not False:
        from hsctms.plots._style import figure_to_svg

        drawn = journal_figures(a.figures()) if figures is True else figures
        figs = {k: figure_to_svg(f) for k, f in drawn.items()}
    fu = a.followup
    followup = (f"Median follow-up {_num(fu.median.estimate, 1)} years (reverse Kaplan-Meier; "
                f"IQR {_num(fu.q1, 1)}–{_num(fu.q3, 1)}).")
    endpoint_rows = [
        SimpleRow([str(r["label"]), _count(int(r["events"]), sup), _count(int(r["n"]), sup),
                   _pct(float(r["share"])),
                   _num(float(r["median_days_to_event"]) / 30.4375, 1)])
        for r in a.endpoint_summary.to_dict(orient="records")
    ]
    baseline_columns, baseline_rows, baseline_notes = _baseline(a, sup)
    trm_rows, death_rows, ae_rows, safety_notes = _safety(a, sup)
    trm_published = _trm_published() if trm_rows else []
    wc = a.worsening_classes
    worsening_classes = (
        "Confirmed worsening events by class: " + ", ".join(
            f"{k} {_count(v, sup)}" for k, v in wc.items()) + "." if wc else "")
    return OutcomesReportContext(
        baseline_columns=baseline_columns, baseline_rows=baseline_rows,
        baseline_notes=baseline_notes, trm_rows=trm_rows, death_rows=death_rows,
        ae_rows=ae_rows, safety_notes=safety_notes, trm_published=trm_published,
        halt_ms_like=_like_for_like(a.halt_ms_like, sup),
        comparison_rows=_comparison_rows(a.comparisons, sup),
        figure_captions=figure_captions(f"{100 * a.level:g}%"),
        endpoint_rows=endpoint_rows,
        worsening_classes=worsening_classes,
        definition_text=a.definition_text,
        definition_name=a.definition_name,
        level_pct=f"{100 * a.level:g}%",
        conf_type=a.conf_type,
        years=[f"{y:g}" for y in years],
        followup=followup,
        halt_rows=halt_rows,
        edss_rows=edss_rows,
        edss_published=_published(a.halt_ms.published_edss),
        sh_years=[f"{y:g}" for y in sh.years],
        progression=inc_row("Confirmed worsening", sh.progression,
                            _published(sh.published.get("progression"))),
        death=inc_row("Death (competing)", sh.death),
        efs_groups=groups,
        efs_published=efs_pub,
        logrank=logrank,
        improvement=imp,
        improvement_published=_published(sh.published.get("improvement_longterm")),
        competing_rule=sh.competing_rule,
        cox_rows=cox_rows,
        ph_rows=ph_rows,
        cox_note=a.cox_note,
        figures=figs,
        published_source=a.published_source,
        suppressed=sup,
        methods=_methods(a),
        counts={"n": _count(a.n, sup), "excluded": _count(a.excluded, sup)},
        citations=sorted({f"{f.study}: {f.citation}" + ("" if f.verified else " (unverified)")
                          for f in [*a.halt_ms.published.values(),
                                    *sh.published.values(),
                                    *([a.halt_ms.published_edss]
                                      if a.halt_ms.published_edss else [])]}),
    )


def _definitions(a: OutcomesAnalysis) -> list[str]:
    d = a.definition
    desc = str(d.get("description") or "").strip().rstrip(".")
    out = [f"Endpoint definition: {a.definition_name}" + (f" — {desc}" if desc else "") + "."]
    keys = ("origin", "conf_days", "delta_cut", "baseline", "mri_ignore_days",
            "efs_components")
    parts = [f"{k} = {d[k]}" for k in keys if k in d]
    if parts:
        out.append("Settings: " + "; ".join(parts) + ".")
    out.append("Event-free survival: survival without any of the EFS components; progression-"
               "free: no confirmed EDSS worsening; NEDA-3: no relapse, no MRI activity, no "
               "confirmed worsening.")
    out.append(f"Confidence intervals: {100 * a.level:g}%, {a.conf_type} transform.")
    return out


@dataclass(frozen=True)
class OutcomesReport:
    """A built outcomes report (context + metadata, and the figures for Word output)."""

    context: OutcomesReportContext
    meta: ReportMeta
    figures: Mapping[str, Figure] = field(default_factory=dict)

    def html(self) -> str:
        """The report as a standalone HTML page."""
        return render_html(TEMPLATE, {"ctx": self.context}, self.meta)

    def write(self, path: str | Path) -> Path:
        """Write HTML (.html), PDF (.pdf), Word (.docx,
        :func:`hsctms.reports.outcomes_docx.write_outcomes_docx`) or the tables as LaTeX
        (.tex, :func:`hsctms.reports.outcomes_docx.outcomes_tex`)."""
        suffix = Path(path).suffix.lower()
        if suffix == ".docx":
            from hsctms.reports.outcomes_docx import write_outcomes_docx

            return write_outcomes_docx(self, path)
        if suffix == ".tex":
            from hsctms.reports.outcomes_docx import outcomes_tex

            out = Path(path)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(outcomes_tex(self), encoding="utf-8")
            return out
        return write_report(self.html(), path)


def build_outcomes_report(
    analysis: OutcomesAnalysis,
    *,
    title: str = "Outcomes after autologous HSCT for MS",
    source: str | None = None,
    suppress_small_counts: bool = False,
    figures: bool | Mapping[str, Figure] = True,
) -> OutcomesReport:
    """Build the report of an outcomes analysis."""
    ctx = build_context(analysis, suppress_small_counts=suppress_small_counts, figures=figures)
    prov = analysis.provenance
    sources = [s for s in (source, f"Published figures: {analysis.published_source}") if s]
    meta = ReportMeta(
        title=title,
        synthetic=prov.synthetic,
        data_date=prov.data_date,
        n=analysis.n,
        subtitle=f"HALT-MS and Shevchenko style analyses (definition {analysis.definition_name})",
        definitions=_definitions(analysis),
        sources=sources,
    )
    return OutcomesReport(ctx, meta, figures if not isinstance(figures, bool) else {})


def suppress_counts(payload: Any) -> Any:
    """Copy of a JSON payload with counts 1-4 (keys in :data:`COUNT_KEYS`) replaced by "<5"."""
    if isinstance(payload, dict):
        return {k: (f"<{SMALL}" if k in COUNT_KEYS and isinstance(v, int)
                    and not isinstance(v, bool) and 0 < v < SMALL else suppress_counts(v))
                for k, v in payload.items()}
    if isinstance(payload, list):
        return [suppress_counts(v) for v in payload]
    return payload


#: File names of the outcomes outputs, relative to the output directory; figures go to
#: ``figures/NAME.svg`` and ``figures/NAME.png``.
OUTCOMES_FILES = {"html": "outcomes.html", "pdf": "outcomes.pdf", "json": "outcomes.json"}


@dataclass(frozen=True)
class OutcomesOutputs:
    """Everything an outcomes run publishes: the report, its figures and the JSON of all
    numbers (counts suppressed when the report is). The one writer used by ``hsctms demo``,
    ``hsctms analyse`` and :func:`write_outcomes`."""

    report: OutcomesReport
    figures: Mapping[str, Figure]
    payload: dict[str, Any]

    def files(self, *, html: bool = True, pdf: bool = True, json_output: bool = True,
              figures: bool = True) -> list[str]:
        """Relative names of the files :meth:`write` writes with these options."""
        names = ([OUTCOMES_FILES["html"]] if html else []) + (
            [OUTCOMES_FILES["pdf"]] if pdf else [])
        names += [OUTCOMES_FILES["json"]] if json_output else []
        if figures:
            names += [f"figures/{n}.{ext}" for n in self.figures for ext in ("svg", "png")]
        return names

    def write(self, path_for: Callable[[str], Path], *, html: bool = True, pdf: bool = True,
              json_output: bool = True, figures: bool = True,
              written: Callable[[str], None] | None = None) -> dict[str, Path]:
        """Write the files of :meth:`files`; ``path_for(name)`` gives each file's path (the
        CLI passes its output directory's guard), ``written(name)`` is called after each.
        Returns name -> path."""
        import json as _json

        from hsctms.plots._style import save_figure

        out: dict[str, Path] = {}
        page = self.report.html() if html or pdf else ""
        for name in self.files(html=html, pdf=pdf, json_output=json_output, figures=figures):
            path = path_for(name)
            if name.startswith("figures/"):
                stem = name[len("figures/"):].rsplit(".", 1)[0]
                save_figure(self.figures[stem], path)
            elif name == OUTCOMES_FILES["json"]:
                path.write_text(_json.dumps(self.payload, indent=2, allow_nan=False,
                                            default=str) + "\n", encoding="utf-8")
            else:
                write_report(page, path)
            out[name] = path
            if written is not None:
                written(name)
        return out


def outcomes_outputs(analysis: OutcomesAnalysis, *, source: str | None = None,
                     suppress_small_counts: bool = False,
                     extra: Mapping[str, Any] | None = None) -> OutcomesOutputs:
    """Draw the figures, build the report and the JSON payload of an outcomes analysis.

    Parameters
    ----------
    analysis
        The analysis (:func:`hsctms.analysis.run_outcomes`).
    source
        Where the data came from (shown in the report).
    suppress_small_counts
        Counts 1-4 shown as "<5" in the report and the JSON.
    extra
        More top-level JSON entries (e.g. the demo's import summary).

    Returns
    -------
    OutcomesOutputs
    """
    drawn = journal_figures(analysis.figures())
    report = build_outcomes_report(analysis, source=source,
                                   suppress_small_counts=suppress_small_counts, figures=drawn)
    payload = analysis.to_dict()
    payload["report"] = report.meta.to_dict()
    payload.update(extra or {})
    if suppress_small_counts:
        if analysis.baseline is not None:  # Table 1 has its own (complementary) suppression
            payload["baseline"] = analysis.baseline.with_small_count(SMALL).to_dict()
        payload = suppress_counts(payload)
    return OutcomesOutputs(report, drawn, payload)


def write_outcomes(
    analysis: OutcomesAnalysis,
    out_dir: str | Path,
    *,
    pdf: bool = True,
    json_output: bool = True,
    figures: bool = True,
    suppress_small_counts: bool = False,
    source: str | None = None,
) -> dict[str, Path]:
    """Write the outcomes report as HTML (and PDF), the JSON of all numbers and the figures
    (SVG + PNG) into ``out_dir`` (:meth:`OutcomesOutputs.write`); returns name -> path."""
    out = Path(out_dir)

    def path_for(name: str) -> Path:
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    outputs = outcomes_outputs(analysis, source=source,
                               suppress_small_counts=suppress_small_counts)
    return outputs.write(path_for, pdf=pdf, json_output=json_output, figures=figures)
