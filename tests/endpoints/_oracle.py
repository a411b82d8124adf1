"""Helpers to compare the engine with pymsprog 1.0.7 run as a subprocess."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hsctms.endpoints import EndpointDefinition, derive_frames

ORACLE = Path(__file__).resolve().parent / "oracle" / "msprog_oracle.py"


def _inf(x: Any) -> Any:
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return x


def msprog_kwargs(d: EndpointDefinition, event: str) -> dict[str, Any]:
    """pymsprog keyword arguments equivalent to the disability fields of ``d``."""
    return {
        "event": event,
        "RAW_PIRA": True,
        "baseline": d.baseline,
        "proceed_from": d.proceed_from,
        "conf_days": d.conf_days,
        "conf_tol_days": [_inf(x) for x in d.conf_tol_days],
        "check_intermediate": d.check_intermediate,
        "require_sust_days": _inf(d.require_sust_days),
        "relapse_to_bl": list(d.relapse_to_bl),
        "relapse_to_event": list(d.relapse_to_event),
        "relapse_to_conf": list(d.relapse_to_conf),
        "relapse_assoc": list(d.relapse_assoc),
        "relapse_indep": {"prec": list(d.pira_prec), "event": list(d.pira_event),
                          "conf": list(d.pira_conf), "prec_type": d.prec_type},
        "impute_last_visit": d.impute_last_visit,
        "sub_threshold_rebl": d.sub_threshold_rebl,
        "relapse_rebl": d.relapse_rebl,
        "bl_geq": d.bl_geq,
        "skip_local_extrema": d.skip_local_extrema,
        "include_dates": True,
        "include_value": True,
        "include_stable": True,
        "delta_cut": d.delta_cut,
        "outcome": d.outcome,
    }


def run_oracle(python: str, visits: pd.DataFrame, relapses: pd.DataFrame,
               kw: dict[str, Any], workdir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run pymsprog; returns its results table and the JSON status line."""
    workdir.mkdir(parents=True, exist_ok=True)
    value = kw.get("outcome", "edss")  # the oracle reads the values from column 'edss'
    vis = visits.rename(columns={"patient_id": "id", value: "edss"})[["id", "date", "edss"]]
    vis = vis.copy()
    rel = relapses.rename(columns={"patient_id": "id", "onset_date": "date"})[["id", "date"]]
    rel = rel.copy()
    day = pd.api.types.is_numeric_dtype(vis["date"].dtype)
    if not day:
        vis["date"] = vis["date"].dt.strftime("%Y-%m-%d")
        rel["date"] = rel["date"].dt.strftime("%Y-%m-%d")
    else:
        kw = {**kw, "date_format": "day"}
    vis.to_csv(workdir / "visits.csv", index=False)
    rel.to_csv(workdir / "relapses.csv", index=False)
    proc = subprocess.run(
        [python, str(ORACLE), str(workdir / "visits.csv"), str(workdir / "out"),
         "--relapses", str(workdir / "relapses.csv"), "--kw", json.dumps(kw)],
        capture_output=True, text=True, check=True)
    status = json.loads(proc.stdout.strip().splitlines()[-1])
    res = pd.read_csv(workdir / "out_results.csv", dtype={"id": str})
    return res, status


def oracle_events(res: pd.DataFrame, conf_days: int, day: bool) -> pd.DataFrame:
    """pymsprog results as a comparable events table (event rows only)."""
    ev = res[res["nevent"] > 0].copy()
    out = pd.DataFrame({
        "patient_id": ev["id"].astype(str),
        "event_type": ev["event_type"].map({"CDW": "worsening", "CDI": "improvement"}),
        "date": ev["date"],
        "edss": ev["value"].astype(float),
        "baseline_date": ev["bl_date"],
        "baseline_edss": ev["bl_value"].astype(float),
        "confirmation_date": ev.get(f"conf{conf_days}_date"),
        "class": ev.get("CDW_type", pd.Series(index=ev.index, dtype=object)),
        "pira_confirmation_date": ev.get(f"PIRA_conf{conf_days}_date"),
        "time": ev["time2event"].astype(float),
        "sustained_days": ev["sust_days"].astype(float),
        "sustained_to_last": ev["sust_last"].astype(bool),
    })
    out["class"] = out["class"].map({"PIRA": "PIRA", "RAW": "RAW", "undefined": "undetermined"})
    out.loc[out["event_type"] == "improvement", "class"] = None
    for col in ("date", "baseline_date", "confirmation_date", "pira_confirmation_date"):
        if day:
            out[col] = pd.to_numeric(out[col]).astype(float)
        else:
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d")
    return _canon(out)


def our_events(ev: pd.DataFrame, day: bool, column: str = "edss") -> pd.DataFrame:
    """Our events table in the same shape as :func:`oracle_events` (``column``: the outcome's
    value column, named ``edss`` there)."""
    if column != "edss":
        ev = ev.rename(columns={column: "edss", f"baseline_{column}": "baseline_edss"})
    out = ev[["patient_id", "event_type", "date", "edss", "baseline_date", "baseline_edss",
              "confirmation_date", "class", "pira_confirmation_date", "time",
              "sustained_days", "sustained_to_last"]].copy()
    out["class"] = out["class"].astype(object).where(out["class"].notna(), None)
    for col in ("date", "baseline_date", "confirmation_date", "pira_confirmation_date"):
        if not day:
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d")
    return _canon(out)


def _canon(df: pd.DataFrame) -> pd.DataFrame:
    df = df.astype(object).where(df.notna(), None)
    df = df.sort_values(["patient_id", "time", "event_type"]).reset_index(drop=True)
    for c in ("edss", "baseline_edss", "time", "sustained_days"):
        df[c] = df[c].astype(float)
    return df


def compare(python: str, visits: pd.DataFrame, relapses: pd.DataFrame,
            d: EndpointDefinition, event: str, workdir: Path) -> tuple[pd.DataFrame,
                                                                       pd.DataFrame]:
    """Run both engines for the pymsprog ``event`` mode; return (ours, theirs) events."""
    day = pd.api.types.is_numeric_dtype(visits["date"].dtype)
    res, _ = run_oracle(python, visits, relapses, msprog_kwargs(d, event), workdir)
    theirs = oracle_events(res, d.conf_days, day)
    ours_res = derive_frames(visits, relapses, definition=d)
    ev = ours_res.events
    if event == "firstCDW":
        ev = ev[ev["event_type"] == "worsening"]
    elif event == "firstCDI":
        ev = ev[ev["event_type"] == "improvement"]
    ours = our_events(ev, day, {"custom": "value"}.get(d.outcome, d.outcome))
    return ours, theirs


def mismatches(ours: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
    """Rows present in one table and not the other (empty when identical)."""
    m = ours.merge(theirs, how="outer", indicator=True)
    return m[m["_merge"] != "both"]


__all__ = ["compare", "mismatches", "msprog_kwargs", "np", "run_oracle"]
