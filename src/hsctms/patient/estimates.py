"""Personalised "what to expect" figures, read from the evidence base for a person's stratum.

Nothing here is invented: every number is a row of :mod:`hsctms.evidence` (a study's own
figure, or a published meta-analysis), carried with its source, time frame, population,
uncertainty and *(unverified)* flag. The module only *selects* rows for the person and converts
percentages to "out of 100 people" (and rates per 1,000 person-years to per 100 per year).

Stratum
    ``phenotype_group``: *relapsing* (RRMS, PRMS) or *progressive* (SPMS, PPMS). Figures are
    taken from populations of that group only: subgroup rows (``RRMS``, ``SPMS``,
    ``progressive``...) or whole cohorts made up entirely of that group. Mixed cohorts are not
    used for a personal figure, because their results blend groups with very different outcomes.
    The EDSS band, age band and planned intensity are reported, and the person's EDSS and age are
    compared with the study populations; the published evidence is not broken down by EDSS or
    age, so no figure is adjusted for them (that would need individual patient data).

Time frames
    Benefit figures are shown at exactly 2, 5 and 10 years (rows within 0.05 years). Where no
    study of the stratum reports a time point the estimate says "no reliable data".

Availability
    ``available`` (two or more studies), ``thin`` (one study) or ``no_data``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from hsctms._provenance import Provenance
from hsctms.eligibility.engine import cached_versions
from hsctms.errors import ConfigurationError, EvidenceError, ProfileError
from hsctms.model.scales import edss_band

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from hsctms.evidence import EvidenceBase
    from hsctms.model.profile import PatientProfile

Availability = Literal["available", "thin", "no_data"]

#: Benefit outcomes shown at fixed time points, with plain-language wording.
BENEFITS: dict[str, str] = {
    "progression_free": "had no confirmed worsening of disability",
    "relapse_free": "had no relapse",
    "neda": "had no sign of MS activity at all (no relapse, no worsening, no new MRI lesions)",
}
TIME_POINTS: tuple[float, ...] = (2.0, 5.0, 10.0)

#: Harms shown for aHSCT, in order, with plain-language wording.
HARMS_SHOWN: dict[str, str] = {
    "febrile_neutropenia": "had a fever while their white cell count was very low "
                           "(febrile neutropenia), needing antibiotics in hospital",
    "infection": "were diagnosed with an infection (6 months or more after treatment)",
    "herpes_zoster": "had shingles (herpes zoster)",
    "thyroid": "developed thyroid disease (a new autoimmune condition)",
    "secondary_autoimmunity": "developed another autoimmune disease",
    "itp": "developed immune thrombocytopenia (low platelets)",
    "ebv_reactivation": "had Epstein-Barr virus reactivation in the blood",
    "secondary_malignancy": "developed a new cancer or a bone-marrow disorder",
    "menses_recovery": "of women had their periods come back",
    "pregnancy": "of women later became pregnant",
    "grade3_ae": "had a severe (grade 3 or worse) side effect in the first 100 days",
}
_COMPARED_HARMS: dict[str, str] = {**HARMS_SHOWN, "death": "died (from any cause)"}

#: Harms measured in women only; they are not shown to a man (``sex == "M"``).
WOMEN_ONLY_HARMS: frozenset[str] = frozenset({"menses_recovery", "pregnancy"})

#: Harms listed, after transplant-related mortality, in the plain-text summary.
SUMMARY_HARMS: tuple[str, ...] = ("febrile_neutropenia", "infection", "herpes_zoster",
                                  "thyroid", "secondary_autoimmunity", "secondary_malignancy")

#: Comparator arms shown beside aHSCT.
COMPARATORS: dict[str, str] = {
    "alemtuzumab": "alemtuzumab",
    "ocrelizumab": "ocrelizumab",
    "fingolimod": "fingolimod",
    "dmt": "other DMTs (higher-efficacy or different class)",
    "non_induction_dmt": "other DMTs (natalizumab, dimethyl fumarate, rituximab, fingolimod)",
}

#: Source types (``source_type`` of the evidence rows) that are recalled or second-hand: such
#: figures are marked in the report and never used as a headline number.
SECOND_HAND_SOURCES: frozenset[str] = frozenset({"recalled", "secondary"})

AGE_BANDS: tuple[tuple[float, float, str], ...] = (
    (0, 35, "under 35"), (35, 45, "35-44"), (45, 55, "45-54"), (55, 200, "55 or older"))


def age_band(age: float | None) -> str | None:
    """Age band label (``under 35``, ``35-44``, ``45-54``, ``55 or older``)."""
    if age is None:
        return None
    return next(label for lo, hi, label in AGE_BANDS if lo <= age < hi)


def _clean(value: Any) -> Any:
    """NaN / NA -> None; other values unchanged."""
    if value is None or value is getattr(__import__("pandas"), "NA", None):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


@dataclass(frozen=True)
class Figure:
    """One published number with its source (a row of the evidence base).

    ``value``, ``ci_low`` and ``ci_high`` are on the scale of ``unit``: ``per 100`` for
    percentages and ``per 100 per year`` for rates (converted from per 1,000 person-years), or
    ``per 100 person-years`` for annualised relapse rates.
    """

    study_id: str
    label: str
    citation: str
    doi: str | None
    arm: str
    population: str
    outcome: str
    time_years: float | None
    time_label: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    ci_level: float | None
    n: int | None
    events: int | None
    unit: str
    definition: str
    verified: bool
    source_type: str
    kind: str
    intensity: str | None
    era: str | None
    study_edss: float | None = None
    study_age: float | None = None
    context: str = ""
    design: str = ""
    derived_from: str = ""

    @property
    def second_hand(self) -> bool:
        """True when the figure rests on a recalled or second-hand source (never a headline)."""
        return self.source_type in SECOND_HAND_SOURCES

    @property
    def per100(self) -> int | None:
        """The value rounded to a whole number of people out of 100."""
        return None if self.value is None else round(self.value)

    @property
    def source_text(self) -> str:
        """Short citation with DOI."""
        doi = f" doi:{self.doi}" if self.doi else ""
        return f"{self.citation}.{doi}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "study_id": self.study_id, "label": self.label, "citation": self.citation,
            "doi": self.doi, "arm": self.arm, "population": self.population,
            "outcome": self.outcome, "time_years": self.time_years,
            "time_label": self.time_label, "value": self.value, "unit": self.unit,
            "ci_low": self.ci_low, "ci_high": self.ci_high, "ci_level": self.ci_level,
            "n": self.n, "events": self.events, "definition": self.definition,
            "verified": self.verified, "source_type": self.source_type, "kind": self.kind,
            "intensity": self.intensity, "era": self.era, "context": self.context,
            "derived_from": self.derived_from, "second_hand": self.second_hand,
        }


@dataclass(frozen=True)
class Estimate:
    """The figures for one outcome, arm and time frame in the person's stratum."""

    key: str
    topic: Literal["benefit", "improvement", "harm", "trm"]
    outcome: str
    wording: str
    arm: str
    time_years: float | None
    stratum: str
    figures: tuple[Figure, ...]
    note: str = ""

    @property
    def availability(self) -> Availability:
        """``available`` (>= 2 studies), ``thin`` (1 study) or ``no_data``."""
        k = len({f.study_id for f in self.figures if f.value is not None})
        return "no_data" if k == 0 else ("thin" if k == 1 else "available")

    @property
    def range_figures(self) -> tuple[Figure, ...]:
        """The "per 100" figures behind :attr:`range_per100`: those from first-hand sources
        when there are any (a recalled or second-hand figure is never the headline), else the
        second-hand ones (then :attr:`second_hand_only` is True and the report marks it)."""
        usable = [f for f in self.figures if f.value is not None and f.unit == "per 100"]
        first = [f for f in usable if not f.second_hand]
        return tuple(first or usable)

    @property
    def second_hand_only(self) -> bool:
        """True when the range rests only on recalled or second-hand figures."""
        figs = self.range_figures
        return bool(figs) and all(f.second_hand for f in figs)

    @property
    def range_per100(self) -> tuple[float, float] | None:
        """(low, high) out of 100: the spread of the :attr:`range_figures`, or one study's CI
        if given."""
        usable = list(self.range_figures)
        vals = [f.value for f in usable if f.value is not None]
        if not vals:
            return None
        if len(vals) == 1:
            f = usable[0]
            if f.ci_low is not None and f.ci_high is not None:
                return (f.ci_low, f.ci_high)
            return (vals[0], vals[0])
        return (min(vals), max(vals))

    @property
    def headline(self) -> Figure | None:
        """The figure drawn as an icon array for harms: a "per 100" figure, preferring
        verified ones with a stated time frame, then the largest study."""
        cands = [f for f in self.figures if f.value is not None and f.unit == "per 100"]
        if not cands:
            return None
        return sorted(cands, key=lambda f: (f.second_hand, not f.verified,
                                            f.time_years is None,
                                            -(f.n or 0), f.study_id))[0]

    @property
    def any_unverified(self) -> bool:
        """True when any figure carries the (unverified) flag."""
        return any(not f.verified for f in self.figures)

    @property
    def summary(self) -> str:
        """One plain-language sentence."""
        when = f" at {self.time_years:g} years" if self.time_years is not None else ""
        if self.availability == "no_data":
            return f"No reliable data{when} for {self.stratum}: {self.wording}."
        lo, hi = self.range_per100 or (0.0, 0.0)
        n_st = len({f.study_id for f in (self.range_figures or self.figures)})
        span = f"{round(lo)}" if round(lo) == round(hi) else f"between {round(lo)} and {round(hi)}"
        basis = "1 study" if n_st == 1 else f"{n_st} studies"
        if self.time_years is None and n_st > 1:
            basis += ", measured at different times"
        return (f"Out of 100 people ({self.stratum}), {span} {self.wording}{when} after aHSCT "
                f"({basis}).")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        rng = self.range_per100
        return {
            "key": self.key, "topic": self.topic, "outcome": self.outcome,
            "wording": self.wording, "arm": self.arm, "time_years": self.time_years,
            "stratum": self.stratum, "availability": self.availability,
            "range_per100": None if rng is None else [rng[0], rng[1]],
            "any_unverified": self.any_unverified, "note": self.note,
            "headline": None if self.headline is None else self.headline.study_id,
            "summary": self.summary, "figures": [f.to_dict() for f in self.figures],
        }


