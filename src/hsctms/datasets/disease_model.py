"""The disease model behind the synthetic demo cohort and the trial simulator.

Every number is a field of a frozen dataclass whose ``metadata["source"]`` cites where it comes
from in ``shared/research/evidence.md`` (study id and section), or says plainly that it is an
**assumption**. ``DiseaseModel().to_dict()`` returns the values (written into every bundle
manifest) and :func:`parameter_sources` the citations (rendered in ``docs/disease-model.md``).

The model is deliberately simple: stationary Poisson processes with gamma frailty for relapses
and new-MRI-activity episodes, constant hazards for sustained EDSS worsening independent of
relapses (PIRA), relapses that sometimes leave a sustained step (RAW), one sustained
improvement step inside an early window, a transient early worsening (fever-related) that
resolves before the 6-month visit, transplant-related death in the first 100 days, background
mortality, loss to follow-up and administrative censoring. It is a *demo-data* model: it makes
cohorts that look like the published aHSCT series, it is not a prediction tool.

Arm-level presets (:func:`ahsct`, :func:`alemtuzumab`, :func:`ocrelizumab`,
:func:`natalizumab`, :func:`fingolimod`, :func:`mist_dmt`) give the parameters the trial
simulator uses; :func:`hsctms.datasets.course.simulate_arm` simulates them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hsctms._files import read_regular_file
from hsctms.errors import ConfigurationError
from hsctms.model.schema import INTENSITY_CLASSES, PHENOTYPES

_EV = "evidence.md"


def _p(value: Any, source: str) -> Any:
    """A dataclass field with a default and its source in the metadata."""
    if isinstance(value, dict | list):  # pragma: no cover - guarded by design
        raise TypeError("use tuples for immutable defaults")
    return field(default=value, metadata={"source": source})


# ------------------------------------------------------------------------------------------
# Arm-level parameters (shared by the cohort generator and the trial simulator)
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArmParameters:
    """Post-treatment disease course of one treatment arm (rates per patient-year).

    Parameters
    ----------
    name
        Label of the arm (e.g. ``"aHSCT RRMS intermediate"``).
    relapse_rate
        Mean annualised relapse rate after treatment (ARR).
    relapse_shape
        Shape ``k`` of the gamma frailty on the relapse and MRI rates (smaller = more
        over-dispersed; the count is negative binomial with dispersion ``1/k``).
    mri_rate
        Rate of new-MRI-activity episodes per year (new/enlarging T2 or Gd+), after the
        re-baseline scan.
    mri_residual_prob
        Probability that the re-baseline scan (~6 months) still shows activity (ignored by
        definitions that re-baseline MRI).
    relapse_mri_prob
        Probability that a relapse comes with an MRI activity episode.
    relapse_worsening_prob
        Probability that a relapse leaves a sustained EDSS step of the confirmation size
        (relapse-associated worsening, RAW); default 0, so an arm built by hand keeps
        ``worsening_hazard`` as its whole worsening rate. The presets and
        :meth:`DiseaseModel.arm` set it from ``post.relapse_worsening_prob``.
    worsening_hazard
        Hazard of a sustained EDSS worsening step independent of relapses (PIRA) per year.
    improvement_hazard
        Hazard of a sustained EDSS improvement step per year during ``improvement_window``.
    improvement_window
        Years after the origin during which sustained improvement can start.
    early_factor, early_years
        Relapse, MRI-activity and worsening rates are multiplied by ``early_factor`` during
        the first ``early_years`` (front-loaded activity after treatment).
    transient_worsening_prob
        Probability of a transient early EDSS worsening (resolves before day 120).
    early_death_prob
        Probability of treatment-related death in the first 100 days.
    other_death_rate
        Background (non-treatment-related) death rate per year.
    dropout_rate
        Loss-to-follow-up hazard per year.
    treatment
        ``"ahsct"`` or the INN of the drug; decides whether a transplant or a DMT row is written.
    conditioning
        Recorded regimen written for aHSCT arms.
    """

    name: str
    relapse_rate: float
    mri_rate: float
    worsening_hazard: float
    improvement_hazard: float
    relapse_shape: float = 0.5
    mri_residual_prob: float = 0.0
    relapse_mri_prob: float = 0.5
    relapse_worsening_prob: float = 0.0
    improvement_window: float = 2.0
    early_factor: float = 1.0
    early_years: float = 2.0
    transient_worsening_prob: float = 0.0
    early_death_prob: float = 0.0
    other_death_rate: float = 0.0015
    dropout_rate: float = 0.03
    treatment: str = "ahsct"
    conditioning: str | None = "Cy200+ATG"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float | int) and not isinstance(value, bool) and value < 0:
                raise ConfigurationError(
                    f"Arm parameter {f.name}={value} is negative.",
                    hint="Rates, hazards and probabilities must be >= 0.",
                )
        for name in ("mri_residual_prob", "relapse_mri_prob", "relapse_worsening_prob",
                     "transient_worsening_prob", "early_death_prob"):
            if getattr(self, name) > 1:
                raise ConfigurationError(
                    f"Arm parameter {name}={getattr(self, name)} is not a probability.",
                    hint="Give a value between 0 and 1.",
                )
        if self.relapse_shape <= 0:
            raise ConfigurationError("relapse_shape must be > 0.",
                                     hint="Use e.g. 0.5 (over-dispersed) or 1e6 (Poisson).")

    def replace(self, **changes: Any) -> ArmParameters:
        """A copy with some parameters changed (e.g. a sensitivity scenario).

        Parameters
        ----------
        **changes
            Field name to new value (as for the constructor); checked again (no negative
            rates, probabilities at most 1).

        Returns
        -------
        ArmParameters
            A new parameter set; this one is unchanged.
        """
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict of str to Any
            Every field by name (rates per patient-year, probabilities 0-1, years).
        """
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ArmPopulation:
    """Who enters a simulated trial arm (defaults: MIST, evidence.md §1a S3).

    Each patient's entry EDSS and age are drawn from a normal distribution and clipped to the
    eligibility range (the EDSS then rounded to a valid step by :func:`snap_edss`).

    Parameters
    ----------
    phenotype
        MS phenotype written for every patient of the arm (``"RRMS"``, ``"SPMS"``, ...).
    edss_mean, edss_sd
        Mean and standard deviation of the entry EDSS (EDSS points).
    edss_min, edss_max
        Eligibility range of the entry EDSS (EDSS points; default 2.0-6.0 as in MIST).
    age_mean, age_sd
        Mean and standard deviation of the age at entry (years).
    age_min, age_max
        Eligibility range of the age at entry (years; default 18-55).
    female
        Proportion of women (0-1).
    """

    phenotype: str = _p("RRMS", f"{_EV} §1a S3 (MIST: 100% RRMS)")
    edss_mean: float = _p(3.35, f"{_EV} §1b S3 (MIST: mean EDSS 3.38 / 3.31)")
    edss_sd: float = _p(1.2, "assumption")
    edss_min: float = _p(2.0, f"{_EV} §3b (MIST eligibility EDSS 2.0-6.0)")
    edss_max: float = _p(6.0, f"{_EV} §3b (MIST eligibility EDSS 2.0-6.0)")
    age_mean: float = _p(36.0, f"{_EV} §1a S3 (MIST: mean age 36, SD 8.6)")
    age_sd: float = _p(8.6, f"{_EV} §1a S3 (MIST)")
    age_min: float = _p(18.0, f"{_EV} §3b (trial eligibility 18-55)")
    age_max: float = _p(55.0, f"{_EV} §3b (trial eligibility 18-55)")
    female: float = _p(0.66, f"{_EV} §1a S3 (MIST: 66% women)")


