"""``hsctms evidence``: list, show and pool the published aHSCT-in-MS evidence (or a user's
study table), with forest plots and JSON output (schema: docs/meta-analysis.md)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from hsctms.cli._common import console, fail, write_json
from hsctms.cli._outputs import check_output_files, write_output
from hsctms.errors import ConfigurationError, HsctmsError

evidence_app = typer.Typer(
    name="evidence",
    help="The published evidence on aHSCT in MS: list, show and pool it (meta-analysis), "
    "or pool your own study table.\n\nExample: hsctms evidence pool --outcome trm --by era",
    no_args_is_help=True,
    rich_markup_mode="rich",
)



def _txt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    try:
        import pandas as pd

        if pd.isna(v):
            return ""
    except (TypeError, ValueError):
        pass
    return str(v)


def _records(df: Any) -> list[dict[str, Any]]:
    from hsctms.evidence.base import _py

    return [{k: _py(v) for k, v in r.items()} for r in df.to_dict("records")]


def _pct(x: float | None) -> str:
    return "NA" if x is None or not math.isfinite(x) else f"{100 * x:.2f}%"


def _studies_table(df: Any) -> Any:
    """The rich table of the evidence base's studies (one row per source)."""
    from rich.table import Table

    table = Table(title=f"Evidence base: {len(df)} sources", show_lines=False)
    for col in ("study", "kind", "n", "% RRMS", "EDSS", "intensity", "TRM", "flags"):
        table.add_column(col, justify="right" if col in ("n", "% RRMS", "EDSS",
                                                          "TRM") else "left",
                         no_wrap=col == "study", overflow="fold")
    for r in df.to_dict("records"):
        trm = ("" if r["trm_deaths"] is None or _txt(r["trm_deaths"]) == ""
               else f"{r['trm_deaths']}/{r['trm_n']}")
        flags = "superseded" if isinstance(r["superseded_by"], str) else ""
        if r["unverified"]:
            flags = (flags + " unverified: " + ",".join(r["unverified"])).strip()
        table.add_row(r["study_id"], r["kind"], _txt(r["n"]), _txt(r["pct_rrms"]),
                      _txt(r["edss"]), _txt(r["intensity"]), trm, flags)
    return table


