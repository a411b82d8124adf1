"""Home page, sign-in/out and user management."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from hsctms.errors import ConfigurationError, NotFoundError
from hsctms.web.access import Action
from hsctms.web.core import (
    LOGIN,
    PUBLIC,
    SESSION_COOKIE,
    TooManyAttempts,
    ctx_of,
    render,
    route,
)
from hsctms.web.security import new_token

router = APIRouter()


def _client(request: Request) -> str:
    """The client address: the TCP peer, or, behind a configured trusted proxy, the last
    ``X-Forwarded-For`` entry that is not itself a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    trusted = set(request.app.state.settings.trusted_proxies)
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",")
            if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return peer


def _start_session(request: Request, response: Response, username: str,
                   password: str) -> str:
    """Check the password (rate limited) and set the session cookie; returns the CSRF token."""
    from hsctms.db.users import authenticate, create_session

    app = request.app
    limiter = app.state.limiter
    client = _client(request)
    if limiter.blocked(username, client):
        raise TooManyAttempts("Too many failed sign-in attempts; try again in a few minutes.",
                              hint="Ask an administrator if you forgot your password.")
    user = authenticate(app.state.engine, username, password)
    if user is None:
        limiter.record_failure(username, client)
        from hsctms.web.core import AuthenticationRequired

        raise AuthenticationRequired("Wrong username or password.",
                                     hint="Check both and try again.")
    limiter.reset(username, client)
    session_id, csrf = new_token(), new_token()
    settings = app.state.settings
    create_session(app.state.engine, user, session_id, csrf, settings.session_seconds)
    response.set_cookie(SESSION_COOKIE, app.state.signer.sign(session_id),
                        max_age=settings.session_seconds, httponly=True, samesite="lax",
                        secure=settings.secure_cookies, path="/")
    return csrf


def _end_session(request: Request, response: Response) -> None:
    from hsctms.db.users import delete_session

    token = request.cookies.get(SESSION_COOKIE)
    session_id = request.app.state.signer.unsign(token) if token else None
    if session_id:
        delete_session(request.app.state.engine, session_id)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=request.app.state.settings.secure_cookies)


@route(router, "GET", "/", PUBLIC)
def home(request: Request) -> Response:
    """Landing page: links to the registry (signed in) and the public patient tool."""
    return render(request, "home.html.j2", title="hsctms registry")


@route(router, "GET", "/login", PUBLIC)
def login_page(request: Request, next: str = "/patients") -> Response:
    """Sign-in form."""
    return render(request, "login.html.j2", title="Sign in", next=_safe_next(next), error=None)


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/patients"


@route(router, "POST", "/login", PUBLIC,
       csrf_exempt="no session exists yet; SameSite=Lax cookies and the rate limit apply")
async def login_submit(request: Request) -> Response:
    """Sign in from the form."""
    from hsctms.errors import HsctmsError

    form = await request.form()
    username = str(form.get("username", ""))
    target = _safe_next(str(form.get("next", "/patients")))
    response = RedirectResponse(target, status_code=303)
    try:
        _start_session(request, response, username, str(form.get("password", "")))
    except HsctmsError as exc:
        status = 429 if isinstance(exc, TooManyAttempts) else 401
        return render(request, "login.html.j2", status_code=status, title="Sign in",
                      next=target, error=exc.message, username=username)
    return response


@route(router, "POST", "/logout", LOGIN)
def logout(request: Request) -> Response:
    """Sign out (deletes the server-side session)."""
    response = RedirectResponse("/", status_code=303)
    _end_session(request, response)
    return response


@route(router, "POST", "/api/login", PUBLIC,
       csrf_exempt="JSON body only (cross-site forms cannot send it); rate limited")
def api_login(request: Request, payload: Annotated[dict[str, str], Body(
        examples=[{"username": "ann", "password": "a long passphrase"}])]) -> Response:
    """Sign in; returns the user and the CSRF token to send as ``X-CSRF-Token``."""
    if request.headers.get("content-type", "").split(";")[0] != "application/json":
        raise ConfigurationError("Send the credentials as JSON.",
                                 hint="Content-Type: application/json")
    response = JSONResponse({})
    csrf = _start_session(request, response, payload.get("username", ""),
                          payload.get("password", ""))
    from hsctms.db.users import get_user

    with request.app.state.engine.connect() as conn:
        user = get_user(conn, payload.get("username", ""))
    body = {"user": user.to_dict() if user else None, "csrf_token": csrf}
    response.body = response.render(body)
    response.headers["content-length"] = str(len(response.body))
    return response


@route(router, "POST", "/api/logout", LOGIN)
def api_logout(request: Request) -> Response:
    """Sign out."""
    response = JSONResponse({"signed_out": True})
    _end_session(request, response)
    return response


@route(router, "GET", "/api/me", LOGIN)
def api_me(request: Request) -> dict[str, Any]:
    """The signed-in user and the CSRF token."""
    ctx = ctx_of(request)
    p = ctx.principal
    return {"username": p.username, "role": p.role.value, "centre": p.centre,
            "csrf_token": ctx.csrf_token}


