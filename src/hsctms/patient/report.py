"""The patient report: eligibility + personal figures -> HTML / PDF / JSON.

>>> from hsctms.patient import build_report, render_patient_report   # doctest: +SKIP
>>> report = build_report({"age_years": 30, "phenotype": "RRMS", "edss": 3.0})  # doctest: +SKIP
>>> html = render_patient_report(report, "html")                    # doctest: +SKIP

The report is never built from synthetic data: its figures come only from the published
evidence base (:mod:`hsctms.patient.estimates`), so ``meta.synthetic`` is always False.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hsctms._provenance import Provenance
from hsctms.eligibility.engine import (
    VERDICT_TEXT,
    EligibilityReport,
    assess_eligibility,
    cached_versions,
)
from hsctms.errors import ConfigurationError
from hsctms.model.profile import PHENOTYPE_NAMES, PatientProfile, parse_profile
from hsctms.patient.decision import (
    CompetingOutcomes,
    DecisionAid,
    HarmLine,
    SideBySide,
    decision_aid,
)
from hsctms.patient.estimates import (
    RECENT_ERA,
    Estimate,
    Figure,
    PersonalEstimates,
    personal_estimates,
)
from hsctms.plots.icons import COMPETING_COLOURS, icon_array_svg, stacked_icon_array_svg
from hsctms.reports.render import ReportMeta, render_html, write_report

TEMPLATE = "patient/report.html.j2"
JSON_SCHEMA_ID = "hsctms.patient-report/1"

DEFINITIONS: tuple[str, ...] = (
    "EDSS: Kurtzke Expanded Disability Status Scale, 0 (normal) to 10; 6.0 means needing a "
    "stick to walk about 100 m, 6.5 needing two supports to walk about 20 m.",
    "Progression-free: no confirmed worsening of EDSS (each study's own definition, shown "
    "beside each figure).",
    "Relapse-free: no clinical relapse.",
    "NEDA (no evidence of disease activity): no relapse, no confirmed EDSS worsening and no new "
    "or enhancing MRI lesions.",
    "Transplant-related mortality: deaths caused by the transplant procedure, as each study "
    "defined it (usually within the first 100 days or year).",
    "Out of 100 people: a percentage written as a number of people, so that every figure uses "
    "the same denominator.",
)


@dataclass(frozen=True)
class PatientReport:
    """Everything the patient report shows, as data.

    Built by :func:`build_report`; rendered by :func:`render_patient_report` and
    :func:`write_patient_report`.

    Parameters
    ----------
    profile : PatientProfile
        The validated patient profile the report is about.
    eligibility : EligibilityReport
        The verdict of every eligibility criteria set for the profile.
    estimates : PersonalEstimates
        The published figures selected for the profile's stratum (benefits, transplant-related
        mortality, harms, comparisons), all from the evidence base.
    meta : ReportMeta
        Title, subtitle, definitions, sources and software versions shown in the report;
        ``meta.synthetic`` is always False.
    provenance : Provenance
        How the report was made: the eligibility and estimate definitions, ``n = 1``, the
        evidence date and the software versions.
    decision : DecisionAid or None
        The personal answer, aHSCT beside the alternatives, the competing outcomes and the
        harms with intervals (:func:`hsctms.patient.decision.decision_aid`).
    """

    profile: PatientProfile
    eligibility: EligibilityReport
    estimates: PersonalEstimates
    meta: ReportMeta
    provenance: Provenance
    decision: DecisionAid | None = None

    @property
    def summary(self) -> str:
        """Plain-text digest: the personal answer, eligibility verdicts, the benefit figures,
        then the main harms (:attr:`PersonalEstimates.harms_summary`)."""
        head = "" if self.decision is None else self.decision.summary.statement + "\n"
        return head + self.eligibility.summary + "\n" + self.estimates.summary

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable report (schema ``hsctms.patient-report/1``, see docs).

        Returns
        -------
        dict
            JSON-serialisable: ``schema``, ``profile`` (the validated profile, unknown fields
            omitted), ``stratum``, ``eligibility`` (one entry per criteria set),
            ``estimates``, ``decision``, ``report`` (:meth:`ReportMeta.to_dict`) and
            ``provenance``; the keys are described in docs/patient-report.md, section 4.
        """
        return {
            "schema": JSON_SCHEMA_ID,
            "profile": self.profile.model_dump(mode="json", exclude_none=True),
            "stratum": self.estimates.stratum,
            "eligibility": self.eligibility.to_dict()["sets"],
            "estimates": self.estimates.to_dict(),
            "decision": None if self.decision is None else self.decision.to_dict(),
            "report": self.meta.to_dict(),
            "provenance": self.provenance.to_dict(),
        }


