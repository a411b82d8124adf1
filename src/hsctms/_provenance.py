"""Provenance attached to every result object: what was computed, how, on what, with what."""

from __future__ import annotations

import datetime as _dt
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from hsctms._version import __version__

_TRACKED = ("numpy", "pandas", "scipy", "statsmodels", "gsdesign")


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Versions of hsctms, Python and the numerical libraries results depend on (a fresh copy;
    the look-up itself is cached because it is called for every result object).

    Parameters
    ----------
    extra : tuple of str, default ()
        Further distribution names to look up (e.g. ``("lifelines",)``), after numpy,
        pandas, scipy, statsmodels and gsdesign.

    Returns
    -------
    dict of str to str
        Distribution name to installed version, starting with ``hsctms`` and ``python``;
        packages that are not installed are left out.
    """
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
class DataSource:
    """What the data behind a computation are: recorded once, read by every result made from them.

    Statistical functions do not take provenance arguments. The layer that knows where the data
    came from (a cohort loaded from a registry or a bundle, the outcomes pipeline, a dashboard
    build) states it once with :func:`data_source`, and every :class:`Provenance` created inside
    that block records it.

    Parameters
    ----------
    synthetic
        True when the data are synthetic demo data.
    data_date
        Date the data were extracted or frozen (ISO string), if known.
    """

    synthetic: bool = False
    data_date: str | None = None


_NOT_STATED = DataSource()  # frozen: safe to share as the default
_SOURCE: ContextVar[DataSource] = ContextVar("hsctms_data_source", default=_NOT_STATED)


def current_source() -> DataSource:
    """The data source stated by the innermost :func:`data_source` block of this context.

    Returns
    -------
    DataSource
        ``DataSource()`` (not synthetic, no data date) outside any block.
    """
    return _SOURCE.get()


@contextmanager
def data_source(*, synthetic: bool = False, data_date: object = None) -> Iterator[DataSource]:
    """State where the data come from for every result created inside the block.

    The setting is a :class:`contextvars.ContextVar`: it holds for this thread or task only and
    is restored on leaving the block, so nested and concurrent computations do not mix.

    Parameters
    ----------
    synthetic
        True when the data are synthetic demo data.
    data_date
        Date the data were extracted or frozen: a ``datetime.date`` or an ISO string, or None.

    Yields
    ------
    DataSource
        The source now in force.

    Examples
    --------
    >>> from hsctms.survival import kaplan_meier
    >>> with data_source(synthetic=True, data_date="2026-06-30"):
    ...     km = kaplan_meier([1, 2, 3], [1, 0, 1])
    >>> km.provenance.synthetic, km.provenance.data_date
    (True, '2026-06-30')
    """
    if not isinstance(synthetic, bool):
        raise TypeError(f"synthetic must be True or False, not {synthetic!r}")
    date = data_date.isoformat() if hasattr(data_date, "isoformat") else data_date
    if date is not None and not isinstance(date, str):
        raise TypeError(f"data_date must be a date or an ISO date string, not {data_date!r}")
    source = DataSource(synthetic=synthetic, data_date=date)
    token = _SOURCE.set(source)
    try:
        yield source
    finally:
        _SOURCE.reset(token)


def _source_synthetic() -> bool:
    return _SOURCE.get().synthetic


def _source_data_date() -> str | None:
    return _SOURCE.get().data_date


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
        True when the input data are synthetic demo data; by default the ``synthetic`` of the
        :func:`data_source` in force.
    data_date
        Date the data were extracted / frozen, if known (ISO string); by default the
        ``data_date`` of the :func:`data_source` in force.
    versions
        Versions of hsctms, Python and the numerical libraries (recorded automatically).
    created
        UTC time the result was created (recorded automatically).
    """

    method: str
    definition: dict[str, Any] = field(default_factory=dict)
    n: int | None = None
    synthetic: bool = field(default_factory=_source_synthetic)
    data_date: str | None = field(default_factory=_source_data_date)
    versions: dict[str, str] = field(default_factory=package_versions)
    created: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict of str to Any
            Every field by name (``versions`` as a copy); ``created`` is an ISO 8601 UTC
            time, ``data_date`` an ISO date or None.
        """
        return {
            "method": self.method,
            "definition": self.definition,
            "n": self.n,
            "synthetic": self.synthetic,
            "data_date": self.data_date,
            "versions": dict(self.versions),
            "created": self.created,
        }
