"""Normalise the input tables of the endpoint engine to sorted numeric arrays.

Dates may be calendar dates (``datetime64``, or strings pandas parses as ISO dates) or plain
numbers of days (as the trial simulator produces); all tables of one call must use the same
kind. Everything is converted to float days since 1970-01-01 (or kept as given).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hsctms.endpoints.disability import FloatArray, IntArray
from hsctms.errors import ConfigurationError, DataValidationError


@dataclass
class Calendar:
    """Whether days are calendar days since 1970-01-01 (``datetime``) or plain numbers."""

    datetime: bool

    def to_days(self, series: pd.Series, what: str) -> FloatArray:
        """Float days (NaN for missing) of a date column."""
        if self.datetime:
            if pd.api.types.is_numeric_dtype(series.dtype):
                raise ConfigurationError(
                    f"{what} holds numbers while the visit dates are calendar dates.",
                    hint="Use calendar dates in every table, or day numbers in every table.")
            if not pd.api.types.is_datetime64_any_dtype(series.dtype):
                try:  # text: ISO 8601 only (never guess day/month order)
                    series = pd.to_datetime(series, format="ISO8601")
                except (ValueError, TypeError):
                    raise ConfigurationError(
                        f"{what} holds text that is not an ISO 8601 date "
                        f"(e.g. {series.dropna().astype(str).iloc[0]!r}).",
                        hint="Write dates as YYYY-MM-DD (ambiguous forms like 01/02/2020 are "
                             "refused rather than guessed).") from None
            if getattr(series.dtype, "tz", None) is not None:
                series = series.dt.tz_localize(None)
            values = series.to_numpy(dtype="datetime64[ns]")
            nat = np.isnat(values)
            out = values.astype("datetime64[D]").astype(np.int64).astype(np.float64)
            out[nat] = np.nan
            return out
        if not pd.api.types.is_numeric_dtype(series.dtype):
            raise ConfigurationError(
                f"{what} holds dates while the visit dates are day numbers.",
                hint="Use calendar dates in every table, or day numbers in every table.")
        return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)

    def from_days(self, days: FloatArray) -> Any:
        """Convert float days back to the input kind (datetime64[ns] or float)."""
        if not self.datetime:
            return np.asarray(days, dtype=np.float64)
        out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
        ok = ~np.isnan(days)
        out[ok] = days[ok].astype(np.int64).astype("datetime64[D]").astype("datetime64[ns]")
        return out


def require(frame: pd.DataFrame | None, name: str, columns: Iterable[str]) -> None:
    """Raise a clear error when a table lacks columns."""
    if frame is None:
        return
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigurationError(
            f"The {name} table lacks column(s) {', '.join(missing)}.",
            hint=f"Expected columns: {', '.join(columns)}.")


def detect_calendar(edss: pd.DataFrame) -> Calendar:
    """Calendar dates unless the visit ``date`` column is numeric."""
    return Calendar(datetime=not pd.api.types.is_numeric_dtype(edss["date"].dtype))


@dataclass
class Universe:
    """Patient identifiers (sorted) and lookup of codes."""

    ids: pd.Index

    @classmethod
    def build(cls, *sources: Iterable[Any]) -> Universe:
        """Union of identifiers from several sources, as sorted strings."""
        parts = [np.asarray(pd.Series(s).dropna().astype(str).unique(), dtype=object)
                 for s in sources]
        ids = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=object)
        return cls(pd.Index(ids, dtype="object"))

    def codes(self, ids: pd.Series) -> IntArray:
        """Codes of identifiers (-1 when not in the universe)."""
        return np.asarray(self.ids.get_indexer(ids.astype(str)), dtype=np.int64)

    @property
    def n(self) -> int:
        """Number of patients."""
        return len(self.ids)


def visits(edss: pd.DataFrame, uni: Universe, cal: Calendar
           ) -> tuple[IntArray, FloatArray, FloatArray]:
    """Sorted (code, day, value) of EDSS visits; validates range and duplicates."""
    require(edss, "edss", ("patient_id", "date", "edss"))
    code = uni.codes(edss["patient_id"])
    day = cal.to_days(edss["date"], "edss.date")
    value = pd.to_numeric(edss["edss"], errors="coerce").to_numpy(dtype=np.float64,
                                                                   na_value=np.nan)
    keep = (code >= 0) & ~np.isnan(day) & ~np.isnan(value)
    code, day, value = code[keep], day[keep], value[keep]
    bad = (value < 0) | (value > 10)
    if bad.any():
        raise DataValidationError(
            f"{int(bad.sum())} EDSS value(s) outside 0-10 (e.g. {value[bad][0]}).",
            hint="EDSS is 0, 1.0-9.5 in steps of 0.5, or 10; correct the edss table.")
    order = np.lexsort((day, code))
    code, day, value = code[order], day[order], value[order]
    dup = (np.diff(code) == 0) & (np.diff(day) == 0)
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataValidationError(
            f"{int(dup.sum())} duplicate EDSS visit(s) on the same date (e.g. patient "
            f"{uni.ids[code[i]]}, day {day[i]:g}).",
            hint="Keep one assessment per patient and date (the natural key of edss.csv).")
    return code, day, value


def dated_rows(frame: pd.DataFrame | None, name: str, date_col: str, uni: Universe,
               cal: Calendar, extra: Mapping[str, str] | None = None
               ) -> tuple[IntArray, FloatArray, dict[str, FloatArray]]:
    """Sorted (code, day, extra columns as float) of a patient table."""
    extra = dict(extra or {})
    if frame is None or len(frame) == 0:
        return (np.zeros(0, dtype=np.int64), np.zeros(0),
                {k: np.zeros(0) for k in extra})
    require(frame, name, ("patient_id", date_col, *[c for c in extra.values()]))
    code = uni.codes(frame["patient_id"])
    day = cal.to_days(frame[date_col], f"{name}.{date_col}")
    cols = {k: pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64,
                                                                  na_value=np.nan)
            for k, c in extra.items()}
    keep = (code >= 0) & ~np.isnan(day)
    order = np.lexsort((day[keep], code[keep]))
    return (code[keep][order], day[keep][order],
            {k: v[keep][order] for k, v in cols.items()})


def origin_days(origin: Any, uni: Universe, cal: Calendar) -> FloatArray:
    """Origin day per patient code (NaN when the patient has no origin).

    ``origin`` is a DataFrame with ``patient_id`` and ``origin_date`` (or
    ``transplant_date``), a Series indexed by patient id, or a mapping.
    """
    out = np.full(uni.n, np.nan)
    if origin is None:
        return out
    if isinstance(origin, pd.DataFrame):
        col = "origin_date" if "origin_date" in origin.columns else "transplant_date"
        require(origin, "origin", ("patient_id", col))
        ids, dates = origin["patient_id"], origin[col]
    elif isinstance(origin, pd.Series):
        ids, dates = pd.Series(origin.index), origin.reset_index(drop=True)
    elif isinstance(origin, Mapping):
        ids, dates = pd.Series(list(origin.keys())), pd.Series(list(origin.values()))
    else:
        raise ConfigurationError("origin must be a DataFrame, a Series or a mapping.",
                                 hint="E.g. DataFrame(patient_id=..., origin_date=...).")
    code = uni.codes(pd.Series(ids).reset_index(drop=True))
    day = cal.to_days(pd.Series(dates).reset_index(drop=True), "origin")
    ok = code >= 0
    dup = np.bincount(code[ok], minlength=uni.n) > 1
    if dup.any():
        raise DataValidationError(
            f"{int(dup.sum())} patient(s) have more than one origin date.",
            hint="Give one origin (index transplant) date per patient.")
    out[code[ok]] = day[ok]
    return out
