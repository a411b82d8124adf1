"""Validation issues and the validation report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from dataclasses import field as dataclass_field
from typing import Any

import numpy as np
import pandas as pd

from hsctms.io.rules import RULES, SEVERITIES, Severity, rule
from hsctms.model.schema import SCHEMA

_FILE_ORDER = {spec.filename: i for i, spec in enumerate(SCHEMA.values())}
_SEVERITY_ORDER = {s: i for i, s in enumerate(SEVERITIES)}
_RULE_ORDER = {r: i for i, r in enumerate(RULES)}
_TABLE_OF_FILE = {spec.filename: name for name, spec in SCHEMA.items()}
#: The hidden line-number column of typed frames (``hsctms.io._parse.LINE``, which imports
#: this module).
_LINE = "__line__"


@dataclass(frozen=True)
class Issue:
    """One finding of validation.

    Parameters
    ----------
    rule
        Rule id (see :data:`hsctms.io.rules.RULES`).
    severity
        ``"error"``, ``"warning"`` or ``"info"``.
    file
        File name within the bundle (``"edss.csv"``), or ``"bundle.json"``.
    row
        Line number in the file (header = line 1); ``None`` for whole-file issues and for
        single-record (web form) validation.
    field
        Column name, or ``None``.
    message
        What is wrong and how to fix it.
    patient
        The ``patient_id`` of the row, for row-level issues of a bundle (attached centrally by
        :func:`with_patients`, so every check's message need not repeat it); ``None`` when
        unknown or not about one row.
    plain_message
        The message with command-line-neutral advice, for readers who cannot pass the
        command line's reading options (a web upload): e.g. "save the file as CSV (comma
        delimited)" instead of "run with --delimiter ';'". ``None`` when :attr:`message`
        names no option. Not part of :meth:`to_dict` or of equality.
    """

    rule: str
    severity: Severity
    file: str
    row: int | None
    field: str | None
    message: str
    patient: str | None = None
    plain_message: str | None = dataclass_field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            ``rule``, ``severity``, ``file``, ``row``, ``field``, ``message`` and ``patient``.
        """
        return {"rule": self.rule, "severity": self.severity, "file": self.file,
                "row": self.row, "field": self.field, "message": self.message,
                "patient": self.patient}

    def to_line(self) -> str:
        """One plain line, ``file:line: severity rule field (patient P): message``, the form
        compilers use, so editors and ``grep`` jump to the line (for logs and pipes).

        Line breaks inside the message are shown as spaces, so one issue is always one line.

        Returns
        -------
        str
            The issue on one line.

        Examples
        --------
        >>> issue = Issue("edss-off-grid", "error", "edss.csv", 3, "edss", "EDSS '0.5' is bad.",
        ...               patient="P1")
        >>> issue.to_line()
        "edss.csv:3: error edss-off-grid edss (patient P1): EDSS '0.5' is bad."
        >>> Issue("manifest-missing", "info", "bundle.json", None, None, "None.").to_line()
        'bundle.json: info manifest-missing: None.'
        """
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        field = f" {self.field}" if self.field else ""
        patient = f" (patient {self.patient})" if self.patient else ""
        message = " ".join(self.message.split())
        return f"{where}: {self.severity} {self.rule}{field}{patient}: {message}"

    def sort_key(self) -> tuple[int, str, int, int, int, str, str]:
        """Stable report order: file (schema order), line, field, severity, rule, message.

        Returns
        -------
        tuple
            The sort key.
        """
        return (
            _FILE_ORDER.get(self.file, len(_FILE_ORDER)),
            self.file,
            -1 if self.row is None else self.row,
            0 if self.field is None else 1,
            _SEVERITY_ORDER[self.severity] * 1000 + _RULE_ORDER.get(self.rule, 999),
            self.field or "",
            self.message,
        )