# ------------------------------------------------------------------------------------------
# Cohort-level model
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PopulationParams:
    """Who is transplanted: demographics and pre-transplant disease."""

    phenotype_mix: tuple[tuple[str, float], ...] = _p(
        (("RRMS", 0.70), ("SPMS", 0.22), ("PPMS", 0.06), ("PRMS", 0.02)),
        f"assumption between recent cohorts ({_EV} §1a: S6 Burt 2021 82% RR, S14 Nicholas "
        "48% RR, S11 Silfverberg 100% RR) and older registries (S9 Muraro 22% RR)")
    female: float = _p(0.66, f"{_EV} §1a S3 (MIST 66% women); S15 60/99")
    age_mean: tuple[tuple[str, float], ...] = _p(
        (("RRMS", 35.0), ("SPMS", 39.0), ("PPMS", 40.0), ("PRMS", 38.0)),
        f"{_EV} §1a: RRMS mean 35.5-37 (S3, S16); progressive median 39 (S18 Fassas)")
    age_sd: float = _p(8.6, f"{_EV} §1a S3 (MIST SD 8.6)")
    age_min: float = _p(18.0, f"{_EV} §3 (guidance/trial lower age limit 18)")
    age_max: float = _p(60.0, f"{_EV} §1a S5 (Burt 2015 range 18-60)")
    duration_median: tuple[tuple[str, float], ...] = _p(
        (("RRMS", 5.5), ("SPMS", 8.0), ("PPMS", 6.0), ("PRMS", 7.0)),
        f"{_EV} §1a: S1 4.9 y, S8 5.8 y, S16 ~8 y (RR); S18 7 y (progressive)")
    duration_sigma: float = _p(0.6, "assumption (log-normal spread; S18 range 1-26 y)")
    min_onset_age: float = _p(12.0, "assumption")
    diagnosis_delay_mean: float = _p(1.0, "assumption (years from first symptoms)")
    edss_mean: tuple[tuple[str, float], ...] = _p(
        (("RRMS", 3.9), ("SPMS", 6.0), ("PPMS", 6.0), ("PRMS", 5.5)),
        f"{_EV} §1b S6 (Burt 2021 mean EDSS 3.87 RR, 5.09 SP); §1a S9/S14/S18 (median "
        "6.0-6.5 progressive)")
    edss_sd: float = _p(1.3, "assumption")
    edss_min: float = _p(1.0, "assumption")
    edss_max: float = _p(7.5, f"{_EV} §1a S18 (range up to 8.5; most guidance <6.0-6.5)")
    pre_arr: tuple[tuple[str, float], ...] = _p(
        (("RRMS", 1.2), ("SPMS", 0.3), ("PPMS", 0.0), ("PRMS", 0.6)),
        f"{_EV} Appendix A Atkins 2016 (167 relapses / 140 patient-years = 1.19); "
        "progressive: assumption")
    pre_relapse_window: float = _p(3.0, "assumption (years of recorded pre-transplant relapses)")
    relapse_free_before_tx: int = _p(60, "assumption (days relapse-free before transplant)")
    pre_edss_slope: tuple[tuple[str, float], ...] = _p(
        (("RRMS", 0.35), ("SPMS", 0.45), ("PPMS", 0.5), ("PRMS", 0.4)),
        f"{_EV} §6d Lublin 2022 (EDSS 1 to 4 in 8.95 y untreated = 0.34/y); progressive: "
        "assumption")
    pre_mri_t2_mean: tuple[tuple[str, float], ...] = _p(
        (("RRMS", 3.0), ("SPMS", 1.5), ("PPMS", 1.0), ("PRMS", 2.0)),
        f"assumption ({_EV} §3b RAM-MS: >=3 new T2 as activity criterion)")
    pre_mri_gd_mean: tuple[tuple[str, float], ...] = _p(
        (("RRMS", 2.0), ("SPMS", 0.8), ("PPMS", 0.5), ("PRMS", 1.2)),
        f"{_EV} Appendix A Atkins 2016 (188 Gd+ lesions on 48 scans); scaled down: assumption")
    treatment_naive: float = _p(0.08, f"{_EV} §1a S17 (Das 2021 first-line aHSCT); assumption")
    prior_dmt_mean: float = _p(1.6, f"{_EV} Appendix A StarMS (mean 1.3 DMTs); assumption")
    max_dmt: int = _p(5, "assumption")
    dmt_weights: tuple[tuple[str, float, int], ...] = _p(
        (("interferon beta-1a", 1.0, 1), ("glatiramer acetate", 0.8, 1),
         ("teriflunomide", 0.4, 1), ("dimethyl fumarate", 0.9, 2), ("fingolimod", 0.8, 3),
         ("cladribine", 0.3, 4), ("natalizumab", 1.0, 5), ("ocrelizumab", 0.6, 5),
         ("rituximab", 0.4, 5), ("alemtuzumab", 0.4, 6), ("mitoxantrone", 0.2, 6)),
        f"{_EV} Appendix A MIST interim DMTs (natalizumab 22, DMF 18, fingolimod 13, IFN 10, "
        "GA 8, mitoxantrone 5); weights and efficacy rank: assumption")
    dmt_stop_reasons: tuple[tuple[str, float], ...] = _p(
        (("inefficacy", 0.62), ("intolerance", 0.14), ("adverse_event", 0.08),
         ("safety_risk", 0.08), ("patient_choice", 0.05), ("other", 0.03)),
        f"assumption ({_EV} §3a: aHSCT after failure of DMT)")
    n_centres: int = _p(12, "assumption")