@dataclass(frozen=True)
class Comparison:
    """aHSCT and an alternative measured in the same study, outcome and time frame."""

    study_id: str
    outcome: str
    wording: str
    time_label: str
    ahsct: Figure
    other: Figure
    comparator: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"study_id": self.study_id, "outcome": self.outcome, "wording": self.wording,
                "time_label": self.time_label, "comparator": self.comparator,
                "ahsct": self.ahsct.to_dict(), "other": self.other.to_dict()}


@dataclass(frozen=True)
class TrmGroup:
    """Transplant-related deaths counted over the studies of one era or intensity class."""

    by: Literal["era", "intensity"]
    group: str
    studies: int
    deaths: int
    people: int
    study_ids: tuple[str, ...]
    any_unverified: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"by": self.by, "group": self.group, "studies": self.studies,
                "deaths": self.deaths, "people": self.people,
                "study_ids": list(self.study_ids), "any_unverified": self.any_unverified}


@dataclass(frozen=True)
class PooledTrm:
    """Transplant-related mortality pooled with :func:`hsctms.meta.poisson_regression`.

    An intercept-only quasi-Poisson model of deaths with ``log(n)`` offset (the approach of
    Sormani et al., Neurology 2017; R ``glm(deaths ~ 1 + offset(log(n)), quasipoisson)``): the
    estimate is the pooled rate (total deaths / total people) and its Wald CI is widened by the
    between-study over-dispersion. With one study the plain Poisson CI is used. When no study in
    the group had a death, no rate is estimable and ``per100`` is None. Values are out of 100.
    """

    scope: str
    group: str
    studies: int
    deaths: int
    people: int
    per100: float | None
    ci: tuple[float, float] | None
    method: str
    study_ids: tuple[str, ...]
    any_unverified: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"scope": self.scope, "group": self.group, "studies": self.studies,
                "deaths": self.deaths, "people": self.people, "per100": self.per100,
                "ci": None if self.ci is None else list(self.ci), "method": self.method,
                "study_ids": list(self.study_ids), "any_unverified": self.any_unverified,
                "note": self.note}


