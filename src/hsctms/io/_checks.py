"""The cross-row and cross-table rules of validation, applied to whole typed columns.

Each rule computes one boolean mask over all rows at once; messages are then built only for
the flagged rows, from whole columns converted once (dates to ISO text with numpy), never by
looking cells up one at a time. The messages are exactly those documented in
``docs/validation-rules.md``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from hsctms.io._issues import Issue
from hsctms.io._parse import LINE
from hsctms.io.rules import rule
from hsctms.model.schema import LAB_TESTS, TableSpec

if TYPE_CHECKING:
    from hsctms.io.validate import ValidationContext

Mask = npt.NDArray[np.bool_]
Idx = npt.NDArray[np.intp]
#: Builds the messages of the flagged rows (positions ``idx``), in order.
Message = Callable[[Idx], list[str]]


def emit(spec: TableSpec, frame: pd.DataFrame, mask: Mask, rule_id: str,
         field_name: str | None, message: Message) -> list[Issue]:
    """One issue per flagged row; ``message`` receives the positions of all flagged rows."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    lines = frame[LINE].to_numpy()[idx].tolist()
    severity, filename = rule(rule_id).severity, spec.filename
    return [Issue(rule_id, severity, filename, int(line), field_name, text)
            for line, text in zip(lines, message(idx), strict=True)]


def b(series: pd.Series | npt.NDArray[Any]) -> Mask:
    """Boolean mask with NA treated as False."""
    if isinstance(series, pd.Series):
        return np.asarray(series.fillna(False), dtype=bool)
    return np.asarray(series, dtype=bool)


def iso(series: pd.Series, idx: Idx) -> list[str]:
    """ISO ``YYYY-MM-DD`` text of the (non-missing) dates at ``idx``."""
    if getattr(series.dtype, "tz", None) is not None:
        series = series.dt.tz_localize(None)
    days = series.to_numpy(dtype="datetime64[ns]")[idx].astype("datetime64[D]")
    out: list[str] = np.datetime_as_string(days, unit="D").tolist()
    return out


def at(series: pd.Series | npt.NDArray[Any], idx: Idx) -> list[Any]:
    """The values at ``idx`` as Python objects."""
    if isinstance(series, pd.Series):
        out: list[Any] = series.iloc[idx].tolist()
        return out
    return list(np.asarray(series)[idx].tolist())


def when(series: pd.Series, idx: Idx) -> list[str]:
    """Dates as ISO text, day numbers as ``day N``."""
    if series.dtype.kind == "M" or getattr(series.dtype, "tz", None) is not None:
        return iso(series, idx)
    return [f"day {float(v):g}" for v in at(series, idx)]


def _fmt(series: pd.Series, idx: Idx) -> list[str]:
    """Key values as text (dates as ISO)."""
    if series.dtype.kind == "M":
        return iso(series, idx)
    return [str(v) for v in at(series, idx)]


class Lookup:
    """Per-patient reference values (birth year, onset, diagnosis, death) for child rows.

    The patient ids of each table are factorised once (the tables are the same objects
    throughout one validation) and reused by every rule that needs them.
    """

    def __init__(self, patients: pd.DataFrame, deaths: pd.DataFrame) -> None:
        self.patients = patients.dropna(subset=["patient_id"]).drop_duplicates("patient_id")
        self.deaths = deaths.dropna(subset=["patient_id"]).drop_duplicates("patient_id")
        self._index = {"patients": pd.Index(self.patients["patient_id"]),
                       "deaths": pd.Index(self.deaths["patient_id"])}
        #: id(frame) -> (frame, codes, uniques, {which: positions}); the frame is held so
        #: that its id is not reused
        self._ids: dict[int, tuple[pd.DataFrame, npt.NDArray[np.intp], Any,
                                   dict[str, npt.NDArray[np.intp]]]] = {}

    def ids(self, f: pd.DataFrame) -> tuple[npt.NDArray[np.intp], Any]:
        """Codes (-1: missing) and distinct values of ``f["patient_id"]``."""
        entry = self._ids.get(id(f))
        if entry is None or entry[0] is not f:
            codes, uniques = pd.factorize(f["patient_id"])
            entry = (f, np.asarray(codes, dtype=np.intp), uniques, {})
            self._ids[id(f)] = entry
        return entry[1], entry[2]

    def _positions(self, f: pd.DataFrame, which: str) -> npt.NDArray[np.intp]:
        codes, uniques = self.ids(f)
        cache = self._ids[id(f)][3]
        if which not in cache:
            positions = np.append(self._index[which].get_indexer(uniques), -1)  # NA -> -1
            cache[which] = np.asarray(positions[codes], dtype=np.intp)
        return cache[which]

    def known(self, f: pd.DataFrame) -> Mask:
        """Whether the id of each row of ``f`` is a patient."""
        return np.asarray(self._positions(f, "patients") >= 0, dtype=bool)

    def get(self, f: pd.DataFrame, column: str) -> pd.Series:
        """Value of ``column`` (of patients, or ``death_date``) for each row of ``f``."""
        if column == "death_date":
            src, pos = self.deaths["date"], self._positions(f, "deaths")
        else:
            src, pos = self.patients[column], self._positions(f, "patients")
        return pd.Series(src.array.take(pos, allow_fill=True), index=f.index)


