"""``hsctms demo-data``: write a synthetic CSV bundle from the disease model."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Annotated

import typer

from hsctms.cli._common import console, fail
from hsctms.cli._outputs import prepare_bundle_dir
from hsctms.errors import ConfigurationError, HsctmsError


def _parse_date(text: str | None) -> _dt.date | None:
    if text is None:
        return None
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(f"--data-date {text!r} is not an ISO date.",
                                 hint="Use YYYY-MM-DD, e.g. --data-date 2026-06-30.") from None


def register(app: typer.Typer) -> None:
    """Add the ``demo-data`` command."""

    @app.command("demo-data")
    def demo_data(
        out: Annotated[Path, typer.Option("--out", "-o", help="Output bundle directory: new, "
                                          "empty, or an earlier demo-data output.")],
        patients: Annotated[int, typer.Option("--patients", "-n", min=1,
                                              help="Number of patients.")] = 300,
        seed: Annotated[int, typer.Option("--seed", "-s", min=0, help="Random seed.")] = 1,
        data_date: Annotated[str | None, typer.Option(
            "--data-date", help="Data freeze date YYYY-MM-DD (default 2026-06-30).")] = None,
        model_file: Annotated[Path | None, typer.Option(
            "--model", help="JSON/YAML file overriding disease-model parameters (or a "
            "bundle.json to reuse its model).")] = None,
        chunk_size: Annotated[int, typer.Option(
            "--chunk-size", min=1, help="Patients held in memory at a time (output does not "
            "depend on it).")] = 10_000,
    ) -> None:
        """Write a SYNTHETIC demo cohort as a CSV bundle (one CSV per table, bundle.json and
        README.txt), simulated from the documented disease model (docs/disease-model.md).

        Example: hsctms demo-data --patients 1000 --seed 7 --out demo-bundle

        Example: hsctms demo-data -n 500 --model high-dropout.yaml --out scenario
        """
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        from hsctms.datasets.disease_model import load_model
        from hsctms.datasets.generate import DEFAULT_DATA_DATE, write_demo_bundle

        try:
            date = _parse_date(data_date) or DEFAULT_DATA_DATE
            model = load_model(model_file) if model_file is not None else None
            owned = prepare_bundle_dir(out, command="hsctms demo-data")
            with Progress("[progress.description]{task.description}", BarColumn(),
                          MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                          transient=True) as bar:
                task = bar.add_task("Simulating patients", total=patients)
                counts = write_demo_bundle(out, patients, seed, model=model, data_date=date,
                                           chunk_size=chunk_size,
                                           progress=lambda k: bar.advance(task, k))
            owned.record_all()
        except HsctmsError as exc:
            fail(exc)
            return
        rows = ", ".join(f"{k}={v}" for k, v in counts.items())
        console.print(f"[bold]SYNTHETIC[/] bundle of {patients} patients (seed {seed}, data "
                      f"date {date.isoformat()}) written to {out}", highlight=False)
        console.print(f"Rows: {rows}", highlight=False)
