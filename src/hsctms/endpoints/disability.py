"""Vectorised confirmed-disability engine: confirmed worsening (CDW) and improvement (CDI),
classified as RAW, PIRA or undetermined.

The rules are msprog's sequential scan (Montobbio et al. 2024; pymsprog 1.0.7), restated:
per patient, a baseline visit and a search position move forward through the visits; at each
step the first later visit that differs from the baseline by the minimum change is a candidate
onset, it is confirmed by the first eligible visit in the confirmation window (all visits in
between also beyond the threshold), and the search resumes after the confirmation visit (or
the onset), re-baselining there under a roving scheme.

The scan is run for *all patients at once*: each step is a handful of numpy operations on a
``patients x visits`` matrix (rows padded to the longest visit list of a bucket of patients of
similar length), and every step advances the search position of every active patient by at
least one visit. The number of steps is therefore bounded by the longest visit list, not by the
number of patients; there is no Python loop over patients.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from hsctms.endpoints.change import increases, min_change
from hsctms.endpoints.definition import EndpointDefinition

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Until = Literal["cdw", "first", "all"]

#: Event kinds and classes in :class:`EventArrays`.
KIND_CDW, KIND_CDI = 0, 1
CLS_NONE, CLS_UNDETERMINED, CLS_RAW, CLS_PIRA = -1, 0, 1, 2


@dataclass
class VisitData:
    """Visits and relapses as flat arrays, sorted by patient code then day.

    ``code`` are patient codes ``0..n_patients-1``; ``day`` are days on any common origin;
    ``start``/``count`` index each patient's visits. Relapses (``rel_code``, ``rel_day``) are
    sorted the same way; ``rel_end`` (same order, NaN = not recorded) holds their end days
    when the definition counts the distances after a relapse from its end
    (``relapse_end="use"``), else None.
    """

    code: IntArray
    day: FloatArray
    value: FloatArray
    n_patients: int
    rel_code: IntArray
    rel_day: FloatArray
    rel_end: FloatArray | None = None

    def __post_init__(self) -> None:
        counts = np.bincount(self.code, minlength=self.n_patients).astype(np.int64)
        self.count = counts
        self.start = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)


@dataclass
class EventArrays:
    """Confirmed events as flat arrays (indices point into the :class:`VisitData` arrays).

    ``conf`` is -1 for an event imputed at the last visit; ``pira_conf`` is -1 unless the event
    is PIRA; ``cls`` is -1 for improvements.
    """

    code: IntArray
    kind: IntArray
    onset: IntArray
    conf: IntArray
    baseline: IntArray
    sust: IntArray
    cls: IntArray
    pira_conf: IntArray
    seq: IntArray
    baseline_value: FloatArray
    initial_baseline: IntArray

    @property
    def n(self) -> int:
        """Number of events."""
        return int(self.code.size)


class ScanRecorder(Protocol):
    """Receives the intermediate state of :func:`confirmed_events` (the adjudication trace,
    :mod:`hsctms.endpoints.trace`). Installed with :func:`recording`; when none is installed the
    scan calls a do-nothing recorder a few times per step (no array is copied)."""

    def begin(self, vd: VisitData, d: EndpointDefinition, flags: dict[str, BoolArray],
              cb: FloatArray, ca: FloatArray, until: Until, target: int | None) -> bool:
        """Start of a scan; return False to not record this scan."""

    def search(self, B: _Bucket, r: IntArray, b0: IntArray, b: IntArray, s_r: IntArray,
               c: IntArray, go: BoolArray, stop: BoolArray) -> None:
        """Baseline, search start and candidate of the active rows ``r`` of a step."""

    def crossed(self, B: _Bucket, rows: IntArray, cross: BoolArray, irel: FloatArray) -> None:
        """Rows ``rows[cross]`` have their candidate after the next relapse ``irel[cross]``
        (``relapse_rebl``)."""

    def step(self, step: _Step, seq: int) -> None:
        """A candidate examined for confirmation (after classification and re-baseline)."""

    def after(self, B: _Bucket, r: IntArray, bl: IntArray, s: IntArray,
              active: BoolArray) -> None:
        """Baseline, search position and activity (``bl[r]``, ``s[r]``, ``active[r]``) of
        the rows ``r`` at the end of a step."""

    def end(self, events: EventArrays) -> None:
        """The events returned by the scan."""


class _NoRecorder:
    """The recorder in place when none is installed: every call does nothing."""

    def begin(self, *args: Any) -> bool:
        return False

    def search(self, *args: Any) -> None:
        pass

    crossed = step = after = end = search


_OFF = _NoRecorder()
_RECORDER: ContextVar[ScanRecorder | None] = ContextVar("hsctms_scan_recorder", default=None)


@contextmanager
def recording(recorder: ScanRecorder) -> Iterator[ScanRecorder]:
    """Install ``recorder`` for the :func:`confirmed_events` calls made inside the block."""
    token = _RECORDER.set(recorder)
    try:
        yield recorder
    finally:
        _RECORDER.reset(token)


def delta_table(d: EndpointDefinition, ref: FloatArray) -> FloatArray:
    """Vectorised minimum worsening for reference values ``ref`` on the engine's scale.

    The engine always looks for increases: a decreasing outcome (SDMT) is negated on entry,
    so its references are negated back before the outcome's rule is applied.
    """
    if d.outcome == "edss":
        return np.where(ref == 0, d.delta_zero, np.where(ref <= d.delta_cut, d.delta_low,
                                                         d.delta_high))
    return min_change(d, ref if increases(d) else -ref)


def _keys(code: IntArray, day: FloatArray, lo: float, span: float) -> FloatArray:
    return code.astype(np.float64) * span + (np.clip(day, lo - 1.0, lo + span - 8.0) - lo + 1.0)


class _RelapseIndex:
    """Fast "distance to closest relapse" and "any relapse in [a, b]" per patient."""

    def __init__(self, vd: VisitData) -> None:
        ends = vd.rel_end[~np.isnan(vd.rel_end)] if vd.rel_end is not None else np.zeros(0)
        days = np.concatenate((vd.day, vd.rel_day, ends))
        lo = float(days.min()) if days.size else 0.0
        hi = float(days.max()) if days.size else 0.0
        self.lo, self.span = lo, hi - lo + 16.0
        self.code, self.day = vd.rel_code, vd.rel_day
        self.keys = _keys(vd.rel_code, vd.rel_day, lo, self.span)
        # "days since the last relapse" counts from the latest end of the relapses begun so
        # far (an end not recorded = the onset); keys grow with the code, so one running
        # maximum over all patients stays within each patient
        self.since = vd.rel_day
        if vd.rel_end is not None and vd.rel_day.size:
            last = np.maximum.accumulate(self.key(vd.rel_code, np.fmax(vd.rel_day, vd.rel_end)))
            self.since = last - vd.rel_code.astype(np.float64) * self.span + lo - 1.0

    def key(self, code: IntArray, day: FloatArray) -> FloatArray:
        return _keys(code, day, self.lo, self.span)

    def closest(self, code: IntArray, day: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Days since the last relapse on/before, and until the next relapse on/after."""
        before = np.full(day.shape, np.inf)
        after = np.full(day.shape, np.inf)
        if self.keys.size == 0:
            return before, after
        k = self.key(code, day)
        i = np.searchsorted(self.keys, k, side="right") - 1
        ok = (i >= 0) & (self.code[np.maximum(i, 0)] == code)
        before[ok] = np.maximum(day[ok] - self.since[i[ok]], 0.0)
        j = np.searchsorted(self.keys, k, side="left")
        jc = np.minimum(j, self.keys.size - 1)
        ok = (j < self.keys.size) & (self.code[jc] == code)
        after[ok] = self.day[jc[ok]] - day[ok]
        return before, after

    def next_after(self, code: IntArray, day: FloatArray) -> FloatArray:
        """Day of the patient's first relapse strictly after ``day`` (inf when none)."""
        out = np.full(day.shape, np.inf)
        if self.keys.size == 0:
            return out
        j = np.searchsorted(self.keys, self.key(code, day), side="right")
        jc = np.minimum(j, self.keys.size - 1)
        ok = (j < self.keys.size) & (self.code[jc] == code)
        out[ok] = self.day[jc[ok]]
        return out

    def any_open(self, code: IntArray, a: FloatArray, b: FloatArray) -> BoolArray:
        """Whether the patient has a relapse with ``a < day < b``."""
        if self.keys.size == 0:
            return np.zeros(code.shape, dtype=bool)
        lo = np.searchsorted(self.keys, self.key(code, a), side="right")
        hi = np.searchsorted(self.keys, self.key(code, b), side="left")
        return np.asarray(hi > lo, dtype=bool)

    def any_between(self, code: IntArray, a: FloatArray, b: FloatArray) -> BoolArray:
        """Whether the patient has a relapse with ``a <= day <= b``."""
        if self.keys.size == 0:
            return np.zeros(code.shape, dtype=bool)
        lo = np.searchsorted(self.keys, self.key(code, a), side="left")
        hi = np.searchsorted(self.keys, self.key(code, b), side="right")
        return np.asarray((hi > lo) & (b >= a), dtype=bool)


