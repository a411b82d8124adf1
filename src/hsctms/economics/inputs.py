"""Inputs of the cost-effectiveness model: one YAML file, read by a strict pydantic schema.

Every number is a :class:`Param` (or a :class:`Profile` of ten EDSS values per course) with
its ``source`` and a ``status`` from the project's vocabulary (``published``, ``derived``,
``unverified``, ``assumption``), and a distribution for the probabilistic sensitivity analysis.
:func:`point_parameters` turns the inputs into the flat arrays the engine
(:mod:`hsctms.economics.markov`) computes with; :mod:`hsctms.economics.psa` draws the same
arrays from their distributions.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hsctms._files import safe_load_yaml
from hsctms.errors import ConfigurationError

N_EDSS = 10
STATUSES = ("published", "derived", "unverified", "assumption")
PRESET_DIR = Path(__file__).resolve().parent / "presets"

Dist = Literal["fixed", "beta", "gamma", "lognormal", "normal"]
Status = Literal["published", "derived", "unverified", "assumption"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Param(_Strict):
    """One uncertain number with its source.

    ``se`` is the standard error (beta, gamma, normal); ``ci`` a 95% interval (lognormal: the
    log-scale standard error is ``(log hi - log lo) / (2 * 1.959964)``).
    """

    value: float
    dist: Dist = "fixed"
    se: float | None = Field(default=None, gt=0)
    ci: tuple[float, float] | None = None
    source: str
    status: Status

    @model_validator(mode="after")
    def _check(self) -> Param:
        v = self.value
        if self.dist == "beta":
            if not 0 < v < 1 or self.se is None or self.se ** 2 >= v * (1 - v):
                raise ValueError(f"beta needs 0 < value < 1 and 0 < se^2 < value(1-value) "
                                 f"(value {v}, se {self.se})")
        elif self.dist == "gamma":
            if v <= 0 or self.se is None:
                raise ValueError(f"gamma needs value > 0 and se (value {v})")
        elif self.dist == "lognormal":
            if v <= 0 or self.ci is None or not 0 < self.ci[0] < v < self.ci[1]:
                raise ValueError(f"lognormal needs ci (lo, hi) with 0 < lo < value < hi "
                                 f"(value {v}, ci {self.ci})")
        elif self.dist == "normal" and self.se is None:
            raise ValueError("normal needs se")
        return self

    @property
    def log_se(self) -> float:
        """Log-scale standard error of a lognormal parameter."""
        assert self.ci is not None
        return (math.log(self.ci[1]) - math.log(self.ci[0])) / (2 * 1.959963984540054)


class Profile(_Strict):
    """Ten values by EDSS 0-9 for the relapsing and the secondary progressive course.

    Drawn element by element in the PSA with standard error ``cv * |value|``; ``beta`` applies
    to elements inside (0, 1), the others are drawn from a normal (utilities below 0).
    """

    relapsing: list[float] = Field(min_length=N_EDSS, max_length=N_EDSS)
    sp: list[float] = Field(min_length=N_EDSS, max_length=N_EDSS)
    dist: Dist = "fixed"
    cv: float = Field(default=0.0, ge=0)
    source: str
    status: Status


class Course(_Strict):
    """Yearly transition probabilities of one course by EDSS 0-9 (the rest stay)."""

    worsen: list[float] = Field(min_length=N_EDSS, max_length=N_EDSS)
    improve: list[float] = Field(min_length=N_EDSS, max_length=N_EDSS)
    to_sp: list[float] | None = Field(default=None, min_length=N_EDSS, max_length=N_EDSS)


class NaturalHistory(_Strict):
    """Untreated yearly EDSS transitions (one EDSS step up or down, conversion to SP).

    ``concentration`` is the Dirichlet effective sample size of each row in the PSA.
    """

    relapsing: Course
    sp: Course
    concentration: float = Field(gt=0)
    source: str
    status: Status

    @model_validator(mode="after")
    def _check(self) -> NaturalHistory:
        if self.sp.to_sp is not None:
            raise ValueError("sp rows have no to_sp")
        if self.relapsing.to_sp is None:
            raise ValueError("relapsing rows need to_sp")
        for course, c in (("relapsing", self.relapsing), ("sp", self.sp)):
            conv = c.to_sp or [0.0] * N_EDSS
            for e in range(N_EDSS):
                w, i, s = c.worsen[e], c.improve[e], conv[e]
                if min(w, i, s) < 0 or w + i + s >= 1:
                    raise ValueError(f"{course} EDSS {e}: probabilities must be >= 0 and sum "
                                     f"below 1 (worsen {w}, improve {i}, to_sp {s})")
            if c.improve[0] != 0 or c.worsen[N_EDSS - 1] != 0:
                raise ValueError(f"{course}: improve at EDSS 0 and worsen at EDSS 9 must be 0")
        return self


class Mortality(_Strict):
    """Background yearly death probability by age band, and EDSS hazard multipliers."""

    background: list[tuple[float, float]] = Field(min_length=1)
    multiplier: Profile
    source: str
    status: Status

    @model_validator(mode="after")
    def _check(self) -> Mortality:
        ages = [a for a, _ in self.background]
        if ages != sorted(ages) or any(not 0 <= q < 1 for _, q in self.background):
            raise ValueError("background: ages ascending and 0 <= probability < 1")
        return self


class Event(_Strict):
    """An adverse event (e.g. secondary autoimmunity): cumulative probability over years
    ``[start, stop)``, spread as a constant yearly probability, with cost and QALY loss."""

    name: str
    probability: Param
    start: int = Field(ge=0)
    stop: int = Field(gt=0)
    cost: Param
    qaly_loss: Param

    @model_validator(mode="after")
    def _check(self) -> Event:
        if self.stop <= self.start or not 0 <= self.probability.value < 1:
            raise ValueError(f"event {self.name}: stop > start and 0 <= probability < 1")
        return self


class OneOff(_Strict):
    """A cost paid at the start of year ``year`` (0 = time zero) by everyone alive then, or
    by the fraction ``share`` of them (a retreatment option: alemtuzumab third course, aHSCT
    re-transplant)."""

    year: int = Field(ge=0)
    label: str
    cost: Param
    share: Param | None = None

    @model_validator(mode="after")
    def _check(self) -> OneOff:
        if self.share is not None and not 0 <= self.share.value <= 1:
            raise ValueError(f"{self.label}: share must be in [0, 1]")
        return self


class Effect(Param):
    """A hazard ratio (on worsening and SP conversion) or relapse rate ratio, versus natural
    history, or versus the effect of the strategy named in ``relative_to``."""

    relative_to: str | None = None


class Strategy(_Strict):
    """One treatment strategy."""

    name: str
    hr_progression: Effect
    rr_relapse: Effect
    annual_cost: Param
    one_off: list[OneOff] = Field(default_factory=list)
    trm: Param | None = None
    events: list[Event] = Field(default_factory=list)
    effect_states: Literal["relapsing", "all"] = "relapsing"
    max_edss: int = Field(default=9, ge=0, le=9)


class Discount(_Strict):
    """Yearly discount rates of costs and of effects."""

    costs: float = Field(ge=0, lt=1)
    effects: float = Field(ge=0, lt=1)
    source: str


class Settings(_Strict):
    """Horizon, cohort and analysis settings."""

    horizon_years: int = Field(gt=0, le=100)
    start_age: float = Field(ge=0, le=100)
    start_edss: int = Field(ge=0, le=9)
    start_sp: bool = False
    wtp: float = Field(gt=0)
    wtp_grid: list[float] = Field(min_length=2)
    draws: int = Field(ge=1)
    seed: int


class EconomicsInputs(_Strict):
    """All inputs of one country preset (see docs/economics.md).

    Parameters
    ----------
    name : str
        Preset name.
    currency : str
        Currency of every cost (e.g. ``"GBP"``).
    price_year : int
        Price year of the costs.
    settings : Settings
        Horizon, cohort, willingness-to-pay and PSA settings.
    discount : Discount
        Yearly discount rates of costs and effects.
    natural_history : NaturalHistory
        Untreated yearly EDSS transitions.
    relapse_rate : Profile
        Untreated relapses per patient-year by EDSS and course.
    mortality : Mortality
        Background death probabilities by age and EDSS hazard multipliers.
    utility : Profile
        Utilities by EDSS and course.
    state_cost : Profile
        Yearly costs by EDSS and course (drugs excluded).
    relapse_cost : Param
        Cost per relapse.
    relapse_qaly_loss : Param
        QALYs lost per relapse.
    strategies : list of Strategy
        The treatment strategies, a strategy named in ``relative_to`` listed first.
    """

    name: str
    currency: str
    price_year: int
    settings: Settings
    discount: Discount
    natural_history: NaturalHistory
    relapse_rate: Profile
    mortality: Mortality
    utility: Profile
    state_cost: Profile
    relapse_cost: Param
    relapse_qaly_loss: Param
    strategies: list[Strategy] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> EconomicsInputs:
        names = [s.name for s in self.strategies]
        if len(set(names)) != len(names):
            raise ValueError(f"strategy names must be unique: {names}")
        for s in self.strategies:
            for eff in (s.hr_progression, s.rr_relapse):
                if eff.relative_to is not None:
                    if eff.relative_to not in names[:names.index(s.name)]:
                        raise ValueError(f"{s.name}: relative_to {eff.relative_to!r} must name "
                                         "a strategy listed before it")
        return self

    @property
    def strategy_names(self) -> list[str]:
        """Strategy names in input order."""
        return [s.name for s in self.strategies]


def load_inputs(source: str | Path | dict[str, Any]) -> EconomicsInputs:
    """Read and validate economics inputs.

    Parameters
    ----------
    source : str, Path or dict
        A preset name (``"uk"``), the path of a YAML file, or the parsed mapping.

    Returns
    -------
    EconomicsInputs
        The validated inputs.

    Raises
    ------
    ConfigurationError
        Unknown preset, unreadable file or inputs that break the schema.
    """
    import yaml

    if isinstance(source, dict):
        data, where = source, "inputs"
    else:
        path = Path(source)
        if not path.suffix and not path.exists():
            path = PRESET_DIR / f"{source}.yaml"
            if not path.exists():
                known = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
                raise ConfigurationError(f"unknown economics preset {source!r}",
                                         hint=f"known presets: {', '.join(known)}")
        try:
            data = safe_load_yaml(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"cannot read economics inputs {path}: {exc}",
                                     hint="give a preset name or a readable YAML file") from exc
        where = str(path)
    try:
        return EconomicsInputs.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigurationError(
            f"{where}: {exc.error_count()} invalid input(s); first at {loc}: {first['msg']}",
            hint="compare with src/hsctms/economics/presets/uk.yaml and docs/economics.md",
        ) from exc


def point_parameters(inputs: EconomicsInputs) -> dict[str, Any]:
    """The flat numeric parameters at their point values, each with a leading draw axis of 1.

    Parameters
    ----------
    inputs : EconomicsInputs
        Validated inputs.

    Returns
    -------
    dict of str to numpy.ndarray
        Keys as documented in docs/economics.md ("Parameter arrays").
    """
    import numpy as np

    def a(x: Any) -> Any:
        return np.asarray([x], dtype=float)

    nh = inputs.natural_history
    assert nh.relapsing.to_sp is not None
    out: dict[str, Any] = {
        "worsen_r": a(nh.relapsing.worsen), "improve_r": a(nh.relapsing.improve),
        "to_sp": a(nh.relapsing.to_sp),
        "worsen_s": a(nh.sp.worsen), "improve_s": a(nh.sp.improve),
        "relapse_r": a(inputs.relapse_rate.relapsing), "relapse_s": a(inputs.relapse_rate.sp),
        "mult_r": a(inputs.mortality.multiplier.relapsing),
        "mult_s": a(inputs.mortality.multiplier.sp),
        "u_r": a(inputs.utility.relapsing), "u_s": a(inputs.utility.sp),
        "c_r": a(inputs.state_cost.relapsing), "c_s": a(inputs.state_cost.sp),
    }
    # relapse cost and QALY loss, then each strategy's scalars (all_scalar_params' order)
    for key, p in all_scalar_params(inputs).items():
        out[key] = a(p.value)
    return out


def scalar_params(s: Strategy) -> dict[str, Param]:
    """The scalar parameters of one strategy keyed as in the parameter arrays.

    Parameters
    ----------
    s : Strategy
        One strategy.

    Returns
    -------
    dict of str to Param
        ``"<name>.hr"``, ``"<name>.rr"``, ``"<name>.annual_cost"``, ``"<name>.one_off.<i>"``
        (and ``".share"``), ``"<name>.trm"`` and ``"<name>.event.<i>.probability|cost|qaly_loss"``.
    """
    out: dict[str, Param] = {f"{s.name}.hr": s.hr_progression, f"{s.name}.rr": s.rr_relapse,
                             f"{s.name}.annual_cost": s.annual_cost}
    for i, o in enumerate(s.one_off):
        out[f"{s.name}.one_off.{i}"] = o.cost
        if o.share is not None:
            out[f"{s.name}.one_off.{i}.share"] = o.share
    if s.trm is not None:
        out[f"{s.name}.trm"] = s.trm
    for i, ev in enumerate(s.events):
        out[f"{s.name}.event.{i}.probability"] = ev.probability
        out[f"{s.name}.event.{i}.cost"] = ev.cost
        out[f"{s.name}.event.{i}.qaly_loss"] = ev.qaly_loss
    return out


def all_scalar_params(inputs: EconomicsInputs) -> dict[str, Param]:
    """Every scalar parameter (global and per strategy), keyed as in the parameter arrays.

    Parameters
    ----------
    inputs : EconomicsInputs
        Validated inputs.

    Returns
    -------
    dict of str to Param
        ``relapse_cost``, ``relapse_qaly_loss`` and the keys of :func:`scalar_params`.
    """
    out: dict[str, Param] = {"relapse_cost": inputs.relapse_cost,
                             "relapse_qaly_loss": inputs.relapse_qaly_loss}
    for s in inputs.strategies:
        out.update(scalar_params(s))
    return out