def _outcomes_table(df: Any, *, title: str) -> Any:
    """The rich table of outcome rows (estimate, CI, verification flag)."""
    from rich.table import Table

    table = Table(title=title)
    for col in ("study", "arm", "population", "outcome", "time", "estimate", "CI",
                "n", "verified"):
        table.add_column(col, no_wrap=col == "study", overflow="fold")
    for r in df.to_dict("records"):
        ci = ("" if _txt(r["ci_low"]) == "" and _txt(r["ci_high"]) == "" else
              f"{_txt(r['ci_low'])}-{_txt(r['ci_high'])} ({_txt(r['ci_level'])})")
        unit = "%" if r["measure"] == "percent" else r["measure"]
        table.add_row(r["study_id"], r["arm"], r["population"], r["outcome"],
                      r["time_label"] or _txt(r["time_years"]),
                      f"{_txt(r['estimate'], 4)} {unit}",
                      ci, _txt(r["n"]), "yes" if r["verified"] else "NO (unverified)")
    return table


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
        ev = load_evidence()
        if outcome is None and phenotype is None and arm is None:
            df = ev.studies if study is None else ev.studies[ev.studies["study_id"] == study]
            if study is not None:
                ev.study(study)
            console.print(_studies_table(df))
            payload: dict[str, Any] = {"kind": "studies", "rows": _records(df)}
        else:
            if outcome is not None and outcome not in OUTCOMES:
                raise ConfigurationError(f"Unknown outcome {outcome!r}.",
                                         hint=f"Use one of {', '.join(OUTCOMES)}.")
            df = ev.outcomes(study=study, outcome=outcome, arm=arm, phenotype=phenotype,
                             rows=RowInclusion(verified_only=verified_only,
                                               include_pooled=pooled))
            console.print(_outcomes_table(df, title=f"{outcome or 'outcomes'}: {len(df)} rows"))
            payload = {"kind": "outcomes", "outcome": outcome, "rows": _records(df)}
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
    """List harm figures (adverse events, secondary autoimmunity, fertility, ...) with the
    comparator arms the sources report.

    Example: hsctms evidence harms --harm thyroid
    """
    from rich.table import Table

    from hsctms.evidence import HARMS, load_evidence

    try:
        if harm is not None and harm not in HARMS:
            raise ConfigurationError(f"Unknown harm {harm!r}.",
                                     hint=f"Use one of {', '.join(HARMS)}.")
        df = load_evidence().harms(harm=harm, arm=arm)
        table = Table(title=f"{harm or 'harms'}: {len(df)} rows")
        for col in ("study", "arm", "population", "harm", "time", "estimate", "CI",
                    "events/n", "verified"):
            table.add_column(col, no_wrap=col == "study", overflow="fold")
        for r in df.to_dict("records"):
            ci = ("" if _txt(r["ci_low"]) == "" and _txt(r["ci_high"]) == "" else
                  f"{_txt(r['ci_low'])}-{_txt(r['ci_high'])}")
            en = f"{_txt(r['events'])}/{_txt(r['n'])}" if _txt(r["events"]) else _txt(r["n"])
            unit = "%" if r["measure"] == "percent" else r["measure"]
            table.add_row(r["study_id"], r["arm"], r["population"], r["harm"],
                          r["time_label"] or _txt(r["time_years"]),
                          f"{_txt(r['estimate'], 4)} {unit}", ci, en,
                          "yes" if r["verified"] else "NO (unverified)")
        console.print(table)
        if json_out is not None:
            write_json(json_out, {"kind": "harms", "harm": harm, "rows": _records(df)})
            console.print(f"Wrote {json_out}")
    except HsctmsError as exc:
        fail(exc)


