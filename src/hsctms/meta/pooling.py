"""Random-effects (and fixed-effect) meta-analysis of single proportions.

>>> from hsctms.meta import ModelSpec, pool_proportions
>>> res = pool_proportions([4, 1, 0, 3], [25, 42, 19, 52],
...                        model=ModelSpec(measure="PFT", method="REML"))
>>> 0 < res.prop < 0.2
True

Conventions follow R metafor (see :mod:`hsctms.meta.effects` and :mod:`hsctms.meta._fit`):
z-based CIs and prediction interval (``est ± z·sqrt(se² + tau²)``) by default, Knapp-Hartung
(t with k-1 df) with ``ModelSpec(test="knha")``; I² = tau²/(tau² + s²) with metafor's "typical"
within-study variance s² (equal to Higgins' (Q-df)/Q for DL).

Zero events: PLO adds 0.5 to zero cells only (x = 0 or x = n); PFT needs no correction.
A single study is reported with its exact (Clopper-Pearson) interval. See
``docs/meta-analysis.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from hsctms._provenance import Provenance
from hsctms.errors import EstimationError
from hsctms.meta._fit import Fit, check_method, fit, q_profile_ci, versions
from hsctms.meta.effects import (
    back_transform,
    check_counts,
    escalc,
    exact_ci,
    harmonic_mean,
)
from hsctms.meta.options import ModelSpec

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

MEASURE_NAMES = {"PLO": "logit (PLO)", "PFT": "Freeman-Tukey double arcsine (PFT)"}
METHOD_NAMES = {"FE": "fixed effect (inverse variance)", "DL": "DerSimonian-Laird",
                "REML": "restricted maximum likelihood"}


def _f(x: float | None, digits: int = 4) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _pair(p: tuple[float, float] | None) -> list[float | None] | None:
    return None if p is None else [_f(p[0]), _f(p[1])]


def _pct(x: float | None) -> str:
    return "NA" if x is None or not np.isfinite(x) else f"{100 * x:.1f}%"


@dataclass(frozen=True)
class MetaAnalysis:
    """A pooled proportion with heterogeneity statistics.

    Proportions (``prop``, ``prop_ci``, ``prop_pi``) are on the 0-1 scale; ``estimate``,
    ``se``, ``ci`` are on the transformed scale of ``measure``. Frozen: built complete by
    :func:`pool_proportions` (or :func:`hsctms.meta.glmm_proportions`).

    Parameters
    ----------
    measure : str
        ``"PLO"`` or ``"PFT"``.
    method : str
        ``"REML"``, ``"DL"``, ``"FE"``, ``"GLMM"`` or ``"single study (exact binomial)"``.
    level : float
        Confidence level of every interval.
    test : str
        ``"z"`` or ``"knha"``.
    studies : pandas.DataFrame
        Per study: ``study``, ``events``, ``n``, ``yi``, ``vi``, ``prop``, ``ci_low``,
        ``ci_high`` (normal-approximation limits back-transformed), ``exact_low``,
        ``exact_high`` (Clopper-Pearson), ``weight`` (%), and ``group`` with subgroups.
    estimate, se : float
        Pooled estimate and its standard error on the ``measure`` scale.
    zval, pval : float
        Test statistic (z, or t under ``knha``) and two-sided p-value of the estimate.
    ci : tuple of float
        Confidence limits of ``estimate``.
    pi : tuple of float or None
        Prediction interval of ``estimate`` (``est ± crit·sqrt(se² + tau²)``); ``None``
        for FE.
    prop : float
        Pooled proportion (0-1); PFT back-transforms with the harmonic-mean n.
    prop_ci, prop_pi : tuple of float (prop_pi may be None)
        Confidence and prediction limits of the proportion.
    tau2 : float
        Between-study variance (0 for FE).
    I2, H2 : float or None
        I² (%) and H², metafor style; ``None`` for a single study.
    Q, Q_df, Q_p : float, int, float
        Cochran's Q test of heterogeneity (the likelihood-ratio statistic for a GLMM).
    provenance : hsctms._provenance.Provenance
        Method, definition and package versions.
    caveats : list of str, default []
        Warnings about the inputs (zero cells, no events, single study, ...).
    subgroups : SubgroupAnalysis or None, default None
        Subgroup analysis, when ``by`` was given.
    label : str, default ""
        Title of the analysis.
    tau2_ci, I2_ci, H2_ci : tuple of float or None, default None
        Q-profile confidence intervals of tau², I² and H² (random-effects models with k > 1).
    """

    measure: str
    method: str
    level: float
    test: str
    studies: pd.DataFrame
    estimate: float
    se: float
    zval: float
    pval: float
    ci: tuple[float, float]
    pi: tuple[float, float] | None
    prop: float
    prop_ci: tuple[float, float]
    prop_pi: tuple[float, float] | None
    tau2: float
    I2: float | None
    H2: float | None
    Q: float
    Q_df: int
    Q_p: float
    provenance: Provenance
    caveats: list[str] = field(default_factory=list)
    subgroups: SubgroupAnalysis | None = None
    label: str = ""
    tau2_ci: tuple[float, float] | None = None
    I2_ci: tuple[float, float] | None = None
    H2_ci: tuple[float, float] | None = None

    @property
    def k(self) -> int:
        """Number of studies."""
        return len(self.studies)

    @property
    def summary(self) -> str:
        """Plain-text summary."""
        lvl = f"{100 * self.level:g}%"
        head = (f"{self.label + ': ' if self.label else ''}pooled proportion "
                f"{_pct(self.prop)} ({lvl} CI {_pct(self.prop_ci[0])} to {_pct(self.prop_ci[1])})")
        lines = [head,
                 f"  {self.k} studies, {int(self.studies['n'].sum())} patients, "
                 f"{int(self.studies['events'].sum())} events; "
                 f"{MEASURE_NAMES[self.measure]}, {METHOD_NAMES.get(self.method, self.method)}"
                 + (", Knapp-Hartung" if self.test == "knha" else "")]
        if self.prop_pi is not None:
            lines.append(f"  {lvl} prediction interval {_pct(self.prop_pi[0])} to "
                         f"{_pct(self.prop_pi[1])}")
        if self.k > 1:
            i2 = "NA" if self.I2 is None else f"{self.I2:.1f}%"
            if self.I2_ci is not None:
                i2 += f" ({lvl} CI {self.I2_ci[0]:.1f}% to {self.I2_ci[1]:.1f}%)"
            lines.append(f"  heterogeneity: tau² = {self.tau2:.4g}, I² = {i2}, "
                         f"Q = {self.Q:.2f} (df {self.Q_df}, p = {self.Q_p:.3g})")
        if self.subgroups is not None:
            lines.append(self.subgroups.summary)
        lines += [f"  caveat: {c}" for c in self.caveats]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """Per-study table (with weights) followed by the pooled row.

        Returns
        -------
        pandas.DataFrame
            ``studies`` plus a last row ``study == "Pooled"`` with the totals, the pooled
            proportion and its CI, and weight 100.
        """
        df = self.studies.copy()
        pooled = {"study": "Pooled", "events": int(df["events"].sum()), "n": int(df["n"].sum()),
                  "prop": self.prop, "ci_low": self.prop_ci[0], "ci_high": self.prop_ci[1],
                  "weight": 100.0}
        return pd.concat([df, pd.DataFrame([pooled])], ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable result (schema in docs/meta-analysis.md).

        Returns
        -------
        dict
            Settings, ``pooled`` (proportion and transformed-scale estimate with intervals),
            ``heterogeneity``, ``studies``, ``caveats``, ``provenance`` and, with subgroups,
            ``subgroups``; non-finite numbers as ``None``.
        """
        studies = []
        for r in self.studies.to_dict("records"):
            studies.append({k: (v.item() if isinstance(v, np.generic) else v)
                            for k, v in r.items()})
        out: dict[str, Any] = {
            "label": self.label, "measure": self.measure, "method": self.method,
            "test": self.test, "level": self.level, "k": self.k,
            "n": int(self.studies["n"].sum()), "events": int(self.studies["events"].sum()),
            "pooled": {"proportion": _f(self.prop), "ci_low": _f(self.prop_ci[0]),
                       "ci_high": _f(self.prop_ci[1]),
                       "pi_low": None if self.prop_pi is None else _f(self.prop_pi[0]),
                       "pi_high": None if self.prop_pi is None else _f(self.prop_pi[1]),
                       "estimate": _f(self.estimate), "se": _f(self.se), "z": _f(self.zval),
                       "p": _f(self.pval), "estimate_ci_low": _f(self.ci[0]),
                       "estimate_ci_high": _f(self.ci[1])},
            "heterogeneity": {"tau2": _f(self.tau2), "I2": _f(self.I2), "H2": _f(self.H2),
                              "Q": _f(self.Q), "df": self.Q_df, "p": _f(self.Q_p),
                              "tau2_ci": _pair(self.tau2_ci), "I2_ci": _pair(self.I2_ci),
                              "H2_ci": _pair(self.H2_ci),
                              "ci_method": "Q-profile"},
            "studies": [{k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                         for k, v in s.items()} for s in studies],
            "caveats": list(self.caveats),
            "provenance": self.provenance.to_dict(),
        }
        if self.subgroups is not None:
            out["subgroups"] = self.subgroups.to_dict()
        return out

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Forest plot (see :func:`hsctms.plots.forest.forest_plot`).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on (default: a new figure).
        **kwargs
            Passed to :func:`~hsctms.plots.forest.forest_plot` (``title``, ``xlabel``,
            ``digits``, ``xmax``).

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.
        """
        from hsctms.plots.forest import forest_plot

        return forest_plot(self, ax=ax, **kwargs)


@dataclass(frozen=True)
class SubgroupAnalysis:
    """Pooled proportions per subgroup and the test for subgroup differences.

    ``Q_between`` is the fixed-effect Q statistic across the subgroup estimates (each subgroup
    with its own tau², as R ``meta``'s "test for subgroup differences" and metafor
    ``rma(est, sei=se, method="FE")``); ``mixed_QM`` is the Wald test of the subgroup factor
    in a mixed-effects meta-regression with a common tau². Frozen: built complete by
    :func:`subgroup_analysis`.

    Parameters
    ----------
    by : str
        Name of the subgrouping variable.
    groups : dict of str to MetaAnalysis
        Pooled analysis per subgroup label (sorted), each with its own tau².
    Q_between : float
        Fixed-effect Q statistic across the subgroup estimates.
    df : int
        Degrees of freedom of the tests (number of subgroups - 1).
    p_between : float
        p-value of ``Q_between`` (chi² with ``df``).
    mixed_QM, mixed_p, mixed_tau2 : float or None
        Wald statistic, p-value and common tau² of the mixed-effects test; ``None`` when
        that model could not be fitted (explained in ``caveats``).
    caveats : list of str, default []
        Fits that could not be made.
    """

    by: str
    groups: dict[str, MetaAnalysis]
    Q_between: float
    df: int
    p_between: float
    mixed_QM: float | None
    mixed_p: float | None
    mixed_tau2: float | None
    caveats: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """Plain-text summary."""
        lines = [f"  subgroups by {self.by}:"]
        for name, g in self.groups.items():
            lines.append(f"    {name}: {_pct(g.prop)} ({_pct(g.prop_ci[0])} to "
                         f"{_pct(g.prop_ci[1])}), k = {g.k}, tau² = {g.tau2:.4g}")
        lines.append(f"    test for subgroup differences: Q = {self.Q_between:.2f} "
                     f"(df {self.df}, p = {self.p_between:.3g})")
        if self.mixed_QM is not None and self.mixed_p is not None:
            lines.append(f"    mixed-effects test (common tau² = {_f(self.mixed_tau2) or 0:.4g}):"
                         f" QM = {self.mixed_QM:.2f} (df {self.df}, p = {self.mixed_p:.3g})")
        lines += [f"    caveat: {c}" for c in self.caveats]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            ``by``, per-group summaries (``groups``), ``test_between``,
            ``mixed_effects_test`` and ``caveats``.
        """
        return {
            "by": self.by,
            "groups": {name: {"k": g.k, "n": int(g.studies["n"].sum()),
                              "events": int(g.studies["events"].sum()),
                              "proportion": _f(g.prop), "ci_low": _f(g.prop_ci[0]),
                              "ci_high": _f(g.prop_ci[1]), "tau2": _f(g.tau2), "I2": _f(g.I2),
                              "estimate": _f(g.estimate), "se": _f(g.se),
                              "studies": list(g.studies["study"])}
                       for name, g in self.groups.items()},
            "test_between": {"Q": _f(self.Q_between), "df": self.df, "p": _f(self.p_between),
                             "method": "fixed-effect Q across subgroup estimates "
                                       "(separate tau² per subgroup)"},
            "mixed_effects_test": {"QM": _f(self.mixed_QM), "p": _f(self.mixed_p),
                                   "tau2": _f(self.mixed_tau2)},
            "caveats": list(self.caveats),
        }


