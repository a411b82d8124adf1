"""pymsprog oracle: run ``pymsprog.MSprog`` on CSV files and write its result tables.

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
"""

import argparse
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
    a = p.parse_args()
    kw = {k: _inf(v) for k, v in json.loads(a.kw).items()}
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


if __name__ == "__main__":
    main()