@dataclass(frozen=True)
class RegimenSpec:
    """One conditioning regimen in the mix."""

    conditioning: str
    weight_recent: float
    weight_early: float
    mobilisation: str
    cd34_selection: float


@dataclass(frozen=True)
class TransplantParams:
    """Regimen mix, transplant era and graft."""

    regimens: tuple[RegimenSpec, ...] = _p(
        (RegimenSpec("Cy200+ATG", 0.55, 0.20, "Cy2g/m2+G-CSF", 0.0),
         RegimenSpec("BEAM+ATG", 0.28, 0.45, "Cy2g/m2+G-CSF", 0.25),
         RegimenSpec("Cy+ALEM", 0.03, 0.05, "Cy2g/m2+G-CSF", 0.0),
         RegimenSpec("Cy+RTX", 0.06, 0.02, "G-CSF", 0.0),
         RegimenSpec("BU+Cy+ATG", 0.06, 0.13, "Cy4.5g/m2+G-CSF", 1.0),
         RegimenSpec("Cy+TBI+ATG", 0.02, 0.15, "G-CSF", 1.0)),
        f"{_EV} §1b S25 (68% Cy+ATG, 32% BEAM/ATG, 2008-2017); S5/S6 Cy+alemtuzumab; S21 "
        "Cy+rituximab; S8/S20 BU- and TBI-based with CD34 selection; S1 CD34-selected BEAM; "
        "early-era weights (before 2006, S9/S18/S24 mostly BEAM or high intensity): assumption")
    first_year: int = _p(1996, f"{_EV} §1a S9 (EBMT/CIBMTR transplants from 1995)")
    era_growth: float = _p(0.12, f"{_EV} Appendix A Snowden 2017 (growth of AD transplants); "
                                 "rate: assumption")
    early_era_end: int = _p(2006, f"{_EV} §5a Ge 2019 (TRM 1.93% pre-2006)")
    cd34_dose_median: float = _p(5.0, "assumption (10^6/kg)")
    cd34_dose_sigma: float = _p(0.35, "assumption")
    min_followup_days: int = _p(30, "assumption (transplants at least 30 days before data date)")


#: Probability that a relapse leaves a sustained EDSS step of the confirmation size (RAW);
#: ``PostTransplantParams.relapse_worsening_prob`` and the comparator presets use it.
RELAPSE_WORSENING_PROB = 0.16

_RELAPSE_RATE = (("RRMS", 0.034), ("SPMS", 0.008), ("PPMS", 0.004), ("PRMS", 0.03))
#: Total (relapse-independent + relapse-associated) sustained worsening rate per year.
_WORSENING_TOTAL = (("RRMS", 0.032), ("SPMS", 0.085), ("PPMS", 0.08), ("PRMS", 0.06))


def _pira(total: float, relapse_rate: float, prob: float = RELAPSE_WORSENING_PROB) -> float:
    """Relapse-independent worsening hazard: the total minus the relapse-associated part."""
    return round(max(total - relapse_rate * prob, 0.0), 6)