def pool_proportions(
    events: ArrayLike,
    n: ArrayLike,
    studies: Sequence[str] | None = None,
    *,
    model: ModelSpec | None = None,
    by: Sequence[Any] | None = None,
    by_name: str = "group",
    label: str = "",
) -> MetaAnalysis:
    """Pool single-arm proportions (events / n) across studies, as ``metafor::rma``.

    Parameters
    ----------
    events, n : array_like of int
        Event counts (>= 0) and sample sizes (> 0, >= events) per study, in study order.
    studies : sequence of str, optional
        Study labels, one per study (default ``S1``, ``S2``, ...).
    model : ModelSpec, optional
        Effect size, tau² estimator, confidence level and test (default
        ``ModelSpec()``: PLO, REML, 0.95, z). ``method="GLMM"`` is refused here: use
        :func:`hsctms.meta.glmm_proportions`.
    by : sequence, optional
        Subgroup label per study (missing labels become ``"unknown"``); adds a
        :class:`SubgroupAnalysis` in ``subgroups`` and a ``group`` column to ``studies``.
    by_name : str, default "group"
        Name of the subgrouping variable, used in labels and the summary.
    label : str, default ""
        Title of the analysis (e.g. the outcome), shown in the summary and forest plot.

    Returns
    -------
    MetaAnalysis
        The pooled proportion (back-transformed; PFT with the harmonic-mean n) with CI,
        prediction interval, tau² with its Q-profile CI, I², H², Q and per-study weights.
        A single study is reported with its exact Clopper-Pearson interval, not pooled.

    Raises
    ------
    hsctms.errors.EstimationError
        For invalid counts, or a number of labels that does not match the studies.
    hsctms.errors.ConfigurationError
        For ``method="GLMM"``.
    """
    spec = model or ModelSpec()
    spec.require_inverse_variance("pool_proportions")
    meas, meth, lvl, test = spec.measure, check_method(spec.method), spec.level, spec.test
    x, m = check_counts(events, n)
    k = x.size
    names = [f"S{i + 1}" for i in range(k)] if studies is None else [str(s) for s in studies]
    if len(names) != k:
        raise EstimationError(f"{len(names)} study labels for {k} studies.")
    yi, vi = escalc(meas, x, m)
    z = float(stats.norm.ppf(1 - (1 - lvl) / 2))
    s_lo, s_hi = yi - z * np.sqrt(vi), yi + z * np.sqrt(vi)
    ex_lo, ex_hi = exact_ci(x, m, level=lvl)
    table = pd.DataFrame({
        "study": names, "events": x.astype(int), "n": m.astype(int), "yi": yi, "vi": vi,
        "prop": x / m, "ci_low": back_transform(meas, s_lo, m),
        "ci_high": back_transform(meas, s_hi, m), "exact_low": ex_lo, "exact_high": ex_hi,
    })
    caveats = _caveats(x, m, meas)
    prov = Provenance(
        method="meta_analysis_proportions",
        definition={"measure": meas, "method": meth, "level": lvl, "test": test,
                    "zero_cells": "PLO: 0.5 added to zero cells only" if meas == "PLO"
                    else "PFT: no correction needed",
                    "prediction_interval": "est ± crit·sqrt(se² + tau²)",
                    "I2": "tau²/(tau² + typical within-study variance) (metafor)"},
        n=k, versions=versions(),
    )
    if k == 1:
        return _single_study(table, meas, meth, lvl, test, prov, caveats, label)
    res = fit(yi, vi, None, meth, lvl, test)
    nhm = harmonic_mean(m)
    est, se = float(res.coef[0]), float(res.se[0])
    table["weight"] = res.weights
    pi = None
    prop_pi = None
    if meth != "FE":
        half = res.crit * np.sqrt(se**2 + res.tau2)
        pi = (est - half, est + half)
        prop_pi = _back_pair(meas, pi, nhm)
    extra: dict[str, Any] = {}
    if meth != "FE":
        lo, hi, s2 = q_profile_ci(yi, vi, None, lvl)
        extra.update(tau2_ci=(lo, hi), I2_ci=(100 * lo / (lo + s2), 100 * hi / (hi + s2)),
                     H2_ci=((lo + s2) / s2, (hi + s2) / s2))
    if by is not None:
        sub = subgroup_analysis(x, m, names, list(by), model=spec, by=by_name)
        table["group"] = [str(g) for g in by]
        extra.update(subgroups=sub)
        caveats = [*caveats, *sub.caveats]
    out = MetaAnalysis(
        measure=meas, method=meth, level=lvl, test=test, studies=table, estimate=est, se=se,
        zval=float(res.stat[0]), pval=float(res.pval[0]),
        ci=(float(res.ci_lb[0]), float(res.ci_ub[0])), pi=pi,
        prop=float(back_transform(meas, est, nhm)),
        prop_ci=_back_pair(meas, (float(res.ci_lb[0]), float(res.ci_ub[0])), nhm),
        prop_pi=prop_pi, tau2=res.tau2, I2=res.I2, H2=res.H2, Q=res.QE, Q_df=res.QE_df,
        Q_p=res.QEp, provenance=prov, caveats=caveats, label=label, **extra,
    )
    return out