def _key_codes(spec: TableSpec, f: pd.DataFrame, ref: Lookup, rows: Mask
               ) -> npt.NDArray[np.int64] | None:
    """One integer per row of ``rows`` that is equal exactly when the natural keys are
    (None when the key space does not fit 63 bits)."""
    combined = np.zeros(int(rows.sum()), dtype=np.int64)
    space = 1
    for k in spec.key:
        if k == "patient_id":
            codes, uniques = ref.ids(f)
            size = len(uniques)
        else:
            col = f[k]
            values = col.to_numpy(dtype="datetime64[ns]").view(np.int64) \
                if col.dtype.kind == "M" else col
            codes, uniques = pd.factorize(values)
            size = len(uniques)
        space *= max(size, 1)
        if space >= 2**62:
            return None
        combined = combined * max(size, 1) + np.asarray(codes, dtype=np.int64)[rows]
    return combined


# -- rules -----------------------------------------------------------------------------------


def check_keys(spec: TableSpec, f: pd.DataFrame, ref: Lookup) -> list[Issue]:
    """``key-duplicate``: rows that repeat the natural key of an earlier row."""
    key = list(spec.key)
    complete = b(f[key].notna().all(axis=1))
    if not complete.any():
        return []
    combined = _key_codes(spec, f, ref, complete)
    if combined is None:  # pragma: no cover - more than 2**62 distinct keys
        sub = f.loc[complete, [*key, LINE]]
        dup = b(sub.duplicated(key, keep="first"))
    else:
        dup = b(pd.Series(combined).duplicated(keep="first"))
    if not dup.any():
        return []
    lines = pd.Series(f[LINE].to_numpy()[complete])
    first = (lines.groupby(combined, sort=False).transform("first") if combined is not None
             else f.loc[complete, [*key, LINE]].groupby(key, sort=False, dropna=True)[LINE]
             .transform("first")).to_numpy()
    mask = np.zeros(len(f), dtype=bool)
    positions = np.flatnonzero(complete)
    mask[positions[dup]] = True
    first_full = np.zeros(len(f), dtype=np.int64)
    first_full[positions] = first
    key_txt = ", ".join(key)

    def msg(idx: Idx) -> list[str]:
        cols = [_fmt(f[k], idx) for k in key]
        return [f"Duplicate {key_txt} ({', '.join(vals)}): already on line {line}. Each "
                f"{spec.name} row must be unique by {key_txt}."
                for vals, line in zip(zip(*cols, strict=True), first_full[idx].tolist(),
                                      strict=True)]

    return emit(spec, f, mask, "key-duplicate", key[-1], msg)


def check_dates(spec: TableSpec, f: pd.DataFrame, ref: Lookup, ctx: ValidationContext
                ) -> list[Issue]:
    """The calendar rules of every date column of one table."""
    issues: list[Issue] = []
    birth = ref.get(f, "birth_year")
    death = ref.get(f, "death_date") if spec.name != "deaths" else None
    for name in spec.columns_of_type("date"):
        issues += _check_date_column(spec, f, name, birth, death, ctx)
    return issues


