"""Readable names for the terms and numbers of the outcomes analysis, as a paper prints them.

A Cox model fitted by :func:`hsctms.survival.cox_ph` names its columns the way R does
(``phenotype_grouprelapsing``, ``intensitylow``). :func:`cox_term_label` turns a column into
"Phenotype group: relapsing (vs progressive)" or "Age at transplant (per year)", from the
model's own terms and reference levels; :func:`format_p` prints p-values as journals do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["COVARIATE_LABELS", "cox_term_label", "format_p"]

#: Covariate -> (label, unit of one step of a numeric covariate, or None for a factor).
COVARIATE_LABELS: dict[str, tuple[str, str | None]] = {
    "phenotype_group": ("Phenotype group", None),
    "phenotype": ("Phenotype", None),
    "age_at_transplant": ("Age at transplant", "per year"),
    "baseline_edss": ("Baseline EDSS", "per point"),
    "disease_duration": ("Disease duration", "per year"),
    "intensity": ("Conditioning intensity", None),
    "sex": ("Sex", None),
    "centre": ("Centre", None),
}


def cox_term_label(column: str, terms: Mapping[str, tuple[int, ...]], *,
                   references: Mapping[str, str], columns: tuple[str, ...]) -> str:
    """The printed name of one column of a Cox model.

    Parameters
    ----------
    column
        A name of ``CoxModel.columns`` (e.g. ``"intensitylow"``).
    terms
        ``CoxModel.terms``: covariate -> indexes of its columns.
    references
        ``CoxModel.references``: factor covariate -> its reference level.
    columns
        ``CoxModel.columns``.

    Returns
    -------
    str
        E.g. ``"Conditioning intensity: low (vs high)"`` or ``"Baseline EDSS (per point)"``;
        an unknown covariate keeps its own name.

    Examples
    --------
    >>> cox_term_label("intensitylow", {"intensity": (0,)}, references={"intensity": "high"},
    ...                columns=("intensitylow",))
    'Conditioning intensity: low (vs high)'
    """
    index = columns.index(column)
    term = next((t for t, idx in terms.items() if index in idx), column)
    label, unit = COVARIATE_LABELS.get(term, (term.replace("_", " ").capitalize(), None))
    if term in references:
        level = column[len(term):] if column.startswith(term) else column
        return f"{label}: {level} (vs {references[term]})"
    return f"{label} ({unit})" if unit else label


def format_p(p: float | None, *, digits: int = 3) -> str:
    """A p-value as journals print it: ``"p = 0.042"``, ``"p < 0.001"``.

    Parameters
    ----------
    p
        The p-value (None or NaN when not available).
    digits
        Decimals shown; values below ``10**-digits`` are printed as ``p < 0.001`` (for 3).

    Returns
    -------
    str
        ``"p = …"``, ``"p < …"``, or ``"p not available"``.

    Examples
    --------
    >>> format_p(0.0421), format_p(4.7e-05), format_p(float("nan"))
    ('p = 0.042', 'p < 0.001', 'p not available')
    """
    if p is None or not math.isfinite(p):
        return "p not available"
    floor = 10.0 ** -digits
    if p < floor:
        return f"p < {floor:.{digits}f}"
    return f"p = {p:.{digits}f}"
