"""hsctms.survival against R survival 3.5 / cmprsk 2.2 golden values.

Tolerances (absolute unless stated):

* closed-form quantities (KM S(t), Greenwood SE, CI limits for all transforms and levels,
  numbers at risk, RMST and its SE, Aalen-Johansen CIF, its SE and CIs, log-rank, Gray's
  test): 1e-9 (observed agreement ~1e-13);
* medians and reverse-KM median follow-up (event times): exact;
* Cox PH (iterative fit; R and statsmodels stop at different points): coefficients, SE,
  p-values 1e-6, log-likelihoods 1e-6;
* proportional-hazards score test (depends on the fitted coefficients): 1e-6 relative.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hsctms.errors import EstimationError
from hsctms.survival import (
    cox_ph,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    logrank_test,
    median_followup,
)

pytestmark = pytest.mark.r

NAMES = ["cr3", "surv2", "lung"]
CR_NAMES = ["cr3", "surv2"]
TIGHT = 1e-9
REF_DIR = Path(__file__).resolve().parents[1] / "reference" / "survival"

Golden = Callable[[str], dict[str, Any]]
Data = Callable[[str], pd.DataFrame]


def _arr(x: Any) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.atleast_1d(x)], dtype=float)


def _subsets(d: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    out = [("overall", d)]
    for g in sorted(d["group"].astype(str).unique(), key=lambda v: (len(v), v)):
        out.append((f"group_{g}", d[d["group"].astype(str) == g]))
    return out


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
@pytest.mark.parametrize("level", [0.9, 0.95])
def test_kaplan_meier(golden: Golden, dataset: Data, name: str, conf_type: str,
                      level: float) -> None:
    g = golden(name)
    d = dataset(name)
    key = f"{conf_type}_{level:g}"
    for sub_name, sub in _subsets(d):
        ref = g["km"][sub_name]
        km = kaplan_meier(sub["time"], (sub["event"] != 0).astype(int), level=level,
                          conf_type=conf_type)
        at = km.survival_at(_arr(ref["times"]))
        np.testing.assert_allclose(at["surv"], _arr(ref["surv"]), atol=TIGHT, rtol=0)
        np.testing.assert_allclose(at["se"], _arr(ref["std_err"]), atol=TIGHT, rtol=0)
        np.testing.assert_allclose(at["lower"], _arr(ref["ci"][key]["lower"]), atol=TIGHT,
                                   rtol=0)
        np.testing.assert_allclose(at["upper"], _arr(ref["ci"][key]["upper"]), atol=TIGHT,
                                   rtol=0)
        np.testing.assert_array_equal(at["n_risk"], _arr(ref["n_risk"]))
        np.testing.assert_array_equal(at["cum_events"], _arr(ref["cum_events"]))
        med = km.median
        np.testing.assert_array_equal(
            [med.estimate, med.lower, med.upper],
            _arr([ref["median"]["estimate"][0], ref["median"][key]["lower"][0],
                  ref["median"][key]["upper"][0]]),
        )
        assert km.n == ref["n"][0] and km.events == ref["events"][0]


@pytest.mark.parametrize("name", NAMES)
def test_rmst_and_followup(golden: Golden, dataset: Data, name: str) -> None:
    g = golden(name)
    d = dataset(name)
    for sub_name, sub in _subsets(d):
        ref = g["km"][sub_name]
        status = (sub["event"] != 0).astype(int)
        r = kaplan_meier(sub["time"], status).rmst(ref["rmean"]["tau"][0])
        assert r.estimate == pytest.approx(ref["rmean"]["estimate"][0], abs=TIGHT)
        assert r.se == pytest.approx(ref["rmean"]["se"][0], abs=TIGHT)
        fu = median_followup(sub["time"], status)
        assert fu.median.estimate == ref["reverse_km_median"][0]


@pytest.mark.parametrize("name", NAMES)
def test_logrank(golden: Golden, dataset: Data, name: str) -> None:
    g = golden(name)
    d = dataset(name)
    status = (d["event"] != 0).astype(int)
    res = logrank_test(d["time"], status, d["group"])
    ref = g["logrank"]
    assert res.statistic == pytest.approx(ref["chisq"][0], abs=TIGHT)
    assert res.p_value == pytest.approx(ref["p"][0], abs=TIGHT)
    assert res.df == ref["df"][0]
    np.testing.assert_allclose(res.observed, _arr(ref["observed"]), atol=TIGHT)
    np.testing.assert_allclose(res.expected, _arr(ref["expected"]), atol=TIGHT)
    if g["logrank_strat"] is not None:
        res = logrank_test(d["time"], status, d["group"], strata=d["stratum"])
        ref = g["logrank_strat"]
        assert res.statistic == pytest.approx(ref["chisq"][0], abs=TIGHT)
        np.testing.assert_allclose(res.expected, _arr(ref["expected"]), atol=TIGHT)


@pytest.mark.parametrize("name", NAMES)
def test_cox_efron(golden: Golden, dataset: Data, name: str) -> None:
    g = golden(name)
    d = dataset(name).assign(status=lambda x: (x["event"] != 0).astype(int))
    m = cox_ph(d, "time", "status", g["meta"]["covariates"], factors=g["meta"]["factors"])
    ref = g["cox"]
    assert list(m.columns) == ref["term"]
    np.testing.assert_allclose(m.coef, _arr(ref["coef"]), atol=1e-6)
    np.testing.assert_allclose(m.se, _arr(ref["se"]), atol=1e-6)
    np.testing.assert_allclose(m.p, _arr(ref["p"]), atol=1e-6)
    np.testing.assert_allclose(m.loglik, _arr(ref["loglik"]), atol=1e-6)
    for lv, ci in ref["hr_ci"].items():
        lo, hi = m.hr_ci(float(lv))
        np.testing.assert_allclose(lo, _arr(ci["lower"]), rtol=1e-6)
        np.testing.assert_allclose(hi, _arr(ci["upper"]), rtol=1e-6)
    assert m.n == ref["n"][0] and m.n_events == ref["nevent"][0]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("transform", ["km", "identity"])
def test_cox_zph(golden: Golden, dataset: Data, name: str, transform: str) -> None:
    g = golden(name)
    d = dataset(name).assign(status=lambda x: (x["event"] != 0).astype(int))
    m = cox_ph(d, "time", "status", g["meta"]["covariates"], factors=g["meta"]["factors"])
    z = m.ph_test(transform)
    ref = g["cox"]["zph"][transform]
    assert z.table["term"].tolist() == ref["name"]
    np.testing.assert_allclose(z.table["chisq"], _arr(ref["chisq"]), rtol=1e-6)
    np.testing.assert_allclose(z.table["p"], _arr(ref["p"]), rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(z.table["df"], _arr(ref["df"]))


@pytest.mark.parametrize("name", CR_NAMES)
@pytest.mark.parametrize("conf_type", ["log", "log-log"])
@pytest.mark.parametrize("level", [0.9, 0.95])
def test_aalen_johansen(golden: Golden, dataset: Data, name: str, conf_type: str,
                        level: float) -> None:
    g = golden(name)
    d = dataset(name)
    key = f"{conf_type}_{level:g}"
    for sub_name, sub in _subsets(d):
        ref = g["cif"][sub_name]
        fit = cumulative_incidence(sub["time"], sub["event"], level=level, conf_type=conf_type)
        for k in (1, 2):
            at = fit.incidence_at(_arr(ref["times"]), cause=k)
            np.testing.assert_allclose(at["cif"], _arr(ref[f"ev{k}"]), atol=TIGHT, rtol=0)
            np.testing.assert_allclose(at["se"], _arr(ref[f"se_ev{k}"]), atol=TIGHT, rtol=0)
            np.testing.assert_allclose(at["lower"], _arr(ref["ci"][key][f"lower_ev{k}"]),
                                       atol=TIGHT, rtol=0)
            np.testing.assert_allclose(at["upper"], _arr(ref["ci"][key][f"upper_ev{k}"]),
                                       atol=TIGHT, rtol=0)
            np.testing.assert_array_equal(at["n_risk"], _arr(ref["n_risk"]))


@pytest.mark.parametrize("name", CR_NAMES)
def test_cif_matches_cmprsk(golden: Golden, dataset: Data, name: str) -> None:
    g = golden(name)
    d = dataset(name)
    for label, curve in g["cif"]["cmprsk"].items():
        grp, cause = label.rsplit(" ", 1)
        sub = d[d["group"].astype(str) == grp]
        fit = cumulative_incidence(sub["time"], sub["event"])
        at = fit.incidence_at(g["meta"]["times"], cause=int(cause))
        np.testing.assert_allclose(at["cif"], _arr(curve["est"]), atol=TIGHT, rtol=0)


GRAY_CASES = [(name, key, rho, strat) for name in CR_NAMES
              for key, rho, strat in (("rho0", 0.0, False), ("rho1", 1.0, False),
                                      ("strata_rho0", 0.0, True))
              if not (strat and name == "surv2")]  # surv2 has no strata


@pytest.mark.parametrize(("name", "key", "rho", "stratified"), GRAY_CASES)
def test_gray(golden: Golden, dataset: Data, name: str, key: str, rho: float,
              stratified: bool) -> None:
    g = golden(name)
    d = dataset(name)
    for cause in (1, 2):
        res = gray_test(d["time"], d["event"], d["group"], cause=cause, rho=rho,
                        strata=d["stratum"] if stratified else None)
        ref = g["gray"][key][f"cause_{cause}"]
        assert res.statistic == pytest.approx(ref["stat"][0], abs=TIGHT)
        assert res.p_value == pytest.approx(ref["p"][0], abs=TIGHT)
        assert res.df == ref["df"][0]


@pytest.mark.parametrize("name", NAMES)
def test_scaled_schoenfeld_residuals(golden: Golden, dataset: Data, name: str) -> None:
    """R cox.zph(terms=FALSE): times, KM-transformed times and scaled residuals (1e-6)."""
    g = golden(name)
    d = dataset(name).assign(status=lambda x: (x["event"] != 0).astype(int))
    m = cox_ph(d, "time", "status", g["meta"]["covariates"], factors=g["meta"]["factors"])
    res = m.ph_test().residuals
    assert res is not None
    ref = g["cox"]["zph_residuals"]
    np.testing.assert_array_equal(res["time"], _arr(ref["time"]))
    np.testing.assert_allclose(res["x"], _arr(ref["x"]), atol=TIGHT)
    for j, col in enumerate(m.columns):
        np.testing.assert_allclose(res[col], _arr(ref["y"][j]), atol=1e-6)


GRAY_EDGE = REF_DIR / "gray_cases.json"


@pytest.fixture(scope="module")
def gray_edge_golden(rscript: str | None) -> dict[str, Any]:
    """R cmprsk on the edge cases: fresh when R is installed (a failing run fails), else the
    committed golden_gray_cases.json; the committed file must equal a fresh run."""
    committed: dict[str, Any] = json.loads((REF_DIR / "golden_gray_cases.json").read_text())
    if not rscript:
        return committed
    proc = subprocess.run([rscript, str(REF_DIR / "gray_reference.R"), str(GRAY_EDGE)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"gray_reference.R failed:\n{proc.stderr}"
    fresh: dict[str, Any] = json.loads(proc.stdout)
    assert set(fresh) == set(committed), "run tests/reference/survival/regenerate.sh"
    for name, tests in fresh.items():
        for key, r in tests.items():
            c = committed[name][key]
            assert r["stat"] == pytest.approx(c["stat"], rel=1e-12), (name, key)
    return fresh


@pytest.mark.parametrize("name", list(json.loads(GRAY_EDGE.read_text())))
def test_gray_edge_cases(gray_edge_golden: dict[str, Any], name: str) -> None:
    """Small edge cases (singleton groups, the pooled CIF reaching 1 before the last time,
    which a fuzz run found giving NaN): statistic and p to 1e-9; where cmprsk reports
    stat = -1 (its marker for a singular variance) hsctms raises EstimationError."""
    case = json.loads(GRAY_EDGE.read_text())[name]
    t, e, g = np.array(case["time"], float), np.array(case["event"]), np.array(case["group"])
    for key, ref in gray_edge_golden[name].items():
        rho = float(key.split("_")[0][3:])
        cause = int(key.split("cause")[1])
        if ref["stat"] == -1:
            with pytest.raises(EstimationError, match="singular"):
                gray_test(t, e, g, cause=cause, rho=rho)
            continue
        res = gray_test(t, e, g, cause=cause, rho=rho)
        assert res.statistic == pytest.approx(ref["stat"], abs=TIGHT), (key, res.statistic)
        assert res.p_value == pytest.approx(ref["p"], abs=TIGHT), key
        assert res.df == ref["df"]
