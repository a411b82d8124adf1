"""Small-count suppression (disclosure control) for aggregates that leave a centre.

Every count between 1 and ``small_count - 1`` is replaced by the string ``"<small_count"``;
0 and counts of at least ``small_count`` are shown as they are. ``small_count <= 1`` shows
every count (for output that stays inside the centre). The threshold is always a parameter:
the web registry passes ``WebSettings.small_count``, ``hsctms monitor`` its ``--small-count``.

The same rule applies to the ``n`` of a result's provenance
(:func:`disclose_provenance`), which is a count of patients like any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hsctms._provenance import Provenance
from hsctms.errors import ConfigurationError

#: Default disclosure threshold (the web registry's default ``small_count``).
DEFAULT_SMALL_COUNT = 5


def check_small_count(small_count: Any) -> int:
    """``small_count`` as an int >= 0, else :class:`ConfigurationError`.

    Parameters
    ----------
    small_count
        The disclosure threshold to check.

    Returns
    -------
    int
    """
    if isinstance(small_count, bool) or not isinstance(small_count, int) or small_count < 0:
        raise ConfigurationError(
            f"small_count must be a whole number >= 0, got {small_count!r}.",
            hint="E.g. small_count=5 (counts 1-4 shown as '<5'); 1 shows every count.")
    return small_count


def suppress(value: int, small_count: int) -> int | str:
    """``value``, or ``"<small_count"`` when it is between 1 and ``small_count - 1``.

    Parameters
    ----------
    value
        A count (number of patients, events, ...).
    small_count
        Disclosure threshold (see the module docstring).

    Returns
    -------
    int or str

    Examples
    --------
    >>> suppress(3, 5), suppress(0, 5), suppress(5, 5), suppress(3, 1)
    ('<5', 0, 5, 3)
    """
    v = int(value)
    if 0 < v < small_count:
        return f"<{small_count}"
    return v


def suppress_many(values: Mapping[str, int], small_count: int) -> dict[str, int | str]:
    """:func:`suppress` applied to every value of a mapping of counts.

    Parameters
    ----------
    values
        Counts by name.
    small_count
        Disclosure threshold.

    Returns
    -------
    dict
    """
    return {k: suppress(v, small_count) for k, v in values.items()}


def disclose_provenance(provenance: Provenance, small_count: int) -> dict[str, Any]:
    """``provenance.to_dict()`` with ``n`` suppressed like every other count.

    Parameters
    ----------
    provenance
        The provenance of a result.
    small_count
        Disclosure threshold.

    Returns
    -------
    dict
    """
    out = provenance.to_dict()
    if out.get("n") is not None:
        out["n"] = suppress(int(out["n"]), small_count)
    return out


def is_small(values: Iterable[int], small_count: int) -> bool:
    """True when any of ``values`` is between 1 and ``small_count - 1``.

    Parameters
    ----------
    values
        Counts.
    small_count
        Disclosure threshold.

    Returns
    -------
    bool
    """
    return any(0 < int(v) < small_count for v in values)
