"""``hsctms evidence``: list, show and pool the published aHSCT-in-MS evidence (or a user's
study table), its harms and its change log, with forest plots and JSON output (schema:
docs/meta-analysis.md, docs/evidence.md). Presentation only: the figures, their formatting
rule and the change log come from :mod:`hsctms.evidence`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from hsctms.cli._common import console, fail, progress_display, write_json
from hsctms.cli._outputs import check_output_files, write_output
from hsctms.errors import ConfigurationError, HsctmsError

evidence_app = typer.Typer(
    name="evidence",
    help="The published evidence on aHSCT in MS: list, show and pool it (meta-analysis), "
    "see its harms and what changed since the previous evidence date, or pool your own "
    "study table.\n\nExample: hsctms evidence pool --outcome trm --by era",
    no_args_is_help=True,
    rich_markup_mode="rich",
)



def _txt(v: Any) -> str:
    from hsctms.evidence.display import _missing

    return "" if _missing(v) else (str(int(v)) if isinstance(v, float) and v == int(v)
                                   else str(v))


def _records(df: Any) -> list[dict[str, Any]]:
    from hsctms.evidence.base import _py

    return [{k: _py(v) for k, v in r.items()} for r in df.to_dict("records")]


def _pct(x: float | None) -> str:
    """A pooled proportion (0-1) as a percentage: two decimals (pooled TRM is below 1%)."""
    return "NA" if x is None or not math.isfinite(x) else f"{100 * x:.2f}%"


def _widths(columns: list[str], rows: list[list[str]], avail: int,
            whole: frozenset[int] = frozenset()) -> list[int]:
    """Column widths that fit ``avail`` characters.

    Each column starts at its natural width; the column with the most room above its floor
    gives up one character at a time. Floors, relaxed in turn: the ``whole`` columns (the
    estimates) unwrapped, then every column at its longest word, so text wraps at word
    boundaries; only if that is not enough are long words folded (never in the first column,
    which holds the study ids).
    """
    cells = [[c, *(r[i] for r in rows)] for i, c in enumerate(columns)]
    natural = [max(len(x) for x in col) for col in cells]
    words = [max((len(w) for x in col for w in x.split()), default=1) for col in cells]
    soft = [min(natural[i], 24) if i in whole else words[i] for i in range(len(columns))]
    widths = list(natural)
    for floor in (soft, words):
        while sum(widths) > avail:
            room = [w - f for w, f in zip(widths, floor, strict=True)]
            i = max(range(len(widths)), key=lambda k: (room[k], widths[k]))
            if room[i] <= 0:
                break
            widths[i] -= 1
    while sum(widths) > avail:  # every column at its longest word: fold the widest other one
        i = max(range(1, len(widths)), key=lambda k: widths[k], default=0)
        if widths[i] <= 6:
            break
        widths[i] -= 1
    return widths


def _table(title: str, columns: list[tuple[str, str]], rows: list[list[str]],
           caption: str = "") -> Any:
    """A compact table that fits the terminal and wraps at word boundaries (so no word is
    split, e.g. "popul ation"); columns empty in every row are left out; ``columns`` gives
    (header, "l"/"r") pairs."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    keep = [i for i, (head, _) in enumerate(columns) if any(r[i] for r in rows)] or \
        list(range(len(columns)))
    heads = [columns[i][0] for i in keep]
    body = [[r[i] for i in keep] for r in rows]
    whole = frozenset(j for j, i in enumerate(keep) if columns[i][0] in ("estimate", "n"))
    widths = _widths(heads, body, console.width - 2 * (len(keep) - 1), whole)  # gap: pad+rule
    table = Table(title=Text(title), caption=Text(caption) if caption else None,
                  box=box.SIMPLE_HEAD, pad_edge=False,
                  show_edge=False, padding=(0, 1, 0, 0), caption_justify="left",
                  title_justify="left")
    for j, i in enumerate(keep):
        head, align = columns[i]
        table.add_column(head, justify="right" if align == "r" else "left",
                         width=widths[j], overflow="fold")
    for r in body:
        table.add_row(*[Text(c) for c in r])  # plain text: "[before 2005]" is not markup
    return table


