"""One patient's course on a time line: EDSS over time, relapses, MRI scans, transplants,
disease-modifying therapy (DMT) episodes and death.

:func:`timeline_events` turns a patient's rows (as :func:`hsctms.db.records.patient_record`
returns them, or any mapping of table name to rows) into a chronological list of
:class:`TimelineEvent`; :func:`plot_patient_timeline` draws that list and
:func:`timeline_svg` gives it as inline SVG. The same list is the text alternative of the
figure (the web patient page shows it as a table), so the picture and the table cannot
disagree. Labels come from the schema (:attr:`hsctms.model.schema.ColumnSpec.label`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hsctms.model.schema import SCHEMA
from hsctms.plots._style import PALETTE, new_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: Event kinds in the order of the figure's lanes (top to bottom below the EDSS panel).
KINDS: tuple[str, ...] = ("edss", "relapse", "mri", "transplant", "dmt", "death")
KIND_LABELS: dict[str, str] = {"edss": "EDSS", "relapse": "Relapse", "mri": "MRI",
                               "transplant": "Transplant", "dmt": "DMT", "death": "Death"}
_COLOURS = {"edss": PALETTE[0], "relapse": PALETTE[1], "mri": PALETTE[2],
            "transplant": PALETTE[7], "dmt": PALETTE[3], "death": PALETTE[7]}


@dataclass(frozen=True)
class TimelineEvent:
    """One dated item of a patient's course.

    Parameters
    ----------
    date : datetime.date
        When it happened (start of an episode).
    kind : str
        One of :data:`KINDS`.
    label : str
        Short description ("EDSS 3.5", "natalizumab", "2 new T2, 0 Gd+").
    end : datetime.date, optional
        End of an episode (a DMT course, a relapse with a recorded end); None when ongoing
        or a single day.
    value : float, optional
        The EDSS score of an ``edss`` event.
    active : bool, default False
        An MRI scan with new T2 or Gd+ lesions.
    """

    date: _dt.date
    kind: str
    label: str
    end: _dt.date | None = None
    value: float | None = None
    active: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (dates as ISO text).

        Returns
        -------
        dict
            ``date``, ``kind``, ``label``, ``end``, ``value`` and ``active``.
        """
        return {"date": self.date.isoformat(), "kind": self.kind, "label": self.label,
                "end": self.end.isoformat() if self.end else None, "value": self.value,
                "active": self.active}


def _date(value: Any) -> _dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def _count(value: Any) -> str:
    number = _num(value)
    return "?" if number is None else f"{number:g}"


def _edss(r: Mapping[str, Any]) -> TimelineEvent | None:
    day, score = _date(r.get("date")), _num(r.get("edss"))
    if day is None or score is None:
        return None
    return TimelineEvent(day, "edss", f"{SCHEMA['edss'].column('edss').label} {score:.1f}",
                         value=score)


def _relapse(r: Mapping[str, Any]) -> TimelineEvent | None:
    day = _date(r.get("onset_date"))
    return None if day is None else TimelineEvent(day, "relapse", "Relapse",
                                                  end=_date(r.get("end_date")))


def _mri(r: Mapping[str, Any]) -> TimelineEvent | None:
    day = _date(r.get("date"))
    if day is None:
        return None
    spec = SCHEMA["mri"]
    active = any((_num(r.get(c)) or 0) > 0 for c in ("new_t2", "gd_lesions"))
    return TimelineEvent(day, "mri", f"{spec.column('new_t2').label}: "
                         f"{_count(r.get('new_t2'))}; {spec.column('gd_lesions').label}: "
                         f"{_count(r.get('gd_lesions'))}", active=active)


def _transplant(r: Mapping[str, Any]) -> TimelineEvent | None:
    day = _date(r.get("transplant_date"))
    regimen = str(r.get("conditioning") or "").strip()
    return None if day is None else TimelineEvent(
        day, "transplant", "Transplant" + (f" ({regimen})" if regimen else ""))


def _dmt(r: Mapping[str, Any]) -> TimelineEvent | None:
    day = _date(r.get("start_date"))
    return None if day is None else TimelineEvent(day, "dmt", str(r.get("drug") or "DMT"),
                                                  end=_date(r.get("stop_date")))


