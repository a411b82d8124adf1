"""Registry monitoring (hsctms.analysis.funnel / monitoring / monitoring_schedule): the
risk-adjusted funnel against R (survival::coxph, predict(type = "expected")), Poisson control
limits, Clark completeness and alerts by hand, the YAML schedule, small-count suppression and
``hsctms monitor`` on the demo registry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from hsctms.analysis import monitoring_schedule
from hsctms.analysis.funnel import centre_funnel, expected_events, poisson_limit
from hsctms.analysis.monitoring import completeness, find_alerts, followup_table, monitor
from hsctms.analysis.monitoring_disclosure import suppress
from hsctms.analysis.monitoring_schedule import load_schedule
from hsctms.datasets import load_demo_cohort
from hsctms.errors import ConfigurationError
from hsctms.model.cohort import Cohort

REF = Path(__file__).resolve().parents[1] / "reference" / "web"


@pytest.fixture(scope="module")
def golden(rscript: str | None, tmp_path_factory: pytest.TempPathFactory) -> dict:
    committed = json.loads((REF / "golden_funnel.json").read_text())
    if rscript:
        out = tmp_path_factory.mktemp("r") / "g.json"
        subprocess.run([rscript, str(REF / "funnel.R"), str(REF / "casemix_demo.csv"),
                        str(out)], check=True, capture_output=True)
        fresh = json.loads(out.read_text())
        np.testing.assert_allclose(fresh["expected"], committed["expected"], rtol=1e-10)
        return dict(fresh)
    return dict(committed)


@pytest.mark.r
def test_expected_events_match_r(golden: dict) -> None:
    frame = pd.read_csv(REF / "casemix_demo.csv")
    f = centre_funnel(frame, small_count=1)
    for k, v in golden["coef"].items():
        assert f.coefficients[k] == pytest.approx(v, rel=1e-6, abs=1e-9)
    by = {c.centre: c for c in f.centres}
    assert len(golden["centres"]) == len(by)
    for row in golden["centres"]:
        assert by[row["centre"]].observed == row["observed"]
        assert by[row["centre"]].expected == pytest.approx(row["expected"], rel=1e-6)
    cov = ["age", "baseline_edss", "progressive", "disease_duration"]
    eta = frame[cov].to_numpy(float) @ np.array([golden["coef"][c] for c in cov])
    mine = expected_events(frame["time"].to_numpy(float), frame["event"].to_numpy(float), eta)
    np.testing.assert_allclose(mine, golden["expected"], rtol=1e-9, atol=1e-12)


@pytest.mark.r
def test_poisson_limits_match_r(golden: dict) -> None:
    lim = golden["limits"]
    grid = np.array(lim["E"], dtype=float)
    for key, p in (("p025", 0.025), ("p975", 0.975), ("p001", 0.001), ("p999", 0.999)):
        np.testing.assert_allclose(poisson_limit(grid, p), lim[key], rtol=1e-10)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 50), st.booleans(), st.floats(-2, 2)),
                min_size=1, max_size=40))
def test_breslow_expected_sum_equals_observed(rows: list[tuple[int, bool, float]]) -> None:
    """For any linear predictor, sum_i Lambda0(t_i) exp(eta_i) = number of events."""
    t = np.array([r[0] for r in rows], float)
    d = np.array([r[1] for r in rows], float)
    eta = np.array([r[2] for r in rows], float)
    e = expected_events(t, d, eta)
    assert e.sum() == pytest.approx(d.sum(), rel=1e-9, abs=1e-9)
    assert (e >= 0).all()


@settings(max_examples=40, deadline=None)
@given(st.floats(0.2, 300))
def test_poisson_limits_bracket_one_and_narrow(e: float) -> None:
    lo95, hi95 = poisson_limit(e, 0.025)[0], poisson_limit(e, 0.975)[0]
    lo998, hi998 = poisson_limit(e, 0.001)[0], poisson_limit(e, 0.999)[0]
    assert lo998 <= lo95 <= 1.0 <= hi95 <= hi998
    assert poisson_limit(e * 2, 0.975)[0] <= hi95 + 1e-9


def test_funnel_suppresses_small_centres() -> None:
    frame = pd.read_csv(REF / "casemix_demo.csv")
    f = centre_funnel(frame, small_count=20)
    assert all(c.n >= 20 for c in f.centres) and f.suppressed
    assert set(f.suppressed) | {c.centre for c in f.centres} == set(frame["centre"])


@pytest.mark.parametrize("small_count", [5, 10])
def test_suppressed_observed_cannot_be_recomputed(small_count: int) -> None:
    frame = pd.read_csv(REF / "casemix_demo.csv")
    f = centre_funnel(frame, small_count=small_count)
    few = [c for c in f.centres if 0 < c.observed < small_count]
    assert few, "the demo case-mix should have a compared centre with few events"
    rows = {r["centre"]: r for r in f.to_dict()["centres"]}
    for c in few:
        row = rows[c.centre]
        assert row["observed"] == f"<{small_count}"
        assert row["ratio"] is None and row["flag"] is None  # O = E x O/E is not possible
        assert f"{c.centre}: O=<{small_count}" in f.summary and "O/E not shown" in f.summary
    ax = f.plot()
    plotted = {t.get_text() for t in ax.texts}
    assert not {c.centre for c in few} & plotted
    assert any("Not plotted" in t for t in plotted)
    shown = [c for c in f.centres if c.observed >= small_count]
    assert all(rows[c.centre]["ratio"] == round(c.ratio, 4) for c in shown)
    import matplotlib.pyplot as plt
    plt.close(ax.figure)


@given(st.integers(0, 1000), st.integers(0, 50))
def test_suppress(n: int, small_count: int) -> None:
    out = suppress(n, small_count)
    assert out == (f"<{small_count}" if 0 < n < small_count else n)
    assert suppress(n, 5) == ("<5" if 0 < n < 5 else n)
    assert suppress(n, 1) == n


def test_clark_completeness_by_hand(three_patient_cohort: Cohort) -> None:
    c = three_patient_cohort
    fu = followup_table(c, dt.date(2022, 3, 1)).set_index("patient_id")
    # P1: potential 2020-01-01..2022-03-01 = 790 d; last contact 2021-01-01 = 366 d
    assert fu.loc["P1", "potential_days"] == 790 and fu.loc["P1", "observed_days"] == 366
    # P3: potential 2021-01-01..2022-03-01 = 424 d; last contact (lab) 2022-01-01 = 365 d
    assert fu.loc["P3", "potential_days"] == 424 and fu.loc["P3", "observed_days"] == 365
    # P2 died 2021-07-01: potential = observed = 547 d (death is a contact)
    assert fu.loc["P2", "potential_days"] == 547 and fu.loc["P2", "observed_days"] == 547
    assert not fu.loc["P2", "overdue"]  # dead patients are never overdue
    assert fu.loc["P1", "overdue"] and not fu.loc["P3", "overdue"]
    comp = completeness(fu.reset_index()).set_index("centre")
    assert comp.loc["A", "clark_c"] == pytest.approx((366 + 547) / (790 + 547))
    assert comp.loc["B", "clark_c"] == pytest.approx(365 / 424)
    assert comp.loc["A", "overdue"] == 1 and comp.loc["B", "overdue"] == 0


def test_alerts_by_hand(three_patient_cohort: Cohort) -> None:
    alerts = find_alerts(three_patient_cohort)
    got = {(r.patient_id, r.kind) for r in alerts.itertuples()}
    # P1: day 364 sample 0.9 is nearest to day 365 -> low; MRI activity after transplant.
    # P2: 1.4 -> no alert; relapse was before transplant. P3: 800 cells/uL = 0.8 -> low,
    # relapse after transplant.
    assert got == {("P1", "lymphocytes_low_12m"), ("P1", "mri_activity_after_hsct"),
                   ("P3", "lymphocytes_low_12m"), ("P3", "relapse_after_hsct")}


# ----------------------------------------------------------------------- monitoring schedule
SCHEDULE = Path(monitoring_schedule.__file__).with_name("data") / "monitoring.yaml"


def _yaml(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    raw = yaml.safe_load(SCHEDULE.read_text(encoding="utf-8"))
    edit(raw)
    out = tmp_path / "schedule.yaml"
    out.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return out


def test_bundled_schedule_is_valid_and_documented() -> None:
    s = load_schedule()
    assert s.overdue_days == 395
    assert s["alerts.lymphocytes_low_12m.below"] == 1.0
    assert s["alerts.lymphocytes_low_12m.window_days"] == [270, 455]
    for key, setting in s.settings.items():
        assert setting.source and setting.unit, key
        assert isinstance(setting.unverified, bool)
    # values without a cited source are flagged; the cited ones name their source
    assert s.settings["alerts.lymphocytes_low_12m.below"].unverified
    assert not s.settings["completeness.method"].unverified
    assert "Clark" in s.settings["completeness.method"].source
    assert "Spiegelhalter" in s.settings["funnel.limits"].source
    assert "(unverified)" in s.settings["followup.grace_days"].text


def test_schedule_change_changes_alerts(tmp_path: Path,
                                        three_patient_cohort: Cohort) -> None:
    c = three_patient_cohort
    kinds = {(r.patient_id, r.kind) for r in find_alerts(c).itertuples()}
    assert ("P1", "lymphocytes_low_12m") in kinds and ("P3", "lymphocytes_low_12m") in kinds

    def lower(raw: dict[str, Any]) -> None:  # P1 0.9 and P3 0.8 are no longer below 0.8
        raw["alerts"]["lymphocytes_low_12m"]["below"]["value"] = 0.8

    low = find_alerts(c, load_schedule(_yaml(tmp_path, lower)))
    assert "lymphocytes_low_12m" not in set(low["kind"])

    def narrow(raw: dict[str, Any]) -> None:  # P1's day-274 sample 0.7 becomes the nearest
        raw["alerts"]["lymphocytes_low_12m"]["window_days"]["value"] = [270, 300]
        raw["alerts"]["lymphocytes_low_12m"]["target_day"]["value"] = 280
        raw["alerts"]["lymphocytes_low_12m"]["below"]["value"] = 0.75

    got = find_alerts(c, load_schedule(_yaml(tmp_path, narrow)))
    lab = got[got["kind"] == "lymphocytes_low_12m"]
    assert lab["patient_id"].tolist() == ["P1"] and "0.70" in lab["detail"].iloc[0]

    def late(raw: dict[str, Any]) -> None:  # P3's relapse is on day 151
        raw["alerts"]["relapse_after_hsct"]["after_day"]["value"] = 151

    assert "relapse_after_hsct" not in set(find_alerts(c, load_schedule(
        _yaml(tmp_path, late)))["kind"])


def test_schedule_change_changes_overdue_and_captions(tmp_path: Path) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["followup"]["grace_days"]["value"] = 60
        raw["outcomes"]["level"]["value"] = 0.9
        raw["outcomes"]["conf_type"]["value"] = "log"
        raw["funnel"]["limits"]["value"] = [0.9, 0.99]

    s = load_schedule(_yaml(tmp_path, edit))
    assert s.overdue_days == 425
    cohort = load_demo_cohort()
    m = monitor(cohort, small_count=1, with_funnel=True, schedule=s)
    assert m.outcomes is not None and m.funnel is not None
    assert "90% log CIs" in m.outcomes.caption and "halt_ms" in m.outcomes.caption
    assert m.outcomes.fits["efs"].level == 0.9 and m.outcomes.fits["efs"].conf_type == "log"
    assert "90% and 99% limits" in m.funnel.caption and "no EDSS in 425 days" in m.summary
    default = monitor(cohort, small_count=1, with_funnel=True)
    assert "95% log-log CIs" in default.outcomes.caption  # type: ignore[union-attr]
    assert "95% and 99.8% limits" in default.funnel.caption  # type: ignore[union-attr]
    # a longer grace period can only reduce the overdue patients
    assert m.followup["overdue"].sum() <= default.followup["overdue"].sum()
    fu = followup_table(cohort, m.reference_date, 425)
    assert m.followup["overdue"].tolist() == fu["overdue"].tolist()


@pytest.mark.parametrize(("edit", "key"), [
    (lambda r: r["alerts"]["lymphocytes_low_12m"]["below"].update(value="low"),
     "alerts.lymphocytes_low_12m.below.value"),
    (lambda r: r["followup"]["grace_days"].update(value=-1), "followup.grace_days.value"),
    (lambda r: r["followup"]["grace_days"].pop("source"), "followup.grace_days"),
    (lambda r: r["followup"]["grace_days"].update(unverified="yes"),
     "followup.grace_days.unverified"),
    (lambda r: r["followup"].update(extra_days={"value": 1}), "followup"),
    (lambda r: r["outcomes"]["conf_type"].update(value="logit"), "outcomes.conf_type.value"),
    (lambda r: r["outcomes"]["definition"].update(value="nope"), "outcomes.definition.value"),
    (lambda r: r["outcomes"]["level"].update(value=95), "outcomes.level.value"),
    (lambda r: r["funnel"]["limits"].update(value=[0.998, 0.95]), "funnel.limits.value"),
    (lambda r: r["funnel"]["covariates"].update(value=["age", "bmi"]),
     "funnel.covariates.value"),
    (lambda r: r["alerts"]["lymphocytes_low_12m"]["target_day"].update(value=500),
     "alerts.lymphocytes_low_12m.target_day.value"),
    (lambda r: r["alerts"].pop("relapse_after_hsct"), "alerts"),
    (lambda r: r["alerts"]["mri_activity_after_hsct"].pop("label"),
     "alerts.mri_activity_after_hsct"),
    (lambda r: r.update(version=2), "version"),
])
def test_schedule_is_validated_strictly(tmp_path: Path, edit: Callable[[dict[str, Any]], None],
                                        key: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_schedule(_yaml(tmp_path, edit))
    assert f"schedule.yaml: {key}" in info.value.message
    assert info.value.hint


def test_schedule_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Cannot read"):
        load_schedule(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        load_schedule(bad)
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="top level"):
        load_schedule(bad)


# ---------------------------------------------------------- monitor() and disclosure control
COUNT_KEYS = {"n", "n_patients", "n_transplanted", "at_risk", "events", "patients", "overdue",
              "observed"}


def counts(node: Any, key: str = "") -> list[tuple[str, Any]]:
    """Every (key, value) of a count in a JSON document: the keys of COUNT_KEYS with a
    scalar value, and the values of ``alert_counts``."""
    out: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "alert_counts":
                out += [(f"alert_counts.{a}", n) for a, n in v.items()]
            elif k in COUNT_KEYS and not isinstance(v, dict | list):
                out.append((k, v))
            else:
                out += counts(v, k)
    elif isinstance(node, list):
        for v in node:
            out += counts(v, key)
    return out


def assert_no_small_counts(doc: Any, small_count: int) -> None:
    found = counts(doc)
    assert found
    for key, value in found:
        if isinstance(value, str):
            assert value == f"<{small_count}", (key, value)
        elif value is not None:
            assert not 0 < int(value) < small_count, (key, value)


@pytest.mark.parametrize("small_count", [5, 10])
def test_monitor_suppresses_every_count(small_count: int) -> None:
    cohort = load_demo_cohort()
    m = monitor(cohort, small_count=small_count, with_funnel=True)
    d = m.to_dict()
    json.dumps(d, allow_nan=False)
    assert_no_small_counts(d, small_count)
    assert any(v == f"<{small_count}" for _, v in counts(d))  # something was suppressed
    assert d["overdue"] == [] and d["alerts"] == []  # record-level lists need record_level
    assert d["funnel"]["provenance"]["n"] == m.funnel.provenance.n  # type: ignore[union-attr]
    assert all(c.n >= small_count for c in m.funnel.centres)  # type: ignore[union-attr]
    assert_no_small_counts({"rows": m.to_frame().to_dict("records")}, small_count)
    assert_no_small_counts({"rows": m.funnel.to_frame().to_dict("records")},  # type: ignore[union-attr]
                           small_count)
    for n in range(1, small_count):
        assert f" {n} patients" not in m.summary and f"O={n} " not in m.summary
    # the same numbers unsuppressed, for output that stays in the centre
    raw = monitor(cohort, small_count=1, record_level=True).to_dict()
    assert raw["alert_counts"] == m.alert_counts and raw["n_patients"] == len(cohort.patients)
    assert len(raw["alerts"]) == min(200, len(m.alerts_table))


def test_provenance_n_is_suppressed(three_patient_cohort: Cohort) -> None:
    c = three_patient_cohort
    m = monitor(c, small_count=10, scope="A")
    assert m.provenance.n == 3  # the object keeps the truth ...
    d = m.to_dict()  # ... what leaves the centre does not
    assert d["provenance"]["n"] == "<10" and d["n_patients"] == "<10"
    assert m.outcomes is None and d["survival"] == []
    assert monitor(c, small_count=1).to_dict()["provenance"]["n"] == 3
    with pytest.raises(ConfigurationError, match="small_count"):
        monitor(c, small_count=-1)


def test_monitor_result_is_frozen_and_complete() -> None:
    m = monitor(load_demo_cohort(), small_count=5, with_funnel=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.small_count = 1  # type: ignore[misc]
    assert m.outcomes is not None and m.funnel is not None
    assert set(m.outcomes.fits) == {"efs", "worsening"}
    ax = m.plot()
    assert ax.get_title(loc="left") == "Event-free and progression-free survival"
    assert m.funnel.plot().get_xlabel() == "Expected events (case-mix adjusted)"
    assert "Registry monitoring" in m.summary and "Clark" in m.summary
    assert list(m.to_frame().columns) == ["centre", "patients", "clark_c", "overdue"]


# ----------------------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def demo_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hsctms.datasets import demo_bundle_path
    from hsctms.db import import_bundle

    db = tmp_path_factory.mktemp("monitor") / "registry.sqlite"
    import_bundle(demo_bundle_path(), db, user="test")
    return db


def test_cli_monitor_on_demo_registry(demo_registry: Path, tmp_path: Path) -> None:
    from hsctms.cli import app

    out = tmp_path / "monitor.json"
    r = CliRunner().invoke(app, ["monitor", "--db", str(demo_registry), "--small-count", "10",
                                 "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "Registry monitoring: registry" in r.output and "counts below 10" in r.output
    assert "SYNTHETIC" in r.output and "Risk-adjusted EFS events" in r.output
    d = json.loads(out.read_text(encoding="utf-8"))
    assert d["small_count"] == 10 and d["n_patients"] == 300
    assert_no_small_counts(d, 10)
    expected = monitor(load_demo_cohort(), small_count=10, with_funnel=True).to_dict()
    for key in ("n_transplanted", "survival", "completeness", "alert_counts"):
        assert d[key] == expected[key], key
    assert d["funnel"]["centres"] == expected["funnel"]["centres"]
    assert d["schedule"]["file"] == "monitoring.yaml"

    one = CliRunner().invoke(app, ["monitor", "--db", str(demo_registry), "--centre",
                                   "SYN-C12", "--small-count", "10"])
    assert one.exit_code == 0, one.output
    assert "Registry monitoring: SYN-C12" in one.output and "Patients: <10" in one.output
    assert "Risk-adjusted" not in one.output


def test_cli_monitor_refuses_bad_input(demo_registry: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nothing.sqlite"
    r = subprocess.run([sys.executable, "-m", "hsctms", "monitor", "--db", str(missing)],
                       capture_output=True, text=True, env=_env())
    assert r.returncode == 1 and "no hsctms registry" in r.stderr.lower()
    assert not missing.exists()
    from hsctms.cli import app

    r2 = CliRunner().invoke(app, ["monitor", "--db", str(demo_registry), "--centre", "XX"])
    assert r2.exit_code == 1 and "No patients of centre 'XX'" in r2.output
    bad = tmp_path / "s.yaml"
    bad.write_text("id: x\n", encoding="utf-8")
    r3 = CliRunner().invoke(app, ["monitor", "--db", str(demo_registry), "--schedule",
                                  str(bad)])
    assert r3.exit_code == 1 and "s.yaml: top level: missing key(s)" in r3.output


def _env() -> dict[str, str]:
    import os

    src = str(Path(monitoring_schedule.__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": src, "MPLBACKEND": "Agg"}


def test_cli_default_small_count_is_the_library_default() -> None:
    import typer

    from hsctms.analysis.monitoring_disclosure import DEFAULT_SMALL_COUNT
    from hsctms.cli import app

    cmd = typer.main.get_command(app).commands["monitor"]  # type: ignore[attr-defined]
    default = {p.name: p.default for p in cmd.params}["small_count"]
    assert default == DEFAULT_SMALL_COUNT


def test_schedule_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    import os

    from hsctms.analysis.monitoring_schedule import load_schedule

    fifo = tmp_path / "schedule.yaml"
    os.mkfifo(fifo)  # no writer: reading it would block forever
    with pytest.raises(ConfigurationError, match="schedule"):
        load_schedule(fifo)
