"""Adjudication trace: why the engine found (or did not find) each confirmed event of a patient.

:func:`trace_patient` runs :func:`~hsctms.endpoints.derive` (or
:func:`~hsctms.endpoints.derive_frames`) with a recorder installed in the vectorised scan of
:mod:`hsctms.endpoints.disability` (:func:`~hsctms.endpoints.disability.recording`), so the
trace is read off the very computation that produced the events table; it cannot disagree
with it. Every step of the scan is reported: the reference visit and value, the minimum change,
the candidate onset, the confirmation window and the visits in it, the relapse windows, the
decision and its reason, and where the search resumes (pymsprog's ``verbose=2``, readable).

>>> from hsctms.endpoints.trace import trace_patient
>>> tr = trace_patient(cohort, "SYN-000001", "halt_ms")   # doctest: +SKIP
>>> print(tr.summary)                                    # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from hsctms.endpoints import _inputs as inp
from hsctms.endpoints.definition import EndpointDefinition, get_definition
from hsctms.endpoints.derive import _is_first, derive, derive_frames
from hsctms.endpoints.disability import (
    BoolArray,
    EventArrays,
    FloatArray,
    IntArray,
    Until,
    VisitData,
    _Bucket,
    _last_delta,
    _Step,
    recording,
)
from hsctms.errors import HsctmsError, NotFoundError

__all__ = ["PatientTrace", "TraceStep", "trace_patient", "trace_patients"]


class _Recorder:
    """Stores the scan state for every patient as flat arrays (one entry per hook call)."""

    def __init__(self) -> None:
        self.vd: VisitData | None = None
        self.log: list[tuple[str, dict[str, Any]]] = []
        self.events: EventArrays | None = None
        self._index: dict[int, list[tuple[int, int]]] | None = None

    # -- ScanRecorder protocol ------------------------------------------------------------
    def begin(self, vd: VisitData, d: EndpointDefinition, flags: dict[str, BoolArray],
              cb: FloatArray, ca: FloatArray, until: Until, target: int | None) -> bool:
        if target is not None or self.vd is not None:
            return False  # only the main scan (not the firstPIRA/firstRAW searches)
        self.vd, self.d, self.until = vd, d, until
        self.flags, self.cb, self.ca = flags, cb, ca
        return True

    def search(self, B: _Bucket, r: IntArray, b0: IntArray, b: IntArray, s_r: IntArray,
               c: IntArray, go: BoolArray, stop: BoolArray) -> None:
        self.log.append(("search", {
            "code": B.rows[r], "b0": b0, "b": b.copy(), "s": s_r.copy(), "c": c.copy(),
            "go": go.copy(), "stop": stop.copy(), "bx": B.X[r, b].copy()}))

    def crossed(self, B: _Bucket, rows: IntArray, cross: BoolArray, irel: FloatArray) -> None:
        if cross.any():
            self.log.append(("crossed", {"code": B.rows[rows[cross]], "irel": irel[cross]}))

    def step(self, st: _Step, seq: int) -> None:
        B, d, m = st.B, st.d, st.rows.size
        ar = np.arange(m)
        V = st.T.shape[1]
        J = np.arange(V)[None, :]
        code = B.rows[st.rows]
        win = st.window
        cw = win & B.conf_ok[st.rows]
        c0raw = cw.argmax(axis=1)
        isW, isI = st.W[ar, st.c], st.Im[ar, st.c]
        M = np.where(isI[:, None] & ~isW[:, None], st.Im, st.W)
        bad = (J > st.c[:, None]) & (J <= c0raw[:, None]) & ~M
        ev = np.flatnonzero(st.is_event & st.cdw)
        prec = st.b.copy()
        if d.prec_type == "last":
            prec = np.maximum(st.c - 1, 0)
        elif d.prec_type == "last_delta" and ev.size:
            prec[ev] = _last_delta(st, ev, st.c[ev], d)
        pira_cols = np.full((m, V), False)
        pira_cols[ev] = st.pira_mask[ev]
        start = self._vd().start[code]
        self.log.append(("step", {
            "code": code, "seq": np.full(m, seq), "b": st.b.copy(), "c": st.c.copy(),
            "bx": B.X[st.rows, st.b].copy(), "c0": st.c0.copy(), "c0raw": c0raw,
            "nn": st.nn.copy(), "nv": st.nv.copy(), "isW": isW, "isI": isI,
            "has_win": win.any(axis=1), "win_lo": win.argmax(axis=1),
            "win_hi": V - 1 - win[:, ::-1].argmax(axis=1), "hasconf": st.hasconf.copy(),
            "okW": st.okW.copy(), "okI": st.okI.copy(), "imputed": st.imputed.copy(),
            "cdw": st.cdw.copy(), "cdi": st.cdi.copy(), "is_event": st.is_event.copy(),
            "sub_i": st.sub_i.copy(), "sub_w": st.sub_w.copy(), "cls": st.cls.copy(),
            "pira_conf": np.where(st.pira_conf >= 0, st.pira_conf - start, -1),
            "new_bl": st.new_bl.copy(), "new_s": st.new_s.copy(),
            "bad": np.where(bad.any(axis=1), bad.argmax(axis=1), -1), "prec": prec,
            "pira_cols": pira_cols}))

    def after(self, B: _Bucket, r: IntArray, bl: IntArray, s: IntArray,
              active: BoolArray) -> None:
        self.log.append(("after", {"code": B.rows[r], "bl": bl[r], "s": s[r],
                                   "active": active[r]}))

    def end(self, events: EventArrays) -> None:
        self.events = events

    # -- read-out -------------------------------------------------------------------------
    def _vd(self) -> VisitData:
        if self.vd is None:  # pragma: no cover - derive always runs the scan
            raise HsctmsError("Internal error: the disability scan was not recorded.",
                              hint="Please report this with the definition used.")
        return self.vd

    def entries(self, code: int) -> list[tuple[str, dict[str, Any]]]:
        """The hook calls of one patient, in order, as scalars."""
        if self._index is None:
            self._index = {}
            for k, (_, arrs) in enumerate(self.log):
                for pos, cd in enumerate(arrs["code"].tolist()):
                    self._index.setdefault(cd, []).append((k, pos))
        out = []
        for k, pos in self._index.get(code, []):
            name, arrs = self.log[k]
            out.append((name, {key: v[pos] for key, v in arrs.items()}))
        return out


def trace_patient(data: Any, patient_id: Any, definition: Any = "halt_ms", *,
                  include_unconfirmed: bool = False) -> PatientTrace:
    """Adjudication trace of one patient.

    Parameters
    ----------
    data
        A :class:`hsctms.model.Cohort`, or a mapping of :func:`derive_frames` keyword
        arguments (``edss``, ``relapses``, ``mri``, ``origin``, ``deaths``, ``patients``).
    patient_id
        The patient identifier (compared as text).
    definition
        Preset name, file, mapping or :class:`EndpointDefinition` (as for ``derive``).
    include_unconfirmed
        Also list the candidate changes that failed confirmation, with the reason
        (:attr:`PatientTrace.unconfirmed`, and a section of :attr:`PatientTrace.summary`).

    Returns
    -------
    PatientTrace

    Raises
    ------
    NotFoundError
        The patient is not in the data.
    """
    pid = str(patient_id)
    return trace_patients(data, [pid], definition, include_unconfirmed=include_unconfirmed)[pid]


def trace_patients(data: Any, patient_ids: Iterable[Any] | None = None,
                   definition: Any = "halt_ms", *, include_unconfirmed: bool = False
                   ) -> dict[str, PatientTrace]:
    """Adjudication traces of several patients (all included and excluded ones when
    ``patient_ids`` is None) from one run of the engine; see :func:`trace_patient`."""
    d = get_definition(definition)
    rec = _Recorder()
    with recording(rec):
        if isinstance(data, Mapping):
            frames = dict(data)
            res = derive_frames(**frames, definition=d)
            edss = frames["edss"]
        else:
            res = derive(data, d)
            edss = data.edss
    cal = inp.detect_calendar(edss)
    vd = rec._vd()
    included = np.flatnonzero(vd.count > 0)
    ids = res.frame["patient_id"].astype(str).to_numpy()
    if ids.size != included.size:
        raise HsctmsError("Internal error: included patients and engine visits disagree.",
                          hint="Please report this with the definition used.")
    code_of = dict(zip(ids, included.tolist(), strict=True))
    excluded = dict(zip(res.excluded["patient_id"].astype(str), res.excluded["reason"],
                        strict=True))
    wanted = list(code_of) + list(excluded) if patient_ids is None else \
        [str(p) for p in patient_ids]
    origin = cal.to_days(res.frame["origin_date"], "origin") if len(res.frame) else \
        np.zeros(0)
    reported = _reported(rec, d)
    template = res.events.iloc[0:0]
    out: dict[str, PatientTrace] = {}
    for pid in wanted:
        if pid in excluded:
            out[pid] = PatientTrace(pid, d, cal.datetime, excluded_reason=excluded[pid],
                                    show_unconfirmed=include_unconfirmed)
            continue
        if pid not in code_of:
            sample = ", ".join(list(code_of)[:3])
            raise NotFoundError(
                f"Patient {pid!r} is not in the data ({len(code_of)} patients derived, "
                f"{len(excluded)} excluded).",
                hint=f"Use a patient_id as written in the data (e.g. {sample}); the "
                     "per-patient table (hsctms endpoints --out FILE) lists them all.")
        code = code_of[pid]
        o = float(origin[int(np.searchsorted(included, code))])
        out[pid] = _build(rec, pid, code, o, cal, d, reported, include_unconfirmed,
                          template)
    return out


def _reported(rec: _Recorder, d: EndpointDefinition) -> EventArrays:
    """The events of the scan that the events table reports (as ``derive`` selects them)."""
    ev = rec.events
    if ev is None:  # pragma: no cover
        raise HsctmsError("Internal error: the scan returned no events object.")
    keep = np.ones(ev.n, dtype=bool) if d.events == "all" else _is_first(ev)
    idx = np.flatnonzero(keep)
    return EventArrays(**{k: getattr(ev, k)[idx] for k in (
        "code", "kind", "onset", "conf", "baseline", "sust", "cls", "pira_conf", "seq",
        "baseline_value")}, initial_baseline=ev.initial_baseline)


def _build(rec: _Recorder, pid: str, code: int, origin: float, cal: inp.Calendar,
           d: EndpointDefinition, reported: EventArrays, show_unconfirmed: bool,
           table: pd.DataFrame) -> PatientTrace:
    vd = rec._vd()
    lo, n = int(vd.start[code]), int(vd.count[code])
    sl = slice(lo, lo + n)
    rel = vd.rel_day[vd.rel_code == code]
    visits = pd.DataFrame({
        "visit": np.arange(1, n + 1),
        "date": cal.from_days(vd.day[sl]),
        "day": vd.day[sl] - origin,
        "edss": vd.value[sl],
        "days_since_relapse": rec.cb[sl],
        "days_to_next_relapse": rec.ca[sl],
        "baseline_eligible": rec.flags["bl"][sl],
        "onset_eligible": rec.flags["ev"][sl],
        "confirmation_eligible": rec.flags["conf"][sl],
        "local_extremum": rec.flags["extr"][sl],
    })
    ctx = _Ctx(d, vd.day[sl] - origin, vd.value[sl], rel - origin, rec.cb[sl], rec.ca[sl],
               {k: v[sl] for k, v in rec.flags.items()}, rec.until, cal.datetime, origin)
    steps = _build_steps(rec.entries(code), ctx)
    mine = np.flatnonzero(reported.code == code)
    by_seq = {s.seq: i for i, s in enumerate(steps) if s.seq is not None and s.is_event}
    rows = []
    for i in mine:
        k = by_seq.get(int(reported.seq[i]))
        if k is None or steps[k].candidate != int(reported.onset[i]) - lo + 1:
            raise HsctmsError(f"Internal error: the trace of patient {pid} lost an event.",
                              hint="Please report this with the definition used.")
        steps[k] = replace(steps[k], reported=True)
        rows.append(steps[k].event_row(pid, ctx))
    for k, st in enumerate(steps):
        if st.is_event and not st.reported:
            why = ("events='first' reports the first confirmed worsening and improvement only"
                   if d.events == "first" else "the same onset was detected again later")
            steps[k] = replace(st, lines=(*st.lines, f"(Not in the events table: {why}.)"))
    events = pd.DataFrame(rows, columns=[*table.columns, "step"]) if rows else \
        table.assign(step=pd.Series(dtype="int64")).iloc[0:0].reset_index(drop=True)
    if rows:
        for col in table.columns:
            if col in ("date", "baseline_date", "confirmation_date", "pira_confirmation_date"):
                events[col] = cal.from_days(events[col].to_numpy(dtype=float))
            events[col] = events[col].astype(table[col].dtype)
    return PatientTrace(pid, d, cal.datetime, visits=visits, relapses=tuple(rel - origin),
                        origin=origin, steps=tuple(steps), events=events,
                        show_unconfirmed=show_unconfirmed)


@dataclass(frozen=True)
class PatientTrace:
    """The adjudication trace of one patient (from :func:`trace_patient`).

    Attributes
    ----------
    patient_id, definition
        Who and how.
    datetime
        Whether the data carry calendar dates (else day numbers).
    excluded_reason
        Why the patient was not derived (then there are no steps), else None.
    visits
        The visits the engine used: ``visit`` (1-based), ``date``, ``day`` (days from the
        origin), ``edss``, days since the last / until the next relapse, and whether the visit
        may serve as baseline, onset or confirmation (relapse windows) or is a local extremum.
    relapses
        Relapse onsets used by the engine (days from the origin).
    steps
        One :class:`TraceStep` per step of the scan.
    events
        The patient's rows of the events table, rebuilt from the steps (plus ``step``).
    """

    patient_id: str
    definition: EndpointDefinition
    datetime: bool
    excluded_reason: str | None = None
    visits: pd.DataFrame = field(default_factory=pd.DataFrame)
    relapses: tuple[float, ...] = ()
    origin: float = math.nan
    steps: tuple[TraceStep, ...] = ()
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    show_unconfirmed: bool = False

    @property
    def unconfirmed(self) -> pd.DataFrame | None:
        """Candidate changes that were not confirmed, with the reason (None unless
        ``include_unconfirmed``)."""
        if not self.show_unconfirmed:
            return None
        rows = [s.unconfirmed_row(self._date) for s in self.steps if s.unconfirmed]
        cols = ["step", "visit", "date", "edss", "change", "direction", "reference_visit",
                "reference_date", "reference_edss", "days_since_relapse",
                "days_to_next_relapse", "reason"]
        return pd.DataFrame(rows, columns=cols)

    def _date(self, day: float) -> str:
        return day_text(day, self.origin, self.datetime)

    def to_frame(self) -> pd.DataFrame:
        """One row per visit (a visit examined as a candidate in several steps, possible after
        a post-relapse re-baseline, has one row per step): the visit, its relapse windows,
        its role (reference, candidate onset, confirmation), and for a candidate the
        reference, threshold, confirmation window, decision, reason and class."""
        if self.excluded_reason is not None:
            return pd.DataFrame()
        roles: dict[int, list[str]] = {}
        cand: dict[int, list[dict[str, Any]]] = {}
        for s in self.steps:
            roles.setdefault(s.reference, []).append(f"reference (step {s.number})")
            if s.candidate is not None:
                cand.setdefault(s.candidate, []).append(s.candidate_row())
                roles.setdefault(s.candidate, []).append(f"candidate onset (step {s.number})")
            if s.confirmation is not None:
                roles.setdefault(s.confirmation, []).append(
                    f"confirmation (step {s.number})")
            if s.failing_visit is not None:
                roles.setdefault(s.failing_visit, []).append(
                    f"below threshold, rejects step {s.number}")
        rows = []
        for rec in self.visits.to_dict(orient="records"):
            v = int(rec["visit"])
            base = {**rec, "role": "; ".join(roles.get(v, [])) or "-"}
            for c in cand.get(v, [{}]):
                rows.append({**base, **c})
        frame = pd.DataFrame(rows)
        for col in ("step", "reference_visit", "confirmation_visit"):
            if col in frame.columns:
                frame[col] = frame[col].astype("Int64")
        return frame

    @property
    def summary(self) -> str:
        """The readable, step-by-step text."""
        return _render(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (NaN written as None, dates as ISO text)."""
        def records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
            if frame is None:
                return None
            return [{k: _jsonable(v) for k, v in r.items()}
                    for r in frame.to_dict(orient="records")]
        return {
            "patient_id": self.patient_id,
            "definition": self.definition.name,
            "excluded_reason": self.excluded_reason,
            "relapses": [self._date(r) for r in self.relapses],
            "visits": records(self.visits),
            "steps": [{k: _jsonable(v) for k, v in s.to_dict().items()} for s in self.steps],
            "events": records(self.events),
            "unconfirmed": records(self.unconfirmed),
            "summary": self.summary,
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return None if pd.isna(v) else pd.Timestamp(v).date().isoformat()
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v

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
    decision on it. Visits are numbered from 1; days are from the origin."""

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
        """Plain mapping of the fields."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if not k.startswith("_")}

    def candidate_row(self) -> dict[str, Any]:
        """The step's columns of :meth:`PatientTrace.to_frame`."""
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
        """Row of :attr:`PatientTrace.unconfirmed`."""
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
        """The events-table row of a confirmed step (dates as days on the data's scale)."""
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
    out += ["", "Events (as in the events table):"]
    if len(tr.events) == 0:
        out.append("  none")
    for r in tr.events.to_dict(orient="records"):
        conf = "imputed (last visit)" if pd.isna(r["confirmation_edss"]) else \
            f"confirmed at EDSS {r['confirmation_edss']:.1f}"
        cls = f", {r['class']}" if r["event_type"] == "worsening" else ""
        out.append(f"  step {r['step']}: {r['event_type']} at {tr._date(float(r['time']))}, "
                   f"EDSS {r['baseline_edss']:.1f} -> {r['edss']:.1f}, {conf}{cls}")
    unc = tr.unconfirmed
    if unc is not None:
        out += ["", "Unconfirmed changes:"]
        if len(unc) == 0:
            out.append("  none")
        for r in unc.to_dict(orient="records"):
            out.append(f"  step {r['step']}: visit {r['visit']} ({tr._date(r['date'])}), EDSS "
                       f"{r['reference_edss']:.1f} -> {r['edss']:.1f} ({r['direction']}): "
                       f"{r['reason']}")
    return "\n".join(out)