def _death(r: Mapping[str, Any]) -> TimelineEvent | None:
    day = _date(r.get("date"))
    return None if day is None else TimelineEvent(day, "death", "Death")


_MAKERS = {"edss": _edss, "relapses": _relapse, "mri": _mri, "transplants": _transplant,
           "dmt": _dmt, "deaths": _death}


def timeline_events(tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[TimelineEvent]:
    """A patient's dated events, oldest first.

    Parameters
    ----------
    tables : mapping of str to sequence of mapping
        Table name -> rows (column -> value; dates as ``date`` objects or ISO text), e.g.
        the result of :func:`hsctms.db.records.patient_record`. Missing tables are empty.

    Returns
    -------
    list of TimelineEvent
        EDSS visits, relapses, MRI scans, transplants, DMT courses and the death, sorted by
        date (then by :data:`KINDS` order). Rows without a usable date are left out.

    Examples
    --------
    >>> events = timeline_events({"edss": [{"date": "2020-01-01", "edss": 3.5}],
    ...                           "relapses": [{"onset_date": "2019-06-01"}]})
    >>> [(e.date.isoformat(), e.label) for e in events]
    [('2019-06-01', 'Relapse'), ('2020-01-01', 'EDSS 3.5')]
    """
    out: list[TimelineEvent] = []
    for table, make in _MAKERS.items():
        for r in tables.get(table, ()):
            event = make(r)
            if event is not None:
                out.append(event)
    out.sort(key=lambda e: (e.date, KINDS.index(e.kind), e.label))
    return out


def _lanes(episodes: Sequence[TimelineEvent], last: _dt.date) -> list[int]:
    """Greedy lane of each DMT episode so that overlapping courses do not hide each other."""
    ends: list[_dt.date] = []
    lanes: list[int] = []
    for e in episodes:
        stop = e.end or last
        for i, end in enumerate(ends):
            if e.date > end:
                ends[i] = stop
                lanes.append(i)
                break
        else:
            ends.append(stop)
            lanes.append(len(ends) - 1)
    return lanes


def _legend_handles(*, death: bool) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], color=_COLOURS["edss"], marker="o", markersize=4, label="EDSS"),
        Line2D([], [], color=_COLOURS["relapse"], marker="v", linestyle="none",
               markersize=8, label="Relapse onset"),
        Line2D([], [], color=_COLOURS["mri"], marker="o", linestyle="none",
               markerfacecolor=_COLOURS["mri"], label="MRI, active"),
        Line2D([], [], color=_COLOURS["mri"], marker="o", linestyle="none",
               markerfacecolor="white", label="MRI, no new lesions"),
        Line2D([], [], color=_COLOURS["transplant"], linestyle="--", label="Transplant"),
        Patch(facecolor=_COLOURS["dmt"], alpha=0.35, edgecolor=_COLOURS["dmt"],
              label="DMT course"),
    ]
    if death:
        handles.append(Line2D([], [], color=_COLOURS["death"], linewidth=2, label="Death"))
    return handles


def _verticals(ax: Axes, events: Sequence[TimelineEvent]) -> None:
    """Transplants (dashed, labelled) and the death (solid) as vertical lines."""
    from matplotlib.dates import date2num

    for e in events:
        if e.kind == "transplant":
            ax.axvline(float(date2num(e.date)), color=_COLOURS["transplant"], linestyle="--",
                       linewidth=1.2)
            ax.text(float(date2num(e.date)), 10.4, " " + e.label, fontsize=8, va="bottom",
                    ha="left")
        elif e.kind == "death":
            ax.axvline(float(date2num(e.date)), color=_COLOURS["death"], linewidth=2)


