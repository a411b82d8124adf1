"""Security primitives and the role/centre access matrix."""

from __future__ import annotations

import pytest

from hsctms.errors import ConfigurationError, PermissionDeniedError
from hsctms.web.access import PERMISSIONS, Action, Principal, Role, allowed, check
from hsctms.web.security import (
    LoginRateLimiter,
    SessionSigner,
    hash_password,
    needs_rehash,
    tokens_match,
    verify_password,
)


def test_password_hash_is_argon2id_and_verifies() -> None:
    h = hash_password("correct horse battery staple")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "correct horse battery staple")
    assert not verify_password(h, "wrong horse battery staple")
    assert not verify_password("not-a-hash", "x")
    assert not needs_rehash(h)


def test_short_password_refused() -> None:
    with pytest.raises(ConfigurationError, match="too short"):
        hash_password("short")


def test_session_signer_rejects_forgery_and_expiry() -> None:
    signer = SessionSigner("k" * 40, max_age_seconds=3600)
    token = signer.sign("abc")
    assert signer.unsign(token) == "abc"
    assert signer.unsign(token[:-2] + "xx") is None
    assert SessionSigner("j" * 40).unsign(token) is None
    expired = SessionSigner("k" * 40, max_age_seconds=-1)
    assert expired.unsign(token) is None
    with pytest.raises(ConfigurationError, match="secret key"):
        SessionSigner("short")


def test_csrf_tokens_match() -> None:
    assert tokens_match("a" * 10, "a" * 10)
    assert not tokens_match("a" * 10, "b" * 10)
    assert not tokens_match(None, "x") and not tokens_match("x", "")


def test_rate_limiter_blocks_after_failures_and_recovers() -> None:
    now = [0.0]
    limiter = LoginRateLimiter(max_attempts=3, window_seconds=60, clock=lambda: now[0])
    for _ in range(3):
        assert not limiter.blocked("Ann", "1.2.3.4")
        limiter.record_failure("ann", "1.2.3.4")
    assert limiter.blocked("ANN", "1.2.3.4")
    assert not limiter.blocked("ann", "5.6.7.8")  # per client
    now[0] = 61.0
    assert not limiter.blocked("ann", "1.2.3.4")
    limiter.record_failure("ann", "1.2.3.4")
    limiter.reset("ann", "1.2.3.4")
    assert not limiter.blocked("ann", "1.2.3.4")


ENTRY_A = Principal("e", Role.DATA_ENTRY, "A")
LEAD_A = Principal("l", Role.CENTRE_LEAD, "A")
ANALYST = Principal("s", Role.ANALYST, None)
ADMIN = Principal("root", Role.ADMIN, None)


@pytest.mark.parametrize("user", [ENTRY_A, LEAD_A])
def test_centre_users_only_see_their_centre(user: Principal) -> None:
    assert allowed(user, Action.READ_RECORDS, "A")
    assert not allowed(user, Action.READ_RECORDS, "B")
    assert not allowed(user, Action.EDIT_RECORDS, "B")
    with pytest.raises(PermissionDeniedError, match="centre 'B'"):
        check(user, Action.READ_RECORDS, "B")


def test_analyst_has_no_record_access() -> None:
    for centre in ("A", "B", None):
        assert not allowed(ANALYST, Action.READ_RECORDS, centre)
        assert not allowed(ANALYST, Action.EXPORT_IDENTIFIABLE, centre)
    assert allowed(ANALYST, Action.VIEW_REGISTRY_DASHBOARD)
    assert allowed(ANALYST, Action.EXPORT_DEIDENTIFIED)


def test_admin_may_do_everything_everywhere() -> None:
    for action in Action:
        assert allowed(ADMIN, action, "Z")


def test_only_leads_and_admins_see_audit_and_identifiable_exports() -> None:
    roles = {r for r, acts in PERMISSIONS.items() if Action.VIEW_AUDIT in acts}
    assert roles == {Role.CENTRE_LEAD, Role.ADMIN}
    assert not allowed(ENTRY_A, Action.EXPORT_IDENTIFIABLE, "A")
    assert allowed(LEAD_A, Action.EXPORT_IDENTIFIABLE, "A")
