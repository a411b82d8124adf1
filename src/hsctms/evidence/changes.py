"""The evidence date and the change log of the evidence base (``data/changes.yaml``).

Each evidence date has one entry listing the studies added, the studies updated (what changed)
and the changes of verification flags. The newest entry's date is the *evidence date* shown in
reports; the entry before it gives the *previous evidence date*, so a reader can see what
changed since the version they last saw::

    >>> from hsctms.evidence import load_evidence
    >>> log = load_evidence().changelog
    >>> log.evidence_date > log.previous_evidence_date
    True
    >>> [e.date for e in log.since()] == [log.evidence_date]
    True
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hsctms._files import safe_load_yaml
from hsctms.errors import ConfigurationError, EvidenceError

#: Kinds of change recorded per study.
CHANGE_KINDS: tuple[str, ...] = ("added", "updated", "flag")


@dataclass(frozen=True)
class StudyChange:
    """One change to one study of the evidence base.

    Parameters
    ----------
    study_id : str
        The study changed.
    kind : str
        ``"added"``, ``"updated"`` (figures, citation or fields) or ``"flag"`` (a
        verification flag set or cleared).
    text : str
        What changed, in words (empty for a plain addition).
    field : str, default ""
        The field or table concerned, when one is named.
    """

    study_id: str
    kind: str
    text: str
    field: str = ""


@dataclass(frozen=True)
class ChangeEntry:
    """The changes made at one evidence date.

    Parameters
    ----------
    date : datetime.date
        The evidence date of this version.
    summary : str
        One-paragraph summary of the version.
    changes : tuple of StudyChange
        The per-study changes.
    """

    date: dt.date
    summary: str
    changes: tuple[StudyChange, ...]

    def of_kind(self, kind: str) -> list[StudyChange]:
        """The changes of one kind.

        Parameters
        ----------
        kind : str
            ``"added"``, ``"updated"`` or ``"flag"``.

        Returns
        -------
        list of StudyChange
            In file order.
        """
        return [c for c in self.changes if c.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            ``date`` (ISO), ``summary`` and ``changes`` (list of dicts).
        """
        return {"date": self.date.isoformat(), "summary": self.summary,
                "changes": [{"study_id": c.study_id, "kind": c.kind, "field": c.field,
                             "text": c.text} for c in self.changes]}