def make_issue(rule_id: str, file: str, row: int | None, field_name: str | None,
               message: str, *, plain_message: str | None = None) -> Issue:
    """An :class:`Issue` with the severity of its registered rule.

    Parameters
    ----------
    rule_id
        Registered rule id (:data:`hsctms.io.rules.RULES`).
    file
        File name within the bundle.
    row
        Line number in the file, or None.
    field_name
        Column name, or None.
    message
        What is wrong and how to fix it.
    plain_message
        The message without command-line options (:attr:`Issue.plain_message`), or None.

    Returns
    -------
    Issue
        The issue.
    """
    return Issue(rule_id, rule(rule_id).severity, file, row, field_name, message,
                 plain_message=plain_message)


def with_patients(issues: Iterable[Issue], tables: Mapping[str, pd.DataFrame]) -> list[Issue]:
    """The issues with the ``patient_id`` of their row attached (:attr:`Issue.patient`).

    One place names the patient of every row-level issue, whichever rule found it: the row's
    line is looked up in the typed table of its file. Issues that already name a patient,
    whole-file issues and rows whose ``patient_id`` is missing or invalid are unchanged.

    Parameters
    ----------
    issues
        Issues of a bundle.
    tables
        Typed frames by table name, each with the line-number column ``__line__``.

    Returns
    -------
    list of Issue
        The issues, in the same order.
    """
    out = list(issues)
    wanted: dict[str, list[int]] = {}
    for i, issue in enumerate(out):
        if issue.row is not None and issue.patient is None and issue.file in _TABLE_OF_FILE:
            wanted.setdefault(issue.file, []).append(i)
    for filename, positions in wanted.items():
        frame = tables.get(_TABLE_OF_FILE[filename])
        if frame is None or frame.empty or _LINE not in frame or "patient_id" not in frame:
            continue
        lines = frame[_LINE].to_numpy(dtype=np.int64)
        ids = frame["patient_id"].to_numpy(dtype=object, na_value=None)
        order = np.argsort(lines, kind="stable")
        sorted_lines = lines[order]
        rows = np.array([out[i].row for i in positions], dtype=np.int64)
        at = np.clip(np.searchsorted(sorted_lines, rows), 0, len(sorted_lines) - 1)
        found = sorted_lines[at] == rows
        for i, hit, j in zip(positions, found.tolist(), at.tolist(), strict=True):
            pid = ids[order[j]] if hit else None
            if pid is not None:
                out[i] = replace(out[i], patient=str(pid))
    return out


