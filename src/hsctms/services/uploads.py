"""Validation reports of refused uploads as a web user reads them: one row per issue with the
patient it concerns, the first issues grouped by rule, and the full list as a CSV download.

The rules and the messages are the importer's (:mod:`hsctms.io`); this module only arranges
them. The patient of a row-level issue is read from the uploaded file itself (the row's
``patient_id``, located with the importer's own CSV reader so that line numbers agree).

>>> from hsctms.io import Issue, ValidationReport
>>> report = ValidationReport([Issue("date-invalid", "error", "edss.csv", 3, "date", "bad")])
>>> rows = issue_rows(report)
>>> [(g["rule"], g["count"]) for g in group_issues(rows)]
[('date-invalid', 1)]
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

#: Columns of an issue row (the order of the CSV download).
ISSUE_COLUMNS = ("severity", "rule", "file", "row", "field", "patient", "message")

#: How many issues a refused upload lists on the page (the download has all of them).
SHOWN_ISSUES = 50

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _patients_by_line(bundle: Path, filename: str) -> dict[int, str]:
    """Line number -> ``patient_id`` of one CSV file of an uploaded bundle."""
    from hsctms.io._parse import read_raw
    from hsctms.model.schema import SCHEMA

    spec = next((s for s in SCHEMA.values() if s.filename == filename), None)
    path = bundle / filename
    if spec is None or not path.is_file() or not spec.has_column("patient_id"):
        return {}
    raw, _ = read_raw(path, spec)
    if raw is None or "patient_id" not in raw.frame.columns:
        return {}
    ids = raw.frame["patient_id"].astype(str).str.strip().tolist()
    return {int(line): pid for line, pid in zip(raw.lines.tolist(), ids, strict=False)
            if pid}


def issue_rows(report: Any, bundle: str | Path | None = None) -> list[dict[str, Any]]:
    """Every issue of a validation report as a flat row, errors first.

    Parameters
    ----------
    report
        The :class:`hsctms.io.ValidationReport` of the refused upload.
    bundle
        The uploaded bundle's directory (still on disk), to name the patient of each
        row-level issue; None leaves ``patient`` empty.

    Returns
    -------
    list of dict
        Keys :data:`ISSUE_COLUMNS`; ``row`` is the file's line number (header = 1) or None,
        ``patient`` the row's ``patient_id`` or None, ``message`` the issue's advice for a
        web user (:attr:`hsctms.io.Issue.plain_message`: no command-line option such as
        ``--delimiter``, which an upload cannot pass) where it has one.
    """
    issues = sorted(report.issues, key=lambda i: _SEVERITY_ORDER.get(i.severity, 3))
    lookup: dict[str, dict[int, str]] = {}
    if bundle is not None:
        for filename in sorted({i.file for i in issues if i.row is not None}):
            lookup[filename] = _patients_by_line(Path(bundle), filename)
    return [{"severity": i.severity, "rule": i.rule, "file": i.file, "row": i.row,
             "field": i.field,
             "patient": lookup.get(i.file, {}).get(i.row) if i.row is not None else None,
             "message": i.plain_message or i.message} for i in issues]


def group_issues(rows: list[dict[str, Any]], *, limit: int = SHOWN_ISSUES,
                 severities: tuple[str, ...] = ("error", "warning")) -> list[dict[str, Any]]:
    """The first ``limit`` issues grouped by rule, with each rule's total count.

    The shown issues are taken in turn from each rule (errors first, then the most frequent
    rules), so that one frequent rule does not hide the others.

    Parameters
    ----------
    rows
        Issue rows of :func:`issue_rows` (errors first).
    limit
        How many issues to show in all (a rule whose turn does not come is still listed,
        with its count and no rows).
    severities
        Severities listed (infos are notes, not problems: they stay in the download).

    Returns
    -------
    list of dict
        One group per rule: ``rule``, ``title`` (the rule's short name), ``severity``,
        ``count`` (all its issues) and ``issues`` (those shown).
    """
    from hsctms.io import RULES

    kept = [r for r in rows if r["severity"] in severities]
    counts = Counter(r["rule"] for r in kept)
    by_rule: dict[str, list[dict[str, Any]]] = {rule: [] for rule in counts}
    for r in kept:
        by_rule[r["rule"]].append(r)
    severity = {rule: items[0]["severity"] for rule, items in by_rule.items()}
    order = sorted(counts, key=lambda rule: (_SEVERITY_ORDER.get(severity[rule], 3),
                                            -counts[rule], rule))
    shown: dict[str, int] = dict.fromkeys(order, 0)
    left = min(limit, len(kept))
    while left > 0:
        for rule in order:
            if left and shown[rule] < counts[rule]:
                shown[rule] += 1
                left -= 1
    out = []
    for rule in order:
        known = RULES.get(rule)
        out.append({"rule": rule, "title": known.title if known is not None else rule,
                    "severity": severity[rule], "count": counts[rule],
                    "issues": by_rule[rule][:shown[rule]]})
    return out


def issues_csv(rows: list[dict[str, Any]]) -> str:
    """The full issue list as CSV for a spreadsheet (formula-like text neutralised).

    Parameters
    ----------
    rows
        Issue rows of :func:`issue_rows`.

    Returns
    -------
    str
        CSV text with the columns :data:`ISSUE_COLUMNS`.
    """
    import pandas as pd

    from hsctms.io.csvtext import csv_text

    frame = pd.DataFrame([{c: r.get(c) for c in ISSUE_COLUMNS} for r in rows],
                         columns=list(ISSUE_COLUMNS), dtype=object)
    return csv_text(frame, neutralise_formulas=True)
