"""``derive_frames`` validates its inputs with the bundle rules (issue 20, defects 1, 2, 5).

Every bad value is an error naming rule, table, row and field; nothing is dropped silently.
Identifiers are normalised to text so int, float and string ids of one patient match.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hsctms.endpoints import InputWarning, derive, derive_frames
from hsctms.errors import ConfigurationError, DataValidationError
from hsctms.io import Issue, validate_cohort
from hsctms.model import Cohort

DAYS = [0.0, 90.0, 180.0, 270.0, 360.0]


def visits(values: list[Any], ids: Any = "A", days: list[Any] | None = None) -> pd.DataFrame:
    days = DAYS if days is None else days
    pid = ids if isinstance(ids, list) else [ids] * len(values)
    return pd.DataFrame({"patient_id": pid, "date": days, "edss": values})


def issues_of(exc: pytest.ExceptionInfo[DataValidationError]) -> list[Issue]:
    report = exc.value.report
    assert report is not None and not report.ok
    return list(report.issues)


def only_error(exc: pytest.ExceptionInfo[DataValidationError]) -> Issue:
    errors = [i for i in issues_of(exc) if i.severity == "error"]
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize("bad", [3.25, 0.5, 10.5, -1.0])
def test_off_grid_edss_is_an_error(bad: float) -> None:
    with pytest.raises(DataValidationError) as exc:
        derive_frames(visits([2.0, 2.0, bad, 3.0, 3.0]), definition="msprog_default")
    issue = only_error(exc)
    assert issue.rule in ("edss-off-grid", "value-range", "value-unparseable")
    assert (issue.file, issue.row, issue.field) == ("edss.csv", 4, "edss")
    assert issue.to_line() in exc.value.message  # the Python user sees where, too


def test_text_edss_is_reported_not_dropped() -> None:
    """The issue's example: dropping '3,0' moved the worsening from day 180 to day 270."""
    frame = visits([2.0, 2.0, "3,0", 3.0, 3.0])
    with pytest.raises(DataValidationError) as exc:
        derive_frames(frame, definition="msprog_default")
    issue = only_error(exc)
    assert (issue.rule, issue.file, issue.row, issue.field) == \
        ("value-unparseable", "edss.csv", 4, "edss")
    assert "'.' as decimal mark" in issue.message
    fixed = derive_frames(visits([2.0, 2.0, 3.0, 3.0, 3.0]), definition="msprog_default")
    assert fixed.events["time"].tolist() == [180.0]


@pytest.mark.parametrize("value", [np.nan, None, ""])
def test_missing_edss_is_an_error(value: Any) -> None:
    with pytest.raises(DataValidationError) as exc:
        derive_frames(visits([2.0, 2.0, value, 3.0, 3.0]), definition="msprog_default")
    assert (only_error(exc).rule, only_error(exc).row) == ("value-missing", 4)


def test_missing_day_number_is_an_error() -> None:
    with pytest.raises(DataValidationError) as exc:
        derive_frames(visits([2.0, 2.0, 3.0, 3.0, 3.0], days=[0, 90, np.nan, 270, 360]),
                      definition="msprog_default")
    issue = only_error(exc)
    assert (issue.rule, issue.file, issue.row, issue.field) == \
        ("value-missing", "edss.csv", 4, "date")


def test_infinite_day_number_is_an_error() -> None:
    with pytest.raises(DataValidationError) as exc:
        derive_frames(visits([2.0, 2.0, 3.0, 3.0, 3.0], days=[0, 90, np.inf, 270, 360]),
                      definition="msprog_default")
    assert (only_error(exc).rule, only_error(exc).field) == ("value-unparseable", "date")


@pytest.mark.parametrize("bad", [pd.NaT, "2020-13-01", "01/02/2020"])
def test_missing_or_bad_calendar_date_is_an_error(bad: Any) -> None:
    days = [pd.Timestamp("2018-01-01"), pd.Timestamp("2018-04-01"), bad,
            pd.Timestamp("2018-10-01"), pd.Timestamp("2019-01-01")]
    with pytest.raises(DataValidationError) as exc:
        derive_frames(visits([2.0, 2.0, 3.0, 3.0, 3.0], days=days),
                      definition="msprog_default")
    issue = only_error(exc)
    assert issue.rule in ("value-missing", "value-unparseable")
    assert (issue.row, issue.field) == (4, "date")


@pytest.mark.parametrize("missing", [None, np.nan, ""])
def test_missing_id_is_an_error(missing: Any) -> None:
    with pytest.raises(DataValidationError) as exc:
        derive_frames(visits([2.0, 2.0, 3.0, 3.0, 3.0], ids=["A", "A", missing, "A", "A"]),
                      definition="msprog_default")
    issue = only_error(exc)
    assert (issue.rule, issue.row, issue.field) == ("value-missing", 4, "patient_id")


