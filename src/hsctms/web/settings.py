"""Settings of the web registry."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from hsctms.errors import ConfigurationError

SECRET_ENV = "HSCTMS_SECRET_KEY"


@dataclass
class WebSettings:
    """Configuration of :func:`hsctms.web.create_app`.

    Parameters
    ----------
    db
        Registry database: an SQLite file path (default ``registry.db``) or an SQLAlchemy URL
        such as ``postgresql+psycopg://user@host/db``.
    secret_key
        Key signing the session cookies (at least 32 characters). Default: the environment
        variable ``HSCTMS_SECRET_KEY``; there is no built-in fallback.
    secure_cookies
        Send cookies with ``Secure`` (HTTPS only). On by default; switch off only for local
        development over plain http (``hsctms serve --insecure-cookies``).
    session_hours
        Session lifetime in hours (default 8); a session cookie older than this is refused.
    small_count
        Aggregates leaving a centre show counts below this as ``"<N"``.
    login_max_attempts, login_window_seconds, login_max_client_attempts
        Login rate limits: failures per (username, client address), and per client address
        whatever the username, within the window.
    deid_k
        The k of the k-anonymity check of de-identified exports (default: the definition's,
        ``hsctms/io/deidentify.yaml``); patients in smaller groups are suppressed.
    dashboard_workers
        Where dashboards are recomputed: ``"thread"`` (a background thread of the app) or
        ``"process"`` (a separate process, so the recomputation does not slow the other
        requests; ``hsctms serve`` uses it).
    dashboard_fresh_wait, dashboard_fresh_max_patients
        A user who just saved waits up to ``dashboard_fresh_wait`` seconds for a dashboard of
        at most ``dashboard_fresh_max_patients`` patients to include their change; larger
        views (or a slower rebuild) are served as they were, with a notice.
    busy_timeout
        Seconds a save waits for another writer (an import, another user's save) before the
        app answers 503 with ``Retry-After`` and the form as it was typed.
    trusted_proxies
        Addresses of reverse proxies (e.g. the TLS terminator) whose ``X-Forwarded-For``
        header names the real client. Empty (default): the header is ignored and the client
        is the TCP peer — a header from anyone else is never trusted.
    title
        Name of the registry shown in the page header and the page titles (the templates'
        ``app_title``); the OpenAPI title stays ``"hsctms registry"``.
    extra
        Free-form additional settings, name to value. Not read by hsctms itself (no page or
        route uses it today).
    """

    db: str | Path = "registry.db"
    secret_key: str | None = None
    secure_cookies: bool = True
    session_hours: float = 8.0
    small_count: int = 5
    login_max_attempts: int = 5
    login_window_seconds: float = 300.0
    login_max_client_attempts: int = 20
    trusted_proxies: tuple[str, ...] = ()
    busy_timeout: float = 10.0
    deid_k: int | None = None
    dashboard_workers: Literal["thread", "process"] = "thread"
    dashboard_fresh_wait: float = 10.0
    dashboard_fresh_max_patients: int = 2000
    title: str = "hsctms registry"
    extra: dict[str, str] = field(default_factory=dict)

    def resolved_secret(self) -> str:
        """The secret key from the settings or the environment.

        Returns
        -------
        str
            ``secret_key`` if set, else the ``HSCTMS_SECRET_KEY`` environment variable (its
            length is checked by :class:`~hsctms.web.security.SessionSigner`).

        Raises
        ------
        ConfigurationError
            Neither is set (or both are empty).
        """
        key = self.secret_key or os.environ.get(SECRET_ENV)
        if not key:
            raise ConfigurationError(
                "No secret key for the web app.",
                hint=f"Set {SECRET_ENV} to at least 32 random characters "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))').")
        return key

    @property
    def session_seconds(self) -> int:
        """Session lifetime in seconds."""
        return int(self.session_hours * 3600)
