"""Typed design values of the presets and the text each one is shown as.

A preset file gives every number a calculation uses as a quantity with a ``kind``; the
assumption table, the sensitivity labels and the scenario labels are rendered from the same
quantity that goes into the calculation, so the displayed value cannot drift from the value
used.

=========================  ============================  =====================================
kind                       calculation value             shown as (``{x}`` / ``{x:short}``)
=========================  ============================  =====================================
``proportion``             the fraction                  ``32%``
``risk_difference``        the difference                ``-10 percentage points`` / ``-10 points``
``hazard_ratio``           the ratio                     ``0.5``
``significance``           ``alpha`` and ``sided``       ``one-sided 0.025``
``type_ii_error``          ``beta``                      ``80% power``
``count``                  the whole number              ``110`` / ``{x:per_arm}`` ``55/55``
``duration``               years (months / 12)           ``24 months``, ``1 year`` / ``3 y``
                                                         / ``{x:adjective}`` ``2-year``
``proportion_over_years``  exponential hazard per year   ``10% over 2 years``, ``5% per year``
                                                         / ``10%``, ``5%/year``
``information_rates``      the information fractions     ``one at 50% information``
``spending``               ``obf`` or ``pocock``         ``O'Brien-Fleming``, ``Pocock``
=========================  ============================  =====================================
"""

from __future__ import annotations

import itertools
import math
import string
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

KINDS = ("proportion", "risk_difference", "hazard_ratio", "significance", "type_ii_error",
         "count", "duration", "proportion_over_years", "information_rates", "spending")
Kind = Literal["proportion", "risk_difference", "hazard_ratio", "significance",
               "type_ii_error", "count", "duration", "proportion_over_years",
               "information_rates", "spending"]
SPENDING_NAMES = {"obf": "O'Brien-Fleming", "pocock": "Pocock"}
_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: Extra keys each kind takes besides ``kind`` and ``value``.
_EXTRA_KEYS: dict[str, tuple[str, ...]] = {"significance": ("sided",), "duration": ("unit",),
                                           "proportion_over_years": ("years",)}


def _pct(x: float) -> str:
    """``0.32`` -> ``32%``, ``0.025`` -> ``2.5%`` (up to 4 significant decimals, no noise)."""
    return f"{round(100 * x, 4):g}%"


def _num(x: float) -> str:
    return f"{round(x, 10):g}"


