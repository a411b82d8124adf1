"""Provenance attached to every result object: what was computed, how, on what, with what."""

from __future__ import annotations

import datetime as _dt
import platform
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from hsctms._version import __version__

_TRACKED = ("numpy", "pandas", "scipy", "statsmodels", "gsdesign")


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Versions of hsctms, Python and the numerical libraries results depend on (a fresh copy;
    the look-up itself is cached because it is called for every result object)."""
    return dict(_package_versions(tuple(extra)))


@lru_cache(maxsize=16)
def _package_versions(extra: tuple[str, ...]) -> dict[str, str]:
    out = {"hsctms": __version__, "python": platform.python_version()}
    for name in (*_TRACKED, *extra):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


@dataclass(frozen=True)
class Provenance:
    """Where a result came from.

    Parameters
    ----------
    method
        Short name of the computation (e.g. ``"kaplan_meier"``).
    definition
        The definition or settings used, as a JSON-serialisable mapping.
    n
        Number of units (patients, studies, simulated trials) the result is based on.
    synthetic
        True when the input data are synthetic demo data.
    data_date
        Date the data were extracted / frozen, if known (ISO string).
    """

    method: str
    definition: dict[str, Any] = field(default_factory=dict)
    n: int | None = None
    synthetic: bool = False
    data_date: str | None = None
    versions: dict[str, str] = field(default_factory=package_versions)
    created: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "method": self.method,
            "definition": self.definition,
            "n": self.n,
            "synthetic": self.synthetic,
            "data_date": self.data_date,
            "versions": dict(self.versions),
            "created": self.created,
        }