def build_report(profile: PatientProfile | Mapping[str, Any],
                 evidence: Any = None) -> PatientReport:
    """Assess eligibility and select every figure for one profile.

    Parameters
    ----------
    profile
        A :class:`PatientProfile` or a mapping (e.g. parsed JSON) validated into one.
    evidence
        Optional :class:`hsctms.evidence.EvidenceBase` (default: the packaged evidence).

    Returns
    -------
    PatientReport
        The profile, its eligibility verdicts, the personal figures, the report metadata
        (never synthetic; the evidence date as data date) and the provenance.

    Raises
    ------
    hsctms.errors.ProfileError
        When the profile is invalid.
    hsctms.errors.EvidenceError
        When the evidence base cannot be loaded.
    """
    prof = parse_profile(profile)
    elig = assess_eligibility(prof)
    est = personal_estimates(prof, evidence)
    sources = sorted({f.source_text for f in est.all_figures()})
    set_sources = [s.criteria_set.citation for s in elig.sets]
    subtitle = prof.label or f"{PHENOTYPE_NAMES[prof.phenotype]}, EDSS {prof.edss:g}"
    meta = ReportMeta(
        title="What to expect from aHSCT: a personal summary",
        synthetic=False, data_date=est.data_date, n=None, subtitle=subtitle,
        definitions=DEFINITIONS, sources=[*set_sources, *sources],
        versions=dict(cached_versions()))
    prov = Provenance(method="patient_report",
                      definition={"eligibility": elig.provenance.definition,
                                  "estimates": est.provenance.definition},
                      n=1, synthetic=False, data_date=est.data_date,
                      versions=dict(cached_versions()))
    aid = decision_aid(prof, elig, est, evidence=evidence, titles=HARM_TITLES)
    return PatientReport(prof, elig, est, meta, prov, aid)


# ------------------------------------------------------------------------------ view model
def fmt100(value: float | None) -> str:
    """A figure out of 100: whole numbers from 10 up, one decimal below 10."""
    if value is None:
        return "–"
    if value >= 9.95 or abs(value - round(value)) < 0.05:
        return f"{round(value)}"
    return f"{value:.1f}"


def _span(lo: float, hi: float) -> str:
    a, b = fmt100(lo), fmt100(hi)
    return a if a == b else f"{a} to {b}"


def _figure_row(f: Figure) -> dict[str, Any]:
    ci = ""
    if f.ci_low is not None and f.ci_high is not None:
        level = f"{round(100 * f.ci_level)}% " if f.ci_level else ""
        ci = f"{level}CI {fmt100(f.ci_low)} to {fmt100(f.ci_high)}"
    people = f"{f.n} people" if f.n else "number of people not reported"
    time = f.time_label
    if f.unit != "per 100" and time == "time not stated":
        time = "rate per year of follow-up"
    return {"value": fmt100(f.value), "unit": f.unit, "ci": ci, "label": f.label,
            "source": f.source_text, "population": f.population, "time": time,
            "people": people, "definition": f.definition, "verified": f.verified,
            "source_type": f.source_type, "study_id": f.study_id,
            "intensity": f.intensity or "not stated"}