@dataclass(frozen=True)
class PostTransplantParams:
    """Post-transplant course by phenotype with multipliers by intensity."""

    relapse_rate: tuple[tuple[str, float], ...] = _p(
        _RELAPSE_RATE,
        f"{_EV} §1b S1 (HALT-MS RFS 86.9% at 5 y), S10 (RFS 87% at 5 y), S12 (ARR 0.04), S6 "
        "(SPMS RFS 98.1% at 5 y); PPMS/PRMS: assumption")
    relapse_shape: float = _p(0.5, "assumption (negative binomial dispersion 2)")
    mri_rate: tuple[tuple[str, float], ...] = _p(
        (("RRMS", 0.028), ("SPMS", 0.02), ("PPMS", 0.015), ("PRMS", 0.03)),
        f"{_EV} §1b S1 (MRI-activity-free 86.3% at 5 y), S10 (85% at 5 y), S14 (90% 2 y, 85% "
        "4 y); progressive: assumption")
    mri_residual_prob: float = _p(0.10, f"{_EV} §1b S17 (Das 2021: residual MRI activity "
                                        "only in first 6 months, 3/20)")
    relapse_mri_prob: float = _p(0.5, "assumption")
    worsening_hazard: tuple[tuple[str, float], ...] = _p(
        tuple((ph, _pira(total, dict(_RELAPSE_RATE)[ph])) for ph, total in _WORSENING_TOTAL),
        f"{_EV} §1b S1 (HALT-MS PFS 91.3% at 5 y), S13 (RR 85.5%, progressive 71.0% at 5 y), "
        "S6 (SPMS PFS 66% at 4 y); §2 PRISMA 2020 (PFS RRMS 81%, PPMS 78%, SPMS 60%); "
        "measurement noise adds a few spurious confirmed events. Relapse-independent (PIRA) "
        "part: the total worsening rates (RRMS 0.032, SPMS 0.085, PPMS 0.08, PRMS 0.06 a "
        "year) minus relapse_rate x relapse_worsening_prob (the RAW part)")
    improvement_hazard: tuple[tuple[str, float], ...] = _p(
        (("RRMS", 0.30), ("SPMS", 0.12), ("PPMS", 0.05), ("PRMS", 0.15)),
        f"{_EV} §1b S11 (54% improved), S8 (35% sustained improvement), S1 (median change "
        "-0.5), S18 (21% improved >=1, progressive); calibrated loosely")
    improvement_window: float = _p(2.0, f"{_EV} §1b S3 (MIST EDSS fall in first year); "
                                        "window: assumption")
    early_factor: float = _p(1.5, f"{_EV} §2 Sormani 2017 (progression 17.1% at 2 y vs 23.3% at "
                                  "5 y; NEDA 83% at 2 y vs 67% at 5 y: front-loaded); "
                                  "magnitude: assumption")
    early_years: float = _p(2.0, f"{_EV} §2 Sormani 2017 (2-year landmark)")
    transient_worsening_prob: tuple[tuple[str, float], ...] = _p(
        (("RRMS", 0.10), ("SPMS", 0.20), ("PPMS", 0.20), ("PRMS", 0.15)),
        f"{_EV} Notes: late additions (PMC6867671 Table 2: neurological worsening with "
        "fever); frequency: assumption")
    relapse_intensity: tuple[tuple[str, float], ...] = _p(
        (("low", 1.5), ("intermediate", 1.0), ("high", 0.3)),
        f"{_EV} §1b S8 (BU/Cy/ATG: zero relapses), S22/S21 low intensity; §2 PRISMA 2020 (PFS "
        "low 85%, intermediate 73%, high 58%, confounded by phenotype); multipliers: assumption")
    mri_intensity: tuple[tuple[str, float], ...] = _p(
        (("low", 1.5), ("intermediate", 1.0), ("high", 0.2)),
        f"{_EV} §1b S8 (no new or Gd+ lesions on 314 scans), S20; multipliers: assumption")
    worsening_intensity: tuple[tuple[str, float], ...] = _p(
        (("low", 1.1), ("intermediate", 1.0), ("high", 1.0)),
        "assumption (intensity effect on progression not separable from phenotype in §2)")
    relapse_worsening_prob: float = _p(
        RELAPSE_WORSENING_PROB,
        f"{_EV} §6d and Appendix A Kappos 2020 (RAW 13.0-21.1% of confirmed disability "
        "accumulation, relapsing MS): calibrated so that RAW is ~17% of the confirmed "
        "worsening of RRMS after intermediate-intensity aHSCT (halt_ms); below the 28% of "
        "relapses leaving a "
        ">=1.0-point EDSS residual at ~2 months in Lublin 2003 (Neurology 61:1528, "
        "(unverified), not in evidence.md), since part of that residual later recovers")
    relapse_residual_prob: float = _p(0.2, "assumption (relapse leaves +0.5 EDSS, below the "
                                           "confirmation threshold; not with a RAW step)")
    relapse_bump_days: int = _p(60, "assumption (relapse raises EDSS for ~60 days)")
    edss_noise_prob: float = _p(0.12, "assumption (inter-rater variability: +/-0.5 step)")


@dataclass(frozen=True)
class MortalityParams:
    """Transplant-related mortality, other deaths and loss to follow-up."""

    trm: tuple[tuple[str, float], ...] = _p(
        (("low", 0.003), ("intermediate", 0.010), ("high", 0.031)),
        f"{_EV} §5a: Ge 2019 (1.34% overall, 3.13% high intensity), BMT 2020 (1%), S6 "
        "(0.19%, low/Cy-based), S21 (0/617 Cy+RTX)")
    trm_early_era_factor: float = _p(1.5, f"{_EV} §5a Ge 2019 (1.93% pre-2006 vs 1.34%); "
                                         "§2 Sormani 2017 (higher in older studies)")
    trm_progressive_factor: float = _p(1.5, f"{_EV} §2 Sormani 2017 (TRM higher with lower % "
                                            "RRMS and higher EDSS); magnitude: assumption")
    trm_causes: tuple[tuple[str, float], ...] = _p(
        (("Sepsis", 0.35), ("Cardiac toxicity", 0.2), ("Pneumonia", 0.2),
         ("Fluid overload", 0.1), ("EBV-PTLD", 0.1), ("Alveolar haemorrhage", 0.05)),
        f"{_EV} §5a S14 (fluid overload, cardiac/respiratory failure), S6 (Legionella), "
        "addendum Hamerschlak 2010 (cardiac toxicity, sepsis, alveolar haemorrhage), S20 "
        "(EBV-PTLD)")
    other_death_rate: tuple[tuple[str, float], ...] = _p(
        (("RRMS", 0.0015), ("SPMS", 0.004), ("PPMS", 0.005), ("PRMS", 0.003)),
        f"{_EV} §5a S25 (all-cause IR 1.7/1000 PY after aHSCT); progressive: assumption")
    other_causes: tuple[tuple[str, float], ...] = _p(
        (("MS progression", 0.35), ("Cancer", 0.25), ("Cardiovascular", 0.2),
         ("Infection", 0.1), ("Accident", 0.1)),
        "assumption")
    dropout_rate: float = _p(0.03, f"assumption ({_EV} §1b S3: 103 of 110 remained)")


@dataclass(frozen=True)
class LabCurve:
    """Recovery of one blood count: nadir after ``delay_days`` then exponential recovery."""

    test: str
    baseline: float
    nadir: float
    plateau: float
    delay_days: float
    tau_days: float
    cv: float
    decimals: int


