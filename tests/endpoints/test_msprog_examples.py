"""msprog's own documented example outputs on its toy data (the "golden output" of the
R package's ``R CMD check`` log, msprog-Ex.Rout, reproduced by pymsprog; peers-msprog.md §5.1).

The toy data ship with pymsprog; they are read from the oracle environment at test time (not
copied into this repository). Expected values are the published ones:

* defaults (first CDW, fixed baseline): CDW in subjects 1, 2, 5, 7 with time2event 292, 198,
  140, 372 days; with RAW/PIRA: 1, 5, 7 PIRA and 2 RAW;
* ``event='multiple', baseline='roving'`` (README example): subject 1 PIRA; 2 RAW, PIRA;
  3 none; 4 CDI, PIRA; 5 PIRA; 6 CDI; 7 PIRA.
"""

from __future__ import annotations

import io
import subprocess

import pandas as pd
import pytest

from hsctms.endpoints import derive_frames, get_definition

pytestmark = pytest.mark.pymsprog

EXPORT = (
    "import sys; from pymsprog import load_toy_data; v, r = load_toy_data(); "
    "sys.stdout.write(v.to_csv(index=False) + '\\n===\\n' + r.to_csv(index=False))"
)


@pytest.fixture(scope="module")
def toy(oracle_python: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    out = subprocess.run([oracle_python, "-c", EXPORT], capture_output=True, text=True,
                         check=True).stdout
    vtxt, rtxt = out.split("\n===\n")
    v = pd.read_csv(io.StringIO(vtxt), dtype={"id": str})
    r = pd.read_csv(io.StringIO(rtxt), dtype={"id": str})
    visits = pd.DataFrame({"patient_id": v["id"], "date": pd.to_datetime(v["date"]),
                           "edss": v["EDSS"].astype(float)})
    relapses = pd.DataFrame({"patient_id": r["id"], "onset_date": pd.to_datetime(r["date"])})
    return visits, relapses


def test_first_cdw_times_and_classes(toy: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    v, r = toy
    res = derive_frames(v, r, definition="msprog_default")
    f = res.to_frame().set_index("patient_id")
    got = f.loc[f["worsening_event"] == 1, "worsening_time"].to_dict()
    assert got == {"1": 292.0, "2": 198.0, "5": 140.0, "7": 372.0}
    w = res.events[res.events["event_type"] == "worsening"].set_index("patient_id")
    assert w["class"].to_dict() == {"1": "PIRA", "2": "RAW", "5": "PIRA", "7": "PIRA"}


def test_multiple_events_roving_sequences(toy: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    v, r = toy
    d = get_definition("msprog_default").with_(baseline="roving", events="all")
    ev = derive_frames(v, r, definition=d).events
    label = ev["class"].astype(object).where(ev["event_type"] == "worsening", "CDI")
    seq = label.groupby(ev["patient_id"]).agg(", ".join).to_dict()
    assert seq == {"1": "PIRA", "2": "RAW, PIRA", "4": "CDI, PIRA", "5": "PIRA",
                   "6": "CDI", "7": "PIRA"}
