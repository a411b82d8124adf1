"""Synthetic data: the disease model, the cohort generator and the bundled demo cohort.

Everything here is **synthetic**: generated cohorts carry ``synthetic=True`` and bundles say so
in ``bundle.json`` and ``README.txt``.

Public API
----------
* :class:`DiseaseModel`, :class:`ArmParameters`, :class:`ArmPopulation`, arm presets
  (:func:`ahsct`, :func:`alemtuzumab`, :func:`ocrelizumab`, :func:`natalizumab`,
  :func:`fingolimod`, :func:`mist_dmt`), :func:`parameter_sources`;
* :func:`simulate_arm` (with :class:`Enrolment`), :func:`simulate_course` (vectorised disease
  course);
* :func:`generate_cohort`, :func:`iter_cohort_chunks`, :func:`write_demo_bundle`;
* :func:`demo_bundle_path`, :func:`load_demo_cohort`.
"""

from __future__ import annotations

from hsctms.datasets.course import Enrolment, simulate_arm, simulate_course, snap_edss
from hsctms.datasets.demo import demo_bundle_path, load_demo_cohort, read_bundle
from hsctms.datasets.disease_model import (
    ARM_PRESETS,
    ArmParameters,
    ArmPopulation,
    DiseaseModel,
    VisitSchedule,
    ahsct,
    alemtuzumab,
    fingolimod,
    load_model,
    mist_dmt,
    natalizumab,
    ocrelizumab,
    parameter_sources,
)
from hsctms.datasets.generate import (
    BLOCK_SIZE,
    DEFAULT_DATA_DATE,
    DEMO_PATIENTS,
    DEMO_SEED,
    generate_cohort,
    iter_cohort_chunks,
    write_demo_bundle,
)

__all__ = [
    "ARM_PRESETS",
    "BLOCK_SIZE",
    "DEFAULT_DATA_DATE",
    "DEMO_PATIENTS",
    "DEMO_SEED",
    "ArmParameters",
    "ArmPopulation",
    "DiseaseModel",
    "Enrolment",
    "VisitSchedule",
    "ahsct",
    "alemtuzumab",
    "demo_bundle_path",
    "fingolimod",
    "generate_cohort",
    "iter_cohort_chunks",
    "load_demo_cohort",
    "load_model",
    "mist_dmt",
    "natalizumab",
    "ocrelizumab",
    "parameter_sources",
    "read_bundle",
    "simulate_arm",
    "simulate_course",
    "snap_edss",
    "write_demo_bundle",
]
