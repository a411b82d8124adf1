"""The :class:`Cohort`: a registry's data as one pandas DataFrame per table.

A Cohort is the in-memory currency of hsctms. The CSV reader, the database layer and the
synthetic generator produce one; the endpoint engine and the reports consume one. Tables have
the columns of :data:`hsctms.model.schema.SCHEMA` with canonical dtypes:

* ``id``/``str``/``category`` columns: pandas string dtype;
* ``date`` columns: ``datetime64[ns]`` (NaT when blank);
* ``int`` columns: nullable ``Int64``; ``float``/``edss``: ``float64``; ``bool``: ``boolean``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from hsctms._provenance import DataSource, data_source
from hsctms.errors import ConfigurationError
from hsctms.model.regimens import RegimenMap, default_regimen_map
from hsctms.model.schema import SCHEMA, ColumnSpec, TableSpec

_DTYPES: dict[str, str] = {
    "id": "string",
    "str": "string",
    "category": "string",
    "date": "datetime64[ns]",
    "int": "Int64",
    "float": "float64",
    "edss": "float64",
    "bool": "boolean",
}


def dtype_for(column: ColumnSpec) -> str:
    """Canonical pandas dtype of a schema column."""
    return _DTYPES[column.type]


def empty_table(spec: TableSpec) -> pd.DataFrame:
    """An empty DataFrame with the table's columns and canonical dtypes."""
    return pd.DataFrame({c.name: pd.Series(dtype=dtype_for(c)) for c in spec.columns})


