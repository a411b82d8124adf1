"""Numbers a centre lead and a registry administrator read first: the headline of a dashboard
(patients, transplants, follow-up, events, data quality) and the per-centre overview of the
administrator's dashboard (patients, last upload and entry, open data-quality issues, users).

The statistics are the library's (:mod:`hsctms.analysis.monitoring`: Clark's C, the outcome
curves; :func:`hsctms.io.validate_cohort`: the importer's rules on the stored data); this
module adds them up for one view, with the view's disclosure control
(:func:`hsctms.analysis.monitoring_disclosure.suppress`).
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import sqlalchemy as sa

    from hsctms.analysis.monitoring import RegistryMonitoring
    from hsctms.model import Cohort

#: Severities that count as an open data-quality issue (infos are notes, not issues).
OPEN_SEVERITIES = ("error", "warning")


def quality_issues(cohort: Cohort, *, today: _dt.date | None = None) -> dict[str, int]:
    """Open data-quality issues of stored data, per centre: the importer's rules
    (:func:`hsctms.io.validate_cohort`) applied to the cohort, errors and warnings only.

    Parameters
    ----------
    cohort
        The data (one centre or the registry).
    today
        Reference date for "in the future" (default: today).

    Returns
    -------
    dict of str to int
        Centre code -> number of issues on its patients' rows (centres without issues
        included with 0; an issue of a row without a known patient counts under ``""``).
    """
    from hsctms.io import validate_cohort

    patients = cohort.table("patients")
    centre_of = dict(zip(patients["patient_id"].astype(str), patients["centre"].astype(str),
                         strict=False))
    counts: Counter[str] = Counter({c: 0 for c in centre_of.values()})
    by_file = {spec_file: name for name, spec_file in _filenames().items()}
    report = validate_cohort(cohort, today=today)
    for issue in report.issues:
        if issue.severity not in OPEN_SEVERITIES:
            continue
        pid = None
        table = by_file.get(issue.file)
        if table is not None and issue.row is not None:
            frame = cohort.table(table)
            pos = issue.row - 2
            if 0 <= pos < len(frame) and "patient_id" in frame.columns:
                pid = str(frame["patient_id"].iloc[pos])
        counts[centre_of.get(pid or "", "")] += 1
    return dict(counts)


def _filenames() -> dict[str, str]:
    from hsctms.model.schema import SCHEMA

    return {name: spec.filename for name, spec in SCHEMA.items()}


def dashboard_headline(monitoring: RegistryMonitoring, *,
                       quality: int | None = None) -> list[dict[str, Any]]:
    """The headline numbers of a dashboard view, disclosure-controlled.

    Parameters
    ----------
    monitoring
        The view's monitoring result (:func:`hsctms.analysis.monitoring.monitor`; its
        ``small_count`` is the view's threshold).
    quality
        Open data-quality issues of the view (:func:`quality_issues` summed), or None when
        not computed.

    Returns
    -------
    list of dict
        One card per number: ``key`` (``patients``, ``transplanted``, ``followup``,
        ``overdue``, ``events``, ``quality``), ``label``, ``value`` (a count, ``"<N"``, a
        formatted figure or ``"-"``) and ``detail`` (what it means).
    """
    from hsctms.analysis.monitoring_disclosure import suppress

    sc = monitoring.small_count
    fu = monitoring.followup
    n_tx = len(fu)
    cards: list[dict[str, Any]] = [
        {"key": "patients", "label": "Patients", "value": suppress(monitoring.n_patients, sc),
         "detail": "registered"},
        {"key": "transplanted", "label": "Transplanted", "value": suppress(n_tx, sc),
         "detail": "with an index transplant"},
    ]
    observed = float(fu["observed_days"].sum()) if n_tx else 0.0
    potential = float(fu["potential_days"].sum()) if n_tx else 0.0
    if n_tx >= max(sc, 1) and potential > 0:
        c_text = f"{100 * observed / potential:.0f}%"
        median = float(fu["observed_days"].median()) / 365.25
        detail = f"Clark's C; median follow-up {median:.1f} years"
    else:
        c_text, detail = "-", "Clark's C (too few patients)"
    cards.append({"key": "followup", "label": "Follow-up completeness", "value": c_text,
                  "detail": detail})
    cards.append({"key": "overdue", "label": "Overdue follow-up",
                  "value": suppress(int(fu["overdue"].sum()) if n_tx else 0, sc),
                  "detail": monitoring.overdue_label})
    outcomes = monitoring.outcomes
    if outcomes is not None and "efs" in outcomes.fits:
        events: int | str = suppress(int(outcomes.fits["efs"].n_event.sum()), sc)
    else:
        events = "-"
    cards.append({"key": "events", "label": "EFS events", "value": events,
                  "detail": "relapse, MRI activity, worsening or death after transplant"})
    cards.append({"key": "quality", "label": "Data-quality issues",
                  "value": "-" if quality is None else suppress(quality, sc),
                  "detail": "errors and warnings of the import rules in stored data"})
    return cards


def centre_overview(engine: sa.Engine, *, today: _dt.date | None = None
                    ) -> list[dict[str, Any]]:
    """Per centre: patients, last upload, last entry, open data-quality issues, users (the
    administrator's overview; record-level, not disclosure-controlled).

    Parameters
    ----------
    engine
        The registry database.
    today
        Reference date of the data-quality rules (default: today).

    Returns
    -------
    list of dict
        One row per centre (with patients or users), sorted by centre: ``centre``,
        ``patients``, ``last_upload`` and ``last_entry`` (ISO timestamps or None),
        ``quality`` (open issues) and ``users`` (active accounts of the centre).
    """
    import sqlalchemy as sa

    from hsctms.db import load_cohort
    from hsctms.db.tables import TABLES
    from hsctms.db.users import users

    p = TABLES["patients"]
    rows: dict[str, dict[str, Any]] = {}

    def row(centre: str) -> dict[str, Any]:
        return rows.setdefault(centre, {"centre": centre, "patients": 0, "last_upload": None,
                                        "last_entry": None, "quality": 0, "users": 0})

    with engine.connect() as conn:
        for centre, n in conn.execute(sa.select(p.c.centre, sa.func.count())
                                      .group_by(p.c.centre)):
            row(str(centre))["patients"] = int(n)
        for centre, n in conn.execute(
                sa.select(users.c.centre, sa.func.count())
                .where(users.c.centre.is_not(None), users.c.active.is_(True))
                .group_by(users.c.centre)):
            row(str(centre))["users"] = int(n)
        _last_dates(conn, rows)
    if rows:
        for centre, n in quality_issues(load_cohort(engine), today=today).items():
            if centre in rows:
                rows[centre]["quality"] = n
    return [rows[c] for c in sorted(rows)]


def _last_dates(conn: sa.Connection, rows: dict[str, dict[str, Any]]) -> None:
    """Fill ``last_upload`` and ``last_entry`` of each centre from the audit trail."""
    import sqlalchemy as sa

    from hsctms.db.tables import audit_log as a

    missing = {(c, k) for c in rows for k in ("last_upload", "last_entry")}
    # newest first, until every centre has both dates
    for at, action, detail in conn.execute(
            sa.select(a.c.at, a.c.action, a.c.detail)
            .where(a.c.action.in_(("import", "insert", "update", "delete")))
            .order_by(a.c.id.desc())):
        key = "last_upload" if action == "import" else "last_entry"
        for centre in _centres_named(detail):
            if (centre, key) in missing:
                rows[centre][key] = _iso(at)
                missing.discard((centre, key))
        if not missing:
            break


def _centres_named(detail: Any) -> list[str]:
    if not isinstance(detail, dict):
        return []
    out = [str(c) for c in detail.get("centres") or [] if c is not None]
    if detail.get("centre") is not None:
        out.append(str(detail["centre"]))
    return sorted(set(out))


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value.replace(microsecond=0, tzinfo=None).isoformat(sep=" ", timespec="minutes")
    return str(value)