def _benefit_view(e: Estimate) -> dict[str, Any]:
    view: dict[str, Any] = {"key": e.key, "outcome": e.outcome, "time": e.time_years,
                            "availability": e.availability, "wording": e.wording,
                            "figures": [_figure_row(f) for f in e.figures],
                            "unverified": e.any_unverified, "svg": None, "sentence": "",
                            "second_hand": False}
    rng = e.range_per100
    if rng is None:
        view["sentence"] = ("No reliable data: no study of people with your type of MS "
                            f"reports this at {e.time_years:g} years.")
        return view
    lo, hi = rng
    n_st = len({f.study_id for f in e.range_figures})
    view["second_hand"] = e.second_hand_only
    basis = ("thin evidence: one study; the range is its confidence interval"
             if n_st == 1 and lo != hi
             else "thin evidence: one study" if n_st == 1
             else f"the range across {n_st} studies")
    view["sentence"] = (f"Out of 100 people, {_span(lo, hi)} {e.wording} "
                        f"{e.time_years:g} years after aHSCT ({basis}).")
    view["svg"] = icon_array_svg(
        lo, hi, scheme="benefit",
        title=f"{e.outcome.replace('_', ' ')} at {e.time_years:g} years",
        description=(f"Icon array of 100 people: {fmt100(lo)} coloured solid and "
                     f"{fmt100(hi - lo)} hatched (uncertain), so {_span(lo, hi)} out of 100 "
                     f"{e.wording} {e.time_years:g} years after aHSCT."))
    return view


HARM_TITLES: dict[str, str] = {
    "febrile_neutropenia": "Fever with very low white cells",
    "infection": "Infections",
    "herpes_zoster": "Shingles",
    "thyroid": "Thyroid disease",
    "secondary_autoimmunity": "Another autoimmune disease",
    "itp": "Low platelets (ITP)",
    "ebv_reactivation": "Epstein-Barr virus reactivation",
    "secondary_malignancy": "New cancer or bone-marrow disorder",
    "menses_recovery": "Periods coming back (women)",
    "pregnancy": "Pregnancy afterwards (women)",
    "grade3_ae": "Severe side effects in the first 100 days",
}


def _harm_view(e: Estimate) -> dict[str, Any]:
    head = e.headline
    view: dict[str, Any] = {"key": e.key, "title": HARM_TITLES.get(e.key, e.key),
                            "wording": e.wording, "note": e.note,
                            "availability": e.availability, "svg": None,
                            "figures": [_figure_row(f) for f in e.figures],
                            "unverified": e.any_unverified, "sentence": ""}
    if head is None or head.value is None:
        rate = next((f for f in e.figures if f.value is not None), None)
        if rate is not None:
            view["sentence"] = (f"{fmt100(rate.value)} out of 100 people each year "
                                f"{e.wording} ({rate.label}).")
        else:
            view["sentence"] = "No reliable data."
        return view
    lo = head.value
    hi = lo
    if head.ci_low is not None and head.ci_high is not None:
        lo, hi = head.ci_low, head.ci_high
    when = "" if head.time_label in ("", "time not stated") else f" ({head.time_label})"
    who = "" if head.population in ("all", "") else f" ({head.population})"
    view["sentence"] = (f"Out of 100 people{who}, {fmt100(head.value)} {e.wording}{when}, "
                        f"in {head.label}.")
    view["svg"] = icon_array_svg(
        lo, hi, scheme="harm", title=e.outcome.replace("_", " "),
        description=(f"Icon array of 100 people: {fmt100(head.value)} out of 100 "
                     f"{e.wording}{when}."))
    return view


def _verdict_view(report: PatientReport) -> list[dict[str, Any]]:
    out = []
    for s in report.eligibility.sets:
        cs = s.criteria_set
        out.append({
            "id": cs.id, "name": cs.name, "kind": cs.kind, "citation": cs.citation,
            "summary": cs.summary, "status_note": cs.status_note,
            "verdict": s.verdict, "verdict_text": VERDICT_TEXT[s.verdict],
            "explanation": s.explanation, "by_unverified": s.decided_by_unverified,
            "centre": list(cs.centre_requirements),
            "criteria": [r.to_dict() for r in s.results],
        })
    return out


