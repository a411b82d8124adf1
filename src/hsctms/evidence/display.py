"""How figures of the evidence base are written in tables and reports: one precision rule per
measure, intervals beside the estimate, short labels.

The rule (:data:`DIGITS`): percentages with one decimal (``0.2%``, ``4.2%``, ``68.0%``), hazard,
rate and mean-difference ratios with two, relapse rates and yearly EDSS changes with three, EDSS
values with one. A confidence interval is written after the estimate; its level is named when it
is not 95%; bounds are joined by "to" (not a dash, which could read as a minus); where
the source gives no interval but events and n, the exact (Clopper-Pearson)
95% interval is shown and marked ``exact``.

>>> format_estimate(4.1667, "percent")
'4.2%'
>>> format_estimate(0.07, "hazard_ratio", ci=(0.02, 0.24))
'HR 0.07 (0.02 to 0.24)'
>>> format_estimate(69.2, "percent", ci=(50.2, 82.1), level=0.9)
'69.2% (50.2 to 82.1, 90% CI)'
>>> format_estimate(7.142857, "percent", exact=(0.18, 33.87))
'7.1% (0.2 to 33.9, exact)'
"""

from __future__ import annotations

import math
from typing import Any

from hsctms.evidence.schema import DESIGN_BY_KIND

#: Decimal places per measure (default 2).
DIGITS: dict[str, int] = {
    "percent": 1, "hazard_ratio": 2, "rate_ratio": 2, "mean_difference": 2, "smd": 2,
    "arr": 3, "edss_per_year": 3, "edss": 1, "months": 0, "per_1000_py": 1,
    "per_patient_year": 2, "per_patient": 2, "pmol_per_l": 1,
}
#: Prefix (ratios) or suffix (units) written with the number.
_PREFIX = {"hazard_ratio": "HR ", "rate_ratio": "RR ", "mean_difference": "diff ",
           "smd": "SMD ", "arr": "ARR ", "edss": "EDSS "}
_SUFFIX = {"percent": "%", "per_1000_py": " per 1000 py", "per_patient_year":
           " per patient per year", "per_patient": " per patient", "months": " months",
           "pmol_per_l": " pmol/L", "edss_per_year": " EDSS/y"}

#: Short labels of the evidence designs (for narrow tables).
DESIGN_SHORT: dict[str, str] = {
    "randomised": "RCT", "adjusted_comparison": "adjusted", "unadjusted_comparison":
    "unadjusted", "single_arm": "single-arm", "pooled": "pooled", "survey": "survey",
    "no_results": "no results",
}
#: Short labels of the intensity classes.
INTENSITY_SHORT: dict[str, str] = {"low": "low", "intermediate": "inter.", "high": "high",
                                   "mixed": "mixed"}


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(math.isnan(float(value)))
    except (TypeError, ValueError):
        return str(value).strip() == ""


def format_number(value: Any, measure: str) -> str:
    """A number with the precision of its measure (empty text when missing).

    Parameters
    ----------
    value : float or None
        The number.
    measure : str
        Its measure (see :data:`hsctms.evidence.MEASURES`).

    Returns
    -------
    str
        E.g. ``"4.2"`` for a percentage, ``"0.026"`` for a relapse rate.
    """
    if _missing(value):
        return ""
    return f"{float(value):.{DIGITS.get(measure, 2)}f}"


def format_estimate(
    value: Any,
    measure: str,
    *,
    ci: tuple[Any, Any] | None = None,
    level: Any = None,
    exact: tuple[Any, Any] | None = None,
) -> str:
    """An estimate with its unit and interval, by the rule of this module.

    Parameters
    ----------
    value : float or None
        The estimate.
    measure : str
        Its measure.
    ci : tuple of float, optional
        The published confidence interval (either bound may be missing).
    level : float, optional
        Level of ``ci`` (named when not 0.95).
    exact : tuple of float, optional
        Exact interval (percent) to show when there is no published interval.

    Returns
    -------
    str
        E.g. ``"69.2% (50.2-82.1, 90% CI)"``; empty when ``value`` is missing.
    """
    if _missing(value):
        return ""
    text = f"{_PREFIX.get(measure, '')}{format_number(value, measure)}{_SUFFIX.get(measure, '')}"
    lo, hi = ci if ci is not None else (None, None)
    if not (_missing(lo) and _missing(hi)):
        bounds = f"{format_number(lo, measure) or '?'} to {format_number(hi, measure) or '?'}"
        named = "" if _missing(level) or abs(float(level) - 0.95) < 1e-9 else \
            f", {100 * float(level):g}% CI"
        return f"{text} ({bounds}{named})"
    if exact is not None and not (_missing(exact[0]) or _missing(exact[1])):
        return f"{text} ({format_number(exact[0], 'percent')} to " \
               f"{format_number(exact[1], 'percent')}, exact)"
    return text


def format_count(events: Any, n: Any) -> str:
    """``"events/n"``, ``"n=..."`` or empty text.

    Parameters
    ----------
    events, n : float or None
        Counts (missing values allowed).

    Returns
    -------
    str
        E.g. ``"1/14"`` or ``"n=174"``.
    """
    if _missing(n):
        return ""
    if _missing(events):
        return f"n={int(float(n))}"
    return f"{int(float(events))}/{int(float(n))}"


def row_estimate(rec: dict[str, Any]) -> str:
    """The estimate text of an outcome or harm row (a dict of the tables' columns).

    Parameters
    ----------
    rec : dict
        One row of :meth:`EvidenceBase.outcomes` or :meth:`EvidenceBase.harms`.

    Returns
    -------
    str
        The estimate with its interval (published, else exact for harms with events/n).
    """
    exact = (rec.get("exact_low"), rec.get("exact_high")) if "exact_low" in rec else None
    measure = str(rec.get("measure"))
    text = format_estimate(rec.get("estimate"), measure,
                           ci=(rec.get("ci_low"), rec.get("ci_high")),
                           level=rec.get("ci_level"), exact=exact)
    lo, hi = rec.get("spread_low"), rec.get("spread_high")
    if _missing(lo) and _missing(hi):
        return text
    kind = "IQR" if rec.get("spread_type") == "iqr" else "range"
    spread = (f"{kind} {format_number(lo, measure) or '?'} to "
              f"{format_number(hi, measure) or '?'}"
              f"{_SUFFIX.get(measure, '')}")
    return f"{text} ({spread})" if text else spread


def design_short(design: Any, kind: Any = None) -> str:
    """Short label of a study's evidence design (from ``kind`` when the design is missing).

    Parameters
    ----------
    design : str or None
        ``evidence_design`` value.
    kind : str, optional
        The study's ``kind``.

    Returns
    -------
    str
        E.g. ``"RCT"``, ``"adjusted"``, ``"single-arm"``.
    """
    if _missing(design):
        design = DESIGN_BY_KIND.get(str(kind), "")
    return DESIGN_SHORT.get(str(design), str(design))
