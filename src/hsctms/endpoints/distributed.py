"""Scale out: derive endpoints on a Dask dataframe of visits, one partition of patients at a time.

Results are independent across patients, so each partition of patients is derived on its own
with the engine of :func:`hsctms.endpoints.derive_frames`. hsctms partitions the data itself:

* the visits are split by a hash of the normalised patient identifier (``1``, ``1.0`` and
  ``"1"`` are one patient, as in the engine) into ``npartitions`` groups (a task-based
  shuffle, one split task per input partition);
* the small tables (relapses, MRI, origin, deaths, patients: pandas objects) are split by the
  same hash in the calling process, so each partition receives only the rows of its own
  patients (rows of patients without visits too: every row is validated exactly once).

With ``Partitioning(by_patient=True)`` the visits keep their partitions (no shuffle). The claim is
checked when :func:`derive_dask` is called: one pass over the ``patient_id`` column collects
the patients of each partition (needed anyway to route the small tables), and a patient in two
partitions raises :class:`~hsctms.errors.ConfigurationError`.

Row numbers of validation issues are those of the whole tables: for the visits, the line in
``edss.compute().to_csv(index=False)`` (the partitions in order); for the pandas tables, the
line in ``frame.to_csv(index=False)``; exactly what ``derive_frames`` on the computed frames
reports.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hsctms._provenance import DataSource, Provenance, current_source, data_source
from hsctms.endpoints import _inputs as inp
from hsctms.endpoints.definition import EndpointDefinition, get_definition
from hsctms.endpoints.derive import DefinitionLike, _derive
from hsctms.endpoints.result import EndpointResult
from hsctms.errors import ConfigurationError, DataValidationError
from hsctms.io._issues import Issue, ValidationReport, make_issue
from hsctms.io.validate import parse_frame
from hsctms.model.schema import SCHEMA

#: The pandas tables split by patient, in the order :func:`_derive` takes them.
_SMALL: tuple[str, ...] = ("relapses", "mri", "origin", "deaths", "patients")

_ID_SPEC = dataclasses.replace(
    SCHEMA["edss"], columns=tuple(c for c in SCHEMA["edss"].columns if c.name == "patient_id"))

_HINT = ("Correct the rows named (for the visits, row = line in edss.compute().to_csv("
         "index=False), the first row being line 2; for the pandas tables, the line in "
         "frame.to_csv(index=False)); see docs/validation-rules.md for each rule.")

_Piece = tuple[pd.DataFrame, np.ndarray, int]
_Small = dict[str, tuple[Any, np.ndarray] | None]


# -- partitioning ------------------------------------------------------------------------------


def _patient_keys(ids: pd.Series) -> pd.Series:
    """Identifiers as the engine compares them (text; ``1``, ``1.0`` and ``"1"`` alike;
    blank or invalid ones as ``""``)."""
    typed, _ = parse_frame(_ID_SPEC, pd.DataFrame({"patient_id": ids.to_numpy()}))
    return typed["patient_id"].astype(object).fillna("").astype(str)


def _key_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Code of each row's distinct identifier (``-1``: blank) and the key of each code (only
    the distinct values are normalised)."""
    codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    keys = _patient_keys(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
    return np.asarray(codes, dtype=np.int64), keys.to_numpy(dtype=object)


def _buckets(ids: pd.Series, n: int) -> np.ndarray:
    """Partition (``0 .. n-1``) of each row, by a stable hash of its patient key."""
    if n == 1 or len(ids) == 0:
        return np.zeros(len(ids), dtype=np.int64)
    codes, keys = _key_codes(ids)
    per_key = np.append(pd.util.hash_array(keys) % np.uint64(n), np.uint64(0))
    return np.asarray(per_key[codes], dtype=np.int64)  # a blank id (code -1): partition 0


def _split_rows(frame: pd.DataFrame, bucket: np.ndarray, n: int
                ) -> list[tuple[pd.DataFrame, np.ndarray]]:
    """``frame`` cut into ``n`` pieces by ``bucket``, with the positions of their rows."""
    order = np.argsort(bucket, kind="stable")
    ends = np.cumsum(np.bincount(bucket, minlength=n))
    starts = np.concatenate(([0], ends[:-1]))
    return [(frame.iloc[order[s:e]], order[s:e]) for s, e in zip(starts, ends, strict=True)]


def _split_visits(part: pd.DataFrame, n: int) -> list[_Piece]:
    """One input partition of visits cut into ``n`` pieces (each with its row positions and
    the length of the input partition, for line numbers)."""
    return [(f, pos, len(part)) for f, pos in _split_rows(part, _buckets(part["patient_id"], n),
                                                           n)]


def _pick(pieces: list[_Piece], j: int) -> _Piece:
    return pieces[j]


def _whole(part: pd.DataFrame) -> _Piece:
    return part, np.arange(len(part)), len(part)


def _keys_and_length(ids: pd.Series) -> tuple[np.ndarray, int]:
    return np.asarray(pd.unique(_key_codes(ids)[1]), dtype=object), len(ids)


def _locate(edss: Any) -> tuple[pd.Index, np.ndarray, list[int]]:
    """Patients of each partition (``Partitioning(by_patient=True)``): checked to be disjoint.

    Returns the patient keys, the partition of each and the length of every partition.
    """
    import dask
    from dask import delayed

    found = dask.compute(*[delayed(_keys_and_length)(p)
                           for p in edss["patient_id"].to_delayed()])
    keys = pd.Index(np.concatenate([k for k, _ in found]) if found else [], dtype=object)
    where = np.repeat(np.arange(len(found)), [len(k) for k, _ in found])
    dup = keys.duplicated(keep=False)
    if dup.any():
        split = pd.Series(where[dup], index=keys[dup]).groupby(level=0).unique()
        shown = "; ".join(f"{pid} in partitions {', '.join(map(str, parts))}"
                          for pid, parts in list(split.items())[:5])
        raise ConfigurationError(
            f"Partitioning(by_patient=True), but {len(split)} patient(s) have visits in more "
            f"than one partition ({shown}); their follow-up would be cut and they would be "
            "derived twice.",
            hint="Drop by_patient=True (partitioning=Partitioning(): hsctms then partitions "
                 "the visits by patient itself), or repartition so that each patient lies in "
                 "one partition.")
    return keys, where, [n for _, n in found]


def _small_tables(relapses: Any, mri: Any, origin: Any, deaths: Any, patients: Any
                  ) -> dict[str, pd.DataFrame | None]:
    if origin is not None and not isinstance(origin, pd.DataFrame):
        origin = inp._origin_frame(origin)[0]
    tables = {"relapses": relapses, "mri": mri, "origin": origin, "deaths": deaths,
              "patients": inp._patients_frame(patients)}
    for name, frame in tables.items():
        if frame is not None and not isinstance(frame, pd.DataFrame):
            raise ConfigurationError(f"derive_dask takes the {name} table as a pandas "
                                     "DataFrame.", hint="Compute it first (.compute()).")
        inp.require(frame, name, ("patient_id",))
    return tables


def _split_small(tables: dict[str, pd.DataFrame | None], n: int,
                 assign: Any) -> list[_Small]:
    """Each small table cut into ``n`` pieces by ``assign(ids)`` (partition of each row)."""
    token = uuid.uuid4().hex
    from dask import delayed

    out: list[_Small] = [{} for _ in range(n)]
    for name, frame in tables.items():
        if frame is None:
            for piece in out:
                piece[name] = None
            continue
        for j, (f, pos) in enumerate(_split_rows(frame, assign(frame["patient_id"]), n)):
            out[j][name] = (delayed(f, name=f"hsctms-{name}-{token}-{j}"), pos + 2)
    return out


# -- one partition -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """What one partition gives: the result or the report of its validation errors, and the
    report of its warnings (handed to the caller, not issued in the worker)."""

    result: EndpointResult | None
    report: ValidationReport | None
    n_visits: int
    warned: ValidationReport | None = None


def _derive_part(pieces: list[_Piece], base: int, small: dict[str, Any],
                 d: EndpointDefinition, source: DataSource, data_date: _dt.date | None,
                 brain_volume: bool) -> _Part:
    offsets = base + np.concatenate(([0], np.cumsum([n for _, _, n in pieces])[:-1]))
    edss = pd.concat([f for f, _, _ in pieces], ignore_index=True) if len(pieces) > 1 \
        else pieces[0][0]
    lines = {"edss": np.concatenate([o + pos + 2 for o, (_, pos, _) in
                                     zip(offsets, pieces, strict=True)]).astype(np.int64)}
    frames: dict[str, Any] = {}
    for name in _SMALL:
        got = small[name]
        frames[name] = None if got is None else got[0]
        if got is not None:
            lines[name] = np.asarray(got[1], dtype=np.int64)
    warned: list[ValidationReport] = []
    try:  # a worker does not share the caller's context: the source is stated again
        with data_source(synthetic=source.synthetic, data_date=source.data_date):
            res = _derive(edss, frames["relapses"], frames["mri"], frames["origin"],
                          frames["deaths"], d, patients=frames["patients"],
                          data_date=data_date, empty_ok=True, lines=lines,
                          brain_volume=brain_volume, on_warnings=warned.append)
    except DataValidationError as exc:
        return _Part(None, exc.report, len(edss))
    if len(res.dropped):  # rows not used (exclude_before): lines of the whole tables
        local = res.dropped["row"].to_numpy(dtype=np.int64) - 2
        whole = np.zeros(len(local), dtype=np.int64)
        for name in ("edss", "relapses"):
            at = (res.dropped["table"] == name).to_numpy()
            if at.any():
                whole[at] = lines[name][local[at]]
        res = dataclasses.replace(res, dropped=res.dropped.assign(row=whole))
    return _Part(res, None, len(edss), warned[0] if warned else None)


def _error(report: ValidationReport) -> DataValidationError:
    return DataValidationError(
        f"The endpoint inputs have {len(report.errors)} validation error(s) (nothing was "
        "derived):\n" + inp._quote(report.errors), report=report, hint=_HINT)


def _table(part: _Part, name: str, dtypes: dict[str, Any] | None = None) -> pd.DataFrame:
    """One table of a partition's result (raises the partition's validation errors; the
    per-patient table issues its warnings)."""
    if part.result is None:
        assert part.report is not None
        raise _error(part.report)
    if name == "frame" and part.warned is not None:
        warnings.warn(inp.input_warning(part.warned), stacklevel=2)
    out: pd.DataFrame = getattr(part.result, name)
    # the engine types the columns of an empty exclusion or dropped-rows table as object
    return out.astype(dtypes) if dtypes else out


# -- the result ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DaskEndpointResult:
    """Endpoints derived lazily on Dask: the tables of :class:`EndpointResult` as Dask frames.

    Parameters
    ----------
    frame
        Per-patient rows (as :meth:`EndpointResult.to_frame`), one Dask partition per
        partition of patients (rows in partition order, not sorted).
    events
        Confirmed worsening / improvement events (as :attr:`EndpointResult.events`).
    excluded
        Patients not derived, with the reason.
    dropped
        Input rows not used because of the definition (``exclude_before``), with their lines
        in the whole tables.
    definition
        The :class:`EndpointDefinition` used.
    provenance
        Method ``"hsctms.endpoints.derive_dask"``, definition, synthetic flag, data date,
        versions (``n`` is known after :meth:`compute`).
    has_brain_volume
        Whether the MRI table has brain volumes (then ``neda4_loss`` is derived).
    _parts
        Internal: the delayed per-partition derivations that :meth:`compute` runs (set by
        :func:`derive_dask`; not to be passed by users).
    _rows
        Internal: row count of every input table, for the validation report of
        :meth:`compute`.
    """

    frame: Any
    events: Any
    excluded: Any
    dropped: Any
    definition: EndpointDefinition
    provenance: Provenance
    has_brain_volume: bool = False
    _parts: tuple[Any, ...] = field(default=(), repr=False)
    _rows: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def npartitions(self) -> int:
        """Number of partitions of patients."""
        return len(self._parts)

    def to_frame(self) -> Any:
        """The lazy per-patient frame (:attr:`frame`).

        Returns
        -------
        dask.dataframe.DataFrame
            :attr:`frame` itself (not computed, not copied).
        """
        return self.frame

    def compute(self, **kwargs: Any) -> EndpointResult:
        """Compute every partition and gather an :class:`EndpointResult` equal to
        :func:`~hsctms.endpoints.derive_frames` on the same data (rows ordered as it orders
        them).

        Parameters
        ----------
        **kwargs
            Passed to :func:`dask.compute` (e.g. ``scheduler="processes"``).

        Returns
        -------
        EndpointResult
            The in-memory result: frames gathered from every partition, ``n`` set in the
            provenance.

        Raises
        ------
        DataValidationError
            With the issues of every partition in one report (rows of the whole tables).

        Warns
        -----
        InputWarning
            Once, with the warnings of every partition in its report.
        """
        import dask

        parts: tuple[_Part, ...] = dask.compute(*self._parts, **kwargs)
        n_visits = sum(p.n_visits for p in parts)
        issues: list[Issue] = [i for p in parts for r in (p.report, p.warned)
                               if r is not None for i in r.issues]
        if n_visits == 0:
            issues.append(make_issue(
                "edss-empty", "edss.csv", None, None,
                "The edss table has no rows: endpoints are derived from EDSS visits. Add the "
                "assessments, or check the query that built the Dask frame."))
        report = ValidationReport(issues, source="endpoint inputs",
                                  rows={**self._rows, "edss": n_visits})
        if not report.ok:
            raise _error(report)
        if report.warnings:
            warnings.warn(inp.input_warning(report), stacklevel=2)
        results = [p.result for p in parts if p.result is not None]
        frame = _by_patient([r.frame for r in results])
        events = _by_patient([r.events for r in results])
        excluded = _excluded([r.excluded for r in results])
        prov = dataclasses.replace(self.provenance, n=len(frame))
        return EndpointResult(frame=frame, events=events, excluded=excluded,
                              definition=self.definition, provenance=prov,
                              has_brain_volume=self.has_brain_volume,
                              dropped=_dropped([r.dropped for r in results]))

    def __repr__(self) -> str:
        return (f"<DaskEndpointResult definition={self.definition.name!r} "
                f"npartitions={self.npartitions}>")


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Rows of all partitions, with the dtypes of a single run: the engine builds its tables
    from arrays, and a text column is object-typed where it holds no text (an empty table, a
    partition without any value), so object columns are inferred again from the whole."""
    full = [f for f in frames if len(f)]
    if not full:
        return frames[0]
    out = pd.concat(full, ignore_index=True)
    for col in [c for c, t in out.dtypes.items() if pd.api.types.is_object_dtype(t)]:
        out[col] = pd.Series(out[col].to_numpy(dtype=object), index=out.index)
    return out


