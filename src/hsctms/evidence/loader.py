"""Read and validate the evidence base files.

Every rule violation is collected and raised together as one
:class:`~hsctms.errors.EvidenceError` whose message names the file, the row (entry number for
YAML, line number for CSV) and the field, e.g.::

    outcomes.csv line 17 (study 'nash2017', outcome 'event_free'), field 'ci_low':
    estimate 69.2 lies outside its confidence interval [70, 82.1]
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from hsctms._files import safe_load_yaml
from hsctms.errors import EvidenceError
from hsctms.evidence.schema import (
    ARMS,
    ESTIMATORS,
    HARM_COLUMNS,
    HARMS,
    MEASURES,
    OUTCOME_COLUMNS,
    OUTCOMES,
    PERCENT_MEASURES,
    RATIO_MEASURES,
    SOURCE_TYPES,
    SPREAD_TYPES,
    STUDY_FIELD_NAMES,
    STUDY_FIELDS,
)

DATA_DIR = Path(__file__).resolve().parent / "data"

#: Largest gap (percentage points) tolerated between a crude percentage and events/n
#: (papers round to whole percent).
ROUNDING_TOLERANCE = 0.6


class _Errors:
    """Collects validation messages; raises them all at once."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, field: str, message: str) -> None:
        self.items.append(f"{where}, field {field!r}: {message}")

    def raise_if_any(self, what: str) -> None:
        if not self.items:
            return
        shown = self.items[:40]
        more = len(self.items) - len(shown)
        text = "\n  ".join(shown) + (f"\n  ... and {more} more" if more > 0 else "")
        raise EvidenceError(
            f"The {what} is inconsistent ({len(self.items)} problem(s)):\n  {text}",
            hint="Fix the named rows so that the numbers agree with the source "
            "(see docs/evidence.md for the schema and the rules).",
        )


def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    return float(value)


# --------------------------------------------------------------------------- studies


def read_studies(path: Path, errors: _Errors) -> pd.DataFrame:
    """Parse and validate ``studies.yaml`` into a DataFrame (one row per study)."""
    try:
        raw = safe_load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise EvidenceError(f"{path.name} is not valid YAML: {exc}",
                            hint="Check indentation and quoting near the reported line.") from exc
    if not isinstance(raw, list):
        raise EvidenceError(f"{path.name} must be a YAML list of study mappings.")
    by_name = {f.name: f for f in STUDY_FIELDS}
    rows: list[dict[str, Any]] = []
    for i, entry in enumerate(raw, start=1):
        where = f"{path.name} entry {i}"
        if not isinstance(entry, Mapping):
            errors.add(where, "-", "each entry must be a mapping of field: value")
            continue
        sid = entry.get("study_id")
        where = f"{path.name} entry {i} (study {sid!r})"
        row: dict[str, Any] = {}
        for key in entry:
            if key not in by_name:
                errors.add(where, str(key),
                           f"unknown field; allowed: {', '.join(STUDY_FIELD_NAMES)}")
        for f in STUDY_FIELDS:
            value = entry.get(f.name)
            row[f.name] = _check_field(f, value, where, errors)
        rows.append(row)
    _check_studies(rows, path.name, errors)
    return pd.DataFrame(rows, columns=list(STUDY_FIELD_NAMES))


def _check_number(f: Any, value: Any, where: str, errors: _Errors) -> Any:
    """An ``int``/``float`` field's value, range-checked (``None`` if not a number)."""
    try:
        num = float(value)
    except (TypeError, ValueError):
        errors.add(where, f.name, f"must be a number, got {value!r}")
        return None
    if math.isnan(num):
        errors.add(where, f.name, "must not be NaN")
        return None
    if f.type == "int" and num != int(num):
        errors.add(where, f.name, f"must be a whole number, got {value!r}")
    if f.minimum is not None and num < f.minimum:
        errors.add(where, f.name, f"{value} is below the minimum {f.minimum:g}")
    if f.maximum is not None and num > f.maximum:
        errors.add(where, f.name, f"{value} is above the maximum {f.maximum:g}")
    return int(num) if f.type == "int" else num


def _check_field(f: Any, value: Any, where: str, errors: _Errors) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        if f.required:
            errors.add(where, f.name, "is required")
        return [] if f.type == "list" else None
    if f.type == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            errors.add(where, f.name, f"must be a list of strings, got {value!r}")
            return []
        for v in value:
            if f.choices and v not in f.choices:
                errors.add(where, f.name, f"{v!r} is not one of {', '.join(f.choices)}")
        return list(value)
    if f.type in ("int", "float"):
        return _check_number(f, value, where, errors)
    text = str(value).strip()
    if f.choices and text not in f.choices:
        errors.add(where, f.name, f"{text!r} is not one of {', '.join(f.choices)}")
    return text


