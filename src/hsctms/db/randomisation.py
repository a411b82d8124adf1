"""Randomisation storage: eligibility registrations and the append-only allocation log.

Only tables and row-level functions live here (the database layer does not know the
allocation algorithms); :mod:`hsctms.services.randomisation` joins them with
:mod:`hsctms.design.randomisation`.

* ``eligibility_registrations``: one row per (trial, patient), written once;
* ``allocations``: append-only (database triggers reject UPDATE, DELETE and TRUNCATE, as for
  ``audit_log``), hash-chained per trial; ``(trial, sequence)`` and ``(trial, patient_id)``
  are unique, so two concurrent allocations cannot both be stored. The statistician's secret
  seed is never stored, only its fingerprint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hsctms.db.audit import write_audit

#: Tables of randomisation (kept apart from the registry metadata of :mod:`hsctms.db.tables`).
randomisation_metadata = sa.MetaData()
eligibility_registrations = sa.Table(
    "eligibility_registrations",
    randomisation_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("trial", sa.String(64), nullable=False),
    sa.Column("patient_id", sa.String(64), nullable=False),
    sa.Column("eligible", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("confirmed_by", sa.String(128), nullable=False),
    sa.Column("factors", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(),
              nullable=False),
    sa.UniqueConstraint("trial", "patient_id", name="uq_eligibility_trial_patient"),
)

allocations = sa.Table(
    "allocations",
    randomisation_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("trial", sa.String(64), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("patient_id", sa.String(64), nullable=False),
    sa.Column("arm", sa.String(64), nullable=False),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("factors", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("eligibility_confirmed_by", sa.String(128), nullable=False),
    sa.Column("seed_fingerprint", sa.String(64), nullable=False),
    sa.Column("timestamp", sa.String(40), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("trial", "sequence", name="uq_allocations_trial_sequence"),
    sa.UniqueConstraint("trial", "patient_id", name="uq_allocations_trial_patient"),
)


#: Columns of an allocation row other than the bookkeeping ``id`` and ``trial``.
ALLOCATION_FIELDS: tuple[str, ...] = (
    "sequence", "patient_id", "arm", "method", "factors", "details",
    "eligibility_confirmed_by", "seed_fingerprint", "timestamp", "prev_hash", "hash",
)


def load_allocations(conn: Connection, trial: str) -> list[dict[str, Any]]:
    """The trial's allocation rows in sequence order (``factors``/``details`` decoded)."""
    rows = conn.execute(
        sa.select(allocations).where(allocations.c.trial == trial)
        .order_by(allocations.c.sequence)
    ).mappings().all()
    out = []
    for r in rows:
        row = {k: r[k] for k in ALLOCATION_FIELDS}
        row["factors"] = json.loads(row["factors"])
        row["details"] = json.loads(row["details"])
        out.append(row)
    return out


def insert_allocation(conn: Connection, trial: str, row: Mapping[str, Any]) -> None:
    """Insert one allocation row and its audit entry inside the caller's transaction."""
    values = {k: row[k] for k in ALLOCATION_FIELDS}
    values["factors"] = json.dumps(dict(values["factors"]), sort_keys=True)
    values["details"] = json.dumps(dict(values["details"]), sort_keys=True, default=str)
    conn.execute(sa.insert(allocations).values(trial=trial, **values))
    write_audit(conn, user=str(row["eligibility_confirmed_by"]), action="randomise",
                table_name="allocations", key={"trial": trial, "patient_id": row["patient_id"]},
                new={"sequence": row["sequence"], "arm": row["arm"], "hash": row["hash"]})


def insert_registration(conn: Connection, trial: str, patient_id: str, *, eligible: bool,
                        confirmed_by: str, factors: Mapping[str, str]) -> None:
    """Insert one eligibility registration and its audit entry (caller's transaction)."""
    conn.execute(sa.insert(eligibility_registrations).values(
        trial=trial, patient_id=str(patient_id), eligible=bool(eligible),
        confirmed_by=confirmed_by,
        factors=json.dumps({k: str(v) for k, v in factors.items()}, sort_keys=True)))
    write_audit(conn, user=confirmed_by, action="register_eligibility",
                table_name="eligibility_registrations",
                key={"trial": trial, "patient_id": str(patient_id)},
                new={"eligible": bool(eligible), "factors": dict(factors)})


def registry_has_patient(conn: Connection, patient_id: str) -> bool:
    """Whether ``patient_id`` is a patient of the registry (its ``patients`` table)."""
    from hsctms.db.tables import TABLES

    patients = TABLES["patients"]
    found = conn.execute(sa.select(patients.c.patient_id)
                         .where(patients.c.patient_id == str(patient_id)).limit(1)).first()
    return found is not None


def get_registration(conn: Connection, trial: str, patient_id: str) -> dict[str, Any] | None:
    """The patient's registration for ``trial`` (factors decoded), or None."""
    reg = conn.execute(
        sa.select(eligibility_registrations).where(
            (eligibility_registrations.c.trial == trial)
            & (eligibility_registrations.c.patient_id == str(patient_id)))
    ).mappings().first()
    if reg is None:
        return None
    out = dict(reg)
    out["factors"] = json.loads(out["factors"])
    return out
