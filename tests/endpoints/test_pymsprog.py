"""Agreement with pymsprog 1.0.7 (run in its own virtual environment as a subprocess).

For every setting the two engines share, random cohorts (irregular visits, EDSS random walk,
frequent relapses including some shortly before the first visit) must give the same events:
same patients, onset dates and values, baselines, confirmation dates, RAW/PIRA/undetermined
classes, PIRA confirmation dates, times from the first visit, sustained days.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hsctms.endpoints import get_definition
from hsctms.endpoints.synthetic import random_visits

from ._oracle import compare, mismatches, run_oracle

pytestmark = [pytest.mark.pymsprog, pytest.mark.slow]

INF = math.inf

#: (pymsprog event, overrides of msprog_default, day numbers instead of dates)
CONFIGS: list[tuple[str, dict[str, Any], bool]] = [
    ("firstCDW", {}, False),
    ("firstCDI", {}, True),
    ("multiple", {"baseline": "roving", "events": "all"}, False),
    ("multiple", {"baseline": "roving", "events": "all", "proceed_from": "event"}, True),
    ("firstCDW", {"check_intermediate": False, "conf_days": 168}, False),
    ("firstCDW", {"require_sust_days": 168}, False),
    ("multiple", {"baseline": "roving", "events": "all", "require_sust_days": INF,
                  "conf_tol_days": (0, INF)}, False),
    ("firstCDW", {"delta_cut": 5.5, "prec_type": "last", "relapse_to_event": (30, 10),
                  "relapse_to_conf": (30, 30), "relapse_to_bl": (30, 15)}, False),
    ("firstCDW", {"impute_last_visit": 1}, False),
    ("firstCDW", {"impute_last_visit": 500}, True),
    ("firstCDI", {"baseline": "roving_wors"}, False),
    ("firstCDW", {"baseline": "roving_impr"}, False),
    ("multiple", {"baseline": "roving_wors", "events": "all", "pira_prec": (0, None),
                  "pira_event": (None, None), "pira_conf": (None, 0)}, False),
    ("firstCDW", {"check_intermediate": False, "require_sust_days": 100,
                  "relapse_assoc": (60, 20)}, True),
    ("multiple", {"baseline": "roving", "events": "all", "improvement_delta": None,
                  "conf_days": 336, "conf_tol_days": (30, 90)}, False),
    ("firstCDW", {"prec_type": "last_delta", "pira_prec": (90, 30), "pira_event": (0, 0)},
     False),
    ("multiple", {"prec_type": "last_delta", "pira_prec": (0, None),
                  "pira_event": (None, None), "pira_conf": (None, 0), "baseline": "roving",
                  "events": "all", "check_intermediate": False}, True),
    ("multiple", {"baseline": "roving", "events": "all", "sub_threshold_rebl": "event"},
     False),
    ("firstCDW", {"baseline": "roving_impr", "sub_threshold_rebl": "improvement",
                  "proceed_from": "event"}, True),
    ("multiple", {"baseline": "roving_wors", "events": "all", "sub_threshold_rebl": "event",
                  "check_intermediate": False}, False),
    ("multiple", {"baseline": "roving", "events": "all", "skip_local_extrema": "strict"},
     False),
    ("multiple", {"baseline": "roving", "events": "all", "skip_local_extrema": "all",
                  "sub_threshold_rebl": "event", "prec_type": "last_delta"}, True),
    ("firstCDW", {"skip_local_extrema": "all", "relapse_to_bl": (30, 30)}, False),
    ("multiple", {"baseline": "roving", "events": "all", "relapse_rebl": True}, False),
    ("firstCDW", {"relapse_rebl": True}, False),
    ("firstCDI", {"relapse_rebl": True, "baseline": "roving_wors"}, True),
    ("multiple", {"baseline": "roving_wors", "events": "all", "relapse_rebl": True,
                  "sub_threshold_rebl": "event", "relapse_assoc": (30, 0)}, True),
    ("firstCDW", {"relapse_rebl": True, "bl_geq": True}, False),
    ("multiple", {"baseline": "roving", "events": "all", "relapse_rebl": True,
                  "bl_geq": True, "prec_type": "last_delta"}, False),
]


@pytest.mark.parametrize(("i", "event", "over", "days"),
                         [(i, *c) for i, c in enumerate(CONFIGS)])
def test_same_events_as_pymsprog(oracle_python: str, tmp_path: Path, i: int, event: str,
                                 over: dict[str, Any], days: bool) -> None:
    v, r = random_visits(250, (1, 15), seed=100 + i, calendar=not days, spacing=(20, 200),
                         relapse_rate=1.0)
    d = get_definition("msprog_default").with_(**over)
    ours, theirs = compare(oracle_python, v, r, d, event, tmp_path)
    assert len(theirs) > 20  # the comparison has substance
    diff = mismatches(ours, theirs)
    assert diff.empty, diff.head(10).to_string()
    if event in ("firstCDW", "multiple"):  # classes are really exercised
        assert {"PIRA", "RAW"} <= set(theirs["class"].dropna())


def test_same_events_as_pymsprog_long_histories(oracle_python: str, tmp_path: Path) -> None:
    """Longer, denser histories (2-40 visits, 14-120 days apart) under a roving baseline."""
    v, r = random_visits(400, (2, 40), seed=77, spacing=(14, 120), relapse_rate=1.5)
    d = get_definition("msprog_default").with_(baseline="roving", events="all",
                                               conf_days=168)
    ours, theirs = compare(oracle_python, v, r, d, "multiple", tmp_path)
    assert len(theirs) > 300
    diff = mismatches(ours, theirs)
    assert diff.empty, diff.head(10).to_string()


def test_pymsprog_double_counts_a_plateau_with_fixed_baseline(oracle_python: str,
                                                              tmp_path: Path) -> None:
    """peers-msprog.md §8.1: EDSS 2,2,3,3,3,3,3 every 90 days, event='multiple', fixed baseline
    -> pymsprog reports two worsening events (days 180 and 360) for one step. We refuse that
    combination (DefinitionError, test_scenarios) and with a roving baseline report one."""
    v = pd.DataFrame({"patient_id": ["A"] * 7, "date": [90.0 * k for k in range(7)],
                      "edss": [2, 2, 3, 3, 3, 3, 3.0]})
    r = pd.DataFrame({"patient_id": pd.Series([], dtype=str),
                      "onset_date": pd.Series([], dtype=float)})
    kw = {"event": "multiple", "baseline": "fixed", "RAW_PIRA": True, "date_format": "day",
          "include_dates": True}
    res, status = run_oracle(oracle_python, v, r, kw, tmp_path / "fixed")
    assert status["pymsprog"] == "1.0.7"
    assert list(res["date"]) == [180.0, 360.0]
    d = get_definition("msprog_default").with_(baseline="roving", events="all")
    ours, theirs = compare(oracle_python, v, r, d, "multiple", tmp_path / "roving")
    assert list(ours["date"]) == [180.0] and mismatches(ours, theirs).empty


@pytest.mark.parametrize(("i", "event", "over"), [
    (0, "firstPIRA", {}),
    (1, "firstRAW", {}),
    (2, "firstPIRA", {"baseline": "roving"}),
    (3, "firstRAW", {"baseline": "roving_impr", "relapse_rebl": True}),
    (4, "firstPIRA", {"relapse_rebl": True, "prec_type": "last"}),
])
def test_pira_raw_endpoints_as_pymsprog_first_pira_raw(oracle_python: str, tmp_path: Path,
                                                       i: int, event: str,
                                                       over: dict[str, Any]) -> None:
    """The optional ``pira``/``raw`` endpoints equal pymsprog's event='firstPIRA'/'firstRAW'
    (same patients, same time from the first visit)."""
    from hsctms.endpoints import derive_frames

    from ._oracle import msprog_kwargs

    v, r = random_visits(250, (1, 15), seed=300 + i, spacing=(20, 200), relapse_rate=1.0)
    d = get_definition("msprog_default").with_(pira_raw_endpoints=True, **over)
    res, _ = run_oracle(oracle_python, v, r, msprog_kwargs(d, event), tmp_path)
    name = "pira" if event == "firstPIRA" else "raw"
    theirs = {(str(p), float(t)) for p, t, k in
              zip(res["id"], res["time2event"], res["nevent"], strict=True) if k > 0}
    f = derive_frames(v, r, definition=d).to_frame()
    ours = {(str(p), float(t)) for p, t, e in
            zip(f["patient_id"], f[f"{name}_time"], f[f"{name}_event"], strict=True) if e}
    assert len(theirs) > 20
    assert ours == theirs, sorted(ours ^ theirs)[:10]
