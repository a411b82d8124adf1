"""Table 1: the characteristics of a transplanted cohort at the transplant, by phenotype group.

A paper on aHSCT outcomes opens with who was transplanted. :func:`baseline_table` describes
each patient's index (first) transplant: age, sex, phenotype, disease duration, baseline EDSS,
prior DMTs and the most effective of them, relapses and MRI activity in the 12 months before,
the conditioning regimen and its intensity, the centre and the transplant year. Continuous
variables are median (IQR), categorical ones n (%) of the patients of the column with a known
value; every variable shows how many values are missing, so that no percentage hides an unknown
denominator.

Definitions (the table's footnotes say the same):

* *Baseline EDSS*: the last EDSS on or before the transplant date, at most 365 days before.
* *Prior DMT*: a DMT row whose start date is before the transplant date. The most effective
  class uses the DMT catalogue (``hsctms/model/dmts.yaml``): high-efficacy, other (moderate),
  or none; a drug the catalogue does not know makes the class unknown unless a high-efficacy
  drug was also taken.
* *Relapses, MRI activity in the prior year*: relapse onsets, or scans with a new T2 or a
  gadolinium-enhancing lesion, in the 365 days before the transplant (the transplant day
  excluded). MRI activity is unknown for a patient without a scan in that year.

Disclosure control (``small_count``, see :mod:`hsctms.analysis.monitoring_disclosure`): counts
from 1 to ``small_count - 1`` are shown as ``<k`` without a percentage. A suppressed count
must not be recoverable by subtraction (from the overall column, or from the column's n), so
other counts of the same line or column are suppressed as well, shown as ``suppressed``
(:func:`protect`); medians and IQRs of a column with fewer than ``small_count`` known values
are withheld.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from hsctms._provenance import Provenance
from hsctms.analysis.monitoring_disclosure import check_small_count
from hsctms.model.vocabularies import dmt_catalogue

__all__ = ["BaselineRow", "BaselineTable", "baseline_characteristics", "baseline_table",
           "determined", "protect"]

#: Phenotype -> group of the table's columns (as the outcomes analysis groups them).
PHENOTYPE_COLUMNS = {"RRMS": "Relapsing (RRMS)", "SPMS": "Progressive (SPMS, PPMS, PRMS)",
                     "PPMS": "Progressive (SPMS, PPMS, PRMS)",
                     "PRMS": "Progressive (SPMS, PPMS, PRMS)"}
OVERALL = "Overall"
WINDOW_DAYS = 365

#: Variable name -> (label, kind); kind "continuous" (median, IQR) or "categorical" (n, %).
VARIABLES: dict[str, tuple[str, str]] = {
    "age_at_transplant": ("Age at transplant, years", "continuous"),
    "sex": ("Sex", "categorical"),
    "phenotype": ("Phenotype", "categorical"),
    "disease_duration": ("Disease duration at transplant, years", "continuous"),
    "baseline_edss": ("Baseline EDSS", "continuous"),
    "prior_dmt_count": ("Prior DMTs, number", "continuous"),
    "most_effective_prior_dmt": ("Most effective prior DMT", "categorical"),
    "relapses_prior_year": ("Relapses in the prior 12 months, number", "continuous"),
    "relapse_prior_year": ("Relapse in the prior 12 months", "categorical"),
    "mri_activity_prior_year": ("MRI activity in the prior 12 months", "categorical"),
    "conditioning": ("Conditioning regimen", "categorical"),
    "intensity": ("Conditioning intensity", "categorical"),
    "centre": ("Centre", "categorical"),
    "transplant_year": ("Year of transplant", "continuous"),
}

FOOTNOTES = (
    "Median (IQR) for numbers, n (%) for categories; percentages are of the patients of the "
    "column with a known value; missing values are counted on their own line.",
    "Baseline EDSS: the last EDSS on or before the transplant date, at most 365 days before.",
    "Prior DMT: started before the transplant date; the most effective class follows the DMT "
    "catalogue (high-efficacy, other, none).",
    "Relapses and MRI activity (a new T2 or a gadolinium-enhancing lesion): in the 365 days "
    "before the transplant; MRI activity is unknown without a scan in that year.",
)


@dataclass(frozen=True)
class BaselineRow:
    """One line of Table 1.

    Parameters
    ----------
    variable
        Variable name (a key of :data:`VARIABLES`).
    label
        The line's label: the variable's label, a category, or ``"Missing"``.
    kind
        ``"continuous"``, ``"category"``, ``"missing"`` or ``"header"`` (a categorical
        variable's title line, without numbers).
    cells
        Column name -> the cell's text (e.g. ``"41 (34-47)"``, ``"12 (40.0%)"``, ``"<5"``).
    counts
        Column name -> the unsuppressed count behind a category or missing line (None for
        continuous lines); kept for checks inside the centre, never printed when suppressed.
    """

    variable: str
    label: str
    kind: str
    cells: dict[str, str]
    counts: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class BaselineTable:
    """Table 1 of a cohort: one column per phenotype group and one for all patients.

    Parameters
    ----------
    columns
        Column names in order (phenotype groups present, then ``"Overall"``).
    n
        Column name -> number of patients, as printed (suppressed when small).
    rows
        The lines of the table, in order.
    small_count
        Disclosure threshold applied (1: every count shown).
    footnotes
        Definitions printed under the table.
    provenance
        How the table was computed.
    data
        The per-patient values behind the table (:func:`baseline_characteristics`); never
        part of :meth:`to_dict`.
    """

    columns: tuple[str, ...]
    n: dict[str, int | str]
    rows: tuple[BaselineRow, ...]
    small_count: int
    footnotes: tuple[str, ...]
    provenance: Provenance
    data: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)

    def with_small_count(self, small_count: int) -> BaselineTable:
        """The same table under another disclosure threshold (e.g. for a report that leaves
        the centre).

        Parameters
        ----------
        small_count
            Disclosure threshold (1: every count shown).

        Returns
        -------
        BaselineTable
            A new table from the same per-patient values.
        """
        small_count = check_small_count(small_count)
        prov = replace(self.provenance, definition={**self.provenance.definition,
                                                    "small_count": small_count})
        return replace(_table(self.data, small_count), provenance=prov)

    @property
    def summary(self) -> str:
        """One line: the columns and their sizes."""
        sizes = ", ".join(f"{c} n={self.n[c]}" for c in self.columns)
        return f"Baseline characteristics at the transplant: {sizes}."

    def to_frame(self) -> pd.DataFrame:
        """The printed table: ``variable``, ``label``, ``kind`` and one column per group.

        Returns
        -------
        pandas.DataFrame
            One row per line of the table, cells as text.
        """
        return pd.DataFrame([{"variable": r.variable, "label": r.label, "kind": r.kind,
                              **r.cells} for r in self.rows],
                            columns=["variable", "label", "kind", *self.columns])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (printed cells only: suppressed counts stay suppressed).

        Returns
        -------
        dict
            ``columns``, ``n``, ``rows`` (variable, label, kind, cells), ``footnotes``,
            ``small_count`` and ``provenance``.
        """
        return {"columns": list(self.columns), "n": dict(self.n),
                "rows": [{"variable": r.variable, "label": r.label, "kind": r.kind,
                          "cells": dict(r.cells)} for r in self.rows],
                "footnotes": list(self.footnotes), "small_count": self.small_count,
                "provenance": self.provenance.to_dict()}


# -- the per-patient values -----------------------------------------------------------------
def rows_before(frame: pd.DataFrame, date_col: str, origin: pd.Series, *, inclusive: bool,
                window_days: float = WINDOW_DAYS) -> pd.DataFrame:
    """Rows of ``frame`` dated in the ``window_days`` before each patient's origin.

    Parameters
    ----------
    frame
        A table with ``patient_id`` and ``date_col``.
    date_col
        The date column of ``frame``.
    origin
        Origin date per patient: a Series indexed by the text patient id.
    inclusive
        Count a row on the origin day itself (True, as for a baseline EDSS) or not.
    window_days
        Length of the window before the origin, in days (default 365).

    Returns
    -------
    pandas.DataFrame
        The rows in the window, with ``_days`` = days from the row to the origin.
    """
    d = frame.assign(_tx=frame["patient_id"].astype(str).map(origin))
    days = (d["_tx"] - pd.to_datetime(d[date_col])).dt.days
    upper = days >= 0 if inclusive else days > 0
    return d[upper & (days <= window_days)].assign(_days=days)


def _dmt_classes(drugs: pd.Series, pid: pd.Series) -> pd.Series:
    """The most effective class of each patient's drugs (grouped by ``pid``): "High-efficacy"
    if any is a high-efficacy DMT of the catalogue, else "Unknown class" if any is not in the
    catalogue, else "Other (moderate efficacy)"; each distinct name is looked up once."""
    codes, uniques = pd.factorize(drugs, use_na_sentinel=False)
    catalogue = dmt_catalogue()
    classes = [catalogue.get(str(x).lower().strip()) for x in uniques]
    high = np.array([c is not None and bool(c["high_efficacy"]) for c in classes], dtype=bool)
    unknown = np.array([c is None for c in classes], dtype=bool)
    any_high = pd.Series(high[codes], index=drugs.index).groupby(pid).any()
    any_unknown = pd.Series(unknown[codes], index=drugs.index).groupby(pid).any()
    label = np.where(any_high.to_numpy(), "High-efficacy",
                     np.where(any_unknown.to_numpy(), "Unknown class",
                              "Other (moderate efficacy)"))
    return pd.Series(label.astype(object), index=any_high.index)


def baseline_characteristics(cohort: Any) -> pd.DataFrame:
    """Each transplanted patient's values at the index transplant (the rows behind Table 1).

    Parameters
    ----------
    cohort
        A :class:`hsctms.model.Cohort`.

    Returns
    -------
    pandas.DataFrame
        One row per patient with a transplant: ``patient_id``, ``column`` (phenotype group)
        and one column per key of :data:`VARIABLES` (missing values as NA).
    """
    base = cohort.baseline_table()
    base = base[base["transplant_date"].notna()].copy()
    base["patient_id"] = base["patient_id"].astype(str)
    tx = pd.Series(pd.to_datetime(base["transplant_date"]).to_numpy(),
                   index=base["patient_id"])
    out = base[["patient_id", "age_at_transplant", "sex", "phenotype", "disease_duration",
                "conditioning", "intensity", "centre"]].copy()
    out["transplant_year"] = pd.to_datetime(base["transplant_date"]).dt.year.astype("Int64")
    edss = rows_before(cohort.edss, "date", tx, inclusive=True).sort_values(
        ["patient_id", "_days"])
    last = edss.groupby(edss["patient_id"].astype(str))["edss"].first()
    out["baseline_edss"] = out["patient_id"].map(last).astype(float)
    dmt = cohort.table("dmt")
    d = dmt.assign(_tx=dmt["patient_id"].astype(str).map(tx))
    prior = d[pd.to_datetime(d["start_date"]) < d["_tx"]]
    pid = prior["patient_id"].astype(str)
    # distinct drug names (lower case, stripped; blanks not counted) per patient
    counts = prior["drug"].str.lower().str.strip().groupby(pid).nunique()
    out["prior_dmt_count"] = out["patient_id"].map(counts).fillna(0).astype(float)
    # object dtype before filling: with no DMT courses at all the mapped column is float NaN
    out["most_effective_prior_dmt"] = out["patient_id"].map(_dmt_classes(prior["drug"], pid)
                                                            ).astype(object).fillna("None")
    rel = rows_before(cohort.relapses, "onset_date", tx, inclusive=False)
    n_rel = rel.groupby(rel["patient_id"].astype(str)).size()
    out["relapses_prior_year"] = out["patient_id"].map(n_rel).fillna(0).astype(float)
    out["relapse_prior_year"] = np.where(out["relapses_prior_year"] > 0, "Yes", "No")
    mri = rows_before(cohort.mri, "date", tx, inclusive=False)
    active = (mri["new_t2"].fillna(0) > 0) | (mri["gd_lesions"].fillna(0) > 0)
    any_active = active.groupby(mri["patient_id"].astype(str)).any()
    out["mri_activity_prior_year"] = out["patient_id"].map(
        any_active.map({True: "Yes", False: "No"}))
    out.insert(1, "column", out["phenotype"].map(PHENOTYPE_COLUMNS).fillna("Unknown phenotype"))
    return out.reset_index(drop=True)


# -- the printed table ----------------------------------------------------------------------
def _num(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def _continuous(values: pd.Series, small_count: int) -> str:
    v = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    if v.empty:
        return "–"
    if len(v) < small_count:
        return "suppressed"  # quantiles of a few patients describe individuals
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    return f"{_num(med)} ({_num(q1)}–{_num(q3)})"


def determined(counts: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Hidden cells whose value follows exactly from the shown ones.

    The relations a reader knows are the lines (overall = sum of the groups) and the columns
    (the levels add up to the column's n). A hidden cell is determined when its unit vector
    lies in the row space of those equations restricted to the hidden cells.

    Parameters
    ----------
    counts
        Whole-number counts, levels x (groups + 1); the last column is the overall column.
    hidden
        Boolean mask of the suppressed cells.

    Returns
    -------
    numpy.ndarray
        Boolean mask of the hidden cells that can be recovered.
    """
    levels, cols = counts.shape
    where = {cell: i for i, cell in enumerate(zip(*np.nonzero(hidden), strict=True))}
    out = np.zeros_like(hidden, dtype=bool)
    if not where:
        return out
    equations = []
    for i in range(levels):  # sum of the groups minus the overall cell is 0
        row = np.zeros(len(where))
        for j in range(cols):
            if (i, j) in where:
                row[where[(i, j)]] = -1.0 if j == cols - 1 else 1.0
        equations.append(row)
    for j in range(cols):  # the levels of a column add up to its n
        row = np.zeros(len(where))
        for i in range(levels):
            if (i, j) in where:
                row[where[(i, j)]] = 1.0
        equations.append(row)
    a = np.array(equations)
    rank = np.linalg.matrix_rank(a)
    for (i, j), k in where.items():
        unit = np.zeros(len(where))
        unit[k] = 1.0
        out[i, j] = np.linalg.matrix_rank(np.vstack([a, unit])) == rank
    return out


def protect(counts: np.ndarray, small_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Which cells of one variable's block to suppress.

    ``counts`` is levels x (groups + 1): the last column is the overall column (the sum of
    the groups); every column's n is printed. Primary cells are the counts from 1 to
    ``small_count - 1``. While a primary cell can be recovered by subtraction
    (:func:`determined`), the smallest non-zero shown count of its line or column that makes it
    unrecoverable is suppressed as well (complementary suppression); if no single count does,
    the smallest is suppressed and the search goes on.

    Parameters
    ----------
    counts
        Whole-number counts, levels x (groups + 1).
    small_count
        Disclosure threshold (1 or less: nothing suppressed).

    Returns
    -------
    primary, complementary
        Boolean masks of ``counts``' shape.
    """
    c = np.asarray(counts, dtype=np.int64)
    primary = (c > 0) & (c < small_count)
    hidden = primary.copy()
    while True:
        exposed = np.argwhere(determined(c, hidden) & primary)
        if not len(exposed):
            break
        i, j = exposed[0]
        near = np.zeros_like(hidden)
        near[i, :] = True
        near[:, j] = True
        candidates = np.argwhere(near & ~hidden & (c > 0))
        if not len(candidates):
            candidates = np.argwhere(~hidden & (c > 0))
            if not len(candidates):
                break  # every non-zero count is hidden already
        candidates = candidates[np.argsort(c[tuple(candidates.T)], kind="stable")]
        for ci, cj in candidates:
            trial = hidden.copy()
            trial[ci, cj] = True
            if not determined(c, trial)[i, j]:
                hidden = trial
                break
        else:
            hidden[tuple(candidates[0])] = True
    return primary, hidden & ~primary


def _cell(count: int, known: int, *, primary: bool, complementary: bool, k: int,
          percent: bool) -> str:
    if primary:
        return f"<{k}"
    if complementary:
        return "suppressed"
    return f"{count} ({100 * count / known:.1f}%)" if percent and known else f"{count}"


def _categorical_rows(name: str, data: pd.DataFrame, columns: list[str],
                      small_count: int) -> list[BaselineRow]:
    values = data[name].astype("string")
    levels = sorted(values.dropna().unique().tolist())
    of = {col: values[data["column"] == col] if col != OVERALL else values for col in columns}
    counts = np.array([[int((of[col] == lev).sum()) for col in columns] for lev in levels]
                      + [[int(of[col].isna().sum()) for col in columns]], dtype=np.int64)
    primary, complementary = protect(counts, small_count)
    known = counts[:-1].sum(axis=0)
    rows = [BaselineRow(name, VARIABLES[name][0], "header", dict.fromkeys(columns, ""))]
    for i, lev in enumerate([*levels, None]):  # None = the Missing line
        if lev is None and not counts[i].any():
            continue  # no Missing line when nothing is missing
        cells = {col: _cell(int(counts[i, j]), int(known[j]), primary=bool(primary[i, j]),
                            complementary=bool(complementary[i, j]), k=small_count,
                            percent=lev is not None)
                 for j, col in enumerate(columns)}
        rows.append(BaselineRow(name, "Missing" if lev is None else str(lev),
                                "missing" if lev is None else "category", cells,
                                {col: int(counts[i, j]) for j, col in enumerate(columns)}))
    return rows


def baseline_table(cohort: Any, *, small_count: int = 1) -> BaselineTable:
    """Table 1: characteristics at the index transplant, by phenotype group and overall.

    Parameters
    ----------
    cohort
        A :class:`hsctms.model.Cohort`; patients without a transplant are not described.
    small_count
        Disclosure threshold: 1 (default) shows every count; 5 shows counts 1-4 as ``<5``
        (with complementary suppression and withheld medians; see the module docstring), as
        ``--suppress-small-counts`` does for a table that leaves the centre.

    Returns
    -------
    BaselineTable
        The printed table, its column sizes, footnotes and provenance.
    """
    small_count = check_small_count(small_count)
    with cohort.data_source():
        return _table(baseline_characteristics(cohort), small_count)


def _table(data: pd.DataFrame, small_count: int) -> BaselineTable:
    groups = [g for g in dict.fromkeys(PHENOTYPE_COLUMNS.values())
              if (data["column"] == g).any()]
    if (data["column"] == "Unknown phenotype").any():
        groups.append("Unknown phenotype")
    k = max(small_count, 1)
    notes = list(FOOTNOTES)
    if any(int((data["column"] == g).sum()) < k for g in groups):
        # a small group would be recoverable as the overall column minus the others
        notes.append(f"Columns by phenotype group are not shown: a group has fewer than {k} "
                     "patients.")
        groups = []
    columns = [*groups, OVERALL]
    sizes = {c: int((data["column"] == c).sum()) if c != OVERALL else len(data) for c in columns}
    n: dict[str, int | str] = {c: (f"<{k}" if 0 < s < k else s) for c, s in sizes.items()}
    rows: list[BaselineRow] = []
    for name, (label, kind) in VARIABLES.items():
        if kind == "categorical":
            rows += _categorical_rows(name, data, columns, k)
            continue
        rows += _continuous_rows(name, label, data, columns, k)
    prov = Provenance("baseline_table", {"window_days": WINDOW_DAYS, "small_count": small_count,
                                         "columns": "phenotype group"}, n=len(data))
    return BaselineTable(tuple(columns), n, tuple(rows), small_count, tuple(notes), prov,
                         data=data)


def _continuous_rows(name: str, label: str, data: pd.DataFrame, columns: list[str],
                     k: int) -> list[BaselineRow]:
    def of(c: str) -> pd.Series:
        return data[name] if c == OVERALL else data.loc[data["column"] == c, name]

    rows = [BaselineRow(name, label, "continuous", {c: _continuous(of(c), k) for c in columns})]
    miss = np.array([[int(of(c).isna().sum()) for c in columns]], dtype=np.int64)
    if miss.any():
        primary, complementary = protect(miss, k)
        cells = {c: _cell(int(miss[0, j]), 0, primary=bool(primary[0, j]),
                          complementary=bool(complementary[0, j]), k=k, percent=False)
                 for j, c in enumerate(columns)}
        rows.append(BaselineRow(name, "Missing", "missing", cells,
                                {c: int(miss[0, j]) for j, c in enumerate(columns)}))
    return rows
