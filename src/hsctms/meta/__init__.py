"""Meta-analysis of proportions: PLO/PFT effect sizes, FE/DL/REML pooling, heterogeneity,
subgroups, meta-regression and Poisson regression, with R metafor's conventions.

>>> from hsctms.meta import ModelSpec, pool_proportions
>>> res = pool_proportions([1, 0, 3], [24, 55, 120], ["A", "B", "C"],
...                        model=ModelSpec(measure="PFT"))
>>> res.k
3

See ``docs/meta-analysis.md``.
"""

from __future__ import annotations

from hsctms.meta.effects import back_transform, escalc, exact_ci, harmonic_mean, ipft
from hsctms.meta.glmm import glmm_proportions
from hsctms.meta.options import ModelSpec, RegressionSpec, SourceInfo
from hsctms.meta.pooling import (
    MetaAnalysis,
    SubgroupAnalysis,
    pool_proportions,
    pool_table,
    subgroup_analysis,
)
from hsctms.meta.regression import (
    MetaRegression,
    PoissonRegression,
    meta_regression,
    poisson_regression,
)

__all__ = [
    "MetaAnalysis",
    "MetaRegression",
    "ModelSpec",
    "PoissonRegression",
    "RegressionSpec",
    "SourceInfo",
    "SubgroupAnalysis",
    "back_transform",
    "escalc",
    "exact_ci",
    "glmm_proportions",
    "harmonic_mean",
    "ipft",
    "meta_regression",
    "poisson_regression",
    "pool_proportions",
    "pool_table",
    "subgroup_analysis",
]
