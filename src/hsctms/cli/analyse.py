"""``hsctms analyse``: the outcomes report (HALT-MS and Shevchenko style analyses) of a
registry, as HTML or PDF, with optional JSON of every number and the figures as SVG/PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hsctms.cli._common import console, fail, load_cohort_source, write_json
from hsctms.cli._outputs import check_output_files, write_output
from hsctms.errors import ConfigurationError, HsctmsError


def _years(text: str) -> tuple[float, ...]:
    try:
        years = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigurationError(
            f"Cannot read --years {text!r}.",
            hint="Give comma-separated years, e.g. --years 1,2,3,4,5.") from None
    if not years or min(years) <= 0:
        raise ConfigurationError("--years must be positive numbers.",
                                 hint="E.g. --years 1,2,3,4,5.")
    return years


_FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx", ".tex": "tex"}


def _format(out: Path, fmt: str | None) -> str:
    """The report format: ``--format`` or the suffix of ``--out``; the two must agree."""
    by_suffix = _FORMATS.get(out.suffix.lower())
    if fmt is None:
        if by_suffix is None:
            raise ConfigurationError(f"Unknown report format {out.suffix!r}.",
                                     hint="Use --out report.html, .pdf, .docx or .tex.")
        return by_suffix
    fmt = fmt.lower()
    if fmt not in set(_FORMATS.values()):
        raise ConfigurationError(f"Unknown --format {fmt!r}.", hint="Use html, pdf, docx or tex.")
    if by_suffix != fmt:
        raise ConfigurationError(f"--format {fmt} does not match --out {out.name}.",
                                 hint=f"Name the file report.{fmt}.")
    return fmt


def register(app: typer.Typer) -> None:
    """Add the ``analyse`` command."""

    @app.command("analyse")
    def analyse_cmd(
        out: Annotated[Path, typer.Option("--out", "-o",
                                          help="Report file: .html, .pdf, .docx or .tex.")],
        db: Annotated[str | None, typer.Option(
            "--db", help="Registry database URL or SQLite path.")] = None,
        data: Annotated[Path | None, typer.Option("--data", help="CSV bundle directory.")
                        ] = None,
        definition: Annotated[str, typer.Option(
            "--definition", "-d", help="Endpoint definition preset (halt_ms, msbase, "
            "msprog_default) or a .yaml/.json file.")] = "halt_ms",
        level: Annotated[float, typer.Option(
            "--level", help="Confidence level of all intervals (HALT-MS used 0.9).")] = 0.9,
        years: Annotated[str, typer.Option(
            "--years", help="Years of the HALT-MS table, comma-separated.")] = "1,2,3,4,5",
        conf_type: Annotated[str, typer.Option(
            "--conf-type", help="CI transform: log-log (default), log (R's default) or "
            "plain.")] = "log-log",
        json_out: Annotated[Path | None, typer.Option(
            "--json", help="Write every number as JSON (schema: docs/outcomes-report.md).")
                            ] = None,
        figures: Annotated[Path | None, typer.Option(
            "--figures", help="Directory for the figures as SVG and PNG: new, empty, or an "
            "earlier --figures output.")] = None,
        fmt: Annotated[str | None, typer.Option(
            "--format", help="Report format: html, pdf, docx (Word tables and embedded "
            "figures, for the paper) or tex (the tables as LaTeX, booktabs); default from the "
            "--out suffix.")] = None,
        suppress: Annotated[bool, typer.Option(
            "--suppress-small-counts", help="Show counts 1-4 as '<5' in the report and JSON "
            "(for tables that leave a centre).")] = False,
    ) -> None:
        """Outcomes analysis of a registry: HALT-MS style table (EFS, progression-, relapse-
        and MRI-activity-free survival, NEDA-3 at each year with CIs; EDSS change with a
        signed-rank test), Shevchenko style table (cumulative incidence of worsening with
        death competing, EFS by phenotype with log-rank, sustained improvement), each beside
        the published figures; Cox model of EFS with a proportional-hazards check.

        Example: hsctms analyse --data demo-bundle --out outcomes.html --json outcomes.json

        Example: hsctms analyse --data demo-bundle --format docx --out outcomes.docx
        """
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from hsctms.analysis import OutcomesSettings, run_outcomes
        from hsctms.reports.outcomes import outcomes_outputs

        try:
            _format(out, fmt)
        except ConfigurationError as exc:
            fail(exc)
            return
        try:
            check_output_files(out, json_out)
            settings = OutcomesSettings(level=level, years=_years(years), conf_type=conf_type)
            with Progress(SpinnerColumn(), TextColumn("{task.description}"),
                          TimeElapsedColumn(), console=console, transient=True) as bar:
                task = bar.add_task("Loading registry", total=None)
                cohort = load_cohort_source(db, data, command="analyse")

                def progress(stage: str) -> None:
                    bar.update(task, description=f"{stage} ({cohort.n_patients} patients)")

                analysis = run_outcomes(cohort, definition, settings=settings,
                                        progress=progress)
                bar.update(task, description="Drawing figures and rendering the report")
                outputs = outcomes_outputs(analysis, source=cohort.source,
                                           suppress_small_counts=suppress)
                if figures is not None:
                    from hsctms.cli._outputs import OutputDirectory

                    owned = OutputDirectory(figures, command="hsctms analyse --figures")
                    owned.prepare()
                    outputs.write(lambda name: owned.claim(name.removeprefix("figures/")),
                                  html=False, pdf=False, json_output=False,
                                  written=lambda name: owned.done(name.removeprefix("figures/")))
                write_output(out, outputs.report.write)
            if json_out is not None:
                write_json(json_out, outputs.payload)
        except HsctmsError as exc:
            fail(exc)
            return
        console.print(analysis.summary, highlight=False)
        written = [str(out)] + ([str(json_out)] if json_out else []) + (
            [f"{figures}/*.svg|png"] if figures else [])
        console.print("Wrote " + ", ".join(written), highlight=False)
