"""Trial simulation: agreement with analytic power, exactness of the vectorised analyses,
reproducibility and the Dask grid."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hsctms.design import (
    Accrual,
    ControlArm,
    EventModel,
    Testing,
    survival_design,
    two_proportions,
)
from hsctms.design._analysis import analyse_rates, analyse_survival
from hsctms.design.counts import _variances
from hsctms.design.simulate import Scenario, grid_table, run_grid, simulate_trials
from hsctms.errors import DesignError

MC_TOL = 4.0  # tolerance in Monte Carlo standard errors


def test_proportion_power_and_type1_agree_with_analytic() -> None:
    sc = Scenario("proportion", 150, 150, p_treatment=0.75, p_control=0.6)
    res = simulate_trials(sc, 4000, seed=11)
    analytic = two_proportions(0.75, 0.6, n=300).power
    assert abs(res.power - analytic) < MC_TOL * res.power_mcse
    assert res.type1 is not None and res.type1_mcse is not None
    assert abs(res.type1 - 0.05) < MC_TOL * res.type1_mcse
    assert res.bias is not None and abs(res.bias) < MC_TOL * res.bias_mcse


def test_noninferiority_type1_at_margin() -> None:
    sc = Scenario("proportion", 200, 200, p_treatment=0.6, p_control=0.6, null_value=-0.1,
                  sided=1, alpha=0.025)
    res = simulate_trials(sc, 4000, seed=5)
    analytic = two_proportions(0.6, 0.6, n=400, testing=Testing(0.025, 1, margin=-0.1)).power
    assert abs(res.power - analytic) < MC_TOL * res.power_mcse
    assert res.type1 is not None and res.type1_mcse is not None
    assert abs(res.type1 - 0.025) < MC_TOL * res.type1_mcse


def test_survival_power_agrees_with_schoenfeld() -> None:
    sc = Scenario("survival", 100, 100, hr=0.6, control_rate=0.3, accrual=2.0, follow_up=2.0)
    res = simulate_trials(sc, 4000, seed=3)
    analytic = survival_design(0.6, n=200, model=EventModel(control=ControlArm(rate=0.3),
                                                            accrual=Accrual(2.0, follow_up=2.0)))
    assert abs(res.power - analytic.power) < MC_TOL * res.power_mcse
    # expected number of events matches the accrual formula: uniform entry over a = 2 years,
    # f = 2 years further follow-up, P(event | rate l) = 1 - (e^{-l f} - e^{-l (a + f)}) / (l a)
    def p_event(rate: float, a: float = 2.0, f: float = 2.0) -> float:
        return 1 - (math.exp(-rate * f) - math.exp(-rate * (a + f))) / (rate * a)

    expected_events = 100 * p_event(0.3) + 100 * p_event(0.6 * 0.3)  # about 100.14
    assert analytic.extra["p_event"] == pytest.approx(expected_events / 200, rel=1e-12)
    assert res.outcomes["mean_events"] == pytest.approx(expected_events, rel=0.02)


def test_counts_variance_matches_zhu_lakkis() -> None:
    # the sampling SD of the log rate ratio equals sqrt(V1 / n2) (the formula's core claim)
    sc = Scenario("counts", 200, 200, rate_treatment=0.2, rate_control=0.4, dispersion=0.8,
                  horizon=2.0)
    res = simulate_trials(sc, 3000, seed=7, type1=False)
    # Zhu & Lakkis V1 = (1/t)(1/l_c + 1/(r l_t)) + (1+r)k/r = (1/2)(1/0.4 + 1/0.2) + 2 * 0.8
    #                 = 3.75 + 1.6 = 5.35  (t = 2 years, r = 1, k = 0.8)
    v1 = 0.5 * (2.5 + 5.0) + 1.6
    assert _variances(0.2, 0.4, 2.0, 0.8, 1.0, "alternative") == pytest.approx((v1, v1),
                                                                              rel=1e-12)
    expected_sd = math.sqrt(v1 / 200)
    # MC SE of an SD estimate ~ sd / sqrt(2 (m - 1))
    assert abs(res.empirical_se - expected_sd) < MC_TOL * expected_sd / math.sqrt(2 * 2999)
    assert res.outcomes["mean_dispersion"] == pytest.approx(0.8, abs=0.05)


def test_vectorised_cox_and_logrank_match_statsmodels() -> None:
    from statsmodels.duration.hazard_regression import PHReg
    from statsmodels.duration.survfunc import survdiff

    rng = np.random.default_rng(4)
    n = 80
    group = np.repeat([1.0, 0.0], n // 2)[None, :].repeat(3, axis=0)
    t_ev = rng.exponential(1.0 / np.where(group == 1, 0.6, 1.0))
    cens = rng.uniform(0, 2.5, group.shape)
    time = np.minimum(t_ev, cens)
    event = (t_ev <= cens).astype(float)
    out = analyse_survival(time, event, group)
    for i in range(3):
        fit = PHReg(time[i], group[i][:, None], status=event[i], ties="breslow").fit()
        assert out["estimate"][i] == pytest.approx(fit.params[0], abs=1e-8)
        chi2, _ = survdiff(time[i], event[i], group[i])
        assert out["z"][i] ** 2 == pytest.approx(chi2, rel=1e-10)


def test_rate_analysis_estimate() -> None:
    c1 = np.array([[0, 1, 2, 0]], float)
    c2 = np.array([[1, 3, 2, 2]], float)
    e = np.ones((1, 4))
    out = analyse_rates(c1, e, c2, e)
    assert out["estimate"][0] == pytest.approx(math.log(3 / 8))


def test_reproducible_from_seed() -> None:
    sc = Scenario("proportion", 40, 40, p_treatment=0.8, p_control=0.5, crossover=0.2,
                  early_death=0.02, dropout_rate=0.1)
    a = simulate_trials(sc, 500, seed=99)
    b = simulate_trials(sc, 500, seed=99)
    np.testing.assert_array_equal(a.estimates, b.estimates)
    assert a.power == b.power


def test_complications_dilute_effect() -> None:
    base = Scenario("proportion", 100, 100, p_treatment=0.8, p_control=0.5)
    diluted = Scenario("proportion", 100, 100, p_treatment=0.8, p_control=0.5,
                       crossover=0.3, early_death=0.03)
    r0 = simulate_trials(base, 2000, seed=1, type1=False)
    r1 = simulate_trials(diluted, 2000, seed=1, type1=False)
    assert r1.mean_estimate < r0.mean_estimate
    assert r1.bias is not None and r1.bias < -MC_TOL * r1.bias_mcse
    # contamination model: expected ITT difference = (1-c)(p1 - p2) - trm * p1
    expected = 0.8 * (1 - 0.03) - (0.7 * 0.5 + 0.3 * 0.8)
    assert abs(r1.mean_estimate - expected) < MC_TOL * r1.bias_mcse


def test_scenario_errors() -> None:
    with pytest.raises(DesignError, match="needs"):
        Scenario("proportion", 10, 10, p_treatment=0.5)
    with pytest.raises(DesignError, match="endpoint"):
        Scenario("neda", 10, 10)
    with pytest.raises(DesignError, match="probability"):
        Scenario("proportion", 10, 10, p_treatment=0.5, p_control=0.4, crossover=1.5)


def test_disease_model_scenario() -> None:
    import hsctms.datasets.disease_model as dm
    sc = Scenario("proportion", 60, 60, treatment_arm=dm.ahsct(), control_arm=dm.alemtuzumab(),
                  null_value=-0.1, sided=1, alpha=0.025, label="ZEUS-like NEDA")
    res = simulate_trials(sc, 1000, seed=2)
    assert res.type1 is not None and res.type1_mcse is not None
    # null arm calibrated on the margin: type I error near (at most about) alpha
    assert res.type1 < 0.025 + MC_TOL * max(res.type1_mcse, 0.005)
    assert res.nominal is not None and res.nominal > 0
    assert "ZEUS-like" in res.summary


def test_grid_on_dask_local_cluster_matches_serial() -> None:
    import distributed
    scenarios = [Scenario("proportion", n, n, p_treatment=0.7, p_control=0.5, label=f"n={n}")
                 for n in (30, 60)]
    serial = run_grid(scenarios, 300, seed=3)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        parallel = run_grid(scenarios, 300, seed=3, client=client)
    assert [r.power for r in parallel] == [r.power for r in serial]
    rows = grid_table(parallel)
    assert rows[1]["power"] > rows[0]["power"]


def test_engine_path_uses_generator_and_endpoint_engine() -> None:
    import hsctms.datasets.disease_model as dm
    import hsctms.endpoints  # noqa: F401
    from hsctms.design.engine_sim import engine_success_probability

    sc = Scenario("proportion", 40, 40, treatment_arm=dm.ahsct(), control_arm=dm.alemtuzumab(),
                  definition="halt_ms", label="engine")
    res = simulate_trials(sc, 60, seed=4)
    assert res.nominal is not None
    # the simulated trial estimates centre on the engine's per-arm NEDA difference
    assert abs(res.mean_estimate - res.nominal) < MC_TOL * res.bias_mcse + 0.02
    p_t = engine_success_probability(sc, dm.ahsct())
    assert 0 < p_t < 1
    assert engine_success_probability(sc, dm.ahsct()) == p_t  # cached, common random numbers
    counts = simulate_trials(dataclasses_replace(sc, endpoint="counts"), 30, seed=1)
    assert counts.outcomes["mean_dispersion"] >= 0
    surv = simulate_trials(dataclasses_replace(sc, endpoint="survival",
                                               model_endpoint="worsening"), 30, seed=1)
    assert surv.outcomes["mean_events"] > 0
    with pytest.raises(DesignError, match="Crossover"):
        simulate_trials(dataclasses_replace(sc, crossover=0.1), 20, seed=1)
    with pytest.raises(DesignError, match="no endpoint"):
        simulate_trials(dataclasses_replace(sc, model_endpoint="nonsense"), 20, seed=1)
    with pytest.raises(DesignError, match="disease-model arms"):
        Scenario("proportion", 5, 5, p_treatment=0.5, p_control=0.4, definition="halt_ms")


def dataclasses_replace(sc: Scenario, **changes: object) -> Scenario:
    import dataclasses

    return dataclasses.replace(sc, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("endpoint", ["neda3_loss", "worsening", "relapse", "mri_activity"])
def test_latent_closed_form_matches_latent_simulation(endpoint: str) -> None:
    import hsctms.datasets.disease_model as dm
    quiet = {"early_death_prob": 0.0, "other_death_rate": 0.0, "dropout_rate": 0.0}
    sc = Scenario("proportion", 300, 300, treatment_arm=dm.ahsct().replace(**quiet),
                  control_arm=dm.alemtuzumab().replace(**quiet), model_endpoint=endpoint)
    res = simulate_trials(sc, 1500, seed=8, type1=False)
    assert res.bias is not None
    assert abs(res.bias) < MC_TOL * res.bias_mcse
    if endpoint == "worsening":
        surv = simulate_trials(dataclasses_replace(sc, endpoint="survival", horizon=3.0,
                                                   accrual=1.0, follow_up=3.0), 600, seed=2,
                               type1=False)
        assert surv.bias is not None and abs(surv.bias) < MC_TOL * surv.bias_mcse + 0.02
    with pytest.raises(DesignError, match="Unknown disease-model endpoint"):
        simulate_trials(dataclasses_replace(sc, model_endpoint="pira"), 20, seed=1)


def test_unequal_allocation_and_survival_noninferiority() -> None:
    sc = Scenario("proportion", 200, 100, p_treatment=0.85, p_control=0.8, null_value=-0.1,
                  sided=1, alpha=0.025)
    res = simulate_trials(sc, 3000, seed=21)
    analytic = two_proportions(0.85, 0.8, n=300, ratio=2.0,
                               testing=Testing(0.025, 1, margin=-0.1))
    assert abs(res.power - analytic.power) < MC_TOL * res.power_mcse
    ni = Scenario("survival", 150, 150, hr=1.0, control_rate=0.4, accrual=1.0, follow_up=2.0,
                  null_value=1.6, sided=1, alpha=0.025)
    out = simulate_trials(ni, 2000, seed=5)
    assert out.type1 is not None and out.type1_mcse is not None
    assert abs(out.type1 - 0.025) < MC_TOL * out.type1_mcse
    events = out.outcomes["mean_events"]
    expected = survival_design(1.0, events=events, testing=Testing(0.025, 1, margin=1.6)).power
    assert abs(out.power - expected) < MC_TOL * out.power_mcse + 0.01


def test_progress_and_worker_process_do_not_change_results(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    import hsctms.datasets.disease_model as dm
    import hsctms.design.simulate as sim

    engine = Scenario("proportion", 30, 30, treatment_arm=dm.ahsct(),
                      control_arm=dm.alemtuzumab(), definition="halt_ms", null_value=-0.1,
                      label="engine NI")
    latent = Scenario("proportion", 60, 60, p_treatment=0.8, p_control=0.6)
    monkeypatch.setattr(sim, "_PARALLEL_PATIENTS", 1)  # the latent one uses the worker too
    shipped = []
    for sc in (engine, latent):
        seen: list[tuple[str, int, int]] = []
        shipped.append(simulate_trials(sc, 40, seed=3, chunk=15,
                                       progress=lambda *a, seen=seen: seen.append(a)))
        done = [d for _, d, _ in seen]
        assert done == sorted(done) and done[-1] == 80  # H1 then the null trials
        assert {t for _, _, t in seen} == {80}
        assert seen[0][0] == f"simulating {sc.label or 'proportion'}"
    monkeypatch.setenv("HSCTMS_SIMULATION_PROCESSES", "1")
    assert sim._worker() is None
    single = [simulate_trials(sc, 40, seed=3, chunk=15) for sc in (engine, latent)]
    for a, b in zip(shipped, single, strict=True):
        assert (a.power, a.type1, a.mean_estimate, a.nominal) == \
            (b.power, b.type1, b.mean_estimate, b.nominal)
        assert np.array_equal(a.estimates, b.estimates, equal_nan=True)


def test_engine_derivation_without_revalidation_is_identical() -> None:
    import hsctms.datasets.disease_model as dm
    from hsctms.datasets.course import simulate_arm
    from hsctms.endpoints import derive_frames
    from hsctms.endpoints.derive import _derive

    tabs = simulate_arm(300, dm.alemtuzumab(), np.random.default_rng(8), followup_years=2.6)
    fu = tabs["follow_up"]
    kw = {"origin": fu[["patient_id", "origin_date"]], "deaths": tabs["deaths"],
          "definition": "halt_ms", "patients": fu[["patient_id"]]}
    checked = derive_frames(tabs["edss"], tabs["relapses"], tabs["mri"], **kw).to_frame()
    trusted = _derive(tabs["edss"], tabs["relapses"], tabs["mri"], kw["origin"], kw["deaths"],
                      "halt_ms", patients=kw["patients"], validate=False).to_frame()
    import pandas as pd

    pd.testing.assert_frame_equal(checked, trusted)


def test_run_grid_reports_numbered_scenarios() -> None:
    scs = [Scenario("proportion", 20, 20, p_treatment=0.7, p_control=0.5, label=lab)
           for lab in ("a", "b")]
    seen: list[str] = []
    run_grid(scs, 20, seed=1, progress=lambda text, done, total: seen.append(text))
    assert seen[0] == "scenario 1/2: simulating a" and seen[-1] == "scenario 2/2: simulating b"
