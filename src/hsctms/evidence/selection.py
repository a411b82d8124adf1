"""Option objects for choosing studies and rows from the evidence compendium.

* :class:`EvidenceSelection`: which studies (and which population's rows) a pooled analysis
  uses (:func:`hsctms.meta.evidence_pool.pool_evidence`);
* :class:`RowInclusion`: which kinds of rows a query returns
  (:meth:`hsctms.evidence.EvidenceBase.outcomes`).

>>> from hsctms.evidence import EvidenceSelection
>>> sel = EvidenceSelection(studies=["atkins2016", "nash2017"], verified_only=True)
>>> sel.studies
('atkins2016', 'nash2017')

Both are frozen and checked on construction; a bad value raises
:class:`hsctms.errors.ConfigurationError` with a hint. Study ids are checked against the
evidence base when the selection is used (the hint then suggests close ids).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hsctms.errors import ConfigurationError


def _flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be True or False; got {value!r}.",
                                 hint=f"Pass {name}=True or {name}=False.")


@dataclass(frozen=True)
class EvidenceSelection:
    """Which studies of the evidence base a pooled analysis uses.

    Parameters
    ----------
    population : str, default "all"
        Population of the outcome rows pooled for percentage outcomes: ``"all"`` (whole
        cohorts) or a subgroup label of ``outcomes.csv`` such as ``"RRMS"``, ``"SPMS"`` or
        ``"progressive"``. TRM is always pooled over whole cohorts (deaths / transplanted
        patients of ``studies.yaml``), whatever the population.
    studies : sequence of str or None, default None
        Study ids to pool (``hsctms evidence list`` shows them); ``None`` pools every
        eligible study. An explicit list is used as given, superseded reports included.
    include_superseded : bool, default False
        Also pool reports superseded by a later report of the same cohort (they share
        patients with it, so they are left out by default).
    verified_only : bool, default False
        Pool only figures not flagged *(unverified)* in the research notes.

    Raises
    ------
    hsctms.errors.ConfigurationError
        When ``population`` is empty, a study id is not a non-empty string, the list of
        studies is empty, or a flag is not a bool.
    """

    population: str = "all"
    studies: tuple[str, ...] | None = None
    include_superseded: bool = False
    verified_only: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.population, str) or not self.population.strip():
            raise ConfigurationError(f"population must be a non-empty label; got "
                                     f"{self.population!r}.",
                                     hint="Use 'all' (whole cohorts) or a subgroup such as "
                                          "'RRMS'.")
        object.__setattr__(self, "population", self.population.strip())
        if self.studies is not None:
            object.__setattr__(self, "studies", _study_ids(self.studies))
        _flag("include_superseded", self.include_superseded)
        _flag("verified_only", self.verified_only)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (as recorded in ``PooledEvidence.selection``).

        Returns
        -------
        dict
            ``population``, ``studies`` (a list or ``None``), ``include_superseded`` and
            ``verified_only``.
        """
        return {"population": self.population,
                "studies": None if self.studies is None else list(self.studies),
                "include_superseded": self.include_superseded,
                "verified_only": self.verified_only}


def _study_ids(value: str | Iterable[str]) -> tuple[str, ...]:
    ids = (value,) if isinstance(value, str) else tuple(value)
    bad = [s for s in ids if not isinstance(s, str) or not s.strip()]
    if bad:
        raise ConfigurationError(f"Study ids must be non-empty strings; got {bad!r}.",
                                 hint="List ids with `hsctms evidence list`.")
    if not ids:
        raise ConfigurationError("The list of studies is empty.",
                                 hint="Give at least one study id, or studies=None for all.")
    return tuple(s.strip() for s in ids)


@dataclass(frozen=True)
class RowInclusion:
    """Which kinds of outcome rows a query of the evidence base returns.

    Parameters
    ----------
    verified_only : bool, default False
        Drop rows flagged *(unverified)* in the research notes.
    include_pooled : bool, default False
        Include figures of published meta-analyses and appraisals (``arm == "pooled"``).
    include_superseded : bool, default True
        Include reports superseded by a later report of the same cohort (a query shows
        everything; pooling leaves them out, see :class:`EvidenceSelection`).

    Raises
    ------
    hsctms.errors.ConfigurationError
        When a flag is not a bool.

    Examples
    --------
    >>> RowInclusion(include_superseded=False).to_dict()
    {'verified_only': False, 'include_pooled': False, 'include_superseded': False}
    """

    verified_only: bool = False
    include_pooled: bool = False
    include_superseded: bool = True

    def __post_init__(self) -> None:
        for name in ("verified_only", "include_pooled", "include_superseded"):
            _flag(name, getattr(self, name))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            The three flags.
        """
        return {"verified_only": self.verified_only, "include_pooled": self.include_pooled,
                "include_superseded": self.include_superseded}


__all__ = ["EvidenceSelection", "RowInclusion"]