def filter_relapses(vd: VisitData, relapse_to_bl_after: float) -> VisitData:
    """Drop relapses before ``first visit - relapse_to_bl_after`` (msprog ignores them)."""
    if vd.rel_day.size == 0:
        return vd
    has = vd.count > 0
    first = np.full(vd.n_patients, np.inf)
    first[has] = vd.day[vd.start[has]]
    keep = vd.rel_day >= first[vd.rel_code] - relapse_to_bl_after
    if vd.rel_end is not None:  # a relapse still going on at the first visit counts
        keep |= vd.rel_end >= first[vd.rel_code] - relapse_to_bl_after
    return VisitData(vd.code, vd.day, vd.value, vd.n_patients, vd.rel_code[keep],
                     vd.rel_day[keep], None if vd.rel_end is None else vd.rel_end[keep])


def local_extrema(vd: VisitData, d: EndpointDefinition) -> BoolArray:
    """Per visit: is it a local extremum excluded by ``skip_local_extrema`` (msprog rule)?"""
    n = vd.value.size
    if d.skip_local_extrema == "none" or n == 0:
        return np.zeros(n, dtype=bool)
    x = vd.value
    pos = np.arange(n) - vd.start[vd.code]
    last = pos == vd.count[vd.code] - 1
    prev = np.where(pos >= 1, np.roll(x, 1), x)
    nxt = np.where(last, x, np.roll(x, -1))
    prev2 = np.where(pos >= 2, np.roll(x, 2), -1.0)
    if d.skip_local_extrema == "all":
        up_p, up_n, dn_p, dn_n = prev > x, nxt > x, prev < x, nxt < x
    else:
        dw = delta_table(d, x)
        di = dw if d.improvement_delta is None else np.full_like(dw, d.improvement_delta)
        up_p, up_n = prev - x >= dw, nxt - x >= dw
        dn_p, dn_n = prev - x <= -di, nxt - x <= -di
    return np.asarray(((up_p & up_n) | (dn_p & dn_n)) & (x != prev2), dtype=bool)