def test_missing_relapse_id_and_date_are_errors() -> None:
    rel = pd.DataFrame({"patient_id": ["A", None, "A"], "onset_date": [10.0, 20.0, np.nan]})
    with pytest.raises(DataValidationError) as exc:
        derive_frames(visits([2.0, 2.0, 3.0, 3.0, 3.0]), rel, definition="msprog_default")
    found = {(i.rule, i.file, i.row, i.field) for i in issues_of(exc)}
    assert found == {("value-missing", "relapses.csv", 3, "patient_id"),
                     ("value-missing", "relapses.csv", 4, "onset_date")}


def test_relapse_date_column_alias_is_named_in_the_report() -> None:
    rel = pd.DataFrame({"patient_id": ["A"], "date": ["x"]})
    with pytest.raises(ConfigurationError):  # text among day numbers: refused as before
        derive_frames(visits([2.0, 2.0, 3.0, 3.0, 3.0]), rel, definition="msprog_default")
    rel = pd.DataFrame({"patient_id": ["A"], "date": [np.inf]})
    with pytest.raises(DataValidationError) as exc:
        derive_frames(visits([2.0, 2.0, 3.0, 3.0, 3.0]), rel, definition="msprog_default")
    assert (only_error(exc).file, only_error(exc).field) == ("relapses.csv", "date")


def _relapse_case(visit_ids: Any, relapse_ids: Any) -> pd.DataFrame:
    edss = visits([2.0, 2.0, 3.0, 3.0, 3.0], ids=visit_ids)
    rel = pd.DataFrame({"patient_id": relapse_ids, "onset_date": [170.0]})
    return derive_frames(edss, rel, definition="msprog_default").events


@pytest.mark.parametrize(("visit_id", "relapse_id"), [
    (1, 1.0), ("1", 1.0), (np.int64(1), np.float64(1.0)), (1.0, 1)])
def test_int_and_float_ids_are_the_same_patient(visit_id: Any, relapse_id: Any) -> None:
    """A relapse 10 days before the worsening makes it relapse-associated (RAW), not PIRA."""
    ev = _relapse_case([visit_id] * 5, [relapse_id])
    assert ev["patient_id"].tolist() == ["1"]
    assert ev["class"].tolist() == ["RAW"]
    assert _relapse_case(["1"] * 5, ["1"])["class"].tolist() == ["RAW"]


def test_float_relapse_ids_from_a_column_with_blanks() -> None:
    """pandas stores an integer column with blanks as float: the blank row is an error, and
    once removed the float ids match the int visit ids."""
    rel = pd.DataFrame({"patient_id": [1, None], "onset_date": [170.0, 200.0]})
    assert rel["patient_id"].dtype == np.float64
    edss = visits([2.0, 2.0, 3.0, 3.0, 3.0], ids=[1] * 5)
    with pytest.raises(DataValidationError) as exc:
        derive_frames(edss, rel, definition="msprog_default")
    assert (only_error(exc).rule, only_error(exc).row) == ("value-missing", 3)
    ev = derive_frames(edss, rel.iloc[:1], definition="msprog_default").events
    assert ev["class"].tolist() == ["RAW"]


@pytest.mark.parametrize("bad", [1.5, np.inf])
def test_fractional_id_is_an_error(bad: float) -> None:
    rel = pd.DataFrame({"patient_id": [bad], "onset_date": [170.0]})
    with pytest.raises(DataValidationError) as exc:
        derive_frames(visits([2.0, 2.0, 3.0, 3.0, 3.0], ids=[1] * 5), rel,
                      definition="msprog_default")
    issue = only_error(exc)
    assert (issue.rule, issue.file, issue.row, issue.field) == \
        ("value-invalid-id", "relapses.csv", 2, "patient_id")


def test_origin_ids_are_normalised_and_duplicates_refused() -> None:
    edss = visits([2.0, 2.0, 3.0, 3.0, 3.0], ids=[7] * 5)
    res = derive_frames(edss, origin={7.0: 0.0}, definition="halt_ms")
    assert res.to_frame()["patient_id"].tolist() == ["7"]
    origin = pd.DataFrame({"patient_id": [7, 7.0], "origin_date": [0.0, 10.0]})
    with pytest.raises(DataValidationError) as exc:
        derive_frames(edss, origin=origin, definition="halt_ms")
    assert (only_error(exc).rule, only_error(exc).file) == ("key-duplicate", "origin.csv")
    blank = derive_frames(edss, origin={7: np.nan}, definition="halt_ms")  # no origin: excluded
    assert blank.n == 0 and blank.excluded["patient_id"].tolist() == ["7"]


