"""Design presets for randomised aHSCT-versus-DMT trials: ZEUS, MIST-like and STAR-MS-like.

Every assumption carries its source and a status:

``published``  taken from a registry record or abstract (``evidence.md`` section named);
``derived``    computed from published numbers (check values in ``evidence-addendum.md`` B2);
``unverified`` marked *(unverified)* in the research notes; the flag is kept in every output;
``assumption`` not published anywhere we could read: a planning assumption of this toolkit.

None of the presets reproduces a published sample-size calculation: for ZEUS, MIST, StarMS
and RAM-MS the sample-size sections were **not retrieved** (evidence.md §4, addendum B/C).
They show what the toolkit computes from clearly labelled assumptions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hsctms._provenance import Provenance
from hsctms.design._base import DesignResult, jsonable
from hsctms.design.gsd import GroupSequentialDesign, group_sequential
from hsctms.design.proportions import two_proportions
from hsctms.design.sequential_sim import SequentialSimulationResult, simulate_group_sequential
from hsctms.design.simulate import Scenario, SimulationResult, grid_table, run_grid
from hsctms.design.survival import survival_design
from hsctms.errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

STATUSES = ("published", "derived", "unverified", "assumption")


@dataclass(frozen=True)
class Assumption:
    """One design input with where it comes from."""

    name: str
    value: str
    source: str
    status: str

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ConfigurationError(f"Unknown assumption status {self.status!r}.")

    @property
    def flagged(self) -> bool:
        """True for values that are not published facts."""
        return self.status in ("unverified", "assumption")

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"name": self.name, "value": self.value, "source": self.source,
                "status": self.status}


@dataclass(frozen=True)
class Preset:
    """A named design: primary calculation, sensitivity analyses, interim plan, simulations."""

    key: str
    title: str
    question: str
    endpoint: str
    primary: Callable[[], DesignResult]
    sensitivity: Sequence[tuple[str, Callable[[], DesignResult]]]
    assumptions: Sequence[Assumption]
    scenarios: Callable[[DesignResult], list[Scenario]]
    gsd: dict[str, Any] = field(default_factory=dict)
    size_unit: str = "patients"


TRM_1PCT = Assumption("Early treatment-related death (aHSCT arm, first 100 days)", "1%",
                      "evidence.md §5a (BMT 2020 meta-analysis: 1%; modern series 0-2.5%)",
                      "published")
DROPOUT = Assumption("Loss to follow-up", "10% over 2 years (exponential)",
                     "not retrieved for any trial (addendum C): planning assumption",
                     "assumption")
GSD_PLAN = Assumption("Interim analysis", "one at 50% information; Lan-DeMets O'Brien-Fleming "
                      "alpha spending; non-binding O'Brien-Fleming-type beta-spending futility",
                      "planning assumption", "assumption")


def _dropout_rate(fraction: float, years: float) -> float:
    return -math.log1p(-fraction) / years


def _disease_model() -> Any:
    try:
        from hsctms.datasets import disease_model
    except ImportError:  # pragma: no cover - the demo generator ships with hsctms
        return None
    return disease_model


# ------------------------------------------------------------------------- ZEUS
def _zeus_primary() -> DesignResult:
    return two_proportions(0.32, 0.32, power=0.8, margin=-0.10, alpha=0.025, sided=1)


def _zeus_scenarios(primary: DesignResult) -> list[Scenario]:
    per_arm = math.ceil(primary.n2 / 0.9 - 1e-9)  # inflate for 10% loss
    common = {"endpoint": "proportion", "n_treatment": per_arm, "n_control": per_arm,
              "p_treatment": 0.32, "p_control": 0.32, "null_value": -0.10, "alpha": 0.025,
              "sided": 1, "horizon": 2.0}
    drop = _dropout_rate(0.10, 2.0)
    out = [Scenario(**common, label="n inflated for loss; no loss"),  # type: ignore[arg-type]
           Scenario(**common, dropout_rate=drop, label="10% loss (excluded)"),  # type: ignore[arg-type]
           Scenario(**common, dropout_rate=drop, early_death=0.01,  # type: ignore[arg-type]
                    label="10% loss + 1% early TRM (= failure)"),
           Scenario(**{**common, "p_treatment": 0.40}, dropout_rate=drop,  # type: ignore[arg-type]
                    early_death=0.01, label="aHSCT NEDA 40% (better), loss + TRM")]
    dm = _disease_model()
    if dm is not None:
        out.append(Scenario("proportion", per_arm, per_arm, treatment_arm=dm.ahsct(),
                            control_arm=dm.alemtuzumab(), null_value=-0.10, alpha=0.025,
                            sided=1, horizon=2.0,
                            label="disease model: ahsct() vs alemtuzumab(), latent NEDA-3"))
        out.append(Scenario("proportion", per_arm, per_arm, treatment_arm=dm.ahsct(),
                            control_arm=dm.alemtuzumab(), null_value=-0.10, alpha=0.025,
                            sided=1, horizon=2.0, definition="halt_ms",
                            label="disease model + endpoint engine (halt_ms NEDA-3)"))
    return out


ZEUS = Preset(
    key="zeus",
    title="ZEUS: aHSCT versus alemtuzumab, non-inferiority on NEDA-3 at 2 years",
    question="How many patients does a non-inferiority trial of aHSCT against alemtuzumab need?",
    endpoint="NEDA-3 (no relapse, no new MRI activity, no confirmed EDSS worsening) at 2 years",
    primary=_zeus_primary,
    sensitivity=(
        ("margin -15 points", lambda: two_proportions(0.32, 0.32, power=0.8, margin=-0.15,
                                                      alpha=0.025, sided=1)),
        ("power 90%", lambda: two_proportions(0.32, 0.32, power=0.9, margin=-0.10,
                                              alpha=0.025, sided=1)),
        ("aHSCT NEDA 70% (lower end of 70-90%)",
         lambda: two_proportions(0.70, 0.32, power=0.8, margin=-0.10, alpha=0.025, sided=1)),
        ("Wald variance", lambda: two_proportions(0.32, 0.32, power=0.8, margin=-0.10,
                                                  alpha=0.025, sided=1, method="wald")),
    ),
    assumptions=(
        Assumption("Design", "non-inferiority of aHSCT vs alemtuzumab",
                   "evidence.md §4 / Appendix A: ZEUS proposal (Barts MS blog, Jan 2015)",
                   "published"),
        Assumption("Primary endpoint", "NEDA-3 at 2 years",
                   "not stated in the retrieved ZEUS text: planning assumption", "assumption"),
        Assumption("NEDA at 2 y, alemtuzumab", "32%",
                   "evidence.md §4 (COAST registry rationale citing CARE-MS II)", "published"),
        Assumption("NEDA at 2 y, aHSCT", "32% (equal efficacy, the conservative NI assumption)",
                   "planning assumption; aHSCT series report 70-90% (COAST registry)",
                   "assumption"),
        Assumption("Non-inferiority margin", "-10 percentage points (risk difference)",
                   "not published for ZEUS: planning assumption", "assumption"),
        Assumption("alpha / power", "one-sided 0.025 / 80%", "planning assumption",
                   "assumption"),
        DROPOUT, TRM_1PCT, GSD_PLAN,
    ),
    scenarios=_zeus_scenarios,
    gsd={"info_rates": [0.5, 1.0], "alpha": 0.025, "beta": 0.2, "sided": 1,
         "spending_function": "obf", "futility": "obf"},
)


# ------------------------------------------------------------------------- MIST
_MIST_KW: dict[str, Any] = {"control_median": 2.0, "accrual": 4.0, "follow_up": 1.0,
                            "dropout_rate": _dropout_rate(0.05, 1.0), "alpha": 0.05,
                            "sided": 2}


def _mist_primary() -> DesignResult:
    return survival_design(0.5, n=110, **_MIST_KW)


def _mist_scenarios(primary: DesignResult) -> list[Scenario]:
    common = {"endpoint": "survival", "n_treatment": 55, "n_control": 55, "hr": 0.5,
              "control_rate": math.log(2) / 2.0, "accrual": 4.0, "follow_up": 1.0,
              "alpha": 0.05, "sided": 2}
    drop = _dropout_rate(0.05, 1.0)
    return [Scenario(**common, label="as planned, no loss"),  # type: ignore[arg-type]
            Scenario(**common, dropout_rate=drop, label="5%/year loss"),  # type: ignore[arg-type]
            Scenario(**common, dropout_rate=drop, early_death=0.01,  # type: ignore[arg-type]
                     label="loss + 1% early TRM (death = event)"),
            Scenario(**{**common, "hr": 0.3}, dropout_rate=drop,  # type: ignore[arg-type]
                     label="HR 0.3, loss"),
            *_mist_model()]


def _mist_model() -> list[Scenario]:
    dm = _disease_model()
    if dm is None:
        return []
    return [Scenario("survival", 55, 55, treatment_arm=dm.ahsct(), control_arm=dm.mist_dmt(),
                     accrual=4.0, follow_up=1.0, alpha=0.05, sided=2,
                     model_endpoint="worsening",
                     label="disease model: ahsct() vs mist_dmt(), latent worsening"),
            Scenario("survival", 55, 55, treatment_arm=dm.ahsct(), control_arm=dm.mist_dmt(),
                     horizon=3.0, alpha=0.05, sided=2, definition="halt_ms",
                     model_endpoint="worsening",
                     label="disease model + endpoint engine: ahsct() vs mist_dmt(), "
                           "confirmed worsening, 3 y")]


MIST = Preset(
    key="mist",
    title="MIST-like: aHSCT versus best available DMT, time to confirmed progression",
    question="What power did 110 patients give for a hazard ratio of 0.5?",
    endpoint="time to EDSS progression (>= 1.0 point after >= 1 year, confirmed 6 months apart)",
    primary=_mist_primary,
    sensitivity=(
        ("HR 0.3", lambda: survival_design(0.3, n=110, **_MIST_KW)),
        ("HR 0.07 (observed in MIST)", lambda: survival_design(0.07, n=110, **_MIST_KW)),
        ("patients for HR 0.5 at 80% power", lambda: survival_design(0.5, power=0.8,
                                                                      **_MIST_KW)),
        ("detectable HR at 80% power, n = 110", lambda: survival_design(None, n=110, power=0.8,
                                                                        **_MIST_KW)),
    ),
    assumptions=(
        Assumption("Design", "superiority, 1:1, 110 patients (55/55)",
                   "evidence.md §4 / Appendix A (MIST, Burt 2019 JAMA abstract)", "published"),
        Assumption("Primary endpoint", "time to EDSS progression, confirmed",
                   "evidence.md Appendix A (MIST abstract)", "published"),
        Assumption("Control median time to progression", "24 months (exponential)",
                   "MIST abstract: median 24 months (IQR 18-48) in the DMT arm; using it as the "
                   "exponential median is an interpretation (unverified)", "unverified"),
        Assumption("Hazard ratio", "0.5", "sample-size assumptions NOT retrieved (evidence.md "
                   "§4): planning assumption; observed HR 0.07 (abstract)", "assumption"),
        Assumption("Accrual / follow-up", "4 years / 1 year after accrual",
                   "planning assumption (MIST randomised 2005-2016)", "assumption"),
        Assumption("Loss to follow-up", "5% per year", "planning assumption", "assumption"),
        Assumption("alpha", "two-sided 0.05", "planning assumption", "assumption"),
        TRM_1PCT, GSD_PLAN,
    ),
    scenarios=_mist_scenarios,
    gsd={"info_rates": [0.5, 1.0], "alpha": 0.025, "beta": 0.2, "sided": 1,
         "spending_function": "obf", "futility": "obf"},
    size_unit="events",
)


# ---------------------------------------------------------------------- STAR-MS
def _star_primary() -> DesignResult:
    return two_proportions(0.80, 0.60, n=198, alpha=0.05, sided=2)


def _star_scenarios(primary: DesignResult) -> list[Scenario]:
    common = {"endpoint": "proportion", "n_treatment": 99, "n_control": 99,
              "p_treatment": 0.80, "p_control": 0.60, "alpha": 0.05, "sided": 2,
              "horizon": 2.0}
    drop = _dropout_rate(0.10, 2.0)
    out = [Scenario(**common, label="as planned, no loss"),  # type: ignore[arg-type]
           Scenario(**common, dropout_rate=drop, label="10% loss (excluded)"),  # type: ignore[arg-type]
           Scenario(**common, dropout_rate=drop, early_death=0.01,  # type: ignore[arg-type]
                    label="loss + 1% early TRM (= failure)"),
           Scenario(**common, dropout_rate=drop, early_death=0.01,  # type: ignore[arg-type]
                    crossover=0.10, label="loss + TRM + 10% DMT-to-aHSCT crossover")]
    dm = _disease_model()
    if dm is not None:
        out.append(Scenario("proportion", 99, 99, treatment_arm=dm.ahsct(),
                            control_arm=dm.ocrelizumab(), alpha=0.05, sided=2, horizon=2.0,
                            label="disease model: ahsct() vs ocrelizumab(), latent NEDA-3"))
        out.append(Scenario("proportion", 99, 99, treatment_arm=dm.ahsct(),
                            control_arm=dm.ocrelizumab(), alpha=0.05, sided=2, horizon=2.0,
                            definition="halt_ms",
                            label="disease model + endpoint engine (halt_ms NEDA-3)"))
    return out


STAR_MS = Preset(
    key="starms",
    title="STAR-MS-like: aHSCT versus high-efficacy DMT, NEDA over 2 years (superiority)",
    question="What does a 198-patient superiority trial on NEDA detect?",
    endpoint="NEDA over 2 years of follow-up",
    primary=_star_primary,
    sensitivity=(
        ("detectable DMT NEDA at 80% power, 198", lambda: two_proportions(0.80, None, n=198,
                                                                           power=0.8)),
        ("detectable DMT NEDA at 80% power, 178 (10% loss)",
         lambda: two_proportions(0.80, None, n=178, power=0.8)),
        ("patients for 80% vs 60% at 90% power", lambda: two_proportions(0.80, 0.60,
                                                                         power=0.9)),
        ("with continuity correction", lambda: two_proportions(0.80, 0.60, n=198,
                                                               continuity=True)),
    ),
    assumptions=(
        Assumption("Design", "superiority, 1:1, 198 patients, 19 UK centres",
                   "evidence-addendum.md B (StarMS protocol abstract, registry)", "published"),
        Assumption("Primary endpoint", "proportion with NEDA over 2-year follow-up",
                   "evidence-addendum.md B (protocol abstract)", "published"),
        Assumption("Revised target", "104 (AAN 2024 abstract); recruitment closed with 94",
                   "evidence.md §4: revised target? (unverified)", "unverified"),
        Assumption("NEDA at 2 y, aHSCT", "80%", "NOT retrieved (protocol sample-size section "
                   "unreadable): planning assumption", "assumption"),
        Assumption("NEDA at 2 y, DMT", "60%", "NOT retrieved: planning assumption; 99/arm "
                   "detects DMT NEDA <= 0.620 at 80% power (derived, addendum B2)",
                   "assumption"),
        Assumption("alpha", "two-sided 0.05", "NOT retrieved: planning assumption",
                   "assumption"),
        DROPOUT, TRM_1PCT, GSD_PLAN,
    ),
    scenarios=_star_scenarios,
    gsd={"info_rates": [0.5, 1.0], "alpha": 0.025, "beta": 0.2, "sided": 1,
         "spending_function": "obf", "futility": "obf"},
)

PRESETS: dict[str, Preset] = {p.key: p for p in (ZEUS, MIST, STAR_MS)}
_ALIASES = {"star-ms": "starms", "star_ms": "starms", "stars": "starms", "mist-like": "mist"}


def get_preset(name: str) -> Preset:
    """Look a preset up by key (``zeus``, ``mist``, ``starms``)."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in PRESETS:
        raise ConfigurationError(f"Unknown design preset {name!r}.",
                                 hint=f"Available: {', '.join(PRESETS)}.")
    return PRESETS[key]


