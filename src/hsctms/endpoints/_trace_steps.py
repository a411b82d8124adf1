"""Steps and text of the adjudication trace (:mod:`hsctms.endpoints.trace`): the recorded
scan state of one patient turned into :class:`TraceStep` objects and readable lines."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hsctms.endpoints.definition import EndpointDefinition
from hsctms.endpoints.disability import BoolArray, FloatArray
from hsctms.errors import HsctmsError

if TYPE_CHECKING:
    from hsctms.endpoints.trace import PatientTrace


# -- steps ----------------------------------------------------------------------------------


def day_text(day: float, origin: float, datetime: bool) -> str:
    """``2012-03-01 (day 120)`` for calendar data, ``day 120`` for day numbers."""
    if not math.isfinite(day):
        return "-"
    if not datetime:
        return f"day {day:g}"
    iso = (np.datetime64(round(origin + day), "D")).astype(str)
    return f"{iso} (day {day:g})"


@dataclass(frozen=True)
class _Ctx:
    d: EndpointDefinition
    day: FloatArray        # days from the origin, per visit
    value: FloatArray
    rel: FloatArray        # relapse days from the origin
    cb: FloatArray
    ca: FloatArray
    flags: dict[str, BoolArray]
    until: str
    datetime: bool
    origin: float

    def at(self, j: int) -> str:
        """``visit 3 (2012-03-01 (day 120), EDSS 3.5)``."""
        return f"visit {j + 1} ({day_text(float(self.day[j]), self.origin, self.datetime)}, " \
               f"EDSS {self.value[j]:.1f})"

    def date(self, day: float) -> str:
        return day_text(day, self.origin, self.datetime)

    def why_not_baseline(self, j: int) -> str:
        if self.flags["extr"][j]:
            return "a local extremum"
        a, b = self.d.relapse_to_bl
        return (f"within relapse_to_bl ({a:g} days after / {b:g} before) of a relapse "
                f"({_rel_dist(float(self.cb[j]), float(self.ca[j]))})")


def _rel_dist(cb: float, ca: float) -> str:
    parts = []
    if math.isfinite(cb):
        parts.append(f"{cb:g} days after a relapse")
    if math.isfinite(ca):
        parts.append(f"{ca:g} days before a relapse")
    return ", ".join(parts) or "no relapse"


@dataclass(frozen=True)
class TraceStep:
    """One step of the scan: a reference, a search start, at most one candidate onset and the
    decision on it. Visits are numbered from 1; days are from the origin.

    Parameters
    ----------
    number
        Step number within the patient's scan (1-based).
    reference
        Reference (baseline) visit of the step (1-based).
    reference_edss
        EDSS value of the reference (EDSS points); raised to the previous reference when the
        definition uses ``bl_geq``.
    search_from
        First visit searched for a candidate onset, or None when no visit is left.
    threshold_worsening, threshold_improvement
        Minimum increase (worsening) and decrease (improvement) from the reference that
        counts as a change (EDSS points): :meth:`EndpointDefinition.delta` of the reference,
        and ``improvement_delta`` or the same value for improvement.
    lines
        The readable lines of the step, as printed by :attr:`PatientTrace.summary`.
    decision
        ``"end"``, ``"confirmed worsening"``, ``"confirmed improvement"``, ``"not
        confirmed"``, ``"not sustained"``, ``"confirmed sub-threshold change"`` or ``"search
        moved past a relapse"``.
    reason
        Why the decision was taken (one sentence).
    seq
        Sequence number of the scan iteration that judged the candidate (matches the
        engine's events); None when the step had no candidate.
    candidate
        Candidate onset visit, or None.
    change
        Candidate value minus the reference value (EDSS points), or None.
    direction
        ``"worsening"``, ``"improvement"``, ``"sub-threshold increase"`` or
        ``"sub-threshold decrease"``, or None without a candidate.
    window
        Confirmation window ``(start, end)`` in days from the origin, or None.
    window_visits
        Visits inside the confirmation window.
    eligible_visits
        Visits of the window that may confirm (not within ``relapse_to_conf`` of a relapse).
    confirmation
        Confirming visit, or None (not confirmed, or kept by ``impute_last_visit``).
    is_event
        Whether the scan confirmed an event at this step.
    reported
        Whether that event is a row of the events table (``events='first'`` keeps fewer).
    unconfirmed
        Whether the candidate failed confirmation or was not sustained (listed by
        :attr:`PatientTrace.unconfirmed`).
    event_class
        ``"PIRA"``, ``"RAW"`` or ``"undetermined"`` for a confirmed worsening, else None.
    relapse_note, pira_note
        Readable notes on the relapse association and on the PIRA relapse-free windows.
    pira_confirmation
        Visit that confirms the PIRA classification, or None.
    sustained_to
        Last visit up to which the change is sustained, or None.
    failing_visit
        Visit below the threshold that rejected the candidate, or None.
    next_reference
        Reference visit after the step (moves after an event or a relapse), or None.
    resume_from
        Visit where the search resumes, or None at the end of the data.
    _extra
        Internal: the candidate's day, EDSS, reference day and relapse distances, read by
        :meth:`unconfirmed_row` (set by the trace builder; not to be passed by users).
    """

    number: int
    reference: int
    reference_edss: float
    search_from: int | None
    threshold_worsening: float
    threshold_improvement: float
    lines: tuple[str, ...]
    decision: str
    reason: str
    seq: int | None = None
    candidate: int | None = None
    change: float | None = None
    direction: str | None = None
    window: tuple[float, float] | None = None
    window_visits: tuple[int, ...] = ()
    eligible_visits: tuple[int, ...] = ()
    confirmation: int | None = None
    is_event: bool = False
    reported: bool = False
    unconfirmed: bool = False
    event_class: str | None = None
    relapse_note: str | None = None
    pira_note: str | None = None
    pira_confirmation: int | None = None
    sustained_to: int | None = None
    failing_visit: int | None = None
    next_reference: int | None = None
    resume_from: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping of the fields.

        Returns
        -------
        dict of str to Any
            Field name to value, private fields left out.
        """
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if not k.startswith("_")}

    def candidate_row(self) -> dict[str, Any]:
        """The step's columns of :meth:`PatientTrace.to_frame`.

        Returns
        -------
        dict of str to Any
            Step, reference visit and value, direction, change and threshold (EDSS points),
            confirmation window (days from the origin) and its visits, decision, reason,
            class, relapse and PIRA notes, and whether the event is reported.
        """
        thr = self.threshold_improvement if self.direction == "improvement" else \
            self.threshold_worsening
        return {
            "step": self.number, "reference_visit": self.reference,
            "reference_edss": self.reference_edss, "direction": self.direction,
            "change": self.change, "threshold": thr,
            "window_start": self.window[0] if self.window else math.nan,
            "window_end": self.window[1] if self.window else math.nan,
            "window_visits": ", ".join(map(str, self.window_visits)),
            "eligible_confirmation_visits": ", ".join(map(str, self.eligible_visits)),
            "confirmation_visit": self.confirmation, "decision": self.decision,
            "reason": self.reason, "event_class": self.event_class,
            "relapse_association": self.relapse_note, "pira_windows": self.pira_note,
            "reported": self.is_event,
        }

    def unconfirmed_row(self, date: Any) -> dict[str, Any]:
        """Row of :attr:`PatientTrace.unconfirmed`.

        Parameters
        ----------
        date
            Day formatter of the trace (:meth:`PatientTrace._date`); not used: the dates
            are written as days from the origin.

        Returns
        -------
        dict of str to Any
            Step, candidate visit, its day and EDSS, change and direction, reference visit,
            day and EDSS, days since the last and until the next relapse, and the reason.
        """
        return {"step": self.number, "visit": self.candidate, "date": self._cand[0],
                "edss": self._cand[1], "change": self.change, "direction": self.direction,
                "reference_visit": self.reference, "reference_date": self._cand[2],
                "reference_edss": self.reference_edss, "days_since_relapse": self._cand[3],
                "days_to_next_relapse": self._cand[4], "reason": self.reason}

    @property
    def _cand(self) -> tuple[float, float, float, float, float]:
        return self._extra["cand"]

    _extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def event_row(self, pid: str, ctx: _Ctx) -> dict[str, Any]:
        """The events-table row of a confirmed step (dates as days on the data's scale).

        Parameters
        ----------
        pid
            Patient identifier written in the ``patient_id`` column.
        ctx
            Visit days, values and origin of the patient (the scan context).

        Returns
        -------
        dict of str to Any
            The columns of :attr:`EndpointResult.events` (onset, baseline, confirmation and
            PIRA-confirmation dates as day numbers, ``time`` in days from the origin, EDSS
            values, class, days sustained) plus ``step``.
        """
        assert self.candidate is not None
        c, b = self.candidate - 1, self.reference - 1
        conf = math.nan if self.confirmation is None else ctx.day[self.confirmation - 1]
        sust = (self.sustained_to or 0) - 1
        o = ctx.origin
        return {
            "patient_id": pid, "event_type": self.direction, "date": ctx.day[c] + o,
            "time": float(ctx.day[c]), "edss": float(ctx.value[c]),
            "baseline_date": ctx.day[b] + o, "baseline_edss": self.reference_edss,
            "confirmation_date": conf + o,
            "confirmation_edss": math.nan if self.confirmation is None
            else float(ctx.value[self.confirmation - 1]),
            "class": self.event_class,
            "pira_confirmation_date": math.nan if self.pira_confirmation is None
            else ctx.day[self.pira_confirmation - 1] + o,
            "sustained_days": float(ctx.day[sust] - ctx.day[c]),
            "sustained_to_last": sust == ctx.day.size - 1, "step": self.number,
        }


