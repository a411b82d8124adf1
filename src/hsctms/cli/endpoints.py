"""``hsctms endpoints``: derive the endpoint table of a registry (bundle or database)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hsctms.cli._common import (
    DateFormatOpt,
    DecimalOpt,
    DelimiterOpt,
    console,
    csv_dialect,
    fail,
    load_cohort_source,
    write_json,
)
from hsctms.cli._outputs import check_output_files, write_output
from hsctms.errors import DataValidationError, HsctmsError

if TYPE_CHECKING:
    from hsctms.endpoints import EndpointDefinition, EndpointResult
    from hsctms.io.csvtext import CsvDialect
    from hsctms.model.cohort import Cohort


def _fail_validation(exc: DataValidationError) -> None:
    """Print every error and warning (rule, file:row, field, message), then exit 1."""
    from hsctms.cli.data import _print_report
    from hsctms.io import ValidationReport

    report = exc.report
    if not isinstance(report, ValidationReport):
        fail(exc)
    _print_report(ValidationReport([i for i in report.issues if i.severity != "info"],
                                   source=report.source, rows=report.rows))
    infos = len(report.infos)
    fail(DataValidationError(
        f"Endpoints not derived: {len(report.errors)} validation error(s), listed above "
        "with file, row and field" + (f" ({infos} info(s) not shown)." if infos else "."),
        hint=exc.hint))


def _report_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Print the validation warnings of the inputs (one line per issue); re-emit others."""
    from hsctms.cli.data import _print_report
    from hsctms.endpoints import InputWarning
    from hsctms.io import ValidationReport

    for w in caught:
        if isinstance(w.message, InputWarning):
            report = w.message.report
            _print_report(ValidationReport(report.warnings, source=report.source))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _derive_source(db: str | None, data: Path | None, d: EndpointDefinition,
                   step: Callable[[str], object], dialect: CsvDialect | None = None
                   ) -> tuple[Cohort, EndpointResult, tuple[str, ...]]:
    """Cohort, endpoints and the bundle tables not checked, of ``--db`` or ``--data``
    (read as ``dialect`` declares, see ``--delimiter/--decimal/--date-format``).

    A bundle is validated once, for the tables the engine reads
    (:func:`hsctms.endpoints.derive_bundle`)."""
    from hsctms.endpoints import derive, derive_bundle
    from hsctms.errors import ConfigurationError

    if dialect is not None and data is None:
        raise ConfigurationError(
            "--delimiter, --decimal and --date-format describe the CSV files of --data; a "
            "database (--db) has no such files.",
            hint="Drop them, or read the bundle with --data DIR.")
    if data is not None and db is None:
        step("Reading, validating and deriving")
        loaded = derive_bundle(data, d, dialect=dialect)
        return loaded.cohort, loaded.result, loaded.unchecked
    step("Loading registry")
    cohort = load_cohort_source(db, data, command="endpoints")
    step(f"Deriving endpoints ({cohort.n_patients} patients)")
    return cohort, derive(cohort, d), ()


def _options_text(dialect: CsvDialect | None) -> str:
    """The ``--delimiter/--decimal/--date-format`` options that read ``dialect`` again."""
    if dialect is None:
        return ""
    sep = "tab" if dialect.delimiter == "\t" else dialect.delimiter
    parts = [f" --delimiter '{sep}'" if dialect.delimiter != "," else "",
             f" --decimal '{dialect.decimal}'" if dialect.decimal != "." else "",
             f" --date-format {dialect.date_format}" if dialect.date_format != "iso" else ""]
    return "".join(parts)