@dataclass(frozen=True)
class LabParams:
    """Immune reconstitution curves (fractions of each patient's baseline)."""

    curves: tuple[LabCurve, ...] = _p(
        (LabCurve("neutrophils", 4.0, 0.02, 1.0, 9, 4, 0.25, 2),
         LabCurve("lymphocytes", 1.8, 0.05, 0.85, 10, 120, 0.25, 2),
         LabCurve("cd4", 800.0, 0.03, 0.6, 14, 450, 0.3, 0),
         LabCurve("cd19", 250.0, 0.01, 1.2, 30, 60, 0.35, 0)),
        f"{_EV} §5b lymphocyte reconstitution (Storek: NK/neutrophils by 1 month, B cells by 6 "
        "months, T cells by 2 y with CD4 borderline low; Cull 2017: CD4 not back by 2 y); MIST "
        "engraftment day 9 (Appendix A Burt 2009); levels and spread: assumption")
    days: tuple[int, ...] = _p((-30, 10, 30, 90, 180, 365, 730, 1095, 1826),
                               "assumption (monitoring schedule)")
    high_intensity_slowdown: float = _p(1.3, f"assumption ({_EV} §5b: CD34 selection / TBI "
                                             "'extremely lymphoablative')")


@dataclass(frozen=True)
class AdverseEventSpec:
    """One adverse event: probability (or yearly rate), onset window, CTCAE grades."""

    term: str
    probability: float
    onset_from: int
    onset_to: int
    grades: tuple[tuple[int, float], ...]
    relation: str
    alem_factor: float = 1.0
    recurrent_rate: float = 0.0


@dataclass(frozen=True)
class AdverseEventParams:
    """Adverse events after transplant."""

    events: tuple[AdverseEventSpec, ...] = _p(
        (AdverseEventSpec("Febrile neutropenia", 0.68, 3, 14, ((3, 0.9), (4, 0.1)), "definite"),
         AdverseEventSpec("EBV reactivation", 0.30, 14, 120, ((1, 0.5), (2, 0.45), (3, 0.05)),
                          "probable"),
         AdverseEventSpec("CMV reactivation", 0.12, 14, 100, ((2, 0.8), (3, 0.2)), "probable"),
         AdverseEventSpec("Urinary tract infection", 0.15, 5, 90, ((2, 0.8), (3, 0.2)),
                          "probable"),
         AdverseEventSpec("Herpes zoster", 0.15, 90, 730, ((2, 0.9), (3, 0.1)), "possible"),
         AdverseEventSpec("Hypothyroidism", 0.06, 180, 1460, ((2, 1.0),), "possible",
                          alem_factor=3.0),
         AdverseEventSpec("Hyperthyroidism", 0.05, 180, 1460, ((2, 0.8), (3, 0.2)), "possible",
                          alem_factor=3.0),
         AdverseEventSpec("Immune thrombocytopenia", 0.02, 120, 900, ((3, 0.6), (4, 0.4)),
                          "possible", alem_factor=7.0),
         AdverseEventSpec("Infection", 0.0, 180, 1826, ((2, 0.85), (3, 0.15)), "possible",
                          recurrent_rate=0.108)),
        f"{_EV} §5b: febrile neutropenia 68% (S11 Silfverberg); EBV DNA-aemia (Mehra 2019, "
        "frequency: assumption); herpes zoster 15% (S10 Burman); thyroid 3.5% hypo + 3.3% "
        "hyper (S6 Burt 2021) up to 21% at 3 y (S12); ITP 14% with alemtuzumab-containing "
        "conditioning vs 0-2.8% (S6); infections >=6 months 108/1000 PY (S25); CMV/UTI "
        "(PMC6867671 Table 2), frequencies: assumption")
    transient_worsening_term: str = _p("Neurological worsening with fever",
                                       f"{_EV} Notes: late additions (PMC6867671 Table 2)")


@dataclass(frozen=True)
class VisitSchedule:
    """When EDSS, MRI and labs are recorded (days from transplant / origin).

    Nominal visit times are in months from the origin (1 month = 365.25 / 12 days); each
    visit is moved by a uniform jitter and may be missed, and visits after the end of
    observation (death, dropout, data date) are not recorded.

    Parameters
    ----------
    edss_months
        Nominal post-origin EDSS visits (months); default every 6 months to 5 years after
        visits at 3 and 6 months.
    edss_late_interval_months
        Interval of the EDSS visits after the last of ``edss_months`` (months).
    edss_jitter_days
        Each EDSS visit is moved by up to this many days either way (uniform).
    edss_miss_prob
        Probability that a scheduled EDSS visit is missed (0-1).
    relapse_visit_prob
        Probability that a post-origin relapse is assessed at an unscheduled EDSS visit (0-1).
    relapse_visit_days
        ``(first, last)`` day range after the relapse onset of that visit (uniform).
    pre_edss_interval_months, pre_edss_years
        Pre-transplant EDSS history of the cohort generator: one visit every
        ``pre_edss_interval_months`` back from the baseline visit, over ``pre_edss_years``
        years (not before diagnosis); not used by the trial simulator.
    mri_months
        Nominal post-origin MRI scans (months).
    mri_late_interval_months
        Interval of the MRI scans after the last of ``mri_months`` (months).
    mri_rebaseline_days
        ``(first, last)`` day range of the post-treatment re-baseline scan (uniform).
    mri_jitter_days
        Each MRI scan is moved by up to this many days either way (uniform).
    mri_miss_prob
        Probability that a scheduled MRI scan is missed (0-1).
    gd_missing_prob
        Probability that a scan has no gadolinium count (no contrast given; 0-1).
    """

    edss_months: tuple[float, ...] = _p(
        (3, 6, 12, 18, 24, 30, 36, 42, 48, 54, 60),
        f"{_EV} §5b monitoring (visits at 3 months then yearly, Zafeiri 2023; BEAT-MS every 6 "
        "months); every 6 months to 5 y: assumption")
    edss_late_interval_months: float = _p(12.0, "assumption (yearly after 5 years)")
    edss_jitter_days: int = _p(21, "assumption")
    edss_miss_prob: float = _p(0.08, "assumption")
    relapse_visit_prob: float = _p(0.8, "assumption (registries record the EDSS when a "
                                        "relapse is assessed; hsctms.io edss-near-relapse)")
    relapse_visit_days: tuple[int, int] = _p((7, 30), "assumption (relapse assessment within "
                                                      "a month of onset)")
    pre_edss_interval_months: float = _p(6.0, "assumption")
    pre_edss_years: float = _p(5.0, "assumption (years of recorded pre-transplant EDSS)")
    mri_months: tuple[float, ...] = _p(
        (6, 12), f"{_EV} Notes: late additions (MRI at 6 and 12 months then annually)")
    mri_late_interval_months: float = _p(12.0, f"{_EV} Notes: late additions")
    mri_rebaseline_days: tuple[int, int] = _p(
        (150, 175), "assumption (re-baseline scan lands before day 180, inside a 6-month "
                    "MRI re-baseline window)")
    mri_jitter_days: int = _p(30, "assumption")
    mri_miss_prob: float = _p(0.10, "assumption")
    gd_missing_prob: float = _p(0.05, "assumption (no contrast given)")