class Quantity(BaseModel):
    """One typed design value.

    Parameters
    ----------
    kind
        One of :data:`KINDS` (see the module table).
    value
        The number (a list of fractions for ``information_rates``, a name for ``spending``).
    sided
        ``significance`` only: 1 or 2.
    unit
        ``duration`` only: ``months`` or ``years``.
    years
        ``proportion_over_years`` only: the period the proportion refers to.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    kind: Kind
    value: int | float | str | list[float]
    sided: Literal[1, 2] | None = None
    unit: Literal["months", "years"] | None = None
    years: float | None = None

    @model_validator(mode="after")
    # complexity over 10 kept: a validator: one flat list of value checks per kind
    def _check(self) -> Quantity:  # noqa: C901
        k, v = self.kind, self.value
        for key in ("sided", "unit", "years"):
            if getattr(self, key) is not None and key not in _EXTRA_KEYS.get(k, ()):
                raise ValueError(f"{key!r} does not apply to kind {k!r} (it takes "
                                 f"{', '.join(('kind', 'value', *_EXTRA_KEYS.get(k, ())))})")
        for key in _EXTRA_KEYS.get(k, ()):
            if getattr(self, key) is None:
                raise ValueError(f"kind {k!r} needs {key!r}")
        if k == "spending":
            if v not in SPENDING_NAMES:
                raise ValueError(f"spending value must be one of {', '.join(SPENDING_NAMES)}, "
                                 f"got {v!r}")
            return self
        if k == "information_rates":
            if not isinstance(v, list) or not v or any(not 0 < x <= 1 for x in v) \
                    or v[-1] != 1 or any(b <= a for a, b in itertools.pairwise(v)):
                raise ValueError("information_rates must be an increasing list of fractions "
                                 f"in (0, 1] ending with 1, got {v!r}")
            return self
        if k == "count":
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"a count must be a whole number >= 1, got {v!r}")
            return self
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
            raise ValueError(f"kind {k!r} needs a finite number, got {v!r}")
        lo, hi, what = {"proportion": (0, 1, "a fraction in [0, 1]"),
                        "risk_difference": (-1, 1, "a difference in [-1, 1]"),
                        "significance": (0, 1, "a level in (0, 1)"),
                        "type_ii_error": (0, 1, "a fraction in (0, 1)"),
                        "proportion_over_years": (0, 1, "a fraction in [0, 1)")
                        }.get(k, (0, math.inf, "a positive number"))
        closed = k in ("proportion", "risk_difference")
        ok = (lo <= v <= hi) if closed else (lo < v < hi) if k not in (
            "proportion_over_years",) else (lo <= v < hi)
        if not ok:
            raise ValueError(f"kind {k!r} needs {what}, got {v!r}")
        if self.years is not None and not (math.isfinite(self.years) and self.years > 0):
            raise ValueError(f"years must be a positive number, got {self.years!r}")
        return self

    # ------------------------------------------------------------------ values used
    @property
    def number(self) -> float:
        """The plain number (for ``duration``: years)."""
        v = self.value
        if isinstance(v, str | list):
            raise TypeError(f"a {self.kind} quantity has no single number")
        if self.kind == "duration":
            return float(v) / 12 if self.unit == "months" else float(v)
        return v

    @property
    def hazard(self) -> float:
        """``proportion_over_years``: the exponential hazard per year, ``-log(1-p)/years``."""
        assert self.years is not None
        return -math.log1p(-float(self.number)) / self.years

    def to_dict(self) -> dict[str, Any]:
        """JSON form (only the keys that were given).

        Returns
        -------
        dict
            ``kind``, ``value`` and whichever of ``sided``, ``unit`` and ``years`` the file
            gave.
        """
        return self.model_dump(exclude_none=True)

    # ------------------------------------------------------------------ display
    # complexity over 10 kept: one formatting branch per quantity kind
    def __format__(self, spec: str) -> str:  # noqa: C901
        """Text of the value; ``spec`` is ``""``, ``"short"`` or (counts) ``"per_arm"``."""
        special = {"per_arm": "count", "adjective": "duration"}
        if spec not in ("", "short", *special) or special.get(spec, self.kind) != self.kind:
            raise ValueError(f"unknown format {spec!r} for a {self.kind} value (use "
                             "{name} or {name:short}; counts also {name:per_arm}, durations "
                             "{name:adjective})")
        k, v = self.kind, self.value
        short = spec == "short"
        if k == "proportion":
            return _pct(float(self.number))
        if k == "risk_difference":
            return f"{round(100 * float(self.number), 4):g} " + ("points" if short
                                                                  else "percentage points")
        if k == "hazard_ratio":
            return _num(float(self.number))
        if k == "significance":
            return f"{'one' if self.sided == 1 else 'two'}-sided {_num(float(self.number))}"
        if k == "type_ii_error":
            return f"{_pct(1 - float(self.number))} power"
        if k == "count":
            assert isinstance(v, int)
            return f"{v // 2}/{v - v // 2}" if spec == "per_arm" else str(v)
        if k == "duration":
            n = self.number if self.unit == "years" else self.number * 12
            if spec == "adjective":
                return f"{_num(n)}-{str(self.unit).removesuffix('s')}"
            unit = "y" if short else str(self.unit).removesuffix("s")
            if short and self.unit == "months":
                unit = "mo"
            return f"{_num(n)} {unit}" if short or n == 1 else f"{_num(n)} {unit}s"
        if k == "proportion_over_years":
            y = float(self.years or 0)
            if y == 1:
                return f"{_pct(float(self.number))}" + ("/year" if short else " per year")
            return _pct(float(self.number)) if short else \
                f"{_pct(float(self.number))} over {_num(y)} years"
        if k == "information_rates":
            assert isinstance(v, list)
            looks = v[:-1]
            words = _NUMBER_WORDS[len(looks)] if len(looks) < len(_NUMBER_WORDS) \
                else str(len(looks))
            pcts = [_pct(x) for x in looks]
            if not pcts:
                return "no interim"
            joined = pcts[0] if len(pcts) == 1 else ", ".join(pcts[:-1]) + " and " + pcts[-1]
            return f"{words} at {joined} information"
        return SPENDING_NAMES[str(v)]


class _Strict(string.Formatter):
    """``str.format`` restricted to plain ``{name}`` / ``{name:spec}`` fields."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        if not field_name.isidentifier():
            raise KeyError(field_name)
        return kwargs[field_name], field_name


def fields(template: str) -> list[str]:
    """Names placed by a text template, in order (``ValueError`` on broken braces)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill a template with quantities (``KeyError`` names a missing field)."""
    return _Strict().vformat(template, (), dict(values))
