"""Sormani et al., Neurology 2017: what can honestly be checked with the available inputs.

Published (abstract): 15 studies, 764 patients; TRM 2.1% (1.3-3.4); progression 17.1%
(9.7-24.5) at 2 y and 23.3% (16.3-31.8) at 5 y. The per-study table was not found; the
research addendum (A2) reconstructs a candidate list and tallies it. These tests check
(1) that hsctms carries the published figures, (2) that the candidate inputs reproduce the
addendum's own tallies, (3) the pooled figures on those inputs against R (golden file
sormani_trm.json) and their relation to the published figures, and (4) that every missing
input is reported. docs/meta-analysis.md states the resulting figures.
"""

from __future__ import annotations

import numpy as np
import pytest

from hsctms.evidence import load_evidence
from hsctms.meta import ModelSpec, poisson_regression, pool_proportions
from hsctms.meta.reproduce import PUBLISHED, reproduce_sormani2017, sormani2017_candidates


@pytest.fixture(scope="module")
def rep():
    return reproduce_sormani2017()


def test_published_figures_match_the_evidence_base():
    pub = load_evidence().published_pooled()
    s = pub[pub["study_id"] == "sormani2017"]
    trm = s[s["outcome"] == "trm"].iloc[0]
    assert (trm["estimate"], trm["ci_low"], trm["ci_high"]) == PUBLISHED["trm"]
    prog = s[s["outcome"] == "progression"].set_index("time_years")
    assert tuple(prog.loc[2.0, ["estimate", "ci_low", "ci_high"]]) == PUBLISHED["progression_2y"]
    assert tuple(prog.loc[5.0, ["estimate", "ci_low", "ci_high"]]) == PUBLISHED["progression_5y"]
    assert load_evidence().study("sormani2017")["n"] == PUBLISHED["n_patients"]


def test_candidates_reproduce_the_addendum_tally():
    """Addendum A2: rows 1-3 and 5-16 without #4 and #11 sum to n = 604 with >= 10 deaths
    (Fassas 2011 counted as >= 1 death)."""
    cand = sormani2017_candidates()
    tally = cand[~cand["row"].isin([4, 11])]
    assert int(tally["n"].sum()) == 604
    known = tally["trm_deaths"].dropna().astype(int).sum()
    fassas_lower_bound = 1  # ">= 1" in the addendum; not a known count, so not in the data
    assert known + fassas_lower_bound == 10
    assert cand.loc[cand["study"] == "fassas2011", "trm_deaths"].isna().all()


def test_trm_with_available_inputs(rep, meta_golden):
    t = rep.trm_inputs
    assert len(t) == 12 and rep.n_patients == 559 and int(t["events"].sum()) == 9
    # Poisson (Sormani's model): intercept-only rate = crude rate; CI against R glm
    np.testing.assert_allclose(rep.trm[0], 100 * 9 / 559, rtol=1e-10)
    R = meta_golden("sormani_trm")["results"]["poisson"]["intercept"]
    np.testing.assert_allclose(rep.trm_poisson.coef, R["coef"], atol=1e-8)
    np.testing.assert_allclose(rep.trm_poisson.se, R["se"], rtol=1e-6)
    b, se = float(np.atleast_1d(R["coef"])[0]), float(np.atleast_1d(R["se"])[0])
    lo, hi = (100 * np.exp(b + s * 1.959963984540054 * se) for s in (-1, 1))
    np.testing.assert_allclose(rep.trm[1:], [lo, hi], rtol=1e-6)
    # relation to the published figure (a fact about the data, not a tuned target):
    pub, pub_lo, pub_hi = PUBLISHED["trm"]
    assert rep.trm[1] < pub < rep.trm[2]          # published estimate inside our CI
    assert pub_lo < rep.trm[0] < pub_hi           # our estimate inside the published CI
    assert abs(rep.trm[0] - pub) > 0.05           # but not equal to it at reported precision
    # random-effects PLO with 0.5 zero-cell correction, also against metafor
    M = meta_golden("sormani_trm")["results"]["PLO"]["REML"]
    res = pool_proportions(t["events"], t["n"], t["study"],
                           model=ModelSpec(measure="PLO", method="REML"))
    np.testing.assert_allclose(res.prop, M["prop"], atol=1e-7)


def test_progression_inputs_and_what_is_missing(rep):
    assert rep.progression_2y_inputs.empty  # no candidate reports a 2-y figure
    p5 = rep.progression_5y_inputs
    assert sorted(p5["study"]) == ["atkins2016", "burman2014", "curro2015", "nash2017"]
    res = pool_proportions(p5["events"], p5["n"], p5["study"],
                           model=ModelSpec(measure="PLO", method="REML"))
    pub, _, _ = PUBLISHED["progression_5y"]
    assert res.prop_ci[0] < pub / 100 < res.prop_ci[1]
    text = rep.summary
    for needle in ("fassas2011", "Casanova 2017", "mancardi2015_astims", "nash2003",
                   "170 of the 764 patients", "2-y progression: 0", "4 of 15"):
        assert needle in text, needle


def test_poisson_meta_regression_on_candidates_runs(rep):
    ev = load_evidence()
    t = rep.trm_inputs
    years = [ev.study(s)["pub_year"] for s in t["study"]]
    res = poisson_regression(t["events"], t["n"], {"pub_year": years})
    assert res.terms == ["intercept", "pub_year"]
    assert np.isfinite(res.pval).all()


def test_docs_state_the_computed_figures(rep):
    """docs/meta-analysis.md quotes these figures; keep the note in step with the code."""
    from pathlib import Path

    from hsctms.meta import glmm_proportions

    doc = (Path(__file__).resolve().parents[2] / "docs" / "meta-analysis.md").read_text(
        encoding="utf-8")
    t = rep.trm
    assert f"**{t[0]:.2f}% ({t[1]:.2f}–{t[2]:.2f})**" in doc
    p5 = rep.progression_5y_inputs
    plo = pool_proportions(p5["events"], p5["n"], p5["study"],
                           model=ModelSpec(measure="PLO", method="REML"))
    assert f"{100 * plo.prop:.1f}% ({100 * plo.prop_ci[0]:.1f}–{100 * plo.prop_ci[1]:.1f})" in doc
    g = glmm_proportions(rep.trm_inputs["events"], rep.trm_inputs["n"])
    assert f"{100 * g.prop:.2f}% ({100 * g.prop_ci[0]:.2f}–{100 * g.prop_ci[1]:.2f})" in doc
    assert f"{rep.n_patients} patients" in doc
