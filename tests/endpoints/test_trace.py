"""The adjudication trace (:mod:`hsctms.endpoints.trace`): hand-derived traces of small
patients, the trace-equals-derive property on the demo cohort, and ``--trace`` in the CLI.

Patient ``A``, days as plain numbers, definition ``msprog_default`` unless said otherwise:
origin at the first visit, fixed baseline, minimum change +1.5 / +1.0 / +0.5 (reference 0 /
<= 5.0 / above), confirmation 84 days -7/+730.5 (window 77-814.5 days after onset) with the
intermediate check, relapse_to_conf 30 days after a relapse, relapse_assoc 90 days after,
PIRA windows 90 days before / 30 after the onset and the confirmation visit.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from hsctms.cli import app
from hsctms.endpoints import (
    derive,
    derive_frames,
    get_definition,
    trace_patient,
    trace_patients,
)
from hsctms.errors import ConfigurationError, NotFoundError

from .conftest import make, rel


def trace(visits: list[tuple[float, float]], relapses: tuple[float, ...] = (),
          definition: str = "msprog_default", **overrides: Any) -> Any:
    d = get_definition(definition)
    if overrides:
        d = d.with_(**overrides)
    return trace_patient({"edss": make(visits), "relapses": rel(relapses)}, "A", d,
                         include_unconfirmed=True)


def candidate(tr: Any, visit: int) -> dict[str, Any]:
    """The to_frame() row of a candidate visit (exactly one)."""
    f = tr.to_frame()
    rows = f[(f["visit"] == visit) & f["step"].notna()]
    assert len(rows) == 1, f
    return rows.iloc[0].to_dict()


def test_confirmed_worsening() -> None:
    """2.0 (d0), 3.0 (d90), 3.0 (d180). Step 1: reference visit 1 (2.0), threshold +1.0,
    candidate visit 2 (+1.0), window day 167-904.5 holds visit 3, which confirms; no relapse
    -> PIRA confirmed at visit 3. Fixed baseline: step 2 keeps visit 1 and searches from
    visit 4, which does not exist -> end."""
    tr = trace([(0, 2), (90, 3), (180, 3)])
    row = candidate(tr, 2)
    assert row["role"] == "candidate onset (step 1)"
    assert (row["reference_visit"], row["reference_edss"], row["threshold"]) == (1, 2.0, 1.0)
    assert (row["change"], row["direction"]) == (1.0, "worsening")
    assert (row["window_start"], row["window_end"]) == (167.0, 904.5)
    assert (row["window_visits"], row["eligible_confirmation_visits"]) == ("3", "3")
    assert (row["confirmation_visit"], row["decision"]) == (3, "confirmed worsening")
    assert (row["event_class"], row["reported"]) == ("PIRA", True)
    f = tr.to_frame()
    assert f.loc[f["visit"] == 1, "role"].item() == "reference (step 1); reference (step 2)"
    assert f.loc[f["visit"] == 3, "role"].item() == "confirmation (step 1)"
    s1, s2 = tr.steps
    assert (s1.next_reference, s1.resume_from) == (1, None)
    assert (s2.reference, s2.candidate, s2.decision) == (1, None, "end")
    assert s2.reason.startswith("no visit after the reference")
    assert tr.events[["time", "edss", "baseline_edss", "confirmation_edss", "class",
                      "step"]].to_dict("records") == [
        {"time": 90.0, "edss": 3.0, "baseline_edss": 2.0, "confirmation_edss": 3.0,
         "class": "PIRA", "step": 1}]
    assert len(tr.unconfirmed) == 0
    assert "CONFIRMED WORSENING" in tr.summary and "Step 1" in tr.summary


def test_not_confirmed_relapse_near_confirmation() -> None:
    """2.0, 3.0 (d90), 3.0 (d180), relapse on day 170. The only visit of the window (day
    167-904.5) is 10 days after the relapse (< relapse_to_conf 30) -> not confirmed; the next
    candidate, visit 3, is the last visit -> not confirmed. No event."""
    tr = trace([(0, 2), (90, 3), (180, 3)], relapses=(170,))
    row = candidate(tr, 2)
    assert (row["window_visits"], row["eligible_confirmation_visits"]) == ("3", "")
    assert row["decision"] == "not confirmed"
    assert row["reason"].startswith("confirmation too close to a relapse")
    assert "visit 3: 10 days after a relapse" in row["reason"]
    assert tr.visits["confirmation_eligible"].tolist() == [True, True, False]
    unc = tr.unconfirmed
    assert unc["visit"].tolist() == [2, 3]
    assert unc["reason"].iloc[1] == "last visit: no later visit can confirm it " \
                                    "(impute_last_visit is 0)"
    assert unc[["days_since_relapse", "days_to_next_relapse"]].iloc[0].tolist() == [
        math.inf, 80.0]
    assert len(tr.events) == 0
    assert "Unconfirmed changes:" in tr.summary


def test_intermediate_visit_below_threshold_and_empty_window() -> None:
    """2.0, 3.0 (d90), 2.5 (d150), 3.0 (d180), 3.0 (d270): the window of onset day 90 is day
    167-904.5 (visits 4, 5); visit 3 (2.5 < 3.0) lies between the onset and the first
    confirmation visit 4 -> not confirmed. Then visit 4 is confirmed at visit 5.
    Separately, 2.0, 3.0 (d90), 3.0 (d120): no visit in the window day 167-904.5."""
    tr = trace([(0, 2), (90, 3), (150, 2.5), (180, 3), (270, 3)])
    row = candidate(tr, 2)
    assert row["window_visits"] == "4, 5"
    assert row["reason"].startswith("intermediate visit below threshold: visit 3")
    assert "(needs >= 3.0)" in row["reason"]
    f = tr.to_frame()
    assert f.loc[f["visit"] == 3, "role"].item() == "below threshold, rejects step 1"
    assert candidate(tr, 4)["confirmation_visit"] == 5
    tr = trace([(0, 2), (90, 3), (120, 3)])
    assert candidate(tr, 2)["reason"] == \
        "no visit in the confirmation window (day 167 to day 904.5)"


def test_relapse_associated_worsening() -> None:
    """4.0, 5.0 (d90), 5.0 (d180), relapse on day 80: the onset is 10 days after the relapse
    (<= relapse_assoc 90) -> RAW, confirmed at visit 3 (100 days after the relapse, eligible);
    no PIRA check."""
    tr = trace([(0, 4), (90, 5), (180, 5)], relapses=(80,))
    row = candidate(tr, 2)
    assert (row["decision"], row["event_class"]) == ("confirmed worsening", "RAW")
    assert row["relapse_association"].startswith("onset 10 days after a relapse")
    assert pd.isna(row["pira_windows"])
    assert tr.events["class"].tolist() == ["RAW"]


def test_pira_and_undetermined_windows() -> None:
    """2.0, 3.0 (d100), 3.0 (d270). No relapse: PIRA, confirmed at visit 3, windows onset
    day 10-130 and confirmation day 180-300. A relapse on day 210 (120 days after onset: not
    RAW) falls in the confirmation window -> undetermined, no PIRA confirmation."""
    tr = trace([(0, 2), (100, 3), (270, 3)])
    s = tr.steps[0]
    assert (s.event_class, s.pira_confirmation) == ("PIRA", 3)
    assert s.pira_note == ("confirmation visit 3: relapse-free windows day 10 to day 130, "
                           "day 180 to day 300; no relapse")
    tr = trace([(0, 2), (100, 3), (270, 3)], relapses=(210,))
    s = tr.steps[0]
    assert (s.event_class, s.pira_confirmation) == ("undetermined", None)
    assert s.pira_note.endswith("relapse(s) on day 210")
    assert tr.events["class"].tolist() == ["undetermined"]


def test_roving_rebaseline() -> None:
    """4.0, 2.5, 2.5, 3.5, 3.5, 3.5 every 90 days, roving, all events. Step 1: improvement
    at visit 2 (-1.5 from 4.0, threshold 1.0) confirmed at visit 3 -> new reference visit 3
    (firstconf). Step 2: reference visit 3 (2.5), worsening at visit 4 (+1.0) confirmed at
    visit 5 -> new reference visit 5. Step 3: reference 3.5, no change at visit 6 -> end."""
    tr = trace([(0, 4), (90, 2.5), (180, 2.5), (270, 3.5), (360, 3.5), (450, 3.5)],
               baseline="roving", events="all")
    s1, s2, s3 = tr.steps
    assert (s1.candidate, s1.direction, s1.confirmation, s1.next_reference) == (
        2, "improvement", 3, 3)
    assert (s2.reference, s2.reference_edss, s2.candidate, s2.confirmation,
            s2.next_reference, s2.resume_from) == (3, 2.5, 4, 5, 5, 6)
    assert (s3.reference, s3.candidate, s3.decision) == (5, None, "end")
    assert tr.events["event_type"].tolist() == ["improvement", "worsening"]
    assert tr.events["step"].tolist() == [1, 2]


def test_last_visit_imputation() -> None:
    """2.0, 2.0 (d90), 3.0 (d180): the only worsening is at the last visit. With
    impute_last_visit=1 it is kept (no confirmation visit); with 100 it is too late (180 days
    after the first visit); with 0 it is dropped."""
    visits = [(0.0, 2.0), (90.0, 2.0), (180.0, 3.0)]
    tr = trace(visits, impute_last_visit=1)
    row = candidate(tr, 3)
    assert row["decision"] == "confirmed worsening" and pd.isna(row["confirmation_visit"])
    assert row["reason"] == "last visit, kept by impute_last_visit=1"
    assert math.isnan(tr.events["confirmation_edss"].item())
    row = candidate(trace(visits, impute_last_visit=100), 3)
    assert row["reason"] == "last visit; impute_last_visit keeps it only up to 100 days " \
                            "after the first visit"
    assert candidate(trace(visits), 3)["decision"] == "not confirmed"


def test_baseline_moved_out_of_relapse_window() -> None:
    """Relapse on day 0 (the first visit): visit 1 is within relapse_to_bl (30 days after),
    so the reference moves to visit 2 (day 60, 2.0); 3.0 at day 150 is confirmed at 240."""
    tr = trace([(0, 4), (60, 2), (150, 3), (240, 3)], relapses=(0,))
    s = tr.steps[0]
    assert s.reference == 2 and s.candidate == 3 and s.confirmation == 4
    assert s.lines[0].startswith("Visit 1 cannot be the reference: within relapse_to_bl")


def test_unknown_and_excluded_patients() -> None:
    with pytest.raises(NotFoundError, match="'B' is not in the data") as info:
        trace_patient({"edss": make([(0, 2), (90, 3)])}, "B", "msprog_default")
    assert info.value.hint and "A" in info.value.hint
    frames = {"edss": pd.concat([make([(0, 2), (90, 3)]), make([(0, 2)], pid="B")]),
              "origin": {"A": 10.0}}
    tr = trace_patient(frames, "B", "halt_ms")
    assert tr.excluded_reason is not None and "transplant" in tr.excluded_reason
    assert "Not derived (excluded)" in tr.summary and tr.to_frame().empty
    with pytest.raises(ConfigurationError, match="no 'edss' table"):
        trace_patient({"visits": make([(0, 2)])}, "A", "msprog_default")


@pytest.fixture(scope="module")
def demo() -> Any:
    from hsctms.datasets import load_demo_cohort

    return load_demo_cohort()


@pytest.mark.parametrize("preset", ["msprog_default", "halt_ms", "msbase"])
def test_trace_equals_derive_on_demo_cohort(demo: Any, preset: str) -> None:
    """Every patient's trace events equal its rows of derive()'s events table."""
    res = derive(demo, preset)
    traces = trace_patients(demo, None, preset)
    assert set(traces) == set(res.frame["patient_id"]) | set(res.excluded["patient_id"])
    n_events = 0
    for pid, tr in traces.items():
        expected = res.events[res.events["patient_id"] == pid].reset_index(drop=True)
        if tr.excluded_reason is not None:
            assert len(expected) == 0
            continue
        pd.testing.assert_frame_equal(tr.events.drop(columns="step"), expected)
        n_events += len(tr.events)
        assert sum(s.reported for s in tr.steps) == len(tr.events)
        assert len(tr.to_frame()) >= len(tr.visits)
    assert n_events == len(res.events) > 0


@pytest.mark.parametrize("overrides", [
    {"baseline": "roving", "events": "all", "relapse_rebl": True, "bl_geq": True},
    {"baseline": "roving", "events": "all", "sub_threshold_rebl": "event"},
    {"require_sust_days": math.inf, "impute_last_visit": 1},
    {"prec_type": "last_delta", "pira_prec": (90, 30), "check_intermediate": False},
    {"skip_local_extrema": "strict", "baseline": "roving_wors", "proceed_from": "event"},
])
def test_trace_equals_derive_beyond_presets(demo: Any, overrides: dict[str, Any]) -> None:
    """The same property under options the presets leave off (first 120 demo patients)."""
    ids = set(demo.patients["patient_id"].iloc[:120])
    frames = {"edss": demo.edss[demo.edss["patient_id"].isin(ids)],
              "relapses": demo.relapses[demo.relapses["patient_id"].isin(ids)]}
    d = get_definition("msprog_default").with_(**overrides)
    res = derive_frames(**frames, definition=d)
    traces = trace_patients(frames, None, d)
    got = pd.concat([t.events.drop(columns="step") for t in traces.values()],
                    ignore_index=True)
    expected = res.events.sort_values("patient_id", kind="stable").reset_index(drop=True)
    got = got.sort_values("patient_id", kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)
    assert len(expected) > 0


def test_to_dict_is_json(demo: Any) -> None:
    import json

    pid = str(demo.patients["patient_id"].iloc[0])
    tr = trace_patient(demo, pid, "msprog_default", include_unconfirmed=True)
    payload = json.loads(json.dumps(tr.to_dict(), allow_nan=False))
    assert payload["patient_id"] == pid and payload["summary"] == tr.summary
    assert len(payload["visits"]) == len(tr.visits)
    assert len(payload["steps"]) == len(tr.steps)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "b"
    res = CliRunner().invoke(app, ["demo-data", "-n", "30", "--seed", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_cli_trace(bundle: Path, tmp_path: Path) -> None:
    pid = str(pd.read_csv(bundle / "patients.csv")["patient_id"].iloc[0])
    runner = CliRunner()
    res = runner.invoke(app, ["endpoints", "--data", str(bundle), "--definition",
                              "msprog_default", "--trace", pid, "--unconfirmed"])
    assert res.exit_code == 0, res.output
    assert f"Adjudication trace: patient {pid}" in res.output
    assert "Step 1" in res.output and "Unconfirmed changes:" in res.output
    out = tmp_path / "e.csv"
    res = runner.invoke(app, ["endpoints", "--data", str(bundle), "--trace", pid,
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.exists() and "Adjudication trace" in res.output
    assert "Unconfirmed changes:" not in res.output
    res = runner.invoke(app, ["endpoints", "--data", str(bundle), "--trace", "NOPE"])
    assert res.exit_code == 1 and "'NOPE' is not in the data" in res.output
    assert "Hint" in res.output
    res = runner.invoke(app, ["endpoints", "--data", str(bundle)])
    assert res.exit_code == 1 and "--out" in res.output


def test_docs_example_is_current() -> None:
    """The example output in docs/endpoints.md is what the trace prints today."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "endpoints.md").read_text()
    section = text[text.index("## Adjudication trace"):]
    block = section[section.index("```text\n") + 8:]
    block = block[:block.index("\n```")]
    edss = make([(0, 2), (90, 3), (150, 2.5), (180, 3), (270, 3), (400, 3)], pid="P1")
    tr = trace_patient({"edss": edss, "relapses": rel([250], pid="P1")}, "P1",
                       "msprog_default", include_unconfirmed=True)
    assert tr.summary == block


