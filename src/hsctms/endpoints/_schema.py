"""The strict schema behind :class:`~hsctms.endpoints.definition.EndpointDefinition`.

Value types (pydantic v2, strict mode), per-field metadata (what is allowed, how a value is
phrased in :meth:`EndpointDefinition.describe`), and the conversion of pydantic's
``ValidationError`` into one :class:`~hsctms.errors.DefinitionError` listing every problem.

Strict rules
------------
* Booleans are real booleans (YAML ``true``/``false``); the string ``"false"`` is an error.
* Whole-day and count fields (``conf_days``, ``impute_last_visit``, ``mri_min_new_t2``) are
  integers; ``84.0`` or ``"84"`` is an error. Other numeric fields accept int or float (``5``
  means ``5.0``) but not strings, booleans or NaN.
* ``"inf"`` (also ``"infinity"``, any case) is accepted only where an open end is meaningful
  (day fields marked *inf ok* in docs/endpoints.md); NaN never.
* Pair fields (``conf_tol_days``, the relapse windows, the PIRA windows) must be written as
  explicit pairs ``[a, b]``. A scalar is refused, never guessed: pymsprog 1.0.7 reads a scalar
  ``conf_tol_days`` as ``(x, x)`` but a scalar ``relapse_to_*``/``relapse_assoc`` as ``(x, 0)``,
  so the same spelling means two different things; the error's hint shows the pair that
  pymsprog would use.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ValidationError
from pydantic_core import PydanticCustomError

from hsctms.errors import DefinitionError

#: ``phrase(value, definition) -> text`` used by ``describe()``.
Phrase = Callable[[Any, Any], str]

INF_WORDS = ("inf", "+inf", "infinity", ".inf")


# -- value checks -----------------------------------------------------------------------
def _inf_word(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in INF_WORDS:
        return math.inf
    return value


def _non_negative(value: float) -> float:
    if math.isnan(value) or value < 0:
        raise PydanticCustomError("non_negative", "must be a non-negative number, not {v}",
                                  {"v": value})
    return value


def _finite(value: float) -> float:
    if math.isinf(value):
        raise PydanticCustomError("finite", "must be finite here (no open end)")
    return value


def _positive(value: float) -> float:
    if math.isnan(value) or value <= 0 or math.isinf(value):
        raise PydanticCustomError("positive", "must be a positive finite number, not {v}",
                                  {"v": value})
    return value


def _positive_int(value: int) -> int:
    if value < 1:
        raise PydanticCustomError("positive_int", "must be a whole number >= 1, not {v}",
                                  {"v": value})
    return value


def _impute(value: int) -> int:
    if value < 0:
        raise PydanticCustomError("impute", "must be 0, 1 or a whole number of days > 1, "
                                  "not {v}", {"v": value})
    return value


def _as_pair(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise PydanticCustomError("pair_length", "must be a pair of exactly two values, "
                                      "got {n}", {"n": len(value)})
        return tuple(_inf_word(v) for v in value)
    raise PydanticCustomError("pair_scalar", "must be an explicit pair [a, b]; a single value "
                              "is ambiguous and is not guessed")


def as_tuple(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    return value


def unique_nonempty(value: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        raise PydanticCustomError("empty", "must list at least one component")
    if len(set(value)) != len(value):
        raise PydanticCustomError("duplicates", "lists a component twice")
    return value


Days = Annotated[float, BeforeValidator(_inf_word), AfterValidator(_non_negative)]
FiniteDays = Annotated[float, AfterValidator(_non_negative), AfterValidator(_finite)]
Positive = Annotated[float, AfterValidator(_positive)]
WholeDays = Annotated[int, AfterValidator(_positive_int)]
Count = Annotated[int, AfterValidator(_positive_int)]
Impute = Annotated[int, AfterValidator(_impute)]
Pair = Annotated[tuple[Days, Days], BeforeValidator(_as_pair)]
OpenPair = Annotated[tuple[Days | None, Days | None], BeforeValidator(_as_pair)]
Names = Annotated[tuple[str, ...], BeforeValidator(as_tuple)]


def _distinct(value: tuple[int, ...]) -> tuple[int, ...]:
    if len(set(value)) != len(value):
        raise PydanticCustomError("duplicates", "lists a value twice")
    return value


def _function_path(value: Any) -> Any:
    """A callable becomes its importable ``"module:qualname"``; text is checked to import."""
    from hsctms.endpoints.change import function_path, resolve_function
    from hsctms.errors import DefinitionError

    try:
        if callable(value):
            return function_path(value)
        if isinstance(value, str):
            resolve_function(value)
    except DefinitionError as exc:
        raise PydanticCustomError("change_function", "{m}", {"m": exc.message}) from None
    return value


ConfDays = Annotated[tuple[WholeDays, ...], BeforeValidator(as_tuple), AfterValidator(_distinct)]
ChangeFunction = Annotated[str | None, BeforeValidator(_function_path)]


# -- number formatting for describe() (injective: different values never print the same) --
def num(x: float, fmt: str = "g", inf: str = "unbounded") -> str:
    """``x`` in format ``fmt`` if that reads back exactly, else its shortest exact repr."""
    if math.isinf(x):
        return inf
    text = format(x, fmt)
    return text if float(text) == x else repr(float(x))


def within(pair: tuple[float | None, float | None], *, inclusive: bool = False) -> str:
    """``(after, before)`` relapse window as words; ``""`` when both ends are 0."""
    word = "at most" if inclusive else "within"
    after, before = (0.0 if v is None else v for v in pair)
    parts = []
    if after > 0 or inclusive:
        parts.append("at any time after a relapse onset" if math.isinf(after)
                     else f"{word} {num(after)} days after a relapse onset")
    if before > 0:
        parts.append("at any time before the next one" if math.isinf(before)
                     else f"{word} {num(before)} days before the next one")
    return " or ".join(parts)


def choices(options: Iterable[str]) -> str:
    """``one of 'a', 'b'`` for error messages."""
    return "one of " + ", ".join(repr(o) for o in options)


# -- ValidationError -> DefinitionError ---------------------------------------------------
def _scalar_hint(name: str, value: Any, kind: str | None) -> str:
    if kind == "symmetric":
        return (f"{name}: write [{value}, {value}] for what pymsprog means by {value} (the same "
                f"tolerance on both sides), or e.g. [{value}, 0] / [{value}, inf].")
    if kind == "after_only":
        return (f"{name}: write [{value}, 0] for what pymsprog means by {value} (days after the "
                "last relapse; 0 = no window before the next).")
    return f"{name}: write [days before, days after], e.g. [{value}, 0] or [0, {value}]."


def to_definition_error(exc: ValidationError, meta: dict[str, dict[str, Any]],
                        *, where: str = "") -> DefinitionError:
    """One :class:`DefinitionError` naming every bad field, the value given and what is allowed.

    Parameters
    ----------
    exc
        The pydantic error.
    meta
        Field name -> field metadata (``allowed``, ``scalar``).
    where
        Optional source (file name) for the message.
    """
    lines: list[str] = []
    hints: list[str] = []
    for err in exc.errors():
        loc = err.get("loc") or ()
        name = str(loc[0]) if loc else "(definition)"
        index = "".join(f"[{p}]" for p in loc[1:] if isinstance(p, int))
        given = err.get("input")
        kind = err.get("type", "")
        if kind in ("unexpected_keyword_argument", "unexpected_positional_argument"):
            close = difflib.get_close_matches(name, list(meta), n=1)
            lines.append(f"{name}: unknown field (given {given!r}).")
            hints.append(f"{name}: did you mean {close[0]}?" if close
                         else "See docs/endpoints.md 'Definition fields' for the field names.")
            continue
        info = meta.get(name, {})
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        msg = msg[:1].lower() + msg[1:]
        lines.append(f"{name}{index}: given {given!r} ({type(given).__name__}); {msg}. "
                     f"Allowed: {info.get('allowed', 'see docs/endpoints.md')}.")
        if kind == "pair_scalar":
            hints.append(_scalar_hint(name, given, info.get("scalar")))
        elif kind == "bool_type":
            hints.append(f"{name}: write true or false without quotes (YAML/JSON booleans).")
        elif info.get("hint"):
            hints.append(f"{name}: {info['hint']}")
        elif kind == "int_type" and isinstance(given, float) and given.is_integer():
            hints.append(f"{name}: write {int(given)} (a whole number, no decimal point).")
        elif kind == "int_type" and isinstance(given, str):
            hints.append(f"{name}: write a whole number of days, e.g. 84 for 12 weeks or 168 "
                         "for 24 weeks (no units).")
    head = "Invalid endpoint definition" + (f" in {where}" if where else "")
    count = f" ({len(lines)} problems)" if len(lines) > 1 else ""
    return DefinitionError(f"{head}{count}:\n  " + "\n  ".join(lines),
                           hint=" ".join(dict.fromkeys(hints)) or
                           "See docs/endpoints.md 'Definition fields'.")
