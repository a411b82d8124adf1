"""Helpers for the endpoint tests: tiny hand-made cohorts in day numbers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import pytest

from hsctms.endpoints import EndpointResult, derive_frames


def make(visits: Iterable[tuple[float, float]], pid: str = "A") -> pd.DataFrame:
    """Visits ``[(day, edss), ...]`` of one patient."""
    rows = list(visits)
    return pd.DataFrame({"patient_id": [pid] * len(rows),
                         "date": [float(d) for d, _ in rows],
                         "edss": [float(e) for _, e in rows]})


def rel(days: Iterable[float], pid: str = "A") -> pd.DataFrame:
    """Relapse onsets of one patient."""
    days = list(days)
    return pd.DataFrame({"patient_id": [pid] * len(days),
                         "onset_date": [float(d) for d in days]})


def run(visits: Iterable[tuple[float, float]], definition: Any = "msprog_default", *,
        relapses: Iterable[float] = (), origin: float | None = None,
        mri: pd.DataFrame | None = None, death: float | None = None,
        **overrides: Any) -> EndpointResult:
    """Derive endpoints for one patient ``A``."""
    from hsctms.endpoints import get_definition

    d = get_definition(definition)
    if overrides:
        d = d.with_(**overrides)
    deaths = None
    if death is not None:
        deaths = pd.DataFrame({"patient_id": ["A"], "date": [float(death)]})
    org = {"A": float(origin)} if origin is not None else None
    return derive_frames(make(visits), rel(relapses), mri=mri, origin=org, deaths=deaths,
                         definition=d)


@pytest.fixture
def one() -> Any:
    """The :func:`run` helper as a fixture."""
    return run
