"""``hsctms validate``, ``hsctms import``, ``hsctms export`` and ``hsctms db upgrade``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hsctms.cli._common import (
    DateFormatOpt,
    DecimalOpt,
    DelimiterOpt,
    console,
    csv_dialect,
    err_console,
    fail,
    write_json,
)
from hsctms.errors import ConfigurationError, HsctmsError

#: Issues printed in the terminal table (all of them go to --json).
MAX_ROWS = 200

DirArg = Annotated[Path, typer.Argument(help="Bundle directory (patients.csv, edss.csv, ...).",
                                        show_default=False)]
DbOpt = Annotated[str, typer.Option("--db", help="SQLAlchemy URL, or a file path for SQLite.")]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Also write the result as JSON.")]

db_app = typer.Typer(help="Registry database administration.\n\nExample: hsctms db upgrade "
                     "--db registry.db", no_args_is_help=True)


SEVERITY_CHOICES = ("error", "warning", "info")


def _plain(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _print_rule_counts(counts: list[Any], *, title: str) -> None:
    """One row per rule: rule, severity, count and the first example."""
    from rich.table import Table
    from rich.text import Text

    if not console.is_terminal:
        for c in counts:
            _plain(f"{c.severity} {c.rule}: {c.count} issue(s), first {c.first.to_line()}")
        return
    table = Table(title=title, show_lines=False)
    for col in ("rule", "severity", "count", "first example"):
        table.add_column(col, overflow="fold", no_wrap=col in ("rule", "severity", "count"))
    for c in counts:
        table.add_row(Text(c.rule), Text(c.severity, style=_STYLE[c.severity]), str(c.count),
                      Text(c.first.to_line()))
    console.print(table)


_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _print_issues(issues: list[Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    if not console.is_terminal:
        # logs, pipes and files: one plain line per issue, never a wrapped table
        for issue in issues:
            _plain(issue.to_line())
        return
    table = Table(title="Validation issues", show_lines=False)
    for col in ("rule", "severity", "file", "row", "field", "patient", "message"):
        table.add_column(col, overflow="fold", no_wrap=col in ("rule", "severity"))
    for issue in issues[:MAX_ROWS]:
        table.add_row(Text(issue.rule), Text(issue.severity, style=_STYLE[issue.severity]),
                      Text(issue.file), "" if issue.row is None else str(issue.row),
                      Text(issue.field or ""), Text(issue.patient or ""), Text(issue.message))
    console.print(table)
    if len(issues) > MAX_ROWS:
        console.print(f"... and {len(issues) - MAX_ROWS} more issue(s); use --json FILE for "
                      "the complete list, or --summary for counts by rule.")


def _print_report(report: object, *, min_severity: str = "warning", summary: bool = False,
                  quiet: bool = False) -> None:
    """Print a validation report: the issues of ``min_severity`` or worse one by one (or, with
    ``summary``, counted by rule), the others counted by rule, then the one-line verdict."""
    from rich.text import Text

    from hsctms.io import ValidationReport

    assert isinstance(report, ValidationReport)
    if not quiet:
        shown = report.at_least(min_severity)  # type: ignore[arg-type]
        if summary:
            if report.issues:
                _print_rule_counts(report.rule_counts(), title="Validation issues by rule")
        else:
            if shown:
                _print_issues(shown)
            listed = {id(i) for i in shown}
            hidden = [i for i in report.issues if id(i) not in listed]
            if hidden:
                counts = report.rule_counts(hidden)
                rules = ", ".join(f"{c.rule} {c.count}" for c in counts)
                kinds = " and ".join(f"{n} {sev}(s)" for sev in SEVERITY_CHOICES
                                     if (n := sum(i.severity == sev for i in hidden)))
                _plain(f"Not listed: {kinds} ({rules}); 'hsctms validate --min-severity "
                       "info' lists them, '--summary' counts every rule.")
    if console.is_terminal:
        console.print(Text(report.summary, style="green" if report.ok else "bold red"))
    else:
        _plain(report.summary)


def _check_severity(min_severity: str) -> None:
    if min_severity not in SEVERITY_CHOICES:
        err_console.print(f"[bold red]Error:[/] --min-severity must be one of "
                          f"{', '.join(SEVERITY_CHOICES)}, not {min_severity!r}.",
                          highlight=False)
        raise typer.Exit(2)


MinSeverityOpt = Annotated[str, typer.Option(
    "--min-severity", help="List issues of this severity or worse one by one: error, warning "
    "or info (the others are counted by rule).")]


@db_app.command("upgrade")
def db_upgrade(db: DbOpt) -> None:
    """Migrate a registry to the newest schema revision (or create the schema in an existing,
    empty database, e.g. a new PostgreSQL database). A missing SQLite file is refused:
    registries are created by 'hsctms import'.

    Example: hsctms db upgrade --db registry.db
    """
    from hsctms.db import connect, current_revision, display_url, upgrade
    from hsctms.db.engine import require_sqlite_file

    try:
        engine = connect(db)
        require_sqlite_file(engine)
        before = current_revision(engine)
        after = upgrade(engine)
    except HsctmsError as exc:
        fail(exc)
        return
    where = display_url(engine)
    if before == after:
        console.print(f"{where} is already at revision {after}.", highlight=False,
                      markup=False, soft_wrap=True)
    else:
        # one line, not wrapped: the URL is copied from it
        console.print(f"{where}: {before or 'empty'} -> {after}.", highlight=False,
                      markup=False, soft_wrap=True)


def validate_cmd(
    directory: DirArg,
    json_out: JsonOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the one-line "
                                        "summary.")] = False,
    min_severity: MinSeverityOpt = "warning",
    summary: Annotated[bool, typer.Option("--summary", help="Count issues by rule (rule, "
                                          "severity, count, first example) instead of "
                                          "listing each.")] = False,
    delimiter: DelimiterOpt = None,
    decimal: DecimalOpt = None,
    date_format: DateFormatOpt = None,
) -> None:
    """Validate a CSV bundle and print its issues (file:row, severity, rule, field, patient,
    message): errors and warnings one by one, infos counted by rule unless --min-severity
    info. Exits 1 when there is any error, 0 otherwise (warnings do not fail).

    Example: hsctms validate my-bundle --json report.json
    Example: hsctms validate my-bundle --summary
    Example: hsctms validate spreadsheet-export --delimiter ';' --decimal ',' --date-format
    dayfirst
    """
    from hsctms.io import validate_bundle

    _check_severity(min_severity)
    dialect = csv_dialect(delimiter, decimal, date_format)
    try:
        with console.status("Validating..."):
            report = validate_bundle(directory, dialect=dialect)
    except HsctmsError as exc:
        fail(exc)
        return
    _print_report(report, min_severity=min_severity, summary=summary, quiet=quiet)
    if json_out is not None:
        write_json(json_out, report.to_dict())
    raise typer.Exit(0 if report.ok else 1)


def import_cmd(
    directory: DirArg,
    db: DbOpt,
    mode: Annotated[str, typer.Option(
        "--mode", help="insert: stored rows that differ are conflicts (nothing written); "
        "update: overwrite them (audited).")] = "insert",
    user: Annotated[str, typer.Option("--user", help="Recorded in the audit trail.")
                    ] = "cli",
    json_out: JsonOpt = None,
    delimiter: DelimiterOpt = None,
    decimal: DecimalOpt = None,
    date_format: DateFormatOpt = None,
) -> None:
    """Validate a CSV bundle and load it into the registry in one transaction (all or
    nothing; re-importing the same bundle changes nothing).

    Example: hsctms import my-bundle --db registry.db
    Example: hsctms import spreadsheet-export --db registry.db --delimiter ';' --decimal ','
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from hsctms.db import import_bundle
    from hsctms.errors import DataValidationError

    if mode not in ("insert", "update"):
        err_console.print("[bold red]Error:[/] --mode must be insert or update.")
        raise typer.Exit(2)
    dialect = csv_dialect(delimiter, decimal, date_format)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    try:
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("Validating", total=None)

            def progress(stage: str, done: int, total: int) -> None:
                label = "Comparing with stored rows" if stage == "compare" else \
                    f"Writing {stage}"
                bar.update(task, description=label, completed=done, total=total)

            result = import_bundle(directory, db, user=user,
                                   mode="update" if mode == "update" else "insert",
                                   progress=progress, dialect=dialect)
    except DataValidationError as exc:
        if exc.report is not None:
            _print_report(exc.report)
            if json_out is not None:
                write_json(json_out, exc.to_dict())
        fail(exc)
        return
    except HsctmsError as exc:
        if json_out is not None:
            write_json(json_out, exc.to_dict())
        fail(exc)
        return
    if result.report.warnings:
        _print_report(result.report)
    console.print(result.summary, highlight=False, markup=False)
    if json_out is not None:
        write_json(json_out, result.to_dict())

