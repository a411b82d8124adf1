"""hsctms.meta against R metafor 3.8.1 (and base R glm / binom.test) golden values.

Tolerances (absolute unless stated):
* effect sizes yi/vi, study CIs, exact CIs: 1e-12
* FE and DL (closed form): estimates, SE, CI, PI, tau², Q, I², H², weights: 1e-9
* REML: tau² 1e-6 relative (+1e-12); estimate, SE, proportions, CI/PI: 1e-7;
  I² and H²: 1e-5; weights (percent): 1e-5. stats-libraries.md found ~3e-7 relative
  achievable for REML tau² with PyMARE; hsctms solves the REML equation exactly, so the
  residual difference is R's Fisher-scoring stopping rule (threshold 1e-10).
* meta-regression coefficients, SE, p: 1e-6 relative; QM, R², I²: 1e-5
* Poisson / quasi-Poisson GLM: coefficients 1e-8, SE and dispersion 1e-6 relative
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hsctms.meta import (
    ModelSpec,
    escalc,
    exact_ci,
    meta_regression,
    poisson_regression,
    pool_proportions,
)

REF = Path(__file__).resolve().parents[1] / "reference" / "meta"
#: dataset -> moderators / subgroup column used by meta_oracle.R (see conftest.DATASETS)
MODERATORS = {"meta_trm": ["year", "edss"], "meta_neda": ["year", "edss"],
              "meta_rare": ["year", "edss"], "evidence_trm": ["pub_year"],
              "sormani_trm": ["pub_year"]}
GROUP = {"meta_trm": "era", "meta_neda": "era", "meta_rare": "era",
         "evidence_trm": "intensity", "sormani_trm": "era"}
DATASETS = list(MODERATORS)
pytestmark = pytest.mark.r


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"{name}.csv")


def close(a, b, atol=0.0, rtol=0.0):
    a = np.asarray(a, dtype=float)
    b = np.asarray([np.nan if v is None else v for v in np.atleast_1d(b)], dtype=float)
    np.testing.assert_allclose(a.ravel(), b.ravel(), atol=atol, rtol=rtol)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("measure", ["PLO", "PFT"])
def test_effect_sizes_and_study_cis(meta_golden, name, measure):
    g = meta_golden(name)["results"]
    d = _data(name)
    yi, vi = escalc(measure, d["events"], d["n"])
    close(yi, g[measure]["yi"], atol=1e-12)
    close(vi, g[measure]["vi"], atol=1e-12)
    res = pool_proportions(d["events"], d["n"], d["study"],
                           model=ModelSpec(measure=measure, method="DL"))
    close(res.studies["ci_low"], g[measure]["study_ci_lb"], atol=1e-12)
    close(res.studies["ci_high"], g[measure]["study_ci_ub"], atol=1e-12)
    lo, hi = exact_ci(d["events"], d["n"])
    close(lo, g["exact"]["lb"], atol=1e-12)
    close(hi, g["exact"]["ub"], atol=1e-12)


TOL = {"FE": dict(est=1e-9, tau2_rel=0, het=1e-9, w=1e-9),
       "DL": dict(est=1e-9, tau2_rel=1e-9, het=1e-9, w=1e-9),
       "REML": dict(est=1e-7, tau2_rel=1e-6, het=1e-5, w=1e-5)}


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("measure", ["PLO", "PFT"])
@pytest.mark.parametrize("method", ["FE", "DL", "REML"])
def test_pooled_estimate_and_heterogeneity(meta_golden, name, measure, method):
    R = meta_golden(name)["results"][measure][method]
    d = _data(name)
    t = TOL[method]
    res = pool_proportions(d["events"], d["n"], d["study"],
                           model=ModelSpec(measure=measure, method=method))
    close(res.estimate, R["est"], atol=t["est"])
    close(res.se, R["se"], atol=t["est"])
    close(res.zval, R["zval"], atol=t["est"] * 10, rtol=1e-7)
    close(res.pval, R["pval"], atol=1e-9, rtol=1e-6)
    close(res.ci, [R["ci_lb"], R["ci_ub"]], atol=t["est"])
    close(res.prop, R["prop"], atol=t["est"])
    close(res.prop_ci, [R["prop_ci_lb"], R["prop_ci_ub"]], atol=t["est"])
    close(res.tau2, R["tau2"], atol=1e-12, rtol=t["tau2_rel"])
    close(res.Q, R["QE"], atol=1e-9)
    close(res.Q_p, R["QEp"], atol=1e-9)
    close(res.I2, R["I2"], atol=t["het"])
    close(res.H2, R["H2"], atol=t["het"])
    close(res.studies["weight"], R["weights"], atol=t["w"])
    if method != "FE":
        # Q-profile CIs (R root finding tightened to 1e-12)
        close(res.tau2_ci, [R["tau2_ci"]["lb"], R["tau2_ci"]["ub"]], atol=1e-9, rtol=1e-7)
        close(res.I2_ci, [R["I2_ci"]["lb"], R["I2_ci"]["ub"]], atol=1e-6)
        close(res.H2_ci, [R["H2_ci"]["lb"], R["H2_ci"]["ub"]], atol=1e-7)
        close(res.pi, [R["pi_lb"], R["pi_ub"]], atol=t["est"])
        close(res.prop_pi, [R["prop_pi_lb"], R["prop_pi_ub"]], atol=t["est"])


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("measure", ["PLO", "PFT"])
@pytest.mark.parametrize("method", ["DL", "REML"])
def test_knapp_hartung(meta_golden, name, measure, method):
    K = meta_golden(name)["results"][measure][method]["knha"]
    d = _data(name)
    t = TOL[method]["est"]
    res = pool_proportions(d["events"], d["n"], d["study"],
                           model=ModelSpec(measure=measure, method=method, test="knha"))
    close(res.se, K["se"], atol=t)
    close(res.pval, K["pval"], atol=1e-9, rtol=1e-6)
    close(res.ci, [K["ci_lb"], K["ci_ub"]], atol=t)
    close(res.prop_ci, [K["prop_ci_lb"], K["prop_ci_ub"]], atol=t)
    close(res.pi, [K["pi_lb"], K["pi_ub"]], atol=t)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("measure", ["PLO", "PFT"])
@pytest.mark.parametrize("method", ["FE", "DL", "REML"])
def test_meta_regression(meta_golden, name, measure, method):
    M = meta_golden(name)["results"][measure][method]["metareg"]
    d = _data(name)
    mr = meta_regression(d["events"], d["n"], d[MODERATORS[name]],
                         model=ModelSpec(measure=measure, method=method))
    assert mr.terms[1:] == list(np.atleast_1d(M["moderators"]))
    close(mr.coef, M["coef"], atol=1e-9, rtol=1e-6)
    close(mr.se, M["se"], atol=1e-9, rtol=1e-6)
    close(mr.pval, M["pval"], atol=1e-9, rtol=1e-6)
    close(mr.ci_low, M["ci_lb"], atol=1e-9, rtol=1e-6)
    close(mr.tau2, M["tau2"], atol=1e-10, rtol=1e-6)
    close(mr.QM, M["QM"], atol=1e-5, rtol=1e-6)
    close(mr.QM_p, M["QMp"], atol=1e-7)
    close(mr.QE, M["QE"], atol=1e-9, rtol=1e-9)
    close(mr.I2, M["I2"], atol=1e-5)
    close(np.nan if mr.R2 is None else mr.R2, M["R2"], atol=1e-5)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("measure", ["PLO", "PFT"])
@pytest.mark.parametrize("method", ["FE", "DL", "REML"])
def test_subgroups(meta_golden, name, measure, method):
    S = meta_golden(name)["results"][measure][method]["subgroups"]
    d = _data(name)
    res = pool_proportions(d["events"], d["n"], d["study"],
                           model=ModelSpec(measure=measure, method=method),
                           by=d[GROUP[name]].astype(str), by_name=GROUP[name])
    sg = res.subgroups
    assert sg is not None
    assert list(sg.groups) == S["levels"]
    t = TOL[method]
    for lev, G in S["groups"].items():
        g = sg.groups[lev]
        close(g.estimate, G["est"], atol=t["est"])
        close(g.se, G["se"], atol=t["est"])
        close(g.tau2, G["tau2"], atol=1e-12, rtol=t["tau2_rel"])
        close(g.prop, G["prop"], atol=t["est"])
        close(g.prop_ci, [G["prop_ci_lb"], G["prop_ci_ub"]], atol=t["est"])
    close(sg.Q_between, S["Q_between"], atol=1e-6)
    assert sg.df == S["df"]
    close(sg.p_between, S["p_between"], atol=1e-7)
    close(sg.mixed_QM, S["mixed_QM"], atol=1e-5, rtol=1e-6)
    close(sg.mixed_tau2, S["mixed_tau2"], atol=1e-10, rtol=1e-6)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("family", ["poisson", "quasipoisson"])
def test_poisson_regression(meta_golden, name, family):
    P = meta_golden(name)["results"]["poisson"]
    d = _data(name)
    key = "intercept" if family == "poisson" else "quasi_intercept"
    res = poisson_regression(d["events"], d["n"], family=family)
    close(res.coef, P[key]["coef"], atol=1e-8)
    close(res.se, P[key]["se"], rtol=1e-6)
    close(res.pval, P[key]["pval"], atol=1e-9, rtol=1e-6)
    close(res.dispersion, P[key]["dispersion"], rtol=1e-6)
    close(res.rate[0], d["events"].sum() / d["n"].sum(), rtol=1e-9)  # intercept = crude rate
    key = "model" if family == "poisson" else "quasi_model"
    res = poisson_regression(d["events"], d["n"], d[list(np.atleast_1d(P["moderators"]))],
                             family=family)
    close(res.coef, P[key]["coef"], atol=1e-8, rtol=1e-8)
    close(res.se, P[key]["se"], rtol=1e-6)
    close(res.pval, P[key]["pval"], atol=1e-9, rtol=1e-6)
    close(res.deviance, P[key]["deviance"], atol=1e-8)


def test_evidence_reference_table_is_current():
    """evidence_trm.csv (input of a golden file) is the shipped evidence base's TRM table."""
    from hsctms.evidence import load_evidence

    t = load_evidence().trm_data()
    ref = _data("evidence_trm")
    assert ref["study"].tolist() == t["study"].tolist()
    assert ref["events"].tolist() == t["events"].tolist()
    assert ref["n"].tolist() == t["n"].tolist()
    assert ref["intensity"].tolist() == t["intensity"].tolist()


