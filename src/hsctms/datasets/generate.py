"""Synthetic demo cohort generator: whole registries from the :class:`DiseaseModel`.

Patients are generated in fixed-size blocks of :data:`BLOCK_SIZE`; block ``b`` draws from
``numpy.random.SeedSequence(seed, spawn_key=(b,))``. Output therefore depends only on
``(seed, n_patients, model, data_date)``, never on the chunk size used to stream it, and a
100,000-patient bundle streams to disk one chunk at a time.

Everything produced is marked synthetic: ``Cohort.synthetic`` is True, identifiers are
pseudonymous (``SYN-000001``, centres ``SYN-C01``), and :func:`write_demo_bundle` writes a
manifest with ``"synthetic": true`` and a ``README.txt`` saying so.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hsctms._version import __version__
from hsctms.datasets.course import (
    DAYS_PER_YEAR,
    FloatArray,
    IntArray,
    _choice,
    _common_tables,
    _to_dates,
    arm_arrays,
    simulate_course,
    snap_edss,
)
from hsctms.datasets.disease_model import ArmParameters, DiseaseModel
from hsctms.errors import ConfigurationError
from hsctms.model.cohort import Cohort, conform
from hsctms.model.regimens import REGIMEN_MAPS
from hsctms.model.schema import INTENSITY_CLASSES, LAB_TESTS, PHENOTYPES, SCHEMA

#: Patients per independently seeded block (chunks are whole numbers of blocks).
BLOCK_SIZE = 1000
#: Default data (freeze) date of generated cohorts; fixed so output is reproducible.
DEFAULT_DATA_DATE = _dt.date(2026, 6, 30)
#: Seed and size of the bundled demo cohort.
DEMO_SEED = 20261122
DEMO_PATIENTS = 300

ObjArray = npt.NDArray[np.object_]


def _by_phenotype(table: tuple[tuple[str, float], ...], ph_idx: IntArray) -> FloatArray:
    d = dict(table)
    return np.array([d[p] for p in PHENOTYPES], dtype=float)[ph_idx]


class _Block:
    """Generate one block of patients (all arrays indexed by patient position in the block)."""

    def __init__(self, model: DiseaseModel, seed: int, block: int, n: int, first: int,
                 data_date: _dt.date, id_width: int) -> None:
        self.m = model
        self.rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
        self.n = n
        numbers = np.char.zfill(np.arange(first, first + n).astype(str), id_width)
        self.ids = pd.array(np.char.add("SYN-", numbers).astype(object), dtype="string")
        self.data_date = np.datetime64(data_date, "D")
        self.tables: dict[str, pd.DataFrame] = {}

    # -- population and transplant ------------------------------------------------------
    def population(self) -> None:
        rng, pop, n = self.rng, self.m.population, self.n
        mix = dict(pop.phenotype_mix)
        p = np.array([mix.get(ph, 0.0) for ph in PHENOTYPES])
        self.ph_idx = rng.choice(len(PHENOTYPES), size=n, p=p / p.sum()).astype(np.int64)
        self.phenotype = np.array(PHENOTYPES, dtype=object)[self.ph_idx]
        self.female = rng.random(n) < pop.female
        w = 1.0 / np.arange(1, pop.n_centres + 1)
        self.centre = np.array([f"SYN-C{i:02d}" for i in range(1, pop.n_centres + 1)],
                               dtype=object)[rng.choice(pop.n_centres, size=n, p=w / w.sum())]
        age = rng.normal(_by_phenotype(pop.age_mean, self.ph_idx), pop.age_sd)
        self.age = np.clip(age, pop.age_min, pop.age_max)
        dur = np.exp(rng.normal(np.log(_by_phenotype(pop.duration_median, self.ph_idx)),
                                pop.duration_sigma))
        self.duration = np.clip(dur, 0.5, self.age - pop.min_onset_age)
        delay = np.minimum(rng.exponential(pop.diagnosis_delay_mean, n), 0.8 * self.duration)
        self.onset_day = -np.floor(self.duration * DAYS_PER_YEAR).astype(np.int64)
        self.diag_day = self.onset_day + np.floor(delay * DAYS_PER_YEAR).astype(np.int64)
        edss = rng.normal(_by_phenotype(pop.edss_mean, self.ph_idx), pop.edss_sd)
        self.edss0 = snap_edss(np.clip(edss, pop.edss_min, pop.edss_max))

    def transplant(self) -> None:
        rng, tp, n = self.rng, self.m.transplant, self.n
        t0 = np.datetime64(_dt.date(tp.first_year, 1, 1), "D")
        t1 = self.data_date - np.timedelta64(tp.min_followup_days, "D")
        span_y = float((t1 - t0).astype(int)) / DAYS_PER_YEAR
        g = tp.era_growth
        u = rng.random(n)
        yrs = np.log1p(u * math.expm1(g * span_y)) / g
        self.tx = t0 + np.floor(yrs * DAYS_PER_YEAR).astype(np.int64).astype("timedelta64[D]")
        year = self.tx.astype("datetime64[Y]").astype(int) + 1970
        self.early = year < tp.early_era_end
        regs = tp.regimens
        w_recent = np.array([r.weight_recent for r in regs])
        w_early = np.array([r.weight_early for r in regs])
        pick_r = rng.choice(len(regs), size=n, p=w_recent / w_recent.sum())
        pick_e = rng.choice(len(regs), size=n, p=w_early / w_early.sum())
        self.reg_idx = np.where(self.early, pick_e, pick_r)
        rmap = REGIMEN_MAPS[self.m.regimen_map]()
        classes = [rmap.classify(r.conditioning) or "intermediate" for r in regs]
        self.int_idx = np.array([INTENSITY_CLASSES.index(c) for c in classes])[self.reg_idx]
        self.conditioning = np.array([r.conditioning for r in regs], dtype=object)[self.reg_idx]
        self.alem = np.char.find(self.conditioning.astype(str), "ALEM") >= 0
        sel = np.array([r.cd34_selection for r in regs])[self.reg_idx]
        self.selected = rng.random(n) < sel
        birth = self.tx - np.floor(self.age * DAYS_PER_YEAR).astype(np.int64).astype(
            "timedelta64[D]")
        self.birth_year = birth.astype("datetime64[Y]").astype(int) + 1970
        self.tables["transplants"] = pd.DataFrame({
            "patient_id": self.ids, "transplant_date": self.tx.astype("datetime64[ns]"),
            "conditioning": self.conditioning,
            "mobilisation": np.array([r.mobilisation for r in regs], dtype=object)[
                self.reg_idx],
            "graft_manipulation": np.where(self.selected, "cd34_selection", "none"),
            "cd34_dose": np.round(np.exp(rng.normal(np.log(tp.cd34_dose_median),
                                                    tp.cd34_dose_sigma, n)), 2),
        })

    # -- post-transplant course ------------------------------------------------------------
    def course(self) -> None:
        # one ArmParameters per (phenotype, intensity, era); arm k = (ph * 3 + intensity) * 2
        # + early, so each patient's arm index is plain arithmetic
        arms: list[ArmParameters] = [self.m.arm(ph, it, early_era=early)
                                     for ph in PHENOTYPES for it in INTENSITY_CLASSES
                                     for early in (False, True)]
        which = ((self.ph_idx * len(INTENSITY_CLASSES) + self.int_idx) * 2
                 + self.early).astype(np.int64)
        params = arm_arrays(arms, which)
        admin_end = (self.data_date - self.tx).astype(np.int64).astype(float)
        pop = self.m.population
        res = simulate_course(self.rng, params, self.edss0, admin_end, post=self.m.post,
                              schedule=self.m.schedule,
                              pre_t2_mean=_by_phenotype(pop.pre_mri_t2_mean, self.ph_idx),
                              pre_gd_mean=_by_phenotype(pop.pre_mri_gd_mean, self.ph_idx))
        self.truth = res.truth
        self.end = res.truth["end_day"].to_numpy()
        common = _common_tables(res, self.ids, self.tx, self.m.mortality, self.rng)
        for name in ("edss", "relapses", "mri", "deaths"):
            self.tables[name] = common[name]
        self.baseline_day = res.edss.loc[res.edss["day"] < 0, "day"].to_numpy()
        self.truth_table = common["truth"]

    # -- pre-transplant history -----------------------------------------------------------
    def pre_history(self) -> None:
        rng, pop, sch, n = self.rng, self.m.population, self.m.schedule, self.n
        # relapses over the recorded window, plus the onset attack of relapsing phenotypes
        start = np.maximum(self.onset_day, -pop.pre_relapse_window * DAYS_PER_YEAR)
        stop = np.full(n, -float(pop.relapse_free_before_tx))
        frail = rng.gamma(2.0, 0.5, n)
        rate = _by_phenotype(pop.pre_arr, self.ph_idx) * frail
        lam = rate * np.maximum(stop - start, 0) / DAYS_PER_YEAR
        cnt = rng.poisson(lam)
        pid = np.repeat(np.arange(n), cnt)
        day = np.floor(start[pid] + rng.random(len(pid)) * (stop - start)[pid]).astype(np.int64)
        relapsing = np.isin(self.phenotype, ["RRMS", "PRMS"])
        onset_pid = np.nonzero(relapsing)[0]
        pid = np.concatenate([pid, onset_pid])
        day = np.concatenate([day, self.onset_day[onset_pid]])
        rel = pd.DataFrame({"patient_id": self.ids[pid],
                            "onset_date": _to_dates(self.tx, pid, day)})
        both = pd.concat([rel, self.tables["relapses"]], ignore_index=True)
        self.tables["relapses"] = both.drop_duplicates(["patient_id", "onset_date"])
        # EDSS: every ~6 months back from the baseline visit, not before diagnosis
        k = int(sch.pre_edss_years * 12 / sch.pre_edss_interval_months)
        steps = np.arange(1, k + 1) * sch.pre_edss_interval_months * DAYS_PER_YEAR / 12
        days = self.baseline_day[:, None] - steps[None, :] + rng.uniform(-30, 30, (n, k))
        days = np.rint(days).astype(np.int64)
        keep = (days >= self.diag_day[:, None]) & (rng.random((n, k)) >= sch.edss_miss_prob)
        p_idx, c_idx = np.nonzero(keep)
        d = days[p_idx, c_idx]
        slope = _by_phenotype(pop.pre_edss_slope, self.ph_idx)[p_idx]
        val = self.edss0[p_idx] - slope * (-d / DAYS_PER_YEAR)
        val += rng.choice(np.array([-0.5, 0.0, 0.0, 0.0, 0.5]), size=len(p_idx))
        pre = pd.DataFrame({"patient_id": self.ids[p_idx], "date": _to_dates(self.tx, p_idx, d),
                            "edss": snap_edss(val)})
        self.tables["edss"] = pd.concat([pre, self.tables["edss"]], ignore_index=True)
        # MRI one year before transplant (if after diagnosis)
        mday = np.rint(-365 + rng.uniform(-30, 30, n)).astype(np.int64)
        has = mday >= self.diag_day
        m_pid = np.nonzero(has)[0]
        t2 = rng.poisson(_by_phenotype(pop.pre_mri_t2_mean, self.ph_idx)[m_pid])
        gd = rng.poisson(_by_phenotype(pop.pre_mri_gd_mean, self.ph_idx)[m_pid])
        mri = pd.DataFrame({"patient_id": self.ids[m_pid],
                            "date": _to_dates(self.tx, m_pid, mday[m_pid]),
                            "new_t2": pd.array(t2, dtype="Int64"),
                            "gd_lesions": pd.array(gd, dtype="Int64"),
                            "brain_volume": np.round(rng.normal(1485, 90, len(m_pid)), 1)})
        self.tables["mri"] = pd.concat([mri, self.tables["mri"]], ignore_index=True)

    def dmt(self) -> None:
        rng, pop, n = self.rng, self.m.population, self.n
        drugs = pop.dmt_weights
        kmax = pop.max_dmt
        washout = np.floor(rng.uniform(30, 91, n))
        s = self.diag_day + 14.0
        e = -washout
        span = e - s
        k = 1 + rng.poisson(max(pop.prior_dmt_mean - 1.0, 0.0), n)
        k = np.minimum(np.minimum(k, kmax), np.maximum(span // 120, 0)).astype(np.int64)
        k[rng.random(n) < pop.treatment_naive] = 0
        w = np.array([d[1] for d in drugs])
        rank = np.array([d[2] for d in drugs])
        keys = np.log(w)[None, :] + rng.gumbel(size=(n, len(drugs)))
        sel = np.argsort(-keys, axis=1)[:, :kmax]
        col = np.arange(kmax)[None, :]
        active = col < k[:, None]
        order_key = np.where(active, rank[sel] * 100 + col, 10_000)
        sel = np.take_along_axis(sel, np.argsort(order_key, axis=1), axis=1)
        frac = rng.gamma(2.0, 1.0, (n, kmax)) * active
        tot = np.where(k > 0, frac.sum(axis=1), 1.0)
        frac = 0.5 / np.maximum(k, 1)[:, None] * active + 0.5 * frac / tot[:, None]
        cum = np.cumsum(frac, axis=1)
        start = np.floor(s[:, None] + span[:, None] * (cum - frac))
        seg = span[:, None] * frac
        gap = np.minimum(rng.uniform(0, 30, (n, kmax)), 0.3 * seg)
        stop = np.floor(s[:, None] + span[:, None] * cum - gap)
        last = col == (k[:, None] - 1)
        stop = np.where(last, e[:, None], stop)
        p_idx, c_idx = np.nonzero(active)
        drug_idx = sel[p_idx, c_idx]
        names = np.array([d[0] for d in drugs], dtype=object)[drug_idx]
        reason = _choice(rng, pop.dmt_stop_reasons, len(p_idx))
        nat = (names == "natalizumab") & (rng.random(len(p_idx)) < 0.5)
        reason = np.where(nat, "safety_risk", reason)
        reason = np.where(last[p_idx, c_idx], "transplant", reason)
        self.tables["dmt"] = pd.DataFrame({
            "patient_id": self.ids[p_idx], "drug": names,
            "start_date": _to_dates(self.tx, p_idx, start[p_idx, c_idx]),
            "stop_date": _to_dates(self.tx, p_idx, stop[p_idx, c_idx]),
            "stop_reason": reason})

    # -- labs and adverse events ------------------------------------------------------------
    def labs(self) -> None:
        rng, lp, n = self.rng, self.m.labs, self.n
        days = np.asarray(lp.days, dtype=float)
        jit = np.where(np.abs(days) <= 30, 3.0, 14.0)
        d = np.rint(days[None, :] + rng.uniform(-1, 1, (n, len(days))) * jit[None, :])
        keep = (d < self.end[:, None]) | (days[None, :] < 0)
        p_idx, c_idx = np.nonzero(keep)
        day = d[p_idx, c_idx]
        slow = np.where(self.int_idx == INTENSITY_CLASSES.index("high"),
                        lp.high_intensity_slowdown, 1.0)[p_idx]
        frames = []
        for curve in lp.curves:
            base = curve.baseline * np.exp(rng.normal(0, curve.cv, n))[p_idx]
            t = np.maximum(day - curve.delay_days, 0.0)
            frac = curve.plateau - (curve.plateau - curve.nadir) * np.exp(
                -t / (curve.tau_days * slow))
            frac = np.where(day <= 0, 1.0, frac)
            val = base * frac * np.exp(rng.normal(0, curve.cv / 2, len(day)))
            frames.append(pd.DataFrame({
                "patient_id": self.ids[p_idx], "date": _to_dates(self.tx, p_idx, day),
                "test": curve.test, "value": np.round(val, curve.decimals),
                "unit": LAB_TESTS.get(curve.test, "")}))
        self.tables["labs"] = pd.concat(frames, ignore_index=True)

    def adverse_events(self) -> None:
        rng, n = self.rng, self.n
        frames = []
        for spec in self.m.adverse_events.events:
            lo, hi = spec.onset_from, spec.onset_to
            if spec.recurrent_rate > 0:
                span = np.clip(np.minimum(self.end, hi) - lo, 0, None)
                cnt = rng.poisson(spec.recurrent_rate * span / DAYS_PER_YEAR)
                pid = np.repeat(np.arange(n), cnt)
                day = np.floor(lo + rng.random(len(pid)) * span[pid])
            else:
                prob = np.minimum(spec.probability * np.where(self.alem, spec.alem_factor, 1.0),
                                  0.95)
                pid = np.nonzero(rng.random(n) < prob)[0]
                day = np.floor(rng.uniform(lo, hi + 1, len(pid)))
            ok = day < self.end[pid]
            pid, day = pid[ok], day[ok]
            grades = _choice(rng, tuple((str(g), p) for g, p in spec.grades), len(pid))
            frames.append(self._ae_frame(pid, day, spec.term, grades.astype(int), spec.relation))
        tw = self.truth["transient_worsening_day"].to_numpy()
        pid = np.nonzero(np.isfinite(tw) & (tw < self.end))[0]
        frames.append(self._ae_frame(pid, tw[pid], self.m.adverse_events.transient_worsening_term,
                                     np.full(len(pid), 2), "probable"))
        deaths = self.tables["deaths"]
        trm = deaths[deaths["transplant_related"].to_numpy(dtype=bool)]
        d_pid = pd.Index(self.ids).get_indexer(trm["patient_id"]).astype(np.int64)
        d_day = (trm["date"].to_numpy().astype("datetime64[D]") - self.tx[d_pid]).astype(int)
        frames.append(pd.DataFrame({
            "patient_id": self.ids[d_pid],
            "onset_date": _to_dates(self.tx, d_pid, np.maximum(d_day - 3, 1)),
            "term": trm["cause"].to_numpy(dtype=object), "grade": 5, "relation": "definite"}))
        ae = pd.concat(frames, ignore_index=True)
        self.tables["adverse_events"] = ae.drop_duplicates(["patient_id", "onset_date", "term"])

    def _ae_frame(self, pid: IntArray, day: npt.ArrayLike, term: str, grade: npt.ArrayLike,
                  relation: str) -> pd.DataFrame:
        pid = np.asarray(pid, dtype=np.int64)
        return pd.DataFrame({"patient_id": self.ids[pid],
                             "onset_date": _to_dates(self.tx, pid, day), "term": term,
                             "grade": np.asarray(grade, dtype=np.int64), "relation": relation})

    def patients(self) -> None:
        self.tables["patients"] = pd.DataFrame({
            "patient_id": self.ids, "centre": self.centre,
            "sex": np.where(self.female, "F", "M"), "birth_year": self.birth_year,
            "onset_date": _to_dates(self.tx, np.arange(self.n), self.onset_day),
            "diagnosis_date": _to_dates(self.tx, np.arange(self.n), self.diag_day),
            "phenotype": self.phenotype})

    def run(self) -> dict[str, pd.DataFrame]:
        self.population()
        self.transplant()
        self.course()
        self.pre_history()
        self.dmt()
        self.labs()
        self.adverse_events()
        self.patients()
        out = {}
        for name, spec in SCHEMA.items():
            frame = self.tables[name]
            key = list(spec.key)
            frame = frame.sort_values(key, kind="stable").reset_index(drop=True)
            out[name] = conform(spec, frame)
        return out


def _check_args(n_patients: int, seed: int, chunk_size: int) -> None:
    if n_patients < 1:
        raise ConfigurationError(f"n_patients must be >= 1 (got {n_patients}).",
                                 hint="Ask for at least one patient, e.g. --patients 300.")
    if seed < 0:
        raise ConfigurationError(f"seed must be >= 0 (got {seed}).", hint="Use e.g. --seed 1.")
    if chunk_size < 1:
        raise ConfigurationError(f"chunk_size must be >= 1 (got {chunk_size}).",
                                 hint=f"Chunks are rounded up to multiples of {BLOCK_SIZE}.")


def iter_cohort_chunks(
    n_patients: int,
    seed: int,
    *,
    model: DiseaseModel | None = None,
    data_date: _dt.date = DEFAULT_DATA_DATE,
    chunk_size: int = 10_000,
) -> Iterator[dict[str, pd.DataFrame]]:
    """Yield the cohort as successive chunks of patients (one dict of tables per chunk).

    ``chunk_size`` is rounded up to a whole number of :data:`BLOCK_SIZE` blocks; the
    concatenated chunks are identical for every chunk size.

    Parameters
    ----------
    n_patients
        Number of patients (>= 1) over all chunks.
    seed
        Seed (non-negative integer); each block of :data:`BLOCK_SIZE` patients draws from its
        own stream, so the same seed and size give the same cohort.
    model
        Disease model (default :class:`DiseaseModel`); its ``regimen_map`` must be a known
        convention.
    data_date
        Data freeze date: follow-up is administratively censored there; it must lie after
        the first simulated transplant year.
    chunk_size
        Patients per chunk (>= 1, rounded up to whole blocks; default 10 000); the last
        chunk may be smaller.

    Yields
    ------
    dict of str to pandas.DataFrame
        One table per name of the canonical schema (``patients``, ``transplants``,
        ``edss``, ...), canonical columns and dtypes, for the chunk's patients only.

    Raises
    ------
    ConfigurationError
        On the first iteration (the function is a generator), when ``n_patients``,
        ``seed`` or ``chunk_size`` is out of range, the regimen map is unknown or
        ``data_date`` is too early.
    """
    _check_args(n_patients, seed, chunk_size)
    model = model or DiseaseModel()
    if model.regimen_map not in REGIMEN_MAPS:
        raise ConfigurationError(f"Unknown regimen map {model.regimen_map!r}.",
                                 hint=f"Use one of {', '.join(REGIMEN_MAPS)}.")
    earliest = _dt.date(model.transplant.first_year, 1, 1) + _dt.timedelta(
        days=model.transplant.min_followup_days + 1)
    if data_date < earliest:
        raise ConfigurationError(
            f"data_date {data_date.isoformat()} is before the first simulated transplant era.",
            hint=f"Use a data date on or after {earliest.isoformat()} (transplants are "
                 f"simulated from {model.transplant.first_year}).")
    width = max(6, len(str(n_patients)))
    blocks_per_chunk = max(1, math.ceil(chunk_size / BLOCK_SIZE))
    n_blocks = math.ceil(n_patients / BLOCK_SIZE)
    for first_block in range(0, n_blocks, blocks_per_chunk):
        parts = []
        for b in range(first_block, min(first_block + blocks_per_chunk, n_blocks)):
            first = b * BLOCK_SIZE
            size = min(BLOCK_SIZE, n_patients - first)
            parts.append(_Block(model, seed, b, size, first + 1, data_date, width).run())
        if len(parts) == 1:
            yield parts[0]
        else:
            yield {name: pd.concat([p[name] for p in parts], ignore_index=True)
                   for name in SCHEMA}


def generate_cohort(
    n_patients: int,
    seed: int,
    *,
    model: DiseaseModel | None = None,
    data_date: _dt.date = DEFAULT_DATA_DATE,
    chunk_size: int = 10_000,
) -> Cohort:
    """Generate a synthetic cohort in memory.

    Parameters
    ----------
    n_patients
        Number of patients.
    seed
        Seed (non-negative integer); the same seed and size give the same cohort.
    model
        Disease model (default :class:`DiseaseModel`).
    data_date
        Data freeze date: follow-up is administratively censored there.
    chunk_size
        Patients generated at a time (does not change the result).

    Returns
    -------
    Cohort
        With ``synthetic=True``, ``source="hsctms.datasets generator (seed=...)"``.

    Examples
    --------
    >>> c = generate_cohort(50, seed=1)
    >>> c.synthetic, c.n_patients
    (True, 50)
    """
    model = model or DiseaseModel()
    chunks = list(iter_cohort_chunks(n_patients, seed, model=model, data_date=data_date,
                                     chunk_size=chunk_size))
    tables = {name: pd.concat([c[name] for c in chunks], ignore_index=True)
              for name in SCHEMA}
    return Cohort(tables=tables, synthetic=True, data_date=data_date,
                  source=f"hsctms.datasets generator (seed={seed})",
                  regimen_map=REGIMEN_MAPS[model.regimen_map]())


# ------------------------------------------------------------------------------------------
# CSV bundle writing
# ------------------------------------------------------------------------------------------

README_TEXT = """SYNTHETIC DATA - NOT REAL PATIENTS
==================================

