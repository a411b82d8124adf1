"""Dashboards of the web registry: outcomes, follow-up completeness, overdue follow-up, alerts
and the centre comparison. Framework-independent (plain functions on a
:class:`~hsctms.model.cohort.Cohort`); the web layer caches the result per data version.

Definitions
-----------
* **Outcomes**: event-free survival (EFS: no relapse, no new MRI activity, no confirmed EDSS
  worsening, alive) and progression-free survival (PFS: no confirmed EDSS worsening), from the
  index transplant, derived by :func:`hsctms.endpoints.derive` with the ``halt_ms``
  definition; Kaplan-Meier (:func:`hsctms.survival.kaplan_meier`, log-log 95% CI).
* **Follow-up completeness**: Clark's completeness index C (Clark et al., *Lancet* 2002;
  359:1309) = observed person-time / potential person-time, where potential follow-up runs
  from the transplant to the reference date (or death) and observed follow-up to the last
  contact (the latest dated row of any table, or death).
* **Overdue follow-up**: alive transplanted patients without an EDSS assessment in the
  ``overdue_days`` (default 395 = 12 months + 30 days grace) before the reference date.
* **Alerts**: lymphocytes below 1.0 x10^9/L at 12 months (the sample nearest day 365 within
  days 270-455); a relapse after the transplant; new MRI activity (new/enlarging T2 or Gd+
  lesions) on a scan after the transplant.
* **Reference date**: the registry's data date (latest imported data freeze), else today.
* **Small counts**: in any aggregate that leaves a centre (registry views, and centre views
  for users of another centre) counts 1-4 are shown as ``"<5"``, centres with fewer than 5
  patients are left out of the comparison, and curves are not shown for fewer than 5
  patients.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hsctms._provenance import Provenance
from hsctms.errors import HsctmsError

SMALL_COUNT = 5
YEARS = (1, 2, 3, 4, 5)
ENDPOINTS = {"efs": "Event-free survival", "worsening": "Progression-free survival"}

_PLOT_LOCK = threading.Lock()


def suppress(value: int, threshold: int = SMALL_COUNT, *, active: bool = True) -> int | str:
    """``value`` or ``"<threshold"`` when it is between 1 and ``threshold - 1``."""
    v = int(value)
    if active and 0 < v < threshold:
        return f"<{threshold}"
    return v


def reference_date(cohort: Any) -> _dt.date:
    """The registry data date, else today."""
    return cohort.data_date or _dt.date.today()


def _last_contact(cohort: Any) -> pd.Series:
    parts = []
    for name in ("edss", "relapses", "mri", "labs", "adverse_events", "deaths", "transplants"):
        df = cohort.tables[name]
        spec_date = {"relapses": "onset_date", "adverse_events": "onset_date",
                     "transplants": "transplant_date"}.get(name, "date")
        if len(df):
            parts.append(df[["patient_id", spec_date]].rename(columns={spec_date: "d"}))
    if not parts:
        return pd.Series(dtype="datetime64[ns]")
    allv = pd.concat(parts, ignore_index=True)
    return allv.groupby("patient_id")["d"].max()


def _lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``values`` (unique index) looked up for ``keys`` (NaT/NaN when absent)."""
    values = values[~values.index.duplicated()]
    out = values.reindex(keys.to_numpy())
    return pd.Series(pd.to_datetime(out.to_numpy()), index=keys.index)


def followup_table(cohort: Any, ref: _dt.date, overdue_days: int = 395) -> pd.DataFrame:
    """Per transplanted patient: centre, potential and observed follow-up (days), last EDSS
    date, alive, overdue."""
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
    """Clark's C per centre (and patients, overdue counts)."""
    g = fu.groupby("centre", sort=True).agg(
        patients=("patient_id", "size"), observed=("observed_days", "sum"),
        potential=("potential_days", "sum"), overdue=("overdue", "sum"))
    g["clark_c"] = np.where(g["potential"] > 0, g["observed"] / g["potential"].where(
        g["potential"] > 0, 1), np.nan)
    return g.reset_index()


