"""``hsctms monitor``: registry monitoring (outcomes, follow-up completeness, overdue follow-up,
alerts, centre comparison) of a registry or one centre, from :mod:`hsctms.analysis.monitoring`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hsctms.cli._common import console, fail, write_json
from hsctms.errors import ConfigurationError, HsctmsError


def register(app: typer.Typer) -> None:
    """Add the ``monitor`` command."""

    @app.command("monitor")
    def monitor_cmd(
        db: Annotated[str, typer.Option("--db", help="Registry database URL or SQLite path.",
                                        show_default=False)],
        centre: Annotated[str | None, typer.Option(
            "--centre", help="Monitor one centre only (default: the whole registry, with the "
            "risk-adjusted centre comparison).")] = None,
        small_count: Annotated[int, typer.Option(
            "--small-count", min=0, help="Show counts below N as '<N' (disclosure control); 1 "
            "shows every count, only for output that stays in the centre.")] = 5,
        schedule: Annotated[Path | None, typer.Option(
            "--schedule", help="Monitoring schedule YAML (default: the bundled "
            "hsctms/analysis/data/monitoring.yaml; see docs/monitoring.md).")] = None,
        record_level: Annotated[bool, typer.Option(
            "--record-level", help="List overdue patients and alerts by patient id in the "
            "JSON (patient-level data: not for output that leaves the centre).")] = False,
        json_out: Annotated[Path | None, typer.Option(
            "--json", help="Write every number as JSON (schema in docs/monitoring.md).")
                            ] = None,
    ) -> None:
        """Monitor a registry: event-free and progression-free survival from the transplant,
        Clark's follow-up completeness and overdue follow-up per centre, alerts (low
        lymphocytes at 12 months, relapse or MRI activity after the transplant) and, for the
        whole registry, observed/expected events per centre with Poisson control limits.

        Example: hsctms monitor --db hsctms-demo/registry.db --small-count 10
        """
        from hsctms.analysis.monitoring import monitor
        from hsctms.analysis.monitoring_schedule import load_schedule
        from hsctms.db import load_cohort

        try:
            plan = load_schedule(schedule)
            cohort = load_cohort(db, centre)
            if centre is not None and not len(cohort.patients):
                raise ConfigurationError(f"No patients of centre {centre!r} in the registry.",
                                         hint="Check the centre code (hsctms monitor --db "
                                         f"{db} without --centre lists every centre).")
            result = monitor(cohort, small_count=small_count, scope=centre or "registry",
                             record_level=record_level, with_funnel=centre is None,
                             schedule=plan)
            if json_out is not None:
                write_json(json_out, result.to_dict())
        except HsctmsError as exc:
            fail(exc)
        console.print(result.summary, highlight=False, markup=False)
        if json_out is not None:
            console.print(f"JSON written to {json_out}", highlight=False)
