"""Outcomes analysis of a registry: study-style tables (HALT-MS, Shevchenko) beside the
published figures, Cox model of event-free survival and EDSS trajectories.

>>> from hsctms.analysis import OutcomesSettings, run_outcomes
>>> from hsctms.datasets import load_demo_cohort
>>> settings = OutcomesSettings(level=0.9, years=(1, 2, 3, 4, 5))
>>> result = run_outcomes(load_demo_cohort(), "halt_ms", settings=settings)
>>> result.n, result.definition_name, result.provenance.synthetic
(300, 'halt_ms', True)
"""

from hsctms.analysis.comparisons import (
    HaltMsLikeSubset,
    PublishedComparison,
    halt_ms_like,
    shevchenko_comparisons,
)
from hsctms.analysis.edss_change import (
    EdssChangeRow,
    SignedRank,
    edss_at_years,
    edss_change_table,
    signed_rank_test,
)
from hsctms.analysis.pipeline import (
    COX_COVARIATES,
    OutcomesAnalysis,
    OutcomesSettings,
    run_outcomes,
)
from hsctms.analysis.published import PublishedFigure, published_figures
from hsctms.analysis.tables import (
    HALT_MS_ENDPOINTS,
    PHENOTYPE_GROUPS,
    HaltMsTable,
    ShevchenkoTable,
    competing_progression,
    halt_ms_table,
    shevchenko_table,
)

__all__ = [
    "COX_COVARIATES",
    "HALT_MS_ENDPOINTS",
    "PHENOTYPE_GROUPS",
    "EdssChangeRow",
    "HaltMsLikeSubset",
    "HaltMsTable",
    "OutcomesAnalysis",
    "OutcomesSettings",
    "PublishedComparison",
    "PublishedFigure",
    "ShevchenkoTable",
    "SignedRank",
    "competing_progression",
    "edss_at_years",
    "edss_change_table",
    "halt_ms_like",
    "halt_ms_table",
    "published_figures",
    "run_outcomes",
    "shevchenko_comparisons",
    "shevchenko_table",
    "signed_rank_test",
]
