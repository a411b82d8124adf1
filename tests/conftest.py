"""Shared fixtures: temporary databases, optional PostgreSQL, the oracle environments."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]

# -- Hypothesis profiles -------------------------------------------------------------------------
# ``ci``   what scripts/test runs: no example database, no deadline; scripts/test also passes a
#          fixed ``--hypothesis-seed`` (HSCTMS_HYPOTHESIS_SEED, default 20261202), so CI is
#          deterministic without pinning any single test.
# ``fuzz`` what ``scripts/test --fuzz MINUTES`` runs: random seeds round after round, failures
#          kept in the local example database (.hypothesis/) and reported with their seed; each
#          failure found is then added to its test as an ``@example``.
# ``dev``  the default for a plain ``pytest`` run: random seeds, local example database.
# A test's own ``@settings(max_examples=...)`` sets how many examples one round checks.
settings.register_profile("ci", database=None, deadline=None, print_blob=True)
settings.register_profile("fuzz", deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HSCTMS_HYPOTHESIS_PROFILE", "dev"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every Hypothesis test ``property`` (``-m property`` selects them for fuzzing)."""
    for item in items:
        func = getattr(item, "function", None)
        if getattr(func, "is_hypothesis_test", False):
            item.add_marker(pytest.mark.property)


@pytest.fixture
def postgres_url() -> str:
    """URL of the test PostgreSQL server (``scripts/pg-start``); skips when not configured.

    In CI ``scripts/test`` always starts one, so these tests always run there.
    """
    url = os.environ.get("HSCTMS_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("HSCTMS_TEST_POSTGRES_URL is not set in CI; scripts/test must start it")
        pytest.skip("no PostgreSQL: run scripts/test, or set HSCTMS_TEST_POSTGRES_URL")
    return url


@pytest.fixture(scope="session")
def rscript() -> str | None:
    """Path of Rscript, or None (reference tests then use committed golden values).

    In CI (``CI`` set; ``scripts/test`` installs R) a missing Rscript fails instead.
    """
    path = shutil.which("Rscript")
    if path is None and os.environ.get("CI"):
        pytest.fail("Rscript missing in CI; scripts/setup --test installs R")
    return path


@pytest.fixture(scope="session")
def oracle_python() -> str:
    """Python of the pymsprog oracle environment; skips outside CI when absent."""
    path = os.environ.get("HSCTMS_ORACLE_PYTHON", str(REPO / ".venv-oracle" / "bin" / "python"))
    if not Path(path).exists():
        if os.environ.get("CI"):
            pytest.fail(f"pymsprog oracle environment missing at {path}")
        pytest.skip("pymsprog oracle environment missing: run scripts/setup --test")
    return path


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a headless-capable Chromium; skips outside CI when absent."""
    path = os.environ.get("HSCTMS_CHROMIUM") or shutil.which("chromium") or ""
    if not path or not Path(path).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium missing in CI; scripts/setup --test installs it")
        pytest.skip("Chromium missing: run scripts/setup --test")
    return path


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[sa.Engine]:
    """Engine bound to a fresh PostgreSQL schema (tests run in parallel); dropped afterwards."""
    from hsctms.db import connect

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine = connect(postgres_url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def three_patient_cohort() -> Any:
    """Three patients in two centres (A: P1, P2; B: P3) with visits, labs, a relapse, an MRI
    and a death: the hand-checked monitoring, alert and de-identification examples."""
    import pandas as pd

    from hsctms.model.cohort import Cohort


    d = pd.Timestamp
    return Cohort.from_frames(
        patients=pd.DataFrame({"patient_id": ["P1", "P2", "P3"], "centre": ["A", "A", "B"],
                               "sex": ["F", "M", "F"], "birth_year": [1980, 1975, 1990],
                               "phenotype": ["RRMS", "SPMS", "RRMS"]}),
        transplants=pd.DataFrame({"patient_id": ["P1", "P2", "P3"],
                                  "transplant_date": [d("2020-01-01"), d("2020-01-01"),
                                                      d("2021-01-01")],
                                  "conditioning": ["BEAM+ATG"] * 3}),
        edss=pd.DataFrame({"patient_id": ["P1", "P1", "P2", "P3"],
                           "date": [d("2019-12-01"), d("2021-01-01"), d("2019-12-15"),
                                    d("2021-12-31")],
                           "edss": [3.0, 3.0, 5.0, 2.0]}),
        labs=pd.DataFrame({"patient_id": ["P1", "P1", "P2", "P3"],
                           "date": [d("2020-10-01"), d("2020-12-30"), d("2021-01-05"),
                                    d("2022-01-01")],
                           "test": ["lymphocytes"] * 4, "value": [0.7, 0.9, 1.4, 800.0],
                           "unit": ["10^9/L", "10^9/L", "10^9/L", "cells/uL"]}),
        relapses=pd.DataFrame({"patient_id": ["P2", "P3"],
                               "onset_date": [d("2019-06-01"), d("2021-06-01")]}),
        mri=pd.DataFrame({"patient_id": ["P1"], "date": [d("2020-07-01")], "new_t2": [1],
                          "gd_lesions": [0]}),
        deaths=pd.DataFrame({"patient_id": ["P2"], "date": [d("2021-07-01")],
                             "cause": ["x"], "transplant_related": [False]}),
    )