_FLAG_NOTE = ("* unverified (not yet checked against the primary source); names are written "
              "with spaces for '_' (e.g. --harm febrile_neutropenia)")


def _evidence_date_line(ev: Any) -> str:
    log = ev.changelog
    if log is None:
        return ""
    prev = log.previous_evidence_date
    return (f"Evidence date {log.evidence_date.isoformat()}"
            + (f" (previous {prev.isoformat()}; see `hsctms evidence changes`)" if prev else ""))


def _studies_table(df: Any, *, title: str) -> Any:
    """The evidence base's studies (one row per source) at 80 columns."""
    from hsctms.evidence.display import INTENSITY_SHORT, design_short

    rows = []
    for r in df.to_dict("records"):
        trm = "" if _txt(r["trm_deaths"]) == "" else f"{r['trm_deaths']}/{r['trm_n']}"
        flags = []
        if isinstance(r["superseded_by"], str) and r["superseded_by"]:
            flags.append("superseded")
        if isinstance(r.get("status"), str) and r["status"]:
            flags.append(r["status"].replace("_", " "))
        if r["unverified"]:
            flags.append(f"{len(r['unverified'])} unverified")
        if r.get("reference_missing"):
            flags.append("ref. incomplete")
        rows.append([r["study_id"], design_short(r.get("evidence_design"), r["kind"]),
                     _txt(r["n"]), _txt(r["pct_rrms"]), _txt(r["edss"]),
                     INTENSITY_SHORT.get(str(r["intensity"]), _txt(r["intensity"])), trm,
                     ", ".join(flags)])
    cols = [("study", "l"), ("design", "l"), ("n", "r"), ("%RR", "r"), ("EDSS", "r"),
            ("int.", "l"), ("TRM", "r"), ("flags", "l")]
    return _table(title, cols, rows,
                  caption="%RR: share with relapsing-remitting MS; int.: conditioning "
                  "intensity; TRM: transplant-related deaths/n. Details and the full "
                  "reference: hsctms evidence show ID.")


def _words(name: Any) -> str:
    """A vocabulary name for a narrow table: ``febrile_neutropenia`` -> ``febrile
    neutropenia`` (so it can wrap between words)."""
    return str(name).replace("_", " ")


def _figure_rows(df: Any, col: str) -> list[list[str]]:
    """study, arm (with the subgroup, if any, in brackets), name, when, estimate, n."""
    from hsctms.evidence.display import format_count, row_estimate

    rows = []
    for r in df.to_dict("records"):
        arm = _words(r["arm"])
        if r["population"] != "all":
            arm = f"{arm} ({r['population']})"
        est = row_estimate(r) + ("" if r["verified"] else " *")
        rows.append([r["study_id"], arm, _words(r[col]),
                     r["time_label"] or _txt(r["time_years"]), est,
                     format_count(r["events"], r["n"])])
    return rows


def _outcomes_table(df: Any, *, title: str) -> Any:
    """Outcome rows: estimate with its interval, unverified rows starred."""
    cols = [("study", "l"), ("arm", "l"), ("outcome", "l"), ("when", "l"), ("estimate", "r"),
            ("n", "r")]
    return _table(title, cols, _figure_rows(df, "outcome"),
                  caption=f"{_FLAG_NOTE}. arm (subgroup): figure for a subgroup of the "
                  "cohort.")


