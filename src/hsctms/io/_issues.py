"""Validation issues and the validation report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from hsctms.io.rules import RULES, SEVERITIES, Severity, rule
from hsctms.model.schema import SCHEMA

_FILE_ORDER = {spec.filename: i for i, spec in enumerate(SCHEMA.values())}
_SEVERITY_ORDER = {s: i for i, s in enumerate(SEVERITIES)}
_RULE_ORDER = {r: i for i, r in enumerate(RULES)}


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
    """

    rule: str
    severity: Severity
    file: str
    row: int | None
    field: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            ``rule``, ``severity``, ``file``, ``row``, ``field`` and ``message``.
        """
        return {"rule": self.rule, "severity": self.severity, "file": self.file,
                "row": self.row, "field": self.field, "message": self.message}

    def to_line(self) -> str:
        """One plain line: ``severity rule file:line field: message`` (for logs and pipes).

        Line breaks inside the message are shown as spaces, so one issue is always one line.

        Returns
        -------
        str
            The issue on one line.

        Examples
        --------
        >>> issue = Issue("edss-off-grid", "error", "edss.csv", 3, "edss", "EDSS '0.5' is bad.")
        >>> issue.to_line()
        "error edss-off-grid edss.csv:3 edss: EDSS '0.5' is bad."
        """
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        field = f" {self.field}" if self.field else ""
        message = " ".join(self.message.split())
        return f"{self.severity} {self.rule} {where}{field}: {message}"

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
               message: str) -> Issue:
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

    Returns
    -------
    Issue
        The issue.
    """
    return Issue(rule_id, rule(rule_id).severity, file, row, field_name, message)


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
            Columns rule, severity, file, row (nullable integer), field, message.
        """
        cols = ["rule", "severity", "file", "row", "field", "message"]
        frame = pd.DataFrame([i.to_dict() for i in self.issues], columns=cols)
        frame["row"] = frame["row"].astype("Int64")
        return frame
