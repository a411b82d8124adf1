"""Outcome scales and their minimum clinically meaningful change.

The engine detects confirmed worsening and improvement of one outcome per definition
(``EndpointDefinition.outcome``):

=========  =====================================  =========  ===================================
outcome    measure (column read)                  worsening  standard minimum change
=========  =====================================  =========  ===================================
edss       EDSS (``edss``)                        increase   the ``delta_*`` table (1.5/1.0/0.5)
nhpt       9-hole peg test, seconds (``nhpt``)    increase   20% of the reference
t25fw      timed 25-foot walk, seconds (``t25fw``) increase  20% of the reference
sdmt       symbol digit modalities test (``sdmt``) decrease  the smaller of 20% and 4 points
custom     any score (``value``)                  as set     as set (``change_*`` fields)
=========  =====================================  =========  ===================================

The standard rules are pymsprog 1.0.7's ``compute_delta`` (for SDMT its code computes
``min(reference / 5, 4)``, although its docstring says "3 points or 10%"; we follow the code so
that results agree, see docs/endpoints.md). ``change_relative`` / ``change_absolute`` /
``change_combine`` replace the standard rule of a non-EDSS outcome, and ``change_function``
names a Python function (``"package.module:function"``) that maps reference values to minimum
changes, like pymsprog's ``delta_fun``.

A decreasing outcome (SDMT, or ``custom`` with ``worsening: decrease``) is negated on entry to
the engine so that the scan always looks for increases; :func:`min_change` receives the
reference on the outcome's own scale.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hsctms.errors import DefinitionError

if TYPE_CHECKING:
    from hsctms.endpoints.definition import EndpointDefinition

FloatArray = np.ndarray


@dataclass(frozen=True)
class Scale:
    """One outcome scale: label, value column, direction of worsening, default rule."""

    name: str
    label: str
    column: str
    increase: bool | None
    minimum: float | None
    maximum: float | None
    whole: bool
    relative: float | None
    absolute: float | None


SCALES: dict[str, Scale] = {
    "edss": Scale("edss", "EDSS", "edss", True, 0.0, 10.0, False, None, None),
    "nhpt": Scale("nhpt", "9-hole peg test (NHPT, seconds)", "nhpt", True, 1.0, 300.0, False,
                  0.2, None),
    "t25fw": Scale("t25fw", "timed 25-foot walk (T25FW, seconds)", "t25fw", True, 1.0, 180.0,
                   False, 0.2, None),
    "sdmt": Scale("sdmt", "symbol digit modalities test (SDMT)", "sdmt", False, 0.0, 110.0,
                  True, 0.2, 4.0),
    "custom": Scale("custom", "outcome", "value", None, None, None, False, None, None),
}


def scale(d: EndpointDefinition) -> Scale:
    """The :class:`Scale` of a definition's outcome."""
    return SCALES[d.outcome]


def increases(d: EndpointDefinition) -> bool:
    """Whether a higher value is worse for the definition's outcome."""
    s = scale(d)
    return s.increase if s.increase is not None else d.worsening == "increase"


def resolve_function(path: str) -> Callable[..., Any]:
    """Import ``"package.module:function"`` (a dotted attribute path after the colon).

    Raises
    ------
    DefinitionError
        The text is not of that form, the module cannot be imported or the name is missing
        or not callable.
    """
    module, sep, attr = path.partition(":")
    if not sep or not module or not attr:
        raise DefinitionError(f"change_function {path!r} is not 'package.module:function'.",
                              hint="E.g. change_function: hsctms.endpoints.change:four_points")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise DefinitionError(f"change_function {path!r} cannot be found: {exc}.",
                              hint="Give an importable module and a function defined in it "
                                   "(a lambda or nested function has no importable name).") \
            from None
    if not callable(obj):
        raise DefinitionError(f"change_function {path!r} is not callable.",
                              hint="Name a function f(reference) -> minimum change.")
    fn: Callable[..., Any] = obj
    return fn


