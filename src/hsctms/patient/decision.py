"""The decision part of the patient report: the personal answer, aHSCT beside the alternatives,
the competing outcomes at 5 years and the harms with their intervals.

Everything here is selected or computed from the report's own data (the eligibility verdicts
and the published figures of :mod:`hsctms.patient.estimates`); nothing is hard-coded per study.

* :func:`personal_summary`: how many criteria sets the person meets, does not meet or cannot
  be told yet, the main reason, and (for progressive MS without recent inflammation) the plain
  statement that the guidelines checked advise against aHSCT.
* :func:`side_by_side`: every pair of figures where one study measured aHSCT and an
  alternative arm the same way (same outcome, time frame and denominator), for alternatives
  that did not already fail for the person, with the study design named.
* :func:`competing_outcomes`: of 100 people like you over 5 years, how many die because of
  the treatment, relapse, worsen, or stay free of all three, as ranges.
* :func:`harm_lines`: each harm with its context and an interval (the published one, or an
  exact binomial interval computed from the events and people of the study).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from hsctms.patient.estimates import COMPARATORS, Estimate, Figure, PersonalEstimates

if TYPE_CHECKING:  # pragma: no cover
    from hsctms.eligibility.engine import EligibilityReport
    from hsctms.evidence import EvidenceBase
    from hsctms.model.profile import PatientProfile

#: Themes of the criteria that rule a person out, matched on the criterion id, in order.
REASON_THEMES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("failed", "failure", "despite", "on-dmt", "breakthrough", "indication", "hedmt"),
     "the treatments tried so far (most sets ask that MS stayed active on other drugs "
     "first)"),
    (("activity", "relapse", "breakthrough", "active", "mri", "inflamm"),
     "no recent signs of inflammation (relapses or new MRI lesions)"),
    (("phenotype", "relapsing", "ppms", "spms"), "the type of MS"),
    (("edss",), "the level of disability (EDSS)"),
    (("duration", "years"), "how long you have had MS"),
    (("age",), "age"),
)

#: Plain wording of outcomes compared side by side (others use the evidence vocabulary).
COMPARED_OUTCOMES: dict[str, str] = {
    "progression": "had confirmed worsening of disability",
    "progression_free": "had no confirmed worsening of disability",
    "relapse_free": "had no relapse",
    "neda": "had no sign of MS activity",
    "improvement": "had an improvement in disability",
    "stable": "had stable disability",
    "worsened": "were worse at the last visit",
    "treatment_failure": "had the treatment fail",
    "arr": "relapses each year",
    "trm": "died because of the treatment",
    "mortality": "died (any cause)",
}
COMPARED_HARMS: dict[str, str] = {
    "grade3_ae": "had a severe side effect (grade 3 or worse)",
    "thyroid": "developed thyroid disease",
    "infection": "had an infection",
    "serious_infection": "had a serious infection",
    "secondary_autoimmunity": "developed another autoimmune disease",
    "itp": "developed low platelets (ITP)",
    "secondary_malignancy": "developed a cancer",
    "death": "died (any cause)",
}

#: Arms that are not an alternative treatment.
_NOT_ALTERNATIVES = frozenset({"ahsct", "pooled"})


# ----------------------------------------------------------------------------- summary
@dataclass(frozen=True)
class PersonalSummary:
    """The first page of the report: the answer for this person.

    Parameters
    ----------
    meets, does_not_meet, cannot_tell, total
        Number of criteria sets with each verdict, and all sets checked.
    main_reason
        The reason that rules the person out in most sets (empty when none does).
    reason_sets
        How many of the sets that the person does not meet give ``main_reason``.
    progressive_inactive
        Progressive MS with no relapse and no new or enhancing lesion in any window given.
    statement
        The plain answer (one or two sentences).
    notes
        Outcomes that cannot change for the person, put in context (e.g. no relapses).
    """

    meets: int
    does_not_meet: int
    cannot_tell: int
    total: int
    main_reason: str
    reason_sets: int
    progressive_inactive: bool
    statement: str
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"meets": self.meets, "does_not_meet": self.does_not_meet,
                "cannot_tell": self.cannot_tell, "total": self.total,
                "main_reason": self.main_reason, "reason_sets": self.reason_sets,
                "progressive_inactive": self.progressive_inactive,
                "statement": self.statement, "notes": list(self.notes)}


_ACTIVITY_FIELDS = ("relapses_12m", "relapses_18m", "relapses_24m", "relapses_36m",
                    "gd_lesions_12m", "new_t2_lesions_12m", "gd_lesions_24m",
                    "new_t2_lesions_24m")


def no_recent_activity(profile: PatientProfile) -> bool:
    """True when every relapse and MRI-activity count given is 0 (and at least one is given).

    Parameters
    ----------
    profile
        The person's profile.

    Returns
    -------
    bool
        False when any count is above 0, or when no count is given (activity unknown).
    """
    counts = [getattr(profile, k) for k in _ACTIVITY_FIELDS]
    known = [c for c in counts if c is not None]
    return bool(known) and all(c == 0 for c in known)


def no_recent_relapse(profile: PatientProfile) -> int | None:
    """The longest window (months) given with no relapse, or None if a relapse is recorded
    or no relapse count is given."""
    windows = [(m, getattr(profile, f"relapses_{m}m")) for m in (12, 18, 24, 36)]
    known = [(m, c) for m, c in windows if c is not None]
    if not known or any(c > 0 for _, c in known):
        return None
    return max(m for m, _ in known)


def _theme(criterion_id: str) -> str | None:
    key = criterion_id.split(".", 1)[-1].lower()
    for words, theme in REASON_THEMES:
        if any(w in key for w in words):
            return theme
    return None


def personal_summary(profile: PatientProfile, eligibility: EligibilityReport,
                     estimates: PersonalEstimates) -> PersonalSummary:
    """The personal answer: verdict counts, main reason and plain statement.

    Parameters
    ----------
    profile
        The person's profile.
    eligibility
        The verdicts of every criteria set (:func:`hsctms.eligibility.assess_eligibility`).
    estimates
        The person's published figures (for the figures quoted in the statement).

    Returns
    -------
    PersonalSummary
        Counts, main reason, the statement and the context notes.
    """
    verdicts = Counter(s.verdict for s in eligibility.sets)
    inflammation, treatments = REASON_THEMES[1][1], REASON_THEMES[0][1]
    quiet = no_recent_activity(profile)
    themes: Counter[str] = Counter()
    for s in eligibility.sets:
        if s.verdict != "not_eligible":
            continue
        found = {_theme(r.criterion.id) for r in s.results if r.passes is False}
        if quiet:  # "activity despite treatment" fails because there is no activity at all
            found = {inflammation if t == treatments else t for t in found}
        themes.update(t for t in found if t)
    progressive = estimates.stratum["phenotype_group"] == "progressive"
    inactive = progressive and quiet
    if inactive and themes[inflammation]:
        reason, reason_sets = inflammation, themes[inflammation]
    else:
        reason, reason_sets = (themes.most_common(1)[0] if themes else ("", 0))
    meets, nope, unknown = (verdicts["eligible"], verdicts["not_eligible"],
                            verdicts["cannot_tell"])
    total = len(eligibility.sets)
    statement = _statement(meets, nope, unknown, total, reason, inactive, estimates)
    return PersonalSummary(meets, nope, unknown, total, reason, reason_sets, inactive,
                           statement, tuple(_context_notes(profile, progressive)))


def _statement(meets: int, nope: int, unknown: int, total: int, reason: str,
               inactive: bool, est: PersonalEstimates) -> str:
    if inactive:
        pf = est.benefit("progression_free", 5.0).range_per100
        figs = ""
        if pf is not None:
            figs = (f" In studies of progressive MS, {round(pf[0])} to {round(pf[1])} of 100 "
                    "had no worsening at 5 years. But most of those people still had signs of "
                    "inflammation, so for you the gain is likely to be smaller.")
        mine = est.trm_for_you()
        if mine is not None and mine.per100 is not None and mine.ci is not None:
            figs += (f" The risk of dying because of the treatment is about {mine.per100:.1f} "
                     f"of 100 (95% CI {mine.ci[0]:.1f} to {mine.ci[1]:.1f}).")
        advise = (f"None of the {nope} guidelines and trials we checked that set criteria "
                  "would include you. The guidelines advise against aHSCT for you"
                  if meets == 0 else
                  f"{nope} of the {total} guidelines and trials we checked would not include "
                  "you, and the guidelines among them advise against aHSCT for you")
        return (f"{advise}. The reason is that your MS is progressive and shows no recent "
                "signs of inflammation. aHSCT works on inflammation. The evidence shows little "
                f"benefit for people like you.{figs}")
    if meets and not nope:
        return (f"You meet {meets} of the {total} sets of criteria we checked. aHSCT is an "
                "option to discuss with your MS team. Meeting criteria does not mean you "
                "should have it.")
    if meets:
        why = f" Most often this is because of {reason}." if reason else ""
        return (f"You meet {meets} of the {total} sets of criteria, and do not meet {nope}.{why}"
                " Ask your MS team which of these applies where you would be treated.")
    if nope:
        why = f" The main reason is {reason}." if reason else ""
        return (f"You do not meet {nope} of the {total} sets of criteria we checked.{why} "
                "For now, aHSCT is not advised for you under these criteria.")
    return (f"We cannot tell yet for {unknown} of the {total} sets of criteria. Some "
            "information is missing.")


def _context_notes(profile: PatientProfile, progressive: bool) -> list[str]:
    notes = []
    months = no_recent_relapse(profile)
    if months is not None:
        notes.append(f"You have had no relapse in the last {months} months. So \"no relapse "
                     "after aHSCT\" would not be a change for you. It is not a reason to have "
                     "it.")
    if progressive and no_recent_activity(profile):
        notes.append("You have had no new or active MRI lesions either. So \"no MS activity\" "
                     "figures describe what you have now, not a gain.")
    return notes


# ------------------------------------------------------------------------ side by side
def design_label(kind: str, design: str, *, compared: bool = False) -> str:
    """The study design in plain words.

    Parameters
    ----------
    kind
        The study ``kind`` of the evidence base (``rct``, ``cohort``, ``registry``...).
    design
        The study's ``design`` text.
    compared
        True when the study reports more than one arm (then it is never "single-arm").

    Returns
    -------
    str
        ``"randomised trial"``, ``"matched registry comparison"``, ``"non-randomised
        comparison"``, ``"meta-analysis"`` or ``"single-arm cohort"``.

    Examples
    --------
    >>> design_label("rct", "randomised controlled trial")
    'randomised trial'
    >>> design_label("cohort", "propensity-matched emulated pairwise trials")
    'matched registry comparison'
    """
    d = design.lower()
    if kind == "rct" or "randomi" in d:
        return "randomised trial"
    if kind == "meta_analysis":
        return "meta-analysis"
    if any(w in d for w in ("propensity", "matched", "emulated", "weighted", "overlap")):
        return "matched registry comparison"
    if any(w in d for w in ("comparative", " vs ", "versus")) or kind == "comparator_trial":
        return "non-randomised comparison"
    return "non-randomised comparison" if compared else "single-arm cohort"


@dataclass(frozen=True)
class SideBySide:
    """aHSCT and one alternative measured in the same study, the same way.

    Parameters
    ----------
    topic
        ``"benefit"`` or ``"harm"``.
    outcome, wording
        Evidence outcome/harm name and plain wording.
    time_label
        The time frame, shared by both figures.
    unit
        The shared denominator (``per 100``, ``per 100 per year`` or relapses per 100
        person-years).
    comparator
        Plain name of the alternative.
    design
        Plain design (:func:`design_label`).
    ahsct, other
        The two figures.
    """

    topic: str
    outcome: str
    wording: str
    time_label: str
    unit: str
    comparator: str
    design: str
    ahsct: Figure
    other: Figure

    @property
    def verified(self) -> bool:
        """True when neither figure is flagged (unverified)."""
        return self.ahsct.verified and self.other.verified

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"topic": self.topic, "outcome": self.outcome, "wording": self.wording,
                "time_label": self.time_label, "unit": self.unit,
                "comparator": self.comparator, "design": self.design,
                "study_id": self.ahsct.study_id, "verified": self.verified,
                "ahsct": self.ahsct.to_dict(), "other": self.other.to_dict()}


def failed_drugs(profile: PatientProfile) -> frozenset[str]:
    """Catalogue names (lower case) of the drugs that already failed for the person.

    Parameters
    ----------
    profile
        The person's profile.

    Returns
    -------
    frozenset of str
        ``canonical_name`` of every DMT with ``failed`` true.
    """
    return frozenset(d.canonical_name.lower() for d in (profile.dmts or []) if d.failed)


def comparator_name(arm: str) -> str:
    """Plain name of a comparator arm (the arm name itself when it has no label)."""
    return COMPARATORS.get(arm, arm.replace("_", " "))


def _arm_failed(arm: str, failed: frozenset[str]) -> bool:
    return arm.replace("_", " ").lower() in failed


def side_by_side(profile: PatientProfile, estimates: PersonalEstimates,
                 evidence: EvidenceBase | None = None) -> tuple[SideBySide, ...]:
    """Every same-study pair of aHSCT and a realistic alternative for the person.

    Pairs come from the evidence data: a row of an arm other than ``ahsct`` matched with the
    ``ahsct`` row of the same study, outcome, measure, population and time frame. Benefit
    pairs use studies of the person's phenotype group only; harm pairs are shown for the
    alternatives that have a benefit pair (harms depend on the treatment, not the type of
    MS). An arm named after a drug that already failed for the person is never used.

    Parameters
    ----------
    profile
        The person's profile (for the drugs that failed).
    estimates
        The person's figures (for the phenotype group).
    evidence
        The evidence base; default the packaged one.

    Returns
    -------
    tuple of SideBySide
        Benefit pairs, then harm pairs, by study and outcome.
    """
    from hsctms.evidence import load_evidence
    from hsctms.patient.estimates import _Figures

    ev = evidence if evidence is not None else load_evidence()
    fx = _Figures(ev)
    group = estimates.stratum["phenotype_group"]
    failed = failed_drugs(profile)
    benefit = _pairs(fx, ev.outcomes(), "outcome", COMPARED_OUTCOMES, ("percent", "arr"),
                     failed, group)
    arms = {p.other.arm for p in benefit}
    harms = [p for p in _pairs(fx, ev.harms(), "harm", COMPARED_HARMS,
                               ("percent", "per_1000_py"), failed, None)
             if p.other.arm in arms]
    return (*benefit, *harms)


def _pairs(fx: Any, df: Any, col: str, words: dict[str, str], measures: tuple[str, ...],
           failed: frozenset[str], group: str | None) -> list[SideBySide]:
    df = df[df["estimate"].notna() & df["measure"].isin(list(measures))
            & df[col].isin(list(words))]
    ours = df[df["arm"] == "ahsct"]
    out = []
    for rec in df[~df["arm"].isin(list(_NOT_ALTERNATIVES))].to_dict("records"):
        arm = str(rec["arm"])
        if _arm_failed(arm, failed):
            continue
        st = fx.study(str(rec["study_id"]))
        if group is not None and st.get("phenotype_group") != group:
            continue
        same = ours[(ours["study_id"] == rec["study_id"]) & (ours[col] == rec[col])
                    & (ours["measure"] == rec["measure"])
                    & (ours["population"] == rec["population"])]
        t = rec.get("time_years")
        if t is None or (isinstance(t, float) and math.isnan(t)):
            same = same[same["time_years"].isna() & (same["time_label"] == rec["time_label"])]
        else:
            same = same[(same["time_years"].astype(float) - float(t)).abs() <= 0.05]
        if same.empty:
            continue
        mine, other = fx.make(same.iloc[0].to_dict(), col), fx.make(rec, col)
        time = other.time_label
        if time == "time not stated" and other.unit != "per 100":
            time = "over the follow-up"
        out.append(SideBySide("benefit" if col == "outcome" else "harm", str(rec[col]),
                              words[str(rec[col])], time, other.unit, comparator_name(arm),
                              design_label(str(st.get("kind") or ""),
                                           str(st.get("design") or ""), compared=True),
                              mine, other))
    return sorted(out, key=lambda p: (p.ahsct.study_id, p.outcome, p.comparator))


def alternatives_considered(profile: PatientProfile,
                            pairs: Iterable[SideBySide]) -> tuple[tuple[str, ...],
                                                                  tuple[str, ...]]:
    """The alternatives shown, and the drugs left out because they already failed.

    Parameters
    ----------
    profile
        The person's profile.
    pairs
        From :func:`side_by_side`.

    Returns
    -------
    tuple
        (plain names of the alternatives shown, names of the drugs that failed).
    """
    shown = tuple(dict.fromkeys(p.comparator for p in pairs))
    return shown, tuple(sorted(failed_drugs(profile)))


# --------------------------------------------------------------------- competing outcomes
@dataclass(frozen=True)
class CompetingOutcomes:
    """Of 100 people like you over 5 years, as ranges (low, high) out of 100.

    ``died`` is transplant-related death (pooled estimate and its 95% CI); ``relapse`` and
    ``worsened`` are 100 minus the relapse-free and worsening-free figures (range across
    studies); ``free`` is the share free of all three: at least relapse-free plus
    worsening-free minus 100 minus deaths (and at least the no-activity figure when one is
    reported), at most the smaller of the two minus deaths. People can both relapse and worsen,
    so the groups overlap; ``free`` is what is left.
    """

    years: float
    died: tuple[float, float, float] | None
    relapse: tuple[float, float] | None
    worsened: tuple[float, float] | None
    free: tuple[float, float] | None
    studies: tuple[str, ...]
    any_unverified: bool

    @property
    def complete(self) -> bool:
        """True when every group has a figure (the icon array can be drawn)."""
        return None not in (self.died, self.relapse, self.worsened, self.free)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        def lst(v: tuple[float, ...] | None) -> list[float] | None:
            return None if v is None else list(v)
        return {"years": self.years, "died": lst(self.died), "relapse": lst(self.relapse),
                "worsened": lst(self.worsened), "free": lst(self.free),
                "studies": list(self.studies), "any_unverified": self.any_unverified,
                "complete": self.complete}


def competing_outcomes(estimates: PersonalEstimates, years: float = 5.0) -> CompetingOutcomes:
    """Deaths, relapses, worsening and "free of all three" for 100 people over ``years``.

    Parameters
    ----------
    estimates
        The person's figures.
    years
        A time point of the benefit estimates (default 5).

    Returns
    -------
    CompetingOutcomes
        Ranges out of 100 (None where the evidence has no figure).
    """
    rf = estimates.benefit("relapse_free", years)
    pf = estimates.benefit("progression_free", years)
    neda = estimates.benefit("neda", years)
    mine = estimates.trm_for_you()
    died = None
    if mine is not None and mine.per100 is not None and mine.ci is not None:
        died = (mine.per100, mine.ci[0], mine.ci[1])
    rfr, pfr, nr = rf.range_per100, pf.range_per100, neda.range_per100
    relapse = None if rfr is None else (100 - rfr[1], 100 - rfr[0])
    worsened = None if pfr is None else (100 - pfr[1], 100 - pfr[0])
    free = None
    if rfr is not None and pfr is not None and died is not None:
        lo = max(0.0, rfr[0] + pfr[0] - 100 - died[2], 0.0 if nr is None else nr[0] - died[2])
        hi = max(lo, min(rfr[1], pfr[1]) - died[1])
        free = (lo, min(hi, 100 - died[1]))
    figs = [*rf.figures, *pf.figures, *neda.figures]
    studies = tuple(sorted({f.study_id for f in figs}
                           | set(() if mine is None else mine.study_ids)))
    unverified = any(not f.verified for f in figs) or bool(mine and mine.any_unverified)
    return CompetingOutcomes(years, died, relapse, worsened, free, studies, unverified)


# ------------------------------------------------------------------------------- harms
def exact_interval(events: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) binomial interval for ``events`` of ``n``, out of 100.

    Parameters
    ----------
    events
        People with the harm (0 to ``n``).
    n
        People in the study (> 0).
    level
        Confidence level, default 0.95.

    Returns
    -------
    tuple of float
        (low, high) out of 100.

    Examples
    --------
    >>> lo, hi = exact_interval(1, 14)
    >>> round(lo, 1), round(hi, 1)
    (0.2, 33.9)
    """
    from scipy.stats import binomtest

    ci = binomtest(int(events), int(n)).proportion_ci(confidence_level=level, method="exact")
    return 100.0 * float(ci.low), 100.0 * float(ci.high)