def _trm_view(est: PersonalEstimates) -> dict[str, Any]:
    published = [_figure_row(f) for f in est.trm_published]
    mine = est.trm_for_you()
    svg, sentence = None, "No estimate of transplant-related mortality is available."
    if mine is not None and mine.per100 is not None and mine.ci is not None:
        lo, hi = mine.ci
        planned = est.stratum.get("planned_intensity")
        which = f" that used {planned}-intensity conditioning" if planned else ""
        sentence = (f"In the {mine.studies} studies published {RECENT_ERA}{which} "
                    f"({mine.people} people), {mine.deaths} people died because of the "
                    f"transplant: about {fmt100(mine.per100)} out of 100 (95% CI {fmt100(lo)} "
                    f"to {fmt100(hi)}).")
        svg = icon_array_svg(lo, hi, scheme="harm", title="transplant-related deaths",
                             description=f"Icon array of 100 people: between {fmt100(lo)} "
                             f"and {fmt100(hi)} out of 100 died because of the transplant "
                             f"(estimate {fmt100(mine.per100)}).")
    elif mine is not None:
        sentence = (f"{mine.deaths} deaths among {mine.people} people in {mine.studies} "
                    f"studies ({mine.group}). {mine.note}")
    rows = []
    for p in est.trm_pooled:
        if p.scope == "for you":
            continue
        rows.append({"label": {"all studies": "All studies", "era": f"Published {p.group}",
                               "intensity": f"{p.group.capitalize()} intensity conditioning"}
                     [p.scope], "group": p.group, "scope": p.scope,
                     "per100": fmt100(p.per100),
                     "ci": "–" if p.ci is None else f"{fmt100(p.ci[0])} to {fmt100(p.ci[1])}",
                     "deaths": p.deaths, "people": p.people, "studies": p.studies,
                     "note": p.note, "unverified": p.any_unverified})
    return {"sentence": sentence, "svg": svg, "published": published, "rows": rows,
            "method": None if mine is None else mine.method,
            "planned": est.stratum.get("planned_intensity")}


#: Profile fields whose absence the report points out, with plain-language names.
_MISSING_LABELS: dict[str, str] = {
    "relapses_12m": "relapses in the last 12 months",
    "gd_lesions_12m": "enhancing lesions in the last 12 months",
    "new_t2_lesions_12m": "new T2 lesions in the last 12 months",
    "dmts": "treatments taken so far",
    "years_since_onset": "time since first symptoms",
    "significant_comorbidity": "other illnesses",
}


#: What can be frozen before treatment, by sex (both when sex is unknown or X).
_PRESERVE: dict[str, str] = {"F": "eggs or embryos", "M": "sperm",
                             "X": "eggs, sperm or embryos"}


def _interval_text(f: Figure, how: str) -> str:
    if f.ci_low is None or f.ci_high is None:
        return "interval not reported"
    rng = f"{fmt100(f.ci_low)} to {fmt100(f.ci_high)}"
    return (f"95% interval {rng}, exact, from {f.events} of {f.n}" if how == "exact"
            else f"95% interval {rng}")


def _harm_line_view(h: HarmLine) -> dict[str, Any]:
    f = h.figure
    when = "" if f.time_label in ("", "time not stated") else f.time_label
    amount = (f"{fmt100(f.value)} of 100" if f.unit == "per 100"
              else f"{fmt100(f.value)} of 100 each year")
    return {"key": h.key, "title": h.title, "amount": amount,
            "interval": _interval_text(f, h.interval), "when": when or "time not stated",
            "context": h.context, "study": f.label, "people": f.n,
            "unverified": not f.verified, "second_hand": f.second_hand, "note": h.note,
            "others": [{"label": o.label, "value": fmt100(o.value), "unit": o.unit,
                        "interval": _interval_text(o, how), "time": o.time_label,
                        "unverified": not o.verified, "second_hand": o.second_hand,
                        "population": o.population}
                       for o, how in h.others]}


def _pair_view(c: SideBySide) -> dict[str, Any]:
    def show(f: Figure) -> str:
        if f.unit == "per 100" and f.events is not None and f.n:
            return f"{fmt100(f.value)} ({f.events} of {f.n})"
        return fmt100(f.value)
    unit = {"per 100": "out of 100 people", "per 100 per year": "out of 100 people each year"
            }.get(c.unit, c.unit)
    return {"topic": c.topic, "wording": c.wording, "time": c.time_label, "unit": unit,
            "comparator": c.comparator, "design": c.design, "study": c.ahsct.label,
            "ahsct": show(c.ahsct), "other": show(c.other), "unverified": not c.verified,
            "second_hand": c.ahsct.second_hand or c.other.second_hand}


