"""The safety section (``hsctms.analysis.safety``): exact intervals (``analysis.tables.share``,
the one home of the Clopper-Pearson interval) against R ``binom.test``
(live when Rscript is installed, else the committed golden file, which the live run checks),
each count against a direct pandas computation on the demo bundle, and the settings schema."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hsctms.analysis.safety import SafetyAnalysis, load_safety_settings, safety_analysis
from hsctms.analysis.tables import share
from hsctms.datasets import load_demo_cohort
from hsctms.errors import ConfigurationError
from hsctms.model.cohort import Cohort

REF = Path(__file__).resolve().parents[1] / "reference" / "safety"


@pytest.fixture(scope="module")
def r_binom() -> list[dict[str, Any]]:
    golden: list[dict[str, Any]] = json.loads((REF / "golden_binom.json").read_text())
    rscript = shutil.which("Rscript")
    if rscript:
        proc = subprocess.run([rscript, str(REF / "binom_reference.R"), str(REF / "cases.json")],
                              capture_output=True, text=True, timeout=120, check=True)
        live = json.loads(proc.stdout)
        for a, b in zip(live, golden, strict=True):  # a stale golden file fails
            assert a == pytest.approx(b, rel=1e-12, abs=1e-15)
        return list(live)
    return golden


def test_exact_interval_matches_r_binom_test(r_binom: list[dict[str, Any]]) -> None:
    for case in r_binom:
        p = share(case["events"], case["n"], case["level"], "reference case")
        assert (p.estimate, p.lower, p.upper) == pytest.approx(
            (case["estimate"], case["lower"], case["upper"]), rel=1e-9, abs=1e-12), case


@given(st.integers(0, 400), st.integers(1, 400), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_exact_interval_properties(x: int, n: int, level: float) -> None:
    x = min(x, n)
    p = share(x, n, level, "")
    assert 0 <= p.lower <= p.estimate <= p.upper <= 1
    assert (p.lower == 0) == (x == 0) and (p.upper == 1) == (x == n)
    wider = share(x, n, min(level + 0.009, 0.999), "")
    assert wider.lower <= p.lower and wider.upper >= p.upper


def test_share_refuses_bad_input() -> None:
    with pytest.raises(ConfigurationError, match="between 0 and n"):
        share(5, 3, 0.95, "")
    with pytest.raises(ConfigurationError, match="level"):
        share(1, 3, 95, "")
    assert np.isnan(share(0, 0, 0.95, "").estimate)


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return load_demo_cohort()


@pytest.fixture(scope="module")
def safety(cohort: Cohort) -> SafetyAnalysis:
    return safety_analysis(cohort)


def _index(cohort: Cohort) -> pd.DataFrame:
    tx = cohort.transplants_with_intensity().copy()
    tx["transplant_date"] = pd.to_datetime(tx["transplant_date"])
    return tx.sort_values("transplant_date").groupby("patient_id").first()


def test_trm_counts_match_pandas(cohort: Cohort, safety: SafetyAnalysis) -> None:
    tx = _index(cohort)
    deaths = cohort.deaths.assign(date=pd.to_datetime(cohort.deaths["date"])).set_index(
        "patient_id")
    t = tx.join(deaths[["date", "transplant_related"]], how="left")
    day = (t["date"] - t["transplant_date"]).dt.days
    followed = (pd.Timestamp(cohort.data_date) - t["transplant_date"]).dt.days
    for d in (100, 365):
        reached = (followed >= d) | (day <= d)
        events = int((reached & (t["transplant_related"] == True) & (day <= d)).sum())  # noqa: E712
        row = safety.trm[(safety.trm["by"] == "all") & (safety.trm["day"] == d)].iloc[0]
        assert (row["events"], row["n"]) == (events, int(reached.sum()))
        ref = share(events, int(reached.sum()), 0.95, "")
        assert (row["lower"], row["upper"]) == (ref.lower, ref.upper)
    by_int = safety.trm[(safety.trm["by"] == "intensity") & (safety.trm["day"] == 100)]
    assert by_int["n"].sum() == safety.trm.query("by == 'all' and day == 100")["n"].iloc[0]
    assert safety.provenance.synthetic is True


def test_deaths_and_adverse_events_match_pandas(cohort: Cohort, safety: SafetyAnalysis) -> None:
    assert safety.deaths["n"].sum() == len(cohort.deaths)
    settings = load_safety_settings()
    tx = _index(cohort)
    ae = cohort.table("adverse_events").merge(tx[["transplant_date"]], left_on="patient_id",
                                             right_index=True)
    ae["day"] = (pd.to_datetime(ae["onset_date"]) - ae["transplant_date"]).dt.days
    severe = ae[(ae["grade"] >= 3) & (ae["day"] >= -10) & (ae["day"] <= 30)]
    infection = severe[severe["term"].str.lower().isin(
        [t.lower() for t in settings.categories["Infection"]])]
    row = safety.adverse_events[(safety.adverse_events["category"] == "Infection")
                                & (safety.adverse_events["period"].str.startswith(
                                    "Conditioning"))].iloc[0]
    assert row["patients"] == infection["patient_id"].nunique()
    assert row["events"] == len(infection)
    auto = ae[ae["term"].str.lower().isin(
        [t.lower() for t in settings.categories["Secondary autoimmunity"]]) & (ae["day"] >= 0)]
    assert safety.autoimmunity.events == auto["patient_id"].nunique()
    assert safety.autoimmunity.n == len(tx)
    json.dumps(safety.to_dict(), allow_nan=False)


def test_settings_are_validated(tmp_path: Path) -> None:
    good = (REF.parents[2] / "src" / "hsctms" / "analysis" / "data" / "safety.yaml")
    text = good.read_text()
    bad = tmp_path / "s.yaml"
    bad.write_text(text.replace("min_grade: 3", "min_grade: 7"))
    with pytest.raises(ConfigurationError, match="min_grade"):
        load_safety_settings(bad)
    bad.write_text(text + "\nsurprise: 1\n")
    with pytest.raises(ConfigurationError, match="surprise"):
        load_safety_settings(bad)
    bad.write_text(text.replace("    - Sepsis\n", "    - Sepsis\n    - Herpes zoster\n"))
    with pytest.raises(ConfigurationError, match="both"):
        load_safety_settings(bad)
    with pytest.raises(ConfigurationError, match="Cannot read"):
        load_safety_settings(tmp_path / "missing.yaml")


def test_index_transplant_is_the_whole_first_row(cohort: Cohort) -> None:
    """A second transplant must not fill in a value missing on the first one (a per-column
    'first non-missing' did: the index transplant is Cohort.index_transplant)."""
    from dataclasses import replace

    tx = cohort.transplants.copy()
    first = tx.iloc[0]
    tx.loc[tx.index[0], "conditioning"] = pd.NA
    later = first.copy()
    later["transplant_date"] = pd.Timestamp(first["transplant_date"]) + pd.Timedelta(days=400)
    later["conditioning"] = "BEAM+ATG"
    tx = pd.concat([tx, later.to_frame().T.astype(tx.dtypes.to_dict())], ignore_index=True)
    changed = replace(cohort, tables={**cohort.tables, "transplants": tx})
    res = safety_analysis(changed)
    at = res.trm[(res.trm["day"] == 100)]
    total = int(at.loc[at["by"] == "all", "n"].iloc[0])
    by_intensity = int(at.loc[at["by"] == "intensity", "n"].sum())
    assert by_intensity == total - 1  # the index transplant's intensity is unknown
