"""Table 1 (``hsctms.analysis.baseline``): each number against a direct pandas computation on
the demo bundle, the suppression rules, and the recovery-by-subtraction property."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hsctms.analysis.baseline import (
    OVERALL,
    BaselineTable,
    baseline_characteristics,
    baseline_table,
    determined,
    protect,
)
from hsctms.datasets import load_demo_cohort
from hsctms.errors import ConfigurationError
from hsctms.model.cohort import Cohort

RRMS, PROG = "Relapsing (RRMS)", "Progressive (SPMS, PPMS, PRMS)"


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return load_demo_cohort()


@pytest.fixture(scope="module")
def table(cohort: Cohort) -> BaselineTable:
    return baseline_table(cohort)


def _cell(t: BaselineTable, variable: str, label: str, column: str) -> str:
    rows = [r for r in t.rows if r.variable == variable and r.label == label]
    assert len(rows) == 1, (variable, label)
    return rows[0].cells[column]


def _direct(cohort: Cohort) -> pd.DataFrame:
    """The index transplant and the values at it, computed here without the module."""
    pts = cohort.patients.copy()
    tx = cohort.transplants.sort_values("transplant_date").groupby("patient_id").first()
    d = pts.merge(tx, left_on="patient_id", right_index=True, how="inner")
    d["tx"] = pd.to_datetime(d["transplant_date"])
    d["group"] = np.where(d["phenotype"] == "RRMS", RRMS, PROG)
    return d.set_index("patient_id")


def _median_iqr(v: pd.Series) -> str:
    q1, m, q3 = np.quantile(v.astype(float), [0.25, 0.5, 0.75])

    def f(x: float) -> str:
        return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"

    return f"{f(m)} ({f(q1)}–{f(q3)})"


def test_columns_and_sizes(cohort: Cohort, table: BaselineTable) -> None:
    d = _direct(cohort)
    assert table.columns == (RRMS, PROG, OVERALL)
    assert table.n == {RRMS: int((d["group"] == RRMS).sum()),
                       PROG: int((d["group"] == PROG).sum()), OVERALL: len(d)}
    assert table.provenance.synthetic is True  # the demo cohort, stated once by the table


def test_sex_and_conditioning_counts_match_pandas(cohort: Cohort, table: BaselineTable) -> None:
    d = _direct(cohort)
    for col, part in ((RRMS, d[d["group"] == RRMS]), (PROG, d[d["group"] == PROG]),
                      (OVERALL, d)):
        for var, level in itertools.chain((("sex", s) for s in ("F", "M")),
                                          (("conditioning", c) for c in
                                           sorted(d["conditioning"].unique()))):
            n = int((part[var] == level).sum())
            assert _cell(table, var, level, col) == f"{n} ({100 * n / len(part):.1f}%)"


def test_baseline_edss_is_the_last_visit_in_the_year_before(cohort: Cohort,
                                                             table: BaselineTable) -> None:
    d = _direct(cohort)
    e = cohort.edss.merge(d[["tx"]], left_on="patient_id", right_index=True)
    days = (e["tx"] - pd.to_datetime(e["date"])).dt.days
    e = e[(days >= 0) & (days <= 365)].assign(days=days)
    last = e.sort_values("days").groupby("patient_id")["edss"].first()
    assert _cell(table, "baseline_edss", "Baseline EDSS", OVERALL) == _median_iqr(last)
    missing = len(d) - last.index.isin(d.index).sum()
    rows = [r for r in table.rows if r.variable == "baseline_edss" and r.label == "Missing"]
    assert (rows[0].cells[OVERALL] == str(missing)) if missing else not rows


def test_relapses_and_prior_dmts_match_pandas(cohort: Cohort, table: BaselineTable) -> None:
    d = _direct(cohort)
    r = cohort.relapses.merge(d[["tx"]], left_on="patient_id", right_index=True)
    days = (r["tx"] - pd.to_datetime(r["onset_date"])).dt.days
    n_rel = r[(days > 0) & (days <= 365)].groupby("patient_id").size()
    n_rel = n_rel.reindex(d.index, fill_value=0)
    yes = int((n_rel > 0).sum())
    share = f"{yes} ({100 * yes / len(d):.1f}%)"
    assert _cell(table, "relapse_prior_year", "Yes", OVERALL) == share
    assert _cell(table, "relapses_prior_year", "Relapses in the prior 12 months, number",
                 OVERALL) == _median_iqr(n_rel)
    m = cohort.table("dmt").merge(d[["tx"]], left_on="patient_id", right_index=True)
    prior = m[pd.to_datetime(m["start_date"]) < m["tx"]]
    count = prior.groupby("patient_id")["drug"].nunique().reindex(d.index, fill_value=0)
    assert _cell(table, "prior_dmt_count", "Prior DMTs, number", OVERALL) == _median_iqr(count)
    none = int((count == 0).sum())
    assert _cell(table, "most_effective_prior_dmt", "None", OVERALL).startswith(f"{none} (")


def test_every_category_block_adds_up(table: BaselineTable) -> None:
    frame = table.to_frame()
    for var in frame.loc[frame["kind"] == "header", "variable"]:
        rows = [r for r in table.rows if r.variable == var and r.kind in ("category", "missing")]
        for col in table.columns:
            assert sum(r.counts[col] or 0 for r in rows) == table.n[col], (var, col)


def test_characteristics_one_row_per_transplanted_patient(cohort: Cohort) -> None:
    chars = baseline_characteristics(cohort)
    assert chars["patient_id"].is_unique and len(chars) == len(_direct(cohort))


def test_small_counts_are_suppressed_and_not_recoverable(cohort: Cohort) -> None:
    t = baseline_table(cohort, small_count=5)
    frame = t.to_frame()
    text = frame[list(t.columns)].to_numpy().ravel().tolist()
    assert "<5" in text and "suppressed" in text
    for r in t.rows:
        for col in t.columns:
            count = r.counts.get(col)
            if count is not None and 0 < count < 5:
                assert r.cells[col] == "<5", (r.variable, r.label, col)
    assert "%" not in " ".join(c for c in text if c.startswith("<"))
    assert t.to_dict()["small_count"] == 5
    with pytest.raises(ConfigurationError, match="small_count"):
        baseline_table(cohort, small_count=-1)


@st.composite
def blocks(draw: st.DrawFn) -> tuple[list[list[int]], int]:
    """A variable's block of counts (levels x groups) and a disclosure threshold."""
    levels, groups = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    row = st.lists(st.integers(0, 12), min_size=groups, max_size=groups)
    k = draw(st.integers(2, 6))
    cells = draw(st.lists(row, min_size=levels, max_size=levels).filter(
        lambda c: all(sum(col) >= k for col in zip(*c, strict=True))))  # groups of n >= k
    return cells, k