@dataclass(frozen=True)
class FertilityItem:
    """What the report says about fertility for women or for men.

    ``harms`` names the harm estimates (of :data:`HARMS_SHOWN`) that hold the published
    figures behind the text; ``verified`` is False when the text is not from a source in
    the evidence base (shown with the *(unverified)* flag).
    """

    audience: Literal["women", "men"]
    title: str
    text: str
    harms: tuple[str, ...]
    verified: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"audience": self.audience, "title": self.title, "text": self.text,
                "harms": list(self.harms), "verified": self.verified}


#: Fertility text for women: the figures are the harm estimates it names.
FERTILITY_WOMEN = FertilityItem(
    "women", "Fertility in women",
    "The chemotherapy can stop periods, and the egg reserve (anti-Mullerian hormone) fell "
    "after aHSCT (Zafeiri 2023); the published figures on periods coming back and on "
    "pregnancy afterwards are shown with the other side effects.",
    ("menses_recovery", "pregnancy"), True)
#: Egg or embryo freezing: advice with no source in the evidence base.
FERTILITY_WOMEN_PRESERVE = FertilityItem(
    "women", "Freezing eggs or embryos",
    "Ask about freezing eggs or embryos before the treatment starts.", (), False)
#: Fertility text for men: the evidence base holds no figures for men.
FERTILITY_MEN = FertilityItem(
    "men", "Fertility in men",
    "The evidence base holds no published figures on fertility in men after aHSCT for MS, "
    "so none are shown. Ask about sperm banking (freezing sperm) before the conditioning "
    "chemotherapy starts.", (), False)


def fertility_items(sex: str | None) -> tuple[FertilityItem, ...]:
    """The fertility items for a person of ``sex``.

    Parameters
    ----------
    sex
        ``"F"``, ``"M"``, ``"X"`` or None (unknown).

    Returns
    -------
    tuple of FertilityItem
        Women's items for ``"F"``, the men's item for ``"M"``, both for ``"X"`` or unknown.

    Examples
    --------
    >>> [i.audience for i in fertility_items("M")]
    ['men']
    >>> [i.audience for i in fertility_items(None)]
    ['women', 'women', 'men']
    """
    women = (FERTILITY_WOMEN, FERTILITY_WOMEN_PRESERVE)
    if sex == "F":
        return women
    if sex == "M":
        return (FERTILITY_MEN,)
    return (*women, FERTILITY_MEN)


def _pm(lo: float, hi: float) -> str:
    return f"{lo:.1f} to {hi:.1f}"


def _harm_line(e: Estimate) -> str | None:
    """One summary line for a harm: out of 100 people, or a yearly rate; None without data."""
    if e.availability == "no_data":
        return None
    if e.range_per100 is not None:
        return e.summary
    rate = next(f for f in e.figures if f.value is not None)
    return (f"About {rate.value:.1f} {rate.unit} {e.wording} ({rate.label}, "
            f"{rate.time_label}).")