@dataclass(frozen=True)
class DiseaseModel:
    """The complete, frozen parameter set of the synthetic cohort generator.

    Every section is a frozen dataclass whose fields carry their source
    (:func:`parameter_sources`); the defaults are the documented model.

    Parameters
    ----------
    population
        Who is transplanted: phenotype mix, demographics, pre-transplant disease and DMTs.
    transplant
        Conditioning regimen mix by era, transplant years and graft (CD34 dose).
    post
        Post-transplant course by phenotype (relapse, MRI, worsening and improvement rates
        per year) with multipliers by conditioning intensity, and the EDSS noise.
    mortality
        Transplant-related mortality by intensity, other deaths and loss to follow-up.
    labs
        Immune reconstitution curves of the blood counts and their sampling days.
    adverse_events
        Adverse events after transplant (probabilities, onset windows, CTCAE grades).
    schedule
        When EDSS, MRI and labs are recorded (:class:`VisitSchedule`).
    regimen_map
        Name of the regimen convention (``"ebmt"`` or ``"trialist"``, see
        :data:`hsctms.model.regimens.REGIMEN_MAPS`) that classifies the written regimens by
        intensity.

    Examples
    --------
    >>> m = DiseaseModel()
    >>> m.arm("RRMS", "intermediate").relapse_rate
    0.034
    >>> sorted(m.to_dict())[:3]
    ['adverse_events', 'labs', 'mortality']
    """

    population: PopulationParams = field(default_factory=PopulationParams)
    transplant: TransplantParams = field(default_factory=TransplantParams)
    post: PostTransplantParams = field(default_factory=PostTransplantParams)
    mortality: MortalityParams = field(default_factory=MortalityParams)
    labs: LabParams = field(default_factory=LabParams)
    adverse_events: AdverseEventParams = field(default_factory=AdverseEventParams)
    schedule: VisitSchedule = field(default_factory=VisitSchedule)
    regimen_map: str = "ebmt"

    def arm(self, phenotype: str, intensity: str, *, early_era: bool = False,
            progressive_trm: bool | None = None) -> ArmParameters:
        """Post-transplant :class:`ArmParameters` for one phenotype and intensity class.

        Parameters
        ----------
        phenotype
            ``"RRMS"``, ``"SPMS"``, ``"PPMS"`` or ``"PRMS"``: selects the relapse, MRI,
            worsening, improvement and background-death rates.
        intensity
            Conditioning intensity class, ``"low"``, ``"intermediate"`` or ``"high"``:
            multiplies the relapse, MRI and worsening rates and sets the transplant-related
            mortality and the recorded regimen.
        early_era
            True for a transplant before ``transplant.early_era_end``: the transplant-related
            mortality is multiplied by ``mortality.trm_early_era_factor`` (default False).
        progressive_trm
            Whether to multiply the transplant-related mortality by
            ``mortality.trm_progressive_factor``; None (default) does so for every phenotype
            but RRMS.

        Returns
        -------
        ArmParameters
            The arm's rates per patient-year, named ``"aHSCT <phenotype> <intensity>"``.

        Raises
        ------
        ConfigurationError
            Unknown phenotype or intensity class.
        """
        _check(phenotype, PHENOTYPES, "phenotype")
        _check(intensity, INTENSITY_CLASSES, "intensity")
        post, mort = self.post, self.mortality
        trm = dict(mort.trm)[intensity]
        if early_era:
            trm *= mort.trm_early_era_factor
        if progressive_trm if progressive_trm is not None else phenotype != "RRMS":
            trm *= mort.trm_progressive_factor
        return ArmParameters(
            name=f"aHSCT {phenotype} {intensity}",
            relapse_rate=dict(post.relapse_rate)[phenotype]
            * dict(post.relapse_intensity)[intensity],
            relapse_shape=post.relapse_shape,
            mri_rate=dict(post.mri_rate)[phenotype] * dict(post.mri_intensity)[intensity],
            mri_residual_prob=post.mri_residual_prob,
            relapse_mri_prob=post.relapse_mri_prob,
            relapse_worsening_prob=post.relapse_worsening_prob,
            worsening_hazard=dict(post.worsening_hazard)[phenotype]
            * dict(post.worsening_intensity)[intensity],
            improvement_hazard=dict(post.improvement_hazard)[phenotype],
            improvement_window=post.improvement_window,
            early_factor=post.early_factor,
            early_years=post.early_years,
            transient_worsening_prob=dict(post.transient_worsening_prob)[phenotype],
            early_death_prob=min(trm, 1.0),
            other_death_rate=dict(mort.other_death_rate)[phenotype],
            dropout_rate=mort.dropout_rate,
            treatment="ahsct",
            conditioning=_default_conditioning(intensity),
        )

    def to_dict(self) -> dict[str, Any]:
        """All parameter values as a JSON-serialisable mapping.

        Returns
        -------
        dict of str to Any
            Section name to a mapping of parameter values (tuples as lists, nested
            regimens, lab curves and adverse events as mappings); :meth:`from_dict` reads it
            back.
        """
        return _jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DiseaseModel:
        """Build a model from (part of) its :meth:`to_dict` form; missing parameters keep
        their defaults, so a file may override only a few values.

        Parameters
        ----------
        data
            Section name (``"population"``, ``"post"``, ...) to a mapping of parameter
            values; ``regimen_map`` to its name. Lists are turned into tuples and nested
            entries (regimens, lab curves, adverse events) into their dataclasses.

        Returns
        -------
        DiseaseModel
            The default model with the given values replaced.

        Raises
        ------
        ConfigurationError
            On an unknown section or parameter name.

        Examples
        --------
        >>> m = DiseaseModel.from_dict({"mortality": {"dropout_rate": 0.1}})
        >>> m.mortality.dropout_rate, m.post.relapse_shape
        (0.1, 0.5)
        >>> DiseaseModel.from_dict(DiseaseModel().to_dict()) == DiseaseModel()
        True
        """
        base = cls()
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(f"Unknown disease-model section(s) {unknown}.",
                                     hint=f"Sections: {', '.join(sorted(known))}.")
        changes: dict[str, Any] = {}
        for name, value in data.items():
            default = getattr(base, name)
            if not dataclasses.is_dataclass(default):
                changes[name] = value
                continue
            if not isinstance(value, Mapping):
                raise ConfigurationError(f"Disease-model section {name!r} must be a mapping.",
                                         hint="See DiseaseModel().to_dict() for the layout.")
            params = {f.name for f in dataclasses.fields(default)}
            bad = sorted(set(value) - params)
            if bad:
                raise ConfigurationError(
                    f"Unknown parameter(s) {bad} in disease-model section {name!r}.",
                    hint=f"Parameters of {name}: {', '.join(sorted(params))}.")
            sub = {k: _from_json(k, v) for k, v in value.items()}
            changes[name] = dataclasses.replace(default, **sub)  # type: ignore[type-var]
        return dataclasses.replace(base, **changes)


