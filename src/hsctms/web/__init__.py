"""The hsctms web registry: a thin FastAPI layer over the library (see ``create_app``)."""

from __future__ import annotations

from typing import Any

from hsctms.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]


def create_app(settings: WebSettings | None = None) -> Any:
    """Build the web registry application (see :func:`hsctms.web.app.create_app`).

    Imports FastAPI and the web modules only when called, so that importing
    :mod:`hsctms.web` stays light.

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
    """
    from hsctms.web.app import create_app as _create

    return _create(settings)
