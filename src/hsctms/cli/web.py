"""``hsctms serve`` (the web registry) and ``hsctms users`` (accounts)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from hsctms.cli._common import console, fail
from hsctms.errors import HsctmsError

users_app = typer.Typer(help="Web registry accounts.\n\nExample: hsctms users add ann "
                        "--role admin --db registry.db", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``users`` group to the root app."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")


def serve(
    db: Annotated[str, typer.Option("--db", help="SQLite path or SQLAlchemy URL.")] =
    "registry.db",
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    insecure_cookies: Annotated[bool, typer.Option(
        "--insecure-cookies", help="Send cookies over plain http (local development only).")]
    = False,
    trusted_proxy: Annotated[list[str] | None, typer.Option(
        "--trusted-proxy", help="Address of a reverse proxy whose X-Forwarded-For is "
        "believed (repeatable). Default: none, the header is ignored.")] = None,
    busy_timeout: Annotated[float, typer.Option(
        "--busy-timeout", min=0.001, help="Seconds a save waits for another writer (e.g. an "
        "import) before answering 503 with the form kept.")] = 10.0,
) -> None:
    """Run the web registry (secret key from HSCTMS_SECRET_KEY). The registry must exist
    (create it with 'hsctms import' or 'hsctms users add').

    Example: HSCTMS_SECRET_KEY=... hsctms serve --db registry.db --port 8000
    """
    import uvicorn

    from hsctms.db import open_registry
    from hsctms.web import WebSettings, create_app

    try:
        open_registry(db).dispose()
        app = create_app(WebSettings(db=db, secure_cookies=not insecure_cookies,
                                     trusted_proxies=tuple(trusted_proxy or ()),
                                     busy_timeout=busy_timeout,
                                     dashboard_workers="process"))
    except HsctmsError as exc:
        fail(exc)
        return
    console.print(f"Serving the hsctms registry on http://{host}:{port} (Ctrl+C to stop)")
    # the app decides whom to believe (WebSettings.trusted_proxies), not uvicorn's defaults
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="data_entry, centre_lead, analyst or admin.")],
    db: Annotated[str, typer.Option("--db", help="SQLite path or SQLAlchemy URL.")],
    centre: Annotated[str | None, typer.Option(help="Centre code (centre roles).")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Create a user (e.g. the first administrator); the password is prompted for. Creates
    the registry if the database does not exist yet.

    Example: hsctms users add ann --role admin --db registry.db
    """
    from hsctms.db import ensure_schema
    from hsctms.db.users import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = add_user(ensure_schema(db), username, password, role, centre)
    except HsctmsError as exc:
        fail(exc)
        return
    console.print(f"Created user {user.username} ({user.role}"
                  f"{', centre ' + user.centre if user.centre else ''}).")


@users_app.command("list")
def users_list(db: Annotated[str, typer.Option("--db", help="Database.")]) -> None:
    """List users.

    Example: hsctms users list --db registry.db
    """
    from hsctms.db import open_registry
    from hsctms.db.users import list_users

    try:
        engine = open_registry(db)
    except HsctmsError as exc:
        fail(exc)
    with engine.connect() as conn:
        for u in list_users(conn):
            console.print(f"{u.username}\t{u.role}\t{u.centre or '-'}\t"
                          f"{'active' if u.active else 'inactive'}")


def _account(action: str, username: str, db: str) -> None:
    from hsctms.db import open_registry
    from hsctms.db import users as U

    try:
        engine = open_registry(db)
        if action == "deactivate":
            U.deactivate_user(engine, username)
            console.print(f"Deactivated {username}; their sessions have ended.")
        elif action == "activate":
            U.activate_user(engine, username)
            console.print(f"Activated {username}.")
        else:
            password = U.reset_password(engine, username)
            console.print(f"New one-time password for {username} (shown once; pass it on "
                          f"over a separate channel):\n{password}", highlight=False)
    except HsctmsError as exc:
        fail(exc)


@users_app.command("deactivate")
def users_deactivate(username: Annotated[str, typer.Argument(help="Login name.")],
                     db: Annotated[str, typer.Option("--db", help="Database.")]) -> None:
    """Revoke an account: the user can no longer sign in and their open sessions end now.

    Example: hsctms users deactivate ann --db registry.db
    """
    _account("deactivate", username, db)


@users_app.command("activate")
def users_activate(username: Annotated[str, typer.Argument(help="Login name.")],
                   db: Annotated[str, typer.Option("--db", help="Database.")]) -> None:
    """Re-activate a deactivated account (password unchanged).

    Example: hsctms users activate ann --db registry.db
    """
    _account("activate", username, db)


@users_app.command("reset")
def users_reset(username: Annotated[str, typer.Argument(help="Login name.")],
                db: Annotated[str, typer.Option("--db", help="Database.")]) -> None:
    """Replace a forgotten password by a random one-time password (printed once); the
    user's sessions end.

    Example: hsctms users reset ann --db registry.db
    """
    _account("reset", username, db)


@users_app.command("set-password")
def users_set_password(
    username: Annotated[str, typer.Argument(help="Login name.")],
    db: Annotated[str, typer.Option("--db", help="Database.")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Set a new password (prompted for, 12+ characters); the user's sessions end.

    Example: hsctms users set-password ann --db registry.db
    """
    from hsctms.db import open_registry
    from hsctms.db.users import set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        set_password(open_registry(db), username, password)
    except HsctmsError as exc:
        fail(exc)
        return
    console.print(f"Password of {username} changed; their sessions have ended.")
