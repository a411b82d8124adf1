"""Figures drawn from synthetic data say so on the figure itself."""

from __future__ import annotations

import matplotlib.pyplot as plt

from hsctms.analysis import run_outcomes
from hsctms.analysis.labels import cox_term_label
from hsctms.datasets import load_demo_cohort


def test_every_outcomes_figure_of_synthetic_data_is_labelled() -> None:
    analysis = run_outcomes(load_demo_cohort())
    figures = analysis.figures()
    assert figures
    for name, fig in figures.items():
        texts = [t.get_text() for t in fig.texts]
        assert "SYNTHETIC DATA" in texts, name
    # the proportional-hazards figure names its coefficient as the report's Cox table does
    # (label with reference level or unit), never by the model's column name
    assert analysis.cox is not None and "ph_check" in figures
    ax = figures["ph_check"].axes[0]
    labels = [cox_term_label(c, analysis.cox.terms, references=analysis.cox.references,
                             columns=tuple(analysis.cox.columns)) for c in analysis.cox.columns]
    title = ax.get_title(loc="left")
    assert any(title.startswith(f"Proportional hazards: {lab}") for lab in labels)
    assert not any(c in title + ax.get_ylabel() for c in analysis.cox.columns
                   if c not in labels)
    for fig in figures.values():
        plt.close(fig)
