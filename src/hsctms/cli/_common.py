"""Shared CLI helpers: error display, console, common options."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from hsctms.errors import ConfigurationError, HsctmsError

if TYPE_CHECKING:
    from hsctms.io.csvtext import CsvDialect
    from hsctms.model import Cohort

console = Console(emoji=False)  # data such as "file.csv:100:" must not become emoji
err_console = Console(stderr=True, emoji=False)


def run_guarded(app: typer.Typer) -> None:
    """Run a Typer app; an :class:`HsctmsError` prints its message and hint and exits 1."""
    try:
        app(standalone_mode=True)
    except HsctmsError as exc:  # pragma: no cover - exercised through subprocess tests
        fail(exc)


def fail(exc: HsctmsError, code: int = 1) -> NoReturn:
    """Print an hsctms error (message, then hint) to stderr and exit with ``code``."""
    err_console.print(f"[bold red]Error:[/] {exc.message}", highlight=False)
    if exc.hint:
        err_console.print(f"[yellow]Hint:[/] {exc.hint}", highlight=False)
    sys.exit(code)


@contextmanager
def progress_display(description: str) -> Iterator[Callable[..., None]]:
    """A transient Rich progress bar; yields the callback library functions report to.

    The callback takes ``(description, done=None, total=None)``: a step description alone
    (spinner), or steps done out of a total (bar). Nothing is shown when the output is not a
    terminal.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True, console=console) as progress:
        tasks = [progress.add_task(description, total=None)]

        def update(text: str, done: int | None = None, total: int | None = None) -> None:
            if total is None:  # a step without a count: a fresh spinner line
                progress.remove_task(tasks[0])
                tasks[0] = progress.add_task(text, total=None)
            else:
                progress.update(tasks[0], description=text, completed=done or 0, total=total)

        yield update


def write_json(path: Path, payload: dict[str, Any], *, owned: bool = False) -> None:
    """Write a JSON document (UTF-8, indented, keys in insertion order) as an output file of
    the running command: never over a file it did not write (:class:`OutputFile`).

    ``owned=True``: ``path`` was claimed in an :class:`OutputDirectory`, which guards it
    already (and lists it in its own marker); it is written directly.
    """
    text = json.dumps(payload, indent=2, default=str, allow_nan=False) + "\n"
    if owned:
        path.write_text(text, encoding="utf-8")
        return
    from hsctms.cli._outputs import write_output

    write_output(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def load_cohort_source(db: str | None, data: Path | None, *, command: str) -> Cohort:
    """The cohort of ``--db URL`` (registry) or ``--data DIR`` (CSV bundle, strictly validated).

    Exactly one must be given; a bundle with validation errors is refused with a hint.
    """
    if (db is None) == (data is None):
        raise ConfigurationError(
            "Give exactly one of --db URL and --data DIR.",
            hint=f"E.g. hsctms {command} --data demo-bundle ...")
    if db is not None:
        from hsctms.db import load_cohort

        return load_cohort(db)
    from hsctms.io import load_bundle

    assert data is not None
    return load_bundle(data)


# -- reading spreadsheet exports: explicit options only ----------------------------------------

DelimiterOpt = Annotated[str | None, typer.Option(
    "--delimiter", help="Field separator of the CSV files when they are not comma-separated: "
    "';', 'tab' or '|' (a spreadsheet's export). Never guessed: without it such a file is "
    "refused with a message naming its separator.", show_default=False)]
DecimalOpt = Annotated[str | None, typer.Option(
    "--decimal", help="Decimal mark of the numbers: ',' reads 3,5 as 3.5 (then a number "
    "holding '.' is an error). Default '.'.", show_default=False)]
DateFormatOpt = Annotated[str | None, typer.Option(
    "--date-format", help="Dates written dayfirst (31/12/2019, 31.12.2019) or monthfirst "
    "(12/31/2019), read besides YYYY-MM-DD. Default: YYYY-MM-DD only.", show_default=False)]


def csv_dialect(delimiter: str | None, decimal: str | None,
                date_format: str | None) -> CsvDialect | None:
    """The :class:`~hsctms.io.csvtext.CsvDialect` of ``--delimiter/--decimal/--date-format``
    (None when none is given); an invalid value exits 2 with the allowed values."""
    if delimiter is None and decimal is None and date_format is None:
        return None
    from hsctms.io.csvtext import CsvDialect

    sep = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}.get(
        delimiter or ",", delimiter or ",")
    try:
        return CsvDialect(sep, decimal or ".", date_format or "iso")  # type: ignore[arg-type]
    except ConfigurationError as exc:
        err_console.print(f"[bold red]Error:[/] {exc.message}", highlight=False)
        if exc.hint:
            err_console.print(f"[yellow]Hint:[/] {exc.hint}", highlight=False)
        raise typer.Exit(2) from exc
