"""The hsctms web registry: a thin FastAPI layer over the library (see ``create_app``)."""

from __future__ import annotations

from typing import Any

from hsctms.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]


def create_app(settings: WebSettings | None = None) -> Any:
    """Build the web application (see :func:`hsctms.web.app.create_app`)."""
    from hsctms.web.app import create_app as _create

    return _create(settings)
