"""The seeded synthetic analysis frame of the emulation tests (confounding by indication).

Patients with more relapses before baseline and younger age are more often treated; the
treatment lowers the relapse rate (true rate ratio 0.3) and the hazard of worsening (true
HR 0.5). ``python tests/emulation/synth.py`` rewrites ``tests/reference/emulation/frame.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CSV = Path(__file__).resolve().parents[1] / "reference" / "emulation" / "frame.csv"
COVARIATES = ["age", "edss", "relapses_2y", "female", "mri_active"]


def make_frame(n: int = 300, seed: int = 20261206) -> pd.DataFrame:
    """Return the synthetic per-patient frame (rounded so the CSV round-trips exactly)."""
    rng = np.random.default_rng(seed)
    age = np.round(rng.normal(35, 8, n), 1)
    edss = np.round(np.clip(rng.normal(3.5, 1.2, n), 0, 6.5) * 2) / 2
    relapses = rng.poisson(1.2, n)
    female = rng.binomial(1, 0.7, n)
    mri = rng.binomial(1, 0.5, n)
    lin = -1.2 + 0.6 * relapses - 0.05 * (age - 35) + 0.3 * (edss - 3.5) + 0.5 * mri
    treat = rng.binomial(1, 1 / (1 + np.exp(-lin)))
    exposure = np.round(rng.uniform(1.0, 6.0, n), 3)
    rate = np.exp(-1.0 + 0.35 * relapses + 0.1 * (edss - 3.5) + np.log(0.3) * treat)
    mu = rate * exposure
    # negative binomial counts (gamma frailty, shape 2)
    count = rng.poisson(mu * rng.gamma(2.0, 0.5, n))
    haz = 0.15 * np.exp(0.25 * (edss - 3.5) + 0.2 * relapses + np.log(0.5) * treat)
    t_event = rng.exponential(1 / haz)
    t_cens = rng.uniform(1.0, 8.0, n)
    time = np.round(np.minimum(t_event, t_cens), 2)
    time = np.maximum(time, 0.01)
    event = (t_event <= t_cens).astype(int)
    centre = rng.integers(1, 16, n)
    return pd.DataFrame({
        "id": np.arange(1, n + 1), "treat": treat, "age": age, "edss": edss,
        "relapses_2y": relapses, "female": female, "mri_active": mri,
        "relapses": count, "exposure": exposure, "time": time, "event": event,
        "centre": centre,
    })


if __name__ == "__main__":  # pragma: no cover
    make_frame().to_csv(CSV, index=False)
