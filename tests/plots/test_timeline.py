"""plots.timeline: one patient's events (the figure's text alternative) and the figure."""

from __future__ import annotations

import datetime as dt

import matplotlib.pyplot as plt

from hsctms.plots.timeline import (
    KINDS,
    _lanes,
    plot_patient_timeline,
    timeline_events,
    timeline_svg,
)

TABLES = {
    "edss": [{"date": "2020-01-01", "edss": 3.5}, {"date": dt.date(2019, 1, 1), "edss": 4.0},
             {"date": None, "edss": 2.0}],
    "relapses": [{"onset_date": "2019-06-01", "end_date": "2019-07-01"}],
    "mri": [{"date": "2019-06-10", "new_t2": 0, "gd_lesions": None},
            {"date": "2019-06-20", "new_t2": 2, "gd_lesions": 0}],
    "transplants": [{"transplant_date": "2019-09-01", "conditioning": "BEAM+ATG"}],
    "dmt": [{"drug": "natalizumab", "start_date": "2015-01-01", "stop_date": "2018-01-01"},
            {"drug": "ocrelizumab", "start_date": "2017-06-01", "stop_date": None}],
    "deaths": [],
}


def test_events_are_dated_sorted_and_labelled() -> None:
    events = timeline_events(TABLES)
    assert [e.date for e in events] == sorted(e.date for e in events)
    assert {e.kind for e in events} <= set(KINDS)
    assert sum(e.kind == "edss" for e in events) == 2  # the undated visit is left out
    mri = [e for e in events if e.kind == "mri"]
    assert [m.active for m in mri] == [False, True]
    assert mri[0].label == "New or enlarging T2 lesions: 0; Gd+ lesions: ?"
    assert next(e for e in events if e.kind == "transplant").label == "Transplant (BEAM+ATG)"
    relapse = next(e for e in events if e.kind == "relapse")
    assert relapse.end == dt.date(2019, 7, 1)
    assert relapse.to_dict()["end"] == "2019-07-01"


def test_overlapping_courses_get_their_own_lane() -> None:
    dmts = [e for e in timeline_events(TABLES) if e.kind == "dmt"]
    assert _lanes(dmts, dt.date(2021, 1, 1)) == [0, 1]
    assert _lanes(dmts[:1], dt.date(2021, 1, 1)) == [0]


def test_figure_and_svg() -> None:
    events = timeline_events(TABLES)
    ax = plot_patient_timeline(events, title="P1")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"EDSS", "Relapse onset", "Transplant", "DMT course"} <= set(labels)
    assert "Death" not in labels
    plt.close(ax.figure)
    svg = timeline_svg(events, description='Timeline of "P1"')
    assert svg.startswith('<svg role="img" aria-label="Timeline of &quot;P1&quot;" ')
    empty = timeline_svg([])
    assert "No dated records yet" in empty
    one_day = timeline_svg(timeline_events({"deaths": [{"date": "2020-01-01"}]}))
    assert "Death" in one_day