def _back_pair(meas: str, pair: tuple[float, float], nhm: float) -> tuple[float, float]:
    lo, hi = back_transform(meas, np.array(pair), nhm)
    return float(lo), float(hi)


def _caveats(x: np.ndarray, m: np.ndarray, meas: str) -> list[str]:
    out = []
    zeros = int(np.sum(x == 0))
    if zeros and meas == "PLO":
        out.append(f"{zeros} study(ies) with zero events: PLO adds 0.5 to their cells, which "
                   "pulls rare-event estimates upwards; compare with PFT or the Poisson model.")
    if x.sum() == 0:
        out.append("No events in any study: the pooled estimate is driven by the transform's "
                   "handling of zeros; report the exact upper bound per study instead.")
    return out


def _single_study(table: pd.DataFrame, meas: str, meth: str, lvl: float, test: str,
                  prov: Provenance, caveats: list[str], label: str) -> MetaAnalysis:
    row = table.iloc[0]
    table = table.assign(weight=100.0)
    prop = float(row["events"] / row["n"])
    caveats = [*caveats, "Single study: proportion with its exact (Clopper-Pearson) CI; "
               "no pooling, no heterogeneity."]
    return MetaAnalysis(
        measure=meas, method="single study (exact binomial)", level=lvl, test=test,
        studies=table, estimate=float(row["yi"]), se=float(np.sqrt(row["vi"])),
        zval=float("nan"), pval=float("nan"), ci=(float("nan"), float("nan")), pi=None,
        prop=prop, prop_ci=(float(row["exact_low"]), float(row["exact_high"])), prop_pi=None,
        tau2=0.0, I2=None, H2=None, Q=0.0, Q_df=0, Q_p=1.0, provenance=prov, caveats=caveats,
        label=label,
    )


