"""Pool the shipped evidence base (or a user's study table) in one call.

>>> from hsctms.meta.evidence_pool import pool_evidence
>>> res = pool_evidence("trm", by="era", measure="PFT")
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
from hsctms.meta.pooling import MetaAnalysis, pool_table
from hsctms.meta.regression import (
    MetaRegression,
    PoissonRegression,
    meta_regression,
    poisson_regression,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from hsctms.evidence import EvidenceBase

#: Subgroup variables of the evidence base -> column of the pooling table.
BY_COLUMNS = {"era": "era", "intensity": "intensity", "phenotype": "phenotype"}
#: Moderators tried in meta-regression (column -> label).
MODERATORS = {"pub_year": "publication year", "year": "year (evidence base: transplant midpoint)",
              "edss": "baseline EDSS", "pct_rrms": "% RRMS"}


@dataclass(frozen=True)
class PooledEvidence:
    """Pooled proportion, meta-regressions and Poisson regressions for one outcome
    (frozen: ``selection`` says which studies were pooled and is set when it is built)."""

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
        """JSON-serialisable form (schema in docs/meta-analysis.md)."""
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
        """Per-study table with the pooled row."""
        return self.meta.to_frame()

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Forest plot."""
        return self.meta.plot(ax=ax, **kwargs)


