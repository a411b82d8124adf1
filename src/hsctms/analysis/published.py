"""Published figures of HALT-MS (Nash 2017) and Shevchenko 2015 for side-by-side display.

Figures come from :mod:`hsctms.evidence` (the project's evidence base) and are always labelled
"published" with their source; rows the evidence base marks unverified keep that flag.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from hsctms.errors import EvidenceError
from hsctms.survival._common import finite_or_none

#: Evidence-base outcome name for each endpoint-engine endpoint ("free of" the event).
OUTCOME_FOR_ENDPOINT: dict[str, str] = {
    "efs": "event_free",
    "worsening": "progression_free",
    "relapse": "relapse_free",
    "mri_activity": "mri_activity_free",
    "neda3_loss": "neda",
}

HALT_MS = "nash2017"
SHEVCHENKO = "shevchenko2015"


@dataclass(frozen=True)
class PublishedFigure:
    """One published outcome figure (proportions as fractions).

    Parameters
    ----------
    study_id
        Evidence-base study identifier (e.g. ``"nash2017"``).
    study
        Short label of the study (e.g. ``"Nash 2017 (HALT-MS, 5 y)"``).
    citation
        Reference with its DOI.
    outcome
        Evidence-base outcome name, e.g. ``"event_free"`` or ``"progression_free"`` (see
        :data:`OUTCOME_FOR_ENDPOINT`).
    population
        Subgroup the figure is for (``"all"``, ``"RRMS"``, ``"progressive"``, ...).
    time_years, time_label
        Time point (years after transplant; None when not stated) and its label as
        published (``"5 y"``).
    estimate, lower, upper
        The figure and its confidence limits; proportions 0-1 when the source gives percent
        (the ``measure`` stays ``"percent"``), else on the source's scale (e.g. EDSS
        points). None when not reported.
    level
        Confidence level of the interval (e.g. 0.9), None when not reported.
    measure
        Measure of the source: ``"percent"`` (converted to a proportion) or e.g.
        ``"edss"``.
    definition
        The study's own definition of the outcome.
    verified
        False when the evidence base marks the figure unverified against the paper.
    n
        Patients the figure is based on, None when not reported.
    """

    study_id: str
    study: str
    citation: str
    outcome: str
    population: str
    time_years: float | None
    time_label: str
    estimate: float | None
    lower: float | None
    upper: float | None
    level: float | None
    measure: str
    definition: str
    verified: bool
    n: int | None

    @property
    def source(self) -> str:
        """Citation with the verification flag."""
        flag = "" if self.verified else " (unverified)"
        return f"{self.citation}{flag}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict of str to Any
            The fields by name (non-finite numbers as None) plus ``label="published"``.
        """
        return {
            "study_id": self.study_id, "study": self.study, "citation": self.citation,
            "outcome": self.outcome, "population": self.population,
            "time_years": finite_or_none(self.time_years), "time_label": self.time_label,
            "estimate": finite_or_none(self.estimate), "lower": finite_or_none(self.lower),
            "upper": finite_or_none(self.upper), "level": finite_or_none(self.level),
            "measure": self.measure, "definition": self.definition, "verified": self.verified,
            "n": self.n, "label": "published",
        }


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(v) else v


def published_figures(study_ids: Iterable[str] = (HALT_MS, SHEVCHENKO)) -> list[PublishedFigure]:
    """Published outcome figures of the given studies from :mod:`hsctms.evidence`.

    Parameters
    ----------
    study_ids
        Evidence-base study identifiers; default HALT-MS (``"nash2017"``) and Shevchenko 2015
        (``"shevchenko2015"``). Identifiers without outcomes are skipped.

    Returns
    -------
    list of PublishedFigure
        One figure per outcome row of those studies, in evidence-base order.

    Raises
    ------
    EvidenceError
        If the evidence base cannot be loaded or has no outcome of any of the studies.
    """
    from hsctms.evidence import outcomes, study

    ids = list(study_ids)
    table = outcomes()
    rows = table[table["study_id"].isin(ids)]
    if rows.empty:
        raise EvidenceError(f"No published outcomes for {ids} in the evidence base.",
                            hint="Pass published figures explicitly (published=...).")
    out = []
    for r in rows.itertuples(index=False):
        info = study(str(r.study_id))
        pct = str(r.measure) == "percent"
        scale = 0.01 if pct else 1.0

        def sc(v: Any, scale: float = scale) -> float | None:
            x = _num(v)
            return None if x is None else x * scale

        out.append(PublishedFigure(
            study_id=str(r.study_id), study=str(info.get("label", r.study_id)),
            citation=f"{info.get('citation', '')}; doi:{info.get('doi', '')}",
            outcome=str(r.outcome), population=str(r.population),
            time_years=_num(r.time_years), time_label=str(r.time_label),
            estimate=sc(r.estimate), lower=sc(r.ci_low), upper=sc(r.ci_high),
            level=_num(r.ci_level), measure=str(r.measure), definition=str(r.definition),
            verified=bool(r.verified), n=None if _num(r.n) is None else int(float(r.n)),
        ))
    return out


def find(figures: Iterable[PublishedFigure], study_id: str, outcome: str,
         population: str = "all") -> PublishedFigure | None:
    """The first figure matching study, outcome and population, or None."""
    for f in figures:
        if f.study_id == study_id and f.outcome == outcome and f.population == population:
            return f
    return None
