"""Confirmed milestones: time to the first *confirmed* value at or above a milestone (e.g. an
EDSS of 4.0 or 6.0), the rule of pymsprog 1.0.7's ``value_milestone``.

The rule, per patient and milestone ``m`` (visits in date order; "reaching" = ``value >= m``
on the engine's values: a decreasing outcome such as SDMT arrives negated, and
:func:`milestone_columns` negates its milestones with ``sign=-1``):

1. The candidate onset is the first visit from the search position (initially the first
   visit) that reaches ``m`` and is not within ``relapse_to_event`` of a relapse.
2. It is confirmed by the first visit in the confirmation window (``conf_days - left`` to
   ``conf_days + right`` days after onset) that is not within ``relapse_to_conf`` of a
   relapse, when every visit after onset up to and including that one reaches ``m`` (all
   values are always checked: ``check_intermediate`` does not apply). A candidate at the last
   visit is confirmed without a confirmation visit when ``impute_last_visit`` is 1, or N > 1
   and onset is at most N days after the first visit.
3. With ``require_sust_days``, a confirmed onset also needs the first visit after the
   confirmation that no longer reaches ``m`` (if any) to be at least that many days after
   onset; otherwise the search resumes after that visit.
4. After an unconfirmed candidate the search resumes at the next visit (as for worsening).
   ``value_milestone`` resumes after the first later visit below ``m`` instead, and ends the
   search when there is none; that is the same when the candidate failed because a visit up
   to its confirmation dropped below ``m`` (every candidate before the drop then fails too),
   but when the candidate had *no* eligible confirmation visit it skips later onsets that
   are confirmed (EDSS 6 at days 0, 100, 180 with a tolerance of 7 days: no visit confirms
   day 0, day 180 confirms day 100; pymsprog reports no milestone). docs/endpoints.md
   "Milestones" lists this and pymsprog's last-visit imputation test (the milestone
   *value* compared with the number of visits), the two differences from pymsprog 1.0.7.

Relapses before ``first visit - relapse_to_event[0]`` are ignored (``value_milestone``).
The scan runs for all patients at once on ``patients x visits`` matrices (rows padded within
buckets of similar length); each step moves every active patient's search past its
candidate, so the number of steps is bounded by the longest visit list, not by the number
of patients.
"""

from __future__ import annotations

import numpy as np

from hsctms.endpoints.definition import EndpointDefinition
from hsctms.endpoints.disability import (
    BoolArray,
    FloatArray,
    IntArray,
    VisitData,
    _RelapseIndex,
    filter_relapses,
)

__all__ = ["milestone_columns", "milestone_label", "milestone_name", "milestone_onsets"]


def milestone_name(m: float) -> str:
    """Endpoint name of milestone ``m``: ``milestone_4_0``, ``milestone_6_5``,
    ``milestone_4_25`` (distinct milestones always get distinct names).

    Parameters
    ----------
    m
        The milestone value on the outcome's own scale (EDSS points for EDSS); negative values
        are written with ``m`` (``milestone_m1_0``).

    Returns
    -------
    str
        The endpoint name, the prefix of the ``<name>_time`` / ``<name>_event`` columns.
    """
    text = f"{m:.1f}" if float(f"{m:.1f}") == m else repr(float(m))
    return "milestone_" + text.replace(".", "_").replace("-", "m").replace("+", "p")


def milestone_label(m: float, *, increase: bool = True) -> str:
    """Human-readable label of milestone ``m`` (result summaries); ``increase=False`` for an
    outcome that worsens downwards (``<= m``).

    Parameters
    ----------
    m
        The milestone value on the outcome's own scale.
    increase
        True (default) when the outcome worsens upwards (EDSS, NHPT, T25FW): the label reads
        ``>= m``; False for an outcome that worsens downwards (SDMT): ``<= m``.

    Returns
    -------
    str
        E.g. ``"Confirmed value >= 6.0"``.
    """
    text = f"{m:.1f}" if float(f"{m:.1f}") == m else repr(float(m))
    return f"Confirmed value {'>=' if increase else '<='} {text}"


def milestone_onsets(vd: VisitData, d: EndpointDefinition, milestone: float) -> IntArray:
    """Onset visit (flat index into ``vd``) of the first confirmed milestone per patient.

    Parameters
    ----------
    vd
        Visits and *all* relapses (unfiltered: relapses before ``first visit -
        relapse_to_event[0]`` are dropped here, as ``value_milestone`` does).
    d
        The definition (``conf_days``, ``conf_tol_days``, ``require_sust_days``,
        ``relapse_to_event``, ``relapse_to_conf``, ``impute_last_visit`` are used).
    milestone
        The value to reach (``value >= milestone``).

    Returns
    -------
    numpy.ndarray
        ``n_patients`` flat visit indices, -1 where the milestone is not reached.
    """
    vd = filter_relapses(vd, d.relapse_to_event[0])
    cb, ca = _RelapseIndex(vd).closest(vd.code, vd.day)
    ev_ok = (cb >= d.relapse_to_event[0]) & (ca >= d.relapse_to_event[1])
    conf_ok = (cb >= d.relapse_to_conf[0]) & (ca >= d.relapse_to_conf[1])
    out = np.full(vd.n_patients, -1, dtype=np.int64)
    with_visits = np.flatnonzero(vd.count > 0)
    if with_visits.size == 0:
        return out
    bits = np.ceil(np.log2(vd.count[with_visits])).astype(np.int64)
    for bit in np.unique(bits):
        rows = with_visits[bits == bit]
        out[rows] = _scan(vd, d, rows, float(milestone), ev_ok, conf_ok)
    return out


