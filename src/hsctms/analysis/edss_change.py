"""EDSS change from baseline at fixed years after the time origin (HALT-MS style).

For year k the assessment used is the EDSS visit closest to ``origin + k * 365.25`` days within
``window_days`` (default ±182 days), among patients alive at that visit (visits after a
recorded death cannot exist; patients who died before the window are excluded). The change is
``EDSS(year k) - baseline EDSS``; reported as median (IQR) with the Wilcoxon signed-rank test of
a zero median change. The test follows R ``wilcox.test(x, mu = 0)`` exactly: zero differences
are dropped; the exact distribution is used when fewer than 50 non-zero differences remain and
there are no ties or zeros, otherwise the normal approximation with tie correction and
continuity correction (scipy ``wilcoxon`` with those settings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hsctms.errors import EstimationError
from hsctms.survival._common import finite_or_none

YEAR_DAYS = 365.25


@dataclass(frozen=True)
class SignedRank:
    """Wilcoxon signed-rank test of a zero median (R ``wilcox.test`` conventions).

    Parameters
    ----------
    statistic
        R's ``V``: the sum of the ranks of the positive differences (NaN without non-zero
        differences).
    p_value
        Two-sided p-value (NaN without non-zero differences).
    n_nonzero
        Number of non-zero finite differences the test used (zeros are dropped).
    method
        ``"exact"``, ``"normal approximation, continuity corrected"``, or ``"none (...)"``
        with the reason no test was done.
    """

    statistic: float
    p_value: float
    n_nonzero: int
    method: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict of str to Any
            ``statistic``, ``p_value`` (None when not finite), ``n_nonzero`` and ``method``.
        """
        return {"statistic": finite_or_none(self.statistic),
                "p_value": finite_or_none(self.p_value),
                "n_nonzero": self.n_nonzero, "method": self.method}


def signed_rank_test(x: Sequence[float] | np.ndarray) -> SignedRank:
    """Two-sided Wilcoxon signed-rank test of median 0, as R ``wilcox.test(x)``.

    Returns V (the sum of ranks of positive differences, R's statistic) and the p-value.

    Parameters
    ----------
    x
        Differences (e.g. EDSS change from baseline, EDSS points); NaN and infinite values
        are dropped, and so are zeros (R's default). Exact p-value with fewer than 50
        non-zero differences and no ties or zeros, else the normal approximation with tie
        and continuity correction.

    Returns
    -------
    SignedRank
        ``V``, the two-sided p-value, the number of non-zero differences and the method
        (NaN statistic and p-value when every difference is zero or none is given).
    """
    d = np.asarray(x, dtype=float)
    d = d[np.isfinite(d)]
    zeros = bool(np.any(d == 0))
    nz = d[d != 0]
    n = int(nz.size)
    if n == 0:
        return SignedRank(float("nan"), float("nan"), 0, "none (all differences zero)")
    ranks = stats.rankdata(np.abs(nz))
    v = float(ranks[nz > 0].sum())
    ties = bool(np.unique(np.abs(nz)).size < n)
    if n < 50 and not ties and not zeros:
        res = stats.wilcoxon(nz, zero_method="wilcox", method="exact")
        return SignedRank(v, float(res.pvalue), n, "exact")
    res = stats.wilcoxon(nz, zero_method="wilcox", method="approx", correction=True)
    return SignedRank(v, float(res.pvalue), n, "normal approximation, continuity corrected")