#: Colours and hatching of the competing-outcomes array, by group.
def _competing_view(co: CompetingOutcomes) -> dict[str, Any]:
    view: dict[str, Any] = {"complete": co.complete, "svg": None, "lines": [],
                            "unverified": co.any_unverified, "years": co.years}
    if co.died is not None:
        view["lines"].append(f"About {fmt100(co.died[0])} die because of the treatment "
                             f"(95% CI {fmt100(co.died[1])} to {fmt100(co.died[2])}).")
    for rng, what in ((co.relapse, "have a relapse"), (co.worsened, "have worse disability")):
        view["lines"].append("No reliable data on how many " + what + "." if rng is None
                             else f"{_span(*rng)} {what}.")
    if co.free is not None:
        view["lines"].append(f"{_span(*co.free)} stay free of all three.")
    if not co.complete or co.died is None or co.free is None:
        return view
    d_hi = co.died[2]
    free_lo, free_hi = co.free
    act = max(0.0, 100 - free_hi - d_hi)
    colours = COMPETING_COLOURS
    view["svg"] = stacked_icon_array_svg(
        [(d_hi, colours["died"], False), (act, colours["activity"], False),
         (free_hi - free_lo, colours["uncertain"], True), (free_lo, colours["free"], False)],
        title=f"100 people over {co.years:g} years after aHSCT",
        description=" ".join(view["lines"]) + " Black: died of the treatment (up to the "
        "upper end of its interval). Orange: relapse or worse disability. Hatched grey: "
        "uncertain. Blue: free of all three.")
    return view


#: Words that mark a criterion about pregnancy or breast-feeding (not shown to a man).
_PREGNANCY_WORDS = ("pregnan", "breast", "lactat", "contracept")


def _criterion_sentence(c: dict[str, Any]) -> str | None:
    text = str(c["text"]).rstrip(".")
    status, kind = c["status"], c["kind"]
    if status == "not_applicable":
        return None
    if status == "unknown":
        return f"Cannot tell yet: {text}. Some information is missing."
    if kind == "exclusion":
        return (f"Rules people out: {text}. This applies to you." if status == "met"
                else f"Rules people out: {text}. This does not apply to you.")
    return f"You meet this: {text}." if status == "met" else f"You do not meet this: {text}."


def _criteria_sentences(criteria: list[dict[str, Any]], sex: str | None) -> list[str]:
    out = []
    for c in criteria:
        words = f"{c['id']} {c['text']}".lower()
        if sex == "M" and any(w in words for w in _PREGNANCY_WORDS):
            continue
        line = _criterion_sentence(c)
        if line:
            out.append(line)
    return out


def report_context(report: PatientReport) -> dict[str, Any]:
    """The template context (plain data; tested directly, not through pixels)."""
    p, est = report.profile, report.estimates
    known = p.model_dump(exclude_none=True)
    missing = [_MISSING_LABELS[k] for k in _MISSING_LABELS
               if k not in known and not (k == "years_since_onset" and p.disease_duration)]
    benefits = [_benefit_view(e) for e in est.benefits]
    neda = [b for b in benefits if b["outcome"] == "neda" and b["availability"] != "no_data"]
    aid = report.decision
    if aid is None:
        aid = decision_aid(p, report.eligibility, est, titles=HARM_TITLES)
    verdicts = _verdict_view(report)
    for v in verdicts:
        v["sentences"] = _criteria_sentences(v["criteria"], p.sex)
    return {
        "summary": aid.summary, "pairs": [_pair_view(c) for c in aid.pairs],
        "benefit_pairs": [_pair_view(c) for c in aid.pairs if c.topic == "benefit"],
        "harm_pairs": [_pair_view(c) for c in aid.pairs if c.topic == "harm"],
        "alternatives": list(aid.alternatives), "failed": list(aid.failed),
        "competing": _competing_view(aid.competing),
        "harm_lines": [_harm_line_view(h) for h in aid.harms],
        "harm_context": any(h.context for h in aid.harms),
        "profile": p, "phenotype_name": PHENOTYPE_NAMES[p.phenotype],
        "stratum": est.stratum, "missing": missing,
        "verdicts": verdicts,
        "benefits": benefits, "neda": neda,
        "improvement": {"figures": [_figure_row(f) for f in est.improvement.figures],
                        "note": est.improvement.note,
                        "availability": est.improvement.availability},
        "trm": _trm_view(est),
        "harms": [_harm_view(e) for e in est.harms if e.availability != "no_data"],
        "comparisons": [{"study": c.ahsct.label, "source": c.ahsct.source_text,
                         "wording": c.wording, "time": _figure_row(c.ahsct)["time"],
                         "comparator": c.comparator, "ahsct": fmt100(c.ahsct.value),
                         "other": fmt100(c.other.value), "unit": c.ahsct.unit,
                         "unverified": not (c.ahsct.verified and c.other.verified)}
                        for c in est.comparisons],
        "ocrelizumab_outcomes": any(c.comparator == "ocrelizumab" for c in est.comparisons),
        "meta_context": [_figure_row(f) for f in est.meta_context],
        "matching_notes": list(est.matching_notes),
        "progressive": est.stratum["phenotype_group"] == "progressive",
        "fertility": [i.to_dict() for i in est.fertility],
        "preserve": _PRESERVE[p.sex if p.sex in ("F", "M") else "X"],
        "fmt100": fmt100,
    }


