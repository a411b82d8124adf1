"""Random visit/relapse/MRI tables for tests and benchmarks of the endpoint engine.

Not a disease model (the demo-cohort generator is); just irregular visits with an EDSS random
walk on the Kurtzke grid and Poisson relapses, the shape used to compare engines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hsctms.model.scales import EDSS_VALUES


def random_visits(
    n_patients: int,
    visits: int | tuple[int, int] = 20,
    *,
    seed: int = 0,
    spacing: tuple[int, int] = (150, 210),
    relapse_rate: float = 0.3,
    calendar: bool = True,
    start: str = "2010-01-01",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random EDSS visits and relapses.

    Parameters
    ----------
    n_patients
        Number of patients (ids ``P000001``...).
    visits
        Visits per patient, or an inclusive ``(min, max)`` range.
    seed
        Random seed (results are reproducible).
    spacing
        Inclusive range of days between visits.
    relapse_rate
        Relapses per patient-year (some fall shortly before the first visit).
    calendar
        Calendar dates (``datetime64[ns]``) or day numbers (float).
    start
        First visit date of the first patient (patients are staggered by up to 3 years).

    Returns
    -------
    (visits, relapses)
        ``patient_id, date, edss`` and ``patient_id, onset_date``.
    """
    rng = np.random.default_rng(seed)
    if isinstance(visits, int):
        nv = np.full(n_patients, visits, dtype=np.int64)
    else:
        nv = rng.integers(visits[0], visits[1] + 1, size=n_patients)
    total = int(nv.sum())
    code = np.repeat(np.arange(n_patients), nv)
    first = np.concatenate(([0], np.cumsum(nv)[:-1]))
    gaps = rng.integers(spacing[0], spacing[1] + 1, size=total).astype(np.float64)
    gaps[first] = rng.integers(0, 3 * 365, size=n_patients)
    day = _segment_cumsum(gaps, first, nv)
    grid = np.asarray(EDSS_VALUES[:-1])
    start_pos = rng.integers(0, 12, size=n_patients)
    steps = rng.choice([-2, -1, 0, 0, 0, 1, 1, 2], size=total)
    steps[first] = 0
    pos = np.repeat(start_pos, nv) + _segment_cumsum(steps.astype(np.float64), first,
                                                     nv).astype(np.int64)
    pos = np.clip(pos, 0, grid.size - 1)
    edss = grid[pos]
    span = day[first + nv - 1] - day[first] + 120.0
    n_rel = rng.poisson(relapse_rate * span / 365.25)
    r_code = np.repeat(np.arange(n_patients), n_rel)
    r_day = np.floor(day[first][r_code] - 60.0 + rng.random(r_code.size) * span[r_code])
    ids = np.array([f"P{i + 1:06d}" for i in range(n_patients)], dtype=object)
    r = pd.DataFrame({"patient_id": ids[r_code], "onset_day": r_day})
    r = r.drop_duplicates().sort_values(["patient_id", "onset_day"]).reset_index(drop=True)
    v = pd.DataFrame({"patient_id": ids[code], "date": day, "edss": edss})
    if calendar:
        base = np.datetime64(start, "D")
        v["date"] = (base + v["date"].to_numpy().astype(np.int64)).astype("datetime64[ns]")
        r["onset_date"] = (base + r["onset_day"].to_numpy().astype(np.int64)
                           ).astype("datetime64[ns]")
    else:
        r["onset_date"] = r["onset_day"].astype(np.float64)
    return v, r[["patient_id", "onset_date"]]


def _segment_cumsum(values: np.ndarray, first: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each segment start."""
    cs = np.cumsum(values)
    offset = np.repeat(cs[first] - values[first], counts)
    return np.asarray(cs - offset, dtype=np.float64)


def random_scores(visits: pd.DataFrame, outcome: str, *, seed: int = 0) -> pd.DataFrame:
    """Re-express random EDSS visits on another outcome scale (for tests and benchmarks).

    Timed tests grow about 20% per EDSS step with 8% multiplicative noise (T25FW from about
    4.5 s, NHPT from about 18 s, rounded to 0.1 s and kept within the scale's range); SDMT
    falls 4 points per EDSS step from 62 with noise of SD 3 (whole numbers within 0-110). Not
    a disease model: only scores with realistic ranges and correlated changes.

    Parameters
    ----------
    visits
        ``patient_id``, ``date``, ``edss`` (e.g. from :func:`random_visits`).
    outcome
        ``"t25fw"``, ``"nhpt"`` or ``"sdmt"``: the name of the value column returned.
    seed
        Random seed.
    """
    rng = np.random.default_rng(seed)
    edss = visits["edss"].to_numpy(dtype=np.float64)
    out = visits.drop(columns="edss").copy()
    if outcome == "sdmt":
        score = np.rint(62.0 - 4.0 * edss + rng.normal(0.0, 3.0, edss.size))
        out["sdmt"] = np.clip(score, 0, 110).astype(np.int64)
    elif outcome in ("t25fw", "nhpt"):
        base, top = (4.5, 180.0) if outcome == "t25fw" else (18.0, 300.0)
        secs = base * 1.2 ** edss * rng.lognormal(0.0, 0.08, edss.size)
        out[outcome] = np.clip(np.round(secs, 1), 1.0, top)
    else:
        raise ValueError(f"outcome must be 't25fw', 'nhpt' or 'sdmt', not {outcome!r}")
    return out
