"""Gray's (1988) K-sample test for equality of cumulative incidence functions.

Gray RJ. A class of K-sample tests for comparing the cumulative incidence of a competing risk.
Ann Stat 1988;16:1141-54. The score compares, for each group, the observed events of the
cause of interest with those expected under a common subdistribution hazard, weighted by
``(1 - F(t-))^rho``; the variance is Gray's asymptotic estimator with the usual tie
corrections. Stratified tests sum scores and variances over strata. The statistic is
``s' V^-1 s`` on the first K-1 groups, chi-square with K-1 degrees of freedom.

Written with numpy over all distinct times at once (no per-time Python loop) and checked
against R ``cmprsk::cuminc()$Tests`` (2 and 3 groups, rho 0 and 1, tied times, strata) in
``tests/survival/test_reference_r.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hsctms._provenance import Provenance
from hsctms.errors import EstimationError
from hsctms.survival._common import check_times, finite_or_none, group_codes


@dataclass(frozen=True)
class GrayTest:
    """Result of Gray's test for one cause.

    Built by :func:`gray_test` (and :func:`~hsctms.survival.cif.cumulative_incidence_by`).

    Parameters
    ----------
    statistic
        Chi-square statistic ``s' V^-1 s`` on the first K-1 groups.
    df
        Degrees of freedom, K-1 for K groups.
    p_value
        Chi-square p-value of ``statistic`` on ``df`` degrees of freedom.
    cause
        Cause code whose cumulative incidence was compared.
    rho
        Weight exponent of the test, ``(1 - F(t-))^rho``.
    groups
        Group labels in sorted (numeric-aware) order.
    score
        Gray's score (weighted observed minus expected events of ``cause``) of the first
        K-1 groups, summed over strata; positive = more events than under equal incidence.
    provenance
        How the test was computed (cause, rho, whether stratified, n, data source).
    """

    statistic: float
    df: int
    p_value: float
    cause: int
    rho: float
    groups: tuple[str, ...]
    score: tuple[float, ...]
    provenance: Provenance = field(default_factory=lambda: Provenance("gray_test"))

    @property
    def summary(self) -> str:
        """One-line description."""
        return (
            f"Gray's test (cause {self.cause}, rho={self.rho:g}) across "
            f"{len(self.groups)} groups: chi2={self.statistic:.3f} on {self.df} df, "
            f"p={self.p_value:.4g}."
        )

    def to_frame(self) -> pd.DataFrame:
        """One-row table: cause, rho, statistic, df, p.

        Returns
        -------
        pandas.DataFrame
            One row with columns ``cause``, ``rho``, ``statistic``, ``df`` and ``p_value``.
        """
        return pd.DataFrame([{"cause": self.cause, "rho": self.rho,
                              "statistic": self.statistic, "df": self.df,
                              "p_value": self.p_value}])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            Method, cause, rho, groups, statistic, df, p_value (NaN as ``None``) and the
            provenance.
        """
        return {
            "method": "gray_test",
            "cause": self.cause,
            "rho": self.rho,
            "groups": list(self.groups),
            "statistic": finite_or_none(self.statistic),
            "df": self.df,
            "p_value": finite_or_none(self.p_value),
            "provenance": self.provenance.to_dict(),
        }