@dataclass(frozen=True)
class EdssChangeRow:
    """EDSS change from baseline at one time point.

    Parameters
    ----------
    year
        The time point (years after the origin).
    n
        Patients with an EDSS visit in the window of that year.
    median, q1, q3
        Median and quartiles (numpy's default linear interpolation, R type 7) of the change
        from baseline (EDSS points); NaN when ``n`` is 0.
    improved, stable, worsened
        Patients whose change is below, equal to and above zero.
    test
        Wilcoxon signed-rank test of a zero median change (:func:`signed_rank_test`).
    """

    year: float
    n: int
    median: float
    q1: float
    q3: float
    improved: int
    stable: int
    worsened: int
    test: SignedRank

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict of str to Any
            The fields by name (non-finite numbers as None), the test under ``wilcoxon``.
        """
        return {
            "year": self.year, "n": self.n, "median": finite_or_none(self.median),
            "q1": finite_or_none(self.q1), "q3": finite_or_none(self.q3),
            "improved": self.improved, "stable": self.stable, "worsened": self.worsened,
            "wilcoxon": self.test.to_dict(),
        }


def edss_at_years(
    endpoints: pd.DataFrame,
    edss: pd.DataFrame,
    years: Sequence[float],
    *,
    window_days: float = 182.0,
) -> pd.DataFrame:
    """Per patient and year: the EDSS closest to year k within the window and its change.

    Parameters
    ----------
    endpoints
        Endpoint frame (``patient_id``, ``origin_date``, ``baseline_edss``, ``death_time``,
        ``death_event``).
    edss
        EDSS visits (``patient_id``, ``date``, ``edss``).
    years
        Time points in years after the origin.
    window_days
        Maximum distance of the visit from the target day.

    Returns
    -------
    DataFrame with ``patient_id``, ``year``, ``day``, ``edss``, ``baseline_edss``, ``change``.
    """
    need = {"patient_id", "origin_date", "baseline_edss"}
    if not need <= set(endpoints.columns):
        raise EstimationError(f"Endpoint frame lacks {sorted(need - set(endpoints.columns))}.",
                              hint="Pass EndpointResult.to_frame().")
    cols = ["patient_id", "year", "day", "edss", "baseline_edss", "change"]
    years_arr = np.asarray([float(k) for k in years], dtype=float)
    pid = pd.Index(endpoints["patient_id"].astype(str))
    vis = edss[["patient_id", "date", "edss"]].dropna()
    code = pid.get_indexer(vis["patient_id"].astype(str))
    ok = code >= 0
    code = code[ok]
    origin = endpoints["origin_date"].to_numpy(dtype="datetime64[ns]")
    vdate = vis["date"].to_numpy(dtype="datetime64[ns]")[ok]
    day = (vdate - origin[code]) / np.timedelta64(1, "D")
    value = vis["edss"].to_numpy(dtype=float)[ok]
    keep = day > 0
    if "death_event" in endpoints.columns:
        dead = endpoints["death_event"].to_numpy(dtype=float)[code] == 1
        keep &= ~(dead & (day > endpoints["death_time"].to_numpy(dtype=float)[code]))
    code, day, value = code[keep], day[keep], value[keep]
    # every (visit, year) pair within the window; years at least 2 windows apart make this
    # one candidate year per visit at most, but the general case is handled by the loop
    parts = []
    for k in years_arr:
        dist = np.abs(day - k * YEAR_DAYS)
        m = dist <= window_days
        parts.append((np.full(int(m.sum()), k), code[m], day[m], value[m], dist[m]))
    if not parts or sum(p[0].size for p in parts) == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols}).assign(
            patient_id=pd.Series(dtype=str))[cols]
    yr = np.concatenate([p[0] for p in parts])
    cd = np.concatenate([p[1] for p in parts])
    dy = np.concatenate([p[2] for p in parts])
    vl = np.concatenate([p[3] for p in parts])
    ds = np.concatenate([p[4] for p in parts])
    order = np.lexsort((dy, ds, cd, yr))  # by year, patient, distance, day
    yr, cd, dy, vl = yr[order], cd[order], dy[order], vl[order]
    first = np.r_[True, (yr[1:] != yr[:-1]) | (cd[1:] != cd[:-1])]
    yr, cd, dy, vl = yr[first], cd[first], dy[first], vl[first]
    base = endpoints["baseline_edss"].to_numpy(dtype=float)[cd]
    out = pd.DataFrame({
        "patient_id": pid.to_numpy()[cd], "year": yr, "day": dy, "edss": vl,
        "baseline_edss": base, "change": vl - base,
    })
    return out.dropna(subset=["change"]).reset_index(drop=True)


def edss_change_table(at_years: pd.DataFrame, years: Sequence[float]) -> list[EdssChangeRow]:
    """Median (IQR) change, improved/stable/worsened counts and signed-rank p per year.

    Parameters
    ----------
    at_years
        Output of :func:`edss_at_years` (columns ``year`` and ``change`` are used).
    years
        Time points (years after the origin), one row each, in this order; a year without
        data gives a row with ``n=0`` and NaN statistics.

    Returns
    -------
    list of EdssChangeRow
        One row per entry of ``years``.
    """
    rows = []
    for k in years:
        ch = at_years.loc[at_years["year"] == float(k), "change"].to_numpy(dtype=float)
        if ch.size == 0:
            rows.append(EdssChangeRow(float(k), 0, np.nan, np.nan, np.nan, 0, 0, 0,
                                      SignedRank(np.nan, np.nan, 0, "none (no data)")))
            continue
        q1, med, q3 = np.quantile(ch, [0.25, 0.5, 0.75])
        rows.append(EdssChangeRow(
            float(k), int(ch.size), float(med), float(q1), float(q3),
            int((ch < 0).sum()), int((ch == 0).sum()), int((ch > 0).sum()),
            signed_rank_test(ch),
        ))
    return rows