@dataclass(frozen=True)
class PersonalEstimates:
    """Every figure of the report for one person, with sources and stratum.

    Figures are out of 100 people (``per 100``), or per 100 per year for rates; each keeps its
    study, time frame, population and *(unverified)* flag.

    Parameters
    ----------
    stratum
        The person's stratum: ``phenotype``, ``phenotype_group`` (``"relapsing"`` or
        ``"progressive"``), ``label``, ``edss``, ``edss_band``, ``age``, ``age_band`` and
        ``planned_intensity``.
    benefits
        One estimate per benefit outcome of :data:`BENEFITS` and time point of
        :data:`TIME_POINTS` (2, 5 and 10 years), from studies of the person's group.
    improvement
        Lasting EDSS improvement (studies measured it at different times).
    trm_studies
        Transplant-related mortality of each aHSCT study.
    trm_published
        Published pooled transplant-related mortality (meta-analyses).
    trm_groups
        Transplant-related deaths and people summed by era and by intensity class.
    trm_pooled
        Transplant-related mortality pooled by quasi-Poisson regression: all studies, by
        era, by intensity, and ``scope="for you"`` (recent era, planned intensity).
    harms
        One estimate per harm of :data:`HARMS_SHOWN` (all phenotypes: harms are not broken
        down by group); the women-only harms of :data:`WOMEN_ONLY_HARMS` are left out for a
        man.
    comparisons
        aHSCT beside a comparator arm measured in the same study, outcome and time frame.
    meta_context
        Published pooled benefit figures of populations matching the person's group.
    matching_notes
        Plain-language notes on how the person differs from the study populations (EDSS,
        age, intensity, a previous transplant).
    provenance
        Method ``"evidence_selection"``, the stratum and rule, the number of studies, versions.
    data_date
        ``"published studies up to <year>; evidence checked <date>"`` (the latest
        publication year and the evidence base's ``evidence_date``), or None.
    extra
        Free mapping for additional data (empty by default; not part of :meth:`to_dict`).
    fertility
        What the report says about fertility for the person's sex
        (:func:`fertility_items`; both women's and men's items when sex is unknown or X).
    """

    stratum: dict[str, Any]
    benefits: tuple[Estimate, ...]
    improvement: Estimate
    trm_studies: tuple[Figure, ...]
    trm_published: tuple[Figure, ...]
    trm_groups: tuple[TrmGroup, ...]
    trm_pooled: tuple[PooledTrm, ...]
    harms: tuple[Estimate, ...]
    comparisons: tuple[Comparison, ...]
    meta_context: tuple[Figure, ...]
    matching_notes: tuple[str, ...]
    provenance: Provenance
    data_date: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    fertility: tuple[FertilityItem, ...] = ()

    def benefit(self, outcome: str, time_years: float) -> Estimate:
        """The benefit estimate for ``outcome`` at ``time_years``.

        Parameters
        ----------
        outcome
            A benefit outcome: ``"progression_free"``, ``"relapse_free"`` or ``"neda"``.
        time_years
            A time point of :data:`TIME_POINTS` (2, 5 or 10 years), compared exactly.

        Returns
        -------
        Estimate
            The figures of that outcome and time point in the person's stratum (possibly
            with ``availability == "no_data"``).

        Raises
        ------
        ConfigurationError
            When there is no estimate for that outcome or time (the hint lists the choices).
        """
        for e in self.benefits:
            if e.outcome == outcome and e.time_years == time_years:
                return e
        outcomes = sorted({e.outcome for e in self.benefits})
        times = ", ".join(f"{t:g}" for t in sorted({e.time_years for e in self.benefits
                                                    if e.time_years is not None}))
        if outcome not in outcomes:
            raise ConfigurationError(f"There is no benefit outcome {outcome!r}.",
                                     hint=f"Benefit outcomes: {', '.join(outcomes)}.")
        raise ConfigurationError(f"There is no {outcome} estimate at {time_years!r} years.",
                                 hint=f"Benefit estimates are given at {times} years.")

    def trm_for_you(self) -> PooledTrm | None:
        """The pooled TRM of recent-era studies matching the planned intensity (if any).

        Returns
        -------
        PooledTrm or None
            The ``scope == "for you"`` entry of :attr:`trm_pooled` (all recent-era studies
            when no intensity is planned), or None when no such study reports deaths and
            people.
        """
        return next((p for p in self.trm_pooled if p.scope == "for you"), None)

    def harm(self, name: str) -> Estimate:
        """The harm estimate ``name``.

        Parameters
        ----------
        name
            A harm of :data:`HARMS_SHOWN`, e.g. ``"febrile_neutropenia"`` or ``"thyroid"``.

        Returns
        -------
        Estimate
            The aHSCT figures of that harm.

        Raises
        ------
        ConfigurationError
            When there is no harm of that name (the hint lists the harms).
        """
        for e in self.harms:
            if e.outcome == name:
                return e
        raise ConfigurationError(f"There is no harm estimate {name!r}.",
                                 hint="Harms: " + ", ".join(e.outcome for e in self.harms) + ".")

    def all_figures(self) -> list[Figure]:
        """Every figure shown, once per appearance.

        Returns
        -------
        list of Figure
            Figures of the benefits, the improvement, the harms, the TRM studies and
            published TRM, both arms of each comparison and the meta-analyses, in that order
            (a study figure shown twice is listed twice).
        """
        out: list[Figure] = []
        for e in (*self.benefits, self.improvement, *self.harms):
            out.extend(e.figures)
        out.extend(self.trm_studies)
        out.extend(self.trm_published)
        for c in self.comparisons:
            out.extend((c.ahsct, c.other))
        out.extend(self.meta_context)
        return out

    @property
    def harms_summary(self) -> list[str]:
        """Plain-text lines on the main harms.

        Returns
        -------
        list of str
            Transplant-related mortality (the pooled estimate of :meth:`trm_for_you` with its
            95% CI, deaths, people and studies, and the all-studies figure as context), then
            one line per harm of :data:`SUMMARY_HARMS` with data (:attr:`Estimate.summary`);
            lines resting on unverified figures end with ``(includes unverified figures)``.
        """
        flag = " (includes unverified figures)"
        lines = ["Harms:"]
        mine = self.trm_for_you()
        if mine is None:
            lines.append("No estimate of transplant-related mortality is available.")
        elif mine.per100 is None or mine.ci is None:
            lines.append(f"Transplant-related deaths ({mine.group}): {mine.deaths} among "
                         f"{mine.people} people in {mine.studies} studies. {mine.note}")
        else:
            lines.append(
                f"Transplant-related mortality ({mine.group}): about {mine.per100:.1f} out of "
                f"100 people (95% CI {_pm(*mine.ci)}; {mine.deaths} deaths among "
                f"{mine.people} people in {mine.studies} studies, {mine.method})"
                + (flag if mine.any_unverified else "") + ".")
        every = next((p for p in self.trm_pooled if p.scope == "all studies"), None)
        if every is not None and every.per100 is not None and every.ci is not None:
            lines.append(
                f"  Context: all {every.studies} studies of every era and intensity, "
                f"{every.per100:.1f} out of 100 (95% CI {_pm(*every.ci)}); the risk was "
                "higher in older studies, with more disability (Sormani 2017) and with "
                "high-intensity conditioning (Ge 2019)." + (flag if every.any_unverified else ""))
        for e in self.harms:
            line = _harm_line(e) if e.outcome in SUMMARY_HARMS else None
            if line is not None:
                lines.append(line + (flag if e.any_unverified else ""))
        return lines

    @property
    def summary(self) -> str:
        """Plain-text digest: one line per benefit estimate, then the main harms
        (:attr:`harms_summary`)."""
        lines = [f"Stratum: {self.stratum['label']}"]
        lines += [e.summary for e in self.benefits]
        lines.append(self.improvement.summary)
        lines += self.harms_summary
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict of str to Any
            Stratum, benefits, improvement, TRM (studies, published, groups, pooled), harms,
            comparisons, meta-analyses, matching notes, data date and provenance.
        """
        return {
            "stratum": dict(self.stratum),
            "benefits": [e.to_dict() for e in self.benefits],
            "improvement": self.improvement.to_dict(),
            "trm": {"studies": [f.to_dict() for f in self.trm_studies],
                    "published": [f.to_dict() for f in self.trm_published],
                    "groups": [g.to_dict() for g in self.trm_groups],
                    "pooled": [p.to_dict() for p in self.trm_pooled]},
            "harms": [e.to_dict() for e in self.harms],
            "comparisons": [c.to_dict() for c in self.comparisons],
            "meta_analyses": [f.to_dict() for f in self.meta_context],
            "matching_notes": list(self.matching_notes),
            "fertility": [i.to_dict() for i in self.fertility],
            "data_date": self.data_date,
            "provenance": self.provenance.to_dict(),
        }


# --------------------------------------------------------------------------- building
def _evidence() -> EvidenceBase:
    try:
        from hsctms.evidence import load_evidence
    except ImportError as exc:  # pragma: no cover - depends on the installed package
        raise EvidenceError(
            "The evidence base (hsctms.evidence) is not available, so no figure can be shown.",
            hint="Install the full hsctms package; the report never shows invented figures.",
        ) from exc
    return load_evidence()


def _check_evidence(ev: Any) -> None:
    from hsctms.evidence import EvidenceBase

    if not isinstance(ev, EvidenceBase):
        raise EvidenceError(f"evidence must be an hsctms.evidence.EvidenceBase, got "
                            f"{type(ev).__name__}.",
                            hint="Pass hsctms.evidence.load_evidence(), or leave it out to use "
                            "the packaged evidence base.")


class _Figures:
    """Turns evidence rows into :class:`Figure` objects (study details looked up once)."""

    def __init__(self, ev: EvidenceBase) -> None:
        self.ev = ev
        self._studies: dict[str, dict[str, Any]] = {
            str(rec["study_id"]): {k: _clean(v) for k, v in rec.items()}
            for rec in ev.studies.to_dict("records")
        }

    def study(self, sid: str) -> dict[str, Any]:
        if sid not in self._studies:  # unknown id: let the evidence base raise its error
            self._studies[sid] = self.ev.study(sid)
        return self._studies[sid]

    def make(self, row: Mapping[str, Any], outcome_col: str = "outcome") -> Figure:
        st = self.study(str(row["study_id"]))
        measure = str(row.get("measure") or "")
        value, lo, hi = _num(row.get("estimate")), _num(row.get("ci_low")), _num(
            row.get("ci_high"))
        unit = "per 100"
        if measure in ("per_1000_py",):
            value, lo, hi = (None if v is None else v / 10.0 for v in (value, lo, hi))
            unit = "per 100 per year"
        elif measure == "arr":
            value, lo, hi = (None if v is None else v * 100.0 for v in (value, lo, hi))
            unit = "relapses per 100 person-years"
        n, events = _num(row.get("n")), _num(row.get("events"))
        return Figure(
            study_id=str(row["study_id"]), label=str(st.get("label") or row["study_id"]),
            citation=str(st.get("citation") or ""), doi=st.get("doi"),
            arm=str(row.get("arm") or ""), population=str(row.get("population") or "all"),
            outcome=str(row[outcome_col]), time_years=_num(row.get("time_years")),
            time_label=str(row.get("time_label") or "time not stated"),
            value=value, ci_low=lo, ci_high=hi, ci_level=_num(row.get("ci_level")),
            n=None if n is None else int(n), events=None if events is None else int(events),
            unit=unit, definition=str(row.get("definition") or ""),
            verified=bool(row.get("verified")), source_type=str(row.get("source_type") or ""),
            kind=str(st.get("kind") or ""), intensity=st.get("intensity"), era=st.get("era"),
            study_edss=_num(st.get("edss")), study_age=_num(st.get("age")),
            context=str(_clean(row.get("context")) or ""), design=str(st.get("design") or ""),
        )

    def many(self, df: pd.DataFrame, outcome_col: str = "outcome") -> tuple[Figure, ...]:
        figs = [self.make(r, outcome_col) for r in df.to_dict("records")]
        return tuple(sorted(figs, key=lambda f: (-(f.n or 0), f.study_id)))


def _group(phenotype: str) -> str:
    return "relapsing" if phenotype in ("RRMS", "PRMS") else "progressive"


def _stratum(profile: PatientProfile) -> dict[str, Any]:
    group = _group(profile.phenotype)
    band = str(edss_band([profile.edss])[0])
    label = "relapsing MS" if group == "relapsing" else "progressive MS"
    return {"phenotype": profile.phenotype, "phenotype_group": group, "label": label,
            "sex": profile.sex, "edss": profile.edss, "edss_band": band, "age": profile.age,
            "age_band": age_band(profile.age), "planned_intensity": profile.planned_intensity}


def _benefits(fx: _Figures, group: str, label: str) -> list[Estimate]:
    from hsctms.evidence import RowInclusion

    out = []
    for outcome, wording in BENEFITS.items():
        for t in TIME_POINTS:
            df = fx.ev.outcomes(outcome=outcome, phenotype=group, arm="ahsct", measure="percent",
                                time_years=t, rows=RowInclusion(include_superseded=False))
            df = df[df["estimate"].notna()]
            figs = list(fx.many(df))
            if outcome in COMPLEMENTS:
                figs += _complements(fx, outcome, group, t, {f.study_id for f in figs})
            out.append(Estimate(f"{outcome}_{t:g}y", "benefit", outcome, wording, "ahsct", t,
                                label, tuple(figs)))
    return out


#: Benefit outcomes also read as 100 minus a reported cumulative share: a study that reports
#: "3 of 100 had confirmed worsening at 2 years" (e.g. MIST) reports 97 of 100 without it.
COMPLEMENTS: dict[str, str] = {"progression_free": "progression"}


def _complements(fx: _Figures, outcome: str, group: str, t: float,
                 have: set[str]) -> list[Figure]:
    """Figures of ``outcome`` derived as 100 minus the share with the opposite event, for
    studies that do not report ``outcome`` itself at ``t`` years."""
    from dataclasses import replace

    from hsctms.evidence import RowInclusion

    df = fx.ev.outcomes(outcome=COMPLEMENTS[outcome], phenotype=group, arm="ahsct",
                        measure="percent", time_years=t,
                        rows=RowInclusion(include_superseded=False))
    out = []
    for f in fx.many(df[df["estimate"].notna()]):
        if f.study_id in have or f.value is None:
            continue
        lo = None if f.ci_high is None else 100.0 - f.ci_high
        hi = None if f.ci_low is None else 100.0 - f.ci_low
        events = None if f.events is None or f.n is None else f.n - f.events
        out.append(replace(f, outcome=outcome, value=100.0 - f.value, ci_low=lo, ci_high=hi,
                           events=events, derived_from=COMPLEMENTS[outcome],
                           definition=f"100 minus the share with {f.definition or 'worsening'}"))
    return out


def _improvement(fx: _Figures, group: str, label: str) -> Estimate:
    from hsctms.evidence import RowInclusion

    df = fx.ev.outcomes(outcome="improvement", phenotype=group, arm="ahsct", measure="percent",
                        rows=RowInclusion(include_superseded=False))
    df = df[df["estimate"].notna()]
    return Estimate("improvement", "improvement", "improvement",
                    "had a lasting improvement in disability (EDSS)", "ahsct", None, label,
                    fx.many(df),
                    note="Studies measured improvement at different times and in different "
                    "ways, so these figures cannot share one time frame.")


def _harms(fx: _Figures, group: str) -> list[Estimate]:
    out = []
    for harm, wording in HARMS_SHOWN.items():
        df = fx.ev.harms(harm=harm, arm="ahsct")
        df = df[df["estimate"].notna() & df["measure"].isin(["percent", "per_1000_py"])]
        figs = fx.many(df, "harm")
        others = sorted({str(fx.study(f.study_id).get("phenotype_group") or "unknown")
                         for f in figs} - {group})
        note = ""
        if figs and others == sorted({str(fx.study(f.study_id).get("phenotype_group")
                                          or "unknown") for f in figs}):
            note = ("None of these studies was limited to people with your type of MS.")
        out.append(Estimate(harm, "harm", harm, wording, "ahsct", None, "people treated",
                            figs, note))
    return out


def _comparisons(fx: _Figures, group: str) -> list[Comparison]:
    out: list[Comparison] = []
    ev = fx.ev
    tables: Iterable[tuple[pd.DataFrame, str, dict[str, str]]] = (
        (ev.outcomes(measure="percent"), "outcome", {**BENEFITS, "improvement":
                                                     "improved in disability (EDSS)"}),
        (ev.harms(), "harm", _COMPARED_HARMS),
    )
    for df, col, words in tables:
        df = df[df["estimate"].notna()]
        ours = df[df["arm"] == "ahsct"]
        for rec in df[df["arm"].isin(list(COMPARATORS))].to_dict("records"):
            if rec[col] not in words:
                continue
            st = fx.study(str(rec["study_id"]))
            if col == "outcome" and st.get("phenotype_group") not in (group, None):
                continue  # benefit comparisons only from studies of the person's group
            same = ours[(ours["study_id"] == rec["study_id"]) & (ours[col] == rec[col])
                        & (ours["measure"] == rec["measure"])
                        & (ours["population"] == rec["population"])]
            t = _num(rec.get("time_years"))
            if t is None:
                same = same[same["time_years"].isna()
                            & (same["time_label"] == rec.get("time_label"))]
            else:
                same = same[(same["time_years"].astype(float) - t).abs() <= 0.05]
            if same.empty:
                continue
            mine = fx.make(same.iloc[0].to_dict(), col)
            other = fx.make(rec, col)
            out.append(Comparison(str(rec["study_id"]), str(rec[col]), words[str(rec[col])],
                                  other.time_label, mine, other,
                                  COMPARATORS[str(rec["arm"])]))
    return out


def _trm(fx: _Figures) -> tuple[tuple[Figure, ...], tuple[Figure, ...], tuple[TrmGroup, ...]]:
    from hsctms.evidence import RowInclusion

    df = fx.ev.outcomes(outcome="trm", arm="ahsct", rows=RowInclusion(include_superseded=False))
    studies = fx.many(df)
    published = fx.many(fx.ev.published_pooled("trm"))
    groups: list[TrmGroup] = []
    for by in ("era", "intensity"):
        keys = sorted({str(getattr(f, by)) for f in studies if getattr(f, by)})
        for key in keys:
            sel = [f for f in studies if getattr(f, by) == key and f.n]
            if not sel:
                continue
            groups.append(TrmGroup(by, key, len(sel), sum(f.events or 0 for f in sel),
                                   sum(f.n or 0 for f in sel), tuple(f.study_id for f in sel),
                                   any(not f.verified for f in sel)))
    return studies, published, tuple(groups)


RECENT_ERA = "2005 or later"


def _pool(figs: list[Figure], scope: str, group: str) -> PooledTrm | None:
    from hsctms.meta import poisson_regression

    sel = [f for f in figs if f.n and f.events is not None]
    if not sel:
        return None
    deaths = sum(int(f.events or 0) for f in sel)
    people = sum(int(f.n or 0) for f in sel)
    ids = tuple(f.study_id for f in sel)
    unverified = any(not f.verified for f in sel)
    if deaths == 0:
        return PooledTrm(scope, group, len(sel), 0, people, None, None, "none", ids,
                         unverified, note="No deaths in any of these studies, so no rate can "
                         "be estimated; this does not mean the risk is zero.")
    family = "quasipoisson" if len(sel) >= 2 else "poisson"
    res = poisson_regression([int(f.events or 0) for f in sel], [int(f.n or 0) for f in sel],
                             family=family,
                             studies=list(ids))
    est, lo, hi = res.rate
    return PooledTrm(scope, group, len(sel), deaths, people, 100 * est, (100 * lo, 100 * hi),
                     f"{family} regression, log(n) offset", ids, unverified)


def _trm_pooled(studies: tuple[Figure, ...], planned: str | None) -> tuple[PooledTrm, ...]:
    """Pooled TRM: all studies; by era; by intensity; and recent-era studies of the planned
    intensity (or all recent-era studies when no intensity is planned)."""
    figs = list(studies)
    out: list[PooledTrm | None] = [_pool(figs, "all studies", "all")]
    for by in ("era", "intensity"):
        for key in sorted({str(getattr(f, by)) for f in figs if getattr(f, by)}):
            out.append(_pool([f for f in figs if getattr(f, by) == key], by, key))
    recent = [f for f in figs if f.era == RECENT_ERA]
    if planned:
        out.append(_pool([f for f in recent if f.intensity == planned], "for you",
                         f"{planned} intensity, published {RECENT_ERA}"))
    else:
        out.append(_pool(recent, "for you", f"any intensity, published {RECENT_ERA}"))
    return tuple(p for p in out if p is not None)


def _meta_context(fx: _Figures, group: str) -> tuple[Figure, ...]:
    df = fx.ev.published_pooled(["progression_free", "relapse_free", "neda", "progression"])
    figs = fx.many(df)
    pops = {"relapsing": {"all", "rrms"}, "progressive": {"all", "spms", "ppms"}}[group]
    return tuple(f for f in figs if f.population.lower() in pops)


def _span(lo: float, hi: float) -> str:
    return f"about {lo:g}" if lo == hi else f"{lo:g} to {hi:g}"


def _matching(profile: PatientProfile, benefits: Iterable[Estimate]) -> list[str]:
    figs = [f for e in benefits for f in e.figures]
    notes = []
    edss = [f.study_edss for f in figs if f.study_edss is not None]
    if edss:
        lo, hi = min(edss), max(edss)
        if profile.edss > hi:
            notes.append(f"Your EDSS ({profile.edss:g}) is higher than the typical EDSS of the "
                         f"people in these studies ({_span(lo, hi)}). People with more "
                         "disability tend to gain less, so the figures may be too hopeful "
                         "for you.")
        elif profile.edss < lo:
            notes.append(f"Your EDSS ({profile.edss:g}) is lower than the typical EDSS of the "
                         f"people in these studies ({_span(lo, hi)}).")
    ages = [f.study_age for f in figs if f.study_age is not None]
    age = profile.age
    if ages and age is not None and age > max(ages) + 5:
        notes.append(f"You are older ({age:.0f}) than the typical person in these studies "
                     f"(average or median age {min(ages):.0f} to {max(ages):.0f}); older age "
                     "is linked with more risk and less benefit.")
    intensities = sorted({str(f.intensity) for f in figs if f.intensity})
    if profile.planned_intensity and intensities:
        notes.append(f"The planned conditioning is {profile.planned_intensity} intensity; the "
                     f"studies used {', '.join(intensities)} intensity regimens.")
    if profile.prior_ahsct:
        notes.append("You have had aHSCT before. These figures are for a first transplant; the "
                     "evidence base holds no figures for a second one.")
    notes.append("The published studies do not report results by EDSS or by age, so these "
                 "figures are for people with your type of MS in general, not adjusted to you.")
    return notes


def personal_estimates(profile: PatientProfile,
                       evidence: EvidenceBase | None = None) -> PersonalEstimates:
    """Select every figure of the report for ``profile`` from the evidence base.

    Parameters
    ----------
    profile
        A validated :class:`~hsctms.model.profile.PatientProfile`.
    evidence
        An :class:`hsctms.evidence.EvidenceBase`; default the packaged one.

    Returns
    -------
    PersonalEstimates
        Every figure of the report for the person's stratum, with sources; selections are
        cached per evidence base, phenotype group and planned intensity.

    Raises
    ------
    ProfileError
        When ``profile`` is not a :class:`~hsctms.model.profile.PatientProfile`.
    EvidenceError
        When ``evidence`` is not an evidence base, or the packaged one cannot be loaded.
    """
    from hsctms.model.profile import PatientProfile

    if not isinstance(profile, PatientProfile):
        raise ProfileError(f"personal_estimates needs a PatientProfile, got "
                           f"{type(profile).__name__}.",
                           hint="Use hsctms.patient.parse_profile(dict) first.")
    ev = evidence if evidence is not None else _evidence()
    _check_evidence(ev)
    stratum = _stratum(profile)
    group, label = stratum["phenotype_group"], stratum["label"]
    sel = _selection(ev, group, label, profile.planned_intensity)
    all_studies = ev.studies
    data_date = None
    if "pub_year" in all_studies:
        years = [int(y) for y in all_studies["pub_year"].dropna()]
        data_date = f"published studies up to {max(years)}" if years else None
    if ev.evidence_date is not None:  # the date the evidence base was last checked
        data_date = (f"{data_date}; evidence checked {ev.evidence_date}" if data_date
                     else f"evidence checked {ev.evidence_date}")
    prov = Provenance(
        method="evidence_selection",
        definition={"stratum": {k: v for k, v in stratum.items() if k != "age"},
                    "time_points": list(TIME_POINTS),
                    "regimen_map": getattr(ev, "regimen_map", None),
                    "rule": "figures from populations of the person's phenotype group only"},
        n=len(all_studies), synthetic=False, data_date=data_date,
        versions=dict(cached_versions()))
    return PersonalEstimates(
        stratum=stratum, benefits=sel["benefits"], improvement=sel["improvement"],
        trm_studies=sel["trm_studies"], trm_published=sel["trm_published"],
        trm_groups=sel["trm_groups"], trm_pooled=sel["trm_pooled"],
        harms=_for_sex(sel["harms"], profile.sex),
        comparisons=sel["comparisons"], meta_context=sel["meta_context"],
        matching_notes=tuple(_matching(profile, sel["benefits"])),
        provenance=prov, data_date=data_date, fertility=fertility_items(profile.sex),
    )


def _for_sex(harms: tuple[Estimate, ...], sex: str | None) -> tuple[Estimate, ...]:
    """The harms for a person of ``sex``: women-only harms are dropped for a man."""
    if sex != "M":
        return harms
    return tuple(e for e in harms if e.outcome not in WOMEN_ONLY_HARMS)


#: Selections depend only on (evidence base, phenotype group, planned intensity); the web app
#: builds many reports, so they are cached (the evidence object is kept alive by the cache, so
#: its id is not reused while cached).
_CACHE: OrderedDict[tuple[int, str, str | None], tuple[Any, dict[str, Any]]] = OrderedDict()
_CACHE_SIZE = 16


def _selection(ev: EvidenceBase, group: str, label: str,
               planned: str | None) -> dict[str, Any]:
    key = (id(ev), group, planned)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is ev:
        _CACHE.move_to_end(key)
        return hit[1]
    fx = _Figures(ev)
    trm_studies, trm_published, trm_groups = _trm(fx)
    sel: dict[str, Any] = {
        "benefits": tuple(_benefits(fx, group, label)),
        "improvement": _improvement(fx, group, label),
        "trm_studies": trm_studies, "trm_published": trm_published, "trm_groups": trm_groups,
        "trm_pooled": _trm_pooled(trm_studies, planned),
        "harms": tuple(_harms(fx, group)), "comparisons": tuple(_comparisons(fx, group)),
        "meta_context": _meta_context(fx, group),
    }
    _CACHE[key] = (ev, sel)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return sel
