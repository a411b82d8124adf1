"""Design presets for randomised aHSCT-versus-DMT trials: ZEUS, MIST-like and STAR-MS-like.

The presets are data: one YAML file per preset in ``hsctms/design/presets/`` (``zeus.yaml``,
``mist.yaml``, ``starms.yaml``), read by a strict schema (:mod:`._schema`). Every number a
calculation uses is a typed value (:class:`~._quantity.Quantity`: a proportion, a hazard
ratio, a loss over some years, a duration, ...) of one assumption, and the assumption table,
the sensitivity labels and the scenario labels are rendered from that same value, so the
report cannot show one number and compute with another. Every assumption carries its
source (in words, with the evidence-base study ids it rests on, cited in the report as
numbered references) and a status:

``published``  taken from a registry record or abstract (the evidence-base study cited);
``derived``    computed from published numbers;
``unverified`` marked *(unverified)* in the research notes; the flag is kept in every output;
``assumption`` not published anywhere we could read: a planning assumption of this toolkit.

None of the presets reproduces a published sample-size calculation: for ZEUS, MIST, StarMS
and RAM-MS the sample-size sections were **not retrieved** (noted in the assumption rows).
They show what the toolkit computes from clearly labelled assumptions. How to write a preset
file: docs/trial-design.md, "Writing a design preset".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hsctms._provenance import Provenance
from hsctms.design._base import DesignResult, jsonable
from hsctms.design.gsd import GroupSequentialDesign, group_sequential
from hsctms.design.options import Testing
from hsctms.design.presets import _build as B
from hsctms.design.presets._protocol import (
    ARM_NAMES,
    DEFINITION_NAMES,
    FramingResult,
    ProtocolResult,
    evaluate_protocol,
)
from hsctms.design.presets._quantity import Quantity, render
from hsctms.design.presets._schema import STATUSES, PresetSpec, ReferenceSpec, read_spec
from hsctms.design.proportions import two_proportions
from hsctms.design.sequential_sim import SequentialSimulationResult, simulate_group_sequential
from hsctms.design.simulate import (
    Progress,
    Scenario,
    SimulationResult,
    grid_table,
    run_grid,
    simulate_trials,
)
from hsctms.errors import ConfigurationError, DesignError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["DROPOUT", "GSD_PLAN", "MIST", "PRESETS", "PRESETS_DIR", "STAR_MS", "STATUSES",
           "TRM_1PCT", "ZEUS", "Assumption", "FramingResult", "Preset", "PresetResult",
           "ProtocolResult", "Quantity",
           "SequentialPlan", "evaluate_preset", "get_preset", "load_preset"]

#: Folder of the packaged preset files.
PRESETS_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Assumption:
    """One design input with where it comes from: a row of the report's assumption table.

    Parameters
    ----------
    name : str
        What the input is (e.g. ``"Loss to follow-up"``).
    value : str
        The displayed text, rendered from ``values`` when the row has any (e.g. ``"10% by
        2 years"``).
    source : str
        Where the value comes from (publication, evidence file section, or "planning
        assumption").
    status : {"published", "derived", "unverified", "assumption"}
        How firm the value is; ``"unverified"`` and ``"assumption"`` rows are flagged in the
        report.
    values : mapping of str to Quantity, default {}
        The typed quantities behind ``value``, by id; the calculations use these.
    studies : tuple of str, default ()
        Evidence-base study ids (:mod:`hsctms.evidence`) behind the row, cited in the report.

    Raises
    ------
    ConfigurationError
        When ``status`` is not one of the four statuses.
    """

    name: str
    value: str
    source: str
    status: str
    values: Mapping[str, Quantity] = field(default_factory=dict)
    studies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ConfigurationError(f"Unknown assumption status {self.status!r}.",
                                     hint=f"Use one of {', '.join(STATUSES)}.")

    @property
    def flagged(self) -> bool:
        """True for values that are not published facts."""
        return self.status in ("unverified", "assumption")

    def to_dict(self) -> dict[str, Any]:
        """JSON form of the row.

        Returns
        -------
        dict
            ``name``, ``value``, ``source``, ``status``, ``studies`` and ``values`` (the typed
            quantities behind ``value``, by id, each as :meth:`Quantity.to_dict`).
        """
        return {"name": self.name, "value": self.value, "source": self.source,
                "status": self.status, "studies": list(self.studies),
                "values": {k: q.to_dict() for k, q in self.values.items()}}


@dataclass(frozen=True)
class SequentialPlan:
    """Simulating the interim plan: patients inflated for ``loss``, dropout hazard ``rate``.

    Parameters
    ----------
    label : str
        The scenario label shown in the report (rendered from the preset file).
    loss : float
        Proportion lost to follow-up by the horizon, in [0, 1); the group-sequential maximum
        size is divided by ``1 - loss``.
    rate : float
        The exponential dropout hazard per year that gives ``loss`` over its period.
    horizon : float, optional
        Time (years) at which the proportion endpoint is assessed; the scenario's default
        when None.
    """

    label: str
    loss: float
    rate: float
    horizon: float | None = None


def _no_design(overrides: Mapping[str, Any]) -> DesignResult:
    """Re-run the primary design with changed arguments (not possible: no preset file).

    Parameters
    ----------
    overrides : mapping
        Design-function arguments to change (``None`` removes one).

    Returns
    -------
    DesignResult
        Never returns.

    Raises
    ------
    ConfigurationError
        Always: only presets built from a preset file can be re-run.
    """
    raise ConfigurationError("This preset was not built from a preset file, so its primary "
                             "design cannot be re-run with other arguments.",
                             hint="Load presets with load_preset(path).")


def _no_protocol() -> ProtocolResult | None:
    """The protocol material of a preset without any (built in code, not from a file).

    Returns
    -------
    ProtocolResult or None
        Always None.
    """
    return None


@dataclass(frozen=True)
class Preset:
    """A named design: primary calculation, sensitivity analyses, interim plan, simulations.

    Built from a preset file by :func:`load_preset` (the packaged ones are in
    :data:`PRESETS`); the calculations are callables, run by :func:`evaluate_preset`.

    Parameters
    ----------
    key : str
        Short name (``"zeus"``, ``"mist"``, ``"starms"``).
    title : str
        Report title.
    question : str
        The design question the preset answers, in words.
    endpoint : str
        The primary endpoint, in words.
    primary : callable
        Runs the primary calculation and returns its :class:`~hsctms.design.DesignResult`.
    sensitivity : sequence of (str, callable)
        Labelled sensitivity analyses, each a callable returning a ``DesignResult``.
    assumptions : sequence of Assumption
        The rows of the assumption table.
    scenarios : callable
        The simulated scenarios (:class:`~hsctms.design.Scenario`) for a primary result.
    gsd : dict, default {}
        Keyword arguments of :func:`~hsctms.design.group_sequential` for the interim plan.
    size_unit : {"patients", "events"}, default "patients"
        What the primary design sizes (events for time-to-event presets).
    design : callable, optional
        Re-runs the primary calculation with the preset's flat arguments changed (a
        mapping; ``None`` removes one). Only presets read from a file can do so.
    sequential : SequentialPlan, optional
        The simulated interim plan (proportion endpoints only).
    aliases : tuple of str, default ()
        Other names :func:`get_preset` accepts.
    source_file : pathlib.Path, optional
        The preset file it was read from.
    protocol : callable, optional
        Computes the protocol material (estimand, framings, outcome choice, sensitivity
        grid, OC curve, timeline) of a preset file that has any; returns None otherwise.
    references : mapping of str to ReferenceSpec, default {}
        Evidence-base study id to its citation, for every study the file names; the report
        cites them as numbered references.
    """

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
    design: Callable[[Mapping[str, Any]], DesignResult] = _no_design
    sequential: SequentialPlan | None = None
    aliases: tuple[str, ...] = ()
    source_file: Path | None = None
    protocol: Callable[[], ProtocolResult | None] = _no_protocol
    references: Mapping[str, ReferenceSpec] = field(default_factory=dict)

    @property
    def values(self) -> dict[str, Quantity]:
        """Every typed value of the preset by id."""
        return {k: q for a in self.assumptions for k, q in a.values.items()}


def _disease_model() -> Any:
    try:
        from hsctms.datasets import disease_model
    except ImportError:  # pragma: no cover - the demo generator ships with hsctms
        return None
    return disease_model


def _scenario_builder(spec: PresetSpec, values: dict[str, Quantity], fail: B._Fail
                      ) -> Callable[[DesignResult], list[Scenario]]:
    sim = spec.simulation
    base = B.resolve(sim.base, B.SCENARIO, values, fail, "simulation.base")
    loss = _loss(sim.inflate_for, values, fail, "simulation.inflate_for")
    variants: list[tuple[str, dict[str, Any]]] = []
    for i, v in enumerate(sim.scenarios):
        where = f"simulation.scenarios[{i}]"
        args = B.merged(base, B.resolve(v.set, B.SCENARIO, values, fail, f"{where}.set"))
        names = {k: ARM_NAMES.get(a, a) if k in ("treatment_arm", "control_arm")
                 else DEFINITION_NAMES.get(a, a) if k == "definition" else a
                 for k, a in args.items()}  # readable names, not code names
        B.check_label(v.label, v.set, names, fail, where)
        variants.append((render(v.label, names), args))

    def scenarios(primary: DesignResult) -> list[Scenario]:
        per_arm = math.ceil(primary.n2 / (1 - loss) - 1e-9)
        out = []
        for i, (label, args) in enumerate(variants):
            kw = B.to_kwargs(args, B.SCENARIO)
            if "treatment_arm" in kw or "control_arm" in kw:
                dm = _disease_model()
                if dm is None:  # pragma: no cover - the demo generator ships with hsctms
                    continue
                for arm in ("treatment_arm", "control_arm"):
                    if arm in kw:
                        kw[arm] = getattr(dm, kw[arm])()
            try:
                out.append(Scenario(sim.endpoint, per_arm, per_arm, **kw, label=label))
            except DesignError as exc:
                raise fail(f"simulation.scenarios[{i}]", exc.message,
                           exc.hint or B.HINT) from None
        return out

    return scenarios


def _loss(vid: str | None, values: Mapping[str, Quantity], fail: B._Fail, field: str) -> float:
    """The proportion lost of a ``proportion_over_years`` value (0 without one)."""
    if vid is None:
        return 0.0
    q = values.get(vid)
    if q is None or q.kind != "proportion_over_years":
        raise fail(field, f"{vid!r} is not the id of a proportion_over_years value. Allowed: "
                   + (", ".join(k for k, x in values.items()
                                if x.kind == "proportion_over_years") or "(none)") + ".")
    return float(q.number)


def _after_loss(args: dict[str, Any], vid: str, values: Mapping[str, Quantity], fail: B._Fail,
                where: str) -> dict[str, Any]:
    """``args`` with ``n`` the patients left after the loss ``vid``: the label and the
    calculation then share one value."""
    lost = _loss(vid, values, fail, f"{where}.after_loss")
    n = args.get("n")
    if not isinstance(n, Quantity) or n.kind != "count":
        raise fail(f"{where}.after_loss", "needs a patient count n in the analysis.",
                   "Give n in the primary arguments or in this analysis' set.")
    left = Quantity(kind="count", value=math.floor(n.number * (1 - lost)))
    return {**args, "n": left}


def _check_studies(spec: PresetSpec, fail: B._Fail) -> None:
    """Every study id an assumption row names has its citation in ``references``."""
    for i, row in enumerate(spec.assumptions):
        missing = [k for k in row.studies if k not in spec.references]
        if missing:
            raise fail(f"assumptions[{i}].studies", f"studies {missing} have no entry in "
                       "references.", "Copy the citation of each study id from the evidence "
                       "base (hsctms.evidence) into references.")


def build_preset(spec: PresetSpec, *, where: str, source_file: Path | None = None) -> Preset:
    """A :class:`Preset` from a validated preset file (``where`` names it in errors).

    Raises
    ------
    ConfigurationError
        When a reference, an argument, a placeholder or a label does not fit.
    """
    fail = B._Fail(where)
    values = B.collect_values(spec, fail)
    _check_studies(spec, fail)
    assumptions = tuple(
        Assumption(render(row.name, values), render(str(B.row_text(row.text, row.values)),
                                                    values), row.source, row.status,
                   dict(row.values), tuple(row.studies)) for row in spec.assumptions)
    rules = B.FUNCTIONS[spec.primary.function]
    run = B.call(spec.primary.function)
    primary_args = B.merged(B.resolve(spec.primary.args, rules, values, fail, "primary.args"),
                            {})

    def checked(kw: Mapping[str, Any], field: str) -> DesignResult:
        try:
            result: DesignResult = run(**kw)
        except DesignError as exc:  # impossible inputs: name the file and the entry
            raise fail(field, exc.message, exc.hint or B.HINT) from None
        return result

    def design(overrides: Mapping[str, Any]) -> DesignResult:
        kw = {k: v for k, v in {**B.to_kwargs(primary_args, rules), **overrides}.items()
              if v is not None}
        return checked(kw, "primary")

    sensitivity = []
    for i, v in enumerate(spec.sensitivity):
        where_i = f"sensitivity[{i}]"
        args = B.merged(primary_args, B.resolve(v.set, rules, values, fail, f"{where_i}.set"))
        shown = args
        if v.after_loss is not None:
            args = _after_loss(args, v.after_loss, values, fail, where_i)
            shown = {**args, "loss": values[v.after_loss]}  # the label names the loss too
        B.check_label(v.label, v.set, shown, fail, where_i)
        kw = B.to_kwargs(args, rules)
        sensitivity.append((render(v.label, shown), lambda kw=kw, f=where_i: checked(kw, f)))
    interim = B.to_kwargs(B.merged(B.resolve(spec.interim.args, B.INTERIM, values, fail,
                                             "interim.args"), {}), B.INTERIM)
    sequential = None
    if spec.interim.simulate is not None:
        sim = spec.interim.simulate
        if spec.primary.function != "two_proportions":
            raise fail("interim.simulate", "the interim plan is simulated for proportion "
                       "endpoints only.", "Remove interim.simulate from this preset.")
        loss = _loss(sim.dropout, values, fail, "interim.simulate.dropout")
        B.check_template(sim.label, values, fail, "interim.simulate.label")
        horizon = spec.simulation.base.get("horizon")
        hq = values.get(horizon) if isinstance(horizon, str) else horizon
        sequential = SequentialPlan(render(sim.label, values), loss, values[sim.dropout].hazard,
                                    hq.number if isinstance(hq, Quantity) else None)
    def protocol() -> ProtocolResult | None:
        hz = spec.simulation.base.get("horizon")
        hq = values.get(hz) if isinstance(hz, str) else hz
        return evaluate_protocol(
            spec, values, B.to_kwargs(primary_args, rules),
            loss=_loss(spec.simulation.inflate_for, values, fail, "simulation.inflate_for"),
            horizon=hq.number if isinstance(hq, Quantity) else None, where=where)

    return Preset(
        key=spec.key, title=render(spec.title, values), question=render(spec.question, values),
        endpoint=render(spec.endpoint, values),
        primary=lambda: design({}), sensitivity=tuple(sensitivity), assumptions=assumptions,
        scenarios=_scenario_builder(spec, values, fail), gsd=interim,
        size_unit=spec.size_unit, design=design, sequential=sequential,
        aliases=tuple(spec.aliases), source_file=source_file, protocol=protocol,
        references=dict(spec.references))


def load_preset(path: str | Path) -> Preset:
    """Read, validate and build one preset file.

    Parameters
    ----------
    path : str or pathlib.Path
        A design-preset YAML file (format: docs/trial-design.md, "Writing a design preset").

    Returns
    -------
    Preset
        The preset, its calculations not yet run.

    Raises
    ------
    ConfigurationError
        Naming the file, the field, the value given and what is allowed.
    """
    p = Path(path)
    return build_preset(read_spec(p), where=p.name, source_file=p)


def _load_packaged() -> dict[str, Preset]:
    """Every packaged preset file, in the order of their ``order`` key then key."""
    found: list[tuple[int, str, Preset]] = []
    for path in sorted(PRESETS_DIR.glob("*.yaml")):
        spec = read_spec(path)
        if spec.key != path.stem:
            raise ConfigurationError(f"Design preset file {path.name} holds key {spec.key!r}.",
                                     hint=f"Set key: {path.stem}.")
        found.append((spec.order, spec.key, build_preset(spec, where=path.name,
                                                         source_file=path)))
    return {key: preset for _, key, preset in sorted(found, key=lambda t: t[:2])}


#: The packaged presets by key, loaded from ``hsctms/design/presets/*.yaml``.
PRESETS: dict[str, Preset] = _load_packaged()
_ALIASES = {a: p.key for p in PRESETS.values() for a in p.aliases}
ZEUS, MIST, STAR_MS = PRESETS["zeus"], PRESETS["mist"], PRESETS["starms"]
_ZEUS_ROWS = {a.name: a for a in ZEUS.assumptions}
TRM_1PCT = _ZEUS_ROWS["Early treatment-related death (aHSCT arm, first 100 days)"]
DROPOUT = _ZEUS_ROWS["Loss to follow-up"]
GSD_PLAN = _ZEUS_ROWS["Interim analysis"]


def get_preset(name: str | Path | Preset) -> Preset:
    """A preset by key (``zeus``, ``mist``, ``starms``), alias, or preset-file path.

    Parameters
    ----------
    name : str, pathlib.Path or Preset
        A packaged preset's key or alias (case-insensitive), the path of a ``.yaml``/``.yml``
        preset file, or a :class:`Preset` (returned as is).

    Returns
    -------
    Preset
        The packaged preset, or the one read from the file.

    Raises
    ------
    ConfigurationError
        When the name is unknown or the file is invalid.
    """
    if isinstance(name, Preset):
        return name
    if isinstance(name, Path) or str(name).lower().endswith((".yaml", ".yml")):
        return load_preset(name)
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in PRESETS:
        raise ConfigurationError(f"Unknown design preset {name!r}.",
                                 hint=f"Available: {', '.join(PRESETS)}, or the path of a "
                                      "preset .yaml file (docs/trial-design.md).")
    return PRESETS[key]


@dataclass(frozen=True)
class PresetResult:
    """Everything a design report shows for a preset (built by :func:`evaluate_preset`).

    Parameters
    ----------
    preset : Preset
        The preset evaluated.
    primary : DesignResult
        The primary calculation.
    sensitivity : list of (str, DesignResult)
        The sensitivity analyses, labelled.
    gsd : GroupSequentialDesign
        The interim plan's boundaries.
    gsd_fixed_size : float
        Fixed-design size (patients or events) that the plan's inflation factor scales.
    simulations : list of SimulationResult
        Simulated operating characteristics, one per scenario run.
    n_trials : int
        Simulated trials per (latent) scenario.
    seed : int
        Base random seed of the simulations.
    provenance : Provenance
        What was computed from which preset and settings.
    sequential : SequentialSimulationResult, optional
        The simulated interim plan (proportion endpoints), None when not simulated.
    protocol : ProtocolResult, optional
        Estimand, framings with their headline sizes, outcome choice, sensitivity grid,
        OC curve, analysis sets, missing-data strategy and timeline; None when the preset
        file has none.
    type1_check : SimulationResult, optional
        The first scenario simulated under its null alone with many trials: its
        ``outcomes`` give the type I error (:attr:`type1_error`); None when not run.
    """

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
    protocol: ProtocolResult | None = None
    type1_check: SimulationResult | None = None

    @property
    def type1_error(self) -> tuple[float, float] | None:
        """Type I error of :attr:`type1_check` and its Monte Carlo standard error.

        Returns
        -------
        tuple of float or None
            ``(rate, mcse)``: the fraction of null trials rejecting (either tail when
            two-sided) and ``sqrt(rate (1 - rate) / trials)``; None without the check.
        """
        r = self.type1_check
        if r is None:
            return None
        rate = r.outcomes["reject_benefit"] + (r.outcomes["reject_harm"]
                                               if r.scenario.sided == 2 else 0.0)
        return rate, math.sqrt(rate * (1 - rate) / r.n_trials)

    @property
    def summary(self) -> str:
        """Primary result, interim plan and simulated power in words."""
        unit = self.preset.size_unit
        fixed = self.gsd_fixed_size
        lines = [self.preset.title]
        if self.protocol is not None:
            lines += [f"{f.label}: {f.headline}." for f in self.protocol.framings]
        lines += [self.primary.summary,
                 f"Group-sequential plan: max {unit} {self.gsd.max_sample_size(fixed):.1f} "
                 f"(inflation {self.gsd.inflation_factor:.4f} on {fixed:.1f})."]
        lines += [r.summary for r in self.simulations]
        if self.sequential is not None:
            lines.append("Interim plan, simulated: " + self.sequential.summary)
        t1 = self.type1_error
        if t1 is not None and self.type1_check is not None:
            lines.append(f"Type I error, {self.type1_check.n_trials} trials under the null: "
                         f"{t1[0]:.4f} (MC SE {t1[1]:.4f}).")
        flagged = [a.name for a in self.preset.assumptions if a.flagged]
        lines.append("Flagged (assumption / unverified): " + "; ".join(flagged) + ".")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (schema ``hsctms.design.preset/1``, see docs/trial-design.md).

        Returns
        -------
        dict
            The preset's texts and assumptions, the primary and sensitivity designs, the
            interim plan with its sizes, the simulations and their table, and the
            provenance.
        """
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
            "protocol": None if self.protocol is None else self.protocol.to_dict(),
            "type1_check": None if self.type1_error is None or self.type1_check is None
            else {"n_trials": self.type1_check.n_trials, "type1": self.type1_error[0],
                  "mcse": self.type1_error[1], "label": self.type1_check.scenario.label},
            "provenance": self.provenance.to_dict(),
        })

    def plot(self, ax: Axes | None = None) -> Axes:
        """Power curves of the primary design and its sensitivity analyses.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure's axes when None.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on (at most six curves, the primary on top).
        """
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


