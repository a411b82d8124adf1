"""Print the calibration tables of docs/disease-model.md ("Calibration targets").

Run from the repository root::

    PYTHONPATH=src python tests/datasets/calibration_tables.py

Observed endpoints: 10,000 simulated patients per aHSCT arm (seed 3, 5.5 years, as
``test_disease_model._derived``), derived with ``hsctms.endpoints`` (``halt_ms``), Kaplan-Meier
event-free probabilities, and the worsening events by class (PIRA / RAW / undetermined).
Latent course: 20,000 patients per arm (seed 1, no dropout), fractions free of the first latent
relapse, MRI episode after the re-baseline scan, sustained worsening step and death.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hsctms import endpoints
from hsctms.datasets import (
    ArmParameters,
    ahsct,
    alemtuzumab,
    fingolimod,
    mist_dmt,
    natalizumab,
    ocrelizumab,
    simulate_arm,
)
from hsctms.model.cohort import Cohort

YEAR = 365.25
AHSCT_ARMS = (("RRMS", "intermediate"), ("RRMS", "low"), ("RRMS", "high"),
              ("SPMS", "intermediate"), ("PPMS", "intermediate"))


def km(time: pd.Series, event: pd.Series, t: float) -> float:
    """Kaplan-Meier event-free probability at ``t`` (as ``test_disease_model._km``)."""
    tt = time.to_numpy(dtype=float)
    ee = event.to_numpy(dtype=float)
    ok = ~np.isnan(tt)
    tt, ee = tt[ok], ee[ok]
    s = 1.0
    for u in np.unique(tt[(ee == 1) & (tt <= t)]):
        s *= 1 - ((tt == u) & (ee == 1)).sum() / (tt >= u).sum()
    return float(s)


def observed_row(arm: ArmParameters, n: int = 10_000, seed: int = 3) -> str:
    """One markdown row of the observed-endpoint table."""
    tables = simulate_arm(n, arm, np.random.default_rng(seed), followup_years=5.5)
    cohort = Cohort.from_frames(synthetic=True, **{
        k: v for k, v in tables.items()
        if k in ("patients", "transplants", "edss", "relapses", "mri", "deaths")})
    res = endpoints.derive(cohort, "halt_ms")
    f = res.to_frame()
    cells = [km(f["neda3_loss_time"], f["neda3_loss_event"], y * YEAR) for y in (2, 3, 5)]
    cells += [km(f[f"{e}_time"], f[f"{e}_event"], 5 * YEAR)
              for e in ("efs", "worsening", "relapse", "mri_activity")]
    cc = res.class_counts()
    share = cc["RAW"] / max(sum(cc.values()), 1)
    return (f"| {arm.name} | " + " | ".join(f"{c:.2f}" for c in cells)
            + f" | {cc['PIRA']} / {cc['RAW']} ({100 * share:.0f}%) |")


def latent_row(arm: ArmParameters, n: int = 20_000, seed: int = 1) -> str:
    """One markdown row of the latent-course table."""
    tables = simulate_arm(n, arm.replace(dropout_rate=0.0), np.random.default_rng(seed),
                          followup_years=5.5)
    tr = tables["truth"]
    cells = []
    for y in (2, 3, 5):
        d = y * YEAR
        cells.append(float((~((tr["first_relapse_day"] <= d) | (tr["first_mri_day"] <= d)
                              | (tr["first_worsening_day"] <= d))).mean()))
    d = 5 * YEAR
    rel, wor = tr["first_relapse_day"] <= d, tr["first_worsening_day"] <= d
    dead = tr["death_day"] <= d
    cells += [float((~(rel | (tr["first_mri_day"] <= d) | wor | dead)).mean()),
              float((~wor).mean()), float((~rel).mean())]
    return f"| {arm.name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |"


def main() -> None:
    """Print both tables as markdown."""
    print("| arm | NEDA-3 2 y | 3 y | 5 y | EFS 5 y | PFS 5 y | RFS 5 y | MRI-free 5 y "
          "| worsening PIRA / RAW (RAW share) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for ph, it in AHSCT_ARMS:
        print(observed_row(ahsct(ph, it)))
    print()
    print("| arm | NEDA-3 2 y | 3 y | 5 y | EFS 5 y | PFS 5 y | RFS 5 y |")
    print("|---|---|---|---|---|---|---|")
    arms = [ahsct(ph, it) for ph, it in AHSCT_ARMS]
    arms += [alemtuzumab(), ocrelizumab(), natalizumab(), fingolimod(), mist_dmt()]
    for arm in arms:
        print(latent_row(arm))


if __name__ == "__main__":
    main()
