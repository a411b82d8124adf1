"""``hsctms demo``: the main job on the embedded default.

It builds a synthetic demo registry in an SQLite file from the bundled synthetic CSV bundle
(or a freshly generated one), derives the endpoints and writes the outcomes report (HTML, PDF,
JSON, figures, endpoint table). Every output is labelled SYNTHETIC.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hsctms.cli._common import console, fail
from hsctms.cli._outputs import OutputDirectory
from hsctms.errors import HsctmsError


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""

    @app.command("demo")
    def demo_cmd(
        out: Annotated[Path, typer.Option(
            "--out", "-o", help="Output directory: new, empty, or an earlier demo output "
            "(whose files, listed in its .hsctms-output.json, are replaced; nothing else is "
            "touched).")] = Path("hsctms-demo"),
        patients: Annotated[int | None, typer.Option(
            "--patients", "-n", min=1, help="Generate a fresh synthetic cohort of this size "
            "instead of using the bundled 300-patient demo bundle.")] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the generated cohort.")
                        ] = 20261122,
        definition: Annotated[str, typer.Option(
            "--definition", "-d", help="Endpoint definition preset or file.")] = "halt_ms",
        pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF.")
                       ] = True,
    ) -> None:
        """Build a SYNTHETIC demo registry (SQLite) and write its outcomes report.

        Steps: synthetic CSV bundle -> validated all-or-nothing import into
        OUT/registry.sqlite -> endpoint derivation -> HALT-MS and Shevchenko style analyses
        -> OUT/outcomes.html, outcomes.pdf, outcomes.json, endpoints.csv, figures/.

        OUT must be new, empty or an earlier demo output: a re-run deletes only the files the
        demo wrote (if unchanged); any other non-empty directory is refused.

        Example: hsctms demo --out hsctms-demo
        """
        try:
            paths = run_demo(out, patients=patients, seed=seed, definition=definition,
                             pdf=pdf)
        except HsctmsError as exc:
            fail(exc)
            return
        console.print("\n[bold]Demo outputs[/] (SYNTHETIC data):", highlight=False)
        for label, path in paths.items():
            console.print(f"  {label:18s} {path}", highlight=False)
        console.print(f"\nOpen {paths['report (HTML)']} in a browser.", highlight=False)


def run_demo(
    out: Path,
    *,
    patients: int | None = None,
    seed: int = 20261122,
    definition: str = "halt_ms",
    pdf: bool = True,
) -> dict[str, Path]:
    """Run the demo pipeline and return the paths it wrote, by label."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from hsctms.analysis import run_outcomes
    from hsctms.datasets import demo_bundle_path, write_demo_bundle
    from hsctms.db import import_bundle, load_cohort
    from hsctms.io.csvtext import neutralise_frame
    from hsctms.reports.outcomes import OUTCOMES_FILES, outcomes_outputs

    out = Path(out)
    owned = OutputDirectory(out, command="hsctms demo")
    owned.prepare()
    db_name = "registry.sqlite"
    paths: dict[str, Path] = {}

    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        if patients is None:
            bundle = demo_bundle_path()
            console.print(f"Using the bundled synthetic demo bundle {bundle}", highlight=False)
        else:
            bundle = owned.claim_dir("bundle")
            task = bar.add_task(f"Generating {patients} synthetic patients", total=patients)
            write_demo_bundle(bundle, patients, seed,
                              progress=lambda k: bar.update(task, completed=k))
            owned.record_tree("bundle")
            paths["bundle"] = bundle
        task = bar.add_task("Validating and importing", total=None)
        # SQLite's side files are claimed too: a stale journal must never meet a new database
        for side in ("-journal", "-wal", "-shm"):
            owned.claim(db_name + side)
        db_path = owned.claim(db_name)
        result = import_bundle(bundle, db_path, user="demo")
        owned.done(db_name)
        bar.update(task, total=1, completed=1)
        paths["registry"] = db_path

        task = bar.add_task("Deriving endpoints and analysing", total=None)
        cohort = load_cohort(db_path)
        analysis = run_outcomes(
            cohort, definition, progress=lambda s: bar.update(task, description=s)
        )
        bar.update(task, total=1, completed=1, description="Analysis done")
        owned.done(db_name)  # reading must not change it; recorded again to be sure

        task = bar.add_task("Writing report and figures", total=None)
        outputs = outcomes_outputs(analysis, source=f"demo registry {db_name}",
                                   extra={"import": result.to_dict()})
        outputs.write(owned.claim, pdf=pdf, written=owned.done)
        paths["figures"] = out / "figures"
        paths["report (HTML)"] = out / OUTCOMES_FILES["html"]
        if pdf:
            paths["report (PDF)"] = out / OUTCOMES_FILES["pdf"]
        paths["numbers (JSON)"] = out / OUTCOMES_FILES["json"]
        neutralise_frame(analysis.frame).to_csv(owned.claim("endpoints.csv"), index=False)
        owned.done("endpoints.csv")
        paths["endpoint table"] = out / "endpoints.csv"
        bar.update(task, total=1, completed=1)
    console.print(result.summary, highlight=False)
    console.print(analysis.summary, highlight=False)
    return paths
