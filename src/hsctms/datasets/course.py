"""Vectorised simulation of the post-treatment disease course.

:func:`simulate_course` is the engine shared by the cohort generator
(:mod:`hsctms.datasets.generate`) and the trial simulator (via :func:`simulate_arm`). It works on
whole arrays: one row per patient for the latent processes, one row per visit for the
observations; there is no Python loop over patients.

Latent model (days from the origin, i.e. transplant or randomisation):

* loss to follow-up ~ Exponential(``dropout_rate``); treatment-related death with probability
  ``early_death_prob`` uniformly on days 5-100; other death ~ Exponential(``other_death_rate``);
  observation ends at the first of death, dropout and the administrative end (data date or
  end of trial follow-up);
* a gamma frailty ``G`` (mean 1, shape ``relapse_shape``) multiplies the relapse and the MRI
  activity rates (relapse counts are negative binomial);
* relapses: Poisson(``relapse_rate * G``) from day 30; each relapse raises EDSS for
  ``relapse_bump_days``, leaves a sustained step of the confirmation size (relapse-associated
  worsening, RAW) with probability ``relapse_worsening_prob`` or else +0.5 with probability
  ``relapse_residual_prob`` (not where +0.5 is the threshold), brings an MRI activity episode
  with probability ``relapse_mri_prob``, and is assessed at an unscheduled EDSS visit
  ``relapse_visit_days`` after onset with probability ``relapse_visit_prob``;
* MRI activity episodes: Poisson(``mri_rate * G``) after the re-baseline scan (~6 months); the
  re-baseline scan itself is active with probability ``mri_residual_prob``;
* sustained relapse-independent worsening (PIRA): Poisson process with hazard
  ``worsening_hazard``, each event a step of +1.5 (baseline 0), +1.0 (baseline 1.0-5.5) or
  +0.5 (baseline >= 6.0), the same step as a RAW;
* sustained improvement: one step of -0.5/-1.0/-1.5 at an Exponential(``improvement_hazard``)
  time if it falls inside ``improvement_window`` years;
* transient early worsening (+0.5/+1.0) between days 20 and 120 with probability
  ``transient_worsening_prob``;
* EDSS measurement noise: +/-0.5 with probability ``edss_noise_prob`` at each visit.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hsctms.datasets.disease_model import (
    ArmParameters,
    ArmPopulation,
    DiseaseModel,
    MortalityParams,
    PostTransplantParams,
    VisitSchedule,
)
from hsctms.errors import ConfigurationError
from hsctms.model.cohort import conform
from hsctms.model.schema import SCHEMA

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
_M = np.int64(1 << 20)  # key multiplier: patient index * _M + day + _OFF
_OFF = np.int64(1 << 14)
_ARM_FIELDS = tuple(f.name for f in fields(ArmParameters)
                    if f.name not in ("name", "treatment", "conditioning"))


def snap_edss(x: npt.ArrayLike) -> FloatArray:
    """Round real values to the nearest valid EDSS step (0, 1.0-9.5 by 0.5; never 0.5).

    Parameters
    ----------
    x
        Real EDSS-like values (scalar or array). They are clipped to 0-9.5 (so 10, death,
        is never produced) and rounded to the nearest 0.5 (a value half-way between two
        steps goes to the even multiple of 0.5, numpy's rounding: 1.25 -> 1.0, 1.75 -> 2.0);
        a value that rounds to 0.5 goes to 1.0 from 0.5 up, else to 0.

    Returns
    -------
    numpy.ndarray
        Float array of the shape of ``x`` holding valid EDSS scores (EDSS points).

    Examples
    --------
    >>> snap_edss([0.3, 0.6, 1.2, 3.76, 12.0]).tolist()
    [0.0, 1.0, 1.0, 4.0, 9.5]
    """
    arr = np.clip(np.asarray(x, dtype=float), 0.0, 9.5)
    v = np.round(arr * 2.0) / 2.0
    return np.where(v == 0.5, np.where(arr >= 0.5, 1.0, 0.0), v)


def worsening_step(baseline: FloatArray) -> FloatArray:
    """EDSS step of one sustained worsening event: +1.5 from 0, +1.0 up to 5.5, +0.5 above."""
    return np.where(baseline < 0.5, 1.5, np.where(baseline <= 5.5, 1.0, 0.5))


def arm_arrays(arms: Sequence[ArmParameters], which: IntArray) -> dict[str, FloatArray]:
    """Per-patient parameter arrays: patient ``i`` follows ``arms[which[i]]``."""
    out: dict[str, FloatArray] = {}
    for name in _ARM_FIELDS:
        values = np.array([float(getattr(a, name)) for a in arms])
        out[name] = values[which]
    return out


def _keys(pid: IntArray, day: IntArray) -> IntArray:
    return pid.astype(np.int64) * _M + day.astype(np.int64) + _OFF


def _count_in(sorted_keys: IntArray, pid: IntArray, lo: IntArray, hi: IntArray) -> IntArray:
    """Number of events of patient ``pid`` with ``lo <= day <= hi`` (vectorised)."""
    right = np.searchsorted(sorted_keys, _keys(pid, hi), side="right")
    left = np.searchsorted(sorted_keys, _keys(pid, lo), side="left")
    return (right - left).astype(np.int64)


def _count_since_origin(sorted_keys: IntArray, pid: IntArray, hi: IntArray, n: int
                        ) -> IntArray:
    """``_count_in(sorted_keys, pid, 0, hi)`` for patients ``0..n-1``, with the lower bound
    searched once per patient rather than once per row."""
    left = np.searchsorted(sorted_keys, _keys(np.arange(n, dtype=np.int64),
                                              np.zeros(n, dtype=np.int64)), side="left")
    right = np.searchsorted(sorted_keys, _keys(pid, hi), side="right")
    return (right - left[pid]).astype(np.int64)


def _sort_unique(pid: IntArray, day: IntArray) -> tuple[IntArray, IntArray]:
    """Events sorted by patient and day, at most one per patient-day."""
    if _keyable(pid, day):  # one int64 sort of the packed keys instead of a two-key lexsort
        keys = np.sort(_keys(pid, day))
        keep = np.ones(len(keys), dtype=bool)
        keep[1:] = keys[1:] != keys[:-1]
        return _unkey(keys[keep])
    order = np.lexsort((day, pid))
    pid, day = pid[order], day[order]
    keep = np.ones(len(pid), dtype=bool)
    keep[1:] = (pid[1:] != pid[:-1]) | (day[1:] != day[:-1])
    return pid[keep], day[keep]


def _keyable(pid: IntArray, day: IntArray) -> bool:
    """Whether integer ``(pid, day)`` pairs pack losslessly into :func:`_keys` (``day`` in
    ``[-_OFF, _M - _OFF)``, non-negative ``pid``), so that sorting the keys sorts the pairs."""
    if not len(pid):
        return True
    if pid.dtype.kind not in "iu" or day.dtype.kind not in "iu":
        return False
    return bool(pid.min() >= 0 and pid.max() < (1 << 40) and day.min() >= -_OFF
                and day.max() < _M - _OFF)


def _unkey(keys: IntArray) -> tuple[IntArray, IntArray]:
    """The ``(pid, day)`` pairs of packed :func:`_keys`."""
    pid = keys // _M
    return pid, keys - pid * _M - _OFF


def _poisson_times(rng: np.random.Generator, rate_per_year: FloatArray, start: FloatArray,
                   stop: FloatArray) -> tuple[IntArray, IntArray]:
    """Events of a homogeneous Poisson process on [start, stop) per patient -> (pid, day)."""
    span = np.maximum(stop - start, 0.0)
    lam = np.where(np.isfinite(span), rate_per_year * span / DAYS_PER_YEAR, 0.0)
    counts = rng.poisson(lam)
    pid = np.repeat(np.arange(len(start), dtype=np.int64), counts)
    day = start[pid] + rng.random(len(pid)) * span[pid]
    return pid, np.floor(day).astype(np.int64)


def _piecewise_events(rng: np.random.Generator, rate_per_year: FloatArray, factor: FloatArray,
                      start: FloatArray, split: FloatArray, stop: FloatArray
                      ) -> tuple[IntArray, IntArray]:
    """Poisson events with rate ``rate * factor`` before ``split`` and ``rate`` after it."""
    p1, d1 = _poisson_times(rng, rate_per_year * factor, start, np.minimum(split, stop))
    p2, d2 = _poisson_times(rng, rate_per_year, np.maximum(split, start), stop)
    return _sort_unique(np.concatenate([p1, p2]), np.concatenate([d1, d2]))


def _visit_grid(rng: np.random.Generator, nominal: FloatArray, n: int, jitter: float,
                miss: float, end: FloatArray) -> tuple[IntArray, IntArray]:
    """Jittered visit days per patient, before ``end`` and not missed -> (pid, day)."""
    days = nominal[None, :] + rng.uniform(-jitter, jitter, size=(n, len(nominal)))
    days = np.rint(days)
    keep = (days < end[:, None]) & (rng.random(days.shape) >= miss)
    pid, col = np.nonzero(keep)
    return pid.astype(np.int64), days[pid, col].astype(np.int64)


def _schedule_days(first: Sequence[float], late_interval: float, horizon_days: float
                   ) -> FloatArray:
    months = list(first)
    last = months[-1] if months else 0.0
    while (last + late_interval) * DAYS_PER_MONTH < horizon_days + 60:
        last += late_interval
        months.append(last)
    return np.asarray(months, dtype=float) * DAYS_PER_MONTH


@dataclass(frozen=True)
class CourseResult:
    """Output of :func:`simulate_course`: per-patient latent truth and observation rows.

    Day columns are integer days from each patient's origin; ``index`` is the patient's
    position (0-based) in the input arrays.

    Parameters
    ----------
    truth
        One row per patient: ``index``, ``end_day`` (end of observation), ``died``,
        ``death_day``, ``treatment_related_death``, ``lost_to_follow_up``, the days of the
        first relapse, MRI activity and sustained worsening (relapse-independent or
        relapse-associated; ``inf`` when none), ``first_raw_day`` (first relapse that left a
        sustained step, ``inf`` when none), of the improvement and transient worsening (NaN
        when none), ``baseline_edss`` and the gamma ``frailty``.
    edss
        Observed EDSS visits (scheduled and at relapses, one per day): ``index``, ``day``,
        ``edss`` (valid EDSS steps).
    relapses
        Relapse onsets: ``index``, ``day``.
    mri
        MRI scans: ``index``, ``day``, ``new_t2``, ``gd_lesions``, ``brain_volume`` (mL).
    """

    truth: pd.DataFrame
    edss: pd.DataFrame
    relapses: pd.DataFrame
    mri: pd.DataFrame


def _choice(rng: np.random.Generator, options: Sequence[tuple[str, float]], n: int
            ) -> npt.NDArray[np.object_]:
    labels = np.array([o[0] for o in options], dtype=object)
    p = np.array([o[1] for o in options], dtype=float)
    return labels[rng.choice(len(labels), size=n, p=p / p.sum())]


def _exp_days(rng: np.random.Generator, rate_per_year: FloatArray,
              shape: tuple[int, ...] | None = None) -> FloatArray:
    """Exponential waiting times in days (``inf`` where the rate is ~0)."""
    size = shape or rate_per_year.shape
    e = rng.exponential(1.0, size)
    rate = np.broadcast_to(rate_per_year, size)
    ok = rate > 1e-9
    out = np.full(size, np.inf)
    np.divide(e * DAYS_PER_YEAR, rate, out=out, where=ok)
    return out


def _mortality(rng: np.random.Generator, par: dict[str, FloatArray], admin_end: FloatArray
               ) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_], npt.NDArray[np.bool_],
                          npt.NDArray[np.bool_]]:
    n = len(admin_end)
    dropout = _exp_days(rng, par["dropout_rate"])
    other = _exp_days(rng, par["other_death_rate"])
    trm = rng.random(n) < par["early_death_prob"]
    trm_day = np.floor(rng.uniform(5, 100, n))
    death = np.where(trm, trm_day, np.floor(other))
    end = np.minimum(np.minimum(admin_end, dropout), death)
    died = death <= np.minimum(admin_end, dropout)
    end = np.where(died, death, np.floor(end))
    lost = ~died & (dropout < admin_end)
    return end, death, died, trm & died, lost


def simulate_course(
    rng: np.random.Generator,
    params: dict[str, FloatArray],
    baseline_edss: FloatArray,
    admin_end: FloatArray,
    *,
    post: PostTransplantParams | None = None,
    schedule: VisitSchedule | None = None,
    pre_t2_mean: FloatArray | None = None,
    pre_gd_mean: FloatArray | None = None,
) -> CourseResult:
    """Simulate the course of ``n`` patients from their origin (day 0).

    Parameters
    ----------
    rng
        Random generator (the caller owns seeding).
    params
        Per-patient arm parameters (see :func:`arm_arrays`).
    baseline_edss
        EDSS at the origin (valid grid values).
    admin_end
        Administrative end of follow-up in days from the origin (data date or trial end).
    post, schedule
        Noise/relapse-effect parameters and the visit schedule (defaults from
        :class:`~hsctms.datasets.disease_model.DiseaseModel`).
    pre_t2_mean, pre_gd_mean
        Mean lesion counts on the baseline scan (defaults 3.0 and 2.0).

    Returns
    -------
    CourseResult
    """
    post = post or PostTransplantParams()
    schedule = schedule or VisitSchedule()
    n = len(baseline_edss)
    pid_all = np.arange(n, dtype=np.int64)
    base = snap_edss(baseline_edss)
    end, death, died, trm, lost = _mortality(rng, params, admin_end.astype(float))

    # -- relapses and frailty -------------------------------------------------------------
    shape = params["relapse_shape"]
    frailty = rng.gamma(shape, 1.0 / shape)
    split = params["early_years"] * DAYS_PER_YEAR
    factor = params["early_factor"]
    r_pid, r_day = _piecewise_events(rng, params["relapse_rate"] * frailty, factor,
                                     np.full(n, 30.0), split, end)
    r_keys = _keys(r_pid, r_day)
    step = worsening_step(base)
    # one draw per relapse: a sustained step of the confirmation size (RAW), else perhaps a
    # +0.5 residual below the threshold (none where +0.5 is itself the threshold)
    u = rng.random(len(r_pid))
    p_raw = params["relapse_worsening_prob"][r_pid]
    raw = u < p_raw
    residual = ~raw & (u < p_raw + post.relapse_residual_prob) & (step[r_pid] > 0.5)
    res_keys = r_keys[residual]
    raw_keys = r_keys[raw]  # sorted: r_keys are sorted by patient and day

    # -- MRI episodes ---------------------------------------------------------------------
    lo, hi = schedule.mri_rebaseline_days
    rebase = np.floor(rng.uniform(lo, hi + 1, n))
    e_pid, e_day = _piecewise_events(rng, params["mri_rate"] * frailty, factor, rebase + 1,
                                     split, end)
    linked = rng.random(len(r_pid)) < params["relapse_mri_prob"][r_pid]
    linked &= r_day > rebase[r_pid]
    e_pid = np.concatenate([e_pid, r_pid[linked]])
    e_day = np.concatenate([e_day, r_day[linked]])
    e_keys = np.sort(_keys(e_pid, e_day))

    # -- disability -----------------------------------------------------------------------
    w_pid, w_day = _piecewise_events(rng, params["worsening_hazard"], factor, np.zeros(n),
                                     split, end)
    w_keys = _keys(w_pid, w_day)  # sorted by construction
    t_impr = np.floor(_exp_days(rng, params["improvement_hazard"]))
    has_impr = t_impr < params["improvement_window"] * DAYS_PER_YEAR
    impr_mag = rng.choice(np.array([0.5, 1.0, 1.5]), size=n, p=[0.35, 0.45, 0.2])
    impr_mag = np.where(has_impr, np.minimum(impr_mag, base), 0.0)
    has_impr &= impr_mag > 0
    trans = rng.random(n) < params["transient_worsening_prob"]
    t_start = rng.uniform(20, 60, n)
    t_stop = np.minimum(t_start + rng.uniform(30, 60, n), 120)
    t_mag = np.where(trans, rng.choice(np.array([0.5, 1.0]), size=n), 0.0)

    # -- EDSS visits ----------------------------------------------------------------------
    horizon = float(np.max(end, initial=0.0))
    nominal = _schedule_days(schedule.edss_months, schedule.edss_late_interval_months, horizon)
    v_pid, v_day = _visit_grid(rng, nominal, n, schedule.edss_jitter_days,
                               schedule.edss_miss_prob, end)
    b_day = -np.floor(rng.uniform(7, 31, n)).astype(np.int64)  # baseline visit
    # unscheduled visit when a relapse is assessed (it shows the relapse and any RAW step)
    seen = rng.random(len(r_pid)) < schedule.relapse_visit_prob
    rv_lo, rv_hi = schedule.relapse_visit_days
    rv_day = r_day + np.floor(rng.uniform(rv_lo, rv_hi + 1, len(r_pid))).astype(np.int64)
    seen &= rv_day < end[r_pid]
    v_pid, v_day = _sort_unique(np.concatenate([pid_all, v_pid, r_pid[seen]]),
                                np.concatenate([b_day, v_day, rv_day[seen]]))
    t = v_day.astype(float)
    value = base[v_pid].copy()
    post_visit = v_day > 0
    n_w = np.maximum(_count_since_origin(w_keys, v_pid, v_day, n), 0)
    value += n_w * step[v_pid]
    n_raw = _count_since_origin(raw_keys, v_pid, v_day, n)
    value += n_raw * step[v_pid]
    value -= np.where(has_impr[v_pid] & (t >= t_impr[v_pid]), impr_mag[v_pid], 0.0)
    in_trans = (t >= t_start[v_pid]) & (t <= t_stop[v_pid])
    value += np.where(in_trans, t_mag[v_pid], 0.0)
    r_sorted = np.sort(r_keys)
    bump = _count_in(r_sorted, v_pid, v_day - post.relapse_bump_days, v_day) > 0
    value += np.where(bump, rng.choice(np.array([0.5, 1.0]), size=len(v_pid)), 0.0)
    value += 0.5 * _count_since_origin(np.sort(res_keys), v_pid, v_day, n)
    noise = rng.random(len(v_pid)) < post.edss_noise_prob
    value += np.where(noise & post_visit, rng.choice(np.array([-0.5, 0.5]), len(v_pid)), 0.0)
    value = np.where(post_visit, snap_edss(value), base[v_pid])

    # -- MRI scans ------------------------------------------------------------------------
    m_nom = _schedule_days(schedule.mri_months, schedule.mri_late_interval_months, horizon)
    m_nom = m_nom[m_nom > hi + 30]
    s_pid, s_day = _visit_grid(rng, m_nom, n, schedule.mri_jitter_days,
                               schedule.mri_miss_prob, end)
    rb_ok = rebase < end
    bl_day = -np.floor(rng.uniform(30, 61, n)).astype(np.int64)
    s_pid = np.concatenate([pid_all, pid_all[rb_ok], s_pid])
    s_day = np.concatenate([bl_day, rebase[rb_ok].astype(np.int64), s_day])
    if _keyable(s_pid, s_day):  # equal pairs are interchangeable: any sort gives these arrays
        s_pid, s_day = _unkey(np.sort(_keys(s_pid, s_day)))
    else:
        order = np.lexsort((s_day, s_pid))
        s_pid, s_day = s_pid[order], s_day[order]
    prev = np.empty_like(s_day)
    prev[1:] = s_day[:-1]
    first_of_patient = np.ones(len(s_pid), dtype=bool)
    first_of_patient[1:] = s_pid[1:] != s_pid[:-1]
    n_ep = np.where(first_of_patient, 0, _count_in(e_keys, s_pid, prev + 1, s_day))
    n_recent = np.where(first_of_patient, 0, _count_in(e_keys, s_pid, s_day - 45, s_day))
    t2 = n_ep + rng.poisson(1.0 * n_ep)
    gd = n_recent + rng.poisson(0.5 * n_recent)
    is_rb = s_day == rebase[s_pid]
    resid = is_rb & (rng.random(len(s_pid)) < params["mri_residual_prob"][s_pid])
    t2 = np.where(resid, t2 + 1 + rng.poisson(1.0, len(s_pid)), t2)
    gd = np.where(resid, gd + rng.binomial(1, 0.5, len(s_pid)), gd)
    t2_mu = pre_t2_mean if pre_t2_mean is not None else np.full(n, 3.0)
    gd_mu = pre_gd_mean if pre_gd_mean is not None else np.full(n, 2.0)
    is_bl = s_day < 0
    t2 = np.where(is_bl, rng.poisson(t2_mu[s_pid]), t2)
    gd = np.where(is_bl, rng.poisson(gd_mu[s_pid]), gd)
    bv0 = rng.normal(1480.0, 90.0, n)
    yrs = np.maximum(s_day, 0) / DAYS_PER_YEAR
    bv = bv0[s_pid] * (1 - 0.015 * np.minimum(yrs, 1) - 0.003 * np.maximum(yrs - 1, 0))
    bv = np.round(bv + rng.normal(0, 3.0, len(s_pid)), 1)
    gd_obs = pd.array(gd, dtype="Int64")
    gd_obs[rng.random(len(s_pid)) < schedule.gd_missing_prob] = pd.NA

    # -- truth ----------------------------------------------------------------------------
    first_rel = _first_day(r_pid, r_day, n)
    first_mri = _first_day(e_pid, e_day, n)
    truth = pd.DataFrame({
        "index": pid_all,
        "end_day": end.astype(np.int64),
        "died": died,
        "death_day": np.where(died, death, np.nan),
        "treatment_related_death": trm,
        "lost_to_follow_up": lost,
        "first_relapse_day": first_rel,
        "first_mri_day": first_mri,
        "first_worsening_day": np.minimum(_first_day(w_pid, w_day, n),
                                          _first_day(r_pid[raw], r_day[raw], n)),
        "first_raw_day": _first_day(r_pid[raw], r_day[raw], n),
        "improvement_day": np.where(has_impr, t_impr, np.nan),
        "transient_worsening_day": np.where(trans, np.floor(t_start), np.nan),
        "baseline_edss": base,
        "frailty": frailty,
    })
    return CourseResult(
        truth=truth,
        edss=pd.DataFrame({"index": v_pid, "day": v_day, "edss": value}),
        relapses=pd.DataFrame({"index": r_pid, "day": r_day}),
        mri=pd.DataFrame({"index": s_pid, "day": s_day, "new_t2": pd.array(t2, dtype="Int64"),
                          "gd_lesions": gd_obs, "brain_volume": bv}),
    )


def _first_day(pid: IntArray, day: IntArray, n: int) -> FloatArray:
    out = np.full(n, np.inf)
    np.minimum.at(out, pid, day.astype(float))
    return out


# ------------------------------------------------------------------------------------------
# Arm-level simulation for the trial simulator
# ------------------------------------------------------------------------------------------


def _to_dates(origin: npt.NDArray[np.datetime64], pid: IntArray, day: npt.ArrayLike
              ) -> pd.Series:
    d = origin[pid] + np.asarray(day, dtype=np.int64).astype("timedelta64[D]")
    return pd.Series(d.astype("datetime64[ns]"))


@dataclass(frozen=True)
class Enrolment:
    """When the patients of a simulated arm enter and how they are named (:func:`simulate_arm`).

    Validated on construction.

    Parameters
    ----------
    start_date
        First possible origin (transplant or randomisation) date (default 2020-01-01).
    accrual_years
        Origins are spread uniformly over this many years from ``start_date`` (default 0:
        every patient starts on ``start_date``).
    id_prefix
        Patient ids are ``f"{id_prefix}-000001"`` ... (default ``"ARM"``).

    Raises
    ------
    ConfigurationError
        ``start_date`` is not a date, ``accrual_years`` is negative or not finite, or
        ``id_prefix`` is empty.

    Examples
    --------
    >>> Enrolment(accrual_years=2, id_prefix="CTL").to_dict()["id_prefix"]
    'CTL'
    """

    start_date: _dt.date = _dt.date(2020, 1, 1)
    accrual_years: float = 0.0
    id_prefix: str = "ARM"

    def __post_init__(self) -> None:
        if not isinstance(self.start_date, _dt.date):
            raise ConfigurationError(f"start_date must be a date (got {self.start_date!r}).",
                                     hint="Use e.g. datetime.date(2020, 1, 1).")
        accrual = float(self.accrual_years)
        if not np.isfinite(accrual) or accrual < 0:
            raise ConfigurationError(f"accrual_years must be >= 0 (got {accrual:g}).",
                                     hint="Use 0 for a common start date, or e.g. 2 years.")
        if not isinstance(self.id_prefix, str) or not self.id_prefix:
            raise ConfigurationError("id_prefix must be a non-empty string.",
                                     hint='Use e.g. id_prefix="ARM" or "CTL".')
        object.__setattr__(self, "accrual_years", accrual)

    def to_dict(self) -> dict[str, Any]:
        """The enrolment as plain JSON types.

        Returns
        -------
        dict
            ``start_date`` (ISO text), ``accrual_years`` and ``id_prefix``.
        """
        return {"start_date": self.start_date.isoformat(), "accrual_years": self.accrual_years,
                "id_prefix": self.id_prefix}


def simulate_arm(
    n: int,
    arm: ArmParameters,
    rng: np.random.Generator,
    *,
    followup_years: float = 5.0,
    schedule: VisitSchedule | None = None,
    population: ArmPopulation | None = None,
    enrolment: Enrolment | None = None,
    model: DiseaseModel | None = None,
) -> dict[str, pd.DataFrame]:
    """Simulate one trial arm of ``n`` patients in the canonical table format.

    Parameters
    ----------
    n
        Number of patients.
    arm
        Post-treatment parameters (e.g. :func:`~hsctms.datasets.disease_model.ahsct`).
    rng
        Random generator.
    followup_years
        Follow-up of each patient from the origin (administrative censoring).
    schedule
        Visit schedule (default :class:`VisitSchedule`).
    population
        Entry characteristics (default :class:`ArmPopulation`, MIST-like RRMS).
    enrolment
        Start date, accrual period and patient-id prefix (default :class:`Enrolment`: every
        origin on 2020-01-01, ids ``ARM-000001`` ...).
    model
        Disease model supplying relapse/noise parameters (default :class:`DiseaseModel`).

    Returns
    -------
    dict of DataFrame
        ``patients``, ``transplants`` (aHSCT arms) or ``dmt`` (drug arms), ``edss``,
        ``relapses``, ``mri``, ``deaths`` (canonical schema columns and dtypes), ``follow_up``
        (patient_id, origin_date, end_date, end_reason) and ``truth`` (latent event days).

    Examples
    --------
    >>> from hsctms.datasets.disease_model import ahsct
    >>> tables = simulate_arm(20, ahsct(), np.random.default_rng(1), followup_years=2)
    >>> sorted(tables)[:3]
    ['deaths', 'edss', 'follow_up']
    """
    if n < 1:
        raise ConfigurationError(f"n must be >= 1 (got {n}).", hint="Simulate at least one "
                                 "patient per arm.")
    if followup_years <= 0:
        raise ConfigurationError("followup_years must be > 0.", hint="E.g. 2 or 5 years.")
    model = model or DiseaseModel()
    pop = population or ArmPopulation()
    enrol = enrolment if enrolment is not None else Enrolment()
    # f"{id_prefix}-{i:06d}" for i = 1..n, built as one vectorised string operation
    ids = pd.array(np.char.add(f"{enrol.id_prefix}-",
                               np.char.zfill(np.arange(1, n + 1).astype(str), 6)),
                   dtype="string")
    base = snap_edss(np.clip(rng.normal(pop.edss_mean, pop.edss_sd, n), pop.edss_min,
                             pop.edss_max))
    age = np.clip(rng.normal(pop.age_mean, pop.age_sd, n), pop.age_min, pop.age_max)
    female = rng.random(n) < pop.female
    offset = np.floor(rng.random(n) * enrol.accrual_years * DAYS_PER_YEAR).astype(np.int64)
    origin = np.datetime64(enrol.start_date, "D") + offset.astype("timedelta64[D]")
    params = arm_arrays([arm], np.zeros(n, dtype=np.int64))
    res = simulate_course(rng, params, base, np.full(n, followup_years * DAYS_PER_YEAR),
                          post=model.post, schedule=schedule or model.schedule)
    year = origin.astype("datetime64[Y]").astype(int) + 1970
    patients = pd.DataFrame({
        "patient_id": ids, "centre": "SYN-C01", "sex": np.where(female, "F", "M"),
        "birth_year": (year - np.floor(age)).astype(np.int64), "phenotype": pop.phenotype,
    })
    out = _common_tables(res, ids, origin, model.mortality, rng)
    out["patients"] = conform(SCHEMA["patients"], patients)
    all_pid = np.arange(n, dtype=np.int64)
    if arm.treatment == "ahsct":
        out["transplants"] = conform(SCHEMA["transplants"], pd.DataFrame({
            "patient_id": ids, "transplant_date": _to_dates(origin, all_pid, np.zeros(n)),
            "conditioning": arm.conditioning or "Cy200+ATG"}))
    else:
        out["dmt"] = conform(SCHEMA["dmt"], pd.DataFrame({
            "patient_id": ids, "drug": arm.treatment,
            "start_date": _to_dates(origin, all_pid, np.zeros(n))}))
    return out


def _common_tables(res: CourseResult, ids: Any,
                   origin: npt.NDArray[np.datetime64], mortality: MortalityParams,
                   rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """EDSS, relapses, MRI, deaths and follow-up tables from a course result."""
    tr = res.truth
    e, r, m = res.edss, res.relapses, res.mri
    e_pid, r_pid, m_pid = (x["index"].to_numpy() for x in (e, r, m))
    out = {
        "edss": conform(SCHEMA["edss"], pd.DataFrame({
            "patient_id": ids[e_pid], "date": _to_dates(origin, e_pid, e["day"]),
            "edss": e["edss"].to_numpy()})),
        "relapses": conform(SCHEMA["relapses"], pd.DataFrame({
            "patient_id": ids[r_pid], "onset_date": _to_dates(origin, r_pid, r["day"])})),
        "mri": conform(SCHEMA["mri"], pd.DataFrame({
            "patient_id": ids[m_pid], "date": _to_dates(origin, m_pid, m["day"]),
            "new_t2": m["new_t2"].array, "gd_lesions": m["gd_lesions"].array,
            "brain_volume": m["brain_volume"].to_numpy()})),
    }
    died = tr["died"].to_numpy()
    d_pid = np.nonzero(died)[0].astype(np.int64)
    trm = tr["treatment_related_death"].to_numpy()[d_pid]
    cause = np.where(trm, _choice(rng, mortality.trm_causes, len(d_pid)),
                     _choice(rng, mortality.other_causes, len(d_pid)))
    out["deaths"] = conform(SCHEMA["deaths"], pd.DataFrame({
        "patient_id": ids[d_pid],
        "date": _to_dates(origin, d_pid, tr["death_day"].to_numpy()[d_pid]),
        "cause": cause.astype(str), "transplant_related": trm}))
    all_pid = np.arange(len(ids), dtype=np.int64)
    reason = np.where(died, "death", np.where(tr["lost_to_follow_up"].to_numpy(),
                                              "lost_to_follow_up", "end_of_follow_up"))
    out["follow_up"] = pd.DataFrame({
        "patient_id": pd.array(ids, dtype="string"),
        "origin_date": _to_dates(origin, all_pid, np.zeros(len(ids))),
        "end_date": _to_dates(origin, all_pid, tr["end_day"].to_numpy()),
        "end_reason": pd.array(reason, dtype="string"),
    })
    truth = tr.drop(columns=["index"]).copy()
    truth.insert(0, "patient_id", pd.array(ids, dtype="string"))
    out["truth"] = truth
    return out