@pytest.mark.parametrize("name", DATASETS)
def test_glmm_against_rma_glmm(meta_golden, name):
    """Binomial-normal GLMM vs metafor rma.glmm (lme4 glmer, nAGQ = 7, bobyqa rhoend 1e-12).

    First, hsctms's maximum of the (same 7-node adaptive Gauss-Hermite) likelihood is at least
    as high as the likelihood at R's estimates. Tolerances then: mu 1e-6 abs + 1e-6 relative;
    proportions 1e-6 abs; tau² 1e-5 relative (+1e-8 abs); SE 1e-5 relative (both sides use
    finite-difference Hessians); I², H² 1e-3; LRT 1e-8. meta_rare (a 12/12 study next to
    zero-event ones) has an almost flat likelihood at tau² ~ 300: there the estimates agree to
    1e-4 (mu), 1e-3 (tau²) and 1e-2 (SE) relative, the CI limits (driven by the SE) to 2e-2
    absolute, and the likelihoods to 1e-9.
    """
    from hsctms.meta.glmm import _loglik, glmm_proportions

    G = meta_golden(name)["results"]["glmm"]
    d = _data(name)
    x, n = d["events"].to_numpy(float), d["n"].to_numpy(float)
    res = glmm_proportions(x, n, d["study"])
    ours = _loglik(np.array([np.sqrt(res.tau2), res.estimate]), x, n)
    theirs = _loglik(np.array([np.sqrt(G["tau2"]), G["est"]]), x, n)
    assert ours >= theirs - 1e-9
    flat = name == "meta_rare"
    close(res.estimate, G["est"], atol=1e-6, rtol=1e-4 if flat else 1e-6)
    close(res.se, G["se"], rtol=1e-2 if flat else 1e-5)
    close(res.tau2, G["tau2"], atol=1e-8, rtol=1e-3 if flat else 1e-5)
    close(res.prop, G["prop"], atol=1e-6)
    close(res.prop_ci, [G["prop_ci_lb"], G["prop_ci_ub"]], atol=2e-2 if flat else 1e-6)
    close(res.prop_pi, [G["prop_pi_lb"], G["prop_pi_ub"]], atol=2e-2 if flat else 1e-5)
    close(res.I2, G["I2"], atol=1e-3)
    close(res.H2, G["H2"], atol=1e-3, rtol=1e-3 if flat else 0)
    close(res.Q, G["QE_LRT"], atol=1e-8)
    close(res.Q_p, G["QEp_LRT"], atol=1e-9)
