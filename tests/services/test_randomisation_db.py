"""Concealed randomisation stored in the registry database (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from hsctms.db import connect
from hsctms.db.randomisation import allocations
from hsctms.design.randomisation import (
    MinimisationRandomiser,
    PermutedBlockRandomiser,
    imbalance_history,
    replay,
)
from hsctms.errors import DesignError, NotFoundError, PermissionDeniedError
from hsctms.services.randomisation import (
    DatabaseAllocationStore,
    allocation_table,
    randomise,
    register_eligibility,
    verify_trial,
)

ARMS = ("aHSCT", "alemtuzumab")
SEED = "statistician-secret-7f3a"


def _blocks(store: Any, seed: str = SEED) -> PermutedBlockRandomiser:
    return PermutedBlockRandomiser(ARMS, seed, store=store, strata=("centre", "edss_band"),
                                   block_multiples=(1, 2, 3))


def _factors(n: int, seed: int = 1) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    return [{"centre": str(rng.choice(["LON", "UPP", "MIL", "CHI"])),
             "edss_band": str(rng.choice(["0-3.5", "4.0-6.0"]))} for _ in range(n)]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "trial.sqlite")


def test_500_patients_keep_stratum_balance_and_replay(db: str) -> None:
    store = DatabaseAllocationStore(db, "ZEUS")
    rnd = _blocks(store)
    for i, f in enumerate(_factors(500)):
        register_eligibility(db, "ZEUS", f"P{i:04d}", confirmed_by="dr.lead", factors=f)
        randomise(db, "ZEUS", rnd, f"P{i:04d}")
    recs = allocation_table(db, "ZEUS")
    assert len(recs) == 500 and verify_trial(db, "ZEUS")
    bound = rnd.max_block // 2
    assert bound == 3  # two arms, largest block 2 x 3 = 6: at most 3 ahead within a stratum
    for path in imbalance_history(recs, ARMS, key=lambda r: r.details["stratum"]).values():
        assert max(abs(x) for x in path) <= bound
    # the statistician, holding the seed, reproduces every stored allocation
    assert replay(lambda s: _blocks(s), recs)
    assert not replay(lambda s: _blocks(s, seed="wrong-seed"), recs)
    # a separate trial in the same database has its own log
    assert allocation_table(db, "OTHER") == ()


def test_minimisation_in_database(db: str) -> None:
    store = DatabaseAllocationStore(db, "MIN")
    rnd = MinimisationRandomiser(ARMS, SEED, store=store, factors=("centre", "edss_band"),
                                 p_best=0.8, max_imbalance=4)
    for i, f in enumerate(_factors(120, seed=5)):
        register_eligibility(db, "MIN", f"M{i}", confirmed_by="dr.lead", factors=f)
        randomise(db, "MIN", rnd, f"M{i}")
    overall = imbalance_history(allocation_table(db, "MIN"), ARMS, key=lambda r: "all")["all"]
    assert max(abs(x) for x in overall) <= 4


def test_concealment_until_registered_eligible(db: str) -> None:
    rnd = _blocks(DatabaseAllocationStore(db, "ZEUS"))
    with pytest.raises(NotFoundError, match="not registered"):
        randomise(db, "ZEUS", rnd, "P1")
    register_eligibility(db, "ZEUS", "P1", confirmed_by="dr.a", factors=_factors(1)[0],
                         eligible=False)
    with pytest.raises(PermissionDeniedError, match="concealed"):
        randomise(db, "ZEUS", rnd, "P1")
    assert allocation_table(db, "ZEUS") == ()
    with pytest.raises(DesignError, match="already registered"):
        register_eligibility(db, "ZEUS", "P1", confirmed_by="dr.a", factors=_factors(1)[0])
    register_eligibility(db, "ZEUS", "P2", confirmed_by="dr.a", factors=_factors(1)[0])
    randomise(db, "ZEUS", rnd, "P2")
    with pytest.raises(DesignError, match="already randomised"):
        randomise(db, "ZEUS", rnd, "P2")


def test_log_cannot_be_altered_and_tampering_is_detected(db: str) -> None:
    rnd = _blocks(DatabaseAllocationStore(db, "ZEUS"))
    for i, f in enumerate(_factors(6)):
        register_eligibility(db, "ZEUS", f"P{i}", confirmed_by="dr.a", factors=f)
        randomise(db, "ZEUS", rnd, f"P{i}")
    engine = connect(db)
    for stmt in (sa.update(allocations).values(arm="alemtuzumab"), sa.delete(allocations)):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as c:
            c.execute(stmt)
    assert len(allocation_table(db, "ZEUS")) == 6
    # someone with file access removes the triggers and edits an arm: the chain shows it
    with engine.begin() as c:
        c.exec_driver_sql("DROP TRIGGER allocations_no_update")
        first = allocation_table(db, "ZEUS")[0]
        other = ARMS[1] if first.arm == ARMS[0] else ARMS[0]
        c.execute(sa.update(allocations).where(allocations.c.sequence == 1)
                  .values(arm=other))
    assert not verify_trial(db, "ZEUS")


def test_concurrent_writer_with_stale_log_is_refused(db: str) -> None:
    store_a = DatabaseAllocationStore(db, "ZEUS")
    store_b = DatabaseAllocationStore(db, "ZEUS")
    a, b = _blocks(store_a), _blocks(store_b)
    f = _factors(2)
    register_eligibility(db, "ZEUS", "A", confirmed_by="x", factors=f[0])
    register_eligibility(db, "ZEUS", "B", confirmed_by="y", factors=f[1])
    rec = randomise(db, "ZEUS", a, "A")
    # b prepared its record against the empty log: sequence 1 again -> refused, nothing stored
    stale = type(rec)(**{**rec.__dict__, "patient_id": "B"})
    with pytest.raises(DesignError):
        store_b.append(stale)
    assert [r.patient_id for r in allocation_table(db, "ZEUS")] == ["A"]
    randomise(db, "ZEUS", b, "B")
    assert verify_trial(db, "ZEUS")


@pytest.mark.postgres
def test_postgres_randomisation_smoke(postgres_url: str) -> None:
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as c:
        c.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        engine = sa.create_engine(postgres_url, connect_args={
            "options": f"-csearch_path={schema}"})
        rnd = _blocks(DatabaseAllocationStore(engine, "ZEUS"))
        for i, f in enumerate(_factors(20)):
            register_eligibility(engine, "ZEUS", f"P{i}", confirmed_by="dr.a", factors=f)
            randomise(engine, "ZEUS", rnd, f"P{i}")
        assert verify_trial(engine, "ZEUS") and len(allocation_table(engine, "ZEUS")) == 20
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as c:
            c.execute(sa.delete(allocations))
        engine.dispose()
    finally:
        with admin.begin() as c:
            c.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
