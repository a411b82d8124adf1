"""Shared helpers of :mod:`hsctms.survival`: input checks, confidence-interval transforms.

Confidence-interval transforms follow R's ``survival::survfit`` (``conf.type``):

* ``"log-log"`` (hsctms default, as SAS and the HALT-MS reports): the interval is built on
  ``log(-log p)`` and back-transformed; it always lies in [0, 1];
* ``"log"`` (R's default): ``p * exp(±z se / p)``, upper limit clipped at 1;
* ``"plain"``: ``p ± z se``, clipped to [0, 1].

As in R, the limits are NaN where ``p`` is 0 (log and log-log) and 1 where ``p`` is 1.

``se`` is the standard error of the probability ``p`` itself (Greenwood for Kaplan-Meier,
Dinse-Larson / infinitesimal jackknife for cumulative incidence).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from hsctms.errors import ConfigurationError, EstimationError

ConfType = Literal["log-log", "log", "plain"]
CONF_TYPES: tuple[str, ...] = ("log-log", "log", "plain")

FloatArray = npt.NDArray[np.float64]


def check_level(level: float) -> float:
    """Validate a confidence level in (0, 1)."""
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ConfigurationError(
            f"Confidence level {level} is not between 0 and 1.",
            hint="Use e.g. 0.95 for 95% or 0.9 for 90% (HALT-MS) intervals.",
        )
    return level


def check_conf_type(conf_type: str) -> ConfType:
    """Validate a confidence-interval transform name."""
    if conf_type not in CONF_TYPES:
        raise ConfigurationError(
            f"Unknown confidence-interval transform {conf_type!r}.",
            hint=f"Use one of {', '.join(CONF_TYPES)} (default log-log; R's default is log).",
        )
    return conf_type  # type: ignore[return-value]


def z_value(level: float) -> float:
    """Two-sided standard-normal quantile for ``level``."""
    return float(stats.norm.ppf(0.5 + check_level(level) / 2.0))


def check_times(
    time: Any, event: Any, *, codes: Sequence[int] = (0, 1), name: str = "event"
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Validate follow-up times and event codes; return float times and integer codes.

    Raises
    ------
    EstimationError
        If lengths differ, there are no observations, a time is missing, negative or not
        finite, or an event code is not one of ``codes``.
    """
    t = np.asarray(time, dtype=float).ravel()
    raw = np.asarray(event)
    if raw.dtype == bool:
        raw = raw.astype(np.int64)
    try:
        e_f = np.asarray(raw, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise EstimationError(
            f"The {name} indicator is not numeric.", hint=f"Code {name}s as {list(codes)}."
        ) from exc
    if t.shape != e_f.shape:
        raise EstimationError(
            f"time has {t.size} values but {name} has {e_f.size}.",
            hint="Pass one time and one event code per patient.",
        )
    if t.size == 0:
        raise EstimationError("No observations to analyse.", hint="Check the cohort filter.")
    if not np.all(np.isfinite(t)):
        raise EstimationError(
            f"{int((~np.isfinite(t)).sum())} follow-up time(s) are missing or infinite.",
            hint="Drop patients without follow-up, or censor them at their last visit.",
        )
    if np.any(t < 0):
        raise EstimationError(
            f"{int((t < 0).sum())} follow-up time(s) are negative.",
            hint="Times are measured from the time origin (e.g. the transplant date).",
        )
    if not np.all(np.isfinite(e_f)) or not np.all(np.isin(e_f, codes)):
        bad = sorted({str(v) for v in e_f[~np.isin(e_f, codes)]})
        raise EstimationError(
            f"Unexpected {name} code(s) {bad[:5]}.",
            hint=f"Allowed codes: {list(codes)} (0 = censored).",
        )
    return t, e_f.astype(np.int64)


def prob_ci(
    p: FloatArray, se: FloatArray, *, level: float, conf_type: str
) -> tuple[FloatArray, FloatArray]:
    """Pointwise confidence limits for probabilities ``p`` with standard errors ``se``.

    Implements R ``survival``'s ``conf.type`` transforms (see module docstring). Where
    ``p`` is 1 both limits are 1; where ``p`` is 0 they are NaN for the log and log-log
    transforms (the plain interval is ``[0, z se]``); elsewhere a NaN ``se`` gives NaN.

    Parameters
    ----------
    p
        Estimated probabilities (e.g. S(t) or F(t)), each in [0, 1]; an array or a scalar.
    se
        Standard errors of ``p`` itself (not of a transform of it), same shape as ``p``.
    level
        Two-sided confidence level, in (0, 1) (e.g. 0.95).
    conf_type
        ``"log-log"`` (built on ``log(-log p)``), ``"log"`` (R's default, upper limit
        clipped at 1) or ``"plain"`` (``p +/- z se`` clipped to [0, 1]).

    Returns
    -------
    tuple of numpy.ndarray
        ``(lower, upper)``: the pointwise limits, each with the shape of ``p``.

    Raises
    ------
    ConfigurationError
        If ``level`` is not in (0, 1) or ``conf_type`` is not one of :data:`CONF_TYPES`.

    Examples
    --------
    >>> lo, hi = prob_ci(0.8, 0.1, level=0.95, conf_type="plain")
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.604, 0.996)
    """
    conf_type = check_conf_type(conf_type)
    z = z_value(level)
    p = np.asarray(p, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            lower = np.clip(p - z * se, 0.0, 1.0)
            upper = np.clip(p + z * se, 0.0, 1.0)
        elif conf_type == "log":
            sel = se / p
            lower = p * np.exp(-z * sel)
            upper = np.minimum(p * np.exp(z * sel), 1.0)
        else:
            sel = se / (p * np.log(p))
            lower = np.exp(-np.exp(np.log(-np.log(p)) - z * sel))
            upper = np.exp(-np.exp(np.log(-np.log(p)) + z * sel))
            # log(p) < 0, so the "- z*sel" limit is the lower one
            lower, upper = np.minimum(lower, upper), np.maximum(lower, upper)
    # As R: at p == 1 the band collapses to 1; at p == 0 the limits are undefined (NaN)
    # except for the plain transform.
    one = p >= 1.0
    lower = np.where(one, 1.0, lower)
    upper = np.where(one, 1.0, upper)
    if conf_type != "plain":
        zero = p <= 0.0
        lower = np.where(zero, np.nan, lower)
        upper = np.where(zero, np.nan, upper)
    return lower, upper


def step_at(x: FloatArray, y: FloatArray, at: Any, *, before: float) -> FloatArray:
    """Right-continuous step function through (x, y), value ``before`` left of x[0]."""
    at_arr = np.asarray(at, dtype=float)
    idx = np.searchsorted(x, at_arr, side="right") - 1
    out = np.where(idx >= 0, y[np.clip(idx, 0, max(len(y) - 1, 0))] if len(y) else before,
                   before)
    return np.asarray(out, dtype=float)


def at_risk(sorted_time: FloatArray, at: Any) -> npt.NDArray[np.int64]:
    """Numbers at risk #(T >= t) (R ``summary(fit, times)$n.risk``); ``sorted_time`` ascending."""
    at_arr = np.asarray(at, dtype=float)
    return (sorted_time.size - np.searchsorted(sorted_time, at_arr, side="left")).astype(np.int64)


def finite_or_none(x: float | None) -> float | None:
    """``None`` for NaN/inf (JSON has no NaN), else a float."""
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


def list_or_none(arr: Any) -> list[float | None]:
    """A float array as a JSON-safe list (NaN/inf -> None)."""
    return [finite_or_none(v) for v in np.asarray(arr, dtype=float).ravel()]


def clean_labels(groups: Any, n: int, name: str = "groups") -> npt.NDArray[np.str_]:
    """Group labels as strings; missing labels are an error."""
    g = np.asarray(groups, dtype=object).ravel()
    if g.size != n:
        raise EstimationError(
            f"{name} has {g.size} values but there are {n} observations.",
            hint=f"Pass one {name} label per patient.",
        )
    missing = np.asarray(pd.isna(g), dtype=bool)
    if missing.any():
        raise EstimationError(
            f"{int(missing.sum())} patient(s) have no {name} label.",
            hint="Drop them or give them an explicit label (e.g. 'unknown') before grouping.",
        )
    return np.asarray([str(v) for v in g], dtype=str)


def sorted_levels(labels: npt.NDArray[np.str_]) -> list[str]:
    """Group levels in sorted order (numeric-aware, as R's factor())."""
    levels = sorted(set(labels.tolist()))
    try:
        return sorted(levels, key=float)
    except ValueError:
        return levels


def group_codes(groups: Any, strata: Any, n: int, test: str
                ) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.str_]]:
    """Sorted group levels, each observation's group index and stratum label (one stratum
    when ``strata`` is None), for the k-sample tests; at least two groups are required."""
    g = clean_labels(groups, n)
    levels = sorted_levels(g)
    if len(levels) < 2:
        raise EstimationError(f"{test} needs at least two groups.",
                              hint="Check the grouping variable.")
    index = {lev: i for i, lev in enumerate(levels)}
    gi = np.fromiter((index[x] for x in g), dtype=np.int64, count=g.size)
    st = clean_labels(strata, n, "strata") if strata is not None else np.zeros(n, dtype=str)
    return levels, gi, st


def stack_groups(fits: Mapping[str, Any], table: Callable[[Any], pd.DataFrame]
                 ) -> pd.DataFrame:
    """Concatenate ``table(fit)`` over the fits of a stratified result, with a ``group``
    column first."""
    parts = []
    for g, fit in fits.items():
        df = table(fit)
        df.insert(0, "group", g)
        parts.append(df)
    return pd.concat(parts, ignore_index=True)
