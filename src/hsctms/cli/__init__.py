"""The ``hsctms`` command line.

Each command group lives in its own module under :mod:`hsctms.cli` and exposes
``register(app)``. Modules are listed explicitly in :data:`COMMAND_MODULES`; an import error is
loud, never silently skipped. Commands import heavy libraries and the library layers in
their bodies, so ``--help`` and ``version`` start without pandas, numpy or SQLAlchemy
(checked structurally by tests/cli/test_startup.py; timed by bench/bench_startup.py).
"""

from __future__ import annotations

import importlib

import typer

from hsctms.cli._common import run_guarded

app = typer.Typer(
    name="hsctms",
    help=(
        "Toolkit for autologous stem cell transplantation (aHSCT) in multiple sclerosis: "
        "registry import and validation, endpoint derivation, outcomes analysis, evidence "
        "synthesis, patient reports and trial design.\n\n"
        "Example: hsctms demo --out hsctms-demo"
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)



@app.callback()
def _root() -> None:
    """hsctms command line (see ``hsctms COMMAND --help``)."""


#: Command modules, each with a ``register(app: typer.Typer) -> None`` function.
COMMAND_MODULES: tuple[str, ...] = (
    "hsctms.cli.version",
    "hsctms.cli.demo",
    "hsctms.cli.trial",
    "hsctms.cli.data",
    "hsctms.cli.design",
    "hsctms.cli.endpoints",
    "hsctms.cli.datasets",
    "hsctms.cli.expect",
    "hsctms.cli.analyse",
    "hsctms.cli.monitor",
    "hsctms.cli.evidence",
    "hsctms.cli.economics",
    "hsctms.cli.web",
    "hsctms.cli.audit",
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_all()


def main() -> None:
    """Console-script entry point: run the app, turning hsctms errors into clear messages."""
    run_guarded(app)