def conform(spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the table's columns (missing optional ones added as NA), in schema
    order, cast to canonical dtypes. Extra columns are kept after the schema columns.

    Raises
    ------
    ConfigurationError
        If a required column is missing (typed data must already be complete; raw files go
        through :mod:`hsctms.io` validation instead).
    """
    missing = [c for c in spec.required_columns if c not in frame.columns]
    if missing:
        raise ConfigurationError(
            f"Table {spec.name!r} lacks required column(s) {missing}.",
            hint=f"Required columns of {spec.filename}: {', '.join(spec.required_columns)}.",
        )
    out: dict[str, Any] = {}
    n = len(frame)
    for col in spec.columns:
        dtype = dtype_for(col)
        if col.name in frame.columns:
            series = frame[col.name]
            if dtype.startswith("datetime64"):
                series = pd.Series(pd.to_datetime(series), dtype="datetime64[ns]")
            elif str(series.dtype) != dtype:
                series = series.astype(dtype)
            out[col.name] = series.reset_index(drop=True)
        else:
            out[col.name] = pd.Series(index=range(n), dtype=dtype)
    extras = [c for c in frame.columns if not spec.has_column(c)]
    for name in extras:
        out[name] = frame[name].reset_index(drop=True)
    return pd.DataFrame(out)


@dataclass
class Cohort:
    """A registry's data: one DataFrame per table of :data:`~hsctms.model.schema.SCHEMA`.

    Parameters
    ----------
    tables
        Mapping of table name to DataFrame. Missing tables are created empty.
    synthetic
        True when the data are synthetic demo data; every output derived from the cohort says so.
    data_date
        Date the data were frozen or extracted (follow-up is administratively censored there).
    source
        Where the data came from (a directory, a database URL without password, "generator").
    regimen_map
        Map from recorded conditioning regimen to intensity class.

    Examples
    --------
    >>> import pandas as pd
    >>> c = Cohort.from_frames(patients=pd.DataFrame({"patient_id": ["P1"], "centre": ["A"],
    ...     "sex": ["F"], "birth_year": [1985], "phenotype": ["RRMS"]}))
    >>> c.n_patients
    1
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    synthetic: bool = False
    data_date: _dt.date | None = None
    source: str | None = None
    regimen_map: RegimenMap = field(default_factory=default_regimen_map)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.tables) - set(SCHEMA))
        if unknown:
            raise ConfigurationError(
                f"Unknown table(s) {unknown}.", hint=f"Known tables: {', '.join(SCHEMA)}."
            )
        # a copy: the caller's mapping is not changed
        self.tables = {**self.tables, **{name: empty_table(spec) for name, spec in
                                         SCHEMA.items() if name not in self.tables}}

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_frames(
        cls,
        *,
        synthetic: bool = False,
        data_date: _dt.date | None = None,
        source: str | None = None,
        regimen_map: RegimenMap | None = None,
        **frames: pd.DataFrame,
    ) -> Cohort:
        """Build a cohort from already-typed frames, conforming columns and dtypes.

        Parameters
        ----------
        synthetic : bool, default False
            True when the data are synthetic demo data.
        data_date : datetime.date, optional
            Date the data were frozen or extracted (follow-up is administratively censored
            there).
        source : str, optional
            Where the data came from (a directory, a database URL without password,
            ``"generator"``).
        regimen_map : RegimenMap, optional
            Map from recorded conditioning regimen to intensity class (default: the EBMT
            convention, :func:`~hsctms.model.regimens.default_regimen_map`).
        **frames : pandas.DataFrame
            One frame per table, by schema table name (``patients=...``, ``edss=...``);
            missing optional columns are added as blank, columns are put in schema order and
            cast to the canonical dtypes, and tables not given are created empty.

        Returns
        -------
        Cohort
            The cohort with every schema table.

        Raises
        ------
        ConfigurationError
            A keyword is not a schema table name, or a frame lacks a required column.
        """
        tables = {}
        for name, frame in frames.items():
            if name not in SCHEMA:
                raise ConfigurationError(
                    f"Unknown table {name!r}.", hint=f"Known tables: {', '.join(SCHEMA)}."
                )
            tables[name] = conform(SCHEMA[name], frame)
        return cls(
            tables=tables,
            synthetic=synthetic,
            data_date=data_date,
            source=source,
            regimen_map=regimen_map or default_regimen_map(),
        )

    # -- accessors ----------------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame:
        """The DataFrame of table ``name``.

        Parameters
        ----------
        name : str
            Schema table name (``"patients"``, ``"edss"``, ``"relapses"``, ...).

        Returns
        -------
        pandas.DataFrame
            The table itself (not a copy): the schema's columns with canonical dtypes.

        Raises
        ------
        ConfigurationError
            ``name`` is not a schema table.
        """
        try:
            return self.tables[name]
        except KeyError:
            raise ConfigurationError(
                f"Unknown table {name!r}.", hint=f"Known tables: {', '.join(SCHEMA)}."
            ) from None

    @property
    def patients(self) -> pd.DataFrame:
        """Table ``patients``."""
        return self.tables["patients"]

    @property
    def edss(self) -> pd.DataFrame:
        """Table ``edss``."""
        return self.tables["edss"]

    @property
    def relapses(self) -> pd.DataFrame:
        """Table ``relapses``."""
        return self.tables["relapses"]

    @property
    def mri(self) -> pd.DataFrame:
        """Table ``mri``."""
        return self.tables["mri"]

    @property
    def transplants(self) -> pd.DataFrame:
        """Table ``transplants``."""
        return self.tables["transplants"]

    @property
    def deaths(self) -> pd.DataFrame:
        """Table ``deaths``."""
        return self.tables["deaths"]

    @property
    def n_patients(self) -> int:
        """Number of patients."""
        return len(self.tables["patients"])

    @property
    def patient_ids(self) -> pd.Index:
        """Patient identifiers in table order."""
        return pd.Index(self.tables["patients"]["patient_id"])

    def row_counts(self) -> dict[str, int]:
        """Number of rows in each table.

        Returns
        -------
        dict of str to int
            Table name to row count, for every schema table.
        """
        return {name: len(df) for name, df in self.tables.items()}

    # -- derived views ------------------------------------------------------------------
    def transplants_with_intensity(self) -> pd.DataFrame:
        """Transplants with an added ``intensity`` column derived from ``conditioning``.

        Returns
        -------
        pandas.DataFrame
            A copy of ``transplants`` plus ``intensity`` (string dtype: ``"low"``,
            ``"intermediate"``, ``"high"``, or missing when :attr:`regimen_map` does not
            recognise the regimen).
        """
        out = self.transplants.copy()
        out["intensity"] = self.regimen_map.classify_many(out["conditioning"]).astype("string")
        return out

    def index_transplant(self) -> pd.DataFrame:
        """The first transplant of each patient (the usual time origin), with intensity.

        Returns
        -------
        pandas.DataFrame
            One row per patient with at least one transplant (the earliest
            ``transplant_date``), sorted by ``patient_id``, with the columns of
            :meth:`transplants_with_intensity`; patients without a transplant are absent.
        """
        tx = self.transplants_with_intensity().sort_values(["patient_id", "transplant_date"])
        return tx.drop_duplicates("patient_id", keep="first").reset_index(drop=True)

    def baseline_table(self) -> pd.DataFrame:
        """One row per patient with demographics and index-transplant characteristics:
        ``age_at_transplant``, ``disease_duration`` (years from onset), ``intensity``.

        Returns
        -------
        pandas.DataFrame
            The ``patients`` columns, in patient order, plus the index transplant's
            ``transplant_date``, ``conditioning`` and ``intensity``, ``age_at_transplant``
            (``Int64``, years: calendar year of the transplant minus ``birth_year``) and
            ``disease_duration`` (``float64``, years of 365.25 days from ``onset_date``).
            Transplant columns are missing for patients without a transplant.
        """
        tx = self.index_transplant()[["patient_id", "transplant_date", "conditioning",
                                      "intensity"]]
        out = self.patients.merge(tx, on="patient_id", how="left")
        year = out["transplant_date"].dt.year
        out["age_at_transplant"] = (year - out["birth_year"]).astype("Int64")
        out["disease_duration"] = (
            (out["transplant_date"] - out["onset_date"]).dt.days / 365.25
        ).astype("float64")
        return out

    def subset(self, patient_ids: Iterable[str]) -> Cohort:
        """A cohort restricted to the given patients (all tables filtered).

        Parameters
        ----------
        patient_ids : iterable of str
            Patient identifiers to keep; identifiers not in the cohort are ignored.

        Returns
        -------
        Cohort
            A new cohort with the rows of these patients in every table (in their original
            order, re-indexed from 0) and the same ``synthetic``, ``data_date``, ``source``
            and regimen map.
        """
        keep = set(patient_ids)
        tables = {
            name: df[df["patient_id"].isin(keep)].reset_index(drop=True)
            for name, df in self.tables.items()
        }
        return replace(self, tables=tables)

    # -- reporting ----------------------------------------------------------------------
    def data_source(self) -> AbstractContextManager[DataSource]:
        """State this cohort as the source of every result computed inside a ``with`` block.

        Returns
        -------
        contextlib.AbstractContextManager
            ``with cohort.data_source(): ...`` records the cohort's ``synthetic`` flag and
            ``data_date`` in the provenance of each result made in the block (see
            :func:`hsctms._provenance.data_source`).
        """
        return data_source(synthetic=bool(self.synthetic), data_date=self.data_date)

    @property
    def summary(self) -> str:
        """One-paragraph human-readable description."""
        label = " (SYNTHETIC demo data)" if self.synthetic else ""
        counts = ", ".join(f"{k}={v}" for k, v in self.row_counts().items())
        return f"Cohort of {self.n_patients} patients{label}; rows: {counts}."

    def to_dict(self) -> dict[str, Any]:
        """Metadata (not the rows) as a JSON-serialisable mapping.

        Returns
        -------
        dict of str to Any
            ``n_patients``, ``rows`` (per table), ``synthetic``, ``data_date`` (ISO string or
            None), ``source`` and ``regimen_map`` (the map's name).
        """
        return {
            "n_patients": self.n_patients,
            "rows": self.row_counts(),
            "synthetic": self.synthetic,
            "data_date": self.data_date.isoformat() if self.data_date else None,
            "source": self.source,
            "regimen_map": self.regimen_map.name,
        }

    def __repr__(self) -> str:
        return f"<Cohort n_patients={self.n_patients} synthetic={self.synthetic}>"


def frames_equal(a: Mapping[str, pd.DataFrame], b: Mapping[str, pd.DataFrame]) -> bool:
    """Whether two sets of tables hold the same rows (order-insensitive, by natural key)."""
    for name, spec in SCHEMA.items():
        left = a[name].sort_values(list(spec.key)).reset_index(drop=True)
        right = b[name].sort_values(list(spec.key)).reset_index(drop=True)
        cols = list(spec.column_names)
        try:
            pd.testing.assert_frame_equal(left[cols], right[cols], check_dtype=False)
        except AssertionError:
            return False
    return True
