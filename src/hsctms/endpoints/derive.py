"""Derive every endpoint of a cohort: :func:`derive` (a :class:`~hsctms.model.Cohort`) and
:func:`derive_frames` (plain DataFrames, e.g. simulated trials).

Censoring (documented in ``docs/endpoints.md``): each endpoint is censored at the last
assessment informative for it; death is its own endpoint so analyses can treat it as a
competing event.

==============  ==========================================  ==================================
endpoint        event                                       censored at
==============  ==========================================  ==================================
worsening       onset of the first confirmed worsening      last EDSS visit
improvement     onset of the first confirmed improvement    last EDSS visit
relapse         first relapse onset after the origin        last EDSS visit
mri_activity    first active scan after ``mri_ignore_days`` last evaluable scan after it (else 0)
neda3_loss      earliest of worsening, relapse, MRI         earliest component censoring time
neda4_loss      NEDA-3 or brain volume loss                 earliest component censoring time
efs             earliest of ``efs_components``              earliest component censoring time
death           death                                       last contact of any kind
==============  ==========================================  ==================================
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hsctms._provenance import Provenance, current_source
from hsctms.endpoints import _inputs as inp
from hsctms.endpoints.change import increases, scale
from hsctms.endpoints.definition import EndpointDefinition, get_definition
from hsctms.endpoints.disability import (
    CLS_PIRA,
    CLS_RAW,
    KIND_CDI,
    KIND_CDW,
    EventArrays,
    FloatArray,
    IntArray,
    VisitData,
    _RelapseIndex,
    confirmed_events,
    filter_relapses,
    local_extrema,
)
from hsctms.endpoints.milestone import milestone_columns
from hsctms.endpoints.result import ENDPOINTS, EndpointResult
from hsctms.model.cohort import Cohort
from hsctms.model.regimens import RegimenMap
from hsctms.model.schema import SCHEMA

if TYPE_CHECKING:
    from hsctms.io.csvtext import CsvDialect

DefinitionLike = EndpointDefinition | str | dict[str, Any]


def derive(cohort: Any, definition: DefinitionLike = "halt_ms", *,
           on_warnings: Callable[[Any], None] | None = None) -> EndpointResult:
    """Derive all endpoints of a cohort.

    Parameters
    ----------
    cohort
        A :class:`hsctms.model.Cohort`.
    definition
        A preset name (``"halt_ms"``, ``"msbase"``, ``"msprog_default"``), a YAML/JSON file
        path, a mapping of fields, or an :class:`EndpointDefinition`.
    on_warnings
        Called with the validation report when the inputs have issues of severity
        ``warning``, instead of an :class:`InputWarning` being issued (default: the warning).

    Returns
    -------
    EndpointResult
        One row per patient (``to_frame()``), the events table, exclusions, provenance.

    Examples
    --------
    >>> from hsctms.endpoints import derive
    >>> res = derive(cohort, "halt_ms")          # doctest: +SKIP
    >>> res.to_frame()[["patient_id", "efs_time", "efs_event"]]  # doctest: +SKIP
    """
    d = _registry_definition(definition)
    origin = _cohort_origin(cohort, d)
    with cohort.data_source():  # the result records the cohort as its source
        return _derive(cohort.edss, cohort.relapses, cohort.mri, origin, cohort.deaths, d,
                       patients=cohort.patients, data_date=cohort.data_date,
                       on_warnings=on_warnings)


def _registry_definition(definition: DefinitionLike) -> EndpointDefinition:
    """The definition, refused when its outcome is not EDSS (a registry records EDSS)."""
    d = get_definition(definition)
    if d.outcome != "edss":
        from hsctms.errors import ConfigurationError

        raise ConfigurationError(
            f"Definition {d.name!r} uses outcome {d.outcome!r}, but a registry cohort records "
            "EDSS visits only.", hint="Use an EDSS definition, or call derive_frames with a "
            f"visits table holding a {scale(d).column!r} column.")
    return d


def _cohort_origin(cohort: Any, d: EndpointDefinition) -> pd.DataFrame | None:
    """The origin of each patient: the index transplant (None for another origin)."""
    if d.origin != "transplant":
        return None
    tx = cohort.index_transplant()
    return pd.DataFrame({"patient_id": tx["patient_id"], "origin_date": tx["transplant_date"]})


#: The bundle tables the endpoint engine reads (:func:`derive_bundle` validates these only).
ENGINE_TABLES: tuple[str, ...] = ("patients", "transplants", "edss", "relapses", "mri",
                                  "deaths")


@dataclass(frozen=True)
class BundleEndpoints:
    """The endpoints of a CSV bundle and the cohort they were derived from.

    Parameters
    ----------
    cohort
        The cohort of the tables read (:data:`ENGINE_TABLES`; the other tables are empty).
    result
        The endpoints.
    unchecked
        The tables of the bundle that were neither read nor validated.
    """

    cohort: Cohort
    result: EndpointResult
    unchecked: tuple[str, ...]


def derive_bundle(path: str | Path, definition: DefinitionLike = "halt_ms", *,
                  regimen_map: RegimenMap | None = None,
                  today: _dt.date | None = None,
                  dialect: CsvDialect | None = None) -> BundleEndpoints:
    """Read a CSV bundle, validate the tables the engine reads, and derive the endpoints.

    The tables of :data:`ENGINE_TABLES` (and those their rules need) are read and validated
    with every bundle rule, once: the engine takes the validated tables as they are. The
    result is the one of ``derive(load_bundle(path), definition)``, with the same warnings.

    Parameters
    ----------
    path
        Bundle directory.
    definition
        A preset name, a YAML/JSON file path, a mapping of fields, or an
        :class:`EndpointDefinition` (EDSS outcome).
    regimen_map
        Regimen map for intensity classes and the ``regimen-unknown`` rule (default EBMT).
    today
        Reference date for "in the future" (default: today).
    dialect
        How the CSV files are written when the user declares they are not standard bundle
        files (``--delimiter``, ``--decimal``, ``--date-format``), as for
        :func:`hsctms.io.load_bundle`; default: the bundle format. Never guessed.

    Returns
    -------
    BundleEndpoints
        The cohort, the endpoints and the tables not checked (``hsctms validate`` checks the
        whole bundle).

    Raises
    ------
    DataValidationError
        The tables read have a validation error (the report lists them all).

    Warns
    -----
    InputWarning
        For issues of severity ``warning`` in the engine's inputs (as :func:`derive`).
    """
    from hsctms.io.bundle import checked_tables, read_bundle_contents, refuse_errors

    d = _registry_definition(definition)
    contents = read_bundle_contents(path, regimen_map=regimen_map, today=today,
                                    tables=ENGINE_TABLES, dialect=dialect)
    refuse_errors(path, contents.report)
    cohort = contents.cohort(regimen_map)
    origin = _cohort_origin(cohort, d)
    with cohort.data_source():
        data = inp.loaded_inputs(contents, cohort, origin)
        result = _run(data, d, has_origin=origin is not None, data_date=cohort.data_date)
    scope = checked_tables(ENGINE_TABLES)
    return BundleEndpoints(cohort, result, tuple(n for n in SCHEMA if n not in scope))


def derive_frames(
    edss: pd.DataFrame,
    relapses: pd.DataFrame | None = None,
    mri: pd.DataFrame | None = None,
    origin: Any = None,
    deaths: pd.DataFrame | None = None,
    definition: DefinitionLike = "halt_ms",
    *,
    patients: Iterable[Any] | pd.DataFrame | None = None,
    data_date: _dt.date | None = None,
) -> EndpointResult:
    """Derive all endpoints from plain tables.

    The tables are validated first with the rules of the CSV bundle (EDSS on the Kurtzke
    grid, ISO dates or finite day numbers, no blank required cell, no duplicate visit, ...;
    see ``docs/validation-rules.md``): nothing is dropped or altered silently. Identifiers
    may be text or whole numbers; ``1``, ``1.0`` and ``"1"`` are the same patient.

    Parameters
    ----------
    edss
        Visits: ``patient_id``, ``date`` (calendar date or day number), ``edss``. At least
        one row.
    relapses
        ``patient_id``, ``onset_date`` (or ``date``).
    mri
        ``patient_id``, ``date``, ``new_t2``, ``gd_lesions`` and optionally ``brain_volume``.
    origin
        Origin per patient (needed when ``definition.origin == "transplant"``): a DataFrame
        with ``patient_id`` and ``origin_date`` (or ``transplant_date``), a Series or a mapping.
    deaths
        ``patient_id``, ``date``.
    definition
        Preset name, file, mapping or :class:`EndpointDefinition`.
    patients
        All patients (those without usable data are listed in ``excluded``): identifiers, or
        a patients table with ``patient_id`` and optionally ``onset_date``,
        ``diagnosis_date`` and ``birth_year`` (then visits and relapses before MS onset or
        diagnosis are reported). Rows of other patients are then an error
        (``patient-unknown``). Default: everyone in ``edss`` (and ``origin``); rows of other
        tables about patients without EDSS visits are not used.
    data_date
        Date the data were extracted: dates after it are errors. Recorded in the provenance
        (default: the data date of the :func:`hsctms._provenance.data_source` in force, which
        also says whether the data are synthetic).

    Returns
    -------
    EndpointResult

    Raises
    ------
    DataValidationError
        The inputs break a validation rule; ``report`` lists rule, table (``file``), row
        (the line in ``frame.to_csv(index=False)``, first row = 2), field and message.

    Warns
    -----
    InputWarning
        For issues of severity ``warning`` (e.g. ``date-before-onset``); ``report`` holds
        them.
    """
    return _derive(edss, relapses, mri, origin, deaths, definition, patients=patients,
                   data_date=data_date)


def _derive(edss: pd.DataFrame, relapses: pd.DataFrame | None, mri: pd.DataFrame | None,
            origin: Any, deaths: pd.DataFrame | None, definition: DefinitionLike, *,
            patients: Any = None, data_date: _dt.date | None = None,
            empty_ok: bool = False, lines: dict[str, IntArray] | None = None,
            brain_volume: bool | None = None, on_warnings: Any = None,
            validate: bool = True) -> EndpointResult:
    """:func:`derive_frames`; for one partition of :func:`~hsctms.endpoints.derive_dask`:
    ``empty_ok`` accepts an EDSS table without rows, ``lines`` numbers the rows of each table
    as in the whole table, ``brain_volume`` says whether the whole MRI table has brain volumes
    (default: whether ``mri`` has), ``on_warnings`` receives a report with warnings instead
    of an :class:`InputWarning` being issued; ``validate=False`` takes canonical tables as
    they are (:func:`~hsctms.endpoints._inputs.canonical_inputs`)."""
    d = get_definition(definition)
    if not validate and d.outcome == "edss":
        data = inp.canonical_inputs(edss, relapses, mri, origin, deaths, patients)
    else:
        data = inp.prepare(edss, relapses, mri, origin, deaths, patients, data_date=data_date,
                           empty_ok=empty_ok, outcome=d.outcome, lines=lines,
                           on_warnings=on_warnings)
    return _run(data, d, has_origin=origin is not None, data_date=data_date,
                brain_volume=brain_volume)


def _run(data: inp.Inputs, d: EndpointDefinition, *, has_origin: bool,
         data_date: _dt.date | None, brain_volume: bool | None = None) -> EndpointResult:
    """The engine on validated inputs (``has_origin``: an origin table was given)."""
    data, dropped = _exclude_before(data, d)
    cal = data.calendar
    sources: list[Any] = [data.edss["patient_id"]]
    if data.patients is not None:
        sources = [data.patients["patient_id"]]
    elif data.origin is not None:
        sources.append(data.origin["patient_id"])
    uni = inp.Universe.build(*sources)
    tables = _Tables.load(uni, cal, data.edss, data.relapses, data.mri, data.deaths,
                          column=scale(d).column, negate=not increases(d),
                          has_brain=brain_volume)
    org = inp.origin_days(data.origin, uni, cal)
    if d.origin == "transplant" and not has_origin:
        from hsctms.errors import ConfigurationError

        raise ConfigurationError(
            f"Definition {d.name!r} measures time from the transplant but no origin was given.",
            hint="Pass origin=DataFrame(patient_id, origin_date), or use a definition with "
                 "origin='first_visit'.")
    engine = _Engine(d, uni, cal, tables, org)
    return engine.run(data_date=data_date, dropped=dropped)


_DROPPED_COLUMNS = ["table", "row", "patient_id", "date", "reason"]


def _exclude_before(data: inp.Inputs, d: EndpointDefinition
                    ) -> tuple[inp.Inputs, pd.DataFrame]:
    """Drop visits and relapses dated before MS onset / diagnosis (``exclude_before``).

    Returns the inputs without those rows and the dropped rows (``table``, ``row`` = line in
    ``frame.to_csv(index=False)``, ``patient_id``, ``date``, ``reason``).
    """
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in _DROPPED_COLUMNS})
    if d.exclude_before == "none":
        return data, empty
    column = f"{d.exclude_before}_date"
    if data.patients is None or column not in data.patients.columns:
        from hsctms.errors import ConfigurationError

        raise ConfigurationError(
            f"Definition {d.name!r} excludes rows before MS {d.exclude_before} "
            f"(exclude_before: {d.exclude_before}) but no patients table with {column} was "
            "given.", hint=f"Pass patients=DataFrame(patient_id, {column}), or set "
                           "exclude_before: none.")
    cal = data.calendar
    limit = pd.Series(cal.to_days(data.patients[column], f"patients.{column}"),
                      index=data.patients["patient_id"].astype(str).to_numpy())
    limit = limit[~limit.index.duplicated()]
    parts, kept = [], {}
    for name, col in (("edss", "date"), ("relapses", "onset_date")):
        frame = getattr(data, name)
        if frame is None or len(frame) == 0:
            kept[name] = frame
            continue
        day = cal.to_days(frame[col], f"{name}.{col}")
        lim = limit.reindex(frame["patient_id"].astype(str).to_numpy()).to_numpy()
        drop = day < lim  # unknown onset (NaN): kept
        if drop.any():
            rows = frame.loc[drop]
            parts.append(pd.DataFrame({
                "table": "edss" if name == "edss" else "relapses",
                "row": np.flatnonzero(drop) + 2,
                "patient_id": rows["patient_id"].astype(str).to_numpy(),
                "date": rows[col].to_numpy(),
                "reason": f"before MS {d.exclude_before} "
                          f"({'EDSS' if name == 'edss' else 'relapse'}; exclude_before)"}))
        kept[name] = frame.loc[~drop].reset_index(drop=True)
    dropped = pd.concat(parts, ignore_index=True) if parts else empty
    return dataclasses.replace(data, edss=kept["edss"], relapses=kept["relapses"]), dropped


@dataclass
class _Tables:
    v_code: IntArray
    v_day: FloatArray
    v_val: FloatArray
    r_code: IntArray
    r_day: FloatArray
    m_code: IntArray
    m_day: FloatArray
    m_cols: dict[str, FloatArray]
    d_code: IntArray
    d_day: FloatArray
    has_brain: bool
    r_end: FloatArray  # relapse end days (NaN = not recorded)

    @classmethod
    def load(cls, uni: inp.Universe, cal: inp.Calendar, edss: pd.DataFrame,
             relapses: pd.DataFrame | None, mri: pd.DataFrame | None,
             deaths: pd.DataFrame | None, *, column: str = "edss",
             negate: bool = False, has_brain: bool | None = None) -> _Tables:
        v_code, v_day, v_val = inp.visits(edss, uni, cal, column)
        if negate:  # a decreasing outcome: the engine always looks for increases
            v_val = -v_val
        r_code, r_day, r_cols = inp.dated_rows(relapses, "relapses", "onset_date", uni, cal,
                                               {"end": "end_date"})
        extra = {"new_t2": "new_t2", "gd": "gd_lesions"}
        if has_brain is None:
            has_brain = (mri is not None and "brain_volume" in mri.columns
                         and bool(mri["brain_volume"].notna().any()))
        if has_brain:
            extra["bv"] = "brain_volume"
        m_code, m_day, m_cols = inp.dated_rows(mri, "mri", "date", uni, cal, extra)
        d_code, d_day, _ = inp.dated_rows(deaths, "deaths", "date", uni, cal)
        return cls(v_code, v_day, v_val, r_code, r_day, m_code, m_day, m_cols, d_code, d_day,
                   has_brain, r_cols["end"])


def _first_per_code(code: IntArray, values: FloatArray, n: int,
                    mask: np.ndarray | None = None) -> FloatArray:
    """First value per code of rows sorted by (code, day) (NaN when none)."""
    out = np.full(n, np.nan)
    if mask is not None:
        code, values = code[mask], values[mask]
    if code.size:
        u, i = np.unique(code, return_index=True)
        out[u] = values[i]
    return out


def _max_per_code(code: IntArray, values: FloatArray, n: int,
                  mask: np.ndarray | None = None) -> FloatArray:
    out = np.full(n, -np.inf)
    if mask is not None:
        code, values = code[mask], values[mask]
    np.maximum.at(out, code, values)
    out[np.isinf(out)] = np.nan
    return out


class _Engine:
    def __init__(self, d: EndpointDefinition, uni: inp.Universe, cal: inp.Calendar,
                 t: _Tables, origin: FloatArray) -> None:
        self.d, self.uni, self.cal, self.t, self.origin = d, uni, cal, t, origin
        self.excluded: list[tuple[str, str]] = []
        self._excluded_ids: set[str] = set()

    # -- baseline and visit selection ---------------------------------------------------
    def _select_visits(self) -> tuple[np.ndarray, FloatArray, np.ndarray]:
        """Kept-visit mask, origin per code, included-patient mask."""
        d, t, n = self.d, self.t, self.uni.n
        has_visit = np.bincount(t.v_code, minlength=n) > 0
        if d.origin == "first_visit":
            origin = _first_per_code(t.v_code, t.v_day, n)
            self._exclude(~has_visit, "no EDSS assessment")
            return np.ones(t.v_code.size, dtype=bool), origin, has_visit
        origin = self.origin
        no_origin = np.isnan(origin)
        self._exclude(no_origin, "no transplant recorded (the origin is the transplant date)")
        self._exclude(~no_origin & ~has_visit, "no EDSS assessment")
        allv = VisitData(t.v_code, t.v_day, t.v_val, n, t.r_code, t.r_day, self._ends)
        cb, ca = _RelapseIndex(allv).closest(t.v_code, t.v_day)
        ok = (cb >= d.relapse_to_bl[0]) & (ca >= d.relapse_to_bl[1]) & ~local_extrema(allv, d)
        o = origin[t.v_code]
        before = ok & (t.v_day <= o) & (t.v_day >= o - d.baseline_window_days)
        bl_idx = np.full(n, -1, dtype=np.int64)
        idx = np.flatnonzero(before)
        if idx.size:  # last per code: reverse order, take first
            u, i = np.unique(t.v_code[idx][::-1], return_index=True)
            bl_idx[u] = idx[::-1][i]
        if d.baseline_after_days > 0:
            after = ok & (t.v_day > o) & (t.v_day <= o + d.baseline_after_days)
            idx = np.flatnonzero(after)
            u, i = np.unique(t.v_code[idx], return_index=True)
            fill = bl_idx[u] < 0
            bl_idx[u[fill]] = idx[i[fill]]
        has_bl = bl_idx >= 0
        self._exclude(~no_origin & has_visit & ~has_bl,
                      f"no baseline EDSS within {d.baseline_window_days:g} days before the "
                      "transplant (outside relapse windows)")
        bl_day = np.full(n, np.nan)
        bl_day[has_bl] = t.v_day[bl_idx[has_bl]]
        keep = np.zeros(t.v_code.size, dtype=bool)
        keep[bl_idx[has_bl]] = True
        keep |= has_bl[t.v_code] & (t.v_day > np.fmax(o, bl_day[t.v_code]))
        return keep, origin, has_bl

    def _exclude(self, mask: np.ndarray, reason: str) -> None:
        for pid in self.uni.ids[np.flatnonzero(mask)]:
            if str(pid) not in self._excluded_ids:
                self._excluded_ids.add(str(pid))
                self.excluded.append((str(pid), reason))

    # -- main ---------------------------------------------------------------------------
    def run(self, *, data_date: _dt.date | None,
            dropped: pd.DataFrame | None = None) -> EndpointResult:
        d, t, n = self.d, self.t, self.uni.n
        keep, origin, included = self._select_visits()
        vd = VisitData(t.v_code[keep], t.v_day[keep], t.v_val[keep], n, t.r_code, t.r_day,
                       self._ends)
        vd = filter_relapses(vd, d.relapse_to_bl[0])
        ev = confirmed_events(vd, d, until="all" if d.events == "all" else "first")
        cols = self._endpoints(vd, ev, origin)
        cols.update(self._first_worsening(vd, ev))
        for extra in d.extra_conf_days:
            cols.update(self._other_confirmation(vd, origin, extra))
        if d.pira_raw_endpoints:
            cols.update(self._typed_endpoints(vd, origin))
        if d.milestones:  # value_milestone filters the relapses itself (relapse_to_event)
            cols.update(milestone_columns(VisitData(vd.code, vd.day, vd.value, n, t.r_code,
                                                    t.r_day), d, origin, sign=self._sign))
        frame = pd.DataFrame({"patient_id": pd.Series(self.uni.ids.to_numpy(dtype=object),
                                                      dtype="string"), **cols})
        frame = frame[included].reset_index(drop=True)
        events = self._events_table(vd, ev, origin, included)
        excluded = pd.DataFrame(self.excluded, columns=["patient_id", "reason"])
        prov = Provenance(method="hsctms.endpoints.derive", definition=d.to_dict(), n=len(frame),
                          data_date=data_date.isoformat() if data_date
                          else current_source().data_date)
        return EndpointResult(frame=frame, events=events, excluded=excluded, definition=d,
                              provenance=prov, has_brain_volume=t.has_brain,
                              dropped=dropped if dropped is not None
                              else pd.DataFrame(columns=_DROPPED_COLUMNS))

    @property
    def _ends(self) -> FloatArray | None:
        """Relapse end days for the engine (``relapse_end="use"``), else None."""
        return self.t.r_end if self.d.relapse_end == "use" else None

    @property
    def _sign(self) -> float:
        """+1, or -1 for a decreasing outcome (values were negated on entry)."""
        return 1.0 if increases(self.d) else -1.0

    def _first_worsening(self, vd: VisitData, ev: EventArrays) -> dict[str, Any]:
        """Per patient: the events of the events table by kind and class, and the first
        worsening's details.

        Counts are of the rows of the events table: with ``events: first`` each is 0 or 1;
        with ``events: all`` they count every confirmed event.
        """
        n, col, sign, cal = self.uni.n, scale(self.d).column, self._sign, self.cal
        listed = _is_first(ev) if self.d.events == "first" else np.ones(ev.n, dtype=bool)
        cdw = listed & (ev.kind == KIND_CDW)
        out: dict[str, Any] = {
            "worsening_count": np.bincount(ev.code[cdw], minlength=n).astype(np.int64),
            "improvement_count": np.bincount(ev.code[listed & (ev.kind == KIND_CDI)],
                                             minlength=n).astype(np.int64),
            "pira_count": np.bincount(ev.code[cdw & (ev.cls == CLS_PIRA)],
                                      minlength=n).astype(np.int64),
            "raw_count": np.bincount(ev.code[cdw & (ev.cls == CLS_RAW)],
                                     minlength=n).astype(np.int64),
        }
        sel = np.flatnonzero(_is_first(ev) & cdw)
        code = ev.code[sel]
        onset = np.full(n, -1, dtype=np.int64)
        onset[code] = ev.onset[sel]
        conf = np.full(n, -1, dtype=np.int64)
        conf[code] = ev.conf[sel]
        base = np.full(n, np.nan)
        base[code] = ev.baseline_value[sel] * sign
        cls = np.full(n, None, dtype=object)
        cls[code] = np.where(ev.cls[sel] == CLS_PIRA, "PIRA",
                             np.where(ev.cls[sel] == CLS_RAW, "RAW", "undetermined"))
        out.update({
            "worsening_date": cal.from_days(_take(vd.day, onset)),
            "worsening_class": pd.Series(cls, dtype="string").to_numpy(),
            f"worsening_{col}": _take(vd.value, onset) * sign,
            f"worsening_baseline_{col}": base,
            "worsening_confirmation_date": cal.from_days(_take(vd.day, conf)),
        })
        return out

    def _other_confirmation(self, vd: VisitData, origin: FloatArray, days: int
                            ) -> dict[str, Any]:
        """``worsening_<days>d`` / ``improvement_<days>d``: the first confirmed events with
        confirmation after ``days`` (``extra_conf_days``), everything else unchanged."""
        n = self.uni.n
        d = self.d.with_(conf_days=days, extra_conf_days=())
        ev = confirmed_events(vd, d, until="first")
        first = _is_first(ev)
        fu = np.fmax(_max_per_code(vd.code, vd.day, n) - origin, 0.0)
        out: dict[str, Any] = {}
        for name, kind in (("worsening", KIND_CDW), ("improvement", KIND_CDI)):
            sel = first & (ev.kind == kind)
            onset = np.full(n, np.nan)
            onset[ev.code[sel]] = vd.day[ev.onset[sel]]
            has = ~np.isnan(onset)
            out[f"{name}_{days}d_time"] = np.where(has, onset - origin, fu).astype(np.float64)
            out[f"{name}_{days}d_event"] = has.astype(np.int64)
        return out

    def _endpoints(self, vd: VisitData, ev: EventArrays, origin: FloatArray
                   ) -> dict[str, Any]:
        d, t, n = self.d, self.t, self.uni.n
        last_edss = _max_per_code(vd.code, vd.day, n)
        fu_edss = np.fmax(last_edss - origin, 0.0)
        bl = ev.initial_baseline
        bl_val = _take(vd.value, bl) * self._sign
        bl_day = _take(vd.day, bl)
        comp: dict[str, tuple[FloatArray, FloatArray]] = {}
        first = _is_first(ev)
        for name, kind in (("worsening", KIND_CDW), ("improvement", KIND_CDI)):
            sel = first & (ev.kind == kind)
            onset = np.full(n, np.nan)
            onset[ev.code[sel]] = vd.day[ev.onset[sel]]
            comp[name] = (onset - origin, fu_edss)
        rel_t = _first_per_code(t.r_code, t.r_day, n, t.r_day > origin[t.r_code])
        comp["relapse"] = (rel_t - origin, fu_edss)
        comp["mri_activity"], mri_cens, bv = self._mri(origin)
        contact = np.fmax.reduce([last_edss, _max_per_code(t.r_code, t.r_day, n),
                                  _max_per_code(t.m_code, t.m_day, n),
                                  _max_per_code(t.d_code, t.d_day, n)])
        fu_all = np.fmax(contact - origin, 0.0)
        death = _first_per_code(t.d_code, t.d_day, n)
        comp["death"] = (np.where(np.isnan(death), np.nan, np.maximum(death - origin, 0.0)),
                         fu_all)
        comp["neda3_loss"] = _composite(comp, ("worsening", "relapse", "mri_activity"))
        comp["efs"] = _composite(comp, d.efs_components)
        if t.has_brain:
            comp["brain_volume_loss"] = (bv, mri_cens)
            comp["neda4_loss"] = _composite(
                comp, ("worsening", "relapse", "mri_activity", "brain_volume_loss"))
        cols: dict[str, Any] = {
            "origin_date": self.cal.from_days(origin),
            f"baseline_{scale(d).column}": bl_val,
            "baseline_date": self.cal.from_days(bl_day),
            "followup_days": fu_all,
        }
        for name in (*ENDPOINTS, "neda4_loss"):
            if name not in comp:
                continue
            ev_time, cens = comp[name]
            has = ~np.isnan(ev_time)
            cols[f"{name}_time"] = np.where(has, ev_time, cens).astype(np.float64)
            cols[f"{name}_event"] = has.astype(np.int64)
        return cols

    def _typed_endpoints(self, vd: VisitData, origin: FloatArray) -> dict[str, Any]:
        """``pira`` / ``raw``: first worsening of that class (msprog firstPIRA / firstRAW)."""
        n = self.uni.n
        out: dict[str, Any] = {}
        for name, target in (("pira", CLS_PIRA), ("raw", CLS_RAW)):
            ev = confirmed_events(vd, self.d, until="cdw", target=target)
            sel = _is_first_of_class(ev, target)
            onset = np.full(n, np.nan)
            onset[ev.code[sel]] = vd.day[ev.onset[sel]]
            has = ~np.isnan(onset)
            last = _max_per_code(vd.code, vd.day, n)
            out[f"{name}_time"] = np.where(has, onset - origin,
                                           np.fmax(last - origin, 0.0)).astype(np.float64)
            out[f"{name}_event"] = has.astype(np.int64)
        return out

    def _mri(self, origin: FloatArray) -> tuple[tuple[FloatArray, FloatArray], FloatArray,
                                                FloatArray]:
        d, t, n = self.d, self.t, self.uni.n
        o = origin[t.m_code] if t.m_code.size else np.zeros(0)
        counted = t.m_day > o + d.mri_ignore_days
        new_t2, gd = t.m_cols["new_t2"], t.m_cols["gd"]
        evaluable = counted & (~np.isnan(new_t2) | (d.mri_count_gd & ~np.isnan(gd)))
        active = evaluable & ((np.nan_to_num(new_t2) >= d.mri_min_new_t2)
                              | (d.mri_count_gd & (np.nan_to_num(gd) > 0)))
        first = _first_per_code(t.m_code, t.m_day, n, active)
        cens = np.nan_to_num(np.fmax(_max_per_code(t.m_code, t.m_day, n, evaluable) - origin,
                                     0.0), nan=0.0)
        bv_event = np.full(n, np.nan)
        bv_cens = np.zeros(n)
        if t.has_brain:
            bv = t.m_cols["bv"]
            ok = counted & ~np.isnan(bv)
            ref_val = _first_per_code(t.m_code, bv, n, ok)
            ref_day = _first_per_code(t.m_code, t.m_day, n, ok)
            code = t.m_code
            years = (t.m_day - ref_day[code]) / 365.25
            with np.errstate(divide="ignore", invalid="ignore"):
                loss = (ref_val[code] - bv) / ref_val[code] * 100.0 / years
            lost = ok & (years > 0) & (loss > d.neda4_brain_loss_pct)
            bv_event = _first_per_code(code, t.m_day, n, lost) - origin
            bv_cens = np.nan_to_num(np.fmax(_max_per_code(code, t.m_day, n, ok) - origin, 0.0),
                                    nan=0.0)
        return (first - origin, cens), bv_cens, bv_event

    def _events_table(self, vd: VisitData, ev: EventArrays, origin: FloatArray,
                      included: np.ndarray) -> pd.DataFrame:
        keep = included[ev.code]
        if self.d.events == "first":
            keep &= _is_first(ev)
        idx = np.flatnonzero(keep)
        code = ev.code[idx]
        cal = self.cal

        onset, conf = ev.onset[idx], ev.conf[idx]
        last = vd.start[code] + vd.count[code] - 1
        cls = ev.cls[idx]
        labels = np.where(cls == CLS_PIRA, "PIRA", np.where(cls == CLS_RAW, "RAW",
                                                             "undetermined"))
        kind = ev.kind[idx]
        col, sign = scale(self.d).column, self._sign
        return pd.DataFrame({
            "patient_id": pd.Series(self.uni.ids.to_numpy(dtype=object)[code],
                                    dtype="string"),
            "event_type": np.where(kind == KIND_CDW, "worsening", "improvement"),
            "date": cal.from_days(vd.day[onset]),
            "time": vd.day[onset] - origin[code],
            col: vd.value[onset] * sign,
            "baseline_date": cal.from_days(vd.day[ev.baseline[idx]]),
            f"baseline_{col}": ev.baseline_value[idx] * sign,
            "confirmation_date": cal.from_days(_take(vd.day, conf)),
            f"confirmation_{col}": _take(vd.value, conf) * sign,
            "class": pd.Series(labels, dtype="string").where(kind == KIND_CDW),
            "pira_confirmation_date": cal.from_days(_take(vd.day, ev.pira_conf[idx])),
            "sustained_days": vd.day[ev.sust[idx]] - vd.day[onset],
            "sustained_to_last": ev.sust[idx] == last,
        })


def _is_first_of_class(ev: EventArrays, target: int) -> np.ndarray:
    """First detected worsening of class ``target`` per patient."""
    out = np.zeros(ev.n, dtype=bool)
    sel = np.flatnonzero((ev.kind == KIND_CDW) & (ev.cls == target))
    if sel.size:
        sel = sel[np.lexsort((ev.seq[sel], ev.code[sel]))]
        _, i = np.unique(ev.code[sel], return_index=True)
        out[sel[i]] = True
    return out


def _take(values: FloatArray, flat: IntArray) -> FloatArray:
    """``values[flat]`` with NaN where ``flat < 0``."""
    out = np.full(flat.shape, np.nan)
    ok = flat >= 0
    out[ok] = values[flat[ok]]
    return out


def _is_first(ev: EventArrays) -> np.ndarray:
    """Mask of the first *detected* event of each kind per patient (the earliest onset, except
    after a post-relapse re-baseline moved the search back)."""
    out = np.zeros(ev.n, dtype=bool)
    for kind in (KIND_CDW, KIND_CDI):
        sel = np.flatnonzero(ev.kind == kind)
        if sel.size:
            sel = sel[np.lexsort((ev.seq[sel], ev.code[sel]))]
            _, i = np.unique(ev.code[sel], return_index=True)
            out[sel[i]] = True
    return out


def _composite(comp: dict[str, tuple[FloatArray, FloatArray]], names: Iterable[str]
               ) -> tuple[FloatArray, FloatArray]:
    """Earliest observed component event; else the earliest component censoring time."""
    names = tuple(names)
    ev = np.fmin.reduce([comp[k][0] for k in names])
    cens = np.minimum.reduce([comp[k][1] for k in names])
    return ev, cens
