"""The malformed-input corpus ``tests/data/bad``: loading cases and building their inputs.

Layout::

    tests/data/bad/base/             a small valid bundle (every table and bundle.json)
    tests/data/bad/base_records.csv  the same data as a REDCap flat export
    tests/data/bad/bundle/<case>/    files that replace the base's, plus case.yaml
    tests/data/bad/redcap/<case>/    records.csv (a REDCap flat export), plus case.yaml
    tests/data/bad/web/<case>/       case.yaml describing a zip upload
    tests/data/bad/conflict/<case>/  valid files that contradict the rows already imported from base
                                     (rule ``import-conflict``: file = table, field = column)
    tests/data/bad/accept/<case>/    off-the-beaten-path input that is valid by the docs

``case.yaml`` keys: ``description``; ``entry`` (validate, import, redcap, web, postgres);
``expect`` (issues, each ``rule``, ``file``, ``line``, ``field``); optionally ``remove`` (base
files to delete), ``zip`` (web: [entry name, source] pairs, the source ``base/<file>`` or a file
of the case), ``message`` (web: text the page must show) and ``user`` (web: who uploads,
default admin). A web case without ``zip`` uploads its ``upload.bin`` as it is.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).resolve().parent
BASE = CORPUS / "base"
BASE_RECORDS = CORPUS / "base_records.csv"
BASE_NAMES = frozenset(p.name for p in BASE.iterdir())
KINDS = ("bundle", "redcap", "web", "conflict", "accept")
ENTRIES = ("validate", "import", "redcap", "web", "postgres")
#: "today" of every corpus check (as in tests/io/conftest.py).
TODAY = dt.date(2025, 6, 30)

#: Text that must never reach a user: tracebacks and bare Python exception names.
_PYTHON_LEAK = re.compile(
    r"Traceback|File \"|\b(?:[A-Z][A-Za-z]*(?:Error|Exception)|KeyError|StopIteration)\b|"
    r"_csv\.|codec can't|object at 0x")


@dataclass(frozen=True)
class Case:
    """One corpus case."""

    kind: str
    name: str
    path: Path
    description: str
    entry: tuple[str, ...]
    expect: tuple[dict[str, Any], ...]
    remove: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.name}"

    def input_files(self) -> list[Path]:
        """The case's data files (everything but case.yaml)."""
        return sorted(p for p in self.path.iterdir() if p.name != "case.yaml")


def load_case(kind: str, path: Path) -> Case:
    doc = yaml.safe_load((path / "case.yaml").read_text(encoding="utf-8"))
    known = {"description", "entry", "expect", "remove", "zip", "message", "user"}
    unknown = set(doc) - known
    assert not unknown, f"{path}/case.yaml: unknown keys {sorted(unknown)}"
    extra = {k: doc[k] for k in ("zip", "message", "user") if k in doc}
    return Case(kind, path.name, path, doc["description"], tuple(doc["entry"]),
                tuple(doc.get("expect") or ()), tuple(doc.get("remove") or ()), extra)


def all_cases(kind: str | None = None) -> list[Case]:
    """Every case of the corpus (of one kind), sorted by name."""
    out = []
    for k in KINDS if kind is None else (kind,):
        root = CORPUS / k
        if root.is_dir():
            out += [load_case(k, p) for p in sorted(root.iterdir()) if p.is_dir()]
    return out


def cases_for(entry: str, kind: str | None = None) -> list[Case]:
    """The cases that name ``entry`` among their entry points."""
    return [c for c in all_cases(kind) if entry in c.entry]


def build_bundle(case: Case, target: Path) -> Path:
    """The base bundle with the case's files laid over it (and ``remove`` deleted)."""
    shutil.copytree(BASE, target)
    for name in case.remove:
        (target / name).unlink()
    for src in case.input_files():
        shutil.copyfile(src, target / src.name)
    return target


def human(message: str) -> bool:
    """Whether a message is for people: non-empty and free of Python internals."""
    return bool(message.strip()) and not _PYTHON_LEAK.search(message)


def matches(issue: Any, want: dict[str, Any]) -> bool:
    """Whether an issue (``Issue`` or its dict) is the expected rule at file, line, field."""
    d = issue if isinstance(issue, dict) else issue.to_dict()
    return (d["rule"], d["file"], d["row"], d["field"]) == (
        want["rule"], want["file"], want["line"], want["field"])


def assert_expected(issues: list[Any], case: Case) -> None:
    """Every expected issue is among ``issues``, and every issue message is human."""
    lines = [i.to_line() if hasattr(i, "to_line") else str(i) for i in issues]
    for want in case.expect:
        assert any(matches(i, want) for i in issues), (
            f"{case.id}: expected {want} among:\n" + "\n".join(lines))
    for issue in issues:
        message = issue["message"] if isinstance(issue, dict) else issue.message
        assert human(message), f"{case.id}: message not for people: {message!r}"
