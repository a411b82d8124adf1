"""``hsctms expect``: the personal "what to expect from aHSCT" report for one profile."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hsctms.cli._common import console, fail, progress_display, write_json
from hsctms.cli._outputs import check_output_files, write_output
from hsctms.errors import HsctmsError

if TYPE_CHECKING:  # pragma: no cover
    from hsctms.model.profile import PatientProfile


def register(app: typer.Typer) -> None:
    """Add the ``expect`` command."""

    @app.command("expect")
    def expect_cmd(
        profile: Annotated[Path, typer.Argument(help="Profile JSON (see docs/profile-schema.md).",
                                                show_default=False)],
        out: Annotated[Path | None, typer.Option(
            "--out", "-o", help="Write the report: .html or .pdf.")] = None,
        json_out: Annotated[Path | None, typer.Option(
            "--json", help="Write eligibility verdicts and every figure, with sources, as "
            "JSON (schema in docs/patient-report.md).")] = None,
    ) -> None:
        """Check eligibility against published criteria and write a personal, plain-language
        report of what to expect from aHSCT, with every figure taken from the evidence base.

        Example: hsctms expect examples/profiles/young-rrms-high-activity.json --out report.html
        """
        from hsctms.patient.report import build_report, write_patient_report

        try:
            check_output_files(out, json_out)
            if out is not None and out.suffix.lower() not in (".html", ".htm", ".pdf"):
                raise HsctmsError(f"Unknown report format {out.suffix!r}.",
                                  hint="Use --out report.html or --out report.pdf.")
            with progress_display("checking eligibility and selecting figures") as show:
                report = build_report(_read(profile))
                if out is not None:
                    write_output(out, lambda tmp: write_patient_report(report, tmp,
                                                                       progress=show))
            if out is not None:
                console.print(f"Report written to {out}")
            if json_out is not None:
                write_json(json_out, report.to_dict())
                console.print(f"JSON written to {json_out}")
        except HsctmsError as exc:
            fail(exc)
        console.print(report.summary, highlight=False)


def _read(path: Path) -> PatientProfile:
    from hsctms.model.profile import load_profile

    return load_profile(path)
