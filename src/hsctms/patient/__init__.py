"""The patient "what to expect from aHSCT" report: profile, eligibility, estimates, rendering.

>>> from hsctms.patient import load_profile, build_report, render_patient_report  # doctest: +SKIP
>>> report = build_report(load_profile("examples/profiles/ppms-enhancing.json"))  # doctest: +SKIP
>>> html = render_patient_report(report)                                         # doctest: +SKIP
"""

from hsctms.model.profile import DMTExposure, PatientProfile, load_profile, parse_profile
from hsctms.patient.estimates import PersonalEstimates, personal_estimates
from hsctms.patient.report import (
    PatientReport,
    build_report,
    render_patient_report,
    write_patient_report,
)

__all__ = [
    "DMTExposure",
    "PatientProfile",
    "PatientReport",
    "PersonalEstimates",
    "build_report",
    "load_profile",
    "parse_profile",
    "personal_estimates",
    "render_patient_report",
    "write_patient_report",
]