def find_alerts(cohort: Any) -> pd.DataFrame:
    """Alerts per patient (see module docstring): columns patient_id, centre, kind, date,
    detail."""
    tx = cohort.index_transplant()[["patient_id", "transplant_date"]]
    centre = cohort.patients.set_index("patient_id")["centre"]
    out: list[pd.DataFrame] = []
    labs = cohort.tables["labs"]
    if len(labs):
        ly = labs[labs["test"].astype(str).str.lower() == "lymphocytes"].merge(tx, on="patient_id")
        ly = ly.assign(day=(ly["date"] - ly["transplant_date"]).dt.days)
        ly = ly[(ly["day"] >= 270) & (ly["day"] <= 455)]
        if len(ly):
            value = ly["value"].astype(float)
            per_ul = ly["unit"].astype(str).str.lower().str.contains("ul|µl|mm3", regex=True)
            ly = ly.assign(v=np.where(per_ul, value / 1000.0, value),
                           dist=(ly["day"] - 365).abs())
            ly = ly.sort_values(["patient_id", "dist", "date"]).drop_duplicates("patient_id")
            low = ly[ly["v"] < 1.0]
            out.append(pd.DataFrame({
                "patient_id": low["patient_id"], "kind": "lymphocytes_low_12m",
                "date": low["date"],
                "detail": [f"lymphocytes {v:.2f} x10^9/L on day {d}" for v, d in
                           zip(low["v"], low["day"], strict=True)]}))
    rel = cohort.tables["relapses"].merge(tx, on="patient_id")
    rel = rel[rel["onset_date"] > rel["transplant_date"]]
    if len(rel):
        out.append(pd.DataFrame({"patient_id": rel["patient_id"], "kind": "relapse_after_hsct",
                                 "date": rel["onset_date"], "detail": "relapse after transplant"}))
    mri = cohort.tables["mri"].merge(tx, on="patient_id")
    active = (mri["new_t2"].fillna(0) > 0) | (mri["gd_lesions"].fillna(0) > 0)
    mri = mri[(mri["date"] > mri["transplant_date"]) & active]
    if len(mri):
        out.append(pd.DataFrame({
            "patient_id": mri["patient_id"], "kind": "mri_activity_after_hsct",
            "date": mri["date"],
            "detail": [f"{int(a)} new T2, {int(b)} Gd+" for a, b in
                       zip(mri["new_t2"].fillna(0), mri["gd_lesions"].fillna(0), strict=True)]}))
    if not out:
        return pd.DataFrame(columns=["patient_id", "centre", "kind", "date", "detail"])
    alerts = pd.concat(out, ignore_index=True)
    alerts["patient_id"] = alerts["patient_id"].astype(str)
    alerts["centre"] = alerts["patient_id"].map(centre).astype(str)
    return alerts.sort_values(["date", "patient_id"], ascending=[False, True]).reset_index(
        drop=True)[["patient_id", "centre", "kind", "date", "detail"]]


