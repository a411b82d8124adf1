"""Study-style outcome tables: HALT-MS (Nash 2017) and Shevchenko 2015 layouts.

Inputs are the endpoint engine's per-patient frame (``<endpoint>_time`` in days from the
origin, ``<endpoint>_event`` 0/1) plus the EDSS visits and baseline phenotype. Times are
reported in years (365.25 days).

* :func:`halt_ms_table`: for EFS, progression-free (no confirmed worsening), relapse-free,
  MRI-activity-free survival and NEDA-3, the Kaplan-Meier estimate at each year with its CI at
  the chosen level (HALT-MS used 90%), events so far and numbers at risk; the EDSS change from
  baseline (median, IQR, Wilcoxon signed-rank p) at each year.
* :func:`shevchenko_table`: cumulative incidence of confirmed worsening with death as a
  competing risk (Aalen-Johansen), event-free survival by phenotype group (relapsing vs
  progressive) with a log-rank test, and the share with confirmed (sustained) improvement,
  overall and in Shevchenko's long-term subset (followed > 3 years, no worsening in the first
  3 years).

Competing-risk coding for progression: cause 1 = confirmed worsening at its onset; else
cause 2 = death at the death date when death was recorded; else censored at the last EDSS
visit. A death after the last EDSS visit therefore counts as a competing event (progression
status between the two is assumed unchanged); this is stated in every output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from hsctms.analysis.edss_change import EdssChangeRow, edss_at_years, edss_change_table
from hsctms.analysis.labels import format_p
from hsctms.analysis.published import (
    HALT_MS,
    OUTCOME_FOR_ENDPOINT,
    SHEVCHENKO,
    PublishedFigure,
    find,
)
from hsctms.errors import ConfigurationError, EstimationError
from hsctms.survival import (
    CumulativeIncidence,
    GrayTest,
    KaplanMeier,
    LogRankTest,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    logrank_test,
)
from hsctms.survival._common import finite_or_none

YEAR_DAYS = 365.25

#: Endpoints of the HALT-MS table (engine name -> "free of event" label).
HALT_MS_ENDPOINTS: dict[str, str] = {
    "efs": "Event-free survival",
    "worsening": "Progression-free survival (no confirmed worsening)",
    "relapse": "Relapse-free survival",
    "mri_activity": "MRI activity-free survival",
    "neda3_loss": "NEDA-3 (no evidence of disease activity)",
}

#: Phenotype groups of the Shevchenko comparison.
PHENOTYPE_GROUPS: dict[str, str] = {
    "RRMS": "relapsing",
    "SPMS": "progressive",
    "PPMS": "progressive",
    "PRMS": "progressive",
}

COMPETING_RULE = (
    "cause 1 = confirmed worsening (onset); otherwise cause 2 = death if recorded; otherwise "
    "censored at the last EDSS visit"
)


def _need(frame: pd.DataFrame, endpoint: str) -> None:
    cols = {f"{endpoint}_time", f"{endpoint}_event"}
    if not cols <= set(frame.columns):
        raise EstimationError(
            f"The endpoint table has no {endpoint!r} endpoint.",
            hint="Pass hsctms.endpoints.derive(...).to_frame() (columns <endpoint>_time/_event).",
        )


def fit_endpoint(frame: pd.DataFrame, endpoint: str, *, level: float, conf_type: str,
                 label: str | None = None) -> KaplanMeier:
    """Kaplan-Meier of "free of ``endpoint``" with time in years."""
    _need(frame, endpoint)
    return kaplan_meier(frame[f"{endpoint}_time"].to_numpy(float) / YEAR_DAYS,
                        frame[f"{endpoint}_event"].to_numpy(int), level=level,
                        conf_type=conf_type, label=label or HALT_MS_ENDPOINTS.get(endpoint))


@dataclass(frozen=True)
class SurvivalAtYear:
    """A Kaplan-Meier estimate at one year with CI, events so far and numbers at risk."""

    endpoint: str
    label: str
    year: float
    estimate: float
    lower: float
    upper: float
    events: int
    at_risk: int
    n: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"endpoint": self.endpoint, "label": self.label, "year": self.year,
                "estimate": finite_or_none(self.estimate), "lower": finite_or_none(self.lower),
                "upper": finite_or_none(self.upper), "events": self.events,
                "at_risk": self.at_risk, "n": self.n}


def survival_rows(fit: KaplanMeier, endpoint: str, years: Sequence[float]) -> list[SurvivalAtYear]:
    """Rows of :class:`SurvivalAtYear` from a fit with time in years."""
    at = fit.survival_at(list(years))
    return [
        SurvivalAtYear(endpoint, fit.label or endpoint, float(r.time), float(r.surv),
                       float(r.lower), float(r.upper), int(r.cum_events), int(r.n_risk), fit.n)
        for r in at.itertuples()
    ]


@dataclass(frozen=True)
class HaltMsTable:
    """HALT-MS style table: endpoints at each year and EDSS change from baseline.

    Parameters
    ----------
    years
        Time points of the table (years after the origin).
    level
        Confidence level of the Kaplan-Meier intervals (0-1; HALT-MS used 0.9).
    conf_type
        Interval transform: ``"log-log"``, ``"log"`` or ``"plain"``.
    rows
        Kaplan-Meier estimate, CI, events so far and numbers at risk per endpoint of
        :data:`HALT_MS_ENDPOINTS` and year (proportions 0-1).
    edss_change
        EDSS change from baseline per year (:func:`edss_change_table`).
    published
        Engine endpoint name to the matching published HALT-MS figure (only those found).
    published_edss
        Published HALT-MS EDSS change, or None.
    fits
        Engine endpoint name to its Kaplan-Meier fit (time in years).
    edss_window_days
        Half-width of the window around each year in which the EDSS visit is taken (days).
    edss_at_years
        Per patient and year: the EDSS used and its change (:func:`edss_at_years`), or None.
    """

    years: tuple[float, ...]
    level: float
    conf_type: str
    rows: list[SurvivalAtYear]
    edss_change: list[EdssChangeRow]
    published: dict[str, PublishedFigure]
    published_edss: PublishedFigure | None
    fits: dict[str, KaplanMeier] = field(repr=False)
    edss_window_days: float = 182.0
    edss_at_years: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per endpoint and year.

        Returns
        -------
        pandas.DataFrame
            Columns ``endpoint``, ``label``, ``year``, ``estimate``, ``lower``, ``upper``
            (proportions 0-1), ``events``, ``at_risk`` and ``n``.
        """
        return pd.DataFrame([r.to_dict() for r in self.rows])

    @property
    def summary(self) -> str:
        """Text rendering of the table at the last year."""
        last = max(self.years)
        lines = [f"HALT-MS style outcomes at {last:g} years ({100 * self.level:g}% CI, "
                 f"{self.conf_type} transform):"]
        for r in self.rows:
            if r.year == last:
                pub = self.published.get(r.endpoint)
                ptxt = f" | published {pub.study}: {100 * pub.estimate:.1f}%" if (
                    pub and pub.estimate is not None) else ""
                lines.append(f"  {r.label}: {100 * r.estimate:.1f}% ({100 * r.lower:.1f}-"
                             f"{100 * r.upper:.1f}), {r.events} events, {r.at_risk} at risk{ptxt}")
        for e in self.edss_change:
            if e.n:
                # the direction as counts (a median of +0.0 with a small p says little alone)
                # and the p-value as journals print it
                lines.append(f"  EDSS change at {e.year:g} y: median {e.median:+.1f} "
                             f"(IQR {e.q1:+.1f} to {e.q3:+.1f}), n={e.n}: {e.improved} "
                             f"improved, {e.stable} stable, {e.worsened} worsened; signed-rank "
                             f"{format_p(e.test.p_value)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict of str to Any
            Years, level, transform, the survival rows, the EDSS change rows, the EDSS window
            and the published figures (the fits and per-patient EDSS are left out).
        """
        return {
            "years": list(self.years),
            "level": self.level,
            "conf_type": self.conf_type,
            "rows": [r.to_dict() for r in self.rows],
            "edss_change": [e.to_dict() for e in self.edss_change],
            "edss_window_days": self.edss_window_days,
            "published": {k: v.to_dict() for k, v in self.published.items()},
            "published_edss_change": self.published_edss.to_dict() if self.published_edss
            else None,
        }


def halt_ms_table(
    frame: pd.DataFrame,
    edss_visits: pd.DataFrame,
    *,
    years: Sequence[float] = (1, 2, 3, 4, 5),
    level: float = 0.9,
    conf_type: str = "log-log",
    published: Sequence[PublishedFigure] = (),
    edss_window_days: float = 182.0,
) -> HaltMsTable:
    """Build the HALT-MS style table (see module docstring).

    Parameters
    ----------
    frame
        Per-patient endpoint frame (:meth:`hsctms.endpoints.EndpointResult.to_frame`):
        ``<endpoint>_time`` (days) and ``<endpoint>_event`` for ``efs``, ``worsening``,
        ``relapse``, ``mri_activity`` and ``neda3_loss``, plus ``patient_id``,
        ``origin_date`` and ``baseline_edss`` for the EDSS change.
    edss_visits
        EDSS visits (``patient_id``, ``date``, ``edss``).
    years
        Time points (years after the origin); default 1 to 5.
    level
        Confidence level of the Kaplan-Meier intervals (0-1); default 0.9 as HALT-MS.
    conf_type
        Interval transform: ``"log-log"`` (default), ``"log"`` or ``"plain"``.
    published
        Published figures to show alongside (e.g. :func:`published_figures`); the HALT-MS
        (``nash2017``) ones matching an endpoint are kept. Default none.
    edss_window_days
        The EDSS of year k is the visit closest to day ``k * 365.25`` within this many days
        (default 182).

    Returns
    -------
    HaltMsTable
        The survival rows, the EDSS change rows, the matching published figures and the
        fits.

    Raises
    ------
    EstimationError
        ``frame`` lacks an endpoint or the columns of the EDSS change.
    """
    years = tuple(float(y) for y in years)
    fits = {}
    rows: list[SurvivalAtYear] = []
    for ep in HALT_MS_ENDPOINTS:
        fit = fit_endpoint(frame, ep, level=level, conf_type=conf_type)
        fits[ep] = fit
        rows += survival_rows(fit, ep, years)
    at = edss_at_years(frame, edss_visits, years, window_days=edss_window_days)
    change = edss_change_table(at, years)
    pubs = {}
    for ep, outcome in OUTCOME_FOR_ENDPOINT.items():
        f = find(published, HALT_MS, outcome)
        if f is not None:
            pubs[ep] = f
    return HaltMsTable(years, level, conf_type, rows, change, pubs,
                       find(published, HALT_MS, "edss_change"), fits, edss_window_days, at)


@dataclass(frozen=True)
class IncidenceAtYear:
    """Cumulative incidence at one year with CI, events so far and numbers at risk."""

    year: float
    estimate: float
    lower: float
    upper: float
    events: int
    at_risk: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"year": self.year, "estimate": finite_or_none(self.estimate),
                "lower": finite_or_none(self.lower), "upper": finite_or_none(self.upper),
                "events": self.events, "at_risk": self.at_risk}


@dataclass(frozen=True)
class Share:
    """A crude proportion with an exact (Clopper-Pearson) CI."""

    events: int
    n: int
    estimate: float
    lower: float
    upper: float
    level: float
    description: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"events": self.events, "n": self.n, "estimate": finite_or_none(self.estimate),
                "lower": finite_or_none(self.lower), "upper": finite_or_none(self.upper),
                "level": self.level, "method": "clopper_pearson",
                "description": self.description}


def share(events: int, n: int, level: float, description: str) -> Share:
    """Proportion ``events / n`` with an exact (Clopper-Pearson) CI, as R ``binom.test``.

    Parameters
    ----------
    events
        Number of patients with the event (0 <= events <= n).
    n
        Number of patients (the denominator).
    level
        Confidence level in (0, 1).
    description
        What the proportion is (shown in tables).

    Returns
    -------
    Share
        The estimate and interval (NaN for n = 0).

    Raises
    ------
    ConfigurationError
        When ``level`` is not in (0, 1) or ``events`` is not between 0 and ``n``.
    """
    if not 0 < level < 1:
        raise ConfigurationError(f"level must be in (0, 1), got {level!r}.", hint="E.g. 0.95.")
    if not 0 <= events <= n:
        raise ConfigurationError(f"events must be between 0 and n, got {events} of {n}.",
                                 hint="Count events among the n patients.")
    if n == 0:
        return Share(0, 0, float("nan"), float("nan"), float("nan"), level, description)
    lo, hi = proportion_confint(events, n, alpha=1 - level, method="beta")
    return Share(int(events), int(n), events / n, float(lo), float(hi), level, description)


def competing_progression(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(time in years, cause) for progression with death competing (see ``COMPETING_RULE``).

    Parameters
    ----------
    frame
        Per-patient endpoint frame with ``worsening_time``/``worsening_event`` and
        ``death_time``/``death_event`` (times in days).

    Returns
    -------
    tuple of numpy.ndarray
        ``(time, cause)`` per patient: time in years, cause 1 = confirmed worsening, 2 =
        death, 0 = censored at the last EDSS visit.

    Raises
    ------
    EstimationError
        ``frame`` lacks the worsening or the death endpoint.
    """
    _need(frame, "worsening")
    _need(frame, "death")
    w_t = frame["worsening_time"].to_numpy(float)
    w_e = frame["worsening_event"].to_numpy(int)
    d_t = frame["death_time"].to_numpy(float)
    d_e = frame["death_event"].to_numpy(int)
    cause = np.where(w_e == 1, 1, np.where(d_e == 1, 2, 0))
    time = np.where(w_e == 1, w_t, np.where(d_e == 1, d_t, w_t))
    return time / YEAR_DAYS, cause


@dataclass(frozen=True)
class ShevchenkoTable:
    """Shevchenko 2015 style table (see module docstring).

    Parameters
    ----------
    years
        Time points of the table (years after the origin).
    level
        Confidence level of the intervals (0-1).
    conf_type
        Interval transform: ``"log-log"``, ``"log"`` or ``"plain"``.
    progression, death
        Cumulative incidence (proportion 0-1) of confirmed worsening and of death (the
        competing event) per year.
    efs_by_group
        Phenotype group (``"relapsing"``, ``"progressive"``, ``"unknown"``) to its
        event-free survival rows per year.
    group_n
        Patients per phenotype group.
    logrank
        Log-rank test of event-free survival between the known groups, or None (one group,
        or no event).
    improvement
        Share of patients with a confirmed EDSS improvement during follow-up.
    improvement_longterm
        The same share in Shevchenko's long-term subset (followed more than 3 years, no
        confirmed worsening in the first 3 years).
    published
        Key (``"progression"``, ``"efs"``, ``"efs_relapsing"``, ``"efs_progressive"``,
        ``"improvement_longterm"``) to the matching published Shevchenko figure.
    cif
        The Aalen-Johansen fit (time in years; cause 1 worsening, 2 death).
    efs_fits
        Phenotype group to its Kaplan-Meier fit of event-free survival (time in years).
    competing_rule
        How progression, death and censoring are coded (:data:`COMPETING_RULE`).
    gray
        Gray's test of the cumulative incidence of worsening between the known groups, or
        None (one group, no worsening, or not computable: see ``caveats``).
    caveats
        Notes on what could not be computed.
    """

    years: tuple[float, ...]
    level: float
    conf_type: str
    progression: list[IncidenceAtYear]
    death: list[IncidenceAtYear]
    efs_by_group: dict[str, list[SurvivalAtYear]]
    group_n: dict[str, int]
    logrank: LogRankTest | None
    improvement: Share
    improvement_longterm: Share
    published: dict[str, PublishedFigure]
    cif: CumulativeIncidence = field(repr=False)
    efs_fits: dict[str, KaplanMeier] = field(repr=False)
    competing_rule: str = COMPETING_RULE
    gray: GrayTest | None = None
    caveats: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """Text rendering."""
        last = max(self.years)
        p = next(r for r in self.progression if r.year == last)
        lines = [
            f"Shevchenko style outcomes ({100 * self.level:g}% CI, {self.conf_type} transform):",
            f"  Cumulative incidence of confirmed worsening at {last:g} y (death competing): "
            f"{100 * p.estimate:.1f}% ({100 * p.lower:.1f}-{100 * p.upper:.1f})",
        ]
        for g, rows in self.efs_by_group.items():
            r = next(x for x in rows if x.year == last)
            lines.append(f"  EFS {g} (n={self.group_n[g]}) at {last:g} y: {100 * r.estimate:.1f}%")
        if self.logrank is not None:
            lines.append(f"  {self.logrank.summary}")
        if self.gray is not None:
            lines.append(f"  Progression by phenotype: {self.gray.summary}")
        i = self.improvement
        lines.append(f"  Confirmed improvement: {i.events}/{i.n} ({100 * i.estimate:.1f}%)")
        lines += [f"  caveat: {c}" for c in self.caveats]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict of str to Any
            Years, level, transform, the competing rule, the progression and death
            incidence rows, EFS rows and n per phenotype group, the tests, the improvement
            shares, the published figures and the caveats (fits left out).
        """
        return {
            "years": list(self.years),
            "level": self.level,
            "conf_type": self.conf_type,
            "competing_rule": self.competing_rule,
            "progression_cif": [r.to_dict() for r in self.progression],
            "death_cif": [r.to_dict() for r in self.death],
            "efs_by_phenotype": {g: [r.to_dict() for r in rows]
                                 for g, rows in self.efs_by_group.items()},
            "phenotype_n": self.group_n,
            "logrank": self.logrank.to_dict() if self.logrank else None,
            "gray_progression_by_phenotype": self.gray.to_dict() if self.gray else None,
            "improvement": self.improvement.to_dict(),
            "improvement_longterm": self.improvement_longterm.to_dict(),
            "published": {k: v.to_dict() for k, v in self.published.items()},
            "caveats": list(self.caveats),
        }


def _need_shevchenko_columns(frame: pd.DataFrame) -> None:
    for endpoint in ("efs", "improvement"):
        _need(frame, endpoint)
    if "followup_days" not in frame.columns:
        raise EstimationError("The endpoint table has no 'followup_days' column.",
                              hint="Pass hsctms.endpoints.derive(...).to_frame().")


def shevchenko_table(
    frame: pd.DataFrame,
    phenotypes: pd.Series | Sequence[str],
    *,
    years: Sequence[float] = (1, 2, 3, 4, 5, 6, 7, 8),
    level: float = 0.95,
    conf_type: str = "log-log",
    phenotype_groups: Mapping[str, str] | None = None,
    published: Sequence[PublishedFigure] = (),
) -> ShevchenkoTable:
    """Build the Shevchenko style table (see module docstring).

    ``phenotypes`` holds each patient's phenotype, aligned with ``frame`` rows; they are mapped
    to groups by ``phenotype_groups`` (default RRMS -> relapsing, others -> progressive).

    Parameters
    ----------
    frame
        Per-patient endpoint frame (:meth:`hsctms.endpoints.EndpointResult.to_frame`) with
        the ``worsening``, ``death``, ``efs`` and ``improvement`` endpoints (times in days)
        and ``followup_days``.
    phenotypes
        Each patient's phenotype (``"RRMS"``, ``"SPMS"``, ...), in the row order of
        ``frame``; missing or unmapped values form the group ``"unknown"`` (left out of the
        tests).
    years
        Time points (years after the origin); default 1 to 8.
    level
        Confidence level of the intervals (0-1); default 0.95.
    conf_type
        Interval transform: ``"log-log"`` (default), ``"log"`` or ``"plain"``.
    phenotype_groups
        Phenotype to group name; None uses :data:`PHENOTYPE_GROUPS`.
    published
        Published figures to show alongside; the Shevchenko 2015 (``shevchenko2015``) ones
        matching an outcome are kept. Default none.

    Returns
    -------
    ShevchenkoTable
        Cumulative incidences, EFS by phenotype group with the tests, the improvement shares
        and the matching published figures.

    Raises
    ------
    EstimationError
        ``frame`` lacks the worsening, death, EFS or improvement endpoint or
        ``followup_days``, or ``phenotypes`` does not align with its rows.
    """
    years = tuple(float(y) for y in years)
    groups_map = dict(phenotype_groups or PHENOTYPE_GROUPS)
    _need_shevchenko_columns(frame)
    t, cause = competing_progression(frame)
    cif = cumulative_incidence(t, cause, cause_names={1: "confirmed worsening", 2: "death"},
                               level=level, conf_type=conf_type)

    def inc_rows(k: int) -> list[IncidenceAtYear]:
        at = cif.incidence_at(list(years), cause=k)
        return [IncidenceAtYear(float(r.time), float(r.cif), float(r.lower), float(r.upper),
                                int(r.cum_events), int(r.n_risk)) for r in at.itertuples()]

    ph = pd.Series(np.asarray(phenotypes, dtype=object)).map(
        lambda v: groups_map.get(str(v), "unknown") if not pd.isna(v) else "unknown")
    if len(ph) != len(frame):
        raise EstimationError("phenotypes must align with the endpoint table rows.",
                              hint="Merge the baseline table on patient_id first.")
    grp = ph.to_numpy(dtype=str)
    efs_t = frame["efs_time"].to_numpy(float) / YEAR_DAYS
    efs_e = frame["efs_event"].to_numpy(int)
    efs_fits: dict[str, KaplanMeier] = {}
    efs_rows: dict[str, list[SurvivalAtYear]] = {}
    group_n: dict[str, int] = {}
    for g in sorted(set(grp.tolist())):
        m = grp == g
        fit = kaplan_meier(efs_t[m], efs_e[m], level=level, conf_type=conf_type, label=g)
        efs_fits[g] = fit
        efs_rows[g] = survival_rows(fit, "efs", years)
        group_n[g] = int(m.sum())
    known = grp != "unknown"
    lr = None
    if len(set(grp[known].tolist())) > 1 and efs_e[known].sum() > 0:
        lr = logrank_test(efs_t[known], efs_e[known], grp[known])
    imp = frame["improvement_event"].to_numpy(int)
    improvement = share(int(imp.sum()), int(imp.size), level,
                        "confirmed EDSS improvement at any time during follow-up")
    three = 3 * YEAR_DAYS
    lt = (frame["followup_days"].to_numpy(float) > three) & ~(
        (frame["worsening_event"].to_numpy(int) == 1)
        & (frame["worsening_time"].to_numpy(float) <= three))
    improvement_lt = share(int(imp[lt].sum()), int(lt.sum()), level,
                           "confirmed improvement among patients followed > 3 years without "
                           "confirmed worsening in the first 3 years")
    pubs: dict[str, PublishedFigure] = {}
    for key, outcome, pop in (("progression", "progression", "all"),
                              ("efs", "event_free", "all"),
                              ("efs_relapsing", "event_free", "RRMS"),
                              ("efs_progressive", "event_free", "progressive"),
                              ("improvement_longterm", "improvement",
                               "long-term subset (no progression in first 3 y)")):
        f = find(published, SHEVCHENKO, outcome, pop)
        if f is not None:
            pubs[key] = f
    gray = None
    caveats: list[str] = []
    if len(set(grp[known].tolist())) > 1 and (cause[known] == 1).sum() > 0:
        try:
            gray = gray_test(t[known], cause[known], grp[known], cause=1)
        except EstimationError as exc:
            caveats.append("Gray's test of confirmed worsening by phenotype could not be "
                           f"computed: {exc.message}")
    return ShevchenkoTable(years, level, conf_type, inc_rows(1), inc_rows(2), efs_rows, group_n,
                           lr, improvement, improvement_lt, pubs, cif, efs_fits,
                           COMPETING_RULE, gray, tuple(caveats))