def subgroup_analysis(
    events: ArrayLike, n: ArrayLike, studies: Sequence[str], groups: Sequence[Any], *,
    model: ModelSpec | None = None, by: str = "group",
) -> SubgroupAnalysis:
    """Pool within each subgroup and test for subgroup differences.

    Parameters
    ----------
    events, n : array_like of int
        Event counts and sample sizes per study.
    studies : sequence of str
        Study labels, one per study.
    groups : sequence
        Subgroup label per study; ``None`` or NaN becomes ``"unknown"``. At least two
        distinct labels are needed.
    model : ModelSpec, optional
        Model fitted within each subgroup and in the mixed-effects test (default
        ``ModelSpec()``); GLMM is refused.
    by : str, default "group"
        Name of the subgrouping variable, used in labels and messages.

    Returns
    -------
    SubgroupAnalysis
        One :class:`MetaAnalysis` per subgroup (each with its own tau²), the fixed-effect Q
        test across the subgroup estimates and the mixed-effects (common tau²) Wald test.

    Raises
    ------
    hsctms.errors.EstimationError
        When the labels do not match the studies or there is only one subgroup.
    """
    spec = model or ModelSpec()
    spec.require_inverse_variance("subgroup_analysis")
    x, m = check_counts(events, n)
    labels = ["unknown" if g is None or (isinstance(g, float) and np.isnan(g)) else str(g)
              for g in groups]
    if len(labels) != x.size:
        raise EstimationError(f"{len(labels)} subgroup labels for {x.size} studies.")
    levels = sorted(set(labels))
    if len(levels) < 2:
        raise EstimationError(f"Subgroup analysis by {by!r} needs at least two groups; all "
                              f"studies are in {levels[0]!r}.")
    fits: dict[str, MetaAnalysis] = {}
    for lev in levels:
        idx = np.array([lab == lev for lab in labels])
        fits[lev] = pool_proportions(x[idx], m[idx], [s for s, i in zip(studies, idx,
                                                                        strict=True) if i],
                                     model=spec, label=f"{by} = {lev}")
    ests = np.array([g.estimate for g in fits.values()])
    ses = np.array([g.se for g in fits.values()])
    qb = fit(ests, ses**2, None, "FE", spec.level, "z")
    mixed_qm = mixed_p = mixed_tau2 = None
    notes: list[str] = []
    yi, vi = escalc(spec.measure, x, m)
    dummies = np.array([[1.0 if lab == lev else 0.0 for lev in levels[1:]] for lab in labels])
    try:
        mix = fit(yi, vi, dummies, check_method(spec.method), spec.level, "z")
        mixed_qm, mixed_p, mixed_tau2 = mix.QM, mix.QMp, mix.tau2
    except EstimationError as exc:
        notes.append(f"the mixed-effects test of subgroup differences by {by} could not be "
                     f"fitted ({exc.message}); only the Q test across subgroups is reported")
    return SubgroupAnalysis(by=by, groups=fits, Q_between=qb.QE, df=len(levels) - 1,
                            p_between=qb.QEp, mixed_QM=mixed_qm, mixed_p=mixed_p,
                            mixed_tau2=mixed_tau2, caveats=notes)