def _build_steps(entries: list[tuple[str, dict[str, Any]]], ctx: _Ctx) -> list[TraceStep]:
    steps: list[TraceStep] = []
    cur: dict[str, Any] | None = None
    for name, e in entries:
        if name == "search":
            cur = _on_search(e, ctx, len(steps) + 1)
        elif cur is None:  # pragma: no cover - every step starts with a search
            continue
        elif name == "crossed":
            irel = float(e["irel"]) - ctx.origin
            assoc = ctx.d.relapse_assoc[0]
            cur.update(decision="search moved past a relapse", reason=(
                f"the candidate lies more than {assoc:g} days after the relapse on "
                f"{ctx.date(irel)}, so the reference is re-set after that relapse first "
                "(relapse_rebl)"), crossed=True)
        elif name == "step":
            _on_step(cur, e, ctx)
        elif name == "after":
            _on_after(cur, e, ctx)
            extra = {"cand": cur.pop("cand", (math.nan,) * 5)}
            for key in ("crossed", "new_bl", "new_s"):
                cur.pop(key, None)
            cur["lines"] = tuple(cur["lines"])
            steps.append(TraceStep(**cur, _extra=extra))
            cur = None
    return steps


def _on_search(e: dict[str, Any], ctx: _Ctx, number: int) -> dict[str, Any]:
    d = ctx.d
    b0, b, s, c = int(e["b0"]), int(e["b"]), int(e["s"]), int(e["c"])
    nv = ctx.day.size
    bx = float(e["bx"])
    dw = d.delta(bx)
    di = dw if d.improvement_delta is None else d.improvement_delta
    lines = []
    if b != b0 and b0 < nv:
        lines.append(f"Visit {b0 + 1} cannot be the reference: {ctx.why_not_baseline(b0)}; "
                     f"moved to visit {min(b, nv - 1) + 1}.")
    b = min(b, nv - 1)
    ref = f"Reference: {ctx.at(b)}"
    if bx != ctx.value[b]:
        ref += f", value raised to the previous reference {bx:.1f} (bl_geq)"
    lines.append(ref + f"; minimum change +{dw:.1f} (worsening) / -{di:.1f} (improvement).")
    cur: dict[str, Any] = {
        "number": number, "reference": b + 1, "reference_edss": bx,
        "search_from": s + 1 if s < nv else None, "threshold_worsening": dw,
        "threshold_improvement": di, "lines": lines, "decision": "end", "reason": ""}
    if bool(e["stop"]):
        cur["reason"] = "no visit after it can serve as reference: end of the search"
    elif not bool(e["go"]):
        cur["reason"] = ("no visit after the reference: end of the search" if s >= nv else
                         f"no onset-eligible change of at least the minimum from visit "
                         f"{s + 1} on: end of the search")
    else:
        x = float(ctx.value[c])
        ch = x - bx
        direction = ("worsening" if ch >= dw else "improvement" if ch <= -di else
                     "sub-threshold increase" if ch > 0 else "sub-threshold decrease")
        lines.append(f"Searching from visit {s + 1}: candidate onset {ctx.at(c)}, change "
                     f"{ch:+.1f} ({direction}).")
        cur.update(candidate=c + 1, change=ch, direction=direction,
                   cand=(float(ctx.day[c]), x, float(ctx.day[b]), float(ctx.cb[c]),
                         float(ctx.ca[c])))
    return cur


