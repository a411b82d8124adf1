"""Registry monitoring: outcome curves, follow-up completeness, overdue follow-up, alerts and
the risk-adjusted centre comparison, with small-count suppression for everything that leaves
a centre. Used by the web dashboards (:mod:`hsctms.web.dashboard`, which only renders and
caches) and by ``hsctms monitor``.

Definitions (values from the monitoring schedule, :mod:`hsctms.analysis.monitoring_schedule`;
defaults of the bundled ``monitoring.yaml`` in brackets)
-------------------------------------------------------------------------------------------
* **Outcomes**: event-free survival (EFS: no relapse, no new MRI activity, no confirmed EDSS
  worsening, alive) and progression-free survival (PFS: no confirmed EDSS worsening), from the
  index transplant, derived by :func:`hsctms.endpoints.derive` with ``outcomes.definition``
  [``halt_ms``]; Kaplan-Meier (:func:`hsctms.survival.kaplan_meier`) with pointwise CIs of
  ``outcomes.level`` [0.95] and ``outcomes.conf_type`` [log-log], tabulated at
  ``outcomes.years`` [1-5].
* **Follow-up completeness**: Clark's completeness index C (Clark et al., *Lancet* 2002;
  359:1309) = observed person-time / potential person-time, where potential follow-up runs
  from the transplant to the reference date (or death) and observed follow-up to the last
  contact (the latest dated row of any table, or death).
* **Overdue follow-up**: alive transplanted patients without an EDSS assessment in the
  ``followup.edss_interval_days + followup.grace_days`` [365 + 30 = 395] days before the
  reference date.
* **Alerts**: lymphocytes below ``below`` [1.0 x10^9/L] at 12 months (the sample nearest
  ``target_day`` [365] within ``window_days`` [270-455]; cells/uL converted); a relapse with
  onset more than ``after_day`` [0] days after the transplant; MRI activity (at least
  ``min_new_t2`` [1] new/enlarging T2 or ``min_gd`` [1] Gd+ lesions) on a scan after the
  transplant.
* **Reference date**: the registry's data date (latest imported data freeze), else today.
* **Small counts** (:mod:`hsctms.analysis.monitoring_disclosure`): in everything the result
  gives out (:meth:`RegistryMonitoring.to_dict`, ``to_frame``, ``summary``) counts 1 to
  ``small_count - 1`` are shown as ``"<small_count"`` (provenance ``n`` included), Clark's C
  of a centre with fewer patients is blanked, curves need ``small_count`` patients, survival
  estimates with fewer at risk are blanked, and centres with fewer patients are left out of
  the comparison. ``small_count=1`` shows every count (output that stays in the centre).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hsctms._provenance import Provenance
from hsctms.analysis.funnel import Funnel, level_label
from hsctms.analysis.monitoring_disclosure import (
    check_small_count,
    disclose_provenance,
    suppress,
    suppress_many,
)
from hsctms.analysis.monitoring_schedule import ALERT_KINDS, MonitoringSchedule, load_schedule
from hsctms.errors import HsctmsError

if TYPE_CHECKING:  # pragma: no cover
    from hsctms.survival.km import KaplanMeier

#: Endpoints of the outcome curves: column prefix -> label.
ENDPOINTS: dict[str, str] = {"efs": "Event-free survival", "worsening": "Progression-free survival"}
_DATE_COLUMNS = {"relapses": "onset_date", "adverse_events": "onset_date",
                 "transplants": "transplant_date"}
ALERT_COLUMNS = ["patient_id", "centre", "kind", "date", "detail"]
RECORD_LIMIT = 200


def reference_date(cohort: Any) -> _dt.date:
    """The registry data date, else today."""
    return cohort.data_date or _dt.date.today()


def _last_contact(cohort: Any) -> pd.Series:
    parts = []
    for name in ("edss", "relapses", "mri", "labs", "adverse_events", "deaths", "transplants"):
        df = cohort.tables[name]
        col = _DATE_COLUMNS.get(name, "date")
        if len(df):
            parts.append(df[["patient_id", col]].rename(columns={col: "d"}))
    if not parts:
        return pd.Series(dtype="datetime64[ns]")
    return pd.concat(parts, ignore_index=True).groupby("patient_id")["d"].max()


def _lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``values`` (unique index) looked up for ``keys`` (NaT when absent)."""
    values = values[~values.index.duplicated()]
    out = values.reindex(keys.to_numpy())
    return pd.Series(pd.to_datetime(out.to_numpy()), index=keys.index)