def plot_patient_timeline(events: Sequence[TimelineEvent], ax: Axes | None = None, *,
                          today: _dt.date | None = None, title: str | None = None) -> Axes:
    """Draw a patient's course: EDSS (0-10) as a line, events in lanes below it.

    Parameters
    ----------
    events : sequence of TimelineEvent
        From :func:`timeline_events`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; None (default) creates a new figure.
    today : datetime.date, optional
        End of ongoing DMT courses (default: the last event, or today when later events are
        missing).
    title : str, optional
        Title at the top left.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on. Transplants are dashed vertical lines, relapses triangles, MRI
        scans circles (filled: new T2 or Gd+ lesions), DMT courses bars (ongoing ones end
        with an arrow), a death a black vertical line. A legend names every mark.
    """
    ax = new_axes(ax, figsize=(8.0, 3.8))
    if not events:
        ax.text(0.5, 0.5, "No dated records yet", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    last = max(max(e.date, e.end or e.date) for e in events)
    end_of_ongoing = max(last, today) if today is not None else last
    dmts = [e for e in events if e.kind == "dmt"]
    lanes = _lanes(dmts, end_of_ongoing)
    n_dmt_lanes = max(lanes, default=-1) + 1
    y_relapse, y_mri = -1.2, -2.2
    y_dmt = [-3.2 - i for i in range(max(n_dmt_lanes, 1))]
    from matplotlib.dates import date2num

    def x(day: _dt.date) -> float:
        return float(date2num(day))

    edss = [e for e in events if e.kind == "edss"]
    if edss:
        ax.plot([x(e.date) for e in edss], [float(e.value or 0) for e in edss], "-o",
                color=_COLOURS["edss"], markersize=4, linewidth=1.5, label="EDSS")
    relapses = [e for e in events if e.kind == "relapse"]
    if relapses:
        ax.plot([x(e.date) for e in relapses], [y_relapse] * len(relapses), "v",
                color=_COLOURS["relapse"], markersize=8, linestyle="none")
    for e in (e for e in events if e.kind == "mri"):
        ax.plot([x(e.date)], [y_mri], "o", markersize=7, color=_COLOURS["mri"],
                markerfacecolor=_COLOURS["mri"] if e.active else "white", linestyle="none")
    for e, lane in zip(dmts, lanes, strict=True):
        stop = e.end or end_of_ongoing
        ax.barh(y_dmt[lane], max(x(stop) - x(e.date), 1.0), left=x(e.date), height=0.6,
                color=_COLOURS["dmt"], alpha=0.35, edgecolor=_COLOURS["dmt"])
        ax.text(x(e.date), y_dmt[lane], " " + e.label + ("" if e.end else " (ongoing) →"),
                va="center", ha="left", fontsize=8, clip_on=True)
    _verticals(ax, events)
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    first = float(date2num(min(e.date for e in events)))
    span = float(date2num(end_of_ongoing)) - first
    pad = max(45.0, 0.03 * span)  # days; a single date still gets a readable axis
    ax.set_xlim(first - pad, first + span + pad)
    locator = AutoDateLocator(minticks=3, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_ylim(y_dmt[-1] - 0.8, 11.2)
    ticks = [0, 2, 4, 6, 8, 10, y_relapse, y_mri, *y_dmt[:max(n_dmt_lanes, 1)]]
    names = ["0", "2", "4", "6", "8", "10", "Relapses", "MRI", "DMT",
             *[""] * (max(n_dmt_lanes, 1) - 1)]
    ax.set_yticks(ticks, names)
    ax.axhline(-0.5, color="#999999", linewidth=0.8)
    ax.set_ylabel("EDSS")
    ax.yaxis.set_label_coords(-0.07, 0.72)
    if title:
        ax.set_title(title, loc="left")
    handles = _legend_handles(death=any(e.kind == "death" for e in events))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4,
              fontsize=8)
    return ax


def timeline_svg(events: Sequence[TimelineEvent], *, today: _dt.date | None = None,
                 description: str = "Patient timeline") -> str:
    """:func:`plot_patient_timeline` as inline SVG markup with an accessible name.

    Matplotlib's pyplot is not thread-safe: a multi-threaded caller (the web app) holds its
    plotting lock around this call.

    Parameters
    ----------
    events : sequence of TimelineEvent
        From :func:`timeline_events`.
    today : datetime.date, optional
        End of ongoing DMT courses.
    description : str, default "Patient timeline"
        The figure's accessible name (``aria-label``); point to the table that lists the
        same events.

    Returns
    -------
    str
        The ``<svg>`` element with ``role="img"`` and ``aria-label``.
    """
    from html import escape

    from hsctms.plots._style import figure_to_svg

    ax = plot_patient_timeline(events, today=today)
    svg = figure_to_svg(ax.figure)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(description)}" ', 1)