def _on_step(cur: dict[str, Any], e: dict[str, Any], ctx: _Ctx) -> None:
    d, lines = ctx.d, cur["lines"]
    c, nv = int(e["c"]), int(e["nv"])
    t_c = float(ctx.day[c])
    lo, hi = d.conf_days - d.conf_tol_days[0], d.conf_days + d.conf_tol_days[1]
    cur["window"] = (t_c + lo, t_c + hi)
    wv: tuple[int, ...] = ()
    if bool(e["has_win"]):
        wv = tuple(range(int(e["win_lo"]) + 1, int(e["win_hi"]) + 2))
    elig = tuple(v for v in wv if ctx.flags["conf"][v - 1])
    cur.update(window_visits=wv, eligible_visits=elig, seq=int(e["seq"]))
    lines.append(f"Confirmation window {ctx.date(t_c + lo)} to {ctx.date(t_c + hi)} "
                 f"({d.conf_days} days -{d.conf_tol_days[0]:g}/+{d.conf_tol_days[1]:g}): "
                 f"visits {_list(wv)}; eligible (not within relapse_to_conf "
                 f"{d.relapse_to_conf[0]:g}/{d.relapse_to_conf[1]:g} days of a relapse): "
                 f"{_list(elig)}.")
    is_event, imputed = bool(e["is_event"]), bool(e["imputed"])
    c0, c0raw, nn = int(e["c0"]), int(e["c0raw"]), int(e["nn"])
    conf_ev = bool(e["cdw"]) or bool(e["cdi"])
    if conf_ev and not imputed:
        cur["confirmation"] = c0 + 1
    cur["sustained_to"] = min(nn, nv)
    cur["is_event"] = is_event
    if is_event:
        kind = "worsening" if bool(e["cdw"]) else "improvement"
        cur["direction"] = kind
        cur["decision"] = f"confirmed {kind}"
        cur["reason"] = (f"last visit, kept by impute_last_visit={d.impute_last_visit:g}"
                         if imputed else f"confirmed at {ctx.at(c0)}"
                         + (", every visit in between beyond the threshold"
                            if d.check_intermediate and c0 > c + 1 else ""))
    elif conf_ev:
        cur.update(decision="not sustained", unconfirmed=True, reason=(
            f"confirmed at visit {c0 + 1} but not sustained for {d.require_sust_days:g} days"
            + (f" (visit {nn + 1} falls back)" if nn < nv else "")))
    elif bool(e["sub_i"]) or bool(e["sub_w"]):
        cur.update(decision="confirmed sub-threshold change",
                   reason=f"confirmed at visit {c0 + 1}; re-baselines "
                          f"(sub_threshold_rebl={d.sub_threshold_rebl})")
    else:
        cur.update(decision="not confirmed", unconfirmed=True,
                   reason=_why_unconfirmed(e, ctx, c, nv, c0raw, wv, cur))
    lines.append(f"=> {cur['decision'].upper()}: {cur['reason']}.")
    if is_event and cur["direction"] == "worsening":
        _classify(cur, e, ctx)
    cur["new_bl"], cur["new_s"] = int(e["new_bl"]), int(e["new_s"])