def _check_studies(  # noqa: C901 - a flat list of independent rules reads best
    rows: list[dict[str, Any]], fname: str, errors: _Errors
) -> None:
    seen: set[str] = set()
    known = {r["study_id"] for r in rows if r["study_id"]}
    for i, row in enumerate(rows, start=1):
        sid = row["study_id"]
        where = f"{fname} entry {i} (study {sid!r})"
        if sid in seen:
            errors.add(where, "study_id", "duplicate study id")
        seen.add(sid)
        if sid and (not sid.replace("_", "").isalnum() or sid != sid.lower()):
            errors.add(where, "study_id", "use lower-case letters, digits and underscores only")
        start, end = row["transplant_year_start"], row["transplant_year_end"]
        if start is not None and end is not None and start > end:
            errors.add(where, "transplant_year_end",
                       f"transplant years are reversed ({start} > {end})")
        pub = row["pub_year"]
        if pub is not None and start is not None and start > pub:
            errors.add(where, "transplant_year_start",
                       f"transplants start ({start}) after publication ({pub})")
        pct = [row[k] for k in ("pct_rrms", "pct_spms", "pct_ppms") if row[k] is not None]
        if sum(pct) > 100.5:
            errors.add(where, "pct_rrms", f"phenotype percentages add up to {sum(pct):g} > 100")
        if row["pct_rrms"] is not None and row["pct_progressive"] is not None \
                and row["pct_rrms"] + row["pct_progressive"] > 100.5:
            errors.add(where, "pct_progressive", "pct_rrms + pct_progressive exceed 100")
        deaths, trm_n = row["trm_deaths"], row["trm_n"]
        if (deaths is None) != (trm_n is None):
            errors.add(where, "trm_n", "give both trm_deaths and trm_n, or neither")
        if deaths is not None and trm_n is not None and deaths > trm_n:
            errors.add(where, "trm_deaths", f"deaths ({deaths}) exceed patients ({trm_n})")
        for key in ("superseded_by",):
            ref = row[key]
            if ref is not None and ref not in known:
                errors.add(where, key, f"unknown study id {ref!r}")
            if ref == sid:
                errors.add(where, key, "a study cannot supersede itself")
        citation = row["citation"] or ""
        if "?" in citation or "not confirmed" in citation.lower():
            errors.add(where, "citation", "uncertain parts are recorded in reference_missing or "
                       "unverified, not as '?' or 'not confirmed' in the text")
        if not row["doi"] and "doi" not in row["reference_missing"] \
                and row["kind"] not in ("trial_record", "regulatory", "review", "proposal"):
            errors.add(where, "doi", "give the DOI, or list 'doi' in reference_missing")
        if row["status"] is not None and row["kind"] not in ("trial_record", "regulatory"):
            errors.add(where, "status", "only trial records and regulatory decisions have a "
                       "status")
        if row["kind"] in ("trial_record", "regulatory") and row["status"] is None:
            errors.add(where, "status", f"a {row['kind']} needs its status")
        for ref in row["overlaps"]:
            if ref not in known:
                errors.add(where, "overlaps", f"unknown study id {ref!r}")
        for name in row["unverified"]:
            if name not in STUDY_FIELD_NAMES:
                errors.add(where, "unverified", f"{name!r} is not a study field")
            elif row.get(name) in (None, []):
                errors.add(where, "unverified", f"{name!r} is flagged but has no value")


# ----------------------------------------------------------------------- long tables


def read_long_table(
    path: Path,
    columns: tuple[str, ...],
    kind_column: str,
    vocabulary: Mapping[str, str],
    study_ids: Iterable[str],
    errors: _Errors,
) -> pd.DataFrame:
    """Parse and validate a long CSV table (outcomes or harms)."""
    known = set(study_ids)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = tuple(reader.fieldnames or ())
        missing = [c for c in columns if c not in header]
        extra = [c for c in header if c not in columns]
        if missing or extra:
            raise EvidenceError(
                f"{path.name}: header does not match the schema "
                f"(missing: {missing or 'none'}; unknown: {extra or 'none'}).",
                hint=f"The columns are: {', '.join(columns)}.",
            )
        records = []
        for line, raw in enumerate(reader, start=2):
            where = (f"{path.name} line {line} (study {raw.get('study_id')!r}, "
                     f"{kind_column} {raw.get(kind_column)!r})")
            if None in raw or any(v is None for v in raw.values()):
                errors.add(where, "-", "wrong number of columns")
                continue
            records.append(_check_row(raw, where, kind_column, vocabulary, known, errors))
    frame = pd.DataFrame(records)
    if frame.empty:
        frame = pd.DataFrame(columns=[*columns, "estimate_derived", "row"])
    return frame


