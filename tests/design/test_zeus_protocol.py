"""ZEUS as a protocol: headline sizes, sources as citations, readable labels, grid, OC curve.

Every number the protocol sections show is recomputed here by calling the design functions
directly; the OC curve is also checked against rpact 3.3.4 (R) values (script in the test).
"""

from __future__ import annotations

import math
import re
from statistics import NormalDist
from typing import Any

import pytest

from hsctms.design.counts import counts_design
from hsctms.design.options import CountModel, Testing
from hsctms.design.presets import PRESETS, evaluate_preset
from hsctms.design.presets._protocol import oc_power
from hsctms.design.presets._schema import read_spec
from hsctms.design.proportions import _sds, two_proportions
from hsctms.design.report import render_preset_report
from hsctms.evidence import study

NI = Testing(0.025, 1, margin=-0.10)
SUP = Testing(0.025, 1)


@pytest.fixture(scope="module")
def zeus() -> Any:
    return evaluate_preset("zeus", n_trials=100, seed=5, engine_trials=10)


@pytest.fixture(scope="module")
def html(zeus: Any) -> str:
    return render_preset_report(zeus)


def _randomised(n2: float, loss: float = 0.10) -> tuple[int, int]:
    per_arm = math.ceil(n2 / (1 - loss) - 1e-9)
    return 2 * per_arm, per_arm


def test_headline_n_equals_the_design_function(zeus: Any, html: str) -> None:
    proto = zeus.protocol
    framings = {f.key: f for f in proto.framings}
    assert list(framings) == ["non_inferiority", "superiority"]
    ni = two_proportions(0.32, 0.32, power=0.8, testing=NI)
    sup = two_proportions(0.70, 0.40, power=0.8, testing=SUP)
    for key, ref, p1, p2 in (("non_inferiority", ni, 0.32, 0.32),
                             ("superiority", sup, 0.70, 0.40)):
        f = framings[key]
        assert f.design.n_total == ref.n_total
        n, per_arm = _randomised(ref.n2)
        events = round(per_arm * (1 - p1) + per_arm * (1 - p2))
        assert (f.randomised, f.per_arm, f.events) == (n, per_arm, events)
        head = f"Randomise {n} patients ({per_arm} per arm, {events} expected NEDA-3 failures)"
        assert f.headline.startswith(head)
        assert head in html
    assert ni.n_total_ceil == 682 and framings["non_inferiority"].randomised == 758
    assert framings["superiority"].randomised == 94
    assert "more than 10 points lower" in framings["non_inferiority"].headline
    assert "from 40% on alemtuzumab to 70% on aHSCT" in framings["superiority"].headline
    assert zeus.primary.n_total == ni.n_total  # the simulated primary is the NI framing
    for f in proto.framings:
        assert f.case_for and f.case_against and f.studies


def test_every_source_is_an_evidence_base_citation(zeus: Any, html: str) -> None:
    spec = read_spec(PRESETS["zeus"].source_file)  # type: ignore[arg-type]
    for sid, ref in spec.references.items():
        s = study(sid)
        assert ref.citation == s["citation"], sid
        assert ref.doi == s.get("doi"), sid
        assert sorted(ref.unverified) == sorted(s.get("unverified") or []), sid
        assert ref.citation in html
        if ref.doi:
            assert f"doi:{ref.doi}" in html
        if ref.unverified:
            assert f"(unverified: {', '.join(ref.unverified)})" in html
    used = [i for a in spec.assumptions for i in a.studies]
    used += [i for f in spec.framings for i in f.studies]
    used += [i for o in spec.outcomes for i in o.studies]
    assert spec.estimand is not None and spec.protocol is not None
    used += spec.estimand.studies + spec.protocol.accrual_studies
    assert set(used) == set(spec.references)
    design = next(a for a in spec.assumptions if a.name == "Design")
    assert design.studies == ["giovannoni2015_zeus"]  # the proposal, now in the evidence base
    assert study("giovannoni2015_zeus")["kind"] == "proposal"
    assert "Barts MS Research blog" in html and "(unverified: design)" in html
    for a in zeus.preset.assumptions:  # no file paths or research-note sections as sources
        assert not re.search(r"\.md\b|/work/|addendum|§", a.source), a.source
    text = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)
    assert not re.search(r"/work/|evidence(-addendum)?\.md|research/", text)