@dataclass
class _Bucket:
    rows: IntArray          # patient codes
    idx: IntArray           # (n, V) flat visit index (clamped inside the row)
    nv: IntArray
    valid: BoolArray
    T: FloatArray
    X: FloatArray
    ev_ok: BoolArray
    conf_ok: BoolArray
    extr: BoolArray
    next_bl: IntArray
    cb: FloatArray          # days since last relapse (flat, per visit)
    ca: FloatArray


def _make_bucket(vd: VisitData, rows: IntArray, flags: dict[str, BoolArray],
                 cb: FloatArray, ca: FloatArray) -> _Bucket:
    nv = vd.count[rows]
    V = int(nv.max())
    J = np.arange(V)
    valid = J[None, :] < nv[:, None]
    idx = np.where(valid, vd.start[rows][:, None] + J[None, :], vd.start[rows][:, None])
    bl_ok = flags["bl"][idx] & valid
    nb = np.where(bl_ok, J[None, :], V)
    next_bl = np.minimum.accumulate(nb[:, ::-1], axis=1)[:, ::-1]
    return _Bucket(rows=rows, idx=idx, nv=nv, valid=valid, T=vd.day[idx], X=vd.value[idx],
                   ev_ok=flags["ev"][idx] & valid, conf_ok=flags["conf"][idx] & valid,
                   extr=flags["extr"][idx] & valid,
                   next_bl=np.ascontiguousarray(next_bl), cb=cb, ca=ca)