@dataclass(frozen=True)
class PresetResult:
    """Everything a design report shows for a preset."""

    preset: Preset
    primary: DesignResult
    sensitivity: list[tuple[str, DesignResult]]
    gsd: GroupSequentialDesign
    gsd_fixed_size: float
    simulations: list[SimulationResult]
    n_trials: int
    seed: int
    provenance: Provenance
    sequential: SequentialSimulationResult | None = None

    @property
    def summary(self) -> str:
        """Primary result, interim plan and simulated power in words."""
        unit = self.preset.size_unit
        fixed = self.gsd_fixed_size
        lines = [self.preset.title, self.primary.summary,
                 f"Group-sequential plan: max {unit} {self.gsd.max_sample_size(fixed):.1f} "
                 f"(inflation {self.gsd.inflation_factor:.4f} on {fixed:.1f})."]
        lines += [r.summary for r in self.simulations]
        if self.sequential is not None:
            lines.append("Interim plan, simulated: " + self.sequential.summary)
        flagged = [a.name for a in self.preset.assumptions if a.flagged]
        lines.append("Flagged (assumption / unverified): " + "; ".join(flagged) + ".")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (schema ``hsctms.design.preset/1``, see docs/trial-design.md)."""
        return jsonable({
            "schema": "hsctms.design.preset/1",
            "preset": self.preset.key, "title": self.preset.title,
            "question": self.preset.question, "endpoint": self.preset.endpoint,
            "assumptions": [a.to_dict() for a in self.preset.assumptions],
            "primary": self.primary.to_dict(),
            "sensitivity": [{"label": lab, **r.to_dict()} for lab, r in self.sensitivity],
            "gsd": {**self.gsd.to_dict(), "fixed_size": self.gsd_fixed_size,
                    "size_unit": self.preset.size_unit,
                    "max_size": self.gsd.max_sample_size(self.gsd_fixed_size),
                    "stage_sizes": self.gsd.stage_sizes(self.gsd_fixed_size)},
            "operating_characteristics": grid_table(self.simulations),
            "simulations": [r.to_dict() for r in self.simulations],
            "sequential_simulation": None if self.sequential is None
            else self.sequential.to_dict(),
            "n_trials": self.n_trials, "seed": self.seed,
            "provenance": self.provenance.to_dict(),
        })

    def plot(self, ax: Axes | None = None) -> Axes:
        """Power curves of the primary design and its sensitivity analyses."""
        import numpy as np

        from hsctms.plots._style import PALETTE, new_axes

        ax = new_axes(ax)
        base = self.primary
        size = base.n_total if math.isfinite(base.n_total) else base.extra.get("events", 100.0)
        grid = np.linspace(max(size / 50, 4.0), 2.5 * size, 150)
        curves = [("primary", base)] + [(lab, r) for lab, r in self.sensitivity
                                        if r.solved_for in ("power", "n")]
        for i, (lab, r) in reversed(list(enumerate(curves[:6]))):  # primary drawn on top
            _, pw = r.power_curve(grid)
            ax.plot(grid, pw, color=PALETTE[i % len(PALETTE)], lw=2.2 if i == 0 else 1.2,
                    ls="-" if i == 0 else "--", label=lab, zorder=3 if i == 0 else 2)
        ax.axhline(0.8, color=PALETTE[7], lw=0.6, ls=":")
        ax.axvline(size, color=PALETTE[7], lw=0.6, ls=":")
        ax.set_xlabel("total number of patients")
        ax.set_ylabel("power")
        ax.set_ylim(0, 1.01)
        ax.legend(loc="lower right", fontsize=8)
        return ax


def evaluate_preset(name: str, *, n_trials: int = 2000, seed: int = 1,
                    engine_trials: int = 200, client: Any = None) -> PresetResult:
    """Compute a preset: primary design, sensitivity, interim plan and simulated OCs.

    Scenarios that go through the demo generator and the endpoint engine (``definition``
    set) are slower (~0.1 ms per patient) and use ``min(n_trials, engine_trials)`` trials;
    ``engine_trials=0`` skips them.
    """
    preset = get_preset(name)
    primary = preset.primary()
    sens = [(label, fn()) for label, fn in preset.sensitivity]
    gsd = group_sequential(**preset.gsd)
    if preset.size_unit == "events":
        fixed = survival_design(primary.effect, power=1 - preset.gsd["beta"],
                                **_MIST_KW).extra["events"]
    else:  # fixed-design size for power 1 - beta at the plan's one-sided alpha
        inp = primary.inputs
        fixed = two_proportions(inp["p1"], inp["p2"], power=1 - preset.gsd["beta"],
                                alpha=preset.gsd["alpha"], sided=1, margin=inp["margin"],
                                ratio=inp["ratio"], method=inp["method"]).n_total
    scenarios = preset.scenarios(primary)
    fast = [sc for sc in scenarios if sc.definition is None]
    slow = [sc for sc in scenarios if sc.definition is not None] if engine_trials > 0 else []
    done = {id(sc): r for sc, r in zip(fast, run_grid(fast, n_trials, seed=seed, client=client),
                                       strict=True)}
    if slow:
        slow_res = run_grid(slow, min(n_trials, max(engine_trials, 10)), seed=seed + 1,
                            client=client)
        done.update({id(sc): r for sc, r in zip(slow, slow_res, strict=True)})
    sims = [done[id(sc)] for sc in scenarios if id(sc) in done]
    prov = Provenance("design.preset", definition={"preset": preset.key, "n_trials": n_trials,
                                                   "engine_trials": engine_trials,
                                                   "seed": seed}, n=primary.n_total_ceil)
    seq = None
    if primary.kind == "two_proportions":
        inp = primary.inputs
        per_arm = math.ceil(gsd.max_sample_size(float(fixed)) / 2 / 0.9 - 1e-9)
        sc = Scenario("proportion", per_arm, per_arm, p_treatment=inp["p1"],
                      p_control=inp["p2"], null_value=inp["margin"], alpha=gsd.alpha,
                      sided=gsd.sided, dropout_rate=_dropout_rate(0.10, 2.0),
                      label="interim plan, 10% loss (n inflated)")
        seq = simulate_group_sequential(sc, gsd, n_trials, seed=seed + 2)
    return PresetResult(preset, primary, sens, gsd, float(fixed), sims, n_trials, seed, prov,
                        seq)