def _num(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def _univariable_fits(
    table: pd.DataFrame, moderators: tuple[str, ...], measure: str, method: str, level: float,
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
            regs[mod] = meta_regression(sub["events"], sub["n"], mods, measure=measure,
                                        method=method, level=level)
        except EstimationError as exc:
            notes.append(f"meta-regression on {name} could not be fitted: {exc.message}")
        if poisson and sub["events"].sum() > 0:
            try:
                pois[mod] = poisson_regression(sub["events"], sub["n"], mods, level=level)
            except EstimationError as exc:
                notes.append(f"Poisson regression on {name} could not be fitted: "
                             f"{exc.message}")
    return regs, pois


def _joint_fits(table: pd.DataFrame, joint: tuple[str, ...] | None, *, measure: str,
                method: str, level: float, poisson: bool) -> tuple[Any, Any]:
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
    joint_reg = meta_regression(sub["events"], sub["n"], mods, measure=measure, method=method,
                                level=level)
    joint_pois = None
    if poisson and sub["events"].sum() > 0:
        joint_pois = poisson_regression(sub["events"], sub["n"], mods, level=level)
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


def pool_data(
    data: pd.DataFrame,
    outcome: str = "proportion",
    *,
    time_years: float | None = None,
    by: str | None = None,
    measure: str = "PLO",
    method: str = "REML",
    level: float = 0.95,
    test: str = "z",
    moderators: tuple[str, ...] = tuple(MODERATORS),
    published: pd.DataFrame | None = None,
    caveats: list[str] | None = None,
    label: str = "",
    poisson: bool = True,
    joint: tuple[str, ...] | None = None,
    selection: dict[str, Any] | None = None,
) -> PooledEvidence:
    """Pool a study table (``study``, ``events``, ``n`` + optional moderator columns).

    ``selection`` describes where the studies came from (kept in the result and its JSON).
    A ``study_id`` column, if present, is carried into ``meta.studies``.

    ``poisson`` adds the Poisson models (pooled rate and per-moderator rate ratios), which
    suit rare events such as deaths. ``joint`` names moderators fitted together in one
    (multivariable) meta-regression and Poisson model, on the studies that have all of them.
    """
    table = data.reset_index(drop=True)
    by_col = None
    if by is not None:
        by_col = BY_COLUMNS.get(by, by)
        if by_col not in table.columns:
            raise EstimationError(f"Cannot form subgroups by {by!r}: no such column.",
                                  hint=f"Columns: {', '.join(map(str, table.columns))}.")
        table = table.assign(**{by_col: table[by_col].astype(object).where(
            table[by_col].notna(), "unknown").astype(str)})
    notes: list[str] = []  # fits that could not be made: shown as caveats, never dropped
    if method.upper() == "GLMM":
        if by_col is not None:
            raise EstimationError("Subgroups are not available with method GLMM.",
                                  hint="Use REML or DL for subgroup analysis.")
        from hsctms.meta.glmm import glmm_proportions

        meta = glmm_proportions(table["events"], table["n"], table["study"].astype(str),
                                level=level, label=label)
        method = "REML"  # meta-regressions below stay on the transformed scale
    else:
        meta = pool_table(table, measure=measure, method=method, level=level, test=test,
                          by=by_col, label=label)
    if "study_id" in table.columns:
        meta = replace(meta, studies=meta.studies.assign(
            study_id=table["study_id"].to_numpy()))
    regs, pois = _univariable_fits(table, moderators, measure, method, level,
                                   poisson=poisson, notes=notes)
    pooled_pois = None
    if poisson and table["events"].sum() > 0 and len(table) > 1:
        pooled_pois = poisson_regression(table["events"], table["n"], level=level)
    joint_reg, joint_pois = _joint_fits(table, joint, measure=measure, method=method,
                                        level=level, poisson=poisson)
    if meta.method == "GLMM" and (regs or joint_reg is not None):
        notes.append(f"meta-regressions are REML fits on the {measure} scale (no GLMM "
                     "meta-regression); the pooled estimate is the GLMM's")
    return PooledEvidence(outcome=outcome, time_years=time_years, data=table, meta=meta,
                          regressions=regs, poisson=pois, poisson_pooled=pooled_pois,
                          published=published, caveats=[*(caveats or []), *notes],
                          joint=joint_reg, joint_poisson=joint_pois,
                          selection=dict(selection or {}))


def pool_evidence(
    outcome: str = "trm",
    *,
    time_years: float | None = None,
    by: str | None = None,
    measure: str = "PLO",
    method: str = "REML",
    level: float = 0.95,
    test: str = "z",
    population: str = "all",
    include_superseded: bool = False,
    verified_only: bool = False,
    studies: list[str] | None = None,
    evidence: EvidenceBase | None = None,
    joint: tuple[str, ...] | None = None,
) -> PooledEvidence:
    """Pool an outcome of the shipped evidence base across aHSCT cohorts.

    Parameters
    ----------
    outcome
        ``"trm"`` (transplant-related mortality from the studies' death counts) or a
        percentage outcome (``progression_free``, ``neda``, ``relapse_free``, ...) at
        ``time_years``; events of Kaplan-Meier figures are reconstructed (flagged).
    by
        ``"era"``, ``"intensity"`` or ``"phenotype"`` for subgroup analysis.
    measure, method, level, test
        As in :func:`hsctms.meta.pool_proportions`; ``method="GLMM"`` fits the
        binomial-normal model (:func:`hsctms.meta.glmm_proportions`) instead.
    population
        Subgroup rows to use for non-TRM outcomes (default whole cohorts).
    include_superseded, verified_only, studies
        Study selection (superseded reports are excluded by default).
    joint
        Moderators for one multivariable meta-regression (e.g. ``("pub_year", "edss",
        "pct_rrms")``), fitted on the studies that have all of them.
    """
    from hsctms.evidence import load_evidence

    if by is not None and by not in BY_COLUMNS:
        raise ConfigurationError(f"Unknown subgroup variable {by!r} for the evidence base.",
                                 hint=f"Use one of {', '.join(BY_COLUMNS)} (CLI: --by).")
    ev = evidence or load_evidence()
    caveats: list[str] = []
    if outcome == "trm":
        data = ev.trm_data(include_superseded=include_superseded, verified_only=verified_only,
                           studies=studies)
        label = "Transplant-related mortality"
    else:
        if time_years is None:
            raise EvidenceError(f"Pooling {outcome!r} needs a time point.",
                                hint="Pass time_years (CLI: --time YEARS).")
        data = ev.proportion_data(outcome, time_years, population=population,
                                  verified_only=verified_only,
                                  include_superseded=include_superseded)
        if studies is not None:
            data = data[data["study"].isin(studies)]
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
    published = ev.published_pooled(outcome)
    if time_years is not None and not published.empty:
        t = pd.to_numeric(published["time_years"], errors="coerce")
        published = published[(t - time_years).abs() <= 0.05]
    data = data.assign(study=data["label"], study_id=data["study"])
    selection = {"source": "hsctms evidence base", "outcome": outcome,
                 "time_years": time_years, "population": population,
                 "include_superseded": include_superseded, "verified_only": verified_only,
                 "studies": None if studies is None else list(studies),
                 "regimen_map": ev.regimen_map}
    return pool_data(data, outcome, time_years=time_years, by=by, measure=measure,
                     method=method, level=level, test=test,
                     published=published.reset_index(drop=True), caveats=caveats, label=label,
                     poisson=outcome == "trm", joint=joint, selection=selection)


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

    Raises :class:`hsctms.errors.EvidenceError` naming the file, line and column of any
    problem.
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