def test_relapse_rebaseline() -> None:
    """relapse_rebl: 2.0 (d0), 2.0 (d100), 3.0 (d300), 3.0 (d400), relapse on day 150. Step 1:
    the candidate (visit 3, day 300) lies more than relapse_assoc 90 days after the relapse
    following the reference, so instead of confirming it the reference moves to the first
    visit on or after the relapse (visit 3). Step 2: reference 3.0, no change -> end."""
    tr = trace([(0, 2), (100, 2), (300, 3), (400, 3)], relapses=(150,), relapse_rebl=True)
    s1, s2 = tr.steps
    assert (s1.candidate, s1.decision, s1.next_reference, s1.resume_from) == (
        3, "search moved past a relapse", 3, 4)
    assert "relapse on day 150" in s1.reason
    assert any("reference moves to visit 3" in line for line in s1.lines)
    assert (s2.reference, s2.reference_edss, s2.candidate) == (3, 3.0, None)
    assert len(tr.events) == 0 and len(tr.unconfirmed) == 0


def test_not_sustained() -> None:
    """require_sust_days=200: 2.0, 3.0 (d90), 3.0 (d180), 2.0 (d250). The onset at day 90 is
    confirmed at visit 3, but visit 4 falls back 160 days after the onset -> not sustained.
    The next candidate (visit 3) has no visit in its window (day 257-994.5)."""
    tr = trace([(0, 2), (90, 3), (180, 3), (250, 2)], require_sust_days=200)
    row = candidate(tr, 2)
    assert (row["decision"], row["confirmation_visit"]) == ("not sustained", 3)
    assert row["reason"] == "confirmed at visit 3 but not sustained for 200 days (visit 4 " \
                            "falls back)"
    assert candidate(tr, 3)["reason"].startswith("no visit in the confirmation window")
    assert tr.unconfirmed["visit"].tolist() == [2, 3] and len(tr.events) == 0
