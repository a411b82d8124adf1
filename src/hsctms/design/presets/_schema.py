"""The strict schema of a design-preset file (``hsctms/design/presets/*.yaml``).

Pydantic v2 in strict mode with unknown keys forbidden: a wrong type, an unknown key, a bad
status or kind is reported as one :class:`~hsctms.errors.ConfigurationError` naming the file,
every bad field, the value given and what is allowed. The checks that need the whole file
(references to values, arguments a calculation takes, placeholders in the texts) live in
:mod:`hsctms.design.presets._build`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hsctms._files import read_regular_file
from hsctms.design.presets._quantity import KINDS, Quantity
from hsctms.errors import ConfigurationError

STATUSES = ("published", "derived", "unverified", "assumption")
Status = Literal["published", "derived", "unverified", "assumption"]
#: An argument of a calculation: the id of a value (text), an inline typed value, an option
#: (text or true/false) or null (leave the argument out, e.g. to solve for it).
Arg = Quantity | bool | str | None
HINT = ("See docs/trial-design.md 'Writing a design preset' and the packaged files in "
        "hsctms/design/presets/ for the format.")


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class AssumptionSpec(_Model):
    """One row of the assumption table: its values, its text, where it comes from."""

    name: str
    text: str | None = None
    values: dict[str, Quantity] = Field(default_factory=dict)
    source: str
    status: Status
    #: Evidence-base study ids (``hsctms.evidence``) behind the row; shown as citations.
    studies: list[str] = Field(default_factory=list)


class CallSpec(_Model):
    """The primary calculation: a design function and its arguments."""

    function: Literal["two_proportions", "survival_design"]
    args: dict[str, Arg]


class VariantSpec(_Model):
    """A sensitivity analysis or a simulated scenario: a label and changed arguments."""

    label: str
    set: dict[str, Arg] = Field(default_factory=dict)
    #: Id of a ``proportion_over_years`` value: the analysis uses the patients left after that
    #: loss, ``floor(n * (1 - loss))`` (sensitivity analyses only).
    after_loss: str | None = None


class SimulationSpec(_Model):
    """Simulated scenarios: patients per arm from the primary design, common arguments."""

    endpoint: Literal["proportion", "counts", "survival"]
    inflate_for: str | None = None
    base: dict[str, Arg] = Field(default_factory=dict)
    scenarios: list[VariantSpec]


class SequentialSpec(_Model):
    """Simulating the interim plan (proportion endpoints): label and loss to follow-up."""

    label: str
    dropout: str


class InterimSpec(_Model):
    """The group-sequential plan (arguments of :func:`~hsctms.design.gsd.group_sequential`)."""

    args: dict[str, Arg]
    simulate: SequentialSpec | None = None


class IntercurrentSpec(_Model):
    """An intercurrent event of the estimand and the strategy that handles it."""

    event: str
    strategy: Literal["treatment policy", "composite", "hypothetical", "while on treatment",
                      "principal stratum"]
    handling: str


class EstimandSpec(_Model):
    """The estimand (ICH E9(R1)): population, treatments, variable, events, summary."""

    population: str
    treatments: str
    variable: str
    intercurrent_events: list[IntercurrentSpec]
    summary_measure: str
    studies: list[str] = Field(default_factory=list)


class FramingSpec(_Model):
    """One framing of the primary question (non-inferiority, superiority) with its case."""

    key: str
    label: str
    set: dict[str, Arg] = Field(default_factory=dict)
    headline: str
    case_for: list[str]
    case_against: list[str]
    studies: list[str] = Field(default_factory=list)


class OutcomeSpec(_Model):
    """One candidate primary outcome: a design call (superiority) and its sources."""

    label: str
    function: Literal["two_proportions", "counts_design"]
    #: Arm 1 (aHSCT) and arm 2 (alemtuzumab): value ids / typed values (proportions), or
    #: plain numbers (annualised rates for ``counts_design``).
    treatment: Arg | float
    control: Arg | float
    exposure: float = 1.0
    dispersion: float = 0.0
    #: Id of a proportion value: arm 1's success probability is multiplied by ``1 - value``
    #: (a death in the transplant arm counts as failure: a TRM-penalised composite).
    penalty: str | None = None
    note: str = ""
    status: Status = "published"
    studies: list[str] = Field(default_factory=list)


class GridSpec(_Model):
    """The sensitivity grid of the primary design: control rate x margin x power."""

    control: list[Arg]
    margin: list[Arg]
    power: list[Arg]


class AnalysisSetSpec(_Model):
    """An analysis set and what it means for the primary comparison."""

    name: str
    definition: str
    role: str


class ProtocolSpec(_Model):
    """Protocol material: analysis sets, missing data, grid, OC curve, accrual."""

    analysis_sets: list[AnalysisSetSpec]
    missing_data: str
    grid: GridSpec
    #: Differences (arm 1 minus arm 2) at which the OC curve is drawn, and the framings.
    oc_differences: list[float]
    accrual_per_year: Quantity
    accrual_note: str
    accrual_status: Status = "assumption"
    accrual_studies: list[str] = Field(default_factory=list)


class ReferenceSpec(_Model):
    """A citation copied from the evidence base (``hsctms.evidence``; tests keep them equal)."""

    citation: str
    doi: str | None = None
    unverified: list[str] = Field(default_factory=list)


class PresetSpec(_Model):
    """A whole design-preset file."""

    key: str
    order: int = 99
    aliases: list[str] = Field(default_factory=list)
    title: str
    question: str
    endpoint: str
    size_unit: Literal["patients", "events"] = "patients"
    assumptions: list[AssumptionSpec]
    primary: CallSpec
    sensitivity: list[VariantSpec] = Field(default_factory=list)
    simulation: SimulationSpec
    interim: InterimSpec
    estimand: EstimandSpec | None = None
    framings: list[FramingSpec] = Field(default_factory=list)
    outcomes: list[OutcomeSpec] = Field(default_factory=list)
    protocol: ProtocolSpec | None = None
    #: Evidence-base study id -> its citation, for every id the file names in ``studies``.
    references: dict[str, ReferenceSpec] = Field(default_factory=dict)


_BRANCHES = ("bool", "str")


def _split(loc: tuple[Any, ...]) -> tuple[str, str | None]:
    """Dotted field name of a pydantic location, and the union branch it came from."""
    out, branch = "", None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith("function-after[") or (branch is None and part in _BRANCHES
                                                          and out.split(".")[-2:-1] in
                                                          (["args"], ["set"], ["base"])):
            branch = "quantity" if str(part).startswith("function-after[") else str(part)
        else:
            out += f".{part}" if out else str(part)
    return out or "(file)", branch


def spec_error(exc: ValidationError, where: str) -> ConfigurationError:
    """One :class:`ConfigurationError` listing every problem pydantic found in a file."""
    lines: list[str] = []
    seen: set[str] = set()
    for err in exc.errors():
        loc = tuple(err.get("loc") or ())
        field, branch = _split(loc)
        given = err.get("input")
        kind = str(err.get("type", ""))
        if branch is not None:  # an argument: value id, typed value, option, true/false, null
            parts = field.split(".")
            at = max(i for i, x in enumerate(parts) if x in ("args", "set", "base"))
            root = ".".join(parts[:at + 2])
            if field == root and not isinstance(given, dict):
                if root not in seen:
                    seen.add(root)
                    lines.append(f"{root}: given {given!r}; an argument is the id of a value "
                                 "(text), a typed value {kind: ..., value: ...}, an option "
                                 "(text or true/false) or null.")
                continue
            if branch != "quantity":
                continue
        if field in seen:
            continue
        seen.add(field)
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        last = field.rsplit(".", 1)[-1]
        if kind == "literal_error" and last in ("status", "kind"):
            allowed = STATUSES if last == "status" else KINDS
            lines.append(f"{field}: given {given!r}; not a {last}. Allowed: "
                         f"{', '.join(allowed)}.")
        elif kind == "extra_forbidden":
            lines.append(f"{field}: unknown key (given {given!r}). Remove it or check its "
                         "spelling.")
        else:
            lines.append(f"{field}: given {given!r}; {msg[:1].lower() + msg[1:]}.")
    count = f" ({len(lines)} problems)" if len(lines) > 1 else ""
    return ConfigurationError(f"Invalid design preset {where}{count}:\n  " + "\n  ".join(lines),
                              hint=HINT)


def read_spec(path: str | Path) -> PresetSpec:
    """Parse and validate one preset file (the schema only).

    Raises
    ------
    ConfigurationError
        When the file is missing, unreadable, not YAML, or breaks the schema.
    """
    p = Path(path)
    try:
        raw = yaml.safe_load(read_regular_file(p).decode("utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"Design preset file {p} does not exist.",
                                 hint="Give a preset name (zeus, mist, starms) or the path "
                                      "of a preset .yaml file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"Design preset file {p} cannot be read: {exc}.",
                                 hint="It must be a readable UTF-8 YAML file.") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"Design preset {p.name} is not valid YAML: {exc}",
                                 hint="Fix the YAML syntax. " + HINT) from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"Design preset {p.name} must be a YAML mapping, got "
                                 f"{type(raw).__name__}.", hint=HINT)
    try:
        return PresetSpec.model_validate(raw)
    except ValidationError as exc:
        raise spec_error(exc, p.name) from None
