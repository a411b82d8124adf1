"""Shared fixtures for the synthetic-data tests (small cohorts, generated once per session)."""

from __future__ import annotations

import pytest

from hsctms.datasets import generate_cohort
from hsctms.model.cohort import Cohort


@pytest.fixture(scope="session")
def small_cohort() -> Cohort:
    """600 synthetic patients (seed 11)."""
    return generate_cohort(600, seed=11)