def load_model(path: str | Path) -> DiseaseModel:
    """Read a (partial) disease model from a JSON or YAML file (see
    :meth:`DiseaseModel.from_dict`). A bundle's ``bundle.json`` also works: its
    ``generator.model`` is used.

    Parameters
    ----------
    path
        The file; YAML when the suffix is ``.yaml``/``.yml``, JSON otherwise.

    Returns
    -------
    DiseaseModel
        The default model with the file's values replaced.

    Raises
    ------
    ConfigurationError
        The file cannot be read, is not valid JSON/YAML, does not hold a mapping, or names
        an unknown section or parameter.
    """
    import json

    p = Path(path)
    try:
        text = read_regular_file(p).decode("utf-8")
    except OSError as exc:  # also a directory, FIFO or device (refused unread)
        raise ConfigurationError(f"Cannot read disease-model file {p}: {exc.strerror}.",
                                 hint="Give the path of a JSON or YAML file.") from exc
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # json/yaml raise different error types
        raise ConfigurationError(f"{p} is not valid JSON/YAML: {exc}.",
                                 hint="Write the model as DiseaseModel().to_dict() does.") from exc
    if isinstance(data, dict) and data.get("format") == "hsctms-bundle":
        data = (data.get("generator") or {}).get("model") or {}
    if not isinstance(data, dict):
        raise ConfigurationError(f"{p} must hold a mapping of disease-model sections.",
                                 hint="E.g. {\"mortality\": {\"dropout_rate\": 0.05}}.")
    return DiseaseModel.from_dict(data)


def _tuplify(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_tuplify(v) for v in value)
    return value


def _from_json(name: str, value: Any) -> Any:
    """JSON value of one parameter -> its frozen (tuple / nested dataclass) form."""
    nested = {"regimens": RegimenSpec, "curves": LabCurve, "events": AdverseEventSpec}
    if name in nested and isinstance(value, list | tuple):
        kind = nested[name]
        try:
            return tuple(item if isinstance(item, kind)
                         else kind(**{k: _tuplify(v) for k, v in dict(item).items()})
                         for item in value)
        except TypeError as exc:
            raise ConfigurationError(f"Invalid {name!r} entry: {exc}.",
                                     hint=f"Each entry needs the fields of {kind.__name__}."
                                     ) from exc
    return _tuplify(value)


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ConfigurationError(f"Unknown {what} {value!r}.",
                                 hint=f"Use one of {', '.join(allowed)}.")


def _default_conditioning(intensity: str) -> str:
    return {"low": "Cy+RTX", "intermediate": "Cy200+ATG", "high": "BU+Cy+ATG"}[intensity]


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj


def parameter_sources(model: DiseaseModel | None = None) -> dict[str, str]:
    """Dotted parameter name -> source (``evidence.md`` section or ``assumption``).

    Parameters
    ----------
    model
        The model whose sections are listed; None (default) uses :class:`DiseaseModel`.
        The sources are field metadata, so they do not depend on the values.

    Returns
    -------
    dict of str to str
        ``"<section>.<parameter>"`` (and ``"arm_population.<parameter>"`` for
        :class:`ArmPopulation`) to its citation.
    """
    model = model or DiseaseModel()
    out: dict[str, str] = {}
    for top in dataclasses.fields(model):
        sub = getattr(model, top.name)
        if not dataclasses.is_dataclass(sub):
            out[top.name] = "configuration (regimen map name, see hsctms.model.regimens)"
            continue
        for f in dataclasses.fields(sub):
            out[f"{top.name}.{f.name}"] = str(f.metadata.get("source", "assumption"))
    for f in dataclasses.fields(ArmPopulation):
        out[f"arm_population.{f.name}"] = str(f.metadata.get("source", "assumption"))
    return out


# ------------------------------------------------------------------------------------------
# Arm presets for the trial simulator
# ------------------------------------------------------------------------------------------


