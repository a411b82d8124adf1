"""``hsctms trial``: concealed randomisation stored in the registry database.

The statistician keeps a trial file (JSON: arms, method, factors, settings; checked by
:func:`hsctms.design.trial_config.load_trial_config`) and a secret seed file; neither is
stored in the database (only the seed's fingerprint is). Sites register eligibility; only
then can a patient be randomised; every allocation goes to the append-only, hash-chained log.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hsctms.cli._common import console, fail, write_json
from hsctms.errors import ConfigurationError, HsctmsError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


trial_app = typer.Typer(
    help="Concealed randomisation (stratified permuted blocks or minimisation) with an "
    "append-only allocation log in the registry database.\n\n"
    "Example: hsctms trial randomise --db registry.sqlite --trial ZEUS --patient SYN-000001 "
    "--config examples/trials/zeus-trial.json --seed-file secret.txt",
    no_args_is_help=True,
)

DB = Annotated[str, typer.Option("--db", help="Registry database URL or SQLite path.")]
TRIAL = Annotated[str, typer.Option("--trial", help="Trial name, e.g. ZEUS.")]


def _registry(db: str) -> Engine:
    """The existing registry ``db`` (a mistyped path is refused; nothing is created)."""
    from hsctms.db import open_registry

    return open_registry(db)


def _factors(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigurationError(f"Factor {item!r} is not NAME=LEVEL.",
                                     hint="E.g. --factor centre=LON --factor edss_band=0-3.5")
        k, v = item.split("=", 1)
        name = k.strip()
        if name in out:
            raise ConfigurationError(f"Factor {name!r} is given twice.",
                                     hint="Give each --factor NAME=LEVEL once.")
        out[name] = v.strip()
    return out


@trial_app.command("register")
def register_cmd(
    db: DB, trial: TRIAL,
    patient: Annotated[str, typer.Option("--patient", help="Pseudonymous patient id.")],
    confirmed_by: Annotated[str, typer.Option("--confirmed-by", help="Who confirmed it.")],
    config: Annotated[Path, typer.Option("--config", help="Trial file (JSON): its factors "
                                         "and their allowed levels.")],
    factor: Annotated[list[str] | None, typer.Option(
        "--factor", help="NAME=LEVEL, repeatable; every factor of the trial file, with one of "
        "its levels.")] = None,
    not_eligible: Annotated[bool, typer.Option("--not-eligible",
                                               help="Record a screening failure.")] = False,
) -> None:
    """Register a patient's eligibility (once; append-only). The patient must be in the
    registry, and every factor of the trial file must be given with one of its levels.

    Example: hsctms trial register --db registry.sqlite --trial ZEUS --patient SYN-000001
    --confirmed-by dr.lead --config examples/trials/zeus-trial.json
    --factor centre=SYN-C07 --factor edss_band=0-3.5
    """
    from hsctms.design.trial_config import load_trial_config
    from hsctms.services.randomisation import register_eligibility

    try:
        factors = _factors(factor or [])
        engine = _registry(db)  # a mistyped --db first: nothing else matters then
        cfg = load_trial_config(config)
        register_eligibility(engine, trial, patient, confirmed_by=confirmed_by,
                             factors=factors, eligible=not not_eligible, config=cfg)
    except HsctmsError as exc:
        fail(exc)
    state = "not eligible" if not_eligible else "eligible"
    console.print(f"Registered {patient} for {trial} as {state}.", highlight=False)


@trial_app.command("randomise")
def randomise_cmd(
    db: DB, trial: TRIAL,
    patient: Annotated[str, typer.Option("--patient", help="Registered patient id.")],
    config: Annotated[Path, typer.Option("--config", help="Trial file (JSON).")],
    seed_file: Annotated[Path, typer.Option("--seed-file", help="Statistician's secret.")],
) -> None:
    """Randomise a registered, eligible patient and print the allocated arm.

    Example: hsctms trial randomise --db registry.sqlite --trial ZEUS --patient SYN-000001
    --config examples/trials/zeus-trial.json --seed-file secret.txt
    """
    from hsctms.design.trial_config import load_trial_config, read_seed
    from hsctms.services.randomisation import DatabaseAllocationStore, randomise

    try:
        cfg, seed = load_trial_config(config), read_seed(seed_file)
        engine = _registry(db)
        rnd = cfg.randomiser(seed, DatabaseAllocationStore(engine, trial))
        rec = randomise(engine, trial, rnd, patient)
    except HsctmsError as exc:
        fail(exc)
    console.print(f"{patient}: {rec.arm} (allocation {rec.sequence} of {trial})",
                  highlight=False)


@trial_app.command("log")
def log_cmd(
    db: DB, trial: TRIAL,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the log as JSON.")
                        ] = None,
) -> None:
    """Show the trial's allocation log and whether its hash chain is intact.

    Example: hsctms trial log --db registry.sqlite --trial ZEUS --json zeus-log.json
    """
    from rich.table import Table

    from hsctms.design.randomisation import verify_chain
    from hsctms.services.randomisation import allocation_table

    try:
        records = allocation_table(_registry(db), trial)
    except HsctmsError as exc:
        fail(exc)
    intact = verify_chain(records)
    table = Table(title=f"Allocations of {trial}")
    for col in ("#", "patient", "arm", "factors", "by", "time"):
        table.add_column(col)
    for r in records:
        table.add_row(str(r.sequence), r.patient_id, r.arm,
                      ", ".join(f"{k}={v}" for k, v in r.factors.items()),
                      r.eligibility_confirmed_by, r.timestamp)
    console.print(table)
    console.print(f"Hash chain {'intact' if intact else 'BROKEN: the log was altered'}.",
                  highlight=False)
    if json_out is not None:
        write_json(json_out, {"trial": trial, "chain_intact": intact,
                              "allocations": [r.__dict__ for r in records]})
    if not intact:
        raise typer.Exit(1)


@trial_app.command("replay")
def replay_cmd(
    db: DB, trial: TRIAL,
    config: Annotated[Path, typer.Option("--config", help="Trial file (JSON).")],
    seed_file: Annotated[Path, typer.Option("--seed-file", help="Statistician's secret.")],
) -> None:
    """Statistician's check: re-derive every stored allocation from the seed.

    Example: hsctms trial replay --db registry.sqlite --trial ZEUS
    --config examples/trials/zeus-trial.json --seed-file secret.txt
    """
    from hsctms.design.randomisation import replay
    from hsctms.design.trial_config import load_trial_config, read_seed
    from hsctms.services.randomisation import allocation_table

    try:
        cfg, seed = load_trial_config(config), read_seed(seed_file)
        records = allocation_table(_registry(db), trial)
    except HsctmsError as exc:
        fail(exc)
    ok = replay(lambda store: cfg.randomiser(seed, store), records)
    console.print(f"{len(records)} allocations: "
                  f"{'reproduced exactly from the seed' if ok else 'NOT reproduced'}.",
                  highlight=False)
    if not ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``trial`` command group."""
    app.add_typer(trial_app, name="trial")