def _users(request: Request) -> list[dict[str, Any]]:
    from hsctms.db.users import list_users

    with ctx_of(request).engine.connect() as conn:
        return [u.to_dict() for u in list_users(conn)]


@route(router, "GET", "/users", Action.MANAGE_USERS.value)
def users_page(request: Request) -> Response:
    """User management (administrators)."""
    return render(request, "users.html.j2", title="Users", users=_users(request), error=None)


@route(router, "GET", "/api/users", Action.MANAGE_USERS.value)
def api_users(request: Request) -> dict[str, Any]:
    """All users."""
    return {"users": _users(request)}


@route(router, "POST", "/users", Action.MANAGE_USERS.value)
async def users_add(request: Request) -> Response:
    """Add a user from the form."""
    from hsctms.db.users import add_user

    form = await request.form()
    try:
        add_user(ctx_of(request).engine, str(form.get("username", "")),
                 str(form.get("password", "")), str(form.get("role", "")),
                 str(form.get("centre", "")) or None, by=ctx_of(request).principal.username)
    except ConfigurationError as exc:
        return render(request, "users.html.j2", status_code=422, title="Users",
                      users=_users(request), error=exc.message)
    return RedirectResponse("/users", status_code=303)


@route(router, "POST", "/api/users", Action.MANAGE_USERS.value, status_code=201)
def api_users_add(request: Request, payload: Annotated[dict[str, Any], Body(
        examples=[{"username": "ann", "password": "a long passphrase", "role":
                   "data_entry", "centre": "C01"}])]) -> dict[str, Any]:
    """Add a user."""
    from hsctms.db.users import add_user

    ctx = ctx_of(request)
    user = add_user(ctx.engine, str(payload.get("username", "")),
                    str(payload.get("password", "")), str(payload.get("role", "")),
                    payload.get("centre") or None, by=ctx.principal.username)
    return user.to_dict()


def _change_account(request: Request, username: str, action: str,
                    password: str | None = None) -> str | None:
    """Deactivate, activate, set or reset the password of an account (audited as the
    signed-in admin); returns the one-time password of a reset."""
    from hsctms.db import users as U

    ctx = ctx_of(request)
    by = ctx.principal.username
    if action == "deactivate":
        U.deactivate_user(ctx.engine, username, by=by)
    elif action == "activate":
        U.activate_user(ctx.engine, username, by=by)
    elif action == "password":
        U.set_password(ctx.engine, username, password or "", by=by)
    else:
        return U.reset_password(ctx.engine, username, by=by)
    return None


@route(router, "POST", "/users/{username}/{action}", Action.MANAGE_USERS.value)
async def users_change(request: Request, username: str, action: str) -> Response:
    """Form actions on one account: deactivate, activate, password (new password in the
    form) or reset (shows a one-time password once)."""
    if action not in ("deactivate", "activate", "password", "reset"):
        raise NotFoundError(f"No user action {action!r}.",
                            hint="Use deactivate, activate, password or reset.")
    form = await request.form()
    try:
        temp = _change_account(request, username, action, str(form.get("password", "")))
    except (ConfigurationError, NotFoundError) as exc:
        return render(request, "users.html.j2", status_code=422
                      if isinstance(exc, ConfigurationError) else 404, title="Users",
                      users=_users(request), error=exc.message)
    if temp is not None:
        return render(request, "users.html.j2", title="Users", users=_users(request),
                      error=None, notice=f"One-time password for {username} (shown once): "
                      f"{temp}")
    return RedirectResponse("/users", status_code=303)


@route(router, "POST", "/api/users/{username}/deactivate", Action.MANAGE_USERS.value)
def api_users_deactivate(request: Request, username: str) -> dict[str, Any]:
    """Deactivate an account: no sign-in, open sessions end now."""
    _change_account(request, username, "deactivate")
    return {"username": username, "active": False}


@route(router, "POST", "/api/users/{username}/activate", Action.MANAGE_USERS.value)
def api_users_activate(request: Request, username: str) -> dict[str, Any]:
    """Re-activate an account."""
    _change_account(request, username, "activate")
    return {"username": username, "active": True}


@route(router, "PUT", "/api/users/{username}/password", Action.MANAGE_USERS.value)
def api_users_password(request: Request, username: str, payload: Annotated[
        dict[str, Any], Body(examples=[{"password": "a new long passphrase"}])]
                       ) -> dict[str, Any]:
    """Set an account's password (12+ characters); its sessions end."""
    _change_account(request, username, "password", str(payload.get("password", "")))
    return {"username": username, "password_changed": True}


@route(router, "POST", "/api/users/{username}/reset", Action.MANAGE_USERS.value)
def api_users_reset(request: Request, username: str) -> dict[str, Any]:
    """Replace an account's password by a one-time password (returned once)."""
    return {"username": username, "one_time_password": _change_account(request, username,
                                                                        "reset")}