def test_no_code_names_in_the_report(zeus: Any, html: str) -> None:
    labels = [r.scenario.label for r in zeus.simulations]
    assert "disease model: aHSCT vs alemtuzumab, latent NEDA-3" in labels
    assert "disease model + endpoint engine (HALT-MS NEDA-3)" in labels
    text = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)
    for code in ("ahsct()", "alemtuzumab()", "halt_ms", "two_proportions", "counts_design",
                 "non_inferiority", "p_treatment", "p_control"):
        assert code not in text, code


def test_grid_equals_direct_calls(zeus: Any, html: str) -> None:
    grid = zeus.protocol.grid
    assert len(grid) == 8
    seen = set()
    for g in grid:
        ref = two_proportions(g["control"], g["control"], power=g["power"],
                              testing=Testing(0.025, 1, margin=g["margin"]))
        assert g["n"] == ref.n_total and g["n_ceil"] == ref.n_total_ceil
        assert g["randomised"] == _randomised(ref.n2)[0]
        seen.add((g["control"], g["margin"], g["power"]))
    assert seen == {(c, m, p) for c in (0.32, 0.40) for m in (-0.10, -0.15) for p in (0.8, 0.9)}
    assert "Sensitivity grid" in html


def test_oc_curve_equals_direct_calls_and_rpact(zeus: Any) -> None:
    proto = zeus.protocol
    f = {x.key: x for x in proto.framings}
    for row in proto.oc:
        d = row["difference"]
        ni = oc_power(0.32 + d, 0.32, f["non_inferiority"].design.n_total, alpha=0.025,
                      sided=1, margin=-0.10)
        assert row["non_inferiority"] == ni
        if d >= -0.10:  # on or above the margin: the design function's power
            assert ni == pytest.approx(two_proportions(0.32 + d, 0.32, n=f[
                "non_inferiority"].design.n_total, testing=NI).power, abs=1e-15)
        if 0 < 0.40 + d < 1:
            assert row["superiority"] == oc_power(0.40 + d, 0.40,
                                                  f["superiority"].design.n_total,
                                                  alpha=0.025, sided=1, margin=0.0)
    # rpact 3.3.4: getPowerRates(pi1 = c(0.17, 0.27, 0.32, 0.37), pi2 = 0.32, thetaH0 = -0.1,
    #   maxNumberOfSubjects = 680.8505249450101, alpha = 0.025, sided = 1)$overallReject
    # getPowerRates(pi1 = c(0.25, 0.55, 0.70), pi2 = 0.40, maxNumberOfSubjects =
    #   83.94050624476273, alpha = 0.025, sided = 1)$overallReject
    rpact_ni = {-0.05: 0.300397267231, 0.0: 0.8, 0.05: 0.984769240537}
    rpact_sup = {0.15: 0.277375245958, 0.30: 0.8}
    by_d = {round(r["difference"], 10): r for r in proto.oc}
    for d, p in rpact_ni.items():
        assert by_d[d]["non_inferiority"] == pytest.approx(p, abs=1e-9)
    for d, p in rpact_sup.items():
        assert by_d[d]["superiority"] == pytest.approx(p, abs=1e-9)
    # Below the null rpact mirrors the effect: theta = D/sd1 + sign(D) z (1 - sd0/sd1)/sqrt(n)
    # (getPowerRates source), i.e. Phi((D sqrt(n) + z sd0 - 2 z sd1)/sd1); the report shows
    # the direct normal approximation of P(Z > z), Phi((D sqrt(n) - z sd0)/sd1). Both are
    # checked here with the same variances, so the variances agree with rpact too.
    z = NormalDist().inv_cdf(0.975)
    for key, p2, margin, rpact in (("non_inferiority", 0.32, -0.10, 0.000238563793),
                                   ("superiority", 0.40, 0.0, 0.000312416108)):
        n, p1 = f[key].design.n_total, p2 - 0.15
        sd0, sd1 = _sds(p1, p2, margin, 1.0, "score")
        delta = p1 - p2 - margin
        mirrored = NormalDist().cdf((delta * math.sqrt(n) + z * sd0 - 2 * z * sd1) / sd1)
        assert mirrored == pytest.approx(rpact, abs=1e-11)
        direct = NormalDist().cdf((delta * math.sqrt(n) - z * sd0) / sd1)
        assert by_d[-0.15][key] == pytest.approx(direct, rel=1e-9)