def _why_unconfirmed(e: dict[str, Any], ctx: _Ctx, c: int, nv: int, c0raw: int,
                     wv: tuple[int, ...], cur: dict[str, Any]) -> str:
    d = ctx.d
    isW, isI = bool(e["isW"]), bool(e["isI"])
    if c == nv - 1:
        if isW and d.impute_last_visit > 0:
            return (f"last visit; impute_last_visit keeps it only up to "
                    f"{d.impute_max_days:g} days after the first visit")
        return "last visit: no later visit can confirm it" + (
            " (impute_last_visit is 0)" if isW else "")
    if not wv:
        lo, hi = cur["window"]
        return f"no visit in the confirmation window ({ctx.date(lo)} to {ctx.date(hi)})"
    if not bool(e["hasconf"]):
        near = "; ".join(f"visit {v}: {_rel_dist(float(ctx.cb[v - 1]), float(ctx.ca[v - 1]))}"
                         for v in wv)
        return ("confirmation too close to a relapse: every visit in the window is within "
                f"relapse_to_conf ({d.relapse_to_conf[0]:g} days after / "
                f"{d.relapse_to_conf[1]:g} before) of one ({near})")
    if not (isW or isI):
        return "the sub-threshold change is not confirmed (or does not re-baseline here)"
    j = int(e["bad"]) if d.check_intermediate and int(e["bad"]) >= 0 else c0raw
    bx = float(e["bx"])
    need = (f">= {bx + cur['threshold_worsening']:.1f}" if isW else
            f"<= {bx - cur['threshold_improvement']:.1f}")
    cur["failing_visit"] = j + 1
    if j == c0raw:
        return f"the confirmation {ctx.at(j)} is not beyond the threshold (needs {need})"
    return (f"intermediate visit below threshold: {ctx.at(j)} before the confirmation visit "
            f"{c0raw + 1} (needs {need})")