@evidence_app.command("list")
def list_cmd(
    outcome: Annotated[str | None, typer.Option(
        "--outcome", help="Outcome rows to list (e.g. trm, neda, progression_free); "
        "default: the studies.")] = None,
    study: Annotated[str | None, typer.Option("--study", help="Only this study id.")] = None,
    phenotype: Annotated[str | None, typer.Option(
        "--phenotype", help="relapsing, progressive, mixed, RRMS, SPMS or PPMS.")] = None,
    arm: Annotated[str | None, typer.Option(
        "--arm", help="Arm (ahsct, dmt, alemtuzumab, ...).")] = None,
    pooled: Annotated[bool, typer.Option(
        "--pooled", help="Include published meta-analysis figures.")] = False,
    verified_only: Annotated[bool, typer.Option(
        "--verified-only", help="Drop figures flagged (unverified).")] = False,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Also write the rows as JSON to FILE.")] = None,
) -> None:
    """List the studies, or the outcome rows of one outcome, in the evidence base.

    Example: hsctms evidence list --outcome neda --phenotype relapsing --json neda.json
    """
    from hsctms.evidence import OUTCOMES, RowInclusion, load_evidence

    try:
        check_output_files(json_out)
        ev = load_evidence()
        if outcome is None and phenotype is None and arm is None:
            if study is not None:
                ev.study(study)
            df = ev.studies if study is None else ev.studies[ev.studies["study_id"] == study]
            console.print(_studies_table(df, title=f"Evidence base: {len(df)} sources"))
            payload: dict[str, Any] = {"kind": "studies", "evidence_date": ev.evidence_date,
                                       "rows": _records(df)}
        else:
            if outcome is not None and outcome not in OUTCOMES:
                raise ConfigurationError(f"Unknown outcome {outcome!r}.",
                                         hint=f"Use one of {', '.join(OUTCOMES)}.")
            df = ev.outcomes(study=study, outcome=outcome, arm=arm, phenotype=phenotype,
                             rows=RowInclusion(verified_only=verified_only,
                                               include_pooled=pooled))
            console.print(_outcomes_table(df, title=f"{outcome or 'outcomes'}: {len(df)} rows"))
            payload = {"kind": "outcomes", "outcome": outcome, "evidence_date": ev.evidence_date,
                       "rows": _records(df)}
        line = _evidence_date_line(ev)
        if line:
            console.print(line, highlight=False, markup=False)
        if json_out is not None:
            write_json(json_out, payload)
            console.print(f"Wrote {json_out}")
    except HsctmsError as exc:
        fail(exc)