@dataclass(frozen=True)
class ChangeLog:
    """The evidence date, the previous evidence date and the entries, newest first.

    Parameters
    ----------
    entries : tuple of ChangeEntry
        Newest first; at least one.
    """

    entries: tuple[ChangeEntry, ...]

    @property
    def evidence_date(self) -> dt.date:
        """The date of the current version of the evidence base."""
        return self.entries[0].date

    @property
    def previous_evidence_date(self) -> dt.date | None:
        """The date of the version before it (``None`` for a first version)."""
        return self.entries[1].date if len(self.entries) > 1 else None

    def since(self, when: dt.date | str | None = None) -> list[ChangeEntry]:
        """The entries newer than a date.

        Parameters
        ----------
        when : datetime.date or str, optional
            A date (``YYYY-MM-DD``); default the previous evidence date, i.e. the changes of
            the current version.

        Returns
        -------
        list of ChangeEntry
            Entries dated after ``when``, newest first.

        Raises
        ------
        hsctms.errors.ConfigurationError
            For a text that is not a ``YYYY-MM-DD`` date.
        """
        if when is None:
            when = self.previous_evidence_date
            if when is None:
                return list(self.entries)
        elif isinstance(when, str):
            when = parse_date(when)
        return [e for e in self.entries if e.date > when]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            ``evidence_date``, ``previous_evidence_date`` and ``entries``.
        """
        prev = self.previous_evidence_date
        return {"evidence_date": self.evidence_date.isoformat(),
                "previous_evidence_date": prev.isoformat() if prev else None,
                "entries": [e.to_dict() for e in self.entries]}


def parse_date(text: str) -> dt.date:
    """A ``YYYY-MM-DD`` date.

    Parameters
    ----------
    text : str
        The date as text.

    Returns
    -------
    datetime.date
        The date.

    Raises
    ------
    hsctms.errors.ConfigurationError
        When ``text`` is not a valid ``YYYY-MM-DD`` date.
    """
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise ConfigurationError(f"{text!r} is not a date.",
                                 hint="Give it as YYYY-MM-DD, e.g. 2026-11-22.") from None


def _as_date(value: Any, where: str, problems: list[str]) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{where}: {value!r} is not a YYYY-MM-DD date")
        return None


def _entry(raw: Any, where: str, known: set[str], problems: list[str]) -> ChangeEntry | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: must be a mapping with date, summary and changes")
        return None
    unknown = set(raw) - {"date", "summary", "added", "updated", "flags"}
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                        "allowed: date, summary, added, updated, flags")
    date = _as_date(raw.get("date"), f"{where} date", problems)
    changes: list[StudyChange] = []
    for sid in raw.get("added") or []:
        changes.append(StudyChange(str(sid), "added", ""))
    for key, kind in (("updated", "updated"), ("flags", "flag")):
        for j, item in enumerate(raw.get(key) or [], start=1):
            if not isinstance(item, Mapping) or not item.get("study") or not item.get("change"):
                problems.append(f"{where} {key} item {j}: needs study and change")
                continue
            changes.append(StudyChange(str(item["study"]), kind, str(item["change"]),
                                       str(item.get("field") or "")))
    for c in changes:
        if c.study_id not in known:
            problems.append(f"{where}: unknown study id {c.study_id!r} (not in studies.yaml)")
    if date is None:
        return None
    return ChangeEntry(date, str(raw.get("summary") or "").strip(), tuple(changes))


def read_changes(path: Path, study_ids: Iterable[str]) -> ChangeLog:
    """Read and validate ``changes.yaml``.

    Parameters
    ----------
    path : pathlib.Path
        The change log file.
    study_ids : iterable of str
        The ids of ``studies.yaml`` (every id named in the log must be one of them).

    Returns
    -------
    ChangeLog
        Entries newest first.

    Raises
    ------
    hsctms.errors.EvidenceError
        When the file breaks a rule (listing every problem): dates not ISO or not strictly
        newest first, unknown study ids, ``evidence_date`` / ``previous_evidence_date``
        disagreeing with the entries.
    """
    try:
        raw = safe_load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise EvidenceError(f"{path.name} is not valid YAML: {exc}") from exc
    if not isinstance(raw, Mapping) or not isinstance(raw.get("entries"), list) \
            or not raw["entries"]:
        raise EvidenceError(f"{path.name} must be a mapping with a non-empty 'entries' list.",
                            hint="See docs/evidence.md (change log).")
    problems: list[str] = []
    known = set(study_ids)
    entries = [e for i, item in enumerate(raw["entries"], start=1)
               if (e := _entry(item, f"{path.name} entry {i}", known, problems)) is not None]
    dates = [e.date for e in entries]
    if any(a <= b for a, b in itertools.pairwise(dates)):
        problems.append(f"{path.name}: entries must be newest first with distinct dates, got "
                        + ", ".join(d.isoformat() for d in dates))
    if entries:
        top = _as_date(raw.get("evidence_date"), f"{path.name} evidence_date", problems)
        if top is not None and top != entries[0].date:
            problems.append(f"{path.name}: evidence_date {top} is not the newest entry's date "
                            f"{entries[0].date}")
        prev_raw = raw.get("previous_evidence_date")
        prev = (None if prev_raw is None else
                _as_date(prev_raw, f"{path.name} previous_evidence_date", problems))
        want = entries[1].date if len(entries) > 1 else None
        if prev != want and not (prev_raw is not None and prev is None):
            problems.append(f"{path.name}: previous_evidence_date {prev} is not the second "
                            f"entry's date {want}")
    if problems:
        raise EvidenceError(
            f"The evidence change log is inconsistent ({len(problems)} problem(s)):\n  "
            + "\n  ".join(problems),
            hint="Fix changes.yaml (see docs/evidence.md, change log).")
    return ChangeLog(tuple(entries))