def _classify(cur: dict[str, Any], e: dict[str, Any], ctx: _Ctx) -> None:
    from hsctms.endpoints.disability import CLS_PIRA, CLS_RAW, pira_windows

    d, c = ctx.d, int(e["c"])
    cls = int(e["cls"])
    cur["event_class"] = "PIRA" if cls == CLS_PIRA else "RAW" if cls == CLS_RAW else \
        "undetermined"
    a0, a1 = d.relapse_assoc
    dist = _rel_dist(float(ctx.cb[c]), float(ctx.ca[c]))
    cur["relapse_note"] = (f"onset {dist}; RAW when at most {a0:g} days after / {a1:g} days "
                           "before a relapse (relapse_assoc)")
    cur["lines"].append(f"Relapse association: {cur['relapse_note']}.")
    if cls == CLS_RAW:
        return
    cols = [int(j) for j in np.flatnonzero(e["pira_cols"])]
    notes, free = [], None
    for j in cols:
        pts = ((np.array([ctx.day[int(e["prec"])]]), d.pira_prec),
               (np.array([ctx.day[c]]), d.pira_event), (np.array([ctx.day[j]]), d.pira_conf))
        wins = [(float(t0[0]), float(t1[0])) for t0, t1, use in pira_windows(pts) if use[0]]
        hits = sorted({float(r) for r in ctx.rel for t0, t1 in wins if t0 <= r <= t1})
        shown = ", ".join(f"{ctx.date(t0)} to {ctx.date(t1)}" for t0, t1 in wins)
        notes.append(f"confirmation visit {j + 1}: relapse-free windows {shown or '(none)'}"
                     + (f"; relapse(s) on {', '.join(ctx.date(r) for r in hits)}" if hits
                        else "; no relapse"))
        if not hits:
            free = j
            break
    if (free is not None) != (cls == CLS_PIRA):  # pragma: no cover - consistency check
        raise HsctmsError("Internal error: the PIRA windows of the trace disagree with the "
                          "engine.", hint="Please report this with the definition used.")
    pc = int(e["pira_conf"])
    cur["pira_confirmation"] = pc + 1 if pc >= 0 else None
    cur["pira_note"] = "; ".join(notes) or "no confirmation visit to check"
    cur["lines"].append(f"Class {cur['event_class']}: {cur['pira_note']}.")


