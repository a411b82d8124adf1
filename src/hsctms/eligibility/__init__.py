"""Eligibility for aHSCT against published criteria sets (guidelines, policies, trials).

Criteria live as data files in ``hsctms/eligibility/sets/*.yaml``; see
:mod:`hsctms.eligibility.engine` for the semantics and ``docs/patient-report.md``.
"""

from hsctms.eligibility.engine import (
    CriteriaSet,
    Criterion,
    CriterionResult,
    EligibilityReport,
    SetResult,
    assess_eligibility,
    criteria_sets,
    get_set,
)

__all__ = [
    "CriteriaSet",
    "Criterion",
    "CriterionResult",
    "EligibilityReport",
    "SetResult",
    "assess_eligibility",
    "criteria_sets",
    "get_set",
]