def confirmed_events(vd: VisitData, d: EndpointDefinition, until: Until = "first",
                     target: int | None = None) -> EventArrays:
    """Run the confirmed-event scan for all patients.

    Parameters
    ----------
    vd
        Visits and relapses (relapses already filtered with :func:`filter_relapses`).
    d
        The definition (disability fields are used).
    until
        Stop a patient's scan after the first confirmed worsening (``"cdw"``), after the first
        worsening *and* the first improvement (``"first"``), or scan to the end (``"all"``).
        The scan path does not depend on this, so the first events are identical.

    Returns
    -------
    EventArrays
        Events in (patient, onset) order, plus each patient's initial baseline visit.
    target
        ``CLS_PIRA`` or ``CLS_RAW``: search for the first worsening of that class as msprog's
        ``event="firstPIRA"``/``"firstRAW"`` (with a fixed or ``roving_impr`` baseline, other
        worsenings are skipped and the search resumes after their onset); the scan stops at
        the first one.
    """
    rel = _RelapseIndex(vd)
    cb, ca = rel.closest(vd.code, vd.day)
    extr = local_extrema(vd, d)
    flags = {
        "bl": (cb >= d.relapse_to_bl[0]) & (ca >= d.relapse_to_bl[1]) & ~extr,
        "extr": extr,
        "ev": (cb >= d.relapse_to_event[0]) & (ca >= d.relapse_to_event[1]),
        "conf": (cb >= d.relapse_to_conf[0]) & (ca >= d.relapse_to_conf[1]),
    }
    hook: ScanRecorder = _RECORDER.get() or _OFF
    if not hook.begin(vd, d, flags, cb, ca, until, target):
        hook = _OFF
    initial = np.full(vd.n_patients, -1, dtype=np.int64)
    parts: list[dict[str, IntArray]] = []
    with_visits = np.flatnonzero(vd.count > 0)
    if with_visits.size:
        bits = np.ceil(np.log2(vd.count[with_visits])).astype(np.int64)
        for bit in np.unique(bits):
            rows = with_visits[bits == bit]
            bucket = _make_bucket(vd, rows, flags, cb, ca)
            first_ok = bucket.next_bl[:, 0]
            has = first_ok < bucket.nv
            initial[rows[has]] = bucket.idx[np.flatnonzero(has), first_ok[has]]
            parts.extend(_scan(bucket, d, rel, vd, until, target, hook))
    events = _collect(parts, initial, dedupe=until == "all")
    hook.end(events)
    return events


def _collect(parts: list[dict[str, IntArray]], initial: IntArray, *, dedupe: bool
             ) -> EventArrays:
    names = ("code", "kind", "onset", "conf", "baseline", "sust", "cls", "pira_conf", "seq")
    if parts:
        cat = {k: np.concatenate([p[k] for p in parts]).astype(np.int64) for k in names}
        blv = np.concatenate([p["baseline_value"] for p in parts]).astype(np.float64)
    else:
        cat = {k: np.zeros(0, dtype=np.int64) for k in names}
        blv = np.zeros(0)
    order = np.lexsort((-cat["seq"], cat["onset"], cat["code"]))
    if dedupe:  # an onset detected twice (after a post-relapse re-baseline): keep the last
        key = np.stack((cat["code"][order], cat["onset"][order]))
        keep = np.ones(order.size, dtype=bool)
        keep[1:] = (np.diff(key, axis=1) != 0).any(axis=0)
        order = order[keep]
    return EventArrays(**{k: v[order] for k, v in cat.items()}, baseline_value=blv[order],
                       initial_baseline=initial)


