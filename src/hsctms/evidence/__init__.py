"""The published evidence on aHSCT in MS, as validated data with a query API.

Quick use::

    from hsctms.evidence import load_evidence, outcomes, harms, study

    ev = load_evidence()                       # validated, cached
    study("atkins2016")["trm_deaths"]          # 1
    outcomes(outcome="neda", phenotype="relapsing")
    harms(harm="thyroid")                      # aHSCT and alemtuzumab rows
    ev.published_pooled("trm")                 # Sormani 2017, Ge 2019, ...
    ev.trm_data()                              # per-study deaths / n for hsctms.meta

Data files: ``hsctms/evidence/data/{studies.yaml,outcomes.csv,harms.csv}``; schema and rules in
``docs/evidence.md``. Every figure comes from the project's research notes; figures marked
*(unverified)* there have ``verified == False`` (rows) or are listed in ``unverified`` (study
fields).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from hsctms.evidence.base import (
    ERA_CUT,
    PHENOTYPES,
    EvidenceBase,
    era_label,
    exact_interval,
    phenotype_group,
)
from hsctms.evidence.changes import ChangeEntry, ChangeLog, StudyChange, read_changes
from hsctms.evidence.loader import DATA_DIR, read_all
from hsctms.evidence.schema import ARMS, EVIDENCE_DESIGNS, HARMS, MEASURES, OUTCOMES
from hsctms.evidence.selection import EvidenceSelection, RowInclusion
from hsctms.model.regimens import RegimenMap

__all__ = [
    "ARMS",
    "DATA_DIR",
    "ERA_CUT",
    "EVIDENCE_DESIGNS",
    "HARMS",
    "MEASURES",
    "OUTCOMES",
    "PHENOTYPES",
    "ChangeEntry",
    "ChangeLog",
    "EvidenceBase",
    "EvidenceSelection",
    "RowInclusion",
    "StudyChange",
    "era_label",
    "exact_interval",
    "harms",
    "load_evidence",
    "outcomes",
    "phenotype_group",
    "read_changes",
    "study",
]


def load_evidence(
    data_dir: str | Path | None = None,
    *,
    regimen_map: RegimenMap | None = None,
    era_cut: int = ERA_CUT,
) -> EvidenceBase:
    """Load and validate the evidence base.

    Parameters
    ----------
    data_dir
        Directory with ``studies.yaml``, ``outcomes.csv`` and ``harms.csv``; default: the data
        shipped with hsctms. The default load is cached.
    regimen_map
        Map used to derive each study's ``intensity`` from ``regimen_code`` (default EBMT).
    era_cut
        Publication year separating the two eras (default 2005).

    Returns
    -------
    EvidenceBase
        The studies, outcomes and harms tables with their derived columns.

    Raises
    ------
    hsctms.errors.EvidenceError
        When any row breaks a rule; the message lists every problem with file, row and field.
    """
    if data_dir is None and regimen_map is None and era_cut == ERA_CUT:
        return _default()
    base = Path(data_dir) if data_dir is not None else None
    studies, out, harm = read_all(base)
    ev = EvidenceBase.from_tables(studies, out, harm, regimen_map, era_cut)
    ev.changelog = _changelog(base, ev.study_ids)
    return ev


def _changelog(base: Path | None, ids: list[str]) -> ChangeLog | None:
    path = (base if base is not None else DATA_DIR) / "changes.yaml"
    return read_changes(path, ids) if path.is_file() else None


@lru_cache(maxsize=1)
def _default() -> EvidenceBase:
    studies, out, harm = read_all(None)
    ev = EvidenceBase.from_tables(studies, out, harm)
    ev.changelog = _changelog(None, ev.study_ids)
    return ev


def outcomes(**filters: Any) -> pd.DataFrame:
    """:meth:`EvidenceBase.outcomes` on the default evidence base.

    Parameters
    ----------
    **filters
        Keyword arguments of :meth:`EvidenceBase.outcomes` (``study``, ``outcome``, ``arm``,
        ``phenotype``, ``population``, ``time_years``, ``measure``, ``rows``).

    Returns
    -------
    pandas.DataFrame
        The matching outcome rows joined with study columns.
    """
    return load_evidence().outcomes(**filters)


def harms(**filters: Any) -> pd.DataFrame:
    """:meth:`EvidenceBase.harms` on the default evidence base.

    Parameters
    ----------
    **filters
        Keyword arguments of :meth:`EvidenceBase.harms` (``study``, ``harm``, ``arm``,
        ``population``, ``verified_only``).

    Returns
    -------
    pandas.DataFrame
        The matching harm rows joined with study columns.
    """
    return load_evidence().harms(**filters)


def study(study_id: str) -> dict[str, Any]:
    """:meth:`EvidenceBase.study` on the default evidence base.

    Parameters
    ----------
    study_id : str
        Study id, e.g. ``"atkins2016"``.

    Returns
    -------
    dict
        The study's fields.
    """
    return load_evidence().study(study_id)