@dataclass
class Dashboard:
    """Everything one dashboard page shows, as data (plus inline SVG figures)."""

    scope: str
    reference_date: _dt.date
    suppressed: bool
    record_level: bool
    n_patients: int | str
    n_transplanted: int | str
    survival: list[dict[str, Any]]
    completeness: list[dict[str, Any]]
    overdue: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    alert_counts: dict[str, int | str]
    funnel: dict[str, Any] | None
    km_svg: str = ""
    funnel_svg: str = ""
    notes: list[str] = field(default_factory=list)
    provenance: Provenance = field(default_factory=lambda: Provenance("dashboard"))

    @property
    def summary(self) -> str:
        """Short text digest."""
        return (f"Dashboard {self.scope}: {self.n_patients} patients, "
                f"{self.n_transplanted} transplanted; reference date {self.reference_date}.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (without the SVG figures)."""
        return {"scope": self.scope, "reference_date": self.reference_date.isoformat(),
                "small_counts_suppressed": self.suppressed,
                "n_patients": self.n_patients, "n_transplanted": self.n_transplanted,
                "survival": self.survival, "completeness": self.completeness,
                "overdue": self.overdue, "alerts": self.alerts,
                "alert_counts": self.alert_counts, "funnel": self.funnel, "notes": self.notes,
                "provenance": self.provenance.to_dict()}


def _num(value: float) -> float | None:
    """Rounded finite number, else None (JSON has no NaN)."""
    v = float(value)
    return round(v, 4) if np.isfinite(v) else None


def _survival(fits: dict[str, Any], suppressed: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for ep, fit in fits.items():
        tab = fit.survival_at(list(YEARS))
        for _, r in tab.iterrows():
            at_risk = int(r["n_risk"])
            show = not suppressed or at_risk >= SMALL_COUNT
            rows.append({"endpoint": ep, "label": ENDPOINTS[ep], "year": int(r["time"]),
                         "survival": _num(r["surv"]) if show else None,
                         "lower": _num(r["lower"]) if show else None,
                         "upper": _num(r["upper"]) if show else None,
                         "at_risk": suppress(at_risk, active=suppressed),
                         "events": suppress(int(r["cum_events"]), active=suppressed)})
    return rows


def _km_svg(fits: dict[str, Any], suppressed: bool) -> str:
    from hsctms.plots._style import figure_to_svg
    from hsctms.plots.km import km_figure

    data = list(fits.values())
    with _PLOT_LOCK:
        fig = km_figure(data, labels=[ENDPOINTS[k] for k in fits], risk_table=not suppressed,
                        title="Event-free and progression-free survival",
                        xmax=min(10.0, max(float(f.time.max()) for f in data)))
        return figure_to_svg(fig)


def build_dashboard(cohort: Any, scope: str, *, suppressed: bool, record_level: bool,
                    with_funnel: bool = False) -> Dashboard:
    """Compute one dashboard.

    Parameters
    ----------
    cohort
        The data in scope (one centre or the whole registry).
    scope
        ``"registry"`` or a centre code (label only).
    suppressed
        Apply small-count suppression (the aggregate leaves the centre).
    record_level
        Include patient-level lists (overdue patients, alerts); only for users allowed to
        read the records.
    with_funnel
        Add the risk-adjusted centre comparison (registry scope).
    """
    from hsctms.endpoints import derive
    from hsctms.survival import kaplan_meier

    ref = reference_date(cohort)
    notes: list[str] = []
    n = len(cohort.patients)
    fu = followup_table(cohort, ref)
    survival: list[dict[str, Any]] = []
    km_svg = ""
    funnel_dict: dict[str, Any] | None = None
    funnel_svg = ""
    frame = pd.DataFrame()
    if len(fu) >= (SMALL_COUNT if suppressed else 1) and len(cohort.tables["edss"]):
        frame = derive(cohort, "halt_ms").to_frame()
        frame = frame[frame["efs_time"].notna()]
    if len(frame) >= (SMALL_COUNT if suppressed else 1):
        fits = {ep: kaplan_meier(frame[f"{ep}_time"].to_numpy(float) / 365.25,
                                 frame[f"{ep}_event"].to_numpy(float), label=ENDPOINTS[ep],
                                 synthetic=bool(cohort.synthetic))
                for ep in ENDPOINTS}
        survival = _survival(fits, suppressed)
        km_svg = _km_svg(fits, suppressed)
    else:
        notes.append("Too few transplanted patients with EDSS visits for outcome curves.")
    comp = completeness(fu)
    comp_rows = [{"centre": str(r["centre"]),
                  "patients": suppress(int(r["patients"]), active=suppressed),
                  "clark_c": None if pd.isna(r["clark_c"]) or (
                      suppressed and int(r["patients"]) < SMALL_COUNT)
                  else round(float(r["clark_c"]), 3),
                  "overdue": suppress(int(r["overdue"]), active=suppressed)}
                 for _, r in comp.iterrows()]
    alerts = find_alerts(cohort)
    counts = alerts.groupby("kind")["patient_id"].nunique().to_dict() if len(alerts) else {}
    alert_counts = {k: suppress(int(counts.get(k, 0)), active=suppressed)
                    for k in ("lymphocytes_low_12m", "relapse_after_hsct",
                              "mri_activity_after_hsct")}
    overdue_rows: list[dict[str, Any]] = []
    alert_rows: list[dict[str, Any]] = []
    if record_level:
        od = fu[fu["overdue"]].sort_values("days_since_edss", ascending=False)
        overdue_rows = [{"patient_id": str(r["patient_id"]), "centre": str(r["centre"]),
                         "last_edss": None if pd.isna(r["last_edss"])
                         else r["last_edss"].date().isoformat(),
                         "days_since_edss": int(r["days_since_edss"])}
                        for _, r in od.head(200).iterrows()]
        alert_rows = [{"patient_id": r["patient_id"], "centre": r["centre"],
                       "kind": r["kind"], "date": r["date"].date().isoformat(),
                       "detail": r["detail"]} for _, r in alerts.head(200).iterrows()]
    if with_funnel and len(frame):
        from hsctms.web.funnel import case_mix, centre_funnel

        try:
            f = centre_funnel(case_mix(cohort, frame), synthetic=bool(cohort.synthetic))
        except HsctmsError as exc:
            notes.append(f"Centre comparison not available: {exc.message}")
        else:
            funnel_dict = f.to_dict()
            for c in funnel_dict["centres"]:
                c["observed"] = suppress(c["observed"], active=suppressed)
            with _PLOT_LOCK:
                from hsctms.plots._style import figure_to_svg

                funnel_svg = figure_to_svg(f.plot().figure)
    prov = Provenance("dashboard", definition={"endpoints": "halt_ms", "km": "log-log 95%",
                                               "completeness": "Clark C",
                                               "small_count": SMALL_COUNT},
                      n=n, synthetic=bool(cohort.synthetic),
                      data_date=cohort.data_date.isoformat() if cohort.data_date else None)
    return Dashboard(scope, ref, suppressed, record_level,
                     suppress(n, active=suppressed), suppress(len(fu), active=suppressed),
                     survival, comp_rows, overdue_rows, alert_rows, alert_counts, funnel_dict,
                     km_svg, funnel_svg, notes, prov)


class DashboardCache:
    """Thread-safe LRU cache of dashboards keyed by (scope, options, data version)."""

    def __init__(self, max_entries: int = 64) -> None:
        self._data: OrderedDict[tuple[Any, ...], Dashboard] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[Any, ...], threading.Lock] = {}
        self.max_entries = max_entries
        self.misses = 0

    def get(self, key: tuple[Any, ...], build: Callable[[], Dashboard]) -> Dashboard:
        """The cached dashboard for ``key``, building it (once) on a miss."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
            lock = self._building.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._data:
                    return self._data[key]
            value = build()
            with self._lock:
                self.misses += 1
                self._data[key] = value
                while len(self._data) > self.max_entries:
                    self._data.popitem(last=False)
                self._building.pop(key, None)
            return value