# Complexity > 10: the performance-critical scan, checked against pymsprog; kept whole.
def _scan(B: _Bucket, d: EndpointDefinition, rel: _RelapseIndex, vd: VisitData,  # noqa: C901
          until: Until, target: int | None = None, hook: ScanRecorder = _OFF
          ) -> list[dict[str, IntArray]]:
    n, V = B.T.shape
    J = np.arange(V)[None, :]
    bl = np.zeros(n, dtype=np.int64)
    s = np.ones(n, dtype=np.int64)
    active = np.ones(n, dtype=bool)
    have = np.zeros((n, 2), dtype=bool)
    out: list[dict[str, IntArray]] = []
    seq = 0
    bl_last = np.full(n, np.nan)
    have_target = np.zeros(n, dtype=bool)
    assoc = 0.0 if target == CLS_PIRA else d.relapse_assoc[0]
    while True:
        r = np.flatnonzero(active)
        if r.size == 0:
            break
        nv = B.nv[r]
        b0 = bl[r]
        b = B.next_bl[r, b0]
        stop = (b != b0) & (b >= nv - 1)
        b = np.minimum(b, nv - 1)
        bl[r] = b
        if d.bl_geq:  # Kappos 2020: a new reference is never below the previous one
            up = ~np.isnan(bl_last[r]) & (bl_last[r] > B.X[r, b]) & ~stop
            B.X[r[up], b[up]] = bl_last[r[up]]
            bl_last[r] = B.X[r, b]
        s_r = np.where(s[r] <= b, b + 1, s[r])
        ar = np.arange(r.size)
        X = B.X[r]
        bx = X[ar, b]
        D = X - bx[:, None]
        dw = delta_table(d, bx)
        di = dw if d.improvement_delta is None else np.full_like(dw, d.improvement_delta)
        W = D >= dw[:, None]
        Im = D <= -di[:, None]
        valid = B.valid[r]
        change = (D != 0) if d.sub_threshold_rebl != "none" else (W | Im)
        cand = (J >= s_r[:, None]) & valid & change & B.ev_ok[r]
        c = cand.argmax(axis=1)
        go = cand[ar, c] & ~stop
        active[r[~go]] = False
        hook.search(B, r, b0, b, s_r, c, go, stop)
        if not go.any():
            hook.after(B, r, bl, s, active)
            continue
        g = np.flatnonzero(go)
        seq += 1
        cross = np.zeros(g.size, dtype=bool)
        irel = np.zeros(0)
        if d.relapse_rebl:
            irel = rel.next_after(B.rows[r[g]], B.T[r[g], b[g]])
            cross = B.T[r[g], c[g]] > irel + assoc
            s[r[g[cross]]] = c[g[cross]]
            hook.crossed(B, r[g], cross, irel)
        gs = g[~cross]
        if gs.size:
            step = _Step(B, d, r[gs], b[gs], c[gs], W[gs], Im[gs], D[gs], valid[gs], J)
            step.classify(rel, vd, target)
            step.rebaseline()
            hook.step(step, seq)
            rec = step.record()
            if rec is not None:
                rec["seq"] = np.full(rec["code"].size, seq, dtype=np.int64)
                out.append(rec)
                have[step.rows, 0] |= step.is_event & step.cdw
                have[step.rows, 1] |= step.is_event & step.cdi
                if target is not None:
                    have_target[step.rows] |= step.is_event & (step.cls == target)
            bl[step.rows] = step.new_bl
            s[step.rows] = step.new_s
        if d.relapse_rebl:
            _relapse_rebaseline(B, assoc, rel, r[g], irel, bl, s, active, J)
        if target is not None:
            active &= ~have_target
        elif until == "cdw":
            active &= ~have[:, 0]
        elif until == "first":
            active &= ~(have[:, 0] & have[:, 1])
        hook.after(B, r, bl, s, active)
    return out


