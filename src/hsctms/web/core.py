"""Core of the web layer: request context, authentication, CSRF, route access rules, error
mapping and template rendering. Route modules register through :func:`route`, which records
each route's access rule in :data:`ROUTE_RULES` so that a test can walk every route."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine

from hsctms.errors import (
    ConfigurationError,
    DataValidationError,
    DisclosureError,
    EstimationError,
    HsctmsError,
    ImportConflictError,
    NotFoundError,
    PermissionDeniedError,
    ProfileError,
    RegistryBusyError,
    StaleRecordError,
    StorageFullError,
)
from hsctms.web.access import Action, Principal, Role, allowed, check, visible_centre
from hsctms.web.security import tokens_match
from hsctms.web.settings import WebSettings

SESSION_COOKIE = "hsctms_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
#: ``Retry-After`` (seconds) of a 503 answered because the registry was busy.
RETRY_AFTER_SECONDS = 5
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Highest page number a list route accepts: ``page * page size`` stays far inside the
#: signed 64-bit OFFSET the databases take (a larger one was a driver OverflowError, a 500).
MAX_PAGE = 10**9
#: The ``page`` query parameter of list routes: 1 to :data:`MAX_PAGE`, else 422 in the
#: canonical error shape (never clamped silently, never passed on to the database).
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE,
                                  description=f"Page number, 1 to {MAX_PAGE}.")]

#: Route access rules: "public", "login" (any signed-in user) or an :class:`Action` value.
Rule = str
PUBLIC = "public"
LOGIN = "login"
#: (method, path) -> rule, filled by :func:`route`.
ROUTE_RULES: dict[tuple[str, str], Rule] = {}
#: Unsafe routes that do not need a CSRF token (documented reasons).
CSRF_EXEMPT: dict[tuple[str, str], str] = {}


class AuthenticationRequired(HsctmsError):
    """The request needs a signed-in user."""


class TooManyAttempts(HsctmsError):
    """Login rate limit reached."""


_STATUS: tuple[tuple[type[HsctmsError], int], ...] = (
    (AuthenticationRequired, 401),
    (TooManyAttempts, 429),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (StaleRecordError, 409),
    (RegistryBusyError, 503),
    (StorageFullError, 507),
    (ImportConflictError, 409),
    (DataValidationError, 422),
    (ConfigurationError, 422),
    (ProfileError, 422),
    (EstimationError, 422),
    (DisclosureError, 422),
)


def status_for(exc: HsctmsError) -> int:
    """HTTP status of an hsctms error."""
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


@dataclass
class Ctx:
    """Per-request context: settings, database, the signed-in user (if any)."""

    request: Request
    settings: WebSettings
    engine: Engine
    user: Principal | None
    csrf_token: str | None

    @property
    def principal(self) -> Principal:
        """The signed-in user (raises 401 if none)."""
        if self.user is None:
            raise AuthenticationRequired("Please sign in.", hint="Open /login.")
        return self.user

    @property
    def scope(self) -> str | None:
        """The centre record queries are restricted to (None = all)."""
        return visible_centre(self.principal)

    @property
    def is_api(self) -> bool:
        """Whether this is a JSON API request."""
        return is_api(self.request)


def is_api(request: Request) -> bool:
    """API requests are those under ``/api/``."""
    return request.url.path.startswith("/api/")


def _load_user(request: Request) -> tuple[Principal | None, str | None]:
    from hsctms.db.users import get_session

    app = request.app
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None, None
    session_id = app.state.signer.unsign(token)
    if session_id is None:
        return None, None
    session = get_session(app.state.engine, session_id)
    if session is None:
        return None, None
    u = session.user
    return Principal(u.username, Role(u.role), u.centre), session.csrf_token


async def _submitted_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def guard(rule: Rule, method: str, path: str) -> Callable[[Request], Awaitable[Ctx]]:
    """Dependency enforcing ``rule`` (and CSRF on unsafe methods) and attaching a :class:`Ctx`."""

    async def dependency(request: Request) -> Ctx:
        user, csrf = _load_user(request)
        ctx = Ctx(request, request.app.state.settings, request.app.state.engine, user, csrf)
        request.state.ctx = ctx
        if rule != PUBLIC:
            principal = ctx.principal
            if rule != LOGIN:
                check(principal, Action(rule))
        if method in UNSAFE_METHODS and (method, path) not in CSRF_EXEMPT:
            if not tokens_match(csrf, await _submitted_csrf(request)):
                raise PermissionDeniedError(
                    "Missing or invalid CSRF token; nothing was changed.",
                    hint=f"Reload the page and submit again (API clients: send the "
                    f"{CSRF_HEADER} header returned by /api/login).")
        return ctx

    return dependency


def route(router: APIRouter, method: str, path: str, rule: Rule, *,
          csrf_exempt: str | None = None, **kwargs: Any) -> Callable[[Any], Any]:
    """Register a route with its access rule (see :data:`ROUTE_RULES`)."""

    def decorate(fn: Any) -> Any:
        ROUTE_RULES[(method, path)] = rule
        if csrf_exempt:
            CSRF_EXEMPT[(method, path)] = csrf_exempt
        kwargs.setdefault("include_in_schema", path.startswith("/api/"))
        router.add_api_route(path, fn, methods=[method],
                             dependencies=[Depends(guard(rule, method, path))], **kwargs)
        return fn

    return decorate


def ctx_of(request: Request) -> Ctx:
    """The :class:`Ctx` attached by :func:`guard`."""
    ctx: Ctx = request.state.ctx
    return ctx


# ----------------------------------------------------------------------------- templates
TEMPLATES = Path(__file__).resolve().parent / "templates"


def _tojson(value: Any) -> str:
    return json.dumps(value, default=str)


def template_env() -> jinja2.Environment:
    """The Jinja2 environment of the web pages (autoescaping on)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["tojson_text"] = _tojson
    env.filters["urlq"] = lambda v: quote(str(v), safe="")
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any
           ) -> HTMLResponse:
    """Render a page template with the common context (user, CSRF token, settings)."""
    ctx: Ctx | None = getattr(request.state, "ctx", None)
    env: jinja2.Environment = request.app.state.templates
    user = ctx.user if ctx else None
    common = {
        "user": user,
        "csrf_token": ctx.csrf_token if ctx else None,
        "title": context.pop("title", request.app.state.settings.title),
        "app_title": request.app.state.settings.title,
        "can": (lambda action, centre=None: user is not None and allowed(
            user, Action(action), centre)),
        "path": request.url.path,
    }
    html = env.get_template(template).render(**common, **context)
    return HTMLResponse(html, status_code=status_code)


def error_response(request: Request, exc: HsctmsError) -> Response:
    """The canonical error response: JSON ``HsctmsError.to_dict()`` under /api, else a page."""
    status = status_for(exc)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    if is_api(request):
        return JSONResponse(exc.to_dict(), status_code=status, headers=headers)
    if status == 401:
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/login?next={target}", status_code=303)
    page = render(request, "error.html.j2", status_code=status, title=f"Error {status}",
                  status=status, error=exc.to_dict())
    page.headers.update(headers or {})
    return page