def followup_table(cohort: Any, ref: _dt.date, overdue_days: int = 395) -> pd.DataFrame:
    """Follow-up of every transplanted patient.

    Parameters
    ----------
    cohort
        The registry cohort.
    ref
        Reference date.
    overdue_days
        Alive patients without an EDSS visit for longer are overdue (the schedule's
        :attr:`~MonitoringSchedule.overdue_days`).

    Returns
    -------
    pandas.DataFrame
        Per patient: ``centre``, ``potential_days``, ``observed_days``, ``last_edss``,
        ``alive``, ``days_since_edss``, ``overdue``.
    """
    tx = cohort.index_transplant()[["patient_id", "transplant_date"]]
    pts = cohort.patients[["patient_id", "centre"]].merge(tx, on="patient_id", how="inner")
    ref_ts = pd.Timestamp(ref)
    deaths = cohort.tables["deaths"]
    death = deaths.set_index("patient_id")["date"] if len(deaths) else \
        pd.Series(dtype="datetime64[ns]")
    pts["death_date"] = _lookup(pts["patient_id"], death)
    end = pts["death_date"].where(pts["death_date"].notna() & (pts["death_date"] < ref_ts),
                                  ref_ts)
    last = _lookup(pts["patient_id"], _last_contact(cohort))
    last = last.where(last < end, end)
    pts["potential_days"] = (end - pts["transplant_date"]).dt.days.clip(lower=0)
    pts["observed_days"] = (last - pts["transplant_date"]).dt.days.clip(lower=0)
    edss = cohort.tables["edss"]
    last_edss = edss.groupby("patient_id")["date"].max() if len(edss) else \
        pd.Series(dtype="datetime64[ns]")
    pts["last_edss"] = _lookup(pts["patient_id"], last_edss)
    pts["alive"] = pts["death_date"].isna()
    since = (ref_ts - pts["last_edss"].fillna(pts["transplant_date"])).dt.days
    pts["days_since_edss"] = since
    pts["overdue"] = pts["alive"] & (since > overdue_days)
    return pts


def completeness(fu: pd.DataFrame) -> pd.DataFrame:
    """Clark's C per centre, with the numbers of patients and of overdue patients.

    Parameters
    ----------
    fu
        The output of :func:`followup_table`.

    Returns
    -------
    pandas.DataFrame
        Columns ``centre``, ``patients``, ``observed``, ``potential``, ``overdue``,
        ``clark_c`` (NaN without potential follow-up).
    """
    g = fu.groupby("centre", sort=True).agg(
        patients=("patient_id", "size"), observed=("observed_days", "sum"),
        potential=("potential_days", "sum"), overdue=("overdue", "sum"))
    g["clark_c"] = np.where(g["potential"] > 0, g["observed"] / g["potential"].where(
        g["potential"] > 0, 1), np.nan)
    return g.reset_index()


def _lymphocyte_alerts(labs: pd.DataFrame, tx: pd.DataFrame,
                       schedule: MonitoringSchedule) -> pd.DataFrame | None:
    key = "alerts.lymphocytes_low_12m"
    test = str(schedule[f"{key}.test"]).lower()
    lo, hi = schedule[f"{key}.window_days"]
    ly = labs[labs["test"].astype(str).str.lower() == test].merge(tx, on="patient_id")
    ly = ly.assign(day=(ly["date"] - ly["transplant_date"]).dt.days)
    ly = ly[(ly["day"] >= lo) & (ly["day"] <= hi)]
    if not len(ly):
        return None
    value = ly["value"].astype(float)
    per_ul = ly["unit"].astype(str).str.lower().str.contains("ul|µl|mm3", regex=True)
    ly = ly.assign(v=np.where(per_ul, value / 1000.0, value),
                   dist=(ly["day"] - schedule[f"{key}.target_day"]).abs())
    ly = ly.sort_values(["patient_id", "dist", "date"]).drop_duplicates("patient_id")
    low = ly[ly["v"] < schedule[f"{key}.below"]]
    return pd.DataFrame({
        "patient_id": low["patient_id"], "kind": "lymphocytes_low_12m", "date": low["date"],
        "detail": [f"{test} {v:.2f} x10^9/L on day {d}" for v, d in
                   zip(low["v"], low["day"], strict=True)]})


