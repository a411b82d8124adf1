"""Option objects of the meta-analysis functions: the model, the regressions and the source.

They group the arguments the way R metafor users think of them:

* :class:`ModelSpec` holds ``rma``'s ``measure``, ``method``, ``level`` and ``test`` and is
  shared by every pooling function (:func:`hsctms.meta.pool_proportions`,
  :func:`hsctms.meta.subgroup_analysis`, :func:`hsctms.meta.pool_table`,
  :func:`hsctms.meta.meta_regression`, :func:`hsctms.meta.evidence_pool.pool_data`,
  :func:`hsctms.meta.evidence_pool.pool_evidence`);
* :class:`RegressionSpec` says which meta-regressions and Poisson models
  :func:`~hsctms.meta.evidence_pool.pool_data` adds to the pooled estimate;
* :class:`SourceInfo` carries what the caller knows about where a study table came from.

>>> from hsctms.meta import ModelSpec, pool_proportions
>>> spec = ModelSpec(measure="pft", method="dl")
>>> spec.measure, spec.method
('PFT', 'DL')
>>> pool_proportions([1, 0, 3], [24, 55, 120], model=spec).method
'DL'

All three are frozen: they are checked (and names normalised) once, on construction, and an
invalid value raises :class:`hsctms.errors.ConfigurationError` whose hint says what to give.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from hsctms.errors import ConfigurationError
from hsctms.meta._fit import METHODS, TESTS, check_level, check_method
from hsctms.meta.effects import check_measure

#: Methods a :class:`ModelSpec` accepts: the inverse-variance ones and the binomial GLMM.
MODEL_METHODS: tuple[str, ...] = (*METHODS, "GLMM")

#: Moderator columns tried one at a time by default (column -> label).
MODERATORS: dict[str, str] = {
    "pub_year": "publication year", "year": "year (evidence base: transplant midpoint)",
    "edss": "baseline EDSS", "pct_rrms": "% RRMS"}


@dataclass(frozen=True)
class ModelSpec:
    """The meta-analysis model: metafor ``rma``'s ``measure``, ``method``, ``level``, ``test``.

    Parameters
    ----------
    measure : str, default "PLO"
        Effect size of a single proportion: ``"PLO"`` (logit, 0.5 added to zero cells only)
        or ``"PFT"`` (Freeman-Tukey double arcsine, metafor's halved form, no correction).
        Case-insensitive; stored upper-case.
    method : str, default "REML"
        Between-study variance estimator: ``"REML"`` (restricted maximum likelihood),
        ``"DL"`` (DerSimonian-Laird) or ``"FE"`` (fixed effect, tau² = 0; ``"EE"``,
        ``"CE"`` and ``"fixed"`` are read as ``"FE"``). ``"GLMM"`` (binomial-normal model,
        :func:`hsctms.meta.glmm_proportions`) is accepted here but only
        :func:`~hsctms.meta.evidence_pool.pool_data` and
        :func:`~hsctms.meta.evidence_pool.pool_evidence` can fit it.
    level : float, default 0.95
        Confidence level of every interval (CIs and the prediction interval), in [0.5, 1).
    test : str, default "z"
        ``"z"`` (Wald z tests and normal intervals, metafor's default) or ``"knha"``
        (Knapp-Hartung: t with k - p degrees of freedom). Case-insensitive.

    Raises
    ------
    hsctms.errors.ConfigurationError
        For an unknown measure, method or test, or a level outside [0.5, 1).

    Examples
    --------
    >>> ModelSpec(method="fixed").method
    'FE'
    >>> ModelSpec(test="KNHA").to_dict()
    {'measure': 'PLO', 'method': 'REML', 'level': 0.95, 'test': 'knha'}
    """

    measure: str = "PLO"
    method: str = "REML"
    level: float = 0.95
    test: str = "z"

    def __post_init__(self) -> None:
        object.__setattr__(self, "measure", check_measure(self.measure))
        method = str(self.method).upper()
        object.__setattr__(self, "method", "GLMM" if method == "GLMM"
                           else check_method(self.method))
        object.__setattr__(self, "level", check_level(self.level))
        test = str(self.test).lower()
        if test not in TESTS:
            raise ConfigurationError(f"Unknown test {self.test!r}.",
                                     hint="Use 'z' (Wald z, metafor's default) or 'knha' "
                                          "(Knapp-Hartung).")
        object.__setattr__(self, "test", test)

    @property
    def is_glmm(self) -> bool:
        """True for the binomial-normal GLMM (``method="GLMM"``)."""
        return self.method == "GLMM"

    def inverse_variance(self) -> str:
        """The inverse-variance method of this model, for fits that cannot be a GLMM.

        Returns
        -------
        str
            ``method`` itself, or ``"REML"`` when ``method`` is ``"GLMM"`` (the
            meta-regressions next to a GLMM pooled estimate are REML fits).
        """
        return "REML" if self.is_glmm else self.method

    def require_inverse_variance(self, function: str) -> None:
        """Refuse the GLMM in a function that fits only inverse-variance models.

        Parameters
        ----------
        function
            Name of the calling function, for the message.

        Raises
        ------
        hsctms.errors.ConfigurationError
            When ``method`` is ``"GLMM"``.
        """
        if self.is_glmm:
            raise ConfigurationError(
                f"{function} fits inverse-variance models only (REML, DL or FE), not GLMM.",
                hint="Use hsctms.meta.glmm_proportions(events, n) or pool_data(..., "
                     "model=ModelSpec(method='GLMM')) for the binomial-normal model.")

    def to_dict(self) -> dict[str, Any]:
        """The four settings, as given to R ``metafor::rma``.

        Returns
        -------
        dict
            ``{"measure", "method", "level", "test"}``.
        """
        return {"measure": self.measure, "method": self.method, "level": self.level,
                "test": self.test}


def _names(value: Any, what: str) -> tuple[str, ...]:
    """A tuple of non-empty column names (a single string is one name)."""
    items = (value,) if isinstance(value, str) else tuple(value)
    bad = [m for m in items if not isinstance(m, str) or not m.strip()]
    if bad:
        raise ConfigurationError(f"{what} must be column names; got {bad!r}.",
                                 hint=f"Give {what} as a tuple of column names, e.g. "
                                      "('pub_year', 'edss').")
    return tuple(m.strip() for m in items)


@dataclass(frozen=True)
class RegressionSpec:
    """Which meta-regressions and Poisson models accompany a pooled estimate.

    Parameters
    ----------
    moderators : tuple of str, default ("pub_year", "year", "edss", "pct_rrms")
        Moderator columns each fitted alone (one univariable meta-regression per column, on
        the studies that report it); columns absent from the table are skipped, and those
        with fewer than 3 studies or a single value are explained in the caveats. ``()``
        fits none.
    poisson : bool or None, default None
        Add Poisson models of the event counts with ``log(n)`` offset (pooled rate and one
        rate ratio per moderator, as Sormani et al. 2017), which suit rare events such as
        deaths. ``None`` leaves the choice to the function: ``pool_data`` fits them,
        ``pool_evidence`` fits them for ``"trm"`` only.
    joint : tuple of str or None, default None
        Moderators fitted together in one multivariable meta-regression (and Poisson model),
        on the studies that have all of them, e.g. ``("pub_year", "edss", "pct_rrms")``.

    Raises
    ------
    hsctms.errors.ConfigurationError
        When a moderator is not a non-empty string, or ``joint`` is empty.

    Examples
    --------
    >>> RegressionSpec(joint=("edss", "pct_rrms"), poisson=False).to_dict()["joint"]
    ['edss', 'pct_rrms']
    """

    moderators: tuple[str, ...] = tuple(MODERATORS)
    poisson: bool | None = None
    joint: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "moderators", _names(self.moderators, "moderators"))
        if self.poisson is not None and not isinstance(self.poisson, bool):
            raise ConfigurationError(f"poisson must be True, False or None; got "
                                     f"{self.poisson!r}.",
                                     hint="None lets the function decide (TRM: Poisson).")
        if self.joint is not None:
            joint = _names(self.joint, "joint")
            if not joint:
                raise ConfigurationError("joint names no moderator.",
                                         hint="Give at least one column, or joint=None.")
            object.__setattr__(self, "joint", joint)

    def fits_poisson(self, default: bool) -> bool:
        """Whether to fit the Poisson models.

        Parameters
        ----------
        default
            The calling function's choice, used when ``poisson`` is ``None``.

        Returns
        -------
        bool
            ``poisson``, or ``default`` when it is ``None``.
        """
        return default if self.poisson is None else self.poisson

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            ``moderators`` and ``joint`` as lists (``joint`` may be ``None``), ``poisson``.
        """
        return {"moderators": list(self.moderators), "poisson": self.poisson,
                "joint": None if self.joint is None else list(self.joint)}


@dataclass(frozen=True, eq=False)
class SourceInfo:
    """What the caller knows about where a study table came from, kept with the result.

    Parameters
    ----------
    selection : mapping, default {}
        How the studies were chosen (e.g. ``{"source": "my_studies.csv", "studies": 12}``);
        stored as a read-only mapping, copied into ``PooledEvidence.selection`` and its JSON.
        Values should be JSON-serialisable.
    caveats : tuple of str, default ()
        Caveats of the inputs (overlapping cohorts, reconstructed events, ...), listed
        before the caveats the fits add.
    published : pandas.DataFrame or None, default None
        Published pooled figures of the same outcome to show beside the result, with the
        columns of :meth:`hsctms.evidence.EvidenceBase.published_pooled` (``study_id``,
        ``label``, ``population``, ``estimate``, ``ci_low``, ``ci_high`` in percent,
        ``time_years``, ``verified``).

    Raises
    ------
    hsctms.errors.ConfigurationError
        When ``selection`` is not a mapping, a caveat is not a string, or ``published`` is
        not a DataFrame or lacks one of the columns above.
    """

    selection: Mapping[str, Any] = field(default_factory=dict)
    caveats: tuple[str, ...] = ()
    published: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.selection, Mapping):
            raise ConfigurationError("selection must be a mapping (dict).",
                                     hint="e.g. SourceInfo(selection={'source': 'file.csv'}).")
        object.__setattr__(self, "selection", MappingProxyType(dict(self.selection)))
        caveats = (self.caveats,) if isinstance(self.caveats, str) else tuple(self.caveats)
        if not all(isinstance(c, str) for c in caveats):
            raise ConfigurationError("caveats must be strings.",
                                     hint="Give caveats as a tuple of sentences.")
        object.__setattr__(self, "caveats", caveats)
        if self.published is not None:
            self._check_published(self.published)

    @staticmethod
    def _check_published(published: Any) -> None:
        if not isinstance(published, pd.DataFrame):
            raise ConfigurationError("published must be a pandas DataFrame.",
                                     hint="Use EvidenceBase.published_pooled(outcome).")
        need = ("study_id", "label", "population", "estimate", "ci_low", "ci_high",
                "time_years", "verified")
        missing = [c for c in need if c not in published.columns]
        if missing:
            raise ConfigurationError(f"published lacks column(s) {missing}.",
                                     hint="Use the table of EvidenceBase.published_pooled("
                                          "outcome), which has them all.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the published table as its number of rows).

        Returns
        -------
        dict
            ``selection`` (a plain dict), ``caveats`` (a list) and ``published_rows``.
        """
        return {"selection": dict(self.selection), "caveats": list(self.caveats),
                "published_rows": 0 if self.published is None else len(self.published)}


__all__ = ["MODERATORS", "ModelSpec", "RegressionSpec", "SourceInfo"]