def pool_table(
    table: pd.DataFrame, *, model: ModelSpec | None = None, by: str | None = None,
    label: str = "",
) -> MetaAnalysis:
    """:func:`pool_proportions` on a DataFrame with columns ``study``, ``events``, ``n``.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per study: ``events`` and ``n`` (required), ``study`` (labels; optional) and
        any subgroup column named by ``by``.
    model : ModelSpec, optional
        Effect size, tau² estimator, level and test (default ``ModelSpec()``).
    by : str, optional
        Column holding each study's subgroup label.
    label : str, default ""
        Title of the analysis.

    Returns
    -------
    MetaAnalysis
        As :func:`pool_proportions`.

    Raises
    ------
    hsctms.errors.EstimationError
        When ``events`` or ``n`` (or the ``by`` column) is missing; the hint lists the
        columns.
    """
    missing = [c for c in ("events", "n") if c not in table.columns]
    if missing:
        raise EstimationError(f"The study table lacks column(s) {missing}.",
                              hint="Give columns study, events, n.")
    names = table["study"].astype(str).tolist() if "study" in table.columns else None
    groups = None
    if by is not None:
        if by not in table.columns:
            raise EstimationError(f"No column {by!r} to form subgroups.",
                                  hint=f"Columns: {', '.join(map(str, table.columns))}.")
        groups = table[by].tolist()
    return pool_proportions(table["events"].to_numpy(), table["n"].to_numpy(), names,
                            model=model, by=groups, by_name=by or "group", label=label)


__all__ = ["Fit", "MetaAnalysis", "SubgroupAnalysis", "pool_proportions", "pool_table",
           "subgroup_analysis"]