def find_alerts(cohort: Any, schedule: MonitoringSchedule | None = None) -> pd.DataFrame:
    """Alerts per patient (see the module docstring), thresholds from ``schedule``.

    Parameters
    ----------
    cohort
        The registry cohort.
    schedule
        The monitoring schedule (default: the bundled one).

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id``, ``centre``, ``kind``, ``date``, ``detail``; newest first.
    """
    schedule = schedule or load_schedule()
    tx = cohort.index_transplant()[["patient_id", "transplant_date"]]
    centre = cohort.patients.set_index("patient_id")["centre"]
    out: list[pd.DataFrame] = []
    labs = cohort.tables["labs"]
    if len(labs):
        ly = _lymphocyte_alerts(labs, tx, schedule)
        if ly is not None:
            out.append(ly)
    rel = cohort.tables["relapses"].merge(tx, on="patient_id")
    after = pd.to_timedelta(schedule["alerts.relapse_after_hsct.after_day"], unit="D")
    rel = rel[rel["onset_date"] > rel["transplant_date"] + after]
    if len(rel):
        out.append(pd.DataFrame({"patient_id": rel["patient_id"], "kind": "relapse_after_hsct",
                                 "date": rel["onset_date"], "detail": "relapse after transplant"}))
    mri = cohort.tables["mri"].merge(tx, on="patient_id")
    t2, gd = mri["new_t2"].fillna(0), mri["gd_lesions"].fillna(0)
    active = (t2 >= schedule["alerts.mri_activity_after_hsct.min_new_t2"]) | (
        gd >= schedule["alerts.mri_activity_after_hsct.min_gd"])
    mri = mri[(mri["date"] > mri["transplant_date"]) & active]
    if len(mri):
        out.append(pd.DataFrame({
            "patient_id": mri["patient_id"], "kind": "mri_activity_after_hsct",
            "date": mri["date"],
            "detail": [f"{int(a)} new T2, {int(b)} Gd+" for a, b in
                       zip(mri["new_t2"].fillna(0), mri["gd_lesions"].fillna(0), strict=True)]}))
    if not out:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    alerts = pd.concat(out, ignore_index=True)
    alerts["patient_id"] = alerts["patient_id"].astype(str)
    alerts["centre"] = alerts["patient_id"].map(centre).astype(str)
    return alerts.sort_values(["date", "patient_id"], ascending=[False, True]).reset_index(
        drop=True)[ALERT_COLUMNS]


def _num(value: float) -> float | None:
    """Rounded finite number, else None (JSON has no NaN)."""
    v = float(value)
    return round(v, 4) if np.isfinite(v) else None



