"""The patient "what to expect from aHSCT" report: profile, eligibility, estimates, rendering."""

from hsctms.patient.profile import DMTExposure, PatientProfile, load_profile, parse_profile

__all__ = ["DMTExposure", "PatientProfile", "load_profile", "parse_profile"]
