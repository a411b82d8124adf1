"""Fixtures for the patient-report tests: the example profiles and the evidence base."""

from __future__ import annotations

from pathlib import Path

import pytest

from hsctms.model.profile import load_profile

PROFILE_DIR = Path(__file__).resolve().parents[2] / "examples" / "profiles"
PROFILE_NAMES = ("young-rrms-high-activity", "spms-edss-6.5-no-activity", "ppms-enhancing",
                 "after-failed-alemtuzumab", "edss2-newly-diagnosed")


@pytest.fixture(scope="session")
def evidence():
    import hsctms.evidence as evidence_pkg
    return evidence_pkg.load_evidence()


@pytest.fixture(scope="session")
def profiles():
    return {name: load_profile(PROFILE_DIR / f"{name}.json") for name in PROFILE_NAMES}


@pytest.fixture(scope="session")
def reports(profiles, evidence):
    """Built reports for the five example profiles (built once per session)."""
    from hsctms.patient.report import build_report

    return {name: build_report(p, evidence) for name, p in profiles.items()}


@pytest.fixture(scope="session")
def rendered(reports):
    """Rendered HTML of the five example reports."""
    from hsctms.patient.report import render_patient_report

    return {name: render_patient_report(r) for name, r in reports.items()}
