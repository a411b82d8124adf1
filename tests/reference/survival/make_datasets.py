"""Write the committed datasets the survival reference values are computed on.

Deterministic; run from this folder with ``python make_datasets.py`` (``lung.csv`` is written by
``Rscript export_lung.R`` from R's ``survival::lung``).

``cr3.csv``: 150 made-up patients in 3 groups (A/B/C) and 2 strata (s1/s2), whole-month times
(many ties), ``event`` 0 = censored, 1 = event of interest (e.g. confirmed worsening),
2 = competing event (death), covariates ``age`` (years) and ``edss`` (baseline EDSS).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_cr3(seed: int = 20261122, n: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = np.array(["A", "B", "C"])[rng.integers(0, 3, size=n)]
    stratum = np.where(rng.random(n) < 0.5, "s1", "s2")
    age = np.round(rng.normal(37, 8, size=n), 0)
    edss = np.clip(np.round(rng.normal(4.0, 1.2, size=n) * 2) / 2, 1.0, 6.5)
    lin = 0.6 * (group == "B") + 1.0 * (group == "C") + 0.03 * (age - 37) + 0.2 * (edss - 4)
    h1 = 0.012 * np.exp(lin)
    h2 = np.where(stratum == "s1", 0.003, 0.006)
    t1 = rng.exponential(1 / h1)
    t2 = rng.exponential(1 / h2)
    cens = np.minimum(rng.uniform(12, 96, size=n), rng.exponential(1 / 0.005, size=n))
    t = np.minimum.reduce([t1, t2, cens])
    event = np.select([t == t1, t == t2], [1, 2], 0)
    time = np.ceil(t).astype(int)
    return pd.DataFrame({"time": time, "event": event, "group": group, "stratum": stratum,
                         "age": age, "edss": edss})


if __name__ == "__main__":
    df = make_cr3()
    df.to_csv("cr3.csv", index=False)
    ties = int((df["time"].value_counts() > 1).sum())
    print(df["event"].value_counts().to_dict(), "tied times:", ties)
