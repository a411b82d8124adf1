"""Concealed randomisation stored in the registry database.

Joins the allocation algorithms of :mod:`hsctms.design.randomisation` (storage-agnostic) with
the append-only tables of :mod:`hsctms.db.randomisation`:

* an allocation is produced only for a patient **registered as eligible** for the trial
  (concealment: nobody can see the next arm beforehand);
* each allocation is checked against the stored hash chain and inserted in one transaction;
  a concurrent second allocation fails on the unique ``(trial, sequence)`` and nothing is
  half-written;
* the statistician keeps the seed and can replay the list
  (:func:`hsctms.design.randomisation.replay`); :func:`verify_trial` detects tampering.

Examples
--------
Not run as a doctest (it writes a trial database file and needs the statistician's secret
seed):

>>> from hsctms.design.randomisation import PermutedBlockRandomiser
>>> store = DatabaseAllocationStore("/tmp/zeus.sqlite", "ZEUS")          # doctest: +SKIP
>>> r = PermutedBlockRandomiser(("aHSCT", "alemtuzumab"), seed=secret, store=store,
...                             strata=("centre",))                       # doctest: +SKIP
>>> register_eligibility("/tmp/zeus.sqlite", "ZEUS", "P1", confirmed_by="dr.a",
...                      factors={"centre": "LON"})                       # doctest: +SKIP
>>> randomise("/tmp/zeus.sqlite", "ZEUS", r, "P1").arm                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from hsctms.db.engine import DatabaseLike, ensure_schema
from hsctms.db.randomisation import (
    ALLOCATION_FIELDS,
    get_registration,
    insert_allocation,
    insert_registration,
    load_allocations,
    registry_has_patient,
)
from hsctms.db.writes import begin_write
from hsctms.design.randomisation import (
    AllocationRecord,
    Randomiser,
    check_next,
    verify_chain,
)
from hsctms.errors import ConfigurationError, DesignError, NotFoundError

if TYPE_CHECKING:
    from hsctms.design.trial_config import TrialConfig


def _record(row: Mapping[str, Any]) -> AllocationRecord:
    return AllocationRecord(**{k: row[k] for k in ALLOCATION_FIELDS})


class DatabaseAllocationStore:
    """The :class:`~hsctms.design.randomisation.AllocationStore` of one trial in the registry
    database. It has no method that changes or deletes a record, and the table's triggers
    refuse such changes from any other client too."""

    def __init__(self, db: DatabaseLike, trial: str) -> None:
        if not trial:
            raise ConfigurationError("A trial name is required.", hint="E.g. trial='ZEUS'.")
        self.engine: Engine = ensure_schema(db)
        self.trial = trial

    def records(self) -> tuple[AllocationRecord, ...]:
        """The trial's allocation log in order (an immutable snapshot)."""
        with self.engine.connect() as conn:
            return tuple(_record(r) for r in load_allocations(conn, self.trial))

    def append(self, record: AllocationRecord) -> None:
        """Check ``record`` against the stored chain and insert it, in one transaction."""
        try:
            with begin_write(self.engine) as conn:
                log = [_record(r) for r in load_allocations(conn, self.trial)]
                check_next(log, record)
                insert_allocation(conn, self.trial,
                                  {k: getattr(record, k) for k in ALLOCATION_FIELDS})
        except IntegrityError as exc:
            raise DesignError(
                f"Allocation {record.sequence} of trial {self.trial!r} clashed with another "
                "allocation written at the same time; nothing was stored.",
                hint="Retry the randomisation.") from exc

    def __len__(self) -> int:
        return len(self.records())


def register_eligibility(db: DatabaseLike, trial: str, patient_id: str, *,
                         confirmed_by: str, factors: Mapping[str, str],
                         eligible: bool = True, config: TrialConfig | None = None) -> None:
    """Record once that ``patient_id`` was assessed for ``trial`` (append-only).

    With ``config`` (the trial file; ``hsctms trial register`` always passes it) the
    registration is checked before anything is stored: the patient must be in the
    registry's ``patients`` table, and the factors must be complete and use the trial's
    levels (:meth:`~hsctms.design.trial_config.TrialConfig.check_factors`).

    Raises
    ------
    DesignError
        The patient is already registered for this trial.
    NotFoundError
        ``config`` is given and the patient is not in the registry.
    ConfigurationError
        ``config`` is given and a factor is missing, unknown or has a level not allowed.
    """
    if not confirmed_by:
        raise ConfigurationError("Eligibility must name who confirmed it.",
                                 hint="Pass confirmed_by='<user name>'.")
    if config is not None:
        factors = config.check_factors(factors, eligible=eligible)
    engine = ensure_schema(db)
    try:
        with begin_write(engine) as conn:
            if config is not None and not registry_has_patient(conn, patient_id):
                raise NotFoundError(
                    f"Patient {patient_id!r} is not in the registry; nothing was registered.",
                    hint="Import or enter the patient first (hsctms import, or the web "
                    "registry), then register with the registry's patient id.")
            insert_registration(conn, trial, patient_id, eligible=eligible,
                                confirmed_by=confirmed_by, factors=factors)
    except IntegrityError as exc:
        raise DesignError(f"Patient {patient_id!r} is already registered for {trial!r}.",
                          hint="Registrations cannot be changed; contact the trial "
                          "statistician if it was wrong.") from exc


def randomise(db: DatabaseLike, trial: str, randomiser: Randomiser, patient_id: str
              ) -> AllocationRecord:
    """Allocate a registered, eligible patient with ``randomiser`` (whose store must be this
    trial's :class:`DatabaseAllocationStore`) and return the stored record.

    Raises
    ------
    NotFoundError
        The patient has not been registered for the trial.
    PermissionDeniedError
        The registration says not eligible (the allocation stays concealed).
    """
    store = randomiser.store
    if not isinstance(store, DatabaseAllocationStore) or store.trial != trial:
        raise ConfigurationError(
            "The randomiser must write to this trial's database store.",
            hint="Build it with store=DatabaseAllocationStore(db, trial).")
    with ensure_schema(db).connect() as conn:
        reg = get_registration(conn, trial, patient_id)
    if reg is None:
        raise NotFoundError(f"Patient {patient_id!r} is not registered for {trial!r}.",
                            hint="Register eligibility first (register_eligibility).")
    return randomiser.allocate(str(patient_id), reg["factors"], eligible=bool(reg["eligible"]),
                               confirmed_by=str(reg["confirmed_by"]))


def verify_trial(db: DatabaseLike, trial: str) -> bool:
    """Whether the trial's stored allocation log has an intact hash chain."""
    return verify_chain(DatabaseAllocationStore(db, trial).records())


def allocation_table(db: DatabaseLike, trial: str) -> Sequence[AllocationRecord]:
    """The stored allocations of ``trial`` (for reports and the statistician's replay)."""
    return DatabaseAllocationStore(db, trial).records()