def _relapse_rebaseline(B: _Bucket, assoc: float, rel: _RelapseIndex,
                        rows: IntArray, irel: FloatArray, bl: IntArray, s: IntArray,
                        active: BoolArray, J: IntArray) -> None:
    """msprog ``relapse_rebl``: when a relapse lies between the baseline and the search
    position (more than ``relapse_assoc[0]`` days before it), move the baseline to the first
    visit on or after the next relapse (the one after the baseline at the start of the step)."""
    nv = B.nv[rows]
    b, sr = bl[rows], s[rows]
    T = B.T[rows]
    ar = np.arange(rows.size)
    ok = sr < nv
    t_s = T[ar, np.minimum(sr, nv - 1)]
    cond = ok & rel.any_open(B.rows[rows], T[ar, b], t_s - assoc)
    if not cond.any():
        return
    m = (J >= b[:, None]) & B.valid[rows] & (T >= irel[:, None])
    has = m.any(axis=1)
    x = m.argmax(axis=1)
    move = cond & has
    bl[rows[move]] = x[move]
    s[rows[move]] = x[move] + 1
    active[rows[cond & (~has | (x > nv - 2))]] = False


class _Step:
    """One scan step for the active patients that have a candidate onset ``c``."""

    def __init__(self, B: _Bucket, d: EndpointDefinition, rows: IntArray, b: IntArray,
                 c: IntArray, W: BoolArray, Im: BoolArray, D: FloatArray, valid: BoolArray,
                 J: IntArray) -> None:
        self.B, self.d, self.rows, self.b, self.c = B, d, rows, b, c
        m = rows.size
        ar = np.arange(m)
        nv = B.nv[rows]
        T = B.T[rows]
        tc = T[ar, c]
        dt = T - tc[:, None]
        after = J > c[:, None]
        lo = d.conf_days - d.conf_tol_days[0]
        hi = d.conf_days + d.conf_tol_days[1]
        self.window = after & valid & (dt >= lo) & (dt <= hi)
        cw = self.window & B.conf_ok[rows]
        c0 = cw.argmax(axis=1)
        hasconf = cw[ar, c0]
        isW, isI = W[ar, c], Im[ar, c]
        if d.check_intermediate:
            upto = after & (J <= c0[:, None])
            okW = ~(upto & ~W).any(axis=1)
            okI = ~(upto & ~Im).any(axis=1)
        else:
            okW, okI = W[ar, c0], Im[ar, c0]
        imputed = (isW & (c == nv - 1) & (d.impute_last_visit > 0)
                   & (tc - T[:, 0] <= d.impute_max_days))
        self.W, self.Im, self.hasconf, self.okW, self.okI = W, Im, hasconf, okW, okI
        self.cdi = hasconf & isI & okI
        self.cdw = isW & ((hasconf & okW) | imputed)
        self.imputed = imputed & self.cdw
        c0 = np.where(self.imputed, c, c0)
        M = np.where(self.cdi[:, None], Im, W)
        nn_mask = (J > c0[:, None]) & valid & ~M
        has_nn = np.asarray(nn_mask.any(axis=1), dtype=bool)
        nn = np.where(has_nn, nn_mask.argmax(axis=1), nv)
        self.c0, self.nn, self.nv, self.tc, self.T = c0, nn, nv, tc, T
        self.is_event = (self.cdi | self.cdw) & self._sustained(has_nn, M, dt, after, valid)
        self.sub_i, self.sub_w = self._sub_threshold(D, hasconf, after, J, c0)
        self.pira_mask = np.where(self.imputed[:, None], J == c[:, None],
                                  cw & (J < nn[:, None]))

    def _sustained(self, has_nn: BoolArray, M: BoolArray, dt: FloatArray, after: BoolArray,
                   valid: BoolArray) -> BoolArray:
        rsd = self.d.require_sust_days
        ok = np.ones(self.rows.size, dtype=bool)
        if not rsd:
            return ok
        ar = np.arange(self.rows.size)
        if self.d.check_intermediate:
            t_nn = self.T[ar, np.minimum(self.nn, self.nv - 1)]
            return np.asarray(~has_nn | (t_nn - self.tc >= rsd), dtype=bool)
        long = self.T[ar, self.nv - 1] - self.tc >= rsd
        sv = np.where(long, (after & valid & (dt >= rsd)).argmax(axis=1), self.nv - 1)
        return np.asarray(M[ar, sv], dtype=bool)

    def _sub_threshold(self, D: FloatArray, hasconf: BoolArray, after: BoolArray,
                       J: IntArray, c0: IntArray) -> tuple[BoolArray, BoolArray]:
        """Confirmed sub-threshold improvement / worsening that re-baseline (msprog)."""
        d, m = self.d, self.rows.size
        st = d.sub_threshold_rebl
        no = np.zeros(m, dtype=bool)
        if st == "none":
            return no, no
        ar = np.arange(m)
        out = []
        for lower, kinds, schemes, full in (
                (True, ("event", "improvement"), ("roving", "roving_impr"), self.cdi),
                (False, ("event", "worsening"), ("roving", "roving_wors"), self.cdw)):
            if st not in kinds or d.baseline not in schemes:
                out.append(no)
                continue
            L = D < 0 if lower else D > 0
            if d.check_intermediate:
                ok = ~((after & (J <= c0[:, None])) & ~L).any(axis=1)
            else:
                ok = L[ar, c0]
            out.append(np.asarray(~full & hasconf & L[ar, self.c] & ok, dtype=bool))
        return out[0], out[1]

    def rebaseline(self) -> None:
        """New baseline and search position of every row."""
        d = self.d
        newref = self.c0 if d.proceed_from == "firstconf" else self.c
        rove_i = d.baseline in ("roving", "roving_impr")
        rove_w = d.baseline in ("roving", "roving_wors")
        kept = np.where(self.is_event, newref, self.c)
        s_next = self.c + 1
        s_next = np.where(self.cdi, (newref if rove_i else kept) + 1, s_next)
        cdw_conf = self.cdw & ~self.imputed
        s_next = np.where(cdw_conf, (newref if rove_w else kept) + 1, s_next)
        new_bl = self.b.copy()
        if rove_i:
            new_bl = np.where(self.cdi, newref, new_bl)
        if rove_w:
            new_bl = np.where(cdw_conf, newref, new_bl)
        sub = self.sub_i | self.sub_w
        new_bl = np.where(sub, newref, new_bl)
        s_next = np.where(sub, newref + 1, s_next)
        self.new_bl, self.new_s = new_bl, s_next

    def classify(self, rel: _RelapseIndex, vd: VisitData, target: int | None) -> None:
        """RAW / PIRA / undetermined class of each confirmed worsening; with a ``target``
        class and a fixed or ``roving_impr`` baseline, other worsenings are dropped (msprog
        firstPIRA / firstRAW)."""
        B, d, m = self.B, self.d, self.rows.size
        self.cls = np.full(m, CLS_NONE, dtype=np.int64)
        self.pira_conf = np.full(m, -1, dtype=np.int64)
        ev = np.flatnonzero(self.is_event & self.cdw)
        if ev.size:
            idx = B.idx[self.rows[ev]]
            ar = np.arange(ev.size)
            c, b = self.c[ev], self.b[ev]
            onset = idx[ar, c]
            raw = (B.cb[onset] <= d.relapse_assoc[0]) | (B.ca[onset] <= d.relapse_assoc[1])
            cls = np.where(raw, CLS_RAW, CLS_UNDETERMINED)
            pira_conf = np.full(ev.size, -1, dtype=np.int64)
            check = ~raw
            if check.any():
                pc = _pira(self, ev[check], idx[check], b[check], c[check], rel, vd, d)
                pira_conf[check] = np.where(self.imputed[ev][check], -1, pc)
                cls[check] = np.where(pc >= 0, CLS_PIRA, CLS_UNDETERMINED)
            self.cls[ev], self.pira_conf[ev] = cls, pira_conf
        if target is not None and d.baseline in ("fixed", "roving_impr"):
            self.is_event = self.is_event & ~(self.cdw & (self.cls != target))

    def record(self) -> dict[str, IntArray] | None:
        """Flat-index description of the events found in this step (None if none)."""
        ev = np.flatnonzero(self.is_event)
        if ev.size == 0:
            return None
        B = self.B
        rows = self.rows[ev]
        idx = B.idx[rows]
        ar = np.arange(ev.size)
        c, c0, b = self.c[ev], self.c0[ev], self.b[ev]
        onset = idx[ar, c]
        cdw = self.cdw[ev]
        cls, pira_conf = self.cls[ev], self.pira_conf[ev]
        code = B.rows[rows]
        return {
            "code": code,
            "kind": np.where(cdw, KIND_CDW, KIND_CDI),
            "onset": onset,
            "conf": np.where(self.imputed[ev], -1, idx[ar, c0]),
            "baseline": idx[ar, b],
            "baseline_value": B.X[rows, b],
            "sust": idx[ar, np.minimum(self.nn[ev], self.nv[ev]) - 1],
            "cls": cls,
            "pira_conf": pira_conf,
        }