def _check_date_column(spec: TableSpec, f: pd.DataFrame, name: str, birth: pd.Series,
                       death: pd.Series | None, ctx: ValidationContext) -> list[Issue]:
    today = ctx.today_ts
    d = f[name]
    pid = f["patient_id"]
    future = b(d > today)
    today_txt = today.date().isoformat()
    issues = emit(spec, f, future, "date-in-future", name,
                  lambda i: [f"{name} {t} is after today ({today_txt})." for t in iso(d, i)])
    if ctx.data_date is not None:
        data_txt = pd.Timestamp(ctx.data_date).date().isoformat()
        late = b(d > pd.Timestamp(ctx.data_date)) & ~future
        issues += emit(spec, f, late, "date-after-data-date", name,
                       lambda i: [f"{name} {t} is after the data date {data_txt} in "
                                  "bundle.json." for t in iso(d, i)])
    years = pd.Series(d.dt.year, dtype="Int64")
    early = b(years < birth.astype("Int64"))
    issues += emit(spec, f, early, "date-before-birth", name,
                   lambda i: [f"{name} {t} is before the birth year {y} of patient {p}."
                              for t, y, p in zip(iso(d, i), at(birth, i), at(pid, i),
                                                 strict=True)])
    if death is not None:
        after = b(d > death)
        issues += emit(spec, f, after, "event-after-death", name,
                       lambda i: [f"{name} {t} is after the death of patient {p} on {w}."
                                  for t, p, w in zip(iso(d, i), at(pid, i), iso(death, i),
                                                     strict=True)])
    return issues


def check_patients(spec: TableSpec, f: pd.DataFrame) -> list[Issue]:
    """``diagnosis-before-onset``."""
    dx, onset = f["diagnosis_date"], f["onset_date"]
    return emit(spec, f, b(dx < onset), "diagnosis-before-onset", "diagnosis_date",
                lambda i: [f"diagnosis_date {x} precedes onset_date {o}; check both dates."
                           for x, o in zip(iso(dx, i), iso(onset, i), strict=True)])


def _transplant_before(spec: TableSpec, f: pd.DataFrame, before: pd.Series, rule_id: str,
                       label: str) -> list[Issue]:
    tx, pid = f["transplant_date"], f["patient_id"]
    return emit(spec, f, b(tx < before), rule_id, "transplant_date",
                lambda i: [f"transplant_date {t} is before the {label} ({w}) of patient {p}."
                           for t, w, p in zip(iso(tx, i), iso(before, i), at(pid, i),
                                              strict=True)])


def _check_transplants(spec: TableSpec, f: pd.DataFrame, ref: Lookup,
                       ctx: ValidationContext) -> list[Issue]:
    issues: list[Issue] = []
    tx, pid, cond = f["transplant_date"], f["patient_id"], f["conditioning"]
    for column, rule_id, label in (("diagnosis_date", "transplant-before-diagnosis", "diagnosis"),
                                   ("onset_date", "transplant-before-onset", "onset")):
        issues += _transplant_before(spec, f, ref.get(f, column), rule_id, label)
    cls = ctx.regimen_map.classify_many(cond.astype(object))
    unknown = b(cond.notna() & cls.isna())
    map_name = ctx.regimen_map.name
    issues += emit(spec, f, unknown, "regimen-unknown", "conditioning",
                   lambda i: [f"Conditioning {c!r} is not recognised by the {map_name!r} "
                              "regimen map; intensity class unknown." for c in at(cond, i)])
    ok = b(pid.notna() & tx.notna())
    if ok.any():
        order = f.loc[ok].sort_values(["transplant_date", LINE])
        rank = order.groupby("patient_id", sort=False).cumcount()
        later = np.zeros(len(f), dtype=bool)
        later[order.index[rank.to_numpy() > 0].to_numpy()] = True
        issues += emit(spec, f, later, "transplant-multiple", "transplant_date",
                       lambda i: [f"Patient {p} has more than one transplant; {t} is not the "
                                  "index (first) transplant."
                                  for p, t in zip(at(pid, i), iso(tx, i), strict=True)])
    return issues


def _day_keys(codes: npt.NDArray[np.intp], dates: pd.Series) -> npt.NDArray[np.int64]:
    """One sortable integer per (patient code, day): code in the high bits."""
    days = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    return (codes.astype(np.int64) << 32) + (days + 2**31)


