"""``hsctms audit verify``: recompute the audit chain and cross-check the trial tables.

What it detects (see docs/database.md, "Tamper evidence"):

* an edited audit entry (its MAC no longer matches), a deleted or inserted entry in the middle
  (the next entry's ``prev_hash`` no longer matches), an entry chained with SHA-256 where a
  keyed HMAC was expected (``key`` given);
* allocations and eligibility registrations without their audit entry, audit entries of
  allocations or registrations whose row is gone (e.g. the *last* allocation deleted), and
  rows that differ from what their audit entry recorded (arm, sequence, the allocation's own
  chain hash, eligibility and factors) — so an edited allocation with a recomputed allocation
  chain is caught by the keyed audit chain;
* a truncated chain (the last entries deleted together), only against an anchor recorded
  earlier: pass ``expect_head=(count, hash)`` as printed by a previous verification.

What it cannot detect: someone holding the audit key and write access rewriting the whole
chain; without a key (SHA-256), anyone who recomputes the chain. Keep the key outside the
database (``HSCTMS_AUDIT_KEY``) and record the printed head elsewhere (e.g. in each report).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from hsctms.db.audit import audit_key, entry_mac
from hsctms.db.engine import DatabaseLike, open_registry
from hsctms.db.tables import audit_log
from hsctms.errors import ConfigurationError


@dataclass(frozen=True)
class Problem:
    """One finding: the audit id (or table row) and what is wrong.

    Parameters
    ----------
    where : str
        The audit entry or table row, e.g. ``"audit_log id 42"``,
        ``"allocations TRIAL/P001 (sequence 3)"`` or ``"chained entry 120"``.
    kind : str
        The kind of finding: ``"edited"``, ``"broken-link"``, ``"unchained"``, ``"unkeyed"``,
        ``"truncated"`` (audit chain), ``"no-audit"``, ``"duplicate-audit"``,
        ``"row-edited"`` or ``"row-missing"`` (allocations and eligibility registrations).
    message : str
        What is wrong, in words (and its likely cause).
    """

    where: str
    kind: str
    message: str

    def to_line(self) -> str:
        """``kind where: message``.

        Returns
        -------
        str
            The finding on one line, as printed by ``hsctms audit verify``.
        """
        return f"{self.kind} {self.where}: {self.message}"


@dataclass(frozen=True)
class AuditVerification:
    """Result of :func:`verify_audit`.

    Parameters
    ----------
    entries : int
        Rows of the audit log.
    chained : int
        Entries with a chain value (keyed HMAC or SHA-256).
    keyed : int
        Chained entries with a keyed HMAC-SHA-256 value (``h:``).
    legacy : int
        Entries without a chain value, written before the chain was introduced.
    head : tuple of (int, str or None)
        ``(count, hash)`` of the last chained entry (``(0, None)`` without one): record it
        elsewhere and pass it as ``expect_head`` next time to detect a truncated chain.
    keyed_check : bool
        True when an audit key was used, so that HMAC entries were recomputed; False when
        they were checked for their links only.
    problems : tuple of Problem, default ()
        Every finding, in audit order, then the cross-checks; empty when intact.
    """

    entries: int
    chained: int
    keyed: int
    legacy: int
    head: tuple[int, str | None]
    keyed_check: bool
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    @property
    def summary(self) -> str:
        """Readable verdict, one line per problem."""
        mode = ("HMAC-SHA-256 with the audit key" if self.keyed_check
                else "no key given: SHA-256 entries recomputed, HMAC entries not checkable")
        lines = [f"Audit trail: {self.entries} entries, {self.chained} chained "
                 f"({self.keyed} keyed), {self.legacy} from before the chain; {mode}.",
                 f"Head: {self.head[0]}:{self.head[1] or '-'} (record it elsewhere; pass it "
                 "as --expect-head next time to detect a truncated chain)."]
        lines.append("Intact: no problem found." if self.ok
                     else f"{len(self.problems)} problem(s):")
        lines += [f"  {p.to_line()}" for p in self.problems]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict of str to Any
            ``ok``, the counts, ``head`` as ``{"count", "hash"}``, ``keyed_check`` and
            ``problems`` as a list of ``{"where", "kind", "message"}`` mappings.
        """
        return {"ok": self.ok, "entries": self.entries, "chained": self.chained,
                "keyed": self.keyed, "legacy": self.legacy,
                "head": {"count": self.head[0], "hash": self.head[1]},
                "keyed_check": self.keyed_check,
                "problems": [p.__dict__ for p in self.problems]}

    def to_frame(self) -> pd.DataFrame:
        """One row per problem.

        Returns
        -------
        pandas.DataFrame
            Columns ``where``, ``kind`` and ``message``; no rows when the trail is intact.
        """
        return pd.DataFrame([p.__dict__ for p in self.problems],
                            columns=["where", "kind", "message"])


def _chain(rows: list[Any], key: bytes | None, out: list[Problem]) -> tuple[int, int, int]:
    chained = keyed = legacy = 0
    prev: str | None = None
    for r in rows:
        where = f"audit_log id {r.id}"
        if r.hash is None:
            if chained:
                out.append(Problem(where, "unchained", "entry without a chain value after "
                                   "chained entries (inserted by hand?)"))
            legacy += 1
            continue
        chained += 1
        if r.prev_hash != prev:
            out.append(Problem(where, "broken-link", "prev_hash does not match the previous "
                               "entry: an entry before it was deleted, inserted or edited"))
        entry = {c: getattr(r, c) for c in ("at", "user_name", "action", "table_name",
                                            "record_key", "old", "new", "detail")}
        if r.hash.startswith("h:"):
            keyed += 1
            if key is not None and entry_mac(r.prev_hash, entry, key) != r.hash:
                out.append(Problem(where, "edited", "entry does not match its HMAC (edited, "
                                   "or a different audit key)"))
        elif r.hash.startswith("s:"):
            if key is not None:
                out.append(Problem(where, "unkeyed", "entry is chained without the audit key "
                                   "(SHA-256) where a keyed HMAC was expected"))
            if entry_mac(r.prev_hash, entry, None) != r.hash:
                out.append(Problem(where, "edited", "entry does not match its SHA-256"))
        else:
            out.append(Problem(where, "edited", f"unknown chain value {r.hash[:12]!r}"))
        prev = r.hash
    return chained, keyed, legacy


