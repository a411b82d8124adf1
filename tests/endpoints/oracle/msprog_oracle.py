"""pymsprog oracle: run ``pymsprog.MSprog`` (or ``value_milestone``) on CSV files and write
its result tables.

Run with the oracle interpreter (``.venv-oracle/bin/python``, pymsprog 1.0.7, numpy<2,
pandas<3); it uses only pymsprog's public API. Input CSVs: visits ``id,date,edss`` and
relapses ``id,date`` (the ``edss`` column holds the values of the ``"outcome"`` given
in ``--kw``: edss by default, or nhpt, t25fw, sdmt; ISO dates, or day numbers with
``"date_format": "day"``). ``--kw`` is a
JSON object of MSprog keyword arguments ("inf" for infinity; relapse_indep lists become
tuples); ``"delta_cut": 5.5`` selects the trial minimum-change table (+1.0 up to 5.5).
Subjects are processed in chunks of ``--chunk`` (results are independent across subjects).
Prints a JSON line with the pymsprog version and the wall and CPU seconds spent inside
MSprog().

``--mode milestone`` runs ``value_milestone`` instead, once per value of the ``"milestones"``
list in ``--kw`` (the other keys are its keyword arguments), and writes
``<out>_milestones.csv`` (``id, milestone, date, value, time2event, observed``).
``--patch`` runs it with the two corrections hsctms makes (docs/endpoints.md "Milestones"):
the imputation test ``milestone == nvisits - 1`` (the milestone *value* compared with the
number of visits) reads ``milestone_idx == nvisits - 1``, and after an unconfirmed onset the
search resumes at the next visit (pymsprog: after the next visit below the milestone, or
nowhere when there is none).
"""

import argparse
import inspect
import json
import math
import time

import pandas as pd
import pymsprog
from pymsprog import MSprog


def _inf(x):
    if isinstance(x, list):
        return [_inf(i) for i in x]
    return math.inf if x == "inf" else x


def main():
    p = argparse.ArgumentParser()
    p.add_argument("visits")
    p.add_argument("out_prefix")
    p.add_argument("--relapses")
    p.add_argument("--kw", default="{}")
    p.add_argument("--chunk", type=int, default=1000)
    p.add_argument("--mode", choices=("msprog", "milestone"), default="msprog")
    p.add_argument("--patch", action="store_true")
    a = p.parse_args()
    kw = {k: _inf(v) for k, v in json.loads(a.kw).items()}
    if a.mode == "milestone":
        milestones(a, kw)
        return
    if "relapse_indep" in kw:
        kw["relapse_indep"] = {k: (tuple(v) if isinstance(v, list) else v)
                               for k, v in kw["relapse_indep"].items()}
    chunk = int(kw.pop("_chunk", a.chunk))
    outcome = kw.pop("outcome", "edss")
    cut = kw.pop("delta_cut", 5.0)
    if cut != 5.0:
        kw["delta_fun"] = lambda b: 1.5 if b == 0 else (1.0 if b <= cut else 0.5)
    v = pd.read_csv(a.visits, dtype={"id": str})
    r = pd.read_csv(a.relapses, dtype={"id": str}) if a.relapses else None
    ids = v["id"].unique()
    summaries, results = [], []
    elapsed = cpu = 0.0
    for i in range(0, len(ids), chunk):
        part = set(ids[i:i + chunk])
        vc = v[v["id"].isin(part)]
        rc = r[r["id"].isin(part)] if r is not None else None
        t0, c0 = time.perf_counter(), time.process_time()
        out = MSprog(vc, subj_col="id", value_col="edss", date_col="date",
                     outcome=outcome, relapse=rc, verbose=0, **kw)
        elapsed += time.perf_counter() - t0
        cpu += time.process_time() - c0
        summaries.append(out[0].rename_axis("id"))
        results.append(out[1])
    pd.concat(summaries).to_csv(a.out_prefix + "_summary.csv")
    pd.concat(results, ignore_index=True).to_csv(a.out_prefix + "_results.csv", index=False)
    print(json.dumps({"pymsprog": pymsprog.__version__, "n_subjects": len(ids),
                      "seconds": elapsed, "cpu_seconds": cpu}))


#: (pymsprog 1.0.7 text, corrected text) of ``--patch``.
PATCHES = (
    ("or (milestone == nvisits - 1", "or (milestone_idx == nvisits - 1"),
    ("                    search_idx = next_change + 1\n",
     "                    search_idx = milestone_idx + 1\n"),
)


def _value_milestone(patch):
    """pymsprog's value_milestone, optionally with the corrections of ``--patch``."""
    if not patch:
        return pymsprog.value_milestone
    src = inspect.getsource(pymsprog.value_milestone)
    for old, new in PATCHES:
        if src.count(old) != 1:
            raise SystemExit(f"value_milestone source changed: {old.strip()!r} not found once")
        src = src.replace(old, new)
    ns = dict(vars(pymsprog))
    exec(compile(src, "<value_milestone, patched>", "exec"), ns)
    return ns["value_milestone"]


def milestones(a, kw):
    """``--mode milestone``: value_milestone for every milestone, all subjects."""
    fun = _value_milestone(a.patch)
    values = kw.pop("milestones")
    outcome = kw.pop("outcome", "edss")
    v = pd.read_csv(a.visits, dtype={"id": str})
    # an empty table, never None: value_milestone 1.0.7 fails on relapse=None (it indexes
    # the placeholder relapse table with rsubj_col=None)
    r = (pd.read_csv(a.relapses, dtype={"id": str}) if a.relapses
         else pd.DataFrame({"id": pd.Series([], dtype=str), "date": []}))
    out = []
    elapsed = cpu = 0.0
    for m in values:
        t0, c0 = time.perf_counter(), time.process_time()
        res = fun(v.copy(), m, subj_col="id", value_col="edss", date_col="date",
                  outcome=outcome, relapse=r, verbose=0, **kw)
        elapsed += time.perf_counter() - t0
        cpu += time.process_time() - c0
        res = res.rename_axis("id").reset_index()
        res.insert(1, "milestone", m)
        out.append(res)
    pd.concat(out, ignore_index=True).to_csv(a.out_prefix + "_milestones.csv", index=False)
    print(json.dumps({"pymsprog": pymsprog.__version__, "n_subjects": int(v["id"].nunique()),
                      "seconds": elapsed, "cpu_seconds": cpu}))


if __name__ == "__main__":
    main()
