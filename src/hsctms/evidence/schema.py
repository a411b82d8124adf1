"""Schema of the evidence base: fields, types and controlled vocabularies.

The evidence base has three tables (see ``docs/evidence.md``):

* **studies** (``data/studies.yaml``): one entry per source (cohort, trial, registry, review,
  published meta-analysis) with design and population fields;
* **outcomes** (``data/outcomes.csv``): long table, one row per study x arm x population x
  outcome x time point;
* **harms** (``data/harms.csv``): long table of adverse-event figures, with comparator arms.

Fields marked *(unverified)* in the research notes are listed per study in ``unverified`` and
per row in ``verified`` (``false`` = unverified); they must stay flagged wherever shown.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Kinds of source.
KINDS: tuple[str, ...] = (
    "cohort", "rct", "registry", "comparator_trial", "survey", "review", "meta_analysis",
    "trial_record", "regulatory", "proposal",
)
#: How the evidence of a source was obtained, in the plain words a report names it with
#: (``evidence_design`` study field; derived from ``kind`` when not given).
EVIDENCE_DESIGNS: dict[str, str] = {
    "randomised": "randomised trial",
    "adjusted_comparison": "registry or cohort comparison adjusted for differences "
    "(matching, weighting or modelling)",
    "unadjusted_comparison": "comparison of two cohorts without adjustment",
    "single_arm": "single-arm cohort (no comparison group)",
    "pooled": "meta-analysis or review of several studies",
    "survey": "survey",
    "no_results": "no results yet (trial record or proposal) or a regulatory decision",
}
#: Default ``evidence_design`` for each ``kind``.
DESIGN_BY_KIND: dict[str, str] = {
    "cohort": "single_arm", "registry": "single_arm", "rct": "randomised",
    "comparator_trial": "randomised", "survey": "survey", "review": "pooled",
    "meta_analysis": "pooled", "trial_record": "no_results", "regulatory": "no_results",
    "proposal": "no_results",
}
#: Status of a trial record or regulatory decision (``status`` study field).
STATUSES: tuple[str, ...] = (
    "recruiting", "active_not_recruiting", "recruitment_closed", "terminated", "completed",
    "decision",
)
#: Parts of a full reference that may be recorded as not (yet) confirmed.
REFERENCE_PARTS: tuple[str, ...] = ("authors", "title", "journal", "volume", "pages", "doi")
#: Treatment arms and comparators (``arm`` and ``comparator`` columns) with plain labels.
ARMS: dict[str, str] = {
    "ahsct": "aHSCT",
    "pooled": "pooled across studies",
    "dmt": "continued disease-modifying therapy",
    "other_dmt": "other disease-modifying therapies",
    "non_induction_dmt": "other DMTs (natalizumab, dimethyl fumarate, rituximab, fingolimod)",
    "alemtuzumab": "alemtuzumab",
    "ocrelizumab": "ocrelizumab",
    "fingolimod": "fingolimod",
    "natalizumab": "natalizumab",
    "mitoxantrone": "mitoxantrone",
    "cyclophosphamide": "intravenous cyclophosphamide",
}
#: Where a number was read (mirrors the research notes' provenance tags).
SOURCE_TYPES: tuple[str, ...] = (
    "abstract", "table", "registry", "conference", "secondary", "recalled", "derived",
)
#: Intensity classes as published (``mixed`` = several regimens in one cohort).
INTENSITIES: tuple[str, ...] = ("low", "intermediate", "high", "mixed")
#: Summary statistics for study-level characteristics.
STATS: tuple[str, ...] = ("mean", "median")

#: Outcome vocabulary (``outcome`` column of the outcomes table).
OUTCOMES: dict[str, str] = {
    "progression_free": "survival free of confirmed disability (EDSS) progression/worsening",
    "relapse_free": "survival free of clinical relapse",
    "neda": "no evidence of disease activity (NEDA-3 unless stated)",
    "neda4": "NEDA-4 (NEDA-3 + brain volume loss <= 0.4%/y)",
    "event_free": "survival free of death and any disease activity (study-specific composite)",
    "mri_activity_free": "survival free of new/enlarging T2 or Gd+ lesions",
    "improvement": "sustained or last-visit EDSS improvement (share, or hazard ratio)",
    "stable": "EDSS stable at last visit",
    "stable_or_improved": "EDSS stable or improved",
    "worsened": "EDSS worse at last visit",
    "treatment_failure": "study-defined treatment failure",
    "progression": "disability progression (cumulative share, or hazard ratio)",
    "time_to_progression": "time to disability progression",
    "relapse": "relapse (hazard ratio)",
    "mri_activity": "new MRI activity (hazard ratio)",
    "arr": "annualised relapse rate",
    "arr_change": "change in annualised relapse rate",
    "new_t2_lesions": "new T2 lesions (rate ratio)",
    "edss": "EDSS level at a time point",
    "edss_change": "EDSS change",
    "trm": "transplant-related mortality",
    "mortality": "death from any cause",
    "overall_survival": "overall survival",
}

#: Harm vocabulary (``harm`` column of the harms table).
HARMS: dict[str, str] = {
    "febrile_neutropenia": "febrile neutropenia during aplasia",
    "grade3_ae": "grade >= 3 adverse events",
    "grade4_ae": "grade 4 adverse events",
    "infection": "infections",
    "serious_infection": "serious infections",
    "herpes_zoster": "herpes zoster reactivation",
    "ebv_reactivation": "EBV reactivation (DNA-aemia)",
    "ebv_ptld": "EBV post-transplant lymphoproliferative disorder",
    "thyroid": "thyroid disease (secondary autoimmunity)",
    "thyroid_antibodies": "antithyroid antibodies",
    "hypothyroidism": "hypothyroidism",
    "hyperthyroidism": "hyperthyroidism / Graves disease",
    "itp": "immune thrombocytopenia",
    "nephropathy": "autoimmune nephropathy",
    "secondary_autoimmunity": "any secondary autoimmune disease",
    "secondary_malignancy": "secondary malignancy (including MDS)",
    "menses_recovery": "recovery of menses",
    "pregnancy": "pregnancy after treatment",
    "amh": "anti-Mullerian hormone (ovarian reserve)",
    "death": "death from any cause",
}

#: Measures: how ``estimate`` is expressed.
MEASURES: dict[str, str] = {
    "percent": "percentage (0-100)",
    "hazard_ratio": "hazard ratio vs the comparator",
    "rate_ratio": "rate ratio vs the comparator",
    "mean_difference": "mean difference vs the comparator",
    "arr": "annualised relapse rate",
    "edss": "EDSS value",
    "edss_per_year": "EDSS change per year",
    "smd": "standardised mean difference",
    "months": "months",
    "per_1000_py": "events per 1000 person-years",
    "per_patient_year": "events per patient-year",
    "per_patient": "events per patient",
    "pmol_per_l": "pmol/L",
}
#: Measures on the 0-100 percentage scale (checked to lie in [0, 100]).
PERCENT_MEASURES: frozenset[str] = frozenset({"percent"})
#: Measures that compare an arm with ``comparator`` (comparator required).
RATIO_MEASURES: frozenset[str] = frozenset({"hazard_ratio", "rate_ratio", "mean_difference"})
#: Estimators.
ESTIMATORS: tuple[str, ...] = (
    "km", "crude", "cumulative_incidence", "cox", "negative_binomial", "rate", "mean",
    "median", "pooled",
)
SPREAD_TYPES: tuple[str, ...] = ("range", "iqr")


@dataclass(frozen=True)
class Field:
    """One study-level field: name, type (``str``/``int``/``float``/``list``/``bool``), bounds."""

    name: str
    type: str
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""


STUDY_FIELDS: tuple[Field, ...] = (
    Field("study_id", "str", True, doc="unique id: first author + year (+ acronym)"),
    Field("label", "str", True, doc="short display label"),
    Field("evidence_ref", "str", doc="row / section in the research notes"),
    Field("kind", "str", True, choices=KINDS),
    Field("citation", "str", True),
    Field("doi", "str"),
    Field("pub_year", "int", minimum=1980, maximum=2030),
    Field("design", "str"),
    Field("country", "str"),
    Field("transplant_year_start", "int", minimum=1980, maximum=2030),
    Field("transplant_year_end", "int", minimum=1980, maximum=2030),
    Field("n", "int", minimum=1, doc="patients transplanted (aHSCT arm for trials; for trial "
          "records the number enrolled or planned, see n_note)"),
    Field("n_note", "str"),
    Field("pct_rrms", "float", minimum=0, maximum=100),
    Field("pct_spms", "float", minimum=0, maximum=100),
    Field("pct_ppms", "float", minimum=0, maximum=100),
    Field("pct_progressive", "float", minimum=0, maximum=100),
    Field("age", "float", minimum=0, maximum=100),
    Field("age_stat", "str", choices=STATS),
    Field("edss", "float", minimum=0, maximum=10),
    Field("edss_stat", "str", choices=STATS),
    Field("disease_duration_years", "float", minimum=0, maximum=60),
    Field("disease_duration_stat", "str", choices=STATS),
    Field("regimen", "str", doc="conditioning regimen as published"),
    Field("regimen_code", "str", doc="canonical components, e.g. BEAM+ATG, or 'mixed'"),
    Field("intensity_published", "str", choices=INTENSITIES),
    Field("intensity_note", "str"),
    Field("followup_years", "float", minimum=0, maximum=40),
    Field("followup_stat", "str", choices=STATS),
    Field("followup_note", "str"),
    Field("trm_deaths", "int", minimum=0),
    Field("trm_n", "int", minimum=1),
    Field("trm_note", "str"),
    Field("superseded_by", "str", doc="id of a later report that contains this cohort"),
    Field("superseded_note", "str"),
    Field("overlaps", "list", doc="ids of studies that may share patients"),
    Field("source_type", "str", True, choices=SOURCE_TYPES),
    Field("evidence_design", "str", choices=tuple(EVIDENCE_DESIGNS),
          doc="how the evidence was obtained (default from kind)"),
    Field("reference_missing", "list", choices=REFERENCE_PARTS,
          doc="parts of the full reference not confirmed from a source"),
    Field("registration", "str", doc="trial registration ids, e.g. NCT03477500"),
    Field("status", "str", choices=STATUSES, doc="trial record or decision status"),
    Field("status_date", "str", doc="date of the status (YYYY-MM or YYYY-MM-DD)"),
    Field("status_note", "str"),
    Field("checked_against", "str", doc="where the entry was last checked (abstract, "
          "registry page) with its address"),
    Field("unverified", "list", doc="names of fields flagged (unverified) in the research"),
    Field("notes", "str"),
)
STUDY_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in STUDY_FIELDS)

OUTCOME_COLUMNS: tuple[str, ...] = (
    "study_id", "arm", "comparator", "population", "outcome", "measure", "time_years",
    "time_label", "estimate", "ci_low", "ci_high", "ci_level", "spread_low", "spread_high",
    "spread_type", "events", "n", "estimator", "definition", "source_type", "verified", "notes",
)
HARM_COLUMNS: tuple[str, ...] = (
    "study_id", "arm", "population", "harm", "measure", "time_years", "time_label", "estimate",
    "ci_low", "ci_high", "ci_level", "spread_low", "spread_high", "spread_type", "events", "n",
    "definition", "context", "source_type", "verified", "notes",
)
