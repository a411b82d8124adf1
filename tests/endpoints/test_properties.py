"""Hypothesis property tests of the endpoint engine (invariants that must hold on any data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hsctms.endpoints import derive_frames, get_definition
from hsctms.endpoints.disability import delta_table
from hsctms.model.scales import EDSS_VALUES

GRID = list(EDSS_VALUES[:-1])


@st.composite
def cohorts(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = draw(st.integers(1, 6))
    vrows, rrows = [], []
    for p in range(n):
        k = draw(st.integers(1, 12))
        gaps = draw(st.lists(st.integers(1, 250), min_size=k, max_size=k))
        vals = draw(st.lists(st.sampled_from(GRID), min_size=k, max_size=k))
        day = np.cumsum(gaps).astype(float)
        vrows += [(f"P{p}", d, v) for d, v in zip(day, vals, strict=True)]
        rels = draw(st.lists(st.integers(-60, int(day[-1]) + 30), max_size=3, unique=True))
        rrows += [(f"P{p}", float(r)) for r in rels]
    v = pd.DataFrame(vrows, columns=["patient_id", "date", "edss"])
    r = pd.DataFrame(rrows, columns=["patient_id", "onset_date"]).astype(
        {"patient_id": str, "onset_date": float})
    return v, r


VARIANTS = st.sampled_from([
    {},
    {"baseline": "roving", "events": "all"},
    {"conf_days": 168, "conf_tol_days": (0, float("inf"))},
    {"check_intermediate": False, "delta_cut": 5.5},
    {"require_sust_days": 100, "relapse_to_event": (30, 0)},
])

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cohorts(), VARIANTS)
def test_event_times_within_followup_and_confirmed(data, over) -> None:
    v, r = data
    d = get_definition("msprog_default").with_(**over)
    res = derive_frames(v, r, definition=d)
    f = res.to_frame()
    for e in res.endpoints:
        assert (f[f"{e}_time"] >= 0).all()
        assert set(f[f"{e}_event"].unique()) <= {0, 1}
    assert (f["worsening_time"] <= f["followup_days"]).all()
    assert (f["improvement_time"] <= f["followup_days"]).all()
    ev = res.events
    w = ev[ev["event_type"] == "worsening"]
    # minimum worsening written out from the definition's table (not the engine's delta_table):
    # delta_zero from a reference of 0, delta_low up to delta_cut, delta_high above
    delta = np.array([d.delta_zero if b == 0 else d.delta_low if b <= d.delta_cut
                      else d.delta_high for b in w["baseline_edss"]], dtype=float)
    np.testing.assert_array_equal(delta_table(d, w["baseline_edss"].to_numpy()), delta)
    assert (w["edss"].to_numpy() - w["baseline_edss"].to_numpy() >= delta).all()
    gap = w["confirmation_date"] - w["date"]
    lo, hi = d.conf_days - d.conf_tol_days[0], d.conf_days + d.conf_tol_days[1]
    assert ((gap >= lo) & (gap <= hi)).all()
    assert (w["confirmation_edss"].to_numpy() - w["baseline_edss"].to_numpy() >= delta).all()
    assert (w["baseline_date"] < w["date"]).all()
    assert w["class"].isin(["PIRA", "RAW", "undetermined"]).all()


def test_default_minimum_change_table_is_msprog() -> None:
    """pymsprog's default minimum change: +1.5 from EDSS 0, +1.0 from 1.0-5.0, +0.5 above."""
    d = get_definition("msprog_default")
    ref = np.array([0.0, 1.0, 3.5, 5.0, 5.5, 6.0, 8.5])
    np.testing.assert_array_equal(delta_table(d, ref), [1.5, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5])


@SETTINGS
@given(cohorts(), st.randoms(use_true_random=False))
def test_invariant_to_row_order_and_to_other_patients(data, rnd) -> None:
    v, r = data
    d = get_definition("msprog_default").with_(baseline="roving", events="all")
    base = derive_frames(v, r, definition=d)
    perm = list(range(len(v)))
    rnd.shuffle(perm)
    shuffled = derive_frames(v.iloc[perm], r.iloc[::-1], definition=d)
    pd.testing.assert_frame_equal(base.to_frame(), shuffled.to_frame())
    pd.testing.assert_frame_equal(base.events, shuffled.events)
    first = v["patient_id"].iloc[0]
    alone = derive_frames(v[v["patient_id"] == first], r[r["patient_id"] == first],
                          definition=d)
    pd.testing.assert_frame_equal(
        alone.events.reset_index(drop=True),
        base.events[base.events["patient_id"] == first].reset_index(drop=True))


@SETTINGS
@given(cohorts())
def test_raising_thresholds_never_adds_or_advances_worsening(data) -> None:
    v, r = data
    low = get_definition("msprog_default")
    high = low.with_(delta_zero=2.0, delta_low=1.5, delta_high=1.0)
    a = derive_frames(v, r, definition=low).to_frame().set_index("patient_id")
    b = derive_frames(v, r, definition=high).to_frame().set_index("patient_id")
    assert (a["worsening_event"] >= b["worsening_event"]).all()
    both = (a["worsening_event"] == 1) & (b["worsening_event"] == 1)
    assert (a.loc[both, "worsening_time"] <= b.loc[both, "worsening_time"]).all()


@SETTINGS
@given(cohorts(), st.integers(-400, 400))
def test_composites_are_the_earliest_component(data, origin_shift) -> None:
    v, r = data
    origin = {p: float(g["date"].min() + origin_shift)
              for p, g in v.groupby("patient_id")}
    res = derive_frames(v, r, origin=origin,
                        definition=get_definition("halt_ms").with_(baseline_window_days=400))
    f = res.to_frame()
    comps = ["worsening", "relapse", "mri_activity"]
    ev = f[[f"{c}_event" for c in comps]].to_numpy().any(axis=1)
    assert (f["neda3_loss_event"].to_numpy() == ev).all()
    times = np.where(f[[f"{c}_event" for c in comps]].to_numpy() == 1,
                     f[[f"{c}_time" for c in comps]].to_numpy(), np.inf).min(axis=1)
    assert np.allclose(f.loc[ev, "neda3_loss_time"], times[ev])
    assert (f["efs_time"] <= f["neda3_loss_time"]).all()
    assert (f["efs_event"] >= f["neda3_loss_event"]).all()
    assert len(f) + len(res.excluded) == v["patient_id"].nunique()