@dataclass(frozen=True)
class OutcomeCurves:
    """Kaplan-Meier curves of the monitoring outcomes (EFS and PFS) from the transplant.

    ``small_count`` is the disclosure threshold of :meth:`rows`, :meth:`to_dict` and the
    figure (no risk table under the curves while counts are suppressed).
    """

    definition: str
    level: float
    conf_type: str
    years: tuple[float, ...]
    fits: Mapping[str, KaplanMeier]
    small_count: int = 1

    @property
    def caption(self) -> str:
        """Figure caption, from the definition, level and CI transform actually used."""
        return (f"Kaplan-Meier estimates from the index transplant ({self.definition} "
                f"endpoint definitions), {level_label(self.level)}% {self.conf_type} CIs.")

    @property
    def ci_label(self) -> str:
        """``"95% CI"``: the level of the intervals."""
        return f"{level_label(self.level)}% CI"

    def rows(self) -> list[dict[str, Any]]:
        """Survival at each landmark year; counts below ``small_count`` suppressed and
        estimates with fewer patients at risk blanked."""
        rows: list[dict[str, Any]] = []
        for ep, fit in self.fits.items():
            for _, r in fit.survival_at(list(self.years)).iterrows():
                at_risk = int(r["n_risk"])
                show = self.small_count <= 1 or at_risk >= self.small_count
                rows.append({"endpoint": ep, "label": ENDPOINTS[ep], "year": _year(r["time"]),
                             "survival": _num(r["surv"]) if show else None,
                             "lower": _num(r["lower"]) if show else None,
                             "upper": _num(r["upper"]) if show else None,
                             "at_risk": suppress(at_risk, self.small_count),
                             "events": suppress(int(r["cum_events"]), self.small_count)})
        return rows

    def to_frame(self) -> pd.DataFrame:
        """:meth:`rows` as a table."""
        return pd.DataFrame(self.rows())

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"definition": self.definition, "level": self.level,
                "conf_type": self.conf_type, "years": list(self.years), "rows": self.rows()}

    @property
    def summary(self) -> str:
        """One line per endpoint and year."""
        lines = [f"Outcomes: {self.caption}"]
        for r in self.rows():
            est = "-" if r["survival"] is None else f"{100 * r['survival']:.1f}%"
            ci = "" if r["lower"] is None or r["upper"] is None else \
                f" ({100 * r['lower']:.1f}-{100 * r['upper']:.1f}%)"
            lines.append(f"  {r['label']}, year {r['year']}: {est}{ci}; at risk "
                         f"{r['at_risk']}, events {r['events']}")
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """EFS and PFS curves (risk table only when no count is suppressed)."""
        from hsctms.plots.km import plot_km

        data = list(self.fits.values())
        return plot_km(data, ax=ax, labels=[ENDPOINTS[k] for k in self.fits],
                       risk_table=self.small_count <= 1,
                       title="Event-free and progression-free survival",
                       xmax=min(10.0, max(float(f.time.max()) for f in data)))