def _cross_check(conn: sa.Connection, rows: list[Any], out: list[Problem]) -> None:
    """Allocations and registrations against their audit entries."""
    inspector = sa.inspect(conn)
    if not inspector.has_table("allocations"):
        return
    from hsctms.db.randomisation import allocations, eligibility_registrations

    def match(table: sa.Table, action: str, noun: str,
              differs: Callable[[Any, dict[str, Any]], str | None]) -> None:
        """Each row of ``table`` has exactly one audit entry that agrees with it, and each
        audit entry still has its row."""
        recorded = _audits(rows, table.name, action)
        for row in conn.execute(sa.select(table).order_by(table.c.id)):
            where = f"{table.name} {row.trial}/{row.patient_id}" + (
                f" (sequence {row.sequence})" if table is allocations else "")
            entries = recorded.pop((row.trial, row.patient_id), [])
            if len(entries) != 1:
                out.append(Problem(where, "no-audit" if not entries else "duplicate-audit",
                                   f"{len(entries)} audit entries for this {noun} "
                                   "(expected 1)"))
                continue
            what = differs(row, entries[0].new or {})
            if what:
                out.append(Problem(where, "row-edited", f"{what} from the audit entry (id "
                                   f"{entries[0].id})"))
        for (trial, pid), entries in recorded.items():
            out.append(Problem(f"{table.name} {trial}/{pid}", "row-missing",
                               f"audit entry id {entries[0].id} records {_noun_article(noun)} "
                               "that is no longer in the table (deleted)"))

    def allocation_differs(a: Any, new: dict[str, Any]) -> str | None:
        actual = {"sequence": a.sequence, "arm": a.arm, "hash": a.hash}
        diff = [k for k in ("sequence", "arm", "hash") if k in new and new[k] != actual[k]]
        return f"{', '.join(diff)} differ" if diff else None

    def registration_differs(g: Any, new: dict[str, Any]) -> str | None:
        factors = {k: str(v) for k, v in (new.get("factors") or {}).items()}
        if bool(new.get("eligible")) != bool(g.eligible) or factors != json.loads(g.factors):
            return "eligibility or factors differ"
        return None

    match(allocations, "randomise", "allocation", allocation_differs)
    match(eligibility_registrations, "register_eligibility", "registration",
          registration_differs)


def _audits(rows: list[Any], table: str, action: str) -> dict[tuple[str, str], list[Any]]:
    """The audit entries of ``action`` on ``table``, by (trial, patient id)."""
    found: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        if r.table_name == table and r.action == action and r.record_key:
            k = json.loads(r.record_key)
            found.setdefault((str(k.get("trial")), str(k.get("patient_id"))), []).append(r)
    return found


def _noun_article(noun: str) -> str:
    """``"an allocation"`` / ``"a registration"``."""
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def verify_audit(db: DatabaseLike, *, key: bytes | None = None, use_env_key: bool = True,
                 expect_head: tuple[int, str] | None = None) -> AuditVerification:
    """Recompute the audit chain and cross-check allocations and registrations.

    Parameters
    ----------
    db
        The registry: file path (SQLite), SQLAlchemy URL, or engine.
    key
        The audit key; default: ``HSCTMS_AUDIT_KEY`` when ``use_env_key``. Without a key,
        keyed (HMAC) entries are checked for their links only.
    use_env_key
        Read the key from the ``HSCTMS_AUDIT_KEY`` environment variable when ``key`` is not
        given (default True); False checks without a key.
    expect_head
        ``(count, hash)`` printed by an earlier verification: the chain must still contain
        that entry as its ``count``-th chained entry (detects truncation).

    Returns
    -------
    AuditVerification
        The entry counts, the chain's head and every problem found (``.ok`` is True when
        there is none); the database is only read.
    """
    if expect_head is not None and (isinstance(expect_head[0], bool)
                                    or not isinstance(expect_head[0], int)
                                    or expect_head[0] < 1):
        raise ConfigurationError(
            f"The expected head must count at least one chained entry, got {expect_head[0]!r}.",
            hint="Give the head printed by an earlier 'hsctms audit verify' (COUNT:HASH).")
    engine = open_registry(db)  # a mistyped path is refused, never created
    k = key if key is not None else (audit_key() if use_env_key else None)
    problems: list[Problem] = []
    with engine.connect() as conn:
        rows = list(conn.execute(sa.select(audit_log).order_by(audit_log.c.id)))
        chained, keyed, legacy = _chain(rows, k, problems)
        _cross_check(conn, rows, problems)
    hashes = [r.hash for r in rows if r.hash is not None]
    head = (len(hashes), hashes[-1] if hashes else None)
    if expect_head is not None:
        count, value = expect_head
        if count > len(hashes) or hashes[count - 1] != value:
            problems.append(Problem(f"chained entry {count}", "truncated",
                                    "the recorded head is no longer in the chain: entries "
                                    "were deleted from the end (or rewritten)"))
    return AuditVerification(len(rows), chained, keyed, legacy, head, k is not None,
                             tuple(problems))


__all__ = ["AuditVerification", "Problem", "verify_audit"]