def _on_after(cur: dict[str, Any], e: dict[str, Any], ctx: _Ctx) -> None:
    nv = ctx.day.size
    bl, s, active = int(e["bl"]), int(e["s"]), bool(e["active"])
    lines = cur["lines"]
    moved = (cur.get("new_bl") is not None and (bl, s) != (cur["new_bl"], cur["new_s"]))
    if moved or (cur.get("crossed") and bl != cur["reference"] - 1):
        lines.append(f"A relapse lies between the reference and the search position: the "
                     f"reference moves to visit {bl + 1}, the first on or after it "
                     "(relapse_rebl).")
    if cur.get("candidate") is not None:
        cur["next_reference"] = bl + 1
        cur["resume_from"] = s + 1 if s < nv else None
        if active:
            keep = "stays" if bl + 1 == cur["reference"] else "moves to"
            lines.append(f"Reference {keep} visit {bl + 1}; the search resumes at "
                         + (f"visit {s + 1}." if s < nv else "the end (no visit left)."))
    if not active and cur["decision"] != "end":
        goal = {"cdw": "the first confirmed worsening",
                "first": "the first confirmed worsening and improvement"}.get(ctx.until)
        lines.append(f"End of the search{': ' + goal + ' found' if goal else ''}.")
    elif cur["decision"] == "end":
        lines.append(f"End: {cur['reason']}.")


def _list(v: tuple[int, ...]) -> str:
    return ", ".join(map(str, v)) if v else "none"


# -- text -----------------------------------------------------------------------------------


def _render(tr: PatientTrace) -> str:
    d = tr.definition
    head = f"Adjudication trace: patient {tr.patient_id}, definition {d.name!r}"
    if tr.excluded_reason is not None:
        return f"{head}\nNot derived (excluded): {tr.excluded_reason}."
    lo, hi = d.conf_days - d.conf_tol_days[0], d.conf_days + d.conf_tol_days[1]
    out = [head,
           f"Origin: {d.origin}; baseline scheme: {d.baseline}"
           + (", re-set after relapses" if d.relapse_rebl else "")
           + f"; confirmation {lo:g} to {hi:g} days after onset"
           + (" with intermediate visits checked" if d.check_intermediate else "") + ".",
           "Relapses used: " + (", ".join(tr._date(r) for r in tr.relapses) or "none") + ".",
           "", "Visits (B/O/C: may be baseline / onset / confirmation; x: local extremum)"]
    for r in tr.visits.to_dict(orient="records"):
        flags = "".join(k if r[f] else "-" for k, f in (
            ("B", "baseline_eligible"), ("O", "onset_eligible"),
            ("C", "confirmation_eligible"))) + ("x" if r["local_extremum"] else "")
        out.append(f"  {r['visit']:>3}  {tr._date(float(r['day'])):<24} EDSS {r['edss']:<4.1f} "
                   f"{flags:<5} {_rel_dist(r['days_since_relapse'], r['days_to_next_relapse'])}")
    hidden = 0
    for s in tr.steps:
        if s.unconfirmed and not tr.show_unconfirmed:
            hidden += 1
            continue
        out += ["", f"Step {s.number}"] + [f"  {line}" for line in s.lines]
    if hidden:
        out += ["", f"({hidden} unconfirmed candidate change(s) not shown; use "
                    "include_unconfirmed=True / --unconfirmed.)"]
    out += _render_events(tr)
    if tr.unconfirmed is not None:
        out += _render_unconfirmed(tr, tr.unconfirmed)
    return "\n".join(out)


def _render_events(tr: PatientTrace) -> list[str]:
    """The events section of the text trace (as in the events table)."""
    out = ["", "Events (as in the events table):"]
    if len(tr.events) == 0:
        out.append("  none")
    for r in tr.events.to_dict(orient="records"):
        conf = "imputed (last visit)" if pd.isna(r["confirmation_edss"]) else \
            f"confirmed at EDSS {r['confirmation_edss']:.1f}"
        cls = f", {r['class']}" if r["event_type"] == "worsening" else ""
        out.append(f"  step {r['step']}: {r['event_type']} at {tr._date(float(r['time']))}, "
                   f"EDSS {r['baseline_edss']:.1f} -> {r['edss']:.1f}, {conf}{cls}")
    return out


def _render_unconfirmed(tr: PatientTrace, unc: pd.DataFrame) -> list[str]:
    """The unconfirmed-changes section of the text trace."""
    out = ["", "Unconfirmed changes:"]
    if len(unc) == 0:
        out.append("  none")
    for r in unc.to_dict(orient="records"):
        out.append(f"  step {r['step']}: visit {r['visit']} ({tr._date(r['date'])}), EDSS "
                   f"{r['reference_edss']:.1f} -> {r['edss']:.1f} ({r['direction']}): "
                   f"{r['reason']}")
    return out
