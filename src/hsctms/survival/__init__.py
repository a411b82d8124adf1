"""Survival statistics for registry outcomes: Kaplan-Meier, competing risks, log-rank, Cox.

Every function takes plain arrays (or a DataFrame for Cox) and returns a result object with
``.summary``, ``.to_dict()``, ``.to_frame()``, ``.plot(ax=None)`` where a plot makes sense and a
``provenance``. All numbers are checked against R ``survival`` and ``cmprsk``
(``tests/reference/survival``). Confidence intervals default to the log-log transform
(``conf_type="log-log"``); ``"log"`` (R's default) and ``"plain"`` are available; every output
states which one was used.

Examples
--------
>>> from hsctms.survival import kaplan_meier
>>> km = kaplan_meier([3, 5, 5, 8, 12], [1, 0, 1, 1, 0], level=0.9)
>>> km.conf_type
'log-log'
"""

from hsctms.survival._common import CONF_TYPES, prob_ci
from hsctms.survival.cif import (
    CumulativeIncidence,
    CumulativeIncidenceGroups,
    cumulative_incidence,
    cumulative_incidence_by,
)
from hsctms.survival.cox import CoxModel, PHTest, cox_ph, ph_test
from hsctms.survival.gray import GrayTest, gray_test
from hsctms.survival.km import (
    FollowUp,
    KaplanMeier,
    KaplanMeierGroups,
    Quantile,
    RestrictedMean,
    kaplan_meier,
    kaplan_meier_by,
    median_followup,
)
from hsctms.survival.logrank import LogRankTest, logrank_test

__all__ = [
    "CONF_TYPES",
    "CoxModel",
    "CumulativeIncidence",
    "CumulativeIncidenceGroups",
    "FollowUp",
    "GrayTest",
    "KaplanMeier",
    "KaplanMeierGroups",
    "LogRankTest",
    "PHTest",
    "Quantile",
    "RestrictedMean",
    "cox_ph",
    "cumulative_incidence",
    "cumulative_incidence_by",
    "gray_test",
    "kaplan_meier",
    "kaplan_meier_by",
    "logrank_test",
    "median_followup",
    "ph_test",
    "prob_ci",
]