def _check_edss_near_relapse(spec: TableSpec, f: pd.DataFrame, relapses: pd.DataFrame,
                             ref: Lookup) -> list[Issue]:
    ok = b(f["patient_id"].notna() & f["date"].notna())
    if not ok.any() or not (relapses["patient_id"].notna()
                            & relapses["onset_date"].notna()).any():
        return []
    # the latest relapse onset on or before each visit of the same patient (searchsorted on
    # (patient, day) keys), flagged when at most 30 days before it; relapse ids are coded in
    # the visits' code space (ids without visits get codes of their own)
    v_codes, v_ids = ref.ids(f)
    r_codes, r_ids = ref.ids(relapses)
    mapped = pd.Index(v_ids).get_indexer(r_ids)
    fresh = mapped < 0
    mapped[fresh] = len(v_ids) + np.arange(int(fresh.sum()))
    keep = b(relapses["patient_id"].notna() & relapses["onset_date"].notna())
    visit_key = _day_keys(v_codes, f["date"])[ok]
    rel_key = np.sort(_day_keys(np.append(mapped, -1)[r_codes][keep],
                                relapses["onset_date"][keep]))
    pos = np.searchsorted(rel_key, visit_key, side="right") - 1
    prior = rel_key[np.maximum(pos, 0)]
    gap = visit_key - prior
    near = (pos >= 0) & (prior >> 32 == visit_key >> 32) & (gap <= 30)
    mask = np.zeros(len(f), dtype=bool)
    mask[np.flatnonzero(ok)[near]] = True
    onset_day = np.full(len(f), np.datetime64("NaT"), dtype="datetime64[D]")
    onset_day[np.flatnonzero(ok)[near]] = ((prior[near] & (2**32 - 1)) - 2**31).astype(
        "datetime64[D]")
    onset = pd.Series(onset_day.astype("datetime64[ns]"), index=f.index)
    d = f["date"]

    def msg(i: Idx) -> list[str]:
        days = ((d.to_numpy(dtype="datetime64[ns]")[i] - onset.to_numpy()[i])
                // np.timedelta64(1, "D")).tolist()
        return [f"EDSS on {t} is {n} day(s) after a relapse onset ({o}); endpoint "
                "definitions usually exclude it."
                for t, n, o in zip(iso(d, i), days, iso(onset, i), strict=True)]

    return emit(spec, f, mask, "edss-near-relapse", "date", msg)


def _check_labs(spec: TableSpec, f: pd.DataFrame) -> list[Issue]:
    test, unit = f["test"], f["unit"]
    # the rules depend on (test, unit) only: decide them once per distinct pair
    t_codes, t_uniques = pd.factorize(test)
    u_codes, u_uniques = pd.factorize(unit)
    t_all = np.append(np.asarray(t_uniques, dtype=object), [None])  # code -1 (NA) -> None
    u_all = np.append(np.asarray(u_uniques, dtype=object), [None])
    width = len(u_all)  # u_codes + 1 lies in 0..len(u_uniques)
    pair_codes, distinct = pd.factorize((t_codes.astype(np.int64) + 1) * width + u_codes + 1)
    d_t, d_u = distinct // width - 1, distinct % width - 1
    d_test = pd.Series(t_all[d_t], dtype=object)
    d_unit = pd.Series(u_all[d_u], dtype=object)
    d_expected = d_test.map(LAB_TESTS)
    d_bad = b(d_expected.notna() & d_unit.notna() & (d_unit != d_expected))
    d_unlisted = b(d_test.notna() & d_expected.isna())
    expected = pd.Series(np.asarray(d_expected.astype(object), dtype=object)[pair_codes],
                         index=f.index)
    bad_unit = d_bad[pair_codes]
    issues = emit(spec, f, bad_unit, "lab-unit-unexpected", "unit",
                  lambda i: [f"{t} in {u!r}; the usual unit is {e!r}. Values are not "
                             "converted: check them."
                             for t, u, e in zip(at(test, i), at(unit, i), at(expected, i),
                                                strict=True)])
    unlisted = d_unlisted[pair_codes]
    listed = ", ".join(LAB_TESTS)
    issues += emit(spec, f, unlisted, "lab-test-unknown", "test",
                   lambda i: [f"Test {t!r} is not one of {listed}; it is stored but not "
                              "analysed." for t in at(test, i)])
    return issues


def _check_pair(spec: TableSpec, f: pd.DataFrame, early: str, late: str) -> list[Issue]:
    """``dmt-stop-before-start`` and ``relapse-end-before-onset``: ``late`` < ``early``."""
    first, last = f[early], f[late]
    mask = b(last < first)
    if spec.name == "dmt":
        drug = f["drug"]
        return emit(spec, f, mask, "dmt-stop-before-start", "stop_date",
                    lambda i: [f"{g} stop_date {s} is before start_date {a}."
                               for g, s, a in zip(at(drug, i), iso(last, i), iso(first, i),
                                                  strict=True)])
    return emit(spec, f, mask, "relapse-end-before-onset", "end_date",
                lambda i: [f"Relapse end_date {e} is before its onset_date {o}."
                           for e, o in zip(when(last, i), when(first, i), strict=True)])


def check_child_specific(spec: TableSpec, f: pd.DataFrame,
                         tables: Mapping[str, pd.DataFrame], ref: Lookup,
                         ctx: ValidationContext) -> list[Issue]:
    """The rules of one child table (transplants, EDSS, DMT, relapses, MRI, labs)."""
    name = spec.name
    if name == "transplants":
        return _check_transplants(spec, f, ref, ctx)
    if name == "edss":
        return _check_edss_near_relapse(spec, f, tables["relapses"], ref)
    if name == "dmt":
        return _check_pair(spec, f, "start_date", "stop_date")
    if name == "relapses" and "end_date" in f.columns:
        return _check_pair(spec, f, "onset_date", "end_date")
    if name == "mri":
        mask = b(f["new_t2"].isna() & f["gd_lesions"].isna())
        d = f["date"]
        return emit(spec, f, mask, "mri-counts-missing", "new_t2",
                    lambda i: [f"MRI on {t} has neither new_t2 nor gd_lesions; it cannot "
                               "show or exclude activity." for t in iso(d, i)])
    if name == "labs":
        return _check_labs(spec, f)
    return []


def check_patient_known(spec: TableSpec, f: pd.DataFrame, ref: Lookup) -> list[Issue]:
    """``patient-unknown``."""
    pid = f["patient_id"]
    unknown = b(pid.notna()) & ~ref.known(f)
    return emit(spec, f, unknown, "patient-unknown", "patient_id",
                lambda i: [f"patient_id {p!r} is not in patients.csv." for p in at(pid, i)])


def when_text(value: Any) -> str:
    """A date as ISO text, a day number as ``day N``."""
    if isinstance(value, pd.Timestamp | _dt.date):
        return pd.Timestamp(value).date().isoformat()
    return f"day {float(value):g}"


#: Columns checked against the patient's onset and diagnosis dates, per table.
ONSET_CHECKED = {"edss": ("date", "EDSS assessment"), "relapses": ("onset_date", "Relapse"),
                 # the visit tables of the other outcome scales of the endpoint engine
                 "nhpt": ("date", "NHPT assessment"), "t25fw": ("date", "T25FW assessment"),
                 "sdmt": ("date", "SDMT assessment"), "outcome": ("date", "Assessment")}


def check_before_onset(spec: TableSpec, f: pd.DataFrame, ref: Lookup) -> list[Issue]:
    """``date-before-onset`` and ``date-before-diagnosis`` for EDSS visits and relapses."""
    if spec.name not in ONSET_CHECKED or ref.patients.empty:
        return []
    name, what = ONSET_CHECKED[spec.name]
    d, pid = f[name], f["patient_id"]
    issues: list[Issue] = []
    for column, rule_id, label in (("onset_date", "date-before-onset", "MS onset"),
                                   ("diagnosis_date", "date-before-diagnosis", "diagnosis")):
        ref_dates = ref.get(f, column)

        def message(i: Idx, ref_dates: pd.Series = ref_dates, label: str = label) -> list[str]:
            return [f"{what} on {t} is before the {label} ({w}) of patient {p}."
                    for t, w, p in zip(when(d, i), when(ref_dates, i), at(pid, i),
                                       strict=True)]

        issues += emit(spec, f, b(d < ref_dates), rule_id, name, message)
    return issues