This directory is a synthetic hsctms CSV bundle produced by the hsctms.datasets generator
(seed {seed}, {n} patients, data date {data_date}). Every row was simulated from the
documented disease model (docs/disease-model.md); no row describes a real person.
Identifiers (SYN-...) are pseudonymous labels. Do not use these data for clinical decisions.
"""


def _format_uniques(col_type: str, uniques: Any) -> list[str]:
    if col_type == "date":
        return list(pd.DatetimeIndex(uniques).strftime("%Y-%m-%d"))
    if col_type == "bool":
        return ["yes" if bool(v) else "no" for v in uniques]
    if col_type == "int":
        return [str(int(v)) for v in uniques]
    if col_type == "edss":
        return [f"{float(v):.1f}" for v in uniques]
    if col_type == "float":
        return [repr(float(v)) for v in uniques]
    values = uniques.to_numpy(dtype=object) if hasattr(uniques, "to_numpy") else uniques
    out = [str(v) for v in values]
    return ['"' + v.replace('"', '""') + '"' if ("," in v or '"' in v or "\n" in v) else v
            for v in out]


def _column_text(col_type: str, series: pd.Series) -> npt.NDArray[np.object_]:
    """Bundle text of one column (blank = missing); each distinct value is formatted once."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    table = np.array([*_format_uniques(col_type, uniques), ""], dtype=object)
    return table[codes]  # code -1 (missing) picks the trailing ""


