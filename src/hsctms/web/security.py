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
    """Signs and verifies session tokens with a server secret and a maximum age."""

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
        """A cookie value for ``session_id``."""
        return self._serializer.dumps(session_id)

    def unsign(self, token: str) -> str | None:
        """The session id in ``token``, or None if forged or expired."""
        try:
            value = self._serializer.loads(token, max_age=self.max_age)
        except (BadSignature, SignatureExpired):
            return None
        return value if isinstance(value, str) else None


def new_token() -> str:
    """A fresh random token (session ids, CSRF tokens)."""
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of CSRF tokens (False if either is missing)."""
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
    """

    max_attempts: int = 5
    window_seconds: float = 300.0
    max_client_attempts: int = 20
    clock: Callable[[], float] = time.monotonic
    _failures: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
        """Whether further attempts for this user from this client are refused now."""
        user_key, client_key = self._keys(username, client)
        with self._lock:
            now = self.clock()
            return (len(self._recent(user_key, now)) >= self.max_attempts
                    or len(self._recent(client_key, now)) >= self.max_client_attempts)

    def record_failure(self, username: str, client: str) -> None:
        """Count one failed attempt (for the account and for the client)."""
        user_key, client_key = self._keys(username, client)
        with self._lock:
            now = self.clock()
            self._recent(user_key, now).append(now)
            self._recent(client_key, now).append(now)

    def reset(self, username: str, client: str) -> None:
        """Forget this account's failures from this client after a successful login."""
        user_key, _ = self._keys(username, client)
        with self._lock:
            self._failures.pop(user_key, None)