def _check_report(report: Any, where: str) -> None:
    if not isinstance(report, PatientReport):
        raise ConfigurationError(f"{where} needs a PatientReport, got {type(report).__name__}.",
                                 hint="Build one with hsctms.patient.build_report(profile).")


def render_patient_report(report: PatientReport,
                          fmt: Literal["html", "json"] = "html") -> str:
    """Render the report as HTML (for the CLI, the web app and PDF) or JSON text.

    Parameters
    ----------
    report : PatientReport
        From :func:`build_report`.
    fmt : {"html", "json"}, default "html"
        ``"html"``: the whole page from the template ``patient/report.html.j2``;
        ``"json"``: :meth:`PatientReport.to_dict` as indented JSON (NaN refused). For PDF
        use :func:`write_patient_report`.

    Returns
    -------
    str
        The HTML document or the JSON text.

    Raises
    ------
    ConfigurationError
        When ``report`` is not a :class:`PatientReport` or ``fmt`` is unknown.
    """
    _check_report(report, "render_patient_report")
    if fmt == "json":
        import json

        return json.dumps(report.to_dict(), indent=2, allow_nan=False, default=str)
    if fmt != "html":
        raise ConfigurationError(f"Unknown report format {fmt!r}.", hint="Use html or json; "
                                 "for PDF call write_patient_report(report, 'x.pdf').")
    if report.meta.synthetic:  # pragma: no cover - guarded by construction
        raise ConfigurationError("The patient report must never use synthetic data.")
    return render_html(TEMPLATE, report_context(report), report.meta)


def write_patient_report(report: PatientReport, out: str | Path, *,
                         progress: Callable[[str], None] | None = None) -> Path:
    """Write the report to ``.html``, ``.pdf`` or ``.json``.

    PDF is printed by headless Chromium when one is found, else by WeasyPrint
    (:func:`hsctms.reports.render.write_pdf`).

    Parameters
    ----------
    report
        From :func:`build_report`.
    out
        Output file; its suffix chooses the format.
    progress
        Called with a short description of each step (the CLI shows it).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ConfigurationError
        When ``report`` is not a :class:`PatientReport`, ``out`` is not a path, or its suffix
        is not .html, .htm, .pdf or .json.
    """
    _check_report(report, "write_patient_report")
    if not isinstance(out, str | os.PathLike):
        raise ConfigurationError(f"write_patient_report needs an output path, got {out!r}.",
                                 hint="Give a file name ending in .html, .pdf or .json.")
    out = Path(out)
    if out.suffix.lower() not in (".json", ".html", ".htm", ".pdf"):
        raise ConfigurationError(f"Unknown report format {out.suffix or out.name!r}.",
                                 hint="Give a file name ending in .html, .pdf or .json.")
    if out.suffix.lower() == ".json":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_patient_report(report, "json") + "\n", encoding="utf-8")
        return out
    if progress is not None:
        progress("rendering the HTML report")
    return write_report(render_patient_report(report, "html"), out, progress=progress)
