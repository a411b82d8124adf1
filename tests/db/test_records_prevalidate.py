"""Saves validate before taking the write lock, and again under it when the patient's rows
changed in between (so concurrent savers do not queue behind each other's validation, and a
race cannot let an invalid row through)."""

from __future__ import annotations

from typing import Any

import pytest

from hsctms.db import connect, upgrade
from hsctms.db import records as R
from hsctms.errors import DataValidationError


def _seed(db: Any) -> None:
    upgrade(db)
    R.create_record(db, "seed", "patients", {"patient_id": "P1", "centre": "A", "sex": "F",
                                             "birth_year": "1980", "phenotype": "RRMS"})
    R.create_record(db, "seed", "transplants", {"patient_id": "P1",
                                                "transplant_date": "2020-01-15",
                                                "conditioning": "BEAM+ATG"})


def _count_validations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = R._validate

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(R, "_validate", counted)
    return calls


def test_unchanged_patient_is_validated_once_outside_the_lock(
        db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(db)
    calls = _count_validations(monkeypatch)
    row = R.create_record(db, "u", "edss", {"patient_id": "P1", "date": "2021-01-10",
                                            "edss": "3.0"})
    assert len(calls) == 1
    R.update_record(db, "u", "edss", row["id"], {"edss": "3.5"}, row["version"])
    assert len(calls) == 2


def test_a_save_in_between_is_caught_under_the_lock(db: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Another user records the death before the visit date after our validation passed:
    the visit is refused (event-after-death), not stored."""
    _seed(db)
    calls = _count_validations(monkeypatch)
    real = R._prevalidated

    done: list[bool] = []

    def then_someone_saves(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        if not done:
            done.append(True)
            R.create_record(db, "other", "deaths", {"patient_id": "P1", "date": "2021-01-01",
                                                    "cause": "x", "transplant_related": "no"})
        return out

    monkeypatch.setattr(R, "_prevalidated", then_someone_saves)
    with pytest.raises(DataValidationError) as exc:
        R.create_record(db, "u", "edss", {"patient_id": "P1", "date": "2021-06-01",
                                          "edss": "3.0"})
    assert "event-after-death" in {i.rule for i in exc.value.report.issues}
    monkeypatch.setattr(R, "_prevalidated", real)
    with connect(db).connect() as conn:
        assert R.patient_record(conn, "P1")["edss"] == []
    assert len(calls) == 3  # ours outside, the death's (once), ours again under the lock