def csv_text(name: str, frame: pd.DataFrame, header: bool = True) -> str:
    """A table in bundle form: schema columns in order, ISO dates, bools ``yes``/``no``, EDSS
    with one decimal, blank = missing, ``\\n`` line ends."""
    spec = SCHEMA[name]
    cols = [_column_text(c.type, frame[c.name]) for c in spec.columns]
    lines = [",".join(spec.column_names)] if header else []
    lines.extend(map(",".join, zip(*cols, strict=True)))
    return "\n".join(lines) + ("\n" if lines else "")


def _write_table(path: Path, name: str, frame: pd.DataFrame, header: bool) -> None:
    with path.open("w" if header else "a", encoding="utf-8", newline="") as fh:
        fh.write(csv_text(name, frame, header))


def bundle_manifest(n_patients: int, seed: int, model: DiseaseModel, data_date: _dt.date,
                    created: str | None = None) -> dict[str, Any]:
    """The ``bundle.json`` manifest of a generated bundle."""
    return {
        "format": "hsctms-bundle",
        "format_version": 1,
        "synthetic": True,
        "data_date": data_date.isoformat(),
        "generator": {"name": "hsctms.datasets", "version": __version__, "seed": seed,
                      "n_patients": n_patients, "model": model.to_dict()},
        "created": created or _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
    }


