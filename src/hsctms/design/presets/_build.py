"""From a validated preset file to the calculations and texts of a :class:`Preset`.

Each calculation argument is looked up in one table per target (the design function, the
simulated :class:`~hsctms.design.simulate.Scenario`, the group-sequential plan): which kinds
of value it takes and how a value becomes the number passed on. Every label and assumption
text is rendered from the same quantities, so what the report shows is what was computed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hsctms.design.presets._quantity import Quantity, fields, render
from hsctms.design.presets._schema import HINT, Arg, PresetSpec
from hsctms.errors import ConfigurationError, DesignError

#: Arms of the demo generator's disease model a scenario may use.
ARMS = ("ahsct", "alemtuzumab", "ocrelizumab", "natalizumab", "fingolimod", "mist_dmt")


@dataclass(frozen=True)
class ArgRule:
    """What one argument takes: value kinds, or fixed options, or true/false."""

    kinds: tuple[str, ...] = ()
    options: tuple[str, ...] | None = None
    flag: bool = False
    to: str | None = None  # the keyword it becomes (default: its own name)

    def allowed(self) -> str:
        """Human description of the accepted values."""
        if self.flag:
            return "true or false"
        if self.options is not None:
            return ("one of " + ", ".join(self.options)) if self.options else "a name"
        return "the id of a value, or a typed value, of kind " + " or ".join(self.kinds)


def _r(*kinds: str, to: str | None = None) -> ArgRule:
    return ArgRule(kinds=kinds, to=to)


_P, _SIG = _r("proportion"), _r("significance")
TWO_PROPORTIONS: dict[str, ArgRule] = {
    "p1": _P, "p2": _P, "n": _r("count"), "power": _P, "margin": _r("risk_difference"),
    "significance": _SIG, "method": ArgRule(options=("score", "wald")),
    "continuity": ArgRule(flag=True)}
SURVIVAL: dict[str, ArgRule] = {
    "hr": _r("hazard_ratio"), "n": _r("count"), "events": _r("count"), "power": _P,
    "hr0": _r("hazard_ratio"), "significance": _SIG, "control_median": _r("duration"),
    "accrual": _r("duration"), "follow_up": _r("duration"),
    "dropout": _r("proportion_over_years", to="dropout_rate"),
    "method": ArgRule(options=("schoenfeld", "freedman", "hsieh"))}
SCENARIO: dict[str, ArgRule] = {
    "p_treatment": _P, "p_control": _P, "hr": _r("hazard_ratio"),
    "control_median": _r("duration", to="control_rate"), "horizon": _r("duration"),
    "accrual": _r("duration"), "follow_up": _r("duration"),
    "null_value": _r("risk_difference", "hazard_ratio"), "significance": _SIG,
    "dropout": _r("proportion_over_years", to="dropout_rate"), "early_death": _P,
    "crossover": _P, "treatment_arm": ArgRule(options=ARMS), "control_arm": ArgRule(options=ARMS),
    "definition": ArgRule(options=()),
    "model_endpoint": ArgRule(options=("neda3_loss", "worsening", "relapse", "mri_activity",
                                       "efs")),
    "method": ArgRule(options=("score", "wald")),
    "missing": ArgRule(options=("exclude", "failure"))}
INTERIM: dict[str, ArgRule] = {
    "info_rates": _r("information_rates"), "significance": _SIG, "beta": _r("type_ii_error"),
    "spending_function": _r("spending"), "futility": _r("spending")}
FUNCTIONS = {"two_proportions": TWO_PROPORTIONS, "survival_design": SURVIVAL}


class _Fail:
    """Raises :class:`ConfigurationError` naming the file and the field."""

    def __init__(self, where: str) -> None:
        self.where = where

    def __call__(self, field: str, problem: str, hint: str = HINT) -> ConfigurationError:
        return ConfigurationError(f"Invalid design preset {self.where}: {field}: {problem}",
                                  hint=hint)

    # ``raise fail(...)`` reads as the error it raises.


def collect_values(spec: PresetSpec, fail: _Fail) -> dict[str, Quantity]:
    """Every value of the preset by id (ids unique, each shown in its row's text)."""
    values: dict[str, Quantity] = {}
    for i, row in enumerate(spec.assumptions):
        for vid, q in row.values.items():
            if not vid.isidentifier():
                raise fail(f"assumptions[{i}].values.{vid}", "a value id must be a name "
                           "(letters, digits and _, not starting with a digit).")
            if vid in values:
                raise fail(f"assumptions[{i}].values.{vid}", "this id is already used by "
                           "another assumption.", "Give every value its own id.")
            values[vid] = q
    for i, row in enumerate(spec.assumptions):
        text = row_text(row.text, row.values)
        if text is None:
            raise fail(f"assumptions[{i}].text", "missing: a row without exactly one value "
                       "needs a text.", "Write the value as text, or give text: '{id} ...' "
                       "placing each of its values.")
        placed = check_template(text, values, fail, f"assumptions[{i}].text")
        missing = [v for v in row.values if v not in placed]
        if missing:
            raise fail(f"assumptions[{i}].text", f"does not show its value(s) {missing}; "
                       "every value a calculation uses must be displayed.",
                       f"Add {', '.join('{' + m + '}' for m in missing)} to the text.")
        check_template(row.name, values, fail, f"assumptions[{i}].name")
    for name in ("title", "question", "endpoint"):
        check_template(getattr(spec, name), values, fail, name)
    return values


def row_text(text: str | None, values: Mapping[str, Quantity]) -> str | None:
    """The row's text template (``{id}`` when it has one value and no text)."""
    if text is not None:
        return text
    return "{" + next(iter(values)) + "}" if len(values) == 1 else None


def check_template(template: str, names: Mapping[str, Any], fail: _Fail, field: str) -> set[str]:
    """Placeholders of a template, each known (``fail`` otherwise); returns them."""
    try:
        placed = fields(template)
    except ValueError as exc:
        raise fail(field, f"broken braces in {template!r} ({exc}).",
                   "Write {id} or {id:short}; a literal brace is {{ or }}.") from None
    unknown = [p for p in placed if p not in names]
    if unknown:
        raise fail(field, f"unknown placeholder(s) {unknown} in {template!r}. Allowed: "
                   f"{', '.join(names) or '(none)'}.",
                   "Placeholders name values of this preset (or arguments of this call).")
    try:
        render(template, names)
    except (ValueError, KeyError) as exc:
        raise fail(field, f"cannot render {template!r}: {exc}.") from None
    return set(placed)


# complexity over 10 kept: one dispatch over the argument kinds of a preset
def resolve(args: Mapping[str, Arg], rules: Mapping[str, ArgRule], values: Mapping[str, Quantity],  # noqa: C901
            fail: _Fail, where: str) -> dict[str, Any]:
    """Arguments as given (value ids replaced by their quantities), checked against ``rules``.

    ``None`` is kept (it removes the argument when merged).
    """
    out: dict[str, Any] = {}
    for name, arg in args.items():
        field = f"{where}.{name}"
        rule = rules.get(name)
        if rule is None:
            raise fail(field, f"unknown argument. Allowed: {', '.join(rules)}.")
        if arg is None:
            out[name] = None
            continue
        if rule.flag:
            if not isinstance(arg, bool):
                raise fail(field, f"given {arg!r}; allowed: true or false.")
            out[name] = arg
            continue
        if rule.options is not None:
            if not isinstance(arg, str) or (rule.options and arg not in rule.options):
                raise fail(field, f"given {arg!r}; allowed: {rule.allowed()}.")
            out[name] = arg
            continue
        if isinstance(arg, bool):
            raise fail(field, f"given {arg!r}; allowed: {rule.allowed()}.")
        if isinstance(arg, str):
            if arg not in values:
                raise fail(field, f"no value with id {arg!r}. Known ids: "
                           f"{', '.join(values) or '(none)'}.",
                           "Define the value in an assumption's values, or give a typed value.")
            arg = values[arg]
        if arg.kind not in rule.kinds:
            raise fail(field, f"a {arg.kind} value cannot be used here; allowed: "
                       f"{rule.allowed()}.")
        out[name] = arg
    return out


def merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``changes``, arguments set to null removed."""
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def to_kwargs(args: Mapping[str, Any], rules: Mapping[str, ArgRule]) -> dict[str, Any]:
    """The keyword arguments a calculation receives (numbers from the quantities)."""
    out: dict[str, Any] = {}
    for name, arg in args.items():
        if not isinstance(arg, Quantity):
            out[name] = arg
            continue
        key = rules[name].to or name
        if arg.kind == "significance":
            out["alpha"], out["sided"] = arg.number, arg.sided
        elif arg.kind == "proportion_over_years":
            out[key] = arg.hazard
        elif key == "control_rate":
            out[key] = math.log(2) / arg.number
        elif arg.kind in ("information_rates", "spending"):
            out[key] = arg.value
        else:
            out[key] = arg.number
    return out


def check_label(label: str, given: Mapping[str, Arg], names: Mapping[str, Any], fail: _Fail,
                where: str) -> None:
    """The label places only known names and shows every typed value the variant gives."""
    placed = check_template(label, names, fail, f"{where}.label")
    hidden = [k for k, v in given.items() if isinstance(v, Quantity) and k not in placed]
    if hidden:
        raise fail(f"{where}.label", f"does not show the value(s) it sets: {hidden}.",
                   f"Add {', '.join('{' + h + '}' for h in hidden)} to the label.")


def call(function: str) -> Callable[..., Any]:
    """The design function named in a preset file, taking the preset's flat arguments."""
    from hsctms.design.proportions import two_proportions
    from hsctms.design.survival import survival_design

    fn: Callable[..., Any] = two_proportions if function == "two_proportions" else survival_design
    effect = ("p1", "p2") if function == "two_proportions" else ("hr",)

    def run(**kw: Any) -> Any:
        positional = [kw.pop(e, None) for e in effect]
        return fn(*positional, **options(function, kw))

    return run


def options(function: str, kw: Mapping[str, Any]) -> dict[str, Any]:
    """Flat preset keywords grouped into the design function's option objects.

    ``alpha``/``sided`` and the null value (``margin``, ``hr0``) become a ``Testing``;
    ``control_median``, ``accrual``, ``follow_up`` and ``dropout_rate`` an ``EventModel``.
    """
    from hsctms.design.options import Accrual, ControlArm, Dropout, EventModel, Testing

    out = dict(kw)
    null = out.pop("margin" if function == "two_proportions" else "hr0", None)
    out["testing"] = Testing(**{k: out.pop(k) for k in ("alpha", "sided") if k in out},
                             margin=null)
    model = {k: out.pop(k) for k in ("control_median", "accrual", "follow_up", "dropout_rate")
             if k in out}
    if "control_median" in model and "follow_up" in model:
        out["model"] = EventModel(
            control=ControlArm(median=model["control_median"]),
            accrual=Accrual(model.get("accrual", 0.0), follow_up=model["follow_up"]),
            dropout=Dropout(rate=model.get("dropout_rate")))
    elif model:
        raise DesignError(f"{', '.join(model)} without control_median and follow_up: the "
                          "event model needs both.",
                          hint="Give control_median and follow_up (with accrual and dropout "
                               "if any), or none of them for a design in events.")
    return out