def _last_delta(step: _Step, ev: IntArray, c: IntArray, d: EndpointDefinition) -> IntArray:
    """msprog's "last visit with a meaningful difference": the last visit ``j`` in
    ``1..c-1`` with ``x[c] - x[j] >= delta(x[j])`` and the same at every visit from onset to
    the first confirmation visit (only at that visit without the intermediate check); 0 if
    none."""
    rows = step.rows[ev]
    X = step.B.X[rows]
    V = X.shape[1]
    J = np.arange(V)[None, :]
    ar = np.arange(ev.size)
    c0 = step.c0[ev]
    dj = delta_table(d, X)
    if d.check_intermediate:
        span = (J > c[:, None]) & (J <= c0[:, None])
        conf_min = np.where(span, X, np.inf).min(axis=1)
    else:
        conf_min = np.where(c0 > c, X[ar, c0], np.inf)
    ok = ((X[ar, c][:, None] - X >= dj) & (conf_min[:, None] - X >= dj)
          & (J >= 1) & (J < c[:, None]) & ~step.B.extr[rows])
    last = np.where(ok, J, 0).max(axis=1)
    return np.asarray(last, dtype=np.int64)


def pira_windows(points: Any) -> list[tuple[FloatArray, FloatArray, BoolArray]]:
    """The relapse-free windows ``[t0, t1]`` of the PIRA checkpoints ``(day, (before,
    after))`` (prec, event, conf), with the mask of where each window is used (``None`` as the
    right end of one window and the left end of the next joins them)."""
    out = []
    t0: FloatArray | None = None
    for t, (w0, w1) in points:
        if w0 is not None:
            t0 = t - w0
        if w1 is not None:
            assert t0 is not None  # pira_prec never starts with None (definition check)
            t1 = t + w1
            out.append((t0, t1, np.asarray(t1 > t0, dtype=bool)))
    return out


