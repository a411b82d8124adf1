"""``hsctms audit verify``: check that the audit trail and the trial tables are untampered."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hsctms.cli._common import console, fail, write_json
from hsctms.errors import ConfigurationError, HsctmsError

audit_app = typer.Typer(help="The tamper-evident audit trail.\n\nExample: hsctms audit verify "
                        "--db registry.db", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``audit`` group."""
    app.add_typer(audit_app, name="audit")


def _head(text: str | None) -> tuple[int, str] | None:
    if not text:
        return None
    count, _, value = text.partition(":")
    if not count.isdigit() or not value:
        fail(ConfigurationError(f"--expect-head {text!r} is not COUNT:HASH.",
                                hint="Copy the 'Head:' value of an earlier verification."))
    return int(count), value


@audit_app.command("verify")
def audit_verify(
    db: Annotated[str, typer.Option("--db", help="Registry: SQLite path or SQLAlchemy URL.")],
    expect_head: Annotated[str | None, typer.Option(
        "--expect-head", help="COUNT:HASH printed by an earlier run (detects a truncated "
        "chain).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the result as "
                                                  "JSON.")] = None,
) -> None:
    """Recompute the audit chain (HMAC with HSCTMS_AUDIT_KEY when set) and cross-check
    allocations and eligibility registrations against it; exit 1 on any problem.

    Example: HSCTMS_AUDIT_KEY=... hsctms audit verify --db registry.db
    """
    from hsctms.db import open_registry
    from hsctms.db.verify import verify_audit

    try:
        res = verify_audit(open_registry(db), expect_head=_head(expect_head))
        if json_out is not None:
            write_json(json_out, res.to_dict())
    except HsctmsError as exc:
        fail(exc)
    console.print(res.summary, highlight=False, soft_wrap=True)
    if not res.ok:
        raise typer.Exit(1)