def test_outcome_table_equals_direct_calls(zeus: Any, html: str) -> None:
    rows = {o["label"]: o for o in zeus.protocol.outcomes}
    assert len(rows) == 4
    neda = two_proportions(0.70, 0.40, power=0.8, testing=SUP)
    trm = two_proportions(0.70 * 0.99, 0.40, power=0.8, testing=SUP)
    worse = two_proportions(0.99, 0.88, power=0.8, testing=SUP)
    arr = counts_design(0.04, 0.10, power=0.8, testing=SUP,
                        model=CountModel(exposure=2.0, dispersion=0.5))
    got = [o["design"].n_total for o in zeus.protocol.outcomes]
    assert got == [neda.n_total, trm.n_total, worse.n_total, arr.n_total]
    for o in zeus.protocol.outcomes:
        assert o["randomised"] == _randomised(o["design"].n2)[0]
        assert o["label"] in html
    assert neda.n_total < trm.n_total  # TRM as failure costs patients
    assert rows["Annualised relapse rate over 2 years"]["status"] == "assumption"


def test_estimand_and_protocol_sections_in_the_report(zeus: Any, html: str) -> None:
    proto = zeus.protocol
    est = proto.estimand
    assert est is not None
    for key in ("population", "treatments", "variable", "summary_measure"):
        assert est[key] and "{" not in est[key]
    assert "Retreatment" in est["treatments"] and "rescue" in est["treatments"]
    strategies = {ie["strategy"] for ie in est["intercurrent_events"]}
    assert {"composite", "treatment policy"} <= strategies
    for ie in est["intercurrent_events"]:
        assert ie["event"] in html
    for s in proto.analysis_sets:
        assert s["name"] in html
    assert any("non-inferiority" in s["role"].lower() for s in proto.analysis_sets)
    assert "tipping-point" in proto.missing_data and "{" not in proto.missing_data
    for t in proto.timeline:
        f = next(x for x in proto.framings if x.label == t["framing"])
        assert t["accrual_years"] == f.randomised / t["rate"]
        assert t["total_years"] == t["accrual_years"] + 2.0
    for title in ("Headline sample sizes", "Estimand (ICH E9(R1))", "Choice of primary outcome",
                  "Operating characteristics across the true difference", "Analysis sets",
                  "Missing data", "Accrual and duration"):
        assert title in html
    assert "Monte Carlo standard error" in html
    payload = zeus.to_dict()
    assert payload["protocol"]["framings"][1]["randomised"] == 94


def test_type1_error_with_10000_trials(zeus: Any, html: str) -> None:
    check = zeus.type1_check
    assert check is not None and check.n_trials == 10_000
    assert check.scenario.p_treatment == pytest.approx(0.32 - 0.10, abs=1e-12)
    rate, mcse = zeus.type1_error
    assert rate == check.outcomes["reject_benefit"]  # one-sided: benefit tail only
    assert mcse == math.sqrt(rate * (1 - rate) / 10_000)
    assert mcse < 0.002
    assert abs(rate - 0.025) < 4 * mcse  # the score test keeps its level at n = 758
    assert f"{100 * rate:.2f}%" in html and "Monte Carlo SE" in html
    assert zeus.to_dict()["type1_check"]["n_trials"] == 10_000
