"""The outcomes pipeline: from a cohort (or an endpoint table) to every number of the outcomes
report.

:func:`run_outcomes` derives the endpoints (``hsctms.endpoints.derive``) unless an endpoint
result is passed, then computes the median follow-up (reverse Kaplan-Meier), the HALT-MS and
Shevchenko style tables, a Cox model of event-free survival with a proportional-hazards check,
and the EDSS trajectories; :class:`OutcomesAnalysis` holds them with ``.summary``,
``.to_dict()`` (the JSON of ``hsctms analyse --json``) and ``.figures()``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hsctms._provenance import Provenance
from hsctms.analysis.baseline import BaselineTable, baseline_table
from hsctms.analysis.comparisons import (
    HaltMsLikeSubset,
    PublishedComparison,
    halt_ms_like,
    shevchenko_comparisons,
    with_dmt_failure,
)
from hsctms.analysis.labels import COVARIATE_LABELS, cox_term_label, format_p
from hsctms.analysis.published import PublishedFigure, published_figures
from hsctms.analysis.safety import SafetyAnalysis, safety_analysis
from hsctms.analysis.tables import (
    PHENOTYPE_GROUPS,
    YEAR_DAYS,
    HaltMsTable,
    ShevchenkoTable,
    halt_ms_table,
    shevchenko_table,
)
from hsctms.errors import ConfigurationError, EstimationError, EvidenceError, HsctmsError
from hsctms.survival import CoxModel, FollowUp, PHTest, cox_ph, median_followup
from hsctms.survival._common import check_conf_type, check_level

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from hsctms.model.cohort import Cohort

#: Covariates of the Cox model of event-free survival (dropped when constant or missing).
COX_COVARIATES: tuple[str, ...] = (
    "phenotype_group", "age_at_transplant", "baseline_edss", "disease_duration", "intensity",
)

SCHEMA_VERSION = "1.0"


class _BaselineOnce:
    """A cohort whose :meth:`~hsctms.model.Cohort.baseline_table` is computed once: the
    covariates of :func:`run_outcomes` and its Table 1 read the same frame (each call
    returns a copy, so neither sees the other's changes). Everything else is the cohort's."""

    def __init__(self, cohort: Any) -> None:
        self._cohort = cohort
        self._base: pd.DataFrame | None = None

    def baseline_table(self) -> pd.DataFrame:
        """The cohort's baseline table (computed on the first call).

        Returns
        -------
        pandas.DataFrame
            A copy of :meth:`hsctms.model.Cohort.baseline_table` of the cohort.
        """
        if self._base is None:
            self._base = self._cohort.baseline_table()
        return self._base.copy()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cohort, name)


@dataclass(frozen=True)
class OutcomesSettings:
    """Settings of the tables of an outcomes analysis (see :func:`run_outcomes`).

    Validated on construction; the sequences are stored as tuples of floats.

    Parameters
    ----------
    level
        Confidence level of every interval, in (0, 1) (HALT-MS reported 90%; default 0.9).
    years
        Time points (years) of the HALT-MS table and the EDSS change (default 1..5).
    shevchenko_years
        Time points of the Shevchenko table; ``None`` (default) means 1..max(8, max(years)).
    conf_type
        CI transform (``"log-log"`` default, ``"log"``, ``"plain"``).
    edss_window_days
        The EDSS of year k is the visit closest to day ``k * 365.25`` within this many days
        (default 182), for the EDSS change and the trajectories.

    Raises
    ------
    EstimationError
        ``years`` (or ``shevchenko_years``) is empty or not positive.
    ConfigurationError
        ``level`` is not in (0, 1), ``conf_type`` is unknown or ``edss_window_days`` is not
        positive.

    Examples
    --------
    >>> OutcomesSettings(level=0.95, years=(1, 2)).to_dict()["years"]
    [1.0, 2.0]
    """

    level: float = 0.9
    years: Sequence[float] = (1, 2, 3, 4, 5)
    shevchenko_years: Sequence[float] | None = None
    conf_type: str = "log-log"
    edss_window_days: float = 182.0

    def __post_init__(self) -> None:
        years = tuple(float(y) for y in self.years)
        if not years or min(years) <= 0:
            raise EstimationError("Years must be positive.", hint="Use e.g. --years 1,2,3,4,5.")
        sh_years = (None if self.shevchenko_years is None
                    else tuple(float(y) for y in self.shevchenko_years))
        if sh_years is not None and (not sh_years or min(sh_years) <= 0):
            raise EstimationError("Shevchenko table years must be positive.",
                                  hint="Use e.g. shevchenko_years=(1, 2, 3, 4, 5, 6, 7, 8), "
                                       "or None for 1..max(8, max(years)).")
        window = float(self.edss_window_days)
        if not window > 0:
            raise ConfigurationError(f"EDSS window of {window:g} days is not positive.",
                                     hint="Use e.g. edss_window_days=182 (half a year).")
        object.__setattr__(self, "level", check_level(self.level))
        object.__setattr__(self, "conf_type", check_conf_type(self.conf_type))
        object.__setattr__(self, "years", years)
        object.__setattr__(self, "shevchenko_years", sh_years)
        object.__setattr__(self, "edss_window_days", window)

    @property
    def table_years(self) -> tuple[float, ...]:
        """Time points of the Shevchenko table (``shevchenko_years`` or the default).

        Returns
        -------
        tuple of float
            ``shevchenko_years`` if given, else 1..max(8, max(years)).
        """
        if self.shevchenko_years is not None:
            return tuple(self.shevchenko_years)
        return tuple(float(y) for y in range(1, int(max(8, *self.years)) + 1))

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON types.

        Returns
        -------
        dict
            ``level``, ``years``, ``shevchenko_years`` (``None`` when defaulted),
            ``conf_type`` and ``edss_window_days``.
        """
        return {"level": self.level, "years": list(self.years),
                "shevchenko_years": (None if self.shevchenko_years is None
                                     else list(self.shevchenko_years)),
                "conf_type": self.conf_type, "edss_window_days": self.edss_window_days}


@dataclass(frozen=True)
class OutcomesAnalysis:
    """Every number of an outcomes analysis (see :func:`run_outcomes`).

    Times are in years (365.25 days) from the time origin unless a name says days.

    Parameters
    ----------
    frame
        Per-patient endpoint frame (``<endpoint>_time`` in days, ``<endpoint>_event``)
        merged with the baseline covariates (``phenotype``, ``phenotype_group``,
        ``age_at_transplant``, ``disease_duration``, ``intensity``, ``sex``, ``centre``).
    definition
        The endpoint definition as :meth:`hsctms.endpoints.EndpointDefinition.to_dict`.
    definition_name
        Name of the endpoint definition (e.g. ``"halt_ms"``).
    followup
        Median follow-up by reverse Kaplan-Meier (years).
    halt_ms
        The HALT-MS style table.
    shevchenko
        The Shevchenko style table.
    cox
        Cox model of event-free survival, or None when not fitted (see ``cox_note``).
    ph_test
        Proportional-hazards test of ``cox``, or None.
    cox_note
        Covariates left out and why, or why the Cox model was not fitted; None if nothing
        to say.
    trajectories
        EDSS visits (``patient_id``, ``year``, ``edss``) of up to 500 randomly chosen
        patients, for the trajectory figure.
    trajectory_summary
        Per year (0 = baseline): ``n``, ``median``, ``q1``, ``q3`` of the EDSS.
    published
        Published figures shown alongside.
    published_source
        Where the published figures came from (or why they are unavailable).
    level
        Confidence level of every interval (0-1).
    conf_type
        Interval transform: ``"log-log"``, ``"log"`` or ``"plain"``.
    years
        Time points of the HALT-MS table and the EDSS change (years).
    provenance
        Method, parameters, n, synthetic flag, data date and versions.
    timings
        Stage name to its wall time (seconds); informative only, not part of :meth:`to_dict`.
    excluded
        Number of patients the endpoint engine did not derive.
    endpoint_summary
        The endpoint engine's per-endpoint table
        (:meth:`hsctms.endpoints.EndpointResult.summary_table`).
    worsening_classes
        Worsening events by class (``"PIRA"``, ``"RAW"``, ``"undetermined"``).
    definition_text
        The methods paragraph of the definition
        (:meth:`hsctms.endpoints.EndpointDefinition.describe`).
    baseline
        Table 1: characteristics at the index transplant by phenotype group
        (:func:`hsctms.analysis.baseline.baseline_table`, every count shown).
    safety
        Transplant-related mortality, deaths, severe adverse events and autoimmunity
        (:func:`hsctms.analysis.safety.safety_analysis`).
    halt_ms_like
        The HALT-MS table on the registry patients matching HALT-MS entry criteria
        (:func:`hsctms.analysis.comparisons.halt_ms_like`), or None.
    comparisons
        Registry figures at the Shevchenko 2015 time points beside the published ones
        (:func:`hsctms.analysis.comparisons.shevchenko_comparisons`).
    """

    frame: pd.DataFrame
    definition: dict[str, Any]
    definition_name: str
    followup: FollowUp
    halt_ms: HaltMsTable
    shevchenko: ShevchenkoTable
    cox: CoxModel | None
    ph_test: PHTest | None
    cox_note: str | None
    trajectories: pd.DataFrame
    trajectory_summary: pd.DataFrame
    published: list[PublishedFigure]
    published_source: str
    level: float
    conf_type: str
    years: tuple[float, ...]
    provenance: Provenance
    timings: dict[str, float] = field(default_factory=dict)
    excluded: int = 0
    endpoint_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    worsening_classes: dict[str, int] = field(default_factory=dict)
    definition_text: str = ""
    baseline: BaselineTable | None = None
    safety: SafetyAnalysis | None = None
    halt_ms_like: HaltMsLikeSubset | None = None
    comparisons: tuple[PublishedComparison, ...] = ()

    @property
    def n(self) -> int:
        """Number of patients analysed."""
        return len(self.frame)

    def _followup_text(self) -> str:
        fu = self.followup
        return (f"Median follow-up {fu.median.estimate:.1f} years (reverse Kaplan-Meier; IQR "
                f"{fu.q1:.1f}-{fu.q3:.1f} years) of {fu.n} patients.")

    @property
    def summary(self) -> str:
        """Text summary of the whole analysis."""
        parts = [
            f"Outcomes analysis of {self.n} patients (definition {self.definition_name!r})"
            + (" -- SYNTHETIC data" if self.provenance.synthetic else "") + ".",
            self._followup_text(),
            self.halt_ms.summary,
            self.shevchenko.summary,
        ]
        if self.halt_ms_like is not None:
            parts.append(self.halt_ms_like.summary)
        if self.cox is not None:
            parts.append(self._cox_text())
        if self.ph_test is not None:
            parts.append(self._ph_text())
        if self.cox_note:
            parts.append(self.cox_note)
        return "\n".join(parts)

    def _cox_text(self) -> str:
        """The Cox model as the report prints it: terms with their reference level or unit,
        p-values as journals write them (the model's own summary uses column names)."""
        cox = self.cox
        if cox is None:
            return ""
        lo, hi = cox.hr_ci()
        lines = [f"Cox PH ({cox.ties} ties) on n={cox.n}, {cox.n_events} events; hazard "
                 f"ratios with {100 * cox.level:g}% Wald CI:"]
        for i, name in enumerate(cox.columns):
            label = cox_term_label(name, cox.terms, references=cox.references,
                                   columns=tuple(cox.columns))
            lines.append(f"  {label}: HR {cox.hr[i]:.2f} ({lo[i]:.2f}-{hi[i]:.2f}), "
                         f"{format_p(float(cox.p[i]))}")
        return "\n".join(lines)

    def _ph_text(self) -> str:
        """The proportional-hazards test with the covariates' labels."""
        if self.ph_test is None:
            return ""
        names = {**{k: v[0] for k, v in COVARIATE_LABELS.items()}, "GLOBAL": "Global test"}
        rows = "; ".join(
            f"{names.get(r.term, r.term)}: chi2 = {r.chisq:.2f} (df {r.df}), "
            f"{format_p(float(r.p))}" for r in self.ph_test.table.itertuples())
        return (f"Proportional-hazards test (Grambsch-Therneau score, {self.ph_test.transform} "
                f"time): {rows}.")

    def to_dict(self) -> dict[str, Any]:
        """All numbers as JSON-serialisable data (schema in ``docs/outcomes-report.md``).

        Returns
        -------
        dict of str to Any
            ``schema``/``schema_version`` header, n, exclusions, synthetic flag, data date,
            definition, settings, follow-up, both tables, the HALT-MS-like subset, the
            comparisons with Shevchenko 2015, the Cox model and its PH test, the
            EDSS trajectory summary, the endpoint summary and the provenance (the JSON of
            ``hsctms analyse --json``).
        """
        return {
            "schema": "hsctms.outcomes",
            "schema_version": SCHEMA_VERSION,
            "n": self.n,
            "excluded": self.excluded,
            "synthetic": self.provenance.synthetic,
            "data_date": self.provenance.data_date,
            "definition": self.definition,
            "level": self.level,
            "conf_type": self.conf_type,
            "years": list(self.years),
            "time_unit": "years (365.25 days) from the time origin",
            "followup": self.followup.to_dict(),
            "halt_ms": self.halt_ms.to_dict(),
            "shevchenko": self.shevchenko.to_dict(),
            "halt_ms_like": self.halt_ms_like.to_dict() if self.halt_ms_like else None,
            "published_comparisons": [c.to_dict() for c in self.comparisons],
            "cox_efs": self.cox.to_dict() if self.cox else None,
            "cox_ph_test": self.ph_test.to_dict() if self.ph_test else None,
            "cox_note": self.cox_note,
            "edss_trajectory": self.trajectory_summary.to_dict(orient="records"),
            "endpoints": {
                "summary": _records(self.endpoint_summary),
                "worsening_classes": dict(self.worsening_classes),
                "definition_text": self.definition_text,
            },
            "published_source": self.published_source,
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "safety": self.safety.to_dict() if self.safety else None,
            "provenance": self.provenance.to_dict(),
        }

    def figures(self) -> dict[str, Figure]:
        """The report figures: name -> matplotlib Figure.

        Returns
        -------
        dict of str to matplotlib.figure.Figure
            ``efs``, ``endpoints``, ``efs_by_phenotype``, ``progression_cif``,
            ``edss_trajectories`` and, with a PH test, ``ph_check`` (scaled Schoenfeld
            residuals of the term with the smallest p-value); marked SYNTHETIC for synthetic
            data. Each call draws new figures.
        """
        from hsctms.plots.km import cif_figure, km_figure
        from hsctms.plots.trajectories import trajectories_figure

        xmax = max(self.years)
        hm = self.halt_ms.fits
        sh = self.shevchenko
        figs = {
            "efs": km_figure([hm["efs"]], ylabel="Event-free survival", xmax=xmax,
                             title="Event-free survival"),
            "endpoints": km_figure(
                [hm[k] for k in ("worsening", "relapse", "mri_activity", "neda3_loss")],
                ylabel="Probability free of event", xmax=xmax, ci=False,
                labels=["No confirmed worsening", "Relapse-free", "MRI activity-free",
                        "NEDA-3"],
                title="Freedom from each component"),
            "efs_by_phenotype": km_figure(
                [f for g, f in sh.efs_fits.items() if g != "unknown"],
                ylabel="Event-free survival", xmax=max(sh.years),
                title="Event-free survival by phenotype"),
            "progression_cif": cif_figure(
                [sh.cif], xmax=max(sh.years),
                title="Confirmed worsening with death as a competing risk"),
            "edss_trajectories": trajectories_figure(
                self.trajectories, self.trajectory_summary, xmax=xmax,
                title="EDSS after transplant"),
        }
        col = self._ph_column()
        if col is not None and self.ph_test is not None:
            shown = None
            if self.cox is not None and col in self.cox.columns:
                shown = cox_term_label(col, self.cox.terms, references=self.cox.references,
                                       columns=tuple(self.cox.columns))
            figs["ph_check"] = self.ph_test.plot(column=col, label=shown).figure
        for f in figs.values():
            f.set_layout_engine("constrained")
            if self.provenance.synthetic:
                from hsctms.plots._style import mark_synthetic

                mark_synthetic(f)
        return figs

    def _ph_column(self) -> str | None:
        """The Cox coefficient whose term has the smallest proportional-hazards p-value."""
        if self.ph_test is None or self.ph_test.residuals is None or self.cox is None:
            return None
        tab = self.ph_test.table[self.ph_test.table["term"] != "GLOBAL"]
        if tab.empty:
            return None
        term = str(tab.sort_values("p")["term"].iloc[0])
        cols = [self.cox.columns[j] for j in self.cox.terms.get(term, ())]
        return cols[0] if cols else None


def _published(published: Sequence[PublishedFigure] | None) -> tuple[list[PublishedFigure],
                                                                      str]:
    if published is not None:
        return list(published), "supplied by the caller"
    try:
        return published_figures(), "hsctms.evidence (published studies)"
    except (EvidenceError, ImportError) as exc:
        return [], f"unavailable ({exc})"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as JSON-safe dicts (NaN -> None)."""
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v)
             for k, v in row.items()} for row in frame.to_dict(orient="records")]


def trajectory_data(frame: pd.DataFrame, edss: pd.DataFrame, years: Sequence[float],
                    *, window_days: float = 182.0, at_years: pd.DataFrame | None = None,
                    max_patients: int = 500, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """EDSS visits (years from origin) of up to ``max_patients`` randomly chosen patients, and
    the yearly median/IQR over everyone (baseline at year 0; the anniversary assessments of
    :func:`hsctms.analysis.edss_change.edss_at_years`)."""
    from hsctms.analysis.edss_change import edss_at_years

    ids = frame["patient_id"].astype(str).to_numpy()
    if ids.size > max_patients:
        ids = np.random.default_rng(seed).choice(ids, size=max_patients, replace=False)
    chosen = frame[frame["patient_id"].astype(str).isin(set(ids.tolist()))]
    base = chosen[["patient_id", "origin_date"]].assign(
        patient_id=chosen["patient_id"].astype(str))
    v = edss[["patient_id", "date", "edss"]].dropna()
    v = v[v["patient_id"].astype(str).isin(set(ids.tolist()))].assign(
        patient_id=lambda x: x["patient_id"].astype(str)).merge(base, on="patient_id")
    v["year"] = (v["date"] - v["origin_date"]).dt.days / YEAR_DAYS
    v = v[(v["year"] >= -0.5) & (v["year"] <= max(years) + 0.5)]
    visits = v[["patient_id", "year", "edss"]].reset_index(drop=True)
    at = at_years if at_years is not None else edss_at_years(frame, edss, years,
                                                             window_days=window_days)
    rows = []
    for k, values in [(0.0, frame["baseline_edss"].dropna().to_numpy(float))] + [
            (float(k), at.loc[at["year"] == float(k), "edss"].to_numpy(float)) for k in years]:
        rows.append({"year": k, "n": int(values.size),
                     "median": float(np.median(values)) if values.size else None,
                     "q1": float(np.quantile(values, 0.25)) if values.size else None,
                     "q3": float(np.quantile(values, 0.75)) if values.size else None})
    return visits, pd.DataFrame(rows)


def _cox(frame: pd.DataFrame, covariates: Sequence[str],
         level: float) -> tuple[CoxModel | None, PHTest | None, str | None]:
    d = frame.copy()
    d["efs_years"] = d["efs_time"] / YEAR_DAYS
    usable = []
    for c in covariates:
        if c in d.columns and d[c].notna().mean() >= 0.8 and d[c].dropna().nunique() > 1:
            usable.append(c)
    dropped = [c for c in covariates if c not in usable]
    note = (f"Covariates not used (missing, constant or >20% missing): {', '.join(dropped)}."
            if dropped else None)
    if not usable or d["efs_event"].sum() < 5:
        return None, None, ((note + " ") if note else "") + (
            "Cox model not fitted (fewer than 5 events or no usable covariate).")
    for c in usable:
        if not pd.api.types.is_numeric_dtype(d[c]):
            d[c] = d[c].astype(object)
    try:
        model = cox_ph(d, "efs_years", "efs_event", usable, level=level)
        return model, model.ph_test(), note
    except HsctmsError as exc:
        return None, None, f"Cox model not fitted: {exc.message}"


def run_outcomes(
    cohort: Cohort,
    definition: Any = "halt_ms",
    *,
    settings: OutcomesSettings | None = None,
    endpoints: Any = None,
    published: Sequence[PublishedFigure] | None = None,
    cox_covariates: Sequence[str] = COX_COVARIATES,
    progress: Callable[[str], None] | None = None,
) -> OutcomesAnalysis:
    """Run the full outcomes analysis of a cohort.

    Parameters
    ----------
    cohort
        The registry cohort (``hsctms.model.Cohort``).
    definition
        Endpoint definition name or object (``hsctms.endpoints``), default ``"halt_ms"``.
    settings
        Confidence level, CI transform, time points of both tables and the EDSS window
        (:class:`OutcomesSettings`; default ``OutcomesSettings()``: 90% log-log intervals at
        years 1..5, Shevchenko table at 1..8, 182-day EDSS window).
    endpoints
        A precomputed :class:`hsctms.endpoints.EndpointResult` (skips derivation).
    published
        Published figures to show; default: looked up in :mod:`hsctms.evidence`.
    cox_covariates
        Covariates of the Cox model of EFS (``phenotype_group`` is derived from phenotype).
    progress
        Optional callback receiving the name of each stage as it starts.

    Returns
    -------
    OutcomesAnalysis
        Follow-up, both study-style tables, the Cox model of EFS, EDSS trajectories and the
        provenance, all recording ``cohort`` as their data source.

    Raises
    ------
    EstimationError
        No patient has derivable endpoints.
    """
    cfg = settings if settings is not None else OutcomesSettings()
    level, conf_type, edss_window_days = cfg.level, cfg.conf_type, cfg.edss_window_days
    years = tuple(cfg.years)
    sh_years = cfg.table_years
    timings: dict[str, float] = {}

    def stage(name: str) -> float:
        if progress:
            progress(name)
        return time.perf_counter()

    with cohort.data_source():  # every result below records the cohort as its source
        t0 = stage("endpoints")
        if endpoints is None:
            from hsctms.endpoints import derive

            endpoints = derive(cohort, definition)
        frame = endpoints.to_frame().reset_index(drop=True)
        if frame.empty:
            raise EstimationError("No patient has derivable endpoints.",
                                  hint="Check transplants and baseline EDSS in the data.")
        defn = endpoints.definition
        timings["endpoints"] = time.perf_counter() - t0

        t0 = stage("covariates")
        once = _BaselineOnce(cohort)  # Table 1 below reuses these characteristics
        base = once.baseline_table()
        base = base.assign(patient_id=base["patient_id"].astype(str))
        cols = ["patient_id", "phenotype", "age_at_transplant", "disease_duration", "intensity",
                "sex", "centre"]
        frame["patient_id"] = frame["patient_id"].astype(str)
        frame = frame.merge(base[[c for c in cols if c in base.columns]], on="patient_id",
                            how="left")
        frame["phenotype_group"] = frame["phenotype"].map(
            lambda v: PHENOTYPE_GROUPS.get(str(v), "unknown") if not pd.isna(v) else pd.NA)
        for c in ("age_at_transplant", "disease_duration", "baseline_edss"):
            if c in frame.columns:
                frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
        pubs, pub_source = _published(published)
        timings["covariates"] = time.perf_counter() - t0

        t0 = stage("follow-up")
        fu = median_followup(frame["death_time"].to_numpy(float) / YEAR_DAYS,
                             frame["death_event"].to_numpy(int), level=level, conf_type=conf_type)
        timings["follow-up"] = time.perf_counter() - t0

        t0 = stage("HALT-MS table")
        halt = halt_ms_table(frame, cohort.edss, years=years, level=level, conf_type=conf_type,
                             published=pubs, edss_window_days=edss_window_days)
        timings["HALT-MS table"] = time.perf_counter() - t0

        t0 = stage("Shevchenko table")
        shev = shevchenko_table(frame, frame["phenotype"], years=sh_years, level=level,
                                conf_type=conf_type, published=pubs)
        timings["Shevchenko table"] = time.perf_counter() - t0

        t0 = stage("like-for-like comparisons")
        # the DMT-failure criterion (a relapse during a HALT-MS-listed DMT) from the
        # registry's DMT courses; a registry that records none has it listed as not applied
        dmt = cohort.table("dmt")
        like_frame = frame if dmt.empty else with_dmt_failure(frame, cohort.relapses, dmt)
        like = halt_ms_like(like_frame, cohort.relapses, edss_visits=cohort.edss, years=years,
                            level=level, conf_type=conf_type, published=pubs,
                            edss_window_days=edss_window_days)
        comparisons = shevchenko_comparisons(
            shev, frame, definition=defn.to_dict() if hasattr(defn, "to_dict") else {})
        timings["like-for-like comparisons"] = time.perf_counter() - t0

        t0 = stage("Cox model")
        cox, ph, note = _cox(frame, cox_covariates, level)
        timings["Cox model"] = time.perf_counter() - t0

        t0 = stage("trajectories")
        visits, traj = trajectory_data(frame, cohort.edss, years, window_days=edss_window_days,
                                       at_years=halt.edss_at_years)
        timings["trajectories"] = time.perf_counter() - t0

        t0 = stage("baseline and safety")
        baseline = baseline_table(once)
        safety = safety_analysis(cohort, level=0.95)
        timings["baseline and safety"] = time.perf_counter() - t0

        prov = Provenance("outcomes_analysis",
                          {"definition": getattr(defn, "name", str(definition)), "level": level,
                           "conf_type": conf_type, "years": list(years)},
                          n=len(frame))
        return OutcomesAnalysis(
            frame=frame, definition=defn.to_dict() if hasattr(defn, "to_dict") else {},
            definition_name=getattr(defn, "name", str(definition)), followup=fu, halt_ms=halt,
            shevchenko=shev, cox=cox, ph_test=ph, cox_note=note, trajectories=visits,
            trajectory_summary=traj, published=pubs, published_source=pub_source, level=level,
            conf_type=conf_type, years=years, provenance=prov, timings=timings,
            excluded=len(getattr(endpoints, "excluded", [])),
            endpoint_summary=endpoints.summary_table(),
            worsening_classes=endpoints.class_counts(),
            definition_text=defn.describe() if hasattr(defn, "describe") else "",
            baseline=baseline, safety=safety, halt_ms_like=like, comparisons=comparisons,
        )
