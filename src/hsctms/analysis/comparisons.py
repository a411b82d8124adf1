"""Like-for-like comparisons of the registry with HALT-MS (Nash 2017) and Shevchenko 2015.

* :func:`halt_ms_like`: restricts the registry cohort to patients matching the HALT-MS
  population as far as registry data allow (:data:`HALT_MS_RESTRICTIONS`; the entry criteria
  that cannot be applied are listed in :data:`HALT_MS_NOT_APPLIED`) and recomputes the
  HALT-MS table on that subset: same endpoint definition, time points and interval level as
  the full table, plus the published time point (5 years). Criteria are those of
  ``hsctms/eligibility/sets/halt-ms.yaml`` (evidence.md section 3b); the age range is unverified
  against the protocol and keeps that flag.
* :func:`shevchenko_comparisons`: the registry figure at each published Shevchenko time point
  (cumulative incidence of progression at 8 years, event-free survival at the published
  median follow-up, improvement in the long-term subset) beside the published figure, with the
  difference in definition stated.

A patient with a missing value of a restricted characteristic is left out of the subset (not
known to match).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hsctms.analysis.baseline import rows_before
from hsctms.analysis.published import PublishedFigure
from hsctms.analysis.tables import (
    YEAR_DAYS,
    HaltMsTable,
    ShevchenkoTable,
    SurvivalAtYear,
    halt_ms_table,
)
from hsctms.errors import EstimationError
from hsctms.survival import kaplan_meier
from hsctms.survival._common import finite_or_none

#: Relapse window of the HALT-MS entry criterion (18 months before the transplant), in days.
RELAPSE_WINDOW_DAYS = 1.5 * YEAR_DAYS

#: Words for the endpoint engine's event-free survival components.
EFS_COMPONENT_NAMES: dict[str, str] = {
    "death": "death", "worsening": "confirmed worsening", "relapse": "relapse",
    "mri_activity": "MRI activity",
}

#: HALT-MS published time point of the comparison (years).
HALT_MS_YEAR = 5.0


@dataclass(frozen=True)
class Restriction:
    """One HALT-MS entry criterion applied to the registry cohort.

    Parameters
    ----------
    criterion
        The criterion as published (HALT-MS entry criteria).
    rule
        How it is applied to the registry data.
    verified
        False when the evidence base marks the criterion unverified.
    n_after
        Patients left after this and every earlier restriction.
    """

    criterion: str
    rule: str
    verified: bool
    n_after: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"criterion": self.criterion, "rule": self.rule, "verified": self.verified,
                "n_after": self.n_after}


#: (criterion, rule on the registry data, verified) of the HALT-MS-like subset, in order.
HALT_MS_RESTRICTIONS: tuple[tuple[str, str, bool], ...] = (
    ("Relapsing-remitting MS (the criteria also admitted progressive-relapsing MS; all 24 "
     "transplanted patients had RRMS)", "phenotype is RRMS", True),
    ("EDSS 3.0 to 5.5", "baseline EDSS of the endpoint definition between 3.0 and 5.5", True),
    ("2 or more relapses in the past 18 months",
     "2 or more relapse onsets in the 18 months (548 days) before the time origin (the "
     "transplant)", True),
    ("Disease duration under 15 years", "disease duration at transplant under 15 years", True),
    ("Age 18 to 60", "age at transplant 18 to 60", False),
)

#: The DMT-failure criterion, applied (after the relapse count) when the registry's DMT
#: courses are given to :func:`halt_ms_like`, as the eligibility set's ``halt-ms.relapses``.
HALT_MS_DMT_RESTRICTION: tuple[str, str, bool] = (
    "relapses despite interferon, glatiramer acetate, natalizumab or cytotoxic therapy",
    "at least one relapse onset of the 18 months before the transplant during a course of "
    "interferon beta, glatiramer acetate, natalizumab or a cytotoxic drug of the DMT catalogue "
    "(start to stop date; no stop date: ongoing)", True)
#: Column of the per-patient frame with the relapse onsets of the 18 months before the
#: transplant that fell in a HALT-MS DMT course (:func:`with_dmt_failure`); when the frame has
#: it, :func:`halt_ms_like` applies :data:`HALT_MS_DMT_RESTRICTION`.
DMT_FAILURE_COLUMN = "relapses_18m_on_halt_ms_dmt"
#: Why the DMT-failure criterion is not applied when no DMT courses are given.
HALT_MS_DMT_NOT_APPLIED: tuple[str, str] = (
    HALT_MS_DMT_RESTRICTION[0], "the registry's DMT courses were not used in this analysis")
#: DMTs whose failure HALT-MS required (generic names of the DMT catalogue), besides the
#: cytotoxic drugs.
HALT_MS_DMTS: frozenset[str] = frozenset({"interferon beta", "glatiramer acetate",
                                          "natalizumab"})

#: HALT-MS entry criteria (and trial features) that registry data cannot reproduce.
HALT_MS_NOT_APPLIED: tuple[tuple[str, str], ...] = (
    ("relapses with loss of neurologic function", "relapse severity is not recorded"),
    ("able to walk without an assistive device", "only the EDSS range is applied"),
    ("T2 MRI abnormalities consistent with MS", "baseline MRI findings are not recorded"),
    ("exclusion of neuromyelitis optica and of comorbidity increasing the risk",
     "not recorded in the registry"),
    ("CD34-selected graft with BEAM + rATG (the trial treatment)",
     "registry regimens are not restricted"),
)


def _between(x: pd.Series, lo: float, hi: float) -> np.ndarray:
    v = pd.to_numeric(x, errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        return np.asarray((v >= lo) & (v <= hi))


def relapses_before(frame: pd.DataFrame, relapses: pd.DataFrame,
                    window_days: float = RELAPSE_WINDOW_DAYS) -> np.ndarray:
    """Relapse onsets in the ``window_days`` before each patient's time origin.

    Parameters
    ----------
    frame
        Per-patient endpoint frame with ``patient_id`` and ``origin_date``.
    relapses
        Relapses (``patient_id``, ``onset_date``).
    window_days
        Length of the window before the origin (days; default 18 months).

    Returns
    -------
    numpy.ndarray
        Count per row of ``frame`` of onsets with ``origin - window <= onset < origin``.
    """
    ids, r = _onsets_in_window(frame, relapses, window_days)
    counts = r.groupby(r["patient_id"].astype(str)).size()
    return ids.map(counts).fillna(0).to_numpy(int)


def _onsets_in_window(frame: pd.DataFrame, relapses: pd.DataFrame,
                      window_days: float) -> tuple[pd.Series, pd.DataFrame]:
    """The frame's patient ids (as text) and the relapse rows with
    ``origin - window <= onset < origin`` (:func:`hsctms.analysis.baseline.rows_before`)."""
    ids = frame["patient_id"].astype(str)
    origin = pd.Series(pd.to_datetime(frame["origin_date"]).to_numpy(), index=ids)
    origin = origin[~origin.index.duplicated()]
    return ids, rows_before(relapses[["patient_id", "onset_date"]], "onset_date", origin,
                            inclusive=False, window_days=window_days)


def relapses_on_halt_ms_dmt(frame: pd.DataFrame, relapses: pd.DataFrame, dmt: pd.DataFrame,
                            window_days: float = RELAPSE_WINDOW_DAYS) -> np.ndarray:
    """Relapse onsets in the window before the origin that fall in a HALT-MS DMT course.

    Parameters
    ----------
    frame
        Per-patient endpoint frame with ``patient_id`` and ``origin_date``.
    relapses
        Relapses (``patient_id``, ``onset_date``).
    dmt
        DMT courses (``patient_id``, ``drug``, ``start_date``, ``stop_date``; a missing stop
        date is an ongoing course).
    window_days
        Length of the window before the origin (days; default 18 months).

    Returns
    -------
    numpy.ndarray
        Count per row of ``frame`` of onsets with ``origin - window <= onset < origin`` and
        ``start_date <= onset <= stop_date`` of a course of one of :data:`HALT_MS_DMTS` or a
        cytotoxic drug (DMT catalogue names and aliases); an onset in two courses counts once.
    """
    from hsctms.model.vocabularies import dmt_catalogue

    ids, r = _onsets_in_window(frame, relapses, window_days)
    catalogue = dmt_catalogue()

    def counts(drug: Any) -> bool:
        rec = catalogue.get(str(drug).lower().strip())
        return rec is not None and (rec["name"] in HALT_MS_DMTS or bool(rec["cytotoxic"]))

    courses = dmt[dmt["drug"].map(counts).astype(bool)]
    if r.empty or courses.empty:
        return np.zeros(len(frame), dtype=int)
    r = r.assign(patient_id=r["patient_id"].astype(str), _row=np.arange(len(r)))
    c = courses.assign(patient_id=courses["patient_id"].astype(str))
    m = r.merge(c[["patient_id", "start_date", "stop_date"]], on="patient_id")
    onset = pd.to_datetime(m["onset_date"])
    stop = pd.to_datetime(m["stop_date"])
    during = (onset >= pd.to_datetime(m["start_date"])) & (stop.isna() | (onset <= stop))
    hits = m.loc[during.to_numpy(bool)].drop_duplicates("_row")
    per_patient = hits.groupby("patient_id").size()
    return ids.map(per_patient).fillna(0).to_numpy(int)


def with_dmt_failure(frame: pd.DataFrame, relapses: pd.DataFrame,
                     dmt: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :data:`DMT_FAILURE_COLUMN`, so :func:`halt_ms_like` applies the
    DMT-failure criterion.

    Parameters
    ----------
    frame
        Per-patient frame of :func:`hsctms.analysis.run_outcomes` (``patient_id``,
        ``origin_date``, ...).
    relapses
        Relapses (``patient_id``, ``onset_date``).
    dmt
        The registry's DMT courses (``patient_id``, ``drug``, ``start_date``, ``stop_date``).

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame`` with the column (:func:`relapses_on_halt_ms_dmt`).
    """
    return frame.assign(**{DMT_FAILURE_COLUMN: relapses_on_halt_ms_dmt(frame, relapses, dmt)})