def _scan(vd: VisitData, d: EndpointDefinition, rows: IntArray, m: float,
          ev_ok: BoolArray, conf_ok: BoolArray) -> IntArray:
    """:func:`milestone_onsets` for the patients ``rows`` (one bucket)."""
    nv = vd.count[rows]
    n, V = rows.size, int(nv.max())
    J = np.arange(V)[None, :]
    valid = J < nv[:, None]
    idx = np.where(valid, vd.start[rows][:, None] + J, vd.start[rows][:, None])
    T = vd.day[idx]
    reach = valid & (vd.value[idx] >= m)
    ev = reach & ev_ok[idx]
    conf = valid & conf_ok[idx]
    lo = d.conf_days - d.conf_tol_days[0]
    hi = d.conf_days + d.conf_tol_days[1]
    rsd = d.require_sust_days
    s = np.zeros(n, dtype=np.int64)
    onset = np.full(n, -1, dtype=np.int64)
    active = np.ones(n, dtype=bool)
    while True:
        r = np.flatnonzero(active)
        if r.size == 0:
            break
        cand = ev[r] & (J >= s[r][:, None])
        c = cand.argmax(axis=1)
        ar = np.arange(r.size)
        go = cand[ar, c]
        active[r[~go]] = False
        r, c = r[go], c[go]
        if r.size == 0:
            break
        ar = np.arange(r.size)
        Tr, R, nvr = T[r], reach[r], nv[r]
        tc = Tr[ar, c]
        dt = Tr - tc[:, None]
        after = J > c[:, None]
        window = after & conf[r] & (dt >= lo) & (dt <= hi)
        c0 = window.argmax(axis=1)
        hasconf = window[ar, c0]
        upto = after & (J <= c0[:, None])
        held = ~(upto & ~R).any(axis=1)
        imputed = ~(hasconf & held) & (c == nvr - 1) & (d.impute_last_visit > 0) \
            & (tc - Tr[:, 0] <= d.impute_max_days)
        confirmed = (hasconf & held) | imputed
        c0 = np.where(imputed, c, c0)
        below = valid[r] & ~R
        nn_mask = below & (J > c0[:, None])
        has_nn = nn_mask.any(axis=1)
        nn = nn_mask.argmax(axis=1)
        sustained = np.ones(r.size, dtype=bool)
        if rsd:
            sustained = ~has_nn | (Tr[ar, nn] - tc >= rsd)
        done = confirmed & sustained
        onset[r[done]] = idx[r[done], c[done]]
        active[r[done]] = False
        retry = confirmed & ~sustained  # has_nn is True here
        s[r[retry]] = nn[retry] + 1
        s[r[~confirmed]] = c[~confirmed] + 1
    return onset


def milestone_columns(vd: VisitData, d: EndpointDefinition, origin: FloatArray, *,
                      sign: float = 1.0) -> dict[str, FloatArray | IntArray]:
    """``milestone_<m>_time`` / ``milestone_<m>_event`` for every milestone of ``d``.

    The time is from the origin to the onset of the confirmed milestone (0 when that onset is
    the transplant-origin baseline visit before the transplant: the milestone was already
    reached at the origin), else to the last visit (censored), as the other endpoints.

    Parameters
    ----------
    vd
        The visits the endpoints are derived from (from the baseline on) and all relapses.
    d
        The definition (``milestones`` and the confirmation fields).
    origin
        Origin day per patient code.
    sign
        -1 when the values of ``vd`` are a decreasing outcome negated (the milestones, on the
        outcome's own scale, are then negated too: SDMT <= 40 is ``-value >= -40``).

    Returns
    -------
    dict of str to numpy.ndarray
        Two arrays per milestone, one entry per patient code: ``<name>_time`` (days from the
        origin, float) and ``<name>_event`` (1 = confirmed milestone reached, 0 = censored).
    """
    n = vd.n_patients
    last = np.full(n, np.nan)
    has = vd.count > 0
    last[has] = vd.day[vd.start[has] + vd.count[has] - 1]
    cens = np.fmax(last - origin, 0.0)
    out: dict[str, FloatArray | IntArray] = {}
    for m in d.milestones:
        onset = milestone_onsets(vd, d, sign * m)
        hit = onset >= 0
        day = np.full(n, np.nan)
        day[hit] = vd.day[onset[hit]]
        t = np.where(hit, np.maximum(day - origin, 0.0), cens)
        name = milestone_name(m)
        out[f"{name}_time"] = t.astype(np.float64)
        out[f"{name}_event"] = hit.astype(np.int64)
    return out