_NUMERIC = ("time_years", "estimate", "ci_low", "ci_high", "ci_level", "spread_low",
            "spread_high", "events", "n")


def _check_row(  # noqa: C901 - a flat list of independent rules reads best
    raw: Mapping[str, str],
    where: str,
    kind_column: str,
    vocabulary: Mapping[str, str],
    known: set[str],
    errors: _Errors,
) -> dict[str, Any]:
    row: dict[str, Any] = {k: (v.strip() if isinstance(v, str) else v) for k, v in raw.items()}
    row["row"] = where.split(" (")[0]
    for key in _NUMERIC:
        try:
            row[key] = _as_float(row.get(key))
        except ValueError:
            errors.add(where, key, f"must be a number, got {raw.get(key)!r}")
            row[key] = None
    if row["study_id"] not in known:
        errors.add(where, "study_id", f"unknown study id {row['study_id']!r} (not in studies.yaml)")
    if row[kind_column] not in vocabulary:
        errors.add(where, kind_column,
                   f"{row[kind_column]!r} is not one of {', '.join(sorted(vocabulary))}")
    if row["measure"] not in MEASURES:
        errors.add(where, "measure", f"{row['measure']!r} is not one of {', '.join(MEASURES)}")
    if not row["arm"]:
        errors.add(where, "arm", "is required (e.g. ahsct, dmt, alemtuzumab, pooled)")
    elif row["arm"] not in ARMS:
        errors.add(where, "arm", f"{row['arm']!r} is not one of {', '.join(ARMS)}")
    if row.get("comparator") and row["comparator"] not in ARMS:
        errors.add(where, "comparator",
                   f"{row['comparator']!r} is not one of {', '.join(ARMS)}")
    if row["source_type"] not in SOURCE_TYPES:
        errors.add(where, "source_type", f"{row['source_type']!r} is not one of "
                   f"{', '.join(SOURCE_TYPES)}")
    if row["verified"] not in ("true", "false"):
        errors.add(where, "verified", f"must be true or false, got {row['verified']!r}")
    row["verified"] = row["verified"] == "true"
    if "estimator" in row and row["estimator"] not in ESTIMATORS:
        errors.add(where, "estimator",
                   f"{row['estimator']!r} is not one of {', '.join(ESTIMATORS)}")
    if "comparator" in row and row["measure"] in RATIO_MEASURES and not row["comparator"]:
        errors.add(where, "comparator", f"a {row['measure']} needs the comparator arm")
    est, lo, hi, lvl = row["estimate"], row["ci_low"], row["ci_high"], row["ci_level"]
    events, n = row["events"], row["n"]
    if events is not None and (events < 0 or events != int(events)):
        errors.add(where, "events", f"must be a whole number >= 0, got {raw['events']!r}")
    if n is not None and (n <= 0 or n != int(n)):
        errors.add(where, "n", f"must be a whole number > 0, got {raw['n']!r}")
    if events is not None and n is not None and events > n:
        errors.add(where, "events", f"events ({events:g}) exceed n ({n:g})")
    if (lo is not None or hi is not None) and lvl is None:
        errors.add(where, "ci_level", "a confidence interval needs its level (e.g. 0.95)")
    if lvl is not None and not 0.5 <= lvl < 1:
        errors.add(where, "ci_level", f"must be a fraction in [0.5, 1), got {lvl:g}")
    if lvl is not None and lo is None and hi is None:
        errors.add(where, "ci_level", "a CI level is given without ci_low/ci_high")
    if lo is not None and hi is not None and lo > hi:
        errors.add(where, "ci_high", f"CI is reversed ({lo:g} > {hi:g})")
    if est is not None and ((lo is not None and est < lo) or (hi is not None and est > hi)):
        errors.add(where, "estimate", f"estimate {est:g} lies outside its confidence interval "
                   f"[{'' if lo is None else f'{lo:g}'}, {'' if hi is None else f'{hi:g}'}]")
    s_lo, s_hi, s_type = row["spread_low"], row["spread_high"], row["spread_type"]
    if (s_lo is not None or s_hi is not None) and s_type not in SPREAD_TYPES:
        errors.add(where, "spread_type", f"must be one of {', '.join(SPREAD_TYPES)} when a "
                   "spread is given")
    if s_type and s_lo is None and s_hi is None:
        errors.add(where, "spread_type", "given without spread_low/spread_high")
    if s_lo is not None and s_hi is not None and s_lo > s_hi:
        errors.add(where, "spread_high", f"spread is reversed ({s_lo:g} > {s_hi:g})")
    if row["measure"] in PERCENT_MEASURES:
        for key in ("estimate", "ci_low", "ci_high", "spread_low", "spread_high"):
            value = row[key]
            if value is not None and not 0 <= value <= 100:
                errors.add(where, key, f"percentage {value:g} is outside [0, 100]")
    if row["time_years"] is not None and row["time_years"] < 0:
        errors.add(where, "time_years", "must be >= 0")
    row["estimate_derived"] = False
    if row["measure"] in PERCENT_MEASURES and events is not None and n is not None and n > 0:
        crude = 100.0 * events / n
        if est is None:
            row["estimate"] = crude
            row["estimate_derived"] = True
        elif row.get("estimator", "crude") == "crude" and abs(est - crude) > ROUNDING_TOLERANCE:
            errors.add(where, "estimate", f"crude percentage {est:g} does not match "
                       f"events/n = {events:g}/{n:g} = {crude:.2f}%")
    if row["estimate"] is None and s_lo is None and s_hi is None:
        errors.add(where, "estimate", "give an estimate, events and n, or a spread")
    return row


