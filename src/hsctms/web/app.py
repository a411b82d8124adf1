"""The FastAPI application factory of the web registry."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from hsctms._version import __version__
from hsctms.errors import HsctmsError, NotFoundError
from hsctms.web.core import UNSAFE_METHODS, error_response, is_api, render, template_env
from hsctms.web.dashboard_cache import DashboardCache
from hsctms.web.security import LoginRateLimiter, SessionSigner
from hsctms.web.settings import WebSettings

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'",
}


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    """Invalid request parameters: a 422 in the {error, message, hint} shape."""
    problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                         for e in exc.errors())
    body = {"error": "RequestValidationError", "message": f"Invalid request: {problems}",
            "hint": "See /openapi.json for the expected parameters."}
    if is_api(request):
        return JSONResponse(body, status_code=422)
    return render(request, "error.html.j2", status_code=422, title="Error 422",
                  status=422, error=body)


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    """HTTP errors (404 as a NotFoundError) in the {error, message, hint} shape."""
    if exc.status_code == 404:
        return error_response(request, NotFoundError(
            f"No page at {request.url.path}.", hint="Check the address."))
    body = {"error": "HTTPError", "message": str(exc.detail), "hint": None}
    if is_api(request):
        return JSONResponse(body, status_code=exc.status_code)
    return render(request, "error.html.j2", status_code=exc.status_code,
                  title=f"Error {exc.status_code}", status=exc.status_code, error=body)


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """Build the web registry application.

    Parameters
    ----------
    settings
        :class:`WebSettings`; the database schema is created on an empty database and must be
        current otherwise (``hsctms db upgrade``). Default: ``WebSettings()``
        (``registry.db`` in the working directory, the secret from ``HSCTMS_SECRET_KEY``).

    Returns
    -------
    fastapi.FastAPI
        The ASGI application (HTML pages and their JSON twins under ``/api/``), holding the
        database engine, session signer, login rate limiter and dashboard cache in
        ``app.state``; serve it with uvicorn (``hsctms serve``).

    Raises
    ------
    ConfigurationError
        No secret key, or one shorter than 32 characters; the database cannot be opened or
        its schema is outdated.

    Examples
    --------
    Not run as a doctest (it creates the registry database file ``registry.db``):

    >>> from hsctms.web import WebSettings, create_app
    >>> app = create_app(WebSettings(db="registry.db", secret_key="x" * 40))  # doctest: +SKIP
    """
    import sqlalchemy as sa

    from hsctms.db import connect, ensure_schema
    from hsctms.db.writes import enable_wal, known_database_error
    from hsctms.web import routes_auth, routes_exchange, routes_records, routes_views

    settings = settings or WebSettings()
    signer = SessionSigner(settings.resolved_secret(), settings.session_seconds)
    engine = ensure_schema(connect(settings.db, busy_timeout=settings.busy_timeout))
    enable_wal(engine)  # SQLite: readers never wait for a writer
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.dashboards.close()
        engine.dispose()  # close the pool's connections when the server stops

    app = FastAPI(title="hsctms registry", version=__version__,
                  description="Multi-centre aHSCT-in-MS registry: every page has a JSON twin "
                  "under /api/. Errors use the shape {error, message, hint}.",
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.signer = signer
    app.state.engine = engine
    app.state.templates = template_env()
    app.state.limiter = LoginRateLimiter(settings.login_max_attempts,
                                         settings.login_window_seconds,
                                         settings.login_max_client_attempts)
    app.state.dashboards = DashboardCache(
        fresh_wait=settings.dashboard_fresh_wait,
        fresh_max_patients=settings.dashboard_fresh_max_patients,
        workers=settings.dashboard_workers)

    for module in (routes_auth, routes_records, routes_exchange, routes_views):
        # flat route list (not include_router), so app.routes lists every APIRoute
        app.router.routes.extend(module.router.routes)

    @app.exception_handler(HsctmsError)
    async def _hsctms_error(request: Request, exc: HsctmsError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(sa.exc.OperationalError)
    async def _database(request: Request, exc: sa.exc.OperationalError) -> Response:
        known = known_database_error(exc)
        if known is None:
            raise exc  # not contention or a full disk: a real fault, the server's 500
        return error_response(request, known)

    app.exception_handler(RequestValidationError)(_validation)
    app.exception_handler(StarletteHTTPException)(_http)

    @app.middleware("http")
    async def _headers(request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        ctx = getattr(request.state, "ctx", None)
        if (request.method in UNSAFE_METHODS and response.status_code < 400
                and ctx is not None and ctx.user is not None):
            app.state.dashboards.note_write(ctx.user.username)  # see DashboardCache
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if request.url.path.startswith(("/api/", "/patients", "/records", "/audit")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def app_factory() -> Any:  # pragma: no cover - used by ``uvicorn --factory``
    """``uvicorn hsctms.web.app:app_factory --factory`` (settings from the environment)."""
    import os

    return create_app(WebSettings(db=os.environ.get("HSCTMS_DB", "registry.db"),
                                  secure_cookies=os.environ.get("HSCTMS_INSECURE_COOKIES")
                                  != "1"))
