"""``hsctms economics``: the cost-effectiveness model of aHSCT versus high-efficacy DMTs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hsctms.cli._common import console, fail, progress_display
from hsctms.cli._outputs import check_output_files, write_output
from hsctms.errors import HsctmsError


def register(app: typer.Typer) -> None:
    """Add the ``economics`` command."""

    @app.command("economics")
    def economics_cmd(
        preset: Annotated[str, typer.Option(
            "--preset", help="Country preset name (uk) or the path of your own inputs YAML "
            "(copy src/hsctms/economics/presets/uk.yaml).")] = "uk",
        out: Annotated[Path | None, typer.Option(
            "--out", "-o", help="Write the report: .html or .json.")] = None,
        draws: Annotated[int | None, typer.Option(
            "--draws", help="PSA draws (default: the preset's, 5,000 for uk).", min=1)] = None,
        seed: Annotated[int | None, typer.Option(
            "--seed", help="PSA seed (default: the preset's).")] = None,
    ) -> None:
        """Costs, QALYs, ICERs, PSA (plane, CEAC, CEAF, EVPI) and tornado of aHSCT versus
        alemtuzumab, ocrelizumab and natalizumab.

        Example: hsctms economics --preset uk --out economics.html
        """
        from hsctms.economics.inputs import load_inputs
        from hsctms.economics.report import build_report, write_report

        try:
            check_output_files(out)
            if out is not None and out.suffix.lower() not in (".html", ".htm", ".json"):
                raise HsctmsError(f"Unknown report format {out.suffix!r}.",
                                  hint="Use --out report.html or --out report.json.")
            with progress_display("reading inputs") as show:
                inputs = load_inputs(preset)
                report = build_report(inputs, draws=draws, seed=seed, progress=show)
                if out is not None:
                    show("writing the report")
                    write_output(out, lambda tmp: write_report(report, tmp))
        except HsctmsError as exc:
            fail(exc)
        console.print(report.summary, highlight=False, markup=False)
        if out is not None:
            console.print(f"Report written to {out}", highlight=False, markup=False)