def _pira(step: _Step, ev: IntArray, idx: IntArray, b: IntArray, c: IntArray,
          rel: _RelapseIndex, vd: VisitData, d: EndpointDefinition) -> IntArray:
    """First relapse-free confirmation visit (flat index) per event, -1 when none."""
    mask = step.pira_mask[ev]
    ri, cj = np.nonzero(mask)
    out = np.full(ev.size, -1, dtype=np.int64)
    if ri.size == 0:
        return out
    T = step.T[ev]
    if d.prec_type == "baseline":
        prec_col = b
    elif d.prec_type == "last":
        prec_col = c - 1
    else:
        prec_col = _last_delta(step, ev, c, d)
    points = (
        (T[np.arange(ev.size), prec_col][ri], d.pira_prec),
        (T[np.arange(ev.size), c][ri], d.pira_event),
        (T[ri, cj], d.pira_conf),
    )
    code = step.B.rows[step.rows[ev]][ri]
    hit = np.zeros(ri.size, dtype=bool)
    for t0, t1, use in pira_windows(points):
        hit |= use & rel.any_between(code, t0, t1)
    ok = ~hit
    first = np.full(ev.size, np.iinfo(np.int64).max)
    np.minimum.at(first, ri[ok], cj[ok])
    has = first < np.iinfo(np.int64).max
    out[has] = idx[np.flatnonzero(has), first[has]]
    return out
