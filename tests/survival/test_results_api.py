"""Every result object has .summary, JSON-serialisable .to_dict(), .to_frame() / .plot() where
applicable, and a provenance that records the settings."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from hsctms._provenance import data_source
from hsctms.survival import (
    cox_ph,
    cumulative_incidence,
    cumulative_incidence_by,
    gray_test,
    kaplan_meier,
    kaplan_meier_by,
    logrank_test,
    median_followup,
)

DATA = Path(__file__).resolve().parents[1] / "reference" / "survival" / "cr3.csv"


@pytest.fixture(scope="module")
def d() -> pd.DataFrame:
    return pd.read_csv(DATA).assign(status=lambda x: (x["event"] != 0).astype(int))


def _json(obj: object) -> dict[str, object]:
    out = json.loads(json.dumps(obj, allow_nan=False))
    assert isinstance(out, dict)
    return out


def test_result_objects(d: pd.DataFrame) -> None:
    with data_source(synthetic=True, data_date="2026-06-30"):
        km = kaplan_meier(d["time"], d["status"], level=0.9)
    assert km.provenance.data_date == "2026-06-30"
    assert kaplan_meier([1, 2], [1, 0]).provenance.synthetic is False  # the block has ended
    assert "log-log" in km.summary and "90%" in km.summary
    js = _json(km.to_dict(times=[12, 24]))
    assert js["conf_type"] == "log-log" and js["provenance"]["synthetic"] is True
    assert js["provenance"]["definition"]["level"] == 0.9
    assert list(km.to_frame().columns)[:3] == ["time", "n_risk", "n_event"]
    groups = kaplan_meier_by(d["time"], d["status"], d["group"])
    _json(groups.to_dict(times=[12]))
    assert set(groups.to_frame()["group"]) == {"A", "B", "C"}
    cif = cumulative_incidence(d["time"], d["event"], cause_names={1: "w", 2: "d"})
    _json(cif.to_dict(times=[12, 24]))
    assert set(cif.to_frame()["cause_name"]) == {"w", "d"}
    by = cumulative_incidence_by(d["time"], d["event"], d["group"])
    assert set(by.tests) == {1, 2} and "Gray" in by.summary
    _json(by.to_dict(times=[12]))
    g = gray_test(d["time"], d["event"], d["group"])
    _json(g.to_dict())
    assert g.to_frame()["df"].iloc[0] == 2
    lr = logrank_test(d["time"], d["status"], d["group"], strata=d["stratum"])
    assert "Stratified" in lr.summary and len(lr.to_frame()) == 3
    _json(lr.to_dict())
    fu = median_followup(d["time"], d["status"])
    _json(fu.to_dict())
    assert fu.to_frame()["median"].iloc[0] == fu.median.estimate
    m = cox_ph(d, "time", "status", ["group", "age", "edss"], level=0.9)
    _json(m.to_dict())
    assert m.to_frame()["term"].tolist() == ["groupB", "groupC", "age", "edss"]
    z = m.ph_test()
    assert z.to_frame()["term"].iloc[-1] == "GLOBAL" and np.isfinite(z.global_p)
    _json(z.to_dict())
    ax = z.plot(column="age")
    assert "age" in ax.get_title(loc="left")
    plt.close(ax.figure)
    for obj in (km, groups, cif, by, m):
        ax = obj.plot()
        assert ax.figure is not None
        plt.close(ax.figure)
