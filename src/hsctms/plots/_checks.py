"""Argument checks shared by the plot functions.

Bad arguments raise :class:`hsctms.errors.ConfigurationError` and bad data frames
:class:`hsctms.errors.DataValidationError`, naming the function, the argument and the problem,
instead of the ``TypeError`` / ``ValueError`` / ``KeyError`` that matplotlib, numpy or pandas
would raise half-way through drawing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from hsctms.errors import ConfigurationError, DataValidationError


def is_number(value: Any) -> bool:
    """A finite real number (not a bool)."""
    return (isinstance(value, Real) and not isinstance(value, bool)
            and math.isfinite(float(value)))


def fits(where: str, fits: Any, kind: str, attrs: Sequence[str]) -> list[Any]:
    """``fits`` as a non-empty list of objects that all have ``attrs``."""
    hint = f"Pass a list of {kind} results, e.g. {where}([fit])."
    if isinstance(fits, str | bytes) or not isinstance(fits, Sequence):
        raise ConfigurationError(f"{where} needs a list of {kind} results, got "
                                 f"{type(fits).__name__}.", hint=hint)
    out = list(fits)
    if not out:
        raise ConfigurationError(f"{where} needs at least one {kind} result, got none.",
                                 hint=hint)
    for i, f in enumerate(out):
        if not all(hasattr(f, a) for a in attrs):
            raise ConfigurationError(f"{where}: item {i} is a {type(f).__name__}, not a {kind} "
                                     "result.", hint=hint)
    return out


def positive(where: str, name: str, value: Any) -> None:
    """``value`` is None or a finite number > 0."""
    if value is not None and not (is_number(value) and value > 0):
        raise ConfigurationError(f"{where}: {name} must be a finite number > 0, got {value!r}.",
                                 hint=f"Leave {name} out for the default.")


def colours(where: str, colors: Any) -> None:
    """A non-empty sequence of colours."""
    if isinstance(colors, str) or not isinstance(colors, Sequence) or len(colors) == 0:
        raise ConfigurationError(f"{where}: colors must be a non-empty list of colours, got "
                                 f"{colors!r}.",
                                 hint="Leave colors out for the Okabe-Ito palette.")


def labels(where: str, labels: Any, n: int) -> None:
    """None, or one text label per curve."""
    if labels is None:
        return
    if isinstance(labels, str) or not isinstance(labels, Sequence) or len(labels) != n:
        raise ConfigurationError(f"{where}: labels must give one label per curve ({n}), got "
                                 f"{labels!r}.", hint="Leave labels out to use the fits' own.")


def times(where: str, values: Any) -> None:
    """None, or a list of finite times >= 0."""
    if values is None:
        return
    if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray) or not all(
            is_number(t) and t >= 0 for t in values):
        raise ConfigurationError(f"{where}: risk_times must be a list of finite times >= 0, "
                                 f"got {values!r}.",
                                 hint="Leave risk_times out for yearly time points.")


def frame(where: str, name: str, df: Any, columns: Sequence[str],
          numeric: Sequence[str] = (), allow_missing: Sequence[str] = ()) -> None:
    """``df`` is a DataFrame with ``columns``; ``numeric`` ones hold finite numbers only
    (missing values allowed in the ``allow_missing`` ones)."""
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(f"{where}: {name} must be a pandas DataFrame, got "
                                  f"{type(df).__name__}.",
                                  hint=f"Give a table with columns {', '.join(columns)}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataValidationError(f"{where}: {name} lacks column(s) {', '.join(missing)}.",
                                  hint=f"{name} needs columns {', '.join(columns)}; it has "
                                  f"{', '.join(map(str, df.columns)) or 'none'}.")
    for col in numeric:
        values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(values)
        if col in allow_missing:
            ok |= df[col].isna().to_numpy()
        bad = df.index[~ok]
        if len(bad):
            shown = ", ".join(map(str, list(bad[:5]))) + (" ..." if len(bad) > 5 else "")
            raise DataValidationError(
                f"{where}: {name}.{col} is "
                + ("non-numeric or infinite" if col in allow_missing
                   else "missing, non-numeric or infinite")
                + f" in {len(bad)} "
                f"row(s) (index {shown}).",
                hint=f"Remove those rows or fill in {col}; nothing is dropped silently.")
