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
from hsctms.endpoints._trace_steps import TraceStep, _build_steps, _Ctx, _render, day_text
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
from hsctms.errors import ConfigurationError, HsctmsError, NotFoundError

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
    ``patient_ids`` is None) from one run of the engine; see :func:`trace_patient`.

    Parameters
    ----------
    data
        A :class:`hsctms.model.Cohort`, or a mapping of :func:`derive_frames` keyword
        arguments (must hold ``edss``).
    patient_ids
        Patient identifiers (compared as text); None traces every patient, derived ones
        first, then the excluded ones.
    definition
        Preset name, file, mapping or :class:`EndpointDefinition`; it must use the EDSS
        outcome.
    include_unconfirmed
        Also list the candidate changes that failed confirmation, with the reason.

    Returns
    -------
    dict of str to PatientTrace
        Patient identifier to trace, in the order of ``patient_ids``.

    Raises
    ------
    ConfigurationError
        The definition is not an EDSS definition, or the mapping has no ``edss`` table.
    NotFoundError
        A patient is not in the data.
    """
    d = get_definition(definition)
    if d.outcome != "edss":
        raise ConfigurationError(
            f"Adjudication traces are written for EDSS; definition {d.name!r} uses outcome "
            f"{d.outcome!r}.", hint="Trace with an EDSS definition; for the other scales the "
            "events table gives each event's reference, onset and confirmation visits.")
    rec = _Recorder()
    with recording(rec):
        if isinstance(data, Mapping):
            frames = dict(data)
            if "edss" not in frames:
                raise ConfigurationError(
                    "The data mapping has no 'edss' table.",
                    hint="Pass a Cohort, or a mapping of derive_frames() arguments: edss=..., "
                         "relapses=..., origin=... .")
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

    Parameters
    ----------
    patient_id
        The patient identifier (as text).
    definition
        The endpoint definition the trace was derived with.
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
    origin
        The patient's origin as a day number on the data's scale (NaN when excluded); days of
        ``visits``, ``relapses`` and ``steps`` are counted from it.
    events
        The patient's rows of the events table, rebuilt from the steps (plus ``step``).
    show_unconfirmed
        Whether :attr:`unconfirmed` and :attr:`summary` list the candidate changes that failed
        confirmation (``include_unconfirmed`` of :func:`trace_patient`).
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
        reference, threshold, confirmation window, decision, reason and class.

        Returns
        -------
        pandas.DataFrame
            The columns of :attr:`visits`, ``role`` and those of
            :meth:`TraceStep.candidate_row`; empty for an excluded patient.
        """
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
        """JSON-serialisable form (NaN written as None, dates as ISO text).

        Returns
        -------
        dict of str to Any
            Patient, definition name, exclusion reason, relapses, visits, steps, events,
            unconfirmed changes (None unless shown) and the summary text.
        """
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