def register(app: typer.Typer) -> None:
    """Add the ``endpoints`` command."""

    @app.command("endpoints")
    def endpoints_cmd(
        out: Annotated[Path | None, typer.Option(
            "--out", "-o", help="Per-patient endpoint table (CSV); optional with --trace.")
                       ] = None,
        db: Annotated[str | None, typer.Option("--db", help="Registry database URL or "
                                               "SQLite path.")] = None,
        data: Annotated[Path | None, typer.Option("--data", help="CSV bundle directory.")
                        ] = None,
        definition: Annotated[str, typer.Option(
            "--definition", "-d", help="Preset (halt_ms, msbase, msprog_default) or a "
            ".yaml/.json definition file.")] = "halt_ms",
        events: Annotated[Path | None, typer.Option(
            "--events", help="Also write the worsening/improvement events table (CSV).")
                          ] = None,
        json_out: Annotated[Path | None, typer.Option(
            "--json", help="Write the summary, definition and provenance as JSON.")] = None,
        trace: Annotated[str | None, typer.Option(
            "--trace", metavar="PATIENT", help="Print the adjudication trace of this patient "
            "(reference, threshold, candidate, confirmation and relapse windows, step by "
            "step).")] = None,
        unconfirmed: Annotated[bool, typer.Option(
            "--unconfirmed", help="With --trace: also list the candidate changes that were "
            "not confirmed, and why.")] = False,
        delimiter: DelimiterOpt = None,
        decimal: DecimalOpt = None,
        date_format: DateFormatOpt = None,
    ) -> None:
        """Derive confirmed worsening and improvement (PIRA/RAW), relapse, MRI activity,
        NEDA-3/4 loss, event-free survival and death for every patient: one row per patient
        with <endpoint>_time (days from the origin) and <endpoint>_event (0/1).

        Example: hsctms endpoints --data demo-bundle --definition halt_ms --out endpoints.csv

        Trace one patient: hsctms endpoints --data demo-bundle --trace SYN-000001 --unconfirmed

        A spreadsheet export: hsctms endpoints --data export --delimiter ';' --decimal ','
        --date-format dayfirst --out endpoints.csv
        """
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from hsctms.endpoints import InputWarning, get_definition, trace_patient
        from hsctms.errors import ConfigurationError
        from hsctms.io.csvtext import neutralise_frame

        dialect = csv_dialect(delimiter, decimal, date_format)
        try:
            if out is None and trace is None:
                raise ConfigurationError("Give --out FILE (or --trace PATIENT).",
                                         hint="E.g. hsctms endpoints --data demo-bundle "
                                              "--out endpoints.csv")
            check_output_files(out, events, json_out)
            with Progress(SpinnerColumn(), TextColumn("{task.description}"),
                          TimeElapsedColumn(), console=console, transient=True) as bar:
                task = bar.add_task("Reading definition", total=3)
                d = get_definition(definition)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", InputWarning)
                    cohort, res, unchecked = _derive_source(db, data, d,
                                                            lambda text: bar.update(
                                                                task, description=text,
                                                                advance=1), dialect)
                bar.advance(task, 1)
            if unchecked:
                console.print(f"Not checked (not used by endpoints): {', '.join(unchecked)}; "
                              f"'hsctms validate {data}{_options_text(dialect)}' checks the "
                              "whole bundle.",
                              highlight=False, markup=False, soft_wrap=True)
            _report_warnings(caught)
            if trace is not None:
                with warnings.catch_warnings():  # already reported once, just above
                    warnings.simplefilter("ignore", InputWarning)
                    text = trace_patient(cohort, trace, d,
                                         include_unconfirmed=unconfirmed).summary
                console.print(text, highlight=False, markup=False, soft_wrap=True)
            if out is None:
                return
            out.parent.mkdir(parents=True, exist_ok=True)
            # Analysis outputs for spreadsheets, never re-imported: text cannot run as a formula.
            table = neutralise_frame(res.to_frame())
            write_output(out, lambda tmp: table.to_csv(tmp, index=False))
            if events is not None:
                events.parent.mkdir(parents=True, exist_ok=True)
                visits = neutralise_frame(res.events)
                write_output(events, lambda tmp: visits.to_csv(tmp, index=False))
            if json_out is not None:
                write_json(json_out, res.to_dict())
        except DataValidationError as exc:
            _fail_validation(exc)
            return
        except HsctmsError as exc:
            fail(exc)
            return
        console.print(res.summary, highlight=False)
        console.print(f"Wrote {out}" + (f", {events}" if events else "")
                      + (f", {json_out}" if json_out else ""), highlight=False)
