"""Log-rank test (Mantel-Haenszel), optionally stratified, as R ``survival::survdiff``.

For K groups: at each distinct event time the observed events of each group are compared with
those expected given the numbers at risk; the hypergeometric variance matrix is summed over
times (and strata). The statistic ``(O - E)' V^- (O - E)`` on the first K-1 groups is
chi-square with K-1 degrees of freedom. Checked against R ``survdiff`` (with ``strata()``)
and statsmodels ``survdiff``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hsctms._provenance import Provenance
from hsctms.survival._common import check_times, finite_or_none, group_codes


@dataclass(frozen=True)
class LogRankTest:
    """Result of a (stratified) log-rank test.

    Built by :func:`logrank_test`. The per-group tuples follow the order of ``groups``.

    Parameters
    ----------
    statistic
        Chi-square statistic ``(O - E)' V^- (O - E)`` on the first K-1 groups.
    df
        Degrees of freedom: the rank of the variance matrix of the first K-1 groups (K-1
        unless groups are degenerate, e.g. without anyone at risk at any event time).
    p_value
        Chi-square p-value of ``statistic`` on ``df`` degrees of freedom; NaN when ``df``
        is 0 (no events).
    groups
        Group labels in sorted (numeric-aware) order.
    observed
        Observed number of events per group, summed over strata.
    expected
        Expected number of events per group under equal hazards, summed over strata.
    n
        Number of patients per group.
    stratified
        True when the test was stratified (``strata`` given).
    provenance
        How the test was computed (whether stratified, n, data source).
    """

    statistic: float
    df: int
    p_value: float
    groups: tuple[str, ...]
    observed: tuple[float, ...]
    expected: tuple[float, ...]
    n: tuple[int, ...]
    stratified: bool = False
    provenance: Provenance = field(default_factory=lambda: Provenance("logrank"))

    def to_frame(self) -> pd.DataFrame:
        """One row per group: n, observed and expected events, O/E.

        Returns
        -------
        pandas.DataFrame
            Columns ``group``, ``n``, ``observed``, ``expected`` and ``o_over_e`` (observed
            divided by expected; infinite or NaN when a group expects no events).
        """
        with np.errstate(divide="ignore", invalid="ignore"):  # a group expecting no events
            ratio = np.asarray(self.observed, dtype=float) / np.asarray(self.expected,
                                                                        dtype=float)
        return pd.DataFrame({
            "group": self.groups,
            "n": self.n,
            "observed": self.observed,
            "expected": self.expected,
            "o_over_e": ratio,
        })

    @property
    def summary(self) -> str:
        """One-line description."""
        kind = "Stratified log-rank" if self.stratified else "Log-rank"
        return (
            f"{kind} test across {len(self.groups)} groups: chi2={self.statistic:.3f} on "
            f"{self.df} df, p={self.p_value:.4g}."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            Method, stratified, statistic, df, p_value (NaN as ``None``), groups, and the
            per-group ``n``, ``observed`` and ``expected`` lists, and the provenance.
        """
        return {
            "method": "logrank",
            "stratified": self.stratified,
            "statistic": finite_or_none(self.statistic),
            "df": self.df,
            "p_value": finite_or_none(self.p_value),
            "groups": list(self.groups),
            "n": list(self.n),
            "observed": list(self.observed),
            "expected": list(self.expected),
            "provenance": self.provenance.to_dict(),
        }


def _stratum(t: np.ndarray, e: np.ndarray, gi: np.ndarray, ng: int) -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    uniq, inv = np.unique(t, return_inverse=True)
    nt = uniq.size
    cnt = np.zeros((nt, ng))
    dev = np.zeros((nt, ng))
    np.add.at(cnt, (inv, gi), 1.0)
    np.add.at(dev, (inv, gi), e.astype(float))
    risk = cnt.sum(axis=0)[None, :] - np.vstack([np.zeros((1, ng)), np.cumsum(cnt, 0)[:-1]])
    keep = dev.sum(axis=1) > 0
    risk, dev = risk[keep], dev[keep]
    n = risk.sum(axis=1)
    d = dev.sum(axis=1)
    exp = risk * (d / n)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(n > 1, d * (n - d) / (n**2 * (n - 1)), 0.0)
    # V = sum_t w_t (n_t diag(r) - r r')
    v = np.einsum("t,ti,ij->ij", w * n, risk, np.eye(ng)) - np.einsum("t,ti,tj->ij", w, risk,
                                                                      risk)
    return dev.sum(axis=0), exp.sum(axis=0), v


def logrank_test(
    time: Any,
    event: Any,
    groups: Any,
    *,
    strata: Any = None,
) -> LogRankTest:
    """Log-rank test of equal survival across ``groups`` (stratified by ``strata`` if given).

    Parameters
    ----------
    time
        Follow-up times (>= 0, finite), one per patient, in any unit.
    event
        1 = event, 0 = censored (booleans accepted), one per patient.
    groups
        Group label per patient (converted to text; at least two groups). A missing label is
        an error.
    strata
        Optional stratum label per patient: observed and expected events and the variance
        are computed within each stratum and summed (R ``survdiff(... + strata(s))``).
        Default None (unstratified).

    Returns
    -------
    LogRankTest
        The chi-square statistic, its degrees of freedom and p-value, and the observed and
        expected events per group.

    Raises
    ------
    EstimationError
        If the times or event codes are invalid, a group or stratum label is missing, or
        there are fewer than two groups.

    Examples
    --------
    >>> res = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 0, 0], ["A", "A", "A", "B", "B", "B"])
    >>> res.df, res.observed
    (1, (2.0, 1.0))
    """
    t, e = check_times(time, event)
    levels, gi, st = group_codes(groups, strata, t.size, 'The log-rank test')
    ng = len(levels)
    obs = np.zeros(ng)
    exp = np.zeros(ng)
    var = np.zeros((ng, ng))
    for lev in sorted(set(st.tolist())):
        m = st == lev
        o, ex, v = _stratum(t[m], e[m], gi[m], ng)
        obs += o
        exp += ex
        var += v
    diff = (obs - exp)[:-1]
    stat = float(diff @ np.linalg.pinv(var[:-1, :-1]) @ diff)
    df = int(np.linalg.matrix_rank(var[:-1, :-1]))
    p = float(stats.chi2.sf(stat, df)) if df > 0 else float("nan")
    ns = tuple(int((gi == i).sum()) for i in range(ng))
    prov = Provenance("logrank", {"stratified": strata is not None}, n=int(t.size))
    return LogRankTest(stat, df, p, tuple(levels), tuple(obs.tolist()), tuple(exp.tolist()), ns,
                       strata is not None, prov)