def _year(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


@dataclass(frozen=True)
class RegistryMonitoring:
    """Result of :func:`monitor`: everything a monitoring view shows, disclosure-controlled in
    :attr:`summary`, :meth:`to_frame` and :meth:`to_dict` with :attr:`small_count`.

    The patient-level tables ``followup`` and ``alerts_table`` are for code inside the centre;
    :meth:`to_dict` lists patients (overdue, alerts) only when ``record_level`` is True.
    """

    scope: str
    reference_date: _dt.date
    small_count: int
    record_level: bool
    schedule: MonitoringSchedule
    n_patients: int
    followup: pd.DataFrame
    completeness_table: pd.DataFrame
    alerts_table: pd.DataFrame
    outcomes: OutcomeCurves | None = None
    funnel: Funnel | None = None
    notes: tuple[str, ...] = ()
    provenance: Provenance = field(default_factory=lambda: Provenance("registry_monitoring"))

    @property
    def n_transplanted(self) -> int:
        """Number of patients with an index transplant."""
        return len(self.followup)

    @property
    def alert_counts(self) -> dict[str, int]:
        """Patients with each kind of alert (not suppressed)."""
        a = self.alerts_table
        counts = a.groupby("kind")["patient_id"].nunique().to_dict() if len(a) else {}
        return {k: int(counts.get(k, 0)) for k in ALERT_KINDS}

    @property
    def completeness_caption(self) -> str:
        """Caption of the completeness table."""
        return ("Clark's completeness index C = observed / potential person-time since "
                "transplant (Clark et al., Lancet 2002).")

    @property
    def overdue_label(self) -> str:
        """``"no EDSS in 395 days"`` with the schedule's interval and grace."""
        return f"no EDSS in {self.schedule.overdue_days} days"

    def completeness_rows(self) -> list[dict[str, Any]]:
        """Clark's C and overdue patients per centre, disclosure-controlled."""
        sc = self.small_count
        return [{"centre": str(r["centre"]), "patients": suppress(int(r["patients"]), sc),
                 "clark_c": None if pd.isna(r["clark_c"]) or int(r["patients"]) < sc
                 else round(float(r["clark_c"]), 3),
                 "overdue": suppress(int(r["overdue"]), sc)}
                for _, r in self.completeness_table.iterrows()]

    def overdue_rows(self) -> list[dict[str, Any]]:
        """Overdue patients, longest first (empty unless ``record_level``)."""
        if not self.record_level:
            return []
        od = self.followup[self.followup["overdue"]].sort_values("days_since_edss",
                                                                 ascending=False)
        return [{"patient_id": str(r["patient_id"]), "centre": str(r["centre"]),
                 "last_edss": None if pd.isna(r["last_edss"])
                 else r["last_edss"].date().isoformat(),
                 "days_since_edss": int(r["days_since_edss"])}
                for _, r in od.head(RECORD_LIMIT).iterrows()]

    def alert_rows(self) -> list[dict[str, Any]]:
        """Alerts, newest first (empty unless ``record_level``)."""
        if not self.record_level:
            return []
        return [{"patient_id": r["patient_id"], "centre": r["centre"], "kind": r["kind"],
                 "date": r["date"].date().isoformat(), "detail": r["detail"]}
                for _, r in self.alerts_table.head(RECORD_LIMIT).iterrows()]

    def to_frame(self) -> pd.DataFrame:
        """Completeness and overdue patients per centre (disclosure-controlled)."""
        return pd.DataFrame(self.completeness_rows(),
                            columns=["centre", "patients", "clark_c", "overdue"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form; every count and provenance ``n`` disclosure-controlled."""
        sc = self.small_count
        return {"scope": self.scope, "reference_date": self.reference_date.isoformat(),
                "small_count": sc, "small_counts_suppressed": sc > 1,
                "n_patients": suppress(self.n_patients, sc),
                "n_transplanted": suppress(self.n_transplanted, sc),
                "survival": self.outcomes.rows() if self.outcomes else [],
                "completeness": self.completeness_rows(), "overdue": self.overdue_rows(),
                "alerts": self.alert_rows(),
                "alert_counts": suppress_many(self.alert_counts, sc),
                "alert_labels": dict(self.schedule.labels),
                "funnel": self.funnel.to_dict() if self.funnel else None,
                "notes": list(self.notes),
                "schedule": {**self.schedule.to_dict(),
                             "file": Path(self.schedule.path).name if self.schedule.path
                             else None,
                             "overdue_days": self.schedule.overdue_days,
                             "unverified": self.schedule.unverified},
                "provenance": disclose_provenance(self.provenance, sc)}

    @property
    def summary(self) -> str:
        """Plain-text digest (what ``hsctms monitor`` prints)."""
        sc = self.small_count
        lines = [f"Registry monitoring: {self.scope}, reference date "
                 f"{self.reference_date.isoformat()}"
                 + (f"; counts below {sc} shown as <{sc}" if sc > 1 else "") + "."]
        if self.provenance.synthetic:
            lines.append("SYNTHETIC data - not real patients.")
        lines.append(f"Patients: {suppress(self.n_patients, sc)}; transplanted: "
                     f"{suppress(self.n_transplanted, sc)}.")
        lines += list(self.notes)
        if self.outcomes:
            lines.append(self.outcomes.summary)
        lines.append(f"Follow-up completeness (Clark C) and overdue ({self.overdue_label}):")
        for r in self.completeness_rows():
            c = "-" if r["clark_c"] is None else f"{100 * r['clark_c']:.0f}%"
            lines.append(f"  {r['centre']}: {r['patients']} patients, C = {c}, "
                         f"overdue {r['overdue']}")
        lines.append("Alerts (patients):")
        for kind, n in suppress_many(self.alert_counts, sc).items():
            lines.append(f"  {self.schedule.labels[kind]}: {n}")
        if self.funnel:
            lines.append(self.funnel.summary)
        unverified = [self.schedule.settings[k] for k in self.schedule.unverified]
        if unverified:
            lines.append("Schedule values not from a cited source: " + "; ".join(
                f"{s.key} = {s.text}" for s in unverified) + ".")
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """The outcome curves (an empty note when there are too few patients)."""
        if self.outcomes is not None:
            return self.outcomes.plot(ax)
        from hsctms.plots._style import new_axes

        ax = new_axes(ax)
        ax.text(0.5, 0.5, "Too few patients for outcome curves", ha="center", va="center",
                transform=ax.transAxes)
        return ax


def _outcomes(cohort: Any, schedule: MonitoringSchedule, n_fu: int,
              small_count: int, warned: list[Any] | None = None
              ) -> tuple[OutcomeCurves | None, pd.DataFrame]:
    from hsctms.endpoints import derive
    from hsctms.survival import kaplan_meier

    definition = str(schedule["outcomes.definition"])
    frame = pd.DataFrame()
    need = max(small_count, 1)
    if n_fu >= need and len(cohort.tables["edss"]):
        # warnings of the stored data (an MRI without lesion counts, ...) are data-quality
        # findings of the registry, reported in the notes rather than as Python warnings
        frame = derive(cohort, definition,
                       on_warnings=None if warned is None else warned.append).to_frame()
        frame = frame[frame["efs_time"].notna()]
    if len(frame) < need:
        return None, frame
    level, conf_type = float(schedule["outcomes.level"]), str(schedule["outcomes.conf_type"])
    fits = {ep: kaplan_meier(frame[f"{ep}_time"].to_numpy(float) / 365.25,
                             frame[f"{ep}_event"].to_numpy(float), level=level,
                             conf_type=conf_type, label=ENDPOINTS[ep])
            for ep in ENDPOINTS}
    years = tuple(float(y) for y in schedule["outcomes.years"])
    return OutcomeCurves(definition, level, conf_type, years, fits, small_count), frame


def monitor(cohort: Any, *, small_count: int, scope: str = "registry",
            record_level: bool = False, with_funnel: bool = False,
            schedule: MonitoringSchedule | None = None) -> RegistryMonitoring:
    """Monitor a registry (or one centre's part of it).

    Parameters
    ----------
    cohort
        The data in scope (:class:`hsctms.model.Cohort`: the registry or one centre).
    small_count
        Disclosure threshold for everything the result gives out (see the module
        docstring); 1 shows every count. The web registry passes ``WebSettings.small_count``
        for aggregates that leave a centre.
    scope
        Label of the data in scope (``"registry"`` or a centre code).
    record_level
        Include patient-level lists (overdue patients, alerts) in :meth:`~RegistryMonitoring.
        to_dict`; only for users allowed to read the records.
    with_funnel
        Add the risk-adjusted centre comparison (:func:`hsctms.analysis.funnel.centre_funnel`).
    schedule
        Follow-up schedule and thresholds (default: the bundled ``monitoring.yaml``).

    Returns
    -------
    RegistryMonitoring
    """
    from hsctms.analysis.funnel import case_mix, centre_funnel

    small_count = check_small_count(small_count)
    schedule = schedule or load_schedule()
    with cohort.data_source():  # every result below records the cohort as its source
        ref = reference_date(cohort)
        fu = followup_table(cohort, ref, schedule.overdue_days)
        notes: list[str] = []
        warned: list[Any] = []
        outcomes, frame = _outcomes(cohort, schedule, len(fu), small_count, warned)
        rules = sorted({i.rule for report in warned for i in report.warnings})
        if rules:
            notes.append("Some outcome data have data-quality warnings (" + ", ".join(rules)
                         + "); the curves use the data as stored.")
        if outcomes is None:
            notes.append("Too few transplanted patients with EDSS visits for outcome curves.")
        funnel: Funnel | None = None
        if with_funnel and len(frame):
            try:
                funnel = centre_funnel(
                    case_mix(cohort, frame), outcome=str(schedule["funnel.outcome"]),
                    small_count=max(small_count, 1),
                    covariates=tuple(schedule["funnel.covariates"]),
                    limits=tuple(schedule["funnel.limits"]))
            except HsctmsError as exc:
                notes.append(f"Centre comparison not available: {exc.message}")
        prov = Provenance("registry_monitoring", definition={
            "schedule": schedule.id, "endpoints": str(schedule["outcomes.definition"]),
            "km": f"{level_label(float(schedule['outcomes.level']))}% "
                  f"{schedule['outcomes.conf_type']}",
            "completeness": "Clark C", "overdue_days": schedule.overdue_days,
            "small_count": small_count},
            n=len(cohort.patients))
        return RegistryMonitoring(scope, ref, small_count, record_level, schedule,
                                  len(cohort.patients), fu, completeness(fu),
                                  find_alerts(cohort, schedule), outcomes, funnel, tuple(notes),
                                  prov)