def _tagged(progress: Progress | None, tag: str) -> Progress | None:
    """``progress`` with descriptions prefixed by ``tag``."""
    if progress is None:
        return None
    report = progress

    def step(text: str, done: int, total: int) -> None:
        report(f"{tag} {text}", done, total)

    return step


def evaluate_preset(name: str | Path | Preset, *, n_trials: int = 2000, seed: int = 1,
                    engine_trials: int = 200, client: Any = None,
                    progress: Progress | None = None,
                    type1_trials: int = 10_000) -> PresetResult:
    """Compute a preset: primary design, sensitivity, interim plan and simulated OCs.

    Scenarios that go through the demo generator and the endpoint engine (``definition``
    set) are slower (~0.1 ms per patient) and use ``min(n_trials, engine_trials)`` trials;
    ``engine_trials=0`` skips them. ``name`` is a preset key, a preset-file path or a
    :class:`Preset`. ``progress(description, done, total)`` follows the simulations.

    Parameters
    ----------
    name : str, pathlib.Path or Preset
        A packaged preset's key or alias (``zeus``, ``mist``, ``starms``; case-insensitive),
        the path of a ``.yaml``/``.yml`` preset file, or a :class:`Preset`
        (see :func:`get_preset`).
    n_trials : int, default 2000
        Simulated trials per latent-path scenario (and as many under its null), and trials
        of the simulated interim plan.
    seed : int, default 1
        Base seed: the latent scenarios use ``seed``, the endpoint-engine scenarios
        ``seed + 1`` and the interim plan ``seed + 2``.
    engine_trials : int, default 200
        Trials per endpoint-engine scenario: ``min(n_trials, max(engine_trials, 10))``; 0
        skips those scenarios.
    client : dask.distributed.Client, optional
        Runs the scenario grids on a Dask cluster (see :func:`~hsctms.design.run_grid`);
        None (default) runs them in this process.
    progress : callable, optional
        ``progress(description, done, total)``; descriptions are prefixed ``"latent"``,
        ``"endpoint engine"`` or ``"type I error"``, and the interim-plan simulation reports
        once before it runs.
    type1_trials : int, default 10,000
        Presets with protocol material (ZEUS): trials of the first scenario under its null
        alone, so that the type I error is stated with a small Monte Carlo error
        (``sqrt(0.025 * 0.975 / 10,000)`` = 0.16 points); 0 skips it.

    Returns
    -------
    PresetResult
        The primary calculation, the sensitivity analyses, the group-sequential plan and
        its fixed-design size, the simulated operating characteristics of every scenario
        run, the simulated interim plan (proportion endpoints with a sequential plan), the
        protocol material with its type I error check, and the provenance.

    Raises
    ------
    ConfigurationError
        When the preset name is unknown or the preset file is invalid.
    """
    preset = get_preset(name)
    primary = preset.primary()
    sens = [(label, fn()) for label, fn in preset.sensitivity]
    gsd = group_sequential(**preset.gsd)
    if preset.size_unit == "events":
        fixed = preset.design({"hr": primary.effect, "n": None,
                               "power": 1 - preset.gsd["beta"]}).extra["events"]
    else:  # fixed-design size for power 1 - beta at the plan's one-sided alpha
        inp = primary.inputs
        fixed = two_proportions(inp["p1"], inp["p2"], power=1 - preset.gsd["beta"],
                                testing=Testing(preset.gsd["alpha"], 1, margin=inp["margin"]),
                                ratio=inp["ratio"], method=inp["method"]).n_total
    scenarios = preset.scenarios(primary)
    fast = [sc for sc in scenarios if sc.definition is None]
    slow = [sc for sc in scenarios if sc.definition is not None] if engine_trials > 0 else []
    done = {id(sc): r for sc, r in zip(fast, run_grid(fast, n_trials, seed=seed, client=client,
                                                      progress=_tagged(progress, "latent")),
                                       strict=True)}
    if slow:
        slow_res = run_grid(slow, min(n_trials, max(engine_trials, 10)), seed=seed + 1,
                            client=client, progress=_tagged(progress, "endpoint engine"))
        done.update({id(sc): r for sc, r in zip(slow, slow_res, strict=True)})
    sims = [done[id(sc)] for sc in scenarios if id(sc) in done]
    definition: dict[str, Any] = {"preset": preset.key, "n_trials": n_trials,
                                  "engine_trials": engine_trials, "seed": seed}
    if preset.source_file is not None and preset.source_file.parent != PRESETS_DIR:
        definition["file"] = str(preset.source_file)
    prov = Provenance("design.preset", definition=definition, n=primary.n_total_ceil)
    seq = None
    plan = preset.sequential
    if plan is not None and primary.kind == "two_proportions":
        inp = primary.inputs
        per_arm = math.ceil(gsd.max_sample_size(float(fixed)) / 2 / (1 - plan.loss) - 1e-9)
        extra: dict[str, Any] = {} if plan.horizon is None else {"horizon": plan.horizon}
        sc = Scenario("proportion", per_arm, per_arm, p_treatment=inp["p1"],
                      p_control=inp["p2"], null_value=inp["margin"], alpha=gsd.alpha,
                      sided=gsd.sided, dropout_rate=plan.rate, label=plan.label, **extra)
        if progress is not None:
            progress(f"interim plan: simulating {n_trials} trials", 0, 1)
        seq = simulate_group_sequential(sc, gsd, n_trials, seed=seed + 2)
    protocol = preset.protocol()
    check = None
    if protocol is not None and fast and type1_trials > 0:
        null = dataclasses.replace(fast[0].under_null(),
                                   label=f"{fast[0].label}: under the null")
        check = simulate_trials(null, max(type1_trials, 10), seed=seed + 3, type1=False,
                                progress=_tagged(progress, "type I error"))
    return PresetResult(preset, primary, sens, gsd, float(fixed), sims, n_trials, seed, prov,
                        seq, protocol, check)
