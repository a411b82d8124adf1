"""Pool the shipped evidence base (or a user's study table) in one call.

>>> from hsctms.meta import ModelSpec
>>> from hsctms.meta.evidence_pool import pool_evidence
>>> res = pool_evidence("trm", by="era", model=ModelSpec(measure="PFT"))
>>> res.meta.k > 20
True

The result bundles the random-effects pooled proportion (with subgroups), univariable
meta-regressions and Poisson regressions on each available moderator (publication year,
baseline EDSS, % RRMS, as Sormani et al. 2017), the published pooled figures for the same
outcome, and caveats (overlapping cohorts, reconstructed events, unverified inputs).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hsctms._files import read_regular_file
from hsctms.errors import ConfigurationError, EstimationError, EvidenceError
from hsctms.meta.options import MODERATORS as _MODERATORS
from hsctms.meta.options import ModelSpec, RegressionSpec, SourceInfo
from hsctms.meta.pooling import MetaAnalysis, pool_table
from hsctms.meta.regression import (
    MetaRegression,
    PoissonRegression,
    meta_regression,
    poisson_regression,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from hsctms.evidence import EvidenceBase, EvidenceSelection

#: Subgroup variables of the evidence base -> column of the pooling table.
BY_COLUMNS = {"era": "era", "intensity": "intensity", "phenotype": "phenotype"}
#: Moderators tried in meta-regression (column -> label); the default of
#: :attr:`RegressionSpec.moderators <hsctms.meta.RegressionSpec>`.
MODERATORS = _MODERATORS


@dataclass(frozen=True)
class PooledEvidence:
    """Pooled proportion, meta-regressions and Poisson regressions for one outcome.

    Frozen: built complete by :func:`pool_data` (``selection`` says which studies were
    pooled).

    Parameters
    ----------
    outcome : str
        Outcome pooled (``"trm"``, ``"progression_free"``, ..., or a user's label).
    time_years : float or None
        Time point of a percentage outcome, in years; ``None`` for TRM or a user's table.
    data : pandas.DataFrame
        The pooled study table (``study``, ``events``, ``n``, moderators, subgroup column).
    meta : MetaAnalysis
        The pooled proportion (with ``subgroups`` when asked for).
    regressions : dict of str to MetaRegression, default {}
        Univariable meta-regression per moderator column that could be fitted.
    poisson : dict of str to PoissonRegression, default {}
        Univariable Poisson regression per moderator column (when Poisson models are on).
    poisson_pooled : PoissonRegression or None, default None
        Intercept-only Poisson model: the pooled crude rate (Sormani 2017 style).
    published : pandas.DataFrame or None, default None
        Published pooled figures of the same outcome (percent).
    caveats : list of str, default []
        Caveats of the inputs and of fits that could not be made.
    joint : MetaRegression or None, default None
        Multivariable meta-regression on the ``joint`` moderators.
    joint_poisson : PoissonRegression or None, default None
        Multivariable Poisson regression on the ``joint`` moderators.
    selection : dict, default {}
        Where the studies came from and how they were chosen (kept in the JSON).
    """

    outcome: str
    time_years: float | None
    data: pd.DataFrame
    meta: MetaAnalysis
    regressions: dict[str, MetaRegression] = field(default_factory=dict)
    poisson: dict[str, PoissonRegression] = field(default_factory=dict)
    poisson_pooled: PoissonRegression | None = None
    published: pd.DataFrame | None = None
    caveats: list[str] = field(default_factory=list)
    joint: MetaRegression | None = None
    joint_poisson: PoissonRegression | None = None
    selection: dict[str, Any] = field(default_factory=dict)

    @property
    def provenance(self) -> Any:
        """Provenance of the pooled analysis."""
        return self.meta.provenance

    @property
    def summary(self) -> str:
        """Plain-text summary: pooled estimate, subgroups, regressions, published figures."""
        lines = [self.meta.summary]
        if self.poisson_pooled is not None:
            r = self.poisson_pooled.rate
            lines.append(f"  Poisson model (Sormani 2017 style): {100 * r[0]:.2f}% "
                         f"({100 * r[1]:.2f}% to {100 * r[2]:.2f}%)")
        for name, reg in self.regressions.items():
            coef, p = reg.coef[1], reg.pval[1]
            pois = self.poisson.get(name)
            extra = (f"; Poisson rate ratio {np.exp(pois.coef[1]):.3g} per unit "
                     f"(p = {pois.pval[1]:.3g})" if pois is not None else "")
            lines.append(f"  meta-regression on {MODERATORS.get(name, name)} (k = {reg.k}): "
                         f"slope {coef:.4g} on the {reg.measure} scale (p = {p:.3g}){extra}")
        if self.joint is not None:
            lines.append("  joint " + self.joint.summary.replace("\n", "\n  "))
        if self.joint_poisson is not None:
            lines.append("  joint " + self.joint_poisson.summary.replace("\n", "\n  "))
        if self.published is not None and not self.published.empty:
            lines.append("  published pooled figures:")
            for r in self.published.to_dict("records"):
                ci = (f" ({r['ci_low']:g}-{r['ci_high']:g})"
                      if not pd.isna(r["ci_low"]) and not pd.isna(r["ci_high"]) else "")
                pop = "" if r["population"] == "all" else f" [{r['population']}]"
                lines.append(f"    {r['label']}: {r['estimate']:g}%{ci}{pop}")
        lines += [f"  caveat: {c}" for c in self.caveats]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (schema in docs/meta-analysis.md).

        Returns
        -------
        dict
            :meth:`MetaAnalysis.to_dict` plus ``outcome``, ``time_years``, ``selection``,
            the meta-regressions and Poisson models, ``published`` figures and all
            ``caveats``.
        """
        out = self.meta.to_dict()
        out["outcome"] = self.outcome
        out["time_years"] = self.time_years
        out["selection"] = dict(self.selection)
        out["meta_regression"] = {k: v.to_dict() for k, v in self.regressions.items()}
        out["poisson_regression"] = {k: v.to_dict() for k, v in self.poisson.items()}
        out["poisson_pooled"] = (None if self.poisson_pooled is None
                                 else self.poisson_pooled.to_dict())
        out["meta_regression_joint"] = None if self.joint is None else self.joint.to_dict()
        out["poisson_regression_joint"] = (None if self.joint_poisson is None
                                           else self.joint_poisson.to_dict())
        out["published"] = ([] if self.published is None else [
            {"study_id": r["study_id"], "label": r["label"], "population": r["population"],
             "estimate_pct": _num(r["estimate"]), "ci_low_pct": _num(r["ci_low"]),
             "ci_high_pct": _num(r["ci_high"]), "time_years": _num(r["time_years"]),
             "verified": bool(r["verified"])} for r in self.published.to_dict("records")])
        out["caveats"] = list(dict.fromkeys([*self.meta.caveats, *self.caveats]))
        return out

    def to_frame(self) -> pd.DataFrame:
        """Per-study table with the pooled row.

        Returns
        -------
        pandas.DataFrame
            As :meth:`MetaAnalysis.to_frame`.
        """
        return self.meta.to_frame()

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Forest plot of the pooled proportion.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on (default: a new figure).
        **kwargs
            Passed to :func:`hsctms.plots.forest.forest_plot` (``title``, ``xlabel``,
            ``digits``, ``xmax``).

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.
        """
        return self.meta.plot(ax=ax, **kwargs)


def _num(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def _univariable_fits(
    table: pd.DataFrame, moderators: tuple[str, ...], spec: ModelSpec,
    *, poisson: bool, notes: list[str],
) -> tuple[dict[str, MetaRegression], dict[str, PoissonRegression]]:
    """One meta-regression (and Poisson model) per moderator column present in ``table``;
    moderators that cannot be fitted are explained in ``notes`` (appended to)."""
    regs: dict[str, MetaRegression] = {}
    pois: dict[str, PoissonRegression] = {}
    for mod in moderators:
        if mod not in table.columns:
            continue
        sub = table[pd.to_numeric(table[mod], errors="coerce").notna()]
        name = MODERATORS.get(mod, mod)
        if len(sub) < 3 or sub[mod].astype(float).nunique() < 2:
            notes.append(f"no meta-regression on {name}: {len(sub)} of {len(table)} studies "
                         f"report it, with {sub[mod].astype(float).nunique()} distinct "
                         "value(s) (needs at least 3 studies and 2 values)")
            continue
        mods = {mod: sub[mod].astype(float).to_numpy()}
        try:
            regs[mod] = meta_regression(sub["events"], sub["n"], mods, model=spec)
        except EstimationError as exc:
            notes.append(f"meta-regression on {name} could not be fitted: {exc.message}")
        if poisson and sub["events"].sum() > 0:
            try:
                pois[mod] = poisson_regression(sub["events"], sub["n"], mods,
                                               level=spec.level)
            except EstimationError as exc:
                notes.append(f"Poisson regression on {name} could not be fitted: "
                             f"{exc.message}")
    return regs, pois


def _joint_fits(table: pd.DataFrame, joint: tuple[str, ...] | None, *, spec: ModelSpec,
                poisson: bool) -> tuple[Any, Any]:
    """The multivariable meta-regression and Poisson model on ``joint`` (``None`` each when
    not asked for), fitted on the studies that have all of the moderators.

    Raises
    ------
    EstimationError
        A moderator is not a column of the table.
    """
    if not joint:
        return None, None
    unknown = [m for m in joint if m not in table.columns]
    if unknown:
        raise EstimationError(f"Unknown moderator(s) {unknown}.",
                              hint=f"Columns: {', '.join(map(str, table.columns))}.")
    cols = list(joint)
    sub = table[table[cols].apply(pd.to_numeric, errors="coerce").notna().all(axis=1)]
    mods = {m: sub[m].astype(float).to_numpy() for m in cols}
    joint_reg = meta_regression(sub["events"], sub["n"], mods, model=spec)
    joint_pois = None
    if poisson and sub["events"].sum() > 0:
        joint_pois = poisson_regression(sub["events"], sub["n"], mods, level=spec.level)
    return joint_reg, joint_pois


def _overlap_caveats(ev: EvidenceBase, ids: set[str]) -> list[str]:
    """One caveat per pair of pooled studies that may share patients."""
    caveats: list[str] = []
    for sid in sorted(ids):
        overl = sorted(set(ev.study(sid)["overlaps"]) & ids)
        for other in overl:
            if sid < other:
                caveats.append(f"{sid} and {other} may share patients")
    return caveats


def _regression_model(spec: ModelSpec) -> ModelSpec:
    """The model of the meta-regressions next to a pooled estimate: the pooled model's
    measure, level and test (Knapp-Hartung t and F tests when the pooled estimate uses
    them), with REML in place of a GLMM."""
    return ModelSpec(measure=spec.measure, method=spec.inverse_variance(), level=spec.level,
                     test=spec.test)


def _subgroup_column(table: pd.DataFrame, by: str | None) -> tuple[pd.DataFrame, str | None]:
    """The table with the subgroup column's missing labels as ``"unknown"``, and its name.

    Raises
    ------
    EstimationError
        ``by`` names no column of the table.
    """
    if by is None:
        return table, None
    by_col = BY_COLUMNS.get(by, by)
    if by_col not in table.columns:
        raise EstimationError(f"Cannot form subgroups by {by!r}: no such column.",
                              hint=f"Columns: {', '.join(map(str, table.columns))}.")
    return table.assign(**{by_col: table[by_col].astype(object).where(
        table[by_col].notna(), "unknown").astype(str)}), by_col


def _pooled_meta(table: pd.DataFrame, spec: ModelSpec, by_col: str | None,
                 label: str) -> MetaAnalysis:
    """The pooled proportion: the GLMM or an inverse-variance model (with subgroups).

    Raises
    ------
    EstimationError
        Subgroups were asked for with the GLMM.
    """
    if spec.is_glmm:
        if by_col is not None:
            raise EstimationError("Subgroups are not available with method GLMM.",
                                  hint="Use REML or DL for subgroup analysis.")
        from hsctms.meta.glmm import glmm_proportions

        return glmm_proportions(table["events"], table["n"], table["study"].astype(str),
                                level=spec.level, label=label)
    return pool_table(table, model=spec, by=by_col, label=label)


def pool_data(
    data: pd.DataFrame,
    outcome: str = "proportion",
    *,
    time_years: float | None = None,
    by: str | None = None,
    model: ModelSpec | None = None,
    regression: RegressionSpec | None = None,
    label: str = "",
    source: SourceInfo | None = None,
) -> PooledEvidence:
    """Pool a study table: pooled proportion, subgroups, meta-regressions, Poisson models.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per study: ``study`` (label), ``events``, ``n``, optional numeric moderator
        columns (``pub_year``, ``year``, ``edss``, ``pct_rrms``, ...) and subgroup columns.
        A ``study_id`` column, if present, is carried into ``meta.studies``.
    outcome : str, default "proportion"
        Name of the outcome, kept in the result.
    time_years : float, optional
        Time point of the outcome in years, kept in the result.
    by : str, optional
        Subgroup variable: ``"era"``, ``"intensity"``, ``"phenotype"`` or any column of
        ``data``; missing labels form an ``"unknown"`` group.
    model : ModelSpec, optional
        Pooling model (default ``ModelSpec()``: PLO, REML, 0.95, z). ``method="GLMM"`` pools
        with the binomial-normal model (no subgroups); the meta-regressions are then REML
        fits on the ``measure`` scale, which a caveat says.
    regression : RegressionSpec, optional
        Moderators fitted one at a time, Poisson models (``poisson=None`` means on) and the
        joint moderators (default ``RegressionSpec()``).
    label : str, default ""
        Title of the analysis.
    source : SourceInfo, optional
        Where the studies came from: the ``selection`` record, input caveats and published
        pooled figures to show beside the result.

    Returns
    -------
    PooledEvidence
        The pooled proportion with its regressions; moderators that could not be fitted are
        explained in ``caveats``, never dropped silently.

    Raises
    ------
    hsctms.errors.EstimationError
        When ``by`` or a joint moderator is not a column, subgroups are asked for with the
        GLMM, or a model cannot be fitted.
    """
    spec = model or ModelSpec()
    regs_spec = regression or RegressionSpec()
    src = source or SourceInfo()
    poisson = regs_spec.fits_poisson(True)
    table, by_col = _subgroup_column(data.reset_index(drop=True), by)
    notes: list[str] = []  # fits that could not be made: shown as caveats, never dropped
    meta = _pooled_meta(table, spec, by_col, label)
    if "study_id" in table.columns:
        meta = replace(meta, studies=meta.studies.assign(
            study_id=table["study_id"].to_numpy()))
    reg_model = _regression_model(spec)
    regs, pois = _univariable_fits(table, regs_spec.moderators, reg_model, poisson=poisson,
                                   notes=notes)
    pooled_pois = None
    if poisson and table["events"].sum() > 0 and len(table) > 1:
        pooled_pois = poisson_regression(table["events"], table["n"], level=spec.level)
    joint_reg, joint_pois = _joint_fits(table, regs_spec.joint, spec=reg_model,
                                        poisson=poisson)
    if meta.method == "GLMM" and (regs or joint_reg is not None):
        notes.append(f"meta-regressions are REML fits on the {spec.measure} scale (no GLMM "
                     "meta-regression); the pooled estimate is the GLMM's")
    return PooledEvidence(outcome=outcome, time_years=time_years, data=table, meta=meta,
                          regressions=regs, poisson=pois, poisson_pooled=pooled_pois,
                          published=src.published, caveats=[*src.caveats, *notes],
                          joint=joint_reg, joint_poisson=joint_pois,
                          selection=dict(src.selection))


def _evidence_rows(ev: EvidenceBase, outcome: str, time_years: float | None,
                   sel: EvidenceSelection) -> tuple[pd.DataFrame, str, list[str]]:
    """The studies to pool for ``outcome``: table, label and input caveats.

    Raises
    ------
    EvidenceError
        A percentage outcome without a time point, or no studies to pool.
    """
    caveats: list[str] = []
    if outcome == "trm":
        data = ev.trm_data(include_superseded=sel.include_superseded,
                           verified_only=sel.verified_only, studies=sel.studies)
        label = "Transplant-related mortality"
    else:
        if time_years is None:
            raise EvidenceError(f"Pooling {outcome!r} needs a time point.",
                                hint="Pass time_years (CLI: --time YEARS).")
        data = ev.proportion_data(outcome, time_years, population=sel.population,
                                  verified_only=sel.verified_only,
                                  include_superseded=sel.include_superseded)
        if sel.studies is not None:
            data = data[data["study"].isin(sel.studies)]
        label = f"{outcome} at {time_years:g} y"
        recon = data.loc[data["events_reconstructed"], "study"].tolist()
        if recon:
            caveats.append(f"events reconstructed as estimate x n (ignores censoring) for "
                           f"{len(recon)} of {len(data)} studies")
    if data.empty:
        raise EvidenceError(f"No studies to pool for {outcome!r}.")
    unverified = data.loc[~data["verified"].astype(bool), "study"].tolist()
    if unverified:
        caveats.append(f"unverified inputs: {', '.join(unverified)}")
    caveats += _overlap_caveats(ev, set(data["study"]))
    return data, label, caveats


def pool_evidence(
    outcome: str = "trm",
    *,
    time_years: float | None = None,
    by: str | None = None,
    model: ModelSpec | None = None,
    selection: EvidenceSelection | None = None,
    regression: RegressionSpec | None = None,
    evidence: EvidenceBase | None = None,
) -> PooledEvidence:
    """Pool an outcome of the shipped evidence base across aHSCT cohorts.

    Parameters
    ----------
    outcome : str, default "trm"
        ``"trm"`` (transplant-related mortality from the studies' death counts) or a
        percentage outcome (``progression_free``, ``neda``, ``relapse_free``, ...) at
        ``time_years``; events of Kaplan-Meier figures are reconstructed (flagged).
    time_years : float, optional
        Time point of a percentage outcome, in years (required for them; matched within
        0.05 y). Published pooled figures are then shown for that time point only.
    by : str, optional
        ``"era"``, ``"intensity"`` or ``"phenotype"`` for subgroup analysis.
    model : ModelSpec, optional
        Pooling model, as in :func:`hsctms.meta.pool_proportions` (default
        ``ModelSpec()``); ``method="GLMM"`` fits the binomial-normal model
        (:func:`hsctms.meta.glmm_proportions`) instead.
    selection : hsctms.evidence.EvidenceSelection, optional
        Population, studies, superseded reports and verification (default
        ``EvidenceSelection()``: whole cohorts, every current report, superseded ones
        excluded).
    regression : RegressionSpec, optional
        Meta-regressions to add (default ``RegressionSpec()``: each moderator alone;
        Poisson models for ``"trm"`` only unless ``poisson`` is set; ``joint`` e.g.
        ``("pub_year", "edss", "pct_rrms")`` for one multivariable model).
    evidence : hsctms.evidence.EvidenceBase, optional
        Evidence base to pool (default: the shipped one, :func:`hsctms.evidence.load_evidence`).

    Returns
    -------
    PooledEvidence
        The pooled analysis with the published figures of the same outcome and caveats
        (possible cohort overlaps, reconstructed events, unverified inputs).

    Raises
    ------
    hsctms.errors.ConfigurationError
        When ``by`` is not a subgroup variable of the evidence base.
    hsctms.errors.EvidenceError
        A percentage outcome without ``time_years``, or no studies to pool.
    hsctms.errors.NotFoundError
        An unknown study id in ``selection.studies``.
    """
    from hsctms.evidence import EvidenceSelection, load_evidence

    if by is not None and by not in BY_COLUMNS:
        raise ConfigurationError(f"Unknown subgroup variable {by!r} for the evidence base.",
                                 hint=f"Use one of {', '.join(BY_COLUMNS)} (CLI: --by).")
    sel = selection or EvidenceSelection()
    regs_spec = regression or RegressionSpec()
    ev = evidence or load_evidence()
    data, label, caveats = _evidence_rows(ev, outcome, time_years, sel)
    published = ev.published_pooled(outcome)
    if time_years is not None and not published.empty:
        t = pd.to_numeric(published["time_years"], errors="coerce")
        published = published[(t - time_years).abs() <= 0.05]
    data = data.assign(study=data["label"], study_id=data["study"])
    record = {"source": "hsctms evidence base", "outcome": outcome,
              "time_years": time_years, "population": sel.population,
              "include_superseded": sel.include_superseded,
              "verified_only": sel.verified_only,
              "studies": None if sel.studies is None else list(sel.studies),
              "regimen_map": ev.regimen_map}
    return pool_data(data, outcome, time_years=time_years, by=by, model=model,
                     regression=replace(regs_spec,
                                        poisson=regs_spec.fits_poisson(outcome == "trm")),
                     label=label,
                     source=SourceInfo(selection=record, caveats=tuple(caveats),
                                       published=published.reset_index(drop=True)))


def _read_study_csv(p: Path) -> pd.DataFrame:
    """The study table file as text cells (no type checks yet).

    Raises
    ------
    EvidenceError
        The file does not exist, cannot be read or is not a readable CSV file.
    """
    if not p.exists():
        raise EvidenceError(f"Study table {p} does not exist.",
                            hint="Give a CSV with columns study, events, n.")
    try:
        data = read_regular_file(p)  # a directory, FIFO or device is refused unread
    except OSError as exc:
        raise EvidenceError(f"Study table {p} cannot be read: {exc}.",
                            hint="Give a CSV file with columns study, events, n.") from None
    try:
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise EvidenceError(f"{p.name} is not a readable CSV file: {exc}",
                            hint="Save it as comma-separated UTF-8 text.") from exc


def _count_problems(df: pd.DataFrame, out: pd.DataFrame) -> list[str]:
    """Check the ``events`` and ``n`` cells of ``df`` (whole numbers, events <= n), storing
    the parsed numbers into ``out``; one message per bad cell or row."""
    problems = []
    for col in ("events", "n"):
        vals = pd.to_numeric(df[col].str.strip(), errors="coerce")
        for i, v in enumerate(vals):
            if pd.isna(v) or v < 0 or v != int(v) or (col == "n" and v == 0):
                problems.append(f"line {i + 2}, column {col!r}: {df[col].iloc[i]!r} is not a "
                                f"whole number{' > 0' if col == 'n' else ' >= 0'}")
        out[col] = vals
    for i in range(len(df)):
        e, n = out["events"].iloc[i], out["n"].iloc[i]
        if not (pd.isna(e) or pd.isna(n)) and e > n:
            problems.append(f"line {i + 2}: events ({int(e)}) exceed n ({int(n)})")
    return problems


def read_study_table(path: str | Path) -> pd.DataFrame:
    """Read a user's study table (CSV: ``study, events, n`` + optional numeric moderators
    such as ``year``, ``edss``, ``pct_rrms``; optional text columns for subgroups).

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file (UTF-8, comma-separated, header row first; column names are
        case-insensitive).

    Returns
    -------
    pandas.DataFrame
        The table with lower-case column names, ``events`` and ``n`` as integers and the
        known moderators (``year`` 1900-2100, ``edss`` 0-10, ``pct_rrms`` 0-100) as floats
        (blank cells NaN); other columns are kept as text.

    Raises
    ------
    hsctms.errors.EvidenceError
        Naming the file, line and column of every problem (missing file or column, bad
        count, events > n, non-numeric or out-of-range moderator).
    """
    p = Path(path)
    df = _read_study_csv(p)
    df.columns = [c.strip().lower() for c in df.columns]
    missing = [c for c in ("study", "events", "n") if c not in df.columns]
    if missing:
        raise EvidenceError(f"{p.name} lacks column(s) {', '.join(missing)}.",
                            hint="Required columns: study, events, n (header row first).")
    if df.empty:
        raise EvidenceError(f"{p.name} has no study rows.")
    out = df.copy()
    problems = _count_problems(df, out)
    for col in ("year", "edss", "pct_rrms"):
        if col in df.columns:
            vals = pd.to_numeric(df[col].str.strip().replace("", np.nan), errors="coerce")
            bad = [i for i, (raw, v) in enumerate(zip(df[col], vals, strict=True))
                   if raw.strip() and pd.isna(v)]
            problems += [f"line {i + 2}, column {col!r}: {df[col].iloc[i]!r} is not a number"
                         for i in bad]
            lim = {"edss": (0, 10), "pct_rrms": (0, 100), "year": (1900, 2100)}[col]
            problems += [f"line {i + 2}, column {col!r}: {v:g} is outside {lim[0]}-{lim[1]}"
                         for i, v in enumerate(vals) if not pd.isna(v)
                         and not lim[0] <= v <= lim[1]]
            out[col] = vals
    if problems:
        raise EvidenceError(f"{p.name} has {len(problems)} problem(s):\n  "
                            + "\n  ".join(problems[:30]),
                            hint="Fix the named cells; events and n are counts per study.")
    out["events"] = out["events"].astype(int)
    out["n"] = out["n"].astype(int)
    out["study"] = out["study"].astype(str)
    return out


__all__ = ["PooledEvidence", "pool_data", "pool_evidence", "read_study_table"]