def function_path(fn: Callable[..., Any]) -> str:
    """``"module:qualname"`` of a function, checked to import back to the same object."""
    path = f"{getattr(fn, '__module__', '')}:{getattr(fn, '__qualname__', '')}"
    if "<" in path or resolve_function(path) is not fn:
        raise DefinitionError(f"The change function {fn!r} has no importable name.",
                              hint="Define it at the top level of a module (not a lambda or "
                                   "a nested function) so the definition can be saved.")
    return path


def _call(fn: Callable[..., Any], ref: FloatArray, outcome: str) -> FloatArray:
    """Apply a user change function to an array; scalar functions are applied elementwise."""
    try:
        out = np.asarray(fn(ref), dtype=np.float64)
        if out.shape == ref.shape:
            return out
        if out.ndim == 0:
            return np.full(ref.shape, float(out))
    except (TypeError, ValueError):  # written for one number (pymsprog's delta_fun style)
        pass
    return np.array([float(fn(float(x))) for x in ref], dtype=np.float64)


def min_change(d: EndpointDefinition, ref: FloatArray) -> FloatArray:
    """Minimum clinically meaningful change from reference values ``ref`` (own scale).

    Raises
    ------
    DefinitionError
        The rule gives a change that is not a positive finite number at some reference (e.g.
        20% of a reference of 0): every visit would then count as a change.
    """
    ref = np.asarray(ref, dtype=np.float64)
    if d.outcome == "edss":
        return np.where(ref == 0, d.delta_zero,
                        np.where(ref <= d.delta_cut, d.delta_low, d.delta_high))
    if d.change_function is not None:
        out = _call(resolve_function(d.change_function), ref, d.outcome)
        where = f"change_function {d.change_function}"
    else:
        s = scale(d)
        rel = d.change_relative if (d.change_relative or d.change_absolute) else s.relative
        ab = d.change_absolute if (d.change_relative or d.change_absolute) else s.absolute
        parts = [np.abs(ref) * rel] if rel is not None else []
        if ab is not None:
            parts.append(np.full(ref.shape, ab))
        pick = np.minimum if d.change_combine == "min" else np.maximum
        out = pick.reduce(parts) if len(parts) > 1 else parts[0]
        where = "the minimum-change rule"
    bad = ~np.isfinite(out) | (out <= 0)
    if bad.any():
        x = float(ref[np.flatnonzero(bad)[0]])
        raise DefinitionError(
            f"{where} gives a minimum change of {float(out[bad][0])!r} at a reference value "
            f"of {x:g}: a change must be a positive number, or every visit would count.",
            hint="Add change_absolute (a floor in points, with change_combine: max) or check "
                 "the data (a timed test of 0 seconds is not a valid result).")
    return out


def describe_rule(d: EndpointDefinition) -> str:
    """The minimum-change rule of a non-EDSS outcome in words (``""`` for EDSS)."""
    if d.outcome == "edss":
        return ""
    if d.change_function is not None:
        return f"the value of the change function {d.change_function} at the reference"
    s = scale(d)
    custom = bool(d.change_relative or d.change_absolute)
    rel = d.change_relative if custom else s.relative
    ab = d.change_absolute if custom else s.absolute
    from hsctms.endpoints._schema import num

    words = []
    if rel is not None:
        words.append(f"{num(rel * 100)}% of the reference" if float(num(rel * 100)) / 100
                     == rel else f"{num(rel)} times the reference")
    if ab is not None:
        words.append(f"{num(ab)} points")
    if len(words) == 2:
        return ("the smaller of " if d.change_combine == "min" else "the larger of ") \
            + " and ".join(words)
    return words[0]


# -- example change functions (usable as change_function) --------------------------------------
def four_points(reference: FloatArray) -> FloatArray:
    """SDMT: a change of 4 points whatever the reference (Benedict et al., MSJ 2017)."""
    return np.full(np.shape(reference), 4.0)


def twenty_percent(reference: FloatArray) -> FloatArray:
    """Timed tests: 20% of the reference value."""
    return np.abs(np.asarray(reference, dtype=np.float64)) * 0.2
