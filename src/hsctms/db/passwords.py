"""Password hashing for registry accounts: Argon2id (``argon2-cffi`` defaults, the RFC 9106
low-memory profile), with rehash on login when the parameters change.

It lives in the database layer because accounts are stored there (:mod:`hsctms.db.users`);
the web app only calls it.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hsctms.errors import ConfigurationError

_HASHER = PasswordHasher()

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (raises if it is too short).

    Parameters
    ----------
    password : str
        The plain-text password, at least :data:`MIN_PASSWORD_LENGTH` (12) characters.

    Returns
    -------
    str
        The encoded Argon2id hash (``$argon2id$v=19$m=...``: parameters, random salt and
        digest), as stored in the ``users`` table; a new salt each call.

    Raises
    ------
    ConfigurationError
        The password is shorter than :data:`MIN_PASSWORD_LENGTH` characters.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigurationError(
            f"Password too short ({len(password)} characters).",
            hint=f"Use at least {MIN_PASSWORD_LENGTH} characters; a passphrase works well.",
        )
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (False for malformed hashes).

    Parameters
    ----------
    stored_hash : str
        An encoded Argon2 hash from :func:`hash_password`.
    password : str
        The plain-text password to check.

    Returns
    -------
    bool
        True when the password matches; False when it does not or when ``stored_hash`` is
        not a valid Argon2 hash (never raises for a wrong password).
    """
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the stored hash uses outdated parameters.

    Parameters
    ----------
    stored_hash : str
        An encoded Argon2 hash from :func:`hash_password`.

    Returns
    -------
    bool
        True when its parameters (time and memory cost, parallelism, hash length) differ
        from the current ones, so that it should be re-hashed after a successful login.
    """
    return _HASHER.check_needs_rehash(stored_hash)


def temporary_password() -> str:
    """A random one-time password (24 URL-safe characters, 144 bits).

    Returns
    -------
    str
        24 characters of ``A-Z a-z 0-9 - _`` from :mod:`secrets` (long enough for
        :func:`hash_password`).
    """
    return secrets.token_urlsafe(18)


__all__ = ["MIN_PASSWORD_LENGTH", "hash_password", "needs_rehash", "temporary_password",
           "verify_password"]