@evidence_app.command("harms")
def harms_cmd(
    harm: Annotated[str | None, typer.Option(
        "--harm", help="e.g. thyroid, itp, infection, febrile_neutropenia, menses_recovery.")
    ] = None,
    arm: Annotated[str | None, typer.Option(
        "--arm", help="ahsct, alemtuzumab, non_induction_dmt, ...")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write JSON to FILE.")] = None,
) -> None:
    """List harm figures with their comparator arms, context and intervals.

    Adverse events, secondary autoimmunity, fertility, ...; each row with its context (how
    serious, how often it matters, as the source says) and an interval (the published one,
    else the exact interval from events/n).

    Example: hsctms evidence harms --harm thyroid
    """
    from hsctms.evidence import HARMS, load_evidence

    try:
        check_output_files(json_out)
        if harm is not None and harm not in HARMS:
            raise ConfigurationError(f"Unknown harm {harm!r}.",
                                     hint=f"Use one of {', '.join(HARMS)}.")
        ev = load_evidence()
        df = ev.harms(harm=harm, arm=arm)
        _print_harms(f"{harm or 'harms'}: {len(df)} rows", df, with_study=True)
        line = _evidence_date_line(ev)
        if line:
            console.print(line, highlight=False, markup=False)
        if json_out is not None:
            write_json(json_out, {"kind": "harms", "harm": harm,
                                  "evidence_date": ev.evidence_date, "rows": _records(df)})
            console.print(f"Wrote {json_out}")
    except HsctmsError as exc:
        fail(exc)


def _print_harms(title: str, df: Any, *, with_study: bool) -> None:
    """Harm rows, then their context as numbered notes (the table stays readable at 80
    columns; the notes wrap as paragraphs)."""
    from rich.table import Table
    from rich.text import Text

    rows, notes = [], []
    for r, context in zip(_figure_rows(df, "harm"), df["context"], strict=True):
        if context:
            if context not in notes:
                notes.append(context)
            r[2] = f"{r[2]} [{notes.index(context) + 1}]"
        rows.append(r if with_study else r[1:])
    cols = [("study", "l"), ("arm", "l"), ("harm [note]", "l"), ("when", "l"),
            ("estimate", "r"), ("n", "r")]
    if not with_study:
        cols.pop(0)
    console.print(_table(title, cols, rows,
                         caption=f"{_FLAG_NOTE}. exact: Clopper-Pearson 95% interval from "
                         "events/n (no published interval). [note]: context below."))
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    for i, text in enumerate(notes, start=1):
        grid.add_row(Text(f"[{i}]"), Text(text))
    if notes:
        console.print(grid, highlight=False)


_SHOW_FIELDS = (
    "citation", "doi", "reference_missing", "kind", "evidence_design", "design", "registration",
    "status", "status_date", "status_note", "country", "n", "n_note", "pct_rrms", "pct_spms",
    "pct_ppms", "pct_progressive", "age", "edss", "disease_duration_years", "regimen",
    "intensity", "intensity_published", "followup_years", "followup_note", "trm_deaths",
    "trm_n", "trm_note", "superseded_by", "overlaps", "source_type", "checked_against",
    "unverified", "notes",
)


@evidence_app.command("show")
def show_cmd(
    study: Annotated[str, typer.Argument(help="Study id, e.g. atkins2016.")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write JSON to FILE.")] = None,
) -> None:
    """Show one study: full reference, design, population, every outcome and harm.

    Example: hsctms evidence show atkins2016
    """
    from hsctms.evidence import EVIDENCE_DESIGNS, RowInclusion, load_evidence

    try:
        check_output_files(json_out)
        ev = load_evidence()
        s = ev.study(study)
        from rich.markup import escape
        from rich.table import Table
        from rich.text import Text

        console.print(f"[bold]{escape(s['label'])}[/] ({s['study_id']})", highlight=False)

        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for key in _SHOW_FIELDS:
            val = s.get(key)
            if val in (None, [], ""):
                continue
            if key == "evidence_design":
                val = EVIDENCE_DESIGNS.get(str(val), val)
            if key == "reference_missing":
                key, val = "not confirmed", ", ".join(val)
            elif isinstance(val, list):
                val = ", ".join(val)
            flag = " (unverified)" if key in s["unverified"] else ""
            grid.add_row(Text(key.replace("_", " ")), Text(f"{_txt(val)}{flag}"))
        console.print(grid, highlight=False)
        out = ev.outcomes(study=study, rows=RowInclusion(include_pooled=True))
        harm = ev.harms(study=study)
        cols = [("study", "l"), ("arm", "l"), ("name", "l"), ("when", "l"), ("estimate", "r"),
                ("n", "r")]
        if not out.empty:
            rows = [r[1:] for r in _figure_rows(out, "outcome")]
            console.print(_table("Outcomes", cols[1:], rows, caption=_FLAG_NOTE))
        if not harm.empty:
            _print_harms("Harms", harm, with_study=False)
        if json_out is not None:
            write_json(json_out, {"study": s, "outcomes": _records(out),
                                  "harms": _records(harm)})
            console.print(f"Wrote {json_out}")
    except HsctmsError as exc:
        fail(exc)


@evidence_app.command("changes")
def changes_cmd(
    since: Annotated[str | None, typer.Option(
        "--since", help="Show the changes after this date (YYYY-MM-DD); default: since the "
        "previous evidence date.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write JSON to FILE.")] = None,
) -> None:
    """What changed since the previous evidence date (or --since DATE).

    Studies added, studies updated and verification flags changed, per evidence date.

    Example: hsctms evidence changes --since 2026-01-01
    """
    from hsctms.evidence import load_evidence

    try:
        check_output_files(json_out)
        ev = load_evidence()
        log = ev.changelog
        if log is None:
            raise ConfigurationError("This evidence base has no change log (changes.yaml).")
        entries = log.since(since)
        console.print(_evidence_date_line(ev), highlight=False, markup=False)
        if not entries:
            console.print(f"No changes after {since}.", highlight=False, markup=False)
        for e in entries:
            console.print(f"\n[bold]{e.date.isoformat()}[/]", highlight=False)
            console.print(e.summary, highlight=False, markup=False)
            added = e.of_kind("added")
            if added:
                console.print("Added: " + ", ".join(c.study_id for c in added),
                              highlight=False, markup=False)
            for kind, head in (("updated", "Updated"), ("flag", "Flags")):
                items = e.of_kind(kind)
                if not items:
                    continue
                console.print(f"{head}:", highlight=False, markup=False)
                for c in items:
                    where = f" [{c.field}]" if c.field else ""
                    console.print(f"  - {c.study_id}{where}: {c.text}", highlight=False,
                                  markup=False)
        if json_out is not None:
            payload = log.to_dict()
            payload["entries"] = [e.to_dict() for e in entries]
            payload["since"] = since
            write_json(json_out, payload)
            console.print(f"Wrote {json_out}")
    except HsctmsError as exc:
        fail(exc)


@evidence_app.command("pool")
def pool_cmd(
    outcome: Annotated[str, typer.Option(
        "--outcome", help="trm, or a percentage outcome such as progression_free, neda, "
        "relapse_free (with --time).")] = "trm",
    by: Annotated[str | None, typer.Option(
        "--by", help="Subgroups: era, intensity or phenotype (with --data: any column).")] = None,
    method: Annotated[str, typer.Option(
        "--method", help="REML, DL, FE, or GLMM (binomial-normal, no subgroups).")] = "REML",
    measure: Annotated[str, typer.Option("--measure", help="PLO (logit) or PFT "
                                         "(Freeman-Tukey).")] = "PLO",
    time: Annotated[float | None, typer.Option(
        "--time", help="Time point in years (needed for outcomes other than trm).")] = None,
    population: Annotated[str, typer.Option(
        "--population", help="Subgroup rows for outcomes other than trm (e.g. RRMS); default "
        "whole cohorts.")] = "all",
    test: Annotated[str, typer.Option("--test", help="z or knha (Knapp-Hartung).")] = "z",
    level: Annotated[float, typer.Option("--level", help="Confidence level.")] = 0.95,
    data: Annotated[Path | None, typer.Option(
        "--data", help="Pool your own CSV (columns study, events, n; optional year, edss, "
        "pct_rrms) instead of the evidence base.")] = None,
    include_superseded: Annotated[bool, typer.Option(
        "--include-superseded", help="Also pool reports superseded by a later report.")] = False,
    verified_only: Annotated[bool, typer.Option(
        "--verified-only", help="Pool only inputs not flagged (unverified).")] = False,
    moderators: Annotated[str | None, typer.Option(
        "--moderators", help="Comma-separated moderators for one joint meta-regression, "
        "e.g. pub_year,edss,pct_rrms (evidence base) or year,edss (--data).")] = None,
    forest: Annotated[Path | None, typer.Option(
        "--plot", "--forest", help="Write the forest plot to this file (.svg, .png or .pdf). "
        "Without it no file is written; an existing file that this command did not write is "
        "never overwritten.")] = None,
    no_forest: Annotated[bool, typer.Option(
        "--no-forest", help="Do not write a forest plot (the default; kept for old "
        "scripts).")] = False,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Write the full result as JSON (docs/meta-analysis.md).")] = None,
) -> None:
    """Meta-analyse a proportion across studies (pooled table; forest plot with --plot FILE).

    Pooled estimate with CI and prediction interval, heterogeneity, subgroups,
    meta-regression and (for TRM) the Poisson model. No file is written unless asked for
    (--plot, --json), and never over a file this command did not write.

    Example: hsctms evidence pool --outcome trm --by era --plot trm.svg --json trm.json

    Example: hsctms evidence pool --data my_studies.csv --measure PFT --method DL
    """
    from hsctms.evidence import EvidenceSelection
    from hsctms.meta import ModelSpec, RegressionSpec, SourceInfo
    from hsctms.meta.evidence_pool import pool_data, pool_evidence, read_study_table

    try:
        plot_to = None if no_forest else forest
        if plot_to is not None and plot_to.suffix.lower() not in (".svg", ".png", ".pdf"):
            raise ConfigurationError(f"--plot {plot_to} must end in .svg, .png or .pdf.")
        check_output_files(plot_to, json_out)
        joint = (tuple(m.strip() for m in moderators.split(",") if m.strip())
                 if moderators else None)
        model = ModelSpec(measure=measure, method=method, level=level, test=test)
        regression = RegressionSpec(joint=joint or None)
        with progress_display("Pooling the studies") as step:
            if data is not None:
                table = read_study_table(data)
                res = pool_data(table, outcome=data.stem, by=by, model=model,
                                regression=regression, label=data.name,
                                source=SourceInfo(selection={"source": str(data),
                                                             "studies": len(table)}))
            else:
                res = pool_evidence(outcome, time_years=time, by=by, model=model,
                                    selection=EvidenceSelection(
                                        population=population,
                                        include_superseded=include_superseded,
                                        verified_only=verified_only),
                                    regression=regression)
            if plot_to is not None:
                step("Drawing the forest plot")
                _write_forest(res, plot_to)
        meta = res.meta
        rows = []
        for r in meta.studies.to_dict("records"):
            rows.append([str(r["study"]) + (f" [{r['group']}]" if "group" in r else ""),
                         f"{r['events']}/{r['n']}", _pct(r["prop"]),
                         f"{_pct(r['exact_low'])} to {_pct(r['exact_high'])}",
                         f"{r['weight']:.1f}%"])
        if meta.subgroups is not None:
            for name, g in meta.subgroups.groups.items():
                rows.append([f"subtotal {meta.subgroups.by} = {name}",
                             f"{int(g.studies['events'].sum())}/{int(g.studies['n'].sum())}",
                             _pct(g.prop), f"{_pct(g.prop_ci[0])} to {_pct(g.prop_ci[1])}",
                             ""])
        rows.append(["pooled", f"{int(meta.studies['events'].sum())}/"
                     f"{int(meta.studies['n'].sum())}", _pct(meta.prop),
                     f"{_pct(meta.prop_ci[0])} to {_pct(meta.prop_ci[1])}", "100%"])
        cols = [("study", "l"), ("events/n", "r"), ("proportion", "r"),
                (f"{100 * level:g}% CI (exact)", "r"), ("weight", "r")]
        console.print(_table(meta.label or "Pooled proportion", cols, rows,
                             caption="Percentages of pooled tables have two decimals."))
        console.print(res.summary, highlight=False, markup=False)
        if plot_to is not None:
            console.print(f"Wrote {plot_to}")
        if json_out is not None:
            write_json(json_out, res.to_dict())
            console.print(f"Wrote {json_out}")
    except HsctmsError as exc:
        fail(exc)


def _write_forest(res: Any, path: Path) -> None:
    """Draw the forest plot of a pooling result into ``path`` (never over a foreign file)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from hsctms.plots._style import save_figure

    ax = res.plot(title=res.meta.label or None)
    fig = ax.figure
    assert isinstance(fig, Figure)
    try:
        write_output(path, lambda tmp: save_figure(fig, tmp))
    finally:
        plt.close(fig)


@evidence_app.command("sormani")
def sormani_cmd(
    json_out: Annotated[Path | None, typer.Option("--json", help="Write JSON to FILE.")] = None,
) -> None:
    """Compare Sormani et al. (Neurology 2017) with what the available inputs give.

    Lists the inputs that are missing for a full reproduction.

    Example: hsctms evidence sormani
    """
    from hsctms.meta.reproduce import reproduce_sormani2017

    try:
        with progress_display("Reproducing Sormani 2017 (meta-analyses of the inputs)"):
            rep = reproduce_sormani2017()
        console.print(rep.summary, highlight=False, markup=False)
        if json_out is not None:
            write_json(json_out, rep.to_dict())
            console.print(f"Wrote {json_out}")
    except HsctmsError as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    """Add the ``evidence`` command group."""
    app.add_typer(evidence_app, name="evidence")