@example(([[1, 2]], 2))  # one level: every column is its n, nothing can be hidden
@example(([[1, 9], [9, 9]], 5))
@given(blocks())
def test_protect_leaves_no_cell_recoverable(block: tuple[list[list[int]], int]) -> None:
    cells, k = np.array(block[0], dtype=np.int64), block[1]
    counts = np.column_stack([cells, cells.sum(axis=1)])
    primary, complementary = protect(counts, k)
    hidden = primary | complementary
    assert (primary == ((counts > 0) & (counts < k))).all()
    assert not (primary & complementary).any()
    exposed = determined(counts, hidden) & primary
    if exposed.any():  # only when a column has a single non-zero level: it is its printed n
        assert all(((counts[:, j] > 0).sum() == 1) for _, j in np.argwhere(exposed))


def test_a_small_group_is_not_shown_beside_the_overall_column(cohort: Cohort) -> None:
    """Otherwise the overall column minus the other groups would give the small group."""
    d = _direct(cohort)
    keep = [*d.index[d["group"] == RRMS], *d.index[d["group"] == PROG][:3]]
    small = baseline_table(cohort.subset(keep), small_count=5)
    assert small.columns == (OVERALL,) and small.n == {OVERALL: len(keep)}
    assert any("fewer than 5 patients" in f for f in small.footnotes)
    assert baseline_table(cohort.subset(keep)).columns == (RRMS, PROG, OVERALL)
