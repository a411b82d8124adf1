"""Conditioning regimens and their intensity class.

Regimens are stored *as recorded* (``"BEAM+ATG"``, ``"Cy200+ATG"``, ``"BU+Cy+ATG"``); the
intensity class (low / intermediate / high) is derived through a configurable
:class:`RegimenMap`, because sources disagree (Cy 200 mg/kg + ATG is "intermediate" in the
EBMT convention but "low-intensity, non-myeloablative" for several trialists).

Default (EBMT convention, as summarised in ``shared/research/evidence.md``; class boundaries
are marked *(unverified)* there because the EBMT 2020 table was not retrieved):

* **high**: busulfan- or TBI-containing (BU+Cy+ATG, Cy+TBI+ATG)
* **intermediate**: BEAM(+ATG), or cyclophosphamide with ATG or alemtuzumab
* **low**: cyclophosphamide alone or with rituximab, without ATG-level lymphoablation
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from hsctms.errors import ConfigurationError
from hsctms.model.schema import INTENSITY_CLASSES

#: Aliases of regimen components -> canonical component code.
COMPONENT_ALIASES: dict[str, str] = {
    "CY": "CY",
    "CYC": "CY",
    "CYCLOPHOSPHAMIDE": "CY",
    "BU": "BU",
    "BUSULFAN": "BU",
    "BUSULPHAN": "BU",
    "TBI": "TBI",
    "BEAM": "BEAM",
    "ATG": "ATG",
    "RATG": "ATG",
    "HATG": "ATG",
    "ATGAM": "ATG",
    "THYMOGLOBULIN": "ATG",
    "ALEM": "ALEM",
    "ALEMTUZUMAB": "ALEM",
    "CAMPATH": "ALEM",
    "RTX": "RTX",
    "RITUXIMAB": "RTX",
    "TT": "TT",
    "THIOTEPA": "TT",
    "MEL": "MEL",
    "MELPHALAN": "MEL",
    "FLU": "FLU",
    "FLUDARABINE": "FLU",
    "CARMUSTINE": "BCNU",
    "BCNU": "BCNU",
}

_SPLIT = re.compile(r"\s*(?:\+|/|,|;|&|\band\b|\bwith\b)\s*", flags=re.IGNORECASE)
_DOSE = re.compile(r"^([A-Za-z\-]+?)[\s\-]*\d+(?:\.\d+)?\s*(?:mgkg|mgm2|g|gy|mg)?$",
                   flags=re.IGNORECASE)


def regimen_components(regimen: str) -> frozenset[str] | None:
    """Parse a recorded regimen into canonical components.

    Returns ``None`` when any component is not recognised.

    Examples
    --------
    >>> sorted(regimen_components("Cy200 + rATG"))
    ['ATG', 'CY']
    >>> sorted(regimen_components("BU/Cy/ATG"))
    ['ATG', 'BU', 'CY']
    >>> regimen_components("Mystery drug") is None
    True
    """
    text = re.sub(r"mg\s*/\s*(kg|m2)", r"mg\1", regimen.strip(), flags=re.IGNORECASE)
    parts = [p for p in _SPLIT.split(text) if p]
    if not parts:
        return None
    out: set[str] = set()
    for part in parts:
        token = part.strip().upper().replace(" ", "")
        if token not in COMPONENT_ALIASES:
            match = _DOSE.match(part.strip())
            token = match.group(1).upper() if match else token
        canonical = COMPONENT_ALIASES.get(token)
        if canonical is None:
            return None
        out.add(canonical)
    return frozenset(out)


@dataclass(frozen=True)
class RegimenRule:
    """Class assigned when a regimen contains all of ``contains`` (first matching rule wins)."""

    contains: frozenset[str]
    intensity: str


def _rules(spec: Iterable[tuple[Iterable[str], str]]) -> tuple[RegimenRule, ...]:
    return tuple(RegimenRule(frozenset(c), k) for c, k in spec)


@dataclass(frozen=True)
class RegimenMap:
    """Configurable map from recorded conditioning regimen to intensity class.

    Parameters
    ----------
    name
        Name of the convention (recorded in result provenance).
    rules
        Ordered rules; the first whose components are all present wins.
    exact
        Exact overrides by normalised regimen text (upper case, no spaces).
    """

    name: str
    rules: tuple[RegimenRule, ...]
    exact: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        classes = [r.intensity for r in self.rules] + list(self.exact.values())
        bad = sorted({c for c in classes if c not in INTENSITY_CLASSES})
        if bad:
            raise ConfigurationError(
                f"Regimen map {self.name!r} uses unknown intensity class(es) {bad}.",
                hint=f"Use one of {', '.join(INTENSITY_CLASSES)}.",
            )

    def classify(self, regimen: str | None) -> str | None:
        """Intensity class of one regimen, or ``None`` when it is not recognised.

        Parameters
        ----------
        regimen : str or None
            The regimen as recorded, e.g. ``"Cy200+ATG"`` or ``"BEAM + rATG"`` (case, spaces
            and doses do not matter); None or NaN for a blank.

        Returns
        -------
        str or None
            ``"low"``, ``"intermediate"`` or ``"high"``: the exact override if the normalised
            text has one, else the class of the first rule whose components are all present;
            None for a blank, an unrecognised component or no matching rule.

        Examples
        --------
        >>> default_regimen_map().classify("Cy200+rATG")
        'intermediate'
        >>> trialist_regimen_map().classify("Cy200+rATG")
        'low'
        """
        if regimen is None or (isinstance(regimen, float) and pd.isna(regimen)):
            return None
        key = str(regimen).upper().replace(" ", "")
        if key in self.exact:
            return self.exact[key]
        comps = regimen_components(str(regimen))
        if comps is None:
            return None
        for rule in self.rules:
            if rule.contains <= comps:
                return rule.intensity
        return None

    def classify_many(self, regimens: pd.Series) -> pd.Series:
        """Vectorised :meth:`classify` (each distinct regimen is parsed once).

        Parameters
        ----------
        regimens : pandas.Series
            Regimens as recorded (e.g. the ``conditioning`` column of ``transplants``);
            missing values are allowed.

        Returns
        -------
        pandas.Series
            Object dtype, same index: the intensity class of each regimen, and a missing
            value (NaN) where the regimen is missing or not recognised.
        """
        uniques = pd.unique(regimens.dropna())
        lookup = {r: self.classify(r) for r in uniques}
        return regimens.map(lookup).astype(object)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, readable by :meth:`from_dict`.

        Returns
        -------
        dict of str to Any
            ``name``, ``rules`` (a list of ``{"contains": [components], "intensity": class}``
            in order) and ``exact`` (normalised regimen text to class).
        """
        return {
            "name": self.name,
            "rules": [{"contains": sorted(r.contains), "intensity": r.intensity}
                      for r in self.rules],
            "exact": dict(self.exact),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegimenMap:
        """Build a map from its :meth:`to_dict` form (e.g. loaded from YAML or JSON).

        Parameters
        ----------
        data : Mapping
            ``name`` (default ``"custom"``), ``rules`` (ordered list of mappings with
            ``contains``, a list of component codes such as ``CY``, ``ATG``, ``BU``, and
            ``intensity``, one of ``low``, ``intermediate``, ``high``) and ``exact`` (regimen
            text to class; keys are normalised to upper case without spaces). ``rules`` and
            ``exact`` default to empty.

        Returns
        -------
        RegimenMap
            The map (its classes checked against the known intensity classes).

        Raises
        ------
        ConfigurationError
            A rule lacks ``contains`` or ``intensity``, ``data`` has the wrong shape, or a
            class is not ``low``, ``intermediate`` or ``high``.
        """
        try:
            rules = _rules((r["contains"], r["intensity"]) for r in data.get("rules", []))
            exact = {str(k).upper().replace(" ", ""): str(v)
                     for k, v in dict(data.get("exact", {})).items()}
            return cls(str(data.get("name", "custom")), rules, exact)
        except (KeyError, TypeError) as exc:
            raise ConfigurationError(
                f"Invalid regimen map: {exc}.",
                hint="Expected {'name': ..., 'rules': [{'contains': ['CY','ATG'], "
                "'intensity': 'intermediate'}, ...], 'exact': {'BEAM+ATG': 'intermediate'}}.",
            ) from exc


EBMT_RULES = _rules(
    [
        (["BU"], "high"),
        (["TBI"], "high"),
        (["BEAM"], "intermediate"),
        (["CY", "ATG"], "intermediate"),
        (["CY", "ALEM"], "intermediate"),
        (["MEL"], "intermediate"),
        (["CY", "RTX"], "low"),
        (["CY"], "low"),
    ]
)

#: Trialist convention (RAM-MS, StarMS, MIST call Cy+ATG low-intensity / non-myeloablative).
TRIALIST_RULES = _rules(
    [
        (["BU"], "high"),
        (["TBI"], "high"),
        (["BEAM"], "intermediate"),
        (["MEL"], "intermediate"),
        (["CY", "ATG"], "low"),
        (["CY", "ALEM"], "low"),
        (["CY", "RTX"], "low"),
        (["CY"], "low"),
    ]
)


def default_regimen_map() -> RegimenMap:
    """The EBMT-convention map used unless another is configured.

    Returns
    -------
    RegimenMap
        Named ``"ebmt"``: busulfan or TBI high; BEAM, melphalan, and cyclophosphamide with ATG
        or alemtuzumab intermediate; cyclophosphamide alone or with rituximab low.
    """
    return RegimenMap("ebmt", EBMT_RULES)


def trialist_regimen_map() -> RegimenMap:
    """The trialist convention in which Cy+ATG is low intensity."""
    return RegimenMap("trialist", TRIALIST_RULES)


REGIMEN_MAPS = {"ebmt": default_regimen_map, "trialist": trialist_regimen_map}
