"""Deterministic figures for the image-regression test (``test_plots.py``).

Regenerate the committed baselines (after an intended change of the figure style) with::

    .venv/bin/python tests/survival/plot_cases.py

and look at the PNGs in ``tests/survival/baseline/`` before committing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import pandas as pd

from hsctms.survival import cumulative_incidence, kaplan_meier_by

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "reference" / "survival" / "cr3.csv"
BASELINE = HERE / "baseline"


def km_case() -> Any:
    d = pd.read_csv(DATA)
    fits = kaplan_meier_by(d["time"] / 12, (d["event"] != 0).astype(int), d["group"],
                           level=0.9)
    ax = fits.plot(xmax=6, risk_times=[0, 1, 2, 3, 4, 5, 6], title="KM by group (cr3)")
    return ax.figure


def cif_case() -> Any:
    d = pd.read_csv(DATA)
    fit = cumulative_incidence(d["time"] / 12, d["event"],
                               cause_names={1: "worsening", 2: "death"})
    ax = fit.plot(xmax=6, risk_times=[0, 2, 4, 6], title="CIF (cr3)")
    return ax.figure


CASES = {"km_groups": km_case, "cif": cif_case}


def render(name: str, out: Path) -> Path:
    from hsctms.plots._style import save_figure

    fig = CASES[name]()
    fig.set_dpi(100)
    path = save_figure(fig, out)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


if __name__ == "__main__":
    BASELINE.mkdir(exist_ok=True)
    for case in CASES:
        print(render(case, BASELINE / f"{case}.png"))