def export_cmd(
    db: DbOpt,
    out: Annotated[Path, typer.Option("--out", help="Output bundle directory: new, empty, "
                                      "or an earlier export's output.")],
    centre: Annotated[str | None, typer.Option(
        "--centre", help="Only this centre's patients.")] = None,
    deidentified: Annotated[bool, typer.Option(
        "--deidentified", help="Write the de-identified tables (hsctms/io/deidentify.yaml: "
        "free text dropped, codes checked, quasi-identifiers generalised, k-anonymity) with "
        "manifest.json, instead of the identifiable bundle.")] = False,
    k: Annotated[int | None, typer.Option(
        "--k", help="With --deidentified: the k of the k-anonymity check (default: the "
        "definition's, 5).")] = None,
    refuse_small_groups: Annotated[bool, typer.Option(
        "--refuse-small-groups", help="With --deidentified: write nothing when a group is "
        "smaller than k, instead of suppressing its values.")] = False,
    keep_ids: Annotated[bool, typer.Option(
        "--keep-ids", help="With --deidentified: keep the pseudonymous patient ids instead of "
        "random codes.")] = False,
    user: Annotated[str, typer.Option("--user", help="Recorded in the audit trail.")
                    ] = "cli",
) -> None:
    """Write the registry (or one centre) as a CSV bundle with bundle.json, or de-identified.

    Example: hsctms export --db registry.db --out registry-bundle
    Example: hsctms export --db registry.db --out for-analysis --deidentified --k 10
    """
    from hsctms.cli._outputs import prepare_bundle_dir
    from hsctms.db import export_bundle, open_registry

    if not deidentified and (k is not None or refuse_small_groups or keep_ids):
        fail(ConfigurationError("--k, --refuse-small-groups and --keep-ids apply to "
                                "--deidentified exports only.", hint="Add --deidentified."))
        return
    try:
        engine = open_registry(db)  # refuse a missing registry before touching --out
        if deidentified:
            from hsctms.db import export_deidentified

            with console.status("De-identifying..."):
                export = export_deidentified(
                    engine, centre=centre, user=user, keep_ids=keep_ids, k=k,
                    on_small_groups="refuse" if refuse_small_groups else None)
            owned = prepare_bundle_dir(out, command="hsctms export")
            for name, data in export.files().items():
                owned.claim(name).write_bytes(data)
            owned.record_all()
            console.print(export.summary, highlight=False, markup=False)
            console.print(f"De-identified export written to {out}", highlight=False,
                          markup=False)
            return
        owned = prepare_bundle_dir(out, command="hsctms export")
        with console.status("Exporting..."):
            path = export_bundle(engine, out, centre=centre, user=user)
        owned.record_all()
    except HsctmsError as exc:
        fail(exc)
        return
    console.print(f"Bundle written to {path}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``validate``, ``import``, ``export`` and the ``db`` group."""
    app.command("validate")(validate_cmd)
    app.command("import")(import_cmd)
    app.command("export")(export_cmd)
    app.add_typer(db_app, name="db")