@dataclass(frozen=True)
class RuleCount:
    """How often one rule was broken, with its first example (``validate --summary``).

    Parameters
    ----------
    rule
        Rule id.
    severity
        The rule's severity.
    count
        Number of issues.
    first
        The first issue of the rule in report order.
    """

    rule: str
    severity: Severity
    count: int
    first: Issue

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            ``rule``, ``severity``, ``count`` and ``first`` (an issue's dict).
        """
        return {"rule": self.rule, "severity": self.severity, "count": self.count,
                "first": self.first.to_dict()}


@dataclass
class ValidationReport:
    """The outcome of validating a bundle or a record.

    Issues are kept in a stable order (file in schema order, line, field, severity, rule) so
    two runs on the same input give identical reports.

    Parameters
    ----------
    issues
        The findings (sorted on construction).
    source
        What was validated (a bundle directory, ``"endpoint inputs"``, ...).
    rows
        Number of data rows by table name.
    """

    issues: list[Issue] = field(default_factory=list)
    source: str | None = None
    rows: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.issues = sorted(self.issues, key=Issue.sort_key)

    def extend(self, issues: Iterable[Issue]) -> None:
        """Add issues, keeping the stable order.

        Parameters
        ----------
        issues
            The issues to add.
        """
        self.issues = sorted([*self.issues, *issues], key=Issue.sort_key)

    def __iter__(self) -> Iterator[Issue]:
        return iter(self.issues)

    def __len__(self) -> int:
        return len(self.issues)

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings and infos do not block an import)."""
        return not any(i.severity == "error" for i in self.issues)

    @property
    def errors(self) -> list[Issue]:
        """Issues of severity ``error``."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """Issues of severity ``warning``."""
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def infos(self) -> list[Issue]:
        """Issues of severity ``info``."""
        return [i for i in self.issues if i.severity == "info"]

    def by_rule(self) -> dict[str, int]:
        """Number of issues per rule id (registry order).

        Returns
        -------
        dict
            Rule id -> count, for the rules with at least one issue.
        """
        counts = Counter(i.rule for i in self.issues)
        return {r: counts[r] for r in RULES if counts[r]}

    def at_least(self, severity: Severity) -> list[Issue]:
        """The issues at least as severe as ``severity`` (``"info"``: all of them).

        Parameters
        ----------
        severity
            ``"error"``, ``"warning"`` or ``"info"``.

        Returns
        -------
        list of Issue
            The issues of that severity or a more severe one, in report order.

        Examples
        --------
        >>> rep = ValidationReport([make_issue("manifest-missing", "bundle.json", None, None,
        ...                                    "No bundle.json.")])
        >>> len(rep.at_least("info")), len(rep.at_least("warning"))
        (1, 0)
        """
        if severity not in _SEVERITY_ORDER:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not "
                             f"{severity!r}")
        limit = _SEVERITY_ORDER[severity]
        return [i for i in self.issues if _SEVERITY_ORDER[i.severity] <= limit]

    def rule_counts(self, issues: Iterable[Issue] | None = None) -> list[RuleCount]:
        """Issues counted by rule (most severe first, then registry order), each with its
        first example.

        Parameters
        ----------
        issues
            Count these issues (e.g. those below a minimum severity); default all.

        Returns
        -------
        list of RuleCount
            One entry per rule with at least one issue.
        """
        chosen = self.issues if issues is None else sorted(issues, key=Issue.sort_key)
        first: dict[str, Issue] = {}
        counts: Counter[str] = Counter()
        for issue in chosen:
            first.setdefault(issue.rule, issue)
            counts[issue.rule] += 1
        order = sorted(first, key=lambda r: (_SEVERITY_ORDER[first[r].severity],
                                             _RULE_ORDER.get(r, len(_RULE_ORDER)), r))
        return [RuleCount(r, first[r].severity, counts[r], first[r]) for r in order]

    def for_field(self, field_name: str) -> list[Issue]:
        """Issues about one column (used by web forms to show messages next to a field).

        Parameters
        ----------
        field_name
            The column (form field).

        Returns
        -------
        list of Issue
            The issues whose ``field`` is ``field_name``.
        """
        return [i for i in self.issues if i.field == field_name]

    @property
    def summary(self) -> str:
        """One-line human summary."""
        where = f" in {self.source}" if self.source else ""
        counts = f"{len(self.errors)} error(s), {len(self.warnings)} warning(s), " \
                 f"{len(self.infos)} info(s)"
        verdict = "valid" if self.ok else "INVALID"
        rules = ", ".join(f"{k}={v}" for k, v in self.by_rule().items())
        rows = sum(self.rows.values())
        rows_txt = f" ({rows} data rows)" if self.rows else ""
        return f"Bundle{where}{rows_txt} is {verdict}: {counts}" + (
            f" [{rules}]." if rules else ".")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (documented in docs/validation-rules.md).

        Returns
        -------
        dict
            ``source``, ``ok``, ``counts``, ``by_rule``, ``rows`` and ``issues``.
        """
        return {
            "source": self.source,
            "ok": self.ok,
            "counts": {"error": len(self.errors), "warning": len(self.warnings),
                       "info": len(self.infos)},
            "by_rule": self.by_rule(),
            "rows": dict(self.rows),
            "issues": [i.to_dict() for i in self.issues],
        }

    def to_frame(self) -> pd.DataFrame:
        """Issues as a table.

        Returns
        -------
        DataFrame
            Columns rule, severity, file, row (nullable integer), field, message, patient.
        """
        cols = ["rule", "severity", "file", "row", "field", "message", "patient"]
        frame = pd.DataFrame([i.to_dict() for i in self.issues], columns=cols)
        frame["row"] = frame["row"].astype("Int64")
        return frame
