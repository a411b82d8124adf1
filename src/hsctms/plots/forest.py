"""Forest plots for proportion meta-analyses (:class:`hsctms.meta.MetaAnalysis`).

One row per study (observed proportion, square sized by weight, exact Clopper-Pearson CI
whisker, as R ``meta`` draws them), optional subgroup blocks with their
own pooled diamonds, the overall pooled diamond and the prediction interval; the left column
names the study and its counts, the right column gives the estimate with CI and the weight.

>>> from hsctms.meta import pool_proportions
>>> from hsctms.plots.forest import forest_plot
>>> ax = forest_plot(pool_proportions([1, 0, 3], [24, 55, 120], ["A", "B", "C"]))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hsctms.errors import ConfigurationError
from hsctms.plots._style import PALETTE, RC

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from hsctms.meta.pooling import MetaAnalysis
    from hsctms.meta.regression import MetaRegression


@dataclass
class _Row:
    kind: str  # study | header | diamond | pi | blank
    label: str
    counts: str = ""
    est: float = float("nan")
    lo: float = float("nan")
    hi: float = float("nan")
    weight: float | None = None
    note: str = ""


def _fmt(p: float, lo: float, hi: float, digits: int) -> str:
    return f"{100 * p:.{digits}f} [{100 * lo:.{digits}f}, {100 * hi:.{digits}f}]"


def _rows(res: MetaAnalysis, digits: int) -> list[_Row]:
    rows: list[_Row] = []

    def studies(table: Any) -> None:
        for r in table.to_dict("records"):
            rows.append(_Row("study", str(r["study"]), f"{int(r['events'])}/{int(r['n'])}",
                             float(r["prop"]), float(r["exact_low"]), float(r["exact_high"]),
                             float(r.get("weight", np.nan))))

    def pooled(m: MetaAnalysis, label: str) -> None:
        note = ""
        if m.k > 1 and m.I2 is not None:
            note = f"I² = {m.I2:.0f}%, tau² = {m.tau2:.3g}"
        rows.append(_Row("diamond", label, f"{int(m.studies['events'].sum())}/"
                         f"{int(m.studies['n'].sum())}", m.prop, m.prop_ci[0], m.prop_ci[1],
                         note=note))

    if res.subgroups is not None:
        for name, g in res.subgroups.groups.items():
            rows.append(_Row("header", f"{res.subgroups.by}: {name}"))
            studies(g.studies)
            pooled(g, f"Subtotal (k = {g.k})")
            rows.append(_Row("blank", ""))
    else:
        studies(res.studies)
    pooled(res, f"Pooled ({res.method}, k = {res.k})")
    if res.prop_pi is not None:
        rows.append(_Row("pi", "Prediction interval", "", float("nan"), res.prop_pi[0],
                         res.prop_pi[1]))
    return rows


def _draw_mark(ax: Axes, yi: float, r: _Row, wmax: float) -> None:
    """Draw one row's mark: a study's square and CI line, a pooled diamond, or a prediction
    interval (header rows have none)."""
    from matplotlib.patches import Polygon

    h = 0.32  # diamond half-height
    if r.kind == "study":
        ax.plot([100 * r.lo, 100 * r.hi], [yi, yi], color="#333333", lw=1.0,
                solid_capstyle="butt", zorder=2)
        wt = r.weight
        size = (4 + 10 * np.sqrt(wt / wmax) if wt is not None and np.isfinite(wt)
                else 7.0)  # GLMM results carry no weights
        ax.plot(100 * r.est, yi, marker="s", ms=size, color=PALETTE[0], mec="white",
                mew=0.5, zorder=3, linestyle="none")
    elif r.kind == "diamond":
        overall = r.label.startswith("Pooled")
        color = PALETTE[1] if overall else PALETTE[0]
        ax.add_patch(Polygon([(100 * r.lo, yi), (100 * r.est, yi + h), (100 * r.hi, yi),
                              (100 * r.est, yi - h)], closed=True, facecolor=color,
                             edgecolor=color, alpha=0.9 if overall else 0.6, zorder=3))
    elif r.kind == "pi":
        ax.plot([100 * r.lo, 100 * r.hi], [yi, yi], color=PALETTE[1], lw=2.2,
                solid_capstyle="butt", zorder=3)
        for end in (r.lo, r.hi):
            ax.plot([100 * end] * 2, [yi - 0.18, yi + 0.18], color=PALETTE[1], lw=1.5)


def forest_plot(
    res: MetaAnalysis,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "Proportion (%)",
    digits: int = 1,
    xmax: float | None = None,
) -> Axes:
    """Draw a forest plot of ``res`` and return the Axes.

    Parameters
    ----------
    res
        A :class:`hsctms.meta.MetaAnalysis` (subgroup blocks are drawn when it has
        ``subgroups``).
    ax
        Axes to draw on; a new figure sized to the number of rows otherwise.
    title, xlabel
        Labels.
    digits
        Decimals of the percentages in the right-hand column.
    xmax
        Upper x limit in percent (default: just beyond the largest upper limit).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.

    Raises
    ------
    ConfigurationError
        When ``res`` is not a :class:`~hsctms.meta.MetaAnalysis`, ``digits`` is not a whole
        number 0-6, or ``xmax`` is not a number > 0.
    """
    from hsctms.plots import _checks

    # duck-typed (plots sit below the statistics layer and import no result class at run time)
    if not all(hasattr(res, a) for a in ("studies", "prop", "prop_ci", "measure", "method")):
        raise ConfigurationError(f"forest_plot needs a MetaAnalysis, got {type(res).__name__}.",
                                 hint="Pool the studies first, e.g. with "
                                 "hsctms.meta.pool_proportions(events, n, studies).")
    if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 6:
        raise ConfigurationError(f"forest_plot: digits must be a whole number 0-6, got "
                                 f"{digits!r}.", hint="Leave digits out for 1 decimal.")
    _checks.positive("forest_plot", "xmax", xmax)
    import matplotlib.pyplot as plt
    from matplotlib.transforms import blended_transform_factory

    rows = _rows(res, digits)
    if ax is None:
        with plt.rc_context(RC):
            fig, ax = plt.subplots(figsize=(10.0, 1.6 + 0.32 * len(rows)))
        fig.subplots_adjust(left=0.33, right=0.68, top=1 - 0.55 / (1.6 + 0.32 * len(rows)),
                            bottom=0.75 / (1.6 + 0.32 * len(rows)))
    y = np.arange(len(rows))[::-1].astype(float)
    his = [r.hi for r in rows if np.isfinite(r.hi)]
    top = xmax if xmax is not None else min(100.0, 100.0 * max(his) * 1.08 if his else 100.0)
    top = max(top, 1.0)
    weights = [r.weight for r in rows if r.kind == "study" and r.weight is not None
               and np.isfinite(r.weight)]
    wmax = max(weights) if weights else 1.0
    text = blended_transform_factory(ax.transAxes, ax.transData)
    for yi, r in zip(y, rows, strict=True):
        _draw_mark(ax, yi, r, wmax)
        weight = ("" if r.weight is None or not np.isfinite(r.weight)
                  else f"{r.weight:.1f}%")
        bold = "bold" if r.kind in ("header", "diamond") else "normal"
        ax.text(-0.95, yi, r.label, transform=text, ha="left", va="center",
                fontsize=9, fontweight=bold)
        ax.text(-0.04, yi, r.counts, transform=text, ha="right", va="center", fontsize=9)
        if np.isfinite(r.lo):
            est = r.est if np.isfinite(r.est) else float("nan")
            right = (_fmt(est, r.lo, r.hi, digits) if np.isfinite(est)
                     else f"[{100 * r.lo:.{digits}f}, {100 * r.hi:.{digits}f}]")
            ax.text(1.04, yi, right, transform=text, ha="left", va="center", fontsize=9,
                    fontweight=bold)
        ax.text(1.62, yi, weight, transform=text, ha="right", va="center", fontsize=9)
        if r.note:
            ax.text(-0.95, yi - 0.42, r.note, transform=text, ha="left", va="center",
                    fontsize=7.5, color="#555555")
    head = len(rows) - 0.2
    ax.text(-0.95, head, "Study", transform=text, ha="left", fontweight="bold", fontsize=9)
    ax.text(-0.04, head, "Events/n", transform=text, ha="right", fontweight="bold", fontsize=9)
    lvl = f"{100 * res.level:g}%"
    ax.text(1.04, head, f"% [{lvl} CI]", transform=text, ha="left", fontweight="bold",
            fontsize=9)
    ax.text(1.62, head, "Weight", transform=text, ha="right", fontweight="bold", fontsize=9)
    ax.axvline(100 * res.prop, color=PALETTE[1], lw=0.8, ls=(0, (3, 3)), zorder=1)
    ax.set_ylim(-0.8, len(rows) + 0.3)
    ax.set_xlim(0, top)
    ax.set_yticks([])
    ax.set_xlabel(xlabel)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.grid(False)
    ax.grid(True, axis="x", alpha=0.25)
    measure = {"PLO": "logit", "PFT": "Freeman-Tukey"}.get(res.measure, res.measure)
    foot = (f"Study CIs exact (Clopper-Pearson); pooled on the {measure} scale, {res.method}"
            + (", Knapp-Hartung" if res.test == "knha" else "")
            + f"; heterogeneity {'LRT' if res.method == 'GLMM' else 'Q'} = {res.Q:.2f} "
            f"(df {res.Q_df}, p = {res.Q_p:.3g})")
    if res.subgroups is not None:
        sg = res.subgroups
        foot += (f"; subgroup differences Q = {sg.Q_between:.2f} (df {sg.df}, "
                 f"p = {sg.p_between:.3g})")
    ax.annotate(foot, xy=(-0.95, 0.0), xycoords="axes fraction", xytext=(0, -40),
                textcoords="offset points", ha="left", va="top", fontsize=7.5, color="#555555")
    if title:
        ax.set_title(title, loc="left", x=-0.95, fontsize=11, fontweight="bold", pad=18)
    return ax


def bubble_plot(
    reg: MetaRegression,
    ax: Axes | None = None,
    moderator: str | None = None,
    title: str | None = None,
    ylabel: str = "Proportion (%)",
) -> Axes:
    """Bubble plot of a meta-regression: study proportions (bubble area proportional to the
    random-effects weight) against ``moderator``, with the fitted proportion and its CI
    (other moderators held at their weighted mean), back-transformed from the model scale.

    Parameters
    ----------
    reg
        A fitted :class:`hsctms.meta.MetaRegression` that carries its study data.
    ax
        Axes to draw on; None (default) creates a new figure.
    moderator
        Moderator on the x axis; default None, the first moderator of the model.
    title
        Title; default None, which states the moderator, measure, method and the
        moderator's p-value.
    ylabel
        y-axis label; default ``"Proportion (%)"`` (proportions are drawn in percent).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.

    Raises
    ------
    ConfigurationError
        When ``reg`` is not a :class:`~hsctms.meta.MetaRegression` or ``moderator`` is not one
        of its moderators (the hint lists them).
    EstimationError
        When ``reg`` carries no study data or has no moderator to plot against.
    """
    from hsctms.plots._style import new_axes

    if not all(hasattr(reg, a) for a in ("terms", "coef", "vcov", "data", "measure",
                                          "fitted_curve")):
        raise ConfigurationError(f"bubble_plot needs a MetaRegression, got "
                                 f"{type(reg).__name__}.",
                                 hint="Fit one with hsctms.meta.meta_regression(...).")
    curve = reg.fitted_curve(moderator)  # checks the data and the moderator
    names = list(reg.terms[1:])
    mod = names[0] if moderator is None else moderator
    d = reg.data
    assert d is not None  # fitted_curve refused a result without data
    ax = new_axes(ax, figsize=(6.4, 4.4))
    w = d["weight"].to_numpy(float)
    ax.scatter(d[mod], 100 * d["events"] / d["n"], s=20 + 400 * w / w.max(), alpha=0.55,
               color=PALETTE[0], edgecolor="white", linewidth=0.6, zorder=3,
               label="studies (area ~ weight)")
    ax.plot(curve["moderator"], 100 * curve["fit"], color=PALETTE[1], lw=2, label="fitted")
    ax.fill_between(curve["moderator"], 100 * curve["lower"], 100 * curve["upper"],
                    color=PALETTE[1], alpha=0.15, label=f"{100 * reg.level:g}% CI")
    j = names.index(mod) + 1
    ax.set_xlabel(mod)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"Meta-regression on {mod} ({reg.measure}, {reg.method}): "
                 f"p = {reg.pval[j]:.3g}", loc="left")
    ax.legend(loc="upper right")
    ax.set_ylim(bottom=0)
    return ax