def write_demo_bundle(
    out_dir: str | Path,
    n_patients: int,
    seed: int,
    *,
    model: DiseaseModel | None = None,
    data_date: _dt.date = DEFAULT_DATA_DATE,
    chunk_size: int = 10_000,
    progress: Callable[[int], None] | None = None,
    created: str | None = None,
) -> dict[str, int]:
    """Stream a synthetic cohort to a CSV bundle directory.

    Writes one ``<table>.csv`` per table of ``SCHEMA`` (columns in schema order, ISO dates,
    blank = missing, bools ``yes``/``no``, EDSS with one decimal), ``bundle.json`` and
    ``README.txt``. Memory use is bounded by one chunk.

    Parameters
    ----------
    out_dir
        Target directory (created; existing bundle files are overwritten).
    n_patients, seed, model, data_date, chunk_size
        As in :func:`generate_cohort`.
    progress
        Called with the number of patients written after each chunk.
    created
        Fixed ``created`` timestamp for the manifest (default: now, UTC).

    Returns
    -------
    dict
        Rows written per table.
    """
    model = model or DiseaseModel()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(SCHEMA, 0)
    first = True
    for chunk in iter_cohort_chunks(n_patients, seed, model=model, data_date=data_date,
                                    chunk_size=chunk_size):
        for name, frame in chunk.items():
            _write_table(out / SCHEMA[name].filename, name, frame, header=first)
            counts[name] += len(frame)
        first = False
        if progress is not None:
            progress(len(chunk["patients"]))
    manifest = bundle_manifest(n_patients, seed, model, data_date, created)
    (out / "bundle.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (out / "README.txt").write_text(
        README_TEXT.format(seed=seed, n=n_patients, data_date=data_date.isoformat()),
        encoding="utf-8")
    return counts