def halt_ms_like_masks(frame: pd.DataFrame, relapses: pd.DataFrame) -> list[np.ndarray]:
    """Boolean row masks of ``frame`` for each of :data:`HALT_MS_RESTRICTIONS` (alone).

    Parameters
    ----------
    frame
        Per-patient endpoint frame with ``phenotype``, ``baseline_edss``, ``origin_date``,
        ``disease_duration`` and ``age_at_transplant``.
    relapses
        Relapses (``patient_id``, ``onset_date``).

    Returns
    -------
    list of numpy.ndarray
        One mask per restriction, in order (missing values are False); when ``frame`` has
        :data:`DMT_FAILURE_COLUMN` (:func:`with_dmt_failure`), the mask of
        :data:`HALT_MS_DMT_RESTRICTION` (that count >= 1) follows the relapse-count mask.

    Raises
    ------
    EstimationError
        ``frame`` lacks one of the columns.
    """
    need = {"patient_id", "phenotype", "baseline_edss", "origin_date", "disease_duration",
            "age_at_transplant"}
    missing = sorted(need - set(frame.columns))
    if missing:
        raise EstimationError(f"The endpoint table lacks {', '.join(missing)}.",
                              hint="Use the frame of hsctms.analysis.run_outcomes "
                                   "(endpoints merged with the baseline table).")
    dur = pd.to_numeric(frame["disease_duration"], errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        short = np.asarray(dur < 15)
    masks = [
        (frame["phenotype"].astype(object) == "RRMS").fillna(False).to_numpy(bool),
        _between(frame["baseline_edss"], 3.0, 5.5),
        relapses_before(frame, relapses) >= 2,
        short,
        _between(frame["age_at_transplant"], 18.0, 60.0),
    ]
    if DMT_FAILURE_COLUMN in frame.columns:
        on_dmt = pd.to_numeric(frame[DMT_FAILURE_COLUMN], errors="coerce").to_numpy(float)
        with np.errstate(invalid="ignore"):
            masks.insert(3, np.asarray(on_dmt >= 1))
    return masks


def halt_ms_criteria(dmt_given: bool) -> tuple[tuple[tuple[str, str, bool], ...],
                                              tuple[tuple[str, str], ...]]:
    """The HALT-MS criteria applied and not applied, with or without the DMT courses.

    Parameters
    ----------
    dmt_given
        True when the registry's DMT courses are used (the frame has
        :data:`DMT_FAILURE_COLUMN`).

    Returns
    -------
    tuple
        (criteria applied, in the order of :func:`halt_ms_like_masks`; (criterion, reason)
        of those not applied).
    """
    if not dmt_given:
        return HALT_MS_RESTRICTIONS, (HALT_MS_DMT_NOT_APPLIED, *HALT_MS_NOT_APPLIED)
    applied = (*HALT_MS_RESTRICTIONS[:3], HALT_MS_DMT_RESTRICTION, *HALT_MS_RESTRICTIONS[3:])
    return applied, HALT_MS_NOT_APPLIED


@dataclass(frozen=True)
class HaltMsLikeSubset:
    """The HALT-MS table recomputed on the registry patients matching HALT-MS entry criteria.

    Parameters
    ----------
    restrictions
        The criteria applied, in order, with the patients left after each.
    not_applied
        (criterion, reason) of the criteria registry data cannot reproduce.
    n_registry
        Patients of the full analysis.
    patient_ids
        Patients of the subset.
    year
        Time point of the comparison with the published figures (years; 5).
    table
        The HALT-MS table on the subset (same definition, years plus ``year``, level and
        transform as the full table), or None when the subset is empty.
    note
        Why there is no table, or None.
    """

    restrictions: tuple[Restriction, ...]
    not_applied: tuple[tuple[str, str], ...]
    n_registry: int
    patient_ids: tuple[str, ...] = field(repr=False)
    year: float
    table: HaltMsTable | None
    note: str | None = None

    @property
    def n(self) -> int:
        """Patients in the subset."""
        return len(self.patient_ids)

    @property
    def rows_at_year(self) -> list[SurvivalAtYear]:
        """The subset's survival rows at the published time point (empty without a table)."""
        if self.table is None:
            return []
        return [r for r in self.table.rows if r.year == self.year]

    @property
    def summary(self) -> str:
        """Text rendering: the subset size and each endpoint at ``year`` beside HALT-MS."""
        lines = [f"HALT-MS-like subset: {self.n} of {self.n_registry} patients (criteria "
                 f"applied: {len(self.restrictions)}, not applicable: {len(self.not_applied)})"]
        if self.note:
            lines.append(f"  {self.note}")
        pubs = self.table.published if self.table is not None else {}
        for r in self.rows_at_year:
            pub = pubs.get(r.endpoint)
            ptxt = (f" | published {pub.study} (n={pub.n}): {100 * pub.estimate:.1f}%"
                    if pub is not None and pub.estimate is not None else "")
            lines.append(f"  {r.label} at {r.year:g} y: {100 * r.estimate:.1f}% "
                         f"({100 * r.lower:.1f}-{100 * r.upper:.1f}), n={r.n}{ptxt}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict of str to Any
            ``n``, ``n_registry``, ``year``, ``restrictions``, ``not_applied``, the subset's
            HALT-MS table (:meth:`HaltMsTable.to_dict`, or None) and the ``note``.
        """
        return {"n": self.n, "n_registry": self.n_registry, "year": self.year,
                "restrictions": [r.to_dict() for r in self.restrictions],
                "not_applied": [{"criterion": c, "reason": w} for c, w in self.not_applied],
                "table": self.table.to_dict() if self.table is not None else None,
                "note": self.note}


def halt_ms_like(frame: pd.DataFrame, relapses: pd.DataFrame, *, edss_visits: pd.DataFrame,
                 years: Sequence[float] = (1, 2, 3, 4, 5), level: float = 0.9,
                 conf_type: str = "log-log", published: Sequence[PublishedFigure] = (),
                 edss_window_days: float = 182.0) -> HaltMsLikeSubset:
    """The HALT-MS table on the registry patients matching HALT-MS (see module docstring).

    Parameters
    ----------
    frame
        Per-patient frame of :func:`hsctms.analysis.run_outcomes` (endpoints with
        ``phenotype``, ``disease_duration`` and ``age_at_transplant``); with
        :data:`DMT_FAILURE_COLUMN` (:func:`with_dmt_failure`, from the registry's DMT
        courses) the DMT-failure criterion (:data:`HALT_MS_DMT_RESTRICTION`) is applied,
        without it the criterion is listed as not applied.
    relapses
        Relapses (``patient_id``, ``onset_date``).
    edss_visits
        EDSS visits (``patient_id``, ``date``, ``edss``).
    years
        Time points of the table; the published time point (5 years) is added.
    level
        Confidence level (0-1); default 0.9 as HALT-MS.
    conf_type
        Interval transform: ``"log-log"`` (default), ``"log"`` or ``"plain"``.
    published
        Published figures; the HALT-MS ones are kept (:func:`halt_ms_table`).
    edss_window_days
        EDSS window around each anniversary (days).

    Returns
    -------
    HaltMsLikeSubset
        Restrictions with the patients left, the criteria not applied and the subset table.

    Raises
    ------
    EstimationError
        ``frame`` lacks a column of the restrictions or of the HALT-MS table.
    """
    masks = halt_ms_like_masks(frame, relapses)
    criteria, not_applied = halt_ms_criteria(DMT_FAILURE_COLUMN in frame.columns)
    keep = np.ones(len(frame), dtype=bool)
    restrictions = []
    for (criterion, rule, verified), m in zip(criteria, masks, strict=True):
        keep &= m
        restrictions.append(Restriction(criterion, rule, verified, int(keep.sum())))
    sub = frame[keep].reset_index(drop=True)
    ids = tuple(sub["patient_id"].astype(str))
    all_years = tuple(sorted({float(y) for y in years} | {HALT_MS_YEAR}))
    if sub.empty:
        return HaltMsLikeSubset(tuple(restrictions), not_applied, len(frame), ids,
                                HALT_MS_YEAR, None,
                                "No registry patient matches the applied HALT-MS criteria.")
    table = halt_ms_table(sub, edss_visits, years=all_years, level=level, conf_type=conf_type,
                          published=published, edss_window_days=edss_window_days)
    return HaltMsLikeSubset(tuple(restrictions), not_applied, len(frame), ids,
                            HALT_MS_YEAR, table)


@dataclass(frozen=True)
class PublishedComparison:
    """A registry figure at a published time point beside the published figure.

    Parameters
    ----------
    key
        Short name (``"progression"``, ``"efs"``, ``"efs_relapsing"``, ...).
    label
        What is compared.
    year
        Time point of the registry estimate (years; the published one), None for a crude
        share.
    estimate, lower, upper
        Registry estimate and CI (proportions 0-1).
    n
        Registry patients the estimate is based on.
    events
        Registry events (up to ``year``).
    level
        Confidence level of the registry interval.
    published
        The published figure.
    registry_definition, published_definition
        The two definitions, stated side by side.
    note
        Further difference (e.g. a loose published time point), or None.
    """

    key: str
    label: str
    year: float | None
    estimate: float
    lower: float
    upper: float
    n: int
    events: int
    level: float
    published: PublishedFigure
    registry_definition: str
    published_definition: str
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict of str to Any
            The fields by name, the published figure as :meth:`PublishedFigure.to_dict`.
        """
        return {"key": self.key, "label": self.label, "year": self.year,
                "estimate": finite_or_none(self.estimate), "lower": finite_or_none(self.lower),
                "upper": finite_or_none(self.upper), "n": self.n, "events": self.events,
                "level": self.level, "published": self.published.to_dict(),
                "registry_definition": self.registry_definition,
                "published_definition": self.published_definition, "note": self.note}


def change_rule(definition: Mapping[str, Any], *, improvement: bool = False) -> str:
    """The definition's minimum EDSS change, in words.

    Parameters
    ----------
    definition
        Endpoint definition as :meth:`hsctms.endpoints.EndpointDefinition.to_dict`.
    improvement
        True for the improvement rule (``improvement_delta`` when set).

    Returns
    -------
    str
        E.g. ``"change >= 1.5 from baseline EDSS 0, >= 1.0 up to 5.5, >= 0.5 above,
        confirmed after 168 days"``.

    Examples
    --------
    >>> change_rule({"delta_zero": 1.5, "delta_low": 1.0, "delta_cut": 5.5,
    ...              "delta_high": 0.5, "conf_days": 168})
    'change >= 1.5 from baseline EDSS 0, >= 1.0 up to 5.5, >= 0.5 above, confirmed after 168 days'
    >>> change_rule({"improvement_delta": 1.0}, improvement=True)
    'decrease >= 1 EDSS points'

    """
    conf = definition.get("conf_days")
    conf_txt = f", confirmed after {conf} days" if conf else ""
    fixed = definition.get("improvement_delta") if improvement else None
    if fixed is not None:
        return f"decrease >= {float(fixed):g} EDSS points{conf_txt}"
    vals = [definition.get(k) for k in ("delta_zero", "delta_low", "delta_cut", "delta_high")]
    if any(v is None for v in vals):
        return f"the thresholds of the endpoint definition{conf_txt}"
    d0, d1, cut, d2 = (float(v) for v in vals if v is not None)
    return (f"change >= {d0:.1f} from baseline EDSS 0, >= {d1:.1f} up to {cut:.1f}, "
            f">= {d2:.1f} above{conf_txt}")


def _efs_comparisons(table: ShevchenkoTable, frame: pd.DataFrame,
                     definition: Mapping[str, Any]) -> list[PublishedComparison]:
    out = []
    components = ", ".join(EFS_COMPONENT_NAMES.get(str(c), str(c).replace("_", " "))
                           for c in definition.get("efs_components", ()) or ())
    registry_def = (f"Kaplan-Meier of freedom from {components or 'the EFS events'} "
                    f"(definition {definition.get('name', '?')!r})")
    for key, group in (("efs", None), ("efs_relapsing", "relapsing"),
                       ("efs_progressive", "progressive")):
        pub = table.published.get(key)
        if pub is None or pub.time_years is None:
            continue
        if group is None:
            fit = kaplan_meier(frame["efs_time"].to_numpy(float) / YEAR_DAYS,
                               frame["efs_event"].to_numpy(int), level=table.level,
                               conf_type=table.conf_type)
        elif group in table.efs_fits:
            fit = table.efs_fits[group]
        else:
            continue
        r = next(fit.survival_at([pub.time_years]).itertuples())
        who = "all patients" if group is None else f"{group} phenotype group"
        out.append(PublishedComparison(
            key, f"Event-free survival, {who}", pub.time_years, float(r.surv), float(r.lower),
            float(r.upper), fit.n, int(r.cum_events), table.level, pub, registry_def,
            pub.definition,
            f"Published at the study's {pub.time_label} (a loose time point); the registry "
            f"estimate is the Kaplan-Meier at {pub.time_years:g} years."))
    return out


def shevchenko_comparisons(table: ShevchenkoTable, frame: pd.DataFrame, *,
                           definition: Mapping[str, Any]) -> tuple[PublishedComparison, ...]:
    """Registry figures at the Shevchenko 2015 time points beside the published ones.

    Parameters
    ----------
    table
        The registry's Shevchenko table (:func:`hsctms.analysis.tables.shevchenko_table`).
    frame
        The per-patient frame the table was computed from (``efs_time`` and ``efs_event``,
        for event-free survival of all patients).
    definition
        The endpoint definition (:meth:`hsctms.endpoints.EndpointDefinition.to_dict`).

    Returns
    -------
    tuple of PublishedComparison
        Progression at 8 years (cumulative incidence, death competing), event-free survival
        at the published time point overall and by phenotype group, and the improvement
        share in the long-term subset: those with a published figure.
    """
    out: list[PublishedComparison] = []
    pub = table.published.get("progression")
    if pub is not None and pub.time_years is not None:
        r = next(table.cif.incidence_at([pub.time_years], cause=1).itertuples())
        out.append(PublishedComparison(
            "progression", "Cumulative incidence of progression", pub.time_years,
            float(r.cif), float(r.lower), float(r.upper), table.cif.n, int(r.cum_events),
            table.level, pub,
            f"confirmed EDSS worsening ({change_rule(definition)}), death competing",
            pub.definition))
    out += _efs_comparisons(table, frame, definition)
    pub = table.published.get("improvement_longterm")
    if pub is not None:
        s = table.improvement_longterm
        out.append(PublishedComparison(
            "improvement_longterm", "EDSS improvement, long-term subset", None, s.estimate,
            s.lower, s.upper, s.n, s.events, s.level, pub,
            f"confirmed EDSS improvement ({change_rule(definition, improvement=True)})",
            f"{pub.definition} (Shevchenko: >= 0.5 point, confirmation not stated)",
            "Shevchenko counted an improvement of 0.5 EDSS point or more; the registry's "
            "confirmed improvement uses the definition's thresholds, so the figures differ "
            "in definition."))
    return tuple(out)