def ahsct(phenotype: str = "RRMS", intensity: str = "intermediate", *,
          model: DiseaseModel | None = None) -> ArmParameters:
    """aHSCT arm for a phenotype and intensity class (modern era), from the disease model.

    Parameters
    ----------
    phenotype
        ``"RRMS"`` (default), ``"SPMS"``, ``"PPMS"`` or ``"PRMS"``.
    intensity
        Conditioning intensity class: ``"low"``, ``"intermediate"`` (default) or ``"high"``.
    model
        Disease model supplying the rates; None (default) uses :class:`DiseaseModel`.

    Returns
    -------
    ArmParameters
        As :meth:`DiseaseModel.arm` with ``early_era=False``.
    """
    return (model or DiseaseModel()).arm(phenotype, intensity)


#: aHSCT RRMS (intermediate) total worsening (relapse-independent + relapse-associated) and
#: improvement hazards that the comparator presets divide by the published aHSCT-vs-drug
#: hazard ratios; each preset's relapse-independent hazard is that total minus its
#: relapse_rate x RELAPSE_WORSENING_PROB.
_AHSCT_RR_WORSENING = dict(_WORSENING_TOTAL)["RRMS"]
_AHSCT_RR_IMPROVEMENT = 0.30


def alemtuzumab() -> ArmParameters:
    """Alemtuzumab (RRMS).

    ARR 0.10 (evidence.md §1b S12, Zhukovsky 2021); MRI and worsening rates calibrated
    (assumption) so that NEDA-3 at 3 years is ~37% (S12) and ~32% at 2 years (CARE-MS II,
    evidence.md Notes: secondary autoimmunity). The relapse-independent worsening hazard is
    that calibrated rate; the relapse-associated steps (``relapse_worsening_prob``) come on top
    of it, since a relapse already ends NEDA-3.

    Returns
    -------
    ArmParameters
        The preset rates per patient-year, ``treatment`` = the drug, no conditioning.
    """
    return ArmParameters(name="alemtuzumab", relapse_rate=0.10, mri_rate=0.55,
                         worsening_hazard=0.05, improvement_hazard=0.12,
                         relapse_worsening_prob=RELAPSE_WORSENING_PROB,
                         relapse_mri_prob=0.5, early_death_prob=0.0,
                         other_death_rate=0.0086 / 2, dropout_rate=0.03,
                         treatment="alemtuzumab", conditioning=None)


def ocrelizumab() -> ArmParameters:
    """Ocrelizumab (RRMS).

    ARR 0.08; aHSCT vs ocrelizumab worsening HR 0.41, improvement HR 2.31 (evidence.md §1b
    S16 and Appendix A Kalincik 2023, *conference* figures (unverified against the final
    paper)); MRI rate: assumption.

    Returns
    -------
    ArmParameters
        The preset rates per patient-year, ``treatment`` = the drug, no conditioning.
    """
    return ArmParameters(name="ocrelizumab", relapse_rate=0.08, mri_rate=0.10,
                         worsening_hazard=_pira(_AHSCT_RR_WORSENING / 0.41, 0.08),
                         relapse_worsening_prob=RELAPSE_WORSENING_PROB,
                         improvement_hazard=_AHSCT_RR_IMPROVEMENT / 2.31,
                         treatment="ocrelizumab", conditioning=None)


def natalizumab() -> ArmParameters:
    """Natalizumab (RRMS). Kalincik 2023 natalizumab figures were not retrieved (evidence.md
    §7), so every rate here is an **assumption** between fingolimod and ocrelizumab.

    Returns
    -------
    ArmParameters
        The preset rates per patient-year, ``treatment`` = the drug, no conditioning.
    """
    return ArmParameters(name="natalizumab", relapse_rate=0.12, mri_rate=0.15,
                         worsening_hazard=_pira(0.04, 0.12), improvement_hazard=0.15,
                         relapse_worsening_prob=RELAPSE_WORSENING_PROB,
                         treatment="natalizumab", conditioning=None)


def fingolimod() -> ArmParameters:
    """Fingolimod (RRMS).

    ARR 0.20; aHSCT vs fingolimod relapse HR 0.55, worsening HR 0.49, improvement HR 2.62
    (evidence.md §1b S16 / Appendix A Kalincik 2023 conference figures, (unverified)); MRI rate:
    assumption.

    Returns
    -------
    ArmParameters
        The preset rates per patient-year, ``treatment`` = the drug, no conditioning.
    """
    return ArmParameters(name="fingolimod", relapse_rate=0.20, mri_rate=0.25,
                         worsening_hazard=_pira(_AHSCT_RR_WORSENING / 0.49, 0.20),
                         relapse_worsening_prob=RELAPSE_WORSENING_PROB,
                         improvement_hazard=_AHSCT_RR_IMPROVEMENT / 2.62,
                         treatment="fingolimod", conditioning=None)


def mist_dmt() -> ArmParameters:
    """The MIST control arm (best available DMT in highly active RRMS).

    Median time to confirmed progression 24 months (worsening hazard ln 2 / 2 y; evidence.md
    §1b S3); 39 relapses in 55 patients over a mean 2.8 years (ARR ~0.25, Appendix A MIST);
    MRI rate: assumption.

    Returns
    -------
    ArmParameters
        The preset rates per patient-year, named ``"MIST DMT"``; its DMT rows are written as
        ``natalizumab``.
    """
    return ArmParameters(name="MIST DMT", relapse_rate=0.25, mri_rate=0.4,
                         worsening_hazard=_pira(0.3466, 0.25), improvement_hazard=0.05,
                         relapse_worsening_prob=RELAPSE_WORSENING_PROB,
                         treatment="natalizumab", conditioning=None)


ARM_PRESETS = {
    "ahsct": ahsct,
    "alemtuzumab": alemtuzumab,
    "ocrelizumab": ocrelizumab,
    "natalizumab": natalizumab,
    "fingolimod": fingolimod,
    "mist_dmt": mist_dmt,
}