def test_visit_of_a_patient_outside_patients_is_an_error() -> None:
    edss = visits([2.0, 2.0, 3.0, 3.0, 3.0], ids=["A", "A", "B", "A", "A"])
    with pytest.raises(DataValidationError) as exc:
        derive_frames(edss, patients=["A"], definition="msprog_default")
    assert (only_error(exc).rule, only_error(exc).row) == ("patient-unknown", 4)


def _calendar(dates: list[str]) -> pd.DataFrame:
    return visits([2.0, 2.0, 3.0, 3.0, 3.0], days=[pd.Timestamp(d) for d in dates])


DATES = ["2015-01-01", "2015-04-01", "2015-07-01", "2015-10-01", "2016-01-01"]


def test_visit_and_relapse_before_onset_warn() -> None:
    """With msprog_default the pre-onset visit would silently be the baseline and origin."""
    patients = pd.DataFrame({"patient_id": ["A"], "onset_date": [pd.Timestamp("2015-02-01")],
                             "diagnosis_date": [pd.Timestamp("2015-03-01")]})
    rel = pd.DataFrame({"patient_id": ["A"], "onset_date": [pd.Timestamp("2014-12-01")]})
    with pytest.warns(InputWarning) as rec:
        derive_frames(_calendar(DATES), rel, patients=patients, definition="msprog_default")
    report = rec[0].message.report  # type: ignore[union-attr]
    found = {(i.rule, i.severity, i.file, i.row, i.field) for i in report.issues}
    assert ("date-before-onset", "warning", "edss.csv", 2, "date") in found
    assert ("date-before-onset", "warning", "relapses.csv", 2, "onset_date") in found
    assert ("date-before-diagnosis", "info", "edss.csv", 2, "date") in found
    assert "edss.csv:2: warning date-before-onset date: " in str(rec[0].message)


def test_no_warning_when_visits_follow_onset() -> None:
    patients = pd.DataFrame({"patient_id": ["A"], "onset_date": [pd.Timestamp("2014-01-01")]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = derive_frames(_calendar(DATES), patients=patients, definition="msprog_default")
    assert res.events["date"].tolist() == [pd.Timestamp("2015-07-01")]


def _cohort(edss: pd.DataFrame, onset: str) -> Cohort:
    patients = pd.DataFrame({"patient_id": ["A"], "centre": ["C1"], "sex": ["F"],
                             "birth_year": [1980], "onset_date": [pd.Timestamp(onset)],
                             "diagnosis_date": [pd.Timestamp(onset)], "phenotype": ["RRMS"]})
    return Cohort.from_frames(patients=patients, edss=edss)


def test_derive_on_a_cohort_uses_the_patients_dates() -> None:
    cohort = _cohort(_calendar(DATES), "2015-05-01")
    with pytest.warns(InputWarning, match="date-before-onset"):
        derive(cohort, "msprog_default")
    rules = validate_cohort(cohort, today=None).by_rule()  # the bundle rules agree
    assert rules.get("date-before-onset") == 2 and rules.get("date-before-diagnosis") == 2


@pytest.mark.parametrize("ids", [[], "header-only"])
def test_empty_edss_is_an_error(ids: Any) -> None:
    edss = pd.DataFrame({"patient_id": pd.Series([], dtype=object),
                         "date": pd.Series([], dtype=float), "edss": pd.Series([], dtype=float)})
    with pytest.raises(DataValidationError) as exc:
        derive_frames(edss, patients=["A", "B"] if ids == [] else None,
                      definition="msprog_default")
    assert (only_error(exc).rule, only_error(exc).file) == ("edss-empty", "edss.csv")


def test_empty_edss_of_a_cohort_is_an_error() -> None:
    cohort = _cohort(pd.DataFrame({"patient_id": [], "date": [], "edss": []}), "2010-01-01")
    with pytest.raises(DataValidationError) as exc:
        derive(cohort, "halt_ms")
    assert only_error(exc).rule == "edss-empty"


def test_dask_partitions_are_validated() -> None:
    dd = pytest.importorskip("dask.dataframe")
    from hsctms.endpoints import Partitioning, derive_dask

    frame = pd.concat([visits([2.0, 2.0, 3.0, 3.0, 3.0], ids="A"),
                       visits([2.0, 2.0, 3.25, 3.0, 3.0], ids="B")], ignore_index=True)
    lazy = derive_dask(dd.from_pandas(frame, npartitions=2), definition="msprog_default",
                       partitioning=Partitioning(by_patient=True))
    with pytest.raises(DataValidationError) as exc:
        lazy.compute()
    assert only_error(exc).rule == "edss-off-grid"
