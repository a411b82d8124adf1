"""EDSS change from baseline and the signed-rank test (vs R wilcox.test)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hsctms.analysis.edss_change import edss_at_years, edss_change_table, signed_rank_test

REF = Path(__file__).resolve().parents[1] / "reference" / "survival"


@pytest.mark.r
def test_signed_rank_matches_r(rscript: str | None) -> None:
    """Tolerance: statistic exact, p-value 1e-12 (exact and normal-approximation paths)."""
    cases = json.loads((REF / "wilcoxon_cases.json").read_text())
    golden = json.loads((REF / "golden_wilcoxon.json").read_text())
    if rscript:
        proc = subprocess.run([rscript, str(REF / "wilcoxon_reference.R"),
                               str(REF / "wilcoxon_cases.json")], capture_output=True, text=True,
                              check=False)
        # R is installed: a failing reference run is a failing test, never a silent fallback
        assert proc.returncode == 0, f"wilcoxon_reference.R failed:\n{proc.stderr}"
        fresh = json.loads(proc.stdout)
        assert set(fresh) == set(golden), "run tests/reference/survival/regenerate.sh"
        for k in golden:
            assert fresh[k]["p"] == pytest.approx(golden[k]["p"], rel=1e-12)
        golden = fresh
    for name, x in cases.items():
        res = signed_rank_test(x)
        assert res.statistic == golden[name]["statistic"], name
        assert res.p_value == pytest.approx(golden[name]["p"], abs=1e-12), name


def test_signed_rank_edge_cases() -> None:
    assert np.isnan(signed_rank_test([0.0, 0.0]).p_value)
    assert signed_rank_test([0.5]).p_value == 1.0


def _frame() -> tuple[pd.DataFrame, pd.DataFrame]:
    origin = pd.Timestamp("2020-01-01")
    ep = pd.DataFrame({
        "patient_id": ["a", "b", "c"],
        "origin_date": [origin] * 3,
        "baseline_edss": [4.0, 3.0, 5.0],
        "death_time": [2000.0, 2000.0, 300.0],
        "death_event": [0, 0, 1],
    })
    day = pd.to_timedelta
    edss = pd.DataFrame({
        "patient_id": ["a", "a", "a", "b", "b", "c"],
        "date": [origin + day(300, "D"), origin + day(380, "D"), origin + day(730, "D"),
                 origin + day(600, "D"), origin + day(1000, "D"), origin + day(365, "D")],
        "edss": [3.5, 3.0, 4.5, 3.0, 2.5, 6.0],
    })
    return ep, edss


def test_edss_at_years_picks_closest_visit_in_window_and_drops_after_death() -> None:
    ep, edss = _frame()
    at = edss_at_years(ep, edss, [1, 2], window_days=182)
    one = at[at["year"] == 1].set_index("patient_id")
    # a: visits at 300 (65 d away) and 380 (15 d away) -> 380 (EDSS 3.0)
    assert one.loc["a", "edss"] == 3.0 and one.loc["a", "change"] == -1.0
    # b: 600 is 235 d from 365 -> outside the window; c's visit is after death (300)
    assert set(one.index) == {"a"}
    two = at[at["year"] == 2].set_index("patient_id")
    # b: visits at 600 (130 d from 730) and 1000 (270 d, outside) -> 600 (EDSS 3.0)
    assert two.loc["a", "change"] == 0.5 and two.loc["b", "change"] == 0.0


def test_edss_change_table_counts() -> None:
    ep, edss = _frame()
    rows = edss_change_table(edss_at_years(ep, edss, [1, 2]), [1, 2, 3])
    assert rows[0].n == 1 and rows[0].improved == 1
    assert rows[1].n == 2 and rows[1].median == 0.25 and rows[1].worsened == 1
    assert rows[1].stable == 1 and (rows[1].q1, rows[1].q3) == (0.125, 0.375)
    assert rows[2].n == 0 and np.isnan(rows[2].median)