def with_interval(f: Figure) -> tuple[Figure, str]:
    """The figure with an interval: its own, or an exact binomial one from events and n.

    When the row gives no events, they are derived from the percentage and n only if the
    result matches the percentage to within 0.6 points (a crude count, as papers round).

    Parameters
    ----------
    f
        A figure.

    Returns
    -------
    tuple
        (the figure, with ``ci_low``/``ci_high`` filled when computed; how the interval was
        obtained: ``"published"``, ``"exact"`` or ``""`` when none).
    """
    if f.ci_low is not None and f.ci_high is not None:
        return f, "published"
    if f.unit != "per 100" or f.n is None or f.value is None:
        return f, ""
    events = f.events
    if events is None:
        k = round(f.value * f.n / 100)
        if abs(100 * k / f.n - f.value) > 0.6:
            return f, ""
        events = k
    lo, hi = exact_interval(events, f.n)
    return replace(f, ci_low=lo, ci_high=hi, ci_level=0.95, events=events), "exact"


@dataclass(frozen=True)
class HarmLine:
    """One harm as shown to the person and checked by a clinician.

    Parameters
    ----------
    key, title, wording
        Harm name, short title and plain wording.
    figure
        The headline figure (never a recalled or second-hand one when another exists),
        with its interval.
    interval
        ``"published"``, ``"exact"`` (computed from events / n) or ``""``.
    context
        Severity and how often it matters (from the evidence row), or empty.
    others
        Further figures of the same harm (with intervals).
    note
        Notes on the population of the studies.
    """

    key: str
    title: str
    wording: str
    figure: Figure
    interval: str
    context: str
    others: tuple[tuple[Figure, str], ...]
    note: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"key": self.key, "title": self.title, "wording": self.wording,
                "figure": self.figure.to_dict(), "interval": self.interval,
                "context": self.context, "note": self.note,
                "others": [{"figure": f.to_dict(), "interval": i} for f, i in self.others]}


