"""Security primitives of the web app: password hashing, signed sessions, CSRF tokens and
login rate limiting. Framework-independent so they can be tested on their own.

* Passwords: Argon2id (``argon2-cffi`` defaults, RFC 9106 low-memory profile), with rehash
  on login when parameters change.
* Sessions: the cookie holds a signed, timestamped token (``itsdangerous``) naming the session
  id; cookies are ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` unless explicitly disabled for
  local development over plain HTTP.
* CSRF: a per-session random token, required on every state-changing request (form field
  ``csrf_token`` or header ``X-CSRF-Token``), compared in constant time.
* Login rate limiting: at most ``max_attempts`` failures per (username, client) within
  ``window_seconds``; further attempts are refused until the window moves on.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from hsctms.errors import ConfigurationError

_HASHER = PasswordHasher()

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (raises if it is too short)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigurationError(
            f"Password too short ({len(password)} characters).",
            hint=f"Use at least {MIN_PASSWORD_LENGTH} characters; a passphrase works well.",
        )
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (False for malformed hashes)."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the stored hash uses outdated parameters."""
    return _HASHER.check_needs_rehash(stored_hash)


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
    """Sliding-window limit on failed logins per (username, client address)."""

    max_attempts: int = 5
    window_seconds: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        window = self._failures.setdefault(key, deque())
        while window and now - window[0] > self.window_seconds:
            window.popleft()
        return window

    def blocked(self, username: str, client: str) -> bool:
        """Whether further attempts for this user from this client are refused now."""
        with self._lock:
            return len(self._recent((username.lower(), client), self.clock())) >= \
                self.max_attempts

    def record_failure(self, username: str, client: str) -> None:
        """Count one failed attempt."""
        with self._lock:
            now = self.clock()
            self._recent((username.lower(), client), now).append(now)

    def reset(self, username: str, client: str) -> None:
        """Forget failures after a successful login."""
        with self._lock:
            self._failures.pop((username.lower(), client), None)
