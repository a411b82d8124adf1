"""Security primitives of the web app: password hashing, signed sessions, CSRF tokens and
login rate limiting. Framework-independent so they can be tested on their own.

* Passwords: Argon2id, in :mod:`hsctms.db.passwords` (the accounts' layer), re-exported here.
* Sessions: the cookie holds a signed, timestamped token (``itsdangerous``) naming the session
  id; cookies are ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` unless explicitly disabled for
  local development over plain HTTP.
* CSRF: a per-session random token, required on every state-changing request (form field
  ``csrf_token`` or header ``X-CSRF-Token``), compared in constant time.
* Login rate limiting: at most ``max_attempts`` failures per (username, client) and
  ``max_client_attempts`` per client within ``window_seconds``; further attempts are refused
  until the window moves on.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from hsctms.db.passwords import (  # re-exported: hashing lives with the accounts
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from hsctms.errors import ConfigurationError

__all__ = ["MIN_PASSWORD_LENGTH", "LoginRateLimiter", "SessionSigner", "hash_password",
           "needs_rehash", "new_token", "tokens_match", "verify_password"]


class SessionSigner:
    """Signs and verifies session tokens with a server secret and a maximum age.

    Parameters
    ----------
    secret_key : str
        Server secret, at least 32 characters (:meth:`WebSettings.resolved_secret
        <hsctms.web.settings.WebSettings.resolved_secret>`); tokens signed with another key
        are refused.
    max_age_seconds : int, default 28800
        Maximum age of a token in seconds (default 8 hours); older tokens are refused.

    Raises
    ------
    ConfigurationError
        ``secret_key`` is shorter than 32 characters.

    Examples
    --------
    >>> signer = SessionSigner("k" * 32)
    >>> signer.unsign(signer.sign("session-1"))
    'session-1'
    >>> signer.unsign("forged") is None
    True
    """

    def __init__(self, secret_key: str, max_age_seconds: int = 8 * 3600) -> None:
        if len(secret_key) < 32:
            raise ConfigurationError(
                "The web secret key is too short.",
                hint="Set HSCTMS_SECRET_KEY to at least 32 random characters "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))').",
            )
        self._serializer = URLSafeTimedSerializer(secret_key, salt="hsctms-session")
        self.max_age = max_age_seconds

    def sign(self, session_id: str) -> str:
        """A cookie value for ``session_id``.

        Parameters
        ----------
        session_id : str
            The server-side session id (e.g. from :func:`new_token`).

        Returns
        -------
        str
            URL-safe token holding the id, a timestamp and an HMAC signature (readable by
            anyone, forgeable by no one without the secret).
        """
        return self._serializer.dumps(session_id)

    def unsign(self, token: str) -> str | None:
        """The session id in ``token``, or None if forged or expired.

        Parameters
        ----------
        token : str
            A cookie value made by :meth:`sign`.

        Returns
        -------
        str or None
            The session id; None when the signature does not match this secret, the token
            is older than ``max_age_seconds`` or it does not hold a string.
        """
        try:
            value = self._serializer.loads(token, max_age=self.max_age)
        except (BadSignature, SignatureExpired):
            return None
        return value if isinstance(value, str) else None


def new_token() -> str:
    """A fresh random token (session ids, CSRF tokens).

    Returns
    -------
    str
        43 URL-safe characters (256 random bits from :mod:`secrets`).
    """
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of CSRF tokens (False if either is missing).

    Parameters
    ----------
    expected : str or None
        The session's CSRF token.
    given : str or None
        The token sent with the request (form field ``csrf_token`` or header
        ``X-CSRF-Token``).

    Returns
    -------
    bool
        True only when both are non-empty and equal; the comparison time does not depend on
        where they differ.

    Examples
    --------
    >>> tokens_match("abc", "abc"), tokens_match("abc", "abd"), tokens_match(None, None)
    (True, False, False)
    """
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass
class LoginRateLimiter:
    """Sliding-window limits on failed logins.

    * per account and client: at most ``max_attempts`` failures per (username, client)
      within ``window_seconds``;
    * per client: at most ``max_client_attempts`` failures from one client address within
      the window, whatever usernames it tries (password spraying).

    Usernames are keyed in the canonical form authentication uses
    (:func:`hsctms.db.users.canonical_username`: stripped, lower-cased), so ``"Lead2  "``
    and ``"lead2"`` share one counter. A successful login clears only its own (username,
    client) counter; the per-client counter runs out with the window.

    Parameters
    ----------
    max_attempts : int, default 5
        Failures allowed per (username, client) within the window; the next attempt is
        refused.
    window_seconds : float, default 300.0
        Length of the sliding window in seconds; failures older than this no longer count.
    max_client_attempts : int, default 20
        Failures allowed from one client address within the window, whatever the usernames.
    clock : callable, default time.monotonic
        Source of the current time in seconds (a fake clock in tests).

    Examples
    --------
    >>> limiter = LoginRateLimiter(max_attempts=2)
    >>> for _ in range(2):
    ...     limiter.record_failure("Lead2 ", "10.0.0.1")
    >>> limiter.blocked("lead2", "10.0.0.1"), limiter.blocked("lead2", "10.0.0.2")
    (True, False)
    """

    max_attempts: int = 5
    window_seconds: float = 300.0
    max_client_attempts: int = 20
    clock: Callable[[], float] = time.monotonic
    # internal state (failure times per key) and the lock that makes it thread-safe
    _failures: dict[tuple[str, str], deque[float]] = field(default_factory=dict, init=False,
                                                           repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        window = self._failures.setdefault(key, deque())
        while window and now - window[0] > self.window_seconds:
            window.popleft()
        return window

    @staticmethod
    def _keys(username: str, client: str) -> tuple[tuple[str, str], tuple[str, str]]:
        from hsctms.db.users import canonical_username

        return (canonical_username(username), client), ("\x00client", client)

    def blocked(self, username: str, client: str) -> bool:
        """Whether further attempts for this user from this client are refused now.

        Parameters
        ----------
        username : str
            The username tried (canonicalised: stripped, lower-cased).
        client : str
            The client address (the TCP peer, or the ``X-Forwarded-For`` address given by a
            trusted proxy).

        Returns
        -------
        bool
            True when this (username, client) has ``max_attempts`` failures, or the client
            has ``max_client_attempts`` failures, within the window.
        """
        user_key, client_key = self._keys(username, client)
        with self._lock:
            now = self.clock()
            return (len(self._recent(user_key, now)) >= self.max_attempts
                    or len(self._recent(client_key, now)) >= self.max_client_attempts)

    def record_failure(self, username: str, client: str) -> None:
        """Count one failed attempt (for the account and for the client).

        Parameters
        ----------
        username : str
            The username tried (canonicalised: stripped, lower-cased).
        client : str
            The client address the attempt came from.
        """
        user_key, client_key = self._keys(username, client)
        with self._lock:
            now = self.clock()
            self._recent(user_key, now).append(now)
            self._recent(client_key, now).append(now)

    def reset(self, username: str, client: str) -> None:
        """Forget this account's failures from this client after a successful login.

        The client's own counter (all usernames) is kept until its failures leave the window.

        Parameters
        ----------
        username : str
            The username that logged in (canonicalised: stripped, lower-cased).
        client : str
            The client address it logged in from.
        """
        user_key, _ = self._keys(username, client)
        with self._lock:
            self._failures.pop(user_key, None)