def _by_patient(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Rows of all partitions ordered by patient (stable: a patient's rows keep their order)."""
    out = _concat(frames)
    return out.sort_values("patient_id", kind="stable").reset_index(drop=True)


def _excluded(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Exclusions ordered as the engine lists them: by reason (in the order the engine checks
    them, merged over partitions), then by patient."""
    order: list[str] = []
    for f in frames:
        prev = -1
        for reason in pd.unique(f["reason"]):
            if reason in order:
                prev = order.index(reason)
            else:
                prev += 1
                order.insert(prev, reason)
    out = _concat(frames)
    rank = out["reason"].map({r: i for i, r in enumerate(order)})
    out = out.assign(_rank=rank).sort_values(["_rank", "patient_id"], kind="stable")
    return out.drop(columns="_rank").reset_index(drop=True)


def _dropped(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Rows not used, in the engine's order: the visits' then the relapses', by line."""
    out = _concat(frames)
    if not len(out):
        return out
    order = np.lexsort((out["row"].to_numpy(), (out["table"] != "edss").to_numpy()))
    return out.iloc[order].reset_index(drop=True)


# -- entry point ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partitioning:
    """How :func:`derive_dask` partitions the visits by patient. Validated on construction.

    Parameters
    ----------
    by_patient
        Every patient's visits already lie in one partition: they are not shuffled (default
        ``False``: hsctms partitions the visits by a hash of the patient id). Checked when
        :func:`derive_dask` is called (one pass over ``patient_id``); a patient in two
        partitions raises.
    npartitions
        Number of partitions of patients (default ``None``: those of the visits; with
        ``by_patient``, the partitions of the visits are kept, so only their number may be
        given).

    Raises
    ------
    ConfigurationError
        ``by_patient`` is not a bool or ``npartitions`` is not a positive integer.

    Examples
    --------
    >>> Partitioning(npartitions=8).to_dict()
    {'by_patient': False, 'npartitions': 8}
    """

    by_patient: bool = False
    npartitions: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.by_patient, (bool, np.bool_)):
            raise ConfigurationError(f"by_patient must be True or False (got "
                                     f"{self.by_patient!r}).",
                                     hint="Use Partitioning(by_patient=True) when every "
                                          "patient's visits lie in one partition.")
        object.__setattr__(self, "by_patient", bool(self.by_patient))
        n = self.npartitions
        if n is None:
            return
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigurationError(f"npartitions={n!r} is not a positive integer.",
                                     hint="Give a positive number of partitions, or None for "
                                          "those of the visits.")
        object.__setattr__(self, "npartitions", int(n))

    def to_dict(self) -> dict[str, Any]:
        """The partitioning as plain JSON types.

        Returns
        -------
        dict
            ``by_patient`` and ``npartitions`` (``None`` for the visits' partitions).
        """
        return {"by_patient": self.by_patient, "npartitions": self.npartitions}



def derive_dask(
    edss: Any,
    relapses: pd.DataFrame | None = None,
    mri: pd.DataFrame | None = None,
    origin: Any = None,
    deaths: pd.DataFrame | None = None,
    definition: DefinitionLike = "halt_ms",
    *,
    patients: Iterable[Any] | pd.DataFrame | None = None,
    data_date: _dt.date | None = None,
    partitioning: Partitioning | None = None,
) -> DaskEndpointResult:
    """Derive all endpoints from a Dask dataframe of visits, lazily, partition by partition.

    Parameters
    ----------
    edss
        ``dask.dataframe.DataFrame`` of visits (``patient_id``, ``date``, ``edss``).
    relapses, mri, origin, deaths, definition, patients, data_date
        As for :func:`~hsctms.endpoints.derive_frames` (pandas objects); each partition
        receives only the rows of its own patients.
    partitioning
        Whether the visits are already partitioned by patient, and the number of partitions
        (:class:`Partitioning`; default ``Partitioning()``: hsctms shuffles the visits by
        patient into as many partitions as ``edss`` has).

    Returns
    -------
    DaskEndpointResult
        Lazy ``frame``, ``events`` and ``excluded``; ``compute()`` gives the
        :class:`EndpointResult` of ``derive_frames`` on the same data.

    Raises
    ------
    ConfigurationError
        ``edss`` is not a Dask frame, a column is missing, or ``partitioning`` does not fit
        the visits (``by_patient`` but a patient lies in two partitions, or another number of
        partitions than the visits').
    DataValidationError
        When computed: the inputs break a validation rule (as ``derive_frames``; rows are
        lines of the whole tables, see the module docstring).

    Examples
    --------
    Not run as a doctest (it needs the optional ``dask`` extra and registry frames):

    >>> import dask.dataframe as dd                                   # doctest: +SKIP
    >>> lazy = derive_dask(dd.from_pandas(visits, npartitions=4), relapses,
    ...                    definition="msprog_default")                # doctest: +SKIP
    >>> res = lazy.compute(scheduler="processes")  # an EndpointResult  # doctest: +SKIP
    """
    try:
        import dask.dataframe as dd
        from dask import delayed
    except ImportError:  # pragma: no cover - optional extra
        raise ConfigurationError("Dask is not installed.",
                                 hint="pip install 'hsctms[dask]'") from None
    if not isinstance(edss, dd.DataFrame):
        raise ConfigurationError("derive_dask needs a dask.dataframe.DataFrame of visits.",
                                 hint="Use derive_frames for pandas data.")
    part = partitioning if partitioning is not None else Partitioning()
    by_patient, npartitions = part.by_patient, part.npartitions
    d = get_definition(definition)
    used = inp.USED["edss"] if d.outcome == "edss" else tuple(
        c.name for c in inp.visit_spec(d.outcome).columns)
    inp.require(edss._meta, "edss" if d.outcome == "edss" else "visits", used)
    edss = edss[list(used)]  # only the columns the engine reads are read and shipped
    if by_patient and npartitions is not None and npartitions != edss.npartitions:
        raise ConfigurationError(
            f"npartitions={npartitions} is not possible here (the visits have "
            f"{edss.npartitions} partitions, kept with Partitioning(by_patient=True)).",
            hint="Leave npartitions=None, or repartition the visits yourself when they are "
                 "already partitioned by patient.")
    if d.origin == "transplant" and origin is None:
        raise ConfigurationError(
            f"Definition {d.name!r} measures time from the transplant but no origin was given.",
            hint="Pass origin=DataFrame(patient_id, origin_date), or use a definition with "
                 "origin='first_visit'.")
    tables = _small_tables(relapses, mri, origin, deaths, patients)
    mri_frame = tables["mri"]
    brain = bool(mri_frame is not None and "brain_volume" in mri_frame.columns
                 and mri_frame["brain_volume"].notna().any())
    source = current_source()
    common = (d, source, data_date, brain)
    sources = edss.to_delayed()
    if by_patient:
        keys, where, lengths = _locate(edss)
        n = len(sources)

        def assign(ids: pd.Series) -> np.ndarray:
            codes, key_of_code = _key_codes(ids)
            at = keys.get_indexer(key_of_code)
            hashed = pd.util.hash_array(key_of_code) % np.uint64(n) if len(key_of_code) \
                else np.zeros(0, dtype=np.uint64)
            part = np.where(at >= 0, where[np.maximum(at, 0)], hashed.astype(np.int64))
            return np.asarray(np.append(part, 0)[codes], dtype=np.int64)

        small = _split_small(tables, n, assign)
        bases = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(int)
        parts = [delayed(_derive_part)([delayed(_whole)(src)], int(bases[k]), small[k], *common)
                 for k, src in enumerate(sources)]
    else:
        n = int(npartitions or edss.npartitions)
        small = _split_small(tables, n, lambda ids: _buckets(ids, n))
        splits = [delayed(_split_visits)(src, n) for src in sources]
        parts = [delayed(_derive_part)([delayed(_pick)(s, j) for s in splits], 0, small[j],
                                       *common) for j in range(n)]
    empty = _derive_part([_whole(edss._meta)], 0,
                         {k: None if v is None else (v.iloc[:0], np.zeros(0, dtype=np.int64))
                          for k, v in tables.items()}, *common)
    assert empty.result is not None
    # a text column of the engine is object-typed when it holds no text (e.g. an empty
    # partition): the lazy tables type them as text throughout
    dtypes: dict[str, dict[str, Any]] = {
        name: {c: "str" for c, t in getattr(empty.result, name).dtypes.items()
               if pd.api.types.is_object_dtype(t)}
        for name in ("frame", "events", "excluded")}
    dtypes["dropped"] = {"table": "str", "row": "int64", "patient_id": "str", "reason": "str",
                         "date": "datetime64[ns]" if inp.detect_calendar(edss._meta).datetime
                         else "float64"}
    lazy = {name: dd.from_delayed([delayed(_table)(p, name, dt) for p in parts],
                                  meta=getattr(empty.result, name).astype(dt))
            for name, dt in dtypes.items()}
    prov = Provenance(method="hsctms.endpoints.derive_dask", definition=d.to_dict(),
                      data_date=data_date.isoformat() if data_date else source.data_date)
    return DaskEndpointResult(frame=lazy["frame"], events=lazy["events"],
                              excluded=lazy["excluded"], dropped=lazy["dropped"],
                              definition=d, provenance=prov,
                              has_brain_volume=brain, _parts=tuple(parts),
                              _rows={k: len(v) for k, v in tables.items() if v is not None})