def _gray_stratum(
    t: np.ndarray, e: np.ndarray, gi: np.ndarray, ng: int, cause: int, rho: float
) -> tuple[np.ndarray, np.ndarray]:
    """Score (ng-1) and variance (ng-1, ng-1) within one stratum."""
    uniq, inv = np.unique(t, return_inverse=True)
    nt = uniq.size
    d1 = np.zeros((nt, ng))
    d2 = np.zeros((nt, ng))
    cnt = np.zeros((nt, ng))
    np.add.at(cnt, (inv, gi), 1.0)
    np.add.at(d1, (inv, gi), (e == cause).astype(float))
    np.add.at(d2, (inv, gi), ((e != cause) & (e != 0)).astype(float))
    # at risk at each time: total in group minus those with earlier times
    rs = cnt.sum(axis=0)[None, :] - np.vstack([np.zeros((1, ng)), np.cumsum(cnt, axis=0)[:-1]])
    has = rs > 0
    dd = d1 + d2
    with np.errstate(divide="ignore", invalid="ignore"):
        fac = np.where(has, (rs - dd) / rs, 1.0)
        skm = np.cumprod(fac, axis=0)
        skmm = np.vstack([np.ones((1, ng)), skm[:-1]])
        inc1 = np.where(has, skmm * d1 / rs, 0.0)
        f1 = np.cumsum(inc1, axis=0)
        f1m = np.vstack([np.zeros((1, ng)), f1[:-1]])
        t1 = np.where(has, rs / skmm, 0.0)  # R_r-like weights, 0 when nobody at risk
        tr = t1.sum(axis=1)
        tq = np.where(has, rs * (1 - f1m) / skmm, 0.0).sum(axis=1)
    nd1 = d1.sum(axis=1)
    nd2 = d2.sum(axis=1)
    active = (nd1 + nd2) > 0
    # restrict to times with an event of any cause
    idx = np.flatnonzero(active)
    rs, d1, d2 = rs[idx], d1[idx], d2[idx]
    skm, skmm, f1m, t1 = skm[idx], skmm[idx], f1m[idx], t1[idx]
    tr, tq, nd1, nd2 = tr[idx], tq[idx], nd1[idx], nd2[idx]
    has = rs > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.cumsum(nd1 / tr)
        fm = np.r_[0.0, f[:-1]]
        fb = (1.0 - fm) ** rho
        # a[t] = fb * (diag(t1) - t1 t1' / tr)
        a = fb[:, None, None] * (
            np.einsum("ti,ij->tij", t1, np.eye(ng)) - t1[:, :, None] * t1[:, None, :] / tr[:, None,
                                                                                         None]
        )
        cinc = a * (nd1 / (tr * (1.0 - fm)))[:, None, None]
        # as cmprsk's crst: c(i, j) moves only when both groups are at risk; elsewhere a = 0
        # and the factor can be infinite (pooled F = 1 before the last time), 0 * inf = NaN
        both = has[:, :, None] & has[:, None, :]
        cinc = np.where((nd1[:, None, None] > 0) & both, cinc, 0.0)
        c = np.cumsum(cinc, axis=0)
        score = np.where(has, fb[:, None] * (d1 - nd1[:, None] * rs * (1 - f1m) / (skmm * tq[:,
                                                                                       None])),
                         0.0).sum(axis=0)
        # cause-of-interest contributions
        ok1 = has & (nd1[:, None] > 0)
        t4 = np.where(skm > 0, 1.0 - (1.0 - f[:, None]) / skm, 1.0)
        t5 = np.where(nd1[:, None] > 1, 1.0 - (nd1[:, None] - 1.0) / (tr[:, None] * skmm - 1.0),
                      1.0)
        t3 = np.where(ok1, t5 * skmm * nd1[:, None] / (tr[:, None] * rs), 0.0)
        v3 = np.sum(t4**2 * t3, axis=0)
        t1m = a - t4[:, None, :] * c  # (t, i, k)
        v2 = np.einsum("tik,tk->ik", t1m, t4 * t3)
        v = np.einsum("tik,tjk,tk->ij", t1m, t1m, t3)
        # competing-cause contributions
        ok2 = (skm > 0) & (d2 > 0)
        t4b = np.where(ok2, (1.0 - f[:, None]) / skm, 0.0)
        t5b = np.where(d2 > 1, 1.0 - (d2 - 1.0) / (rs - 1.0), 1.0)
        t3b = np.where(ok2, t5b * skmm**2 * d2 / rs**2, 0.0)
        v3 = v3 + np.sum(t4b**2 * t3b, axis=0)
        t1b = t4b[:, None, :] * c
        v2 = v2 - np.einsum("tik,tk->ik", t1b, t4b * t3b)
        v = v + np.einsum("tik,tjk,tk->ij", t1b, t1b, t3b)
    cf = c[-1] if c.shape[0] else np.zeros((ng, ng))
    v = v + np.einsum("ik,jk,k->ij", cf, cf, v3) + cf @ v2.T + v2 @ cf.T
    k = ng - 1
    return score[:k], v[:k, :k]


def gray_test(
    time: Any,
    event: Any,
    groups: Any,
    *,
    cause: int = 1,
    rho: float = 0.0,
    strata: Any = None,
) -> GrayTest:
    """Gray's test that the cumulative incidence of ``cause`` is equal across ``groups``.

    Parameters
    ----------
    time, event
        Follow-up times and event codes (0 censored, other codes = causes).
    groups
        Group label per observation (>= 2 groups).
    cause
        Cause of interest (other non-zero codes are competing).
    rho
        Weight exponent: ``(1 - F(t-))^rho`` (0 = log-rank-like, cmprsk's default).
    strata
        Optional stratum label per observation (stratified test, as ``cuminc(strata=)``).

    Returns
    -------
    GrayTest
        The chi-square statistic on K-1 degrees of freedom, its p-value and the scores.

    Raises
    ------
    EstimationError
        If the times or event codes are invalid (missing, negative or infinite times), a
        group or stratum label is missing, there are fewer than two groups, or the variance
        is singular or not finite (e.g. a group without events of ``cause``).
    """
    t, e = check_times(time, event, codes=tuple(sorted(set(np.asarray(event).tolist()) | {0})))
    levels, gi, st = group_codes(groups, strata, t.size, "Gray's test")
    ng = len(levels)
    s = np.zeros(ng - 1)
    v = np.zeros((ng - 1, ng - 1))
    for lev in sorted(set(st.tolist())):
        m = st == lev
        ss, vv = _gray_stratum(t[m], e[m], gi[m], ng, cause, rho)
        s += ss
        v += vv
    try:
        stat = float(s @ np.linalg.solve(v, s))
    except np.linalg.LinAlgError as exc:
        raise EstimationError(
            "Gray's test variance is singular.",
            hint="A group may have no events of this cause; merge or drop it.",
        ) from exc
    if not np.isfinite(stat):
        raise EstimationError(
            "Gray's test is not estimable on these data (its variance is not finite).",
            hint="Groups with very few patients may make it undefined; merge small groups.")
    df = ng - 1
    p = float(stats.chi2.sf(stat, df))
    prov = Provenance("gray_test", {"cause": cause, "rho": rho, "stratified": strata is not None},
                      n=int(t.size))
    return GrayTest(stat, df, p, int(cause), float(rho), tuple(levels), tuple(s.tolist()), prov)