@evidence_app.command("show")
def show_cmd(
    study: Annotated[str, typer.Argument(help="Study id, e.g. atkins2016.")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write JSON to FILE.")] = None,
) -> None:
    """Show one study: design, population, regimen, TRM, every outcome and harm figure.

    Example: hsctms evidence show atkins2016
    """
    from rich.table import Table

    from hsctms.evidence import RowInclusion, load_evidence

    try:
        ev = load_evidence()
        s = ev.study(study)
        console.print(f"[bold]{s['label']}[/] ({s['study_id']})")
        for key in ("citation", "doi", "kind", "design", "country", "n", "n_note", "pct_rrms",
                    "pct_spms", "pct_ppms", "pct_progressive", "age", "edss",
                    "disease_duration_years", "regimen", "intensity", "intensity_published",
                    "followup_years", "followup_note", "trm_deaths", "trm_n", "trm_note",
                    "superseded_by", "overlaps", "source_type", "unverified", "notes"):
            val = s.get(key)
            if val in (None, [], ""):
                continue
            flag = " [yellow](unverified)[/]" if key in s["unverified"] else ""
            console.print(f"  {key:24s} {val}{flag}", highlight=False)
        out = ev.outcomes(study=study, rows=RowInclusion(include_pooled=True))
        harm = ev.harms(study=study)
        for title, df, col in (("Outcomes", out, "outcome"), ("Harms", harm, "harm")):
            if df.empty:
                continue
            table = Table(title=title)
            for c in ("arm", "population", col, "time", "estimate", "CI", "events/n",
                      "verified"):
                table.add_column(c)
            for r in df.to_dict("records"):
                ci = ("" if _txt(r["ci_low"]) == "" and _txt(r["ci_high"]) == "" else
                      f"{_txt(r['ci_low'])}-{_txt(r['ci_high'])}")
                en = (f"{_txt(r['events'])}/{_txt(r['n'])}" if _txt(r["events"]) else
                      _txt(r["n"]))
                table.add_row(r["arm"], r["population"], r[col],
                              r["time_label"] or _txt(r["time_years"]),
                              f"{_txt(r['estimate'], 4)} {r['measure']}", ci, en,
                              "yes" if r["verified"] else "NO")
            console.print(table)
        if json_out is not None:
            write_json(json_out, {"study": s, "outcomes": _records(out),
                                  "harms": _records(harm)})
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
        "--forest", help="Write the forest plot to this file (.svg, .png or .pdf). Without "
        "it no file is written.")] = None,
    no_forest: Annotated[bool, typer.Option(
        "--no-forest", help="Do not write a forest plot (the default; kept for old "
        "scripts).")] = False,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Write the full result as JSON (docs/meta-analysis.md).")] = None,
) -> None:
    """Meta-analyse a proportion across studies: pooled estimate with CI and prediction
    interval, heterogeneity, subgroups, meta-regression and (for TRM) the Poisson model;
    prints the pooled table and, with --forest FILE, writes the forest plot (no file is
    ever written into the current directory unless asked for).

    Example: hsctms evidence pool --outcome trm --by era --forest trm.svg --json trm.json

    Example: hsctms evidence pool --data my_studies.csv --measure PFT --method DL
    """
    from rich.table import Table

    from hsctms.evidence import EvidenceSelection
    from hsctms.meta import ModelSpec, RegressionSpec, SourceInfo
    from hsctms.meta.evidence_pool import pool_data, pool_evidence, read_study_table

    try:
        check_output_files(None if no_forest else forest, json_out)
        joint = (tuple(m.strip() for m in moderators.split(",") if m.strip())
                 if moderators else None)
        model = ModelSpec(measure=measure, method=method, level=level, test=test)
        regression = RegressionSpec(joint=joint or None)
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
        meta = res.meta
        t = Table(title=meta.label or "Pooled proportion")
        for c in ("study", "events/n", "proportion", f"{100 * level:g}% CI (exact)", "weight"):
            t.add_column(c, justify="left" if c == "study" else "right")
        for r in meta.studies.to_dict("records"):
            t.add_row(str(r["study"]) + (f" [{r['group']}]" if "group" in r else ""),
                      f"{r['events']}/{r['n']}", _pct(r["prop"]),
                      f"{_pct(r['exact_low'])} to {_pct(r['exact_high'])}",
                      f"{r['weight']:.1f}%")
        if meta.subgroups is not None:
            for name, g in meta.subgroups.groups.items():
                t.add_row(f"[bold]subtotal {meta.subgroups.by} = {name}[/]",
                          f"{int(g.studies['events'].sum())}/{int(g.studies['n'].sum())}",
                          _pct(g.prop), f"{_pct(g.prop_ci[0])} to {_pct(g.prop_ci[1])}", "")
        t.add_row("[bold]pooled[/]", f"{int(meta.studies['events'].sum())}/"
                  f"{int(meta.studies['n'].sum())}", _pct(meta.prop),
                  f"{_pct(meta.prop_ci[0])} to {_pct(meta.prop_ci[1])}", "100%")
        console.print(t)
        console.print(res.summary, highlight=False, markup=False)
        if forest is not None and not no_forest:
            if forest.suffix.lower() not in (".svg", ".png", ".pdf"):
                raise ConfigurationError(f"--forest {forest} must end in .svg, .png or .pdf.")
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            from matplotlib.figure import Figure

            from hsctms.plots._style import save_figure

            ax = res.plot(title=meta.label or None)
            fig = ax.figure
            assert isinstance(fig, Figure)
            write_output(forest, lambda tmp: save_figure(fig, tmp))
            plt.close(fig)
            console.print(f"Wrote {forest}")
        if json_out is not None:
            write_json(json_out, res.to_dict())
            console.print(f"Wrote {json_out}")
    except HsctmsError as exc:
        fail(exc)


@evidence_app.command("sormani")
def sormani_cmd(
    json_out: Annotated[Path | None, typer.Option("--json", help="Write JSON to FILE.")] = None,
) -> None:
    """Compare Sormani et al. (Neurology 2017) with what the available inputs give, and list
    the missing inputs.

    Example: hsctms evidence sormani
    """
    from hsctms.meta.reproduce import reproduce_sormani2017

    try:
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
