"""Figures drawn from synthetic data say so on the figure itself."""

from __future__ import annotations

import matplotlib.pyplot as plt

from hsctms.analysis import run_outcomes
from hsctms.datasets import load_demo_cohort


def test_every_outcomes_figure_of_synthetic_data_is_labelled() -> None:
    figures = run_outcomes(load_demo_cohort()).figures()
    assert figures
    for name, fig in figures.items():
        texts = [t.get_text() for t in fig.texts]
        assert "SYNTHETIC DATA" in texts, name
        plt.close(fig)
