"""HTML/PDF design report for a preset (template ``reports/templates/design/design.html.j2``).

The rendering machinery is imported lazily so the statistical core stays free of report
dependencies at import time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hsctms.design.presets import PresetResult


def _fig_svg(draw: Any) -> str:
    from hsctms.plots._style import figure_to_svg, new_axes

    ax = new_axes(figsize=(6.4, 3.8))
    draw(ax)
    fig = ax.get_figure(root=True)
    assert fig is not None
    return figure_to_svg(fig)


def report_context(result: PresetResult) -> dict[str, Any]:
    """Template context: assumptions, sample sizes, plots, interim plan, OC table."""
    gsd = result.gsd
    fixed = result.gsd_fixed_size
    stages = []
    for k in range(gsd.k):
        stages.append({
            "k": k + 1, "info": gsd.info_rates[k], "size": gsd.stage_sizes(fixed)[k],
            "efficacy": gsd.efficacy[k], "nominal_p": gsd.stage_levels[k],
            "futility": None if gsd.futility is None else gsd.futility[k],
            "alpha_spent": gsd.alpha_spent[k], "p_efficacy_h1": gsd.rejection_h1[k],
            "p_futility_h1": gsd.futility_h1[k] if k < gsd.k - 1 else None})
    designs = [("primary", result.primary), *result.sensitivity]
    rows = []
    for label, r in designs:
        rows.append({"label": label, "solved_for": r.solved_for, "method": r.method,
                     "effect": r.effect, "n": r.n_total if math.isfinite(r.n_total) else None,
                     "n_ceil": r.n_total_ceil, "events": r.extra.get("events"),
                     "power": r.power, "alpha": r.alpha, "sided": r.sided})
    return {
        "preset": result.preset,
        "assumptions": result.preset.assumptions,
        "designs": rows,
        "primary": result.primary,
        "power_svg": _fig_svg(result.plot),
        "gsd": gsd, "gsd_stages": stages, "gsd_fixed": fixed,
        "gsd_max": gsd.max_sample_size(fixed), "size_unit": result.preset.size_unit,
        "gsd_svg": _fig_svg(gsd.plot),
        "sims": result.simulations, "n_trials": result.n_trials, "seed": result.seed,
        "seq": result.sequential,
        "protocol": result.protocol,
        "type1": result.type1_error, "type1_check": result.type1_check,
        "refs": _all_refs(result),
        "ref_number": {k: i + 1 for i, (k, _) in enumerate(_all_refs(result))},
        "oc_svg": None if result.protocol is None or not result.protocol.oc
        else _fig_svg(lambda ax: _draw_oc(result, ax)),
    }


def _all_refs(result: PresetResult) -> list[tuple[str, Any]]:
    """References of the protocol sections (if any), then those of the assumption rows."""
    proto = result.protocol
    refs = [] if proto is None else proto.reference_list()
    known = dict(result.preset.references)
    if proto is not None:
        known |= proto.references
    seen = {k for k, _ in refs}
    for a in result.preset.assumptions:
        for k in a.studies:
            if k not in seen and k in known:
                refs.append((k, known[k]))
                seen.add(k)
    return refs


def _draw_oc(result: PresetResult, ax: Any) -> None:
    """Power of each framing against the true difference in NEDA-3 (aHSCT minus control)."""
    from hsctms.plots._style import PALETTE

    proto = result.protocol
    assert proto is not None
    for i, f in enumerate(proto.framings):
        pts = [(r["difference"], r[f.key]) for r in proto.oc if r.get(f.key) is not None]
        ax.plot([100 * d for d, _ in pts], [p for _, p in pts], marker="o", ms=3,
                color=PALETTE[i % len(PALETTE)], label=f"{f.label} ({f.design.n_total_ceil} "
                "evaluable)")
    ax.axhline(0.8, color=PALETTE[7], lw=0.6, ls=":")
    ax.axhline(0.025, color=PALETTE[7], lw=0.6, ls=":")
    ax.set_xlabel("true difference in NEDA-3, aHSCT minus alemtuzumab (percentage points)")
    ax.set_ylabel("probability of a positive trial")
    ax.set_ylim(0, 1.01)
    ax.legend(loc="lower right", fontsize=8)


def render_preset_report(result: PresetResult) -> str:
    """The design report as an HTML string."""
    from hsctms.reports.render import ReportMeta, render_html

    meta = ReportMeta(
        title=f"Trial design — {result.preset.title}",
        subtitle=result.preset.question,
        synthetic=False,
        n=result.primary.n_total_ceil,
        definitions=[
            f"Primary endpoint: {result.preset.endpoint}.",
            "Arm 1 = aHSCT (treatment), arm 2 = comparator; allocation ratio n1/n2.",
            "Two-sided tests use alpha/2 per tail; power counts rejections in the direction "
            "of benefit (rpact convention).",
            "Two proportions: score test (pooled / Farrington-Manning restricted MLE null "
            "variance); time to event: Schoenfeld events, exponential accrual/dropout model.",
            "Interim plan: Lan-DeMets spending on the z-scale; futility bounds are "
            "non-binding.",
            "Simulation: Monte Carlo SE = sqrt(p(1-p)/trials) for rates, SD/sqrt(trials) for "
            "bias; type I error simulated with the effect on the null boundary and no "
            "crossover or early deaths.",
        ],
        sources=_sources(result),
    )
    return render_html("design/design.html.j2", report_context(result), meta)


def _sources(result: PresetResult) -> list[str]:
    """Citations (with DOI) of the evidence-base studies the report uses, and the checks."""
    out = []
    for i, (_, ref) in enumerate(_all_refs(result)):
        doi = f" doi:{ref.doi}" if ref.doi else ""
        flag = " (unverified: " + ", ".join(ref.unverified) + ")" if ref.unverified else ""
        out.append(f"[{i + 1}] {ref.citation}.{doi}{flag}")
    return [*out, "Sample sizes and power checked against rpact 3.3.4 (R) golden values."]


def write_preset_report(result: PresetResult, out: str | Path, *,
                        progress: Callable[[str], None] | None = None) -> Path:
    """Write the report as ``.html`` or ``.pdf``.

    Parameters
    ----------
    result
        From :func:`~hsctms.design.presets.evaluate_preset`.
    out
        ``.html`` or ``.pdf`` file (PDF: :func:`hsctms.reports.render.write_pdf`).
    progress
        Called with a short description of each step.

    Returns
    -------
    Path
        ``out``.
    """
    from hsctms.reports.render import write_report

    if progress is not None:
        progress("drawing the figures and rendering the report")
    return write_report(render_preset_report(result), out, progress=progress)