#: Measures shown side by side in reports: a comparator row needs its aHSCT row.
PAIRED_MEASURES: frozenset[str] = frozenset({"percent", "arr", "per_1000_py"})


def paired_ahsct_rows(ours: pd.DataFrame, rec: Mapping[str, Any], column: str) -> pd.DataFrame:
    """The aHSCT rows (of ``ours``) that pair with the comparator-arm row ``rec``: same study,
    ``column`` (outcome or harm), measure, population and time point (within 0.05 years, or
    the same label when untimed), and comparator (when the aHSCT row names one)."""
    same = ours[(ours["study_id"] == rec["study_id"]) & (ours[column] == rec[column])
                & (ours["measure"] == rec["measure"])
                & (ours["population"] == rec["population"])]
    if "comparator" in same.columns:  # the aHSCT row of this comparison
        same = same[same["comparator"].fillna("").isin(["", rec["arm"]])]
    t = rec["time_years"]
    if t is None or pd.isna(t):
        return same[same["time_years"].isna() & (same["time_label"] == rec["time_label"])]
    return same[(pd.to_numeric(same["time_years"]) - float(t)).abs() <= 0.05]


def check_pairs(
    frame: pd.DataFrame, kind_column: str, kinds: Mapping[str, str], errors: _Errors
) -> None:
    """Each comparator-arm row of a comparative study needs the aHSCT row of the same outcome,
    measure, population and time point (so that reports can show the two side by side).

    Rows of comparator-only sources (``kind`` ``comparator_trial``) are exempt.
    """
    if frame.empty:
        return
    ours = frame[frame["arm"] == "ahsct"]
    for rec in frame.to_dict("records"):
        if rec["arm"] in ("ahsct", "pooled") or rec["measure"] not in PAIRED_MEASURES:
            continue
        if kinds.get(rec["study_id"]) == "comparator_trial":
            continue
        same = paired_ahsct_rows(ours, rec, kind_column)
        if same.empty:
            errors.add(f"{rec['row']} (study {rec['study_id']!r}, {kind_column} "
                       f"{rec[kind_column]!r})", "arm",
                       f"comparator arm {rec['arm']!r} has no aHSCT row with the same "
                       f"{kind_column}, measure, population and time point")


def read_outcomes(path: Path, study_ids: Iterable[str], errors: _Errors) -> pd.DataFrame:
    """Parse and validate ``outcomes.csv``."""
    return read_long_table(path, OUTCOME_COLUMNS, "outcome", OUTCOMES, study_ids, errors)


def read_harms(path: Path, study_ids: Iterable[str], errors: _Errors) -> pd.DataFrame:
    """Parse and validate ``harms.csv``."""
    return read_long_table(path, HARM_COLUMNS, "harm", HARMS, study_ids, errors)


def read_all(data_dir: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Read and validate the three tables; raise one :class:`EvidenceError` listing all problems."""
    base = Path(data_dir) if data_dir is not None else DATA_DIR
    paths = {name: base / name for name in ("studies.yaml", "outcomes.csv", "harms.csv")}
    for p in paths.values():
        if not p.is_file():
            raise EvidenceError(f"Evidence file {p} is missing.",
                                hint=f"The evidence directory needs {', '.join(paths)}.")
    errors = _Errors()
    studies = read_studies(paths["studies.yaml"], errors)
    ids = [s for s in studies["study_id"].tolist() if s]
    outcomes = read_outcomes(paths["outcomes.csv"], ids, errors)
    harms = read_harms(paths["harms.csv"], ids, errors)
    kinds = dict(zip(studies["study_id"], studies["kind"], strict=True))
    check_pairs(outcomes, "outcome", kinds, errors)
    check_pairs(harms, "harm", kinds, errors)
    errors.raise_if_any("evidence base")
    return studies, outcomes, harms