def _headline(e: Estimate) -> Figure | None:
    cands = [f for f in e.figures if f.value is not None]
    if not cands:
        return None
    return sorted(cands, key=lambda f: (f.second_hand, not f.verified, f.unit != "per 100",
                                        f.time_years is None, -(f.n or 0), f.study_id))[0]


def harm_lines(estimates: PersonalEstimates, titles: dict[str, str]) -> tuple[HarmLine, ...]:
    """Each harm with data: its headline figure with an interval, and its context.

    Parameters
    ----------
    estimates
        The person's figures (harms already tailored to sex).
    titles
        Short titles by harm name.

    Returns
    -------
    tuple of HarmLine
        In the order of :attr:`PersonalEstimates.harms`.
    """
    out = []
    for e in estimates.harms:
        head = _headline(e)
        if head is None:
            continue
        fig, how = with_interval(head)
        others = tuple(with_interval(f) for f in e.figures if f is not head
                       and f.value is not None)
        context = head.context or next((f.context for f in e.figures if f.context), "")
        out.append(HarmLine(e.key, titles.get(e.key, e.key), e.wording, fig, how, context,
                            others, e.note))
    return tuple(out)


# --------------------------------------------------------------------------- together
@dataclass(frozen=True)
class DecisionAid:
    """The decision part of the report for one person (see the module docstring).

    Parameters
    ----------
    summary
        :func:`personal_summary`.
    pairs
        :func:`side_by_side`.
    alternatives
        Plain names of the alternatives shown beside aHSCT.
    failed
        Drugs that already failed for the person (never shown as an alternative).
    competing
        :func:`competing_outcomes` at 5 years.
    harms
        :func:`harm_lines`.
    """

    summary: PersonalSummary
    pairs: tuple[SideBySide, ...]
    alternatives: tuple[str, ...]
    failed: tuple[str, ...]
    competing: CompetingOutcomes
    harms: tuple[HarmLine, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"summary": self.summary.to_dict(), "pairs": [p.to_dict() for p in self.pairs],
                "alternatives": list(self.alternatives), "failed": list(self.failed),
                "competing": self.competing.to_dict(),
                "harms": [h.to_dict() for h in self.harms]}


def decision_aid(profile: PatientProfile, eligibility: EligibilityReport,
                 estimates: PersonalEstimates, *, evidence: EvidenceBase | None = None,
                 titles: dict[str, str] | None = None) -> DecisionAid:
    """Everything of the decision part, for one person.

    Parameters
    ----------
    profile
        The person's profile.
    eligibility
        The verdicts of every criteria set.
    estimates
        The person's figures.
    evidence
        The evidence base; default the packaged one.
    titles
        Short titles of the harms (default: the harm names).

    Returns
    -------
    DecisionAid
        Summary, side-by-side pairs, alternatives, failed drugs, competing outcomes, harms.
    """
    pairs = side_by_side(profile, estimates, evidence)
    shown, failed = alternatives_considered(profile, pairs)
    return DecisionAid(personal_summary(profile, eligibility, estimates), pairs, shown, failed,
                       competing_outcomes(estimates), harm_lines(estimates, titles or {}))
