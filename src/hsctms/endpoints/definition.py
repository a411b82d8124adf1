"""Endpoint definitions as data: :class:`EndpointDefinition` and the named presets.

Every choice that changes a derived outcome is a field of a frozen, strictly validated
dataclass (pydantic v2 strict mode, see :mod:`hsctms.endpoints._schema`), so a result can say
exactly how it was derived (``result.definition.to_dict()``) and a definition can be stored
next to the analysis as YAML or JSON. The presets are data files in
``hsctms/endpoints/presets/*.yaml`` loaded by the same schema.

The disability part follows the vocabulary of msprog / pymsprog (Montobbio et al., Mult Scler
2024;30(9):1185-1192) so that users coming from those packages find the same names: confirmation
period ``conf_days`` with an asymmetric tolerance ``conf_tol_days``, relapse windows as
``(after, before)`` pairs, PIRA relapse-free windows around the ``prec``/``event``/``conf``
checkpoints, baseline schemes and ``proceed_from``.

Each field's metadata carries what is allowed (for error messages) and how its value is phrased
(``phrase``) in :meth:`EndpointDefinition.describe`; the sentence templates in
:data:`DESCRIBE_TEMPLATE` place every result-changing field.
"""

from __future__ import annotations

import dataclasses
import json
import math
import string
from collections.abc import Mapping
from dataclasses import asdict, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)
from pydantic.dataclasses import dataclass

from hsctms._files import read_regular_file
from hsctms.endpoints import _schema as S
from hsctms.endpoints._schema import (
    ChangeFunction,
    ConfDays,
    Count,
    Days,
    FiniteDays,
    Impute,
    Milestones,
    Names,
    OpenPair,
    Pair,
    Phrase,
    Positive,
    WholeDays,
    num,
    within,
)
from hsctms.endpoints.change import describe_rule, increases, scale
from hsctms.errors import DefinitionError

Origin = Literal["transplant", "first_visit"]
BaselineScheme = Literal["fixed", "roving", "roving_impr", "roving_wors"]
ProceedFrom = Literal["firstconf", "event"]
EventsReported = Literal["first", "all"]
PrecType = Literal["baseline", "last", "last_delta"]
SubThreshold = Literal["none", "event", "improvement", "worsening"]
LocalExtrema = Literal["none", "strict", "all"]
EfsComponent = Literal["death", "worsening", "relapse", "mri_activity"]
Outcome = Literal["edss", "nhpt", "t25fw", "sdmt", "custom"]
Worsening = Literal["auto", "increase", "decrease"]
Combine = Literal["min", "max"]
ExcludeBefore = Literal["none", "onset", "diagnosis"]
RelapseEnd = Literal["ignore", "use"]

EFS_COMPONENTS: tuple[str, ...] = get_args(EfsComponent)
Efs = Annotated[tuple[EfsComponent, ...], BeforeValidator(S.as_tuple),
                AfterValidator(S.unique_nonempty)]
PRESETS_DIR = Path(__file__).with_name("presets")

Window = tuple[float | None, float | None]

_DAYS = "a non-negative number of days"
_DAYS_INF = _DAYS + " or 'inf'"
_PAIR = "an explicit pair [days after the last relapse, days before the next one], each " \
    + _DAYS_INF
_PIRA = "an explicit pair [days before, days after], each " + _DAYS_INF + " or null (joins " \
    "with the neighbouring window)"


def _f(default: Any, allowed: str, phrase: Phrase | None, *, scalar: str | None = None,
       result: bool = True, hint: str | None = None) -> Any:
    """A field with its schema metadata.

    ``allowed`` (error messages), ``phrase`` (``describe()``), ``scalar`` (what pymsprog
    means by a scalar given to this pair field: ``"symmetric"`` or ``"after_only"``),
    ``result`` (whether the field changes results), ``hint`` (extra error hint).
    """
    return field(default=default, metadata={"allowed": allowed, "phrase": phrase,
                                            "scalar": scalar, "result": result, "hint": hint})


def _one(kind: Any) -> str:
    return S.choices(get_args(kind))


def _win(pair: Window, label: str) -> str:
    a, b = ("joined" if x is None else num(x, inf="inf") for x in pair)
    return f"{label} (not checked)" if pair == (0.0, 0.0) else f"{label} (-{a}/+{b} days)"


def _conf_window(tol: tuple[float, float], d: Any) -> str:
    return (f"the first visit {num(d.conf_days - tol[0])} to {num(d.conf_days + tol[1])} days "
            f"after onset (tolerance -{num(tol[0])}/+{num(tol[1])})")


_BASELINE_WORDS = {
    "fixed": "fixed",
    "roving": "roving (re-set after every confirmed worsening or improvement)",
    "roving_impr": "roving after improvements only",
    "roving_wors": "roving after worsenings only",
}
_SUB_WORDS = {
    "none": "",
    "event": ", also moved after a confirmed change below the minimum change",
    "improvement": ", also moved after a confirmed improvement below the minimum change",
    "worsening": ", also moved after a confirmed worsening below the minimum change",
}
_EXTREMA_WORDS = {
    "none": "",
    "strict": "; a local EDSS extremum (both neighbours differing by at least the minimum "
              "change) could not be a baseline",
    "all": "; no local EDSS minimum or maximum could be a baseline",
}
_PREC_WORDS = {
    "baseline": "the current baseline",
    "last": "the last visit before onset",
    "last_delta": "the last visit before onset from which onset and confirmation are both a "
                  "meaningful worsening",
}
_IMPUTE_WORDS = {
    0: "a worsening at the last visit (unconfirmable) was not counted",
    1: "a worsening at the last visit was counted without confirmation",
}
_EFS_WORDS = {"death": "death", "worsening": "confirmed worsening", "relapse": "relapse",
              "mri_activity": "MRI activity"}


@dataclass(frozen=True, config=ConfigDict(strict=True, extra="forbid"))
class EndpointDefinition:
    """How every endpoint is derived from visits, relapses, MRI scans and deaths.

    All durations are in days. Pairs written ``(after, before)`` mean "minimum (or maximum)
    distance from the *last* relapse before, and from the *next* relapse after" the visit, as in
    msprog. Values are checked strictly (see :mod:`hsctms.endpoints._schema`): booleans must be
    booleans, whole-day fields integers, pairs explicit pairs (a scalar is refused because
    pymsprog gives it two different meanings), enumerations one of their values; any problem
    raises one :class:`~hsctms.errors.DefinitionError` naming each field, the value given and
    what is allowed.

    Parameters
    ----------
    name, description
        Identification (presets carry their source).
    origin
        Time origin: ``"transplant"`` (index transplant date, day 0) or ``"first_visit"`` (the
        first EDSS visit, as msprog/pymsprog do).
    baseline_window_days
        With ``origin="transplant"``: the baseline EDSS is the *last* assessment on or before the
        transplant date and at most this many days before it, that is not within
        ``relapse_to_bl`` of a relapse.
    baseline_after_days
        With ``origin="transplant"``: if no such pre-transplant assessment exists, accept the
        first valid assessment up to this many days after the transplant (0 = never).
    exclude_before
        ``"onset"`` / ``"diagnosis"``: EDSS visits and relapses dated before the patient's MS
        onset / diagnosis are not used (listed in ``EndpointResult.dropped``; needs a
        patients table with that date); ``"none"`` keeps them (validation warns).
    relapse_to_bl
        ``(after, before)``: a visit within ``after`` days after a relapse onset (or ``before``
        days before the next one) cannot be a baseline (it is moved to the next valid visit).
    relapse_end
        ``"use"``: every distance *after* a relapse counts from its recorded end date (from
        the onset when none), a visit during a relapse being at distance 0; ``"ignore"``
        (msprog): onsets only.
    baseline
        ``"fixed"`` or a roving scheme: ``"roving"`` (re-baseline after every confirmed
        improvement or worsening), ``"roving_impr"`` (after improvements only),
        ``"roving_wors"`` (after worsenings only).
    proceed_from
        After a confirmed event, continue from (and, when roving, re-baseline at) the first
        confirmation visit (``"firstconf"``) or the event visit (``"event"``).
    sub_threshold_rebl
        With a roving baseline, also re-baseline after a *confirmed* change below the minimum
        change: ``"event"`` (either direction), ``"improvement"``, ``"worsening"``, or
        ``"none"`` (msprog's ``sub_threshold_rebl``).
    relapse_rebl
        Re-baseline after every relapse (Kappos 2020; msprog's ``relapse_rebl`` without
        ``bl_geq``): once the search passes a relapse (by more than ``relapse_assoc[0]``
        days), the baseline moves to the first visit on or after it.
    bl_geq
        With ``relapse_rebl``: a new reference value below the previous one is raised to it
        (Kappos 2020; msprog's ``bl_geq``).
    skip_local_extrema
        A visit that is a local minimum or maximum of the EDSS course cannot be a baseline (or
        the PIRA ``last_delta`` reference): ``"strict"`` = both neighbours differ by at least
        the minimum change, ``"all"`` = any local extremum, ``"none"`` (msprog; a visit equal
        to the one two visits earlier is never an extremum).
    outcome
        The measure: ``"edss"``, ``"nhpt"`` (9-hole peg test), ``"t25fw"`` (timed 25-foot
        walk), ``"sdmt"`` or ``"custom"`` (column ``value``); see
        :mod:`hsctms.endpoints.change` for the standard minimum changes.
    worsening
        ``"increase"`` / ``"decrease"``: direction of worsening of a ``custom`` outcome;
        ``"auto"`` (the named scales' own direction).
    delta_zero, delta_low, delta_high, delta_cut
        EDSS minimum change table (EDSS only): ``delta_zero`` if the reference EDSS is 0,
        ``delta_low`` if 0 < reference <= ``delta_cut``, ``delta_high`` above. ``delta_cut`` is
        5.0 (msprog) or 5.5 (most trials); the two differ only at a reference of 5.5.
    improvement_delta
        Minimum decrease for a confirmed improvement; ``None`` uses the same table as worsening
        (msprog).
    change_relative, change_absolute, change_combine
        Minimum change of a non-EDSS outcome: a fraction of the reference and/or a number of
        points (both ``None`` = the scale's standard rule); with both, the smaller (``"min"``)
        or the larger (``"max"``).
    change_function
        ``"package.module:function"`` computing the minimum change from reference values
        (non-EDSS; a function object is stored by that name, a lambda is refused).
    conf_days
        Confirmation period in whole days (84 = 12 weeks, 168 = 24 weeks, 336 = 48 weeks).
    conf_tol_days
        ``(left, right)`` tolerance: the confirmation visit is the first eligible visit with
        ``conf_days - left <= days after onset <= conf_days + right`` (right may be ``inf``).
    check_intermediate
        All visits from onset up to the confirmation visit must stay beyond the threshold.
    extra_conf_days
        More confirmation periods (whole days): each adds ``worsening_<N>d`` and
        ``improvement_<N>d`` endpoints derived with the same rules.
    require_sust_days
        Keep only events sustained for at least this many days (or to the end of follow-up);
        ``inf`` = sustained to the end of follow-up; 0 = no requirement.
    relapse_to_event
        ``(after, before)``: onsets this close to a relapse are not candidate events.
    relapse_to_conf
        ``(after, before)``: visits this close to a relapse cannot confirm an event.
    relapse_assoc
        ``(after, before)``: a confirmed worsening with onset at most ``after`` days after a
        relapse onset (or ``before`` days before one) is relapse-associated worsening (RAW).
    pira_prec, pira_event, pira_conf
        Relapse-free windows ``(days before, days after)`` around the reference (``prec``),
        onset (``event``) and confirmation (``conf``) checkpoints for progression independent
        of relapse activity (PIRA). ``(0, 0)`` ignores a checkpoint; ``None`` as the right end
        of one window and the left end of the next joins them. Default Müller 2023: event
        (90, 30), conf (90, 30).
    prec_type
        The ``prec`` checkpoint: current baseline (``"baseline"``), last visit before onset
        (``"last"``), or last visit before onset from which both the onset and the
        confirmation are a meaningful worsening (``"last_delta"``; msprog's rule, which never
        looks at the first visit and falls back to it).
    impute_last_visit
        Worsening at the last visit (no confirmation possible): 0 = dropped, 1 = kept, N > 1 =
        kept when onset is at most N days after the first visit. An integer: pymsprog's
        probabilities ``0 < p < 1`` (random imputation) are refused, as are fractional days.
    events
        Rows of the events table: ``"first"`` (first confirmed worsening and first confirmed
        improvement) or ``"all"`` (every confirmed event; needs a roving baseline).
    mri_ignore_days
        MRI scans up to this many days after the origin are ignored for MRI activity (the
        post-transplant re-baseline scan window).
    mri_min_new_t2
        Minimum number of new or enlarging T2 lesions that makes a scan active.
    mri_count_gd
        Whether a gadolinium-enhancing lesion makes a scan active.
    neda4_brain_loss_pct
        NEDA-4: annualised brain volume loss above this percentage (versus the first evaluable
        scan after ``mri_ignore_days``) is evidence of disease activity.
    pira_raw_endpoints
        Also derive ``pira`` and ``raw``: time to the first PIRA / RAW, searched as msprog's
        ``event="firstPIRA"`` / ``"firstRAW"`` (with a fixed baseline other worsenings are
        skipped, so a PIRA after an earlier RAW is found).
    milestones
        Also derive ``milestone_<m>`` for each value ``m`` (e.g. ``(4.0, 6.0)``, on the
        outcome's own scale): time to the first visit with a value at or above ``m`` (at or
        below for a decreasing outcome such as SDMT) confirmed under ``conf_days``,
        ``conf_tol_days``, ``relapse_to_event``, ``relapse_to_conf``, ``require_sust_days``
        and ``impute_last_visit`` (pymsprog's ``value_milestone``; see
        :mod:`hsctms.endpoints.milestone`).
    efs_components
        Events of event-free survival (HALT-MS: death, confirmed worsening, relapse, new MRI
        activity).
    sources
        References the definition follows (citations of a preset; not used in the derivation
        and not part of :meth:`describe`).
    """

    name: str = _f("custom", "any text", None, result=False)
    description: str = _f("", "any text", None, result=False)
    origin: Origin = _f("transplant", _one(Origin),
                        lambda v, d: "the index transplant" if v == "transplant"
                        else "the first EDSS visit" if d.outcome == "edss"
                        else f"the first {scale(d).label} assessment")
    exclude_before: ExcludeBefore = _f(
        "none", _one(ExcludeBefore) + " (needs a patients table with onset_date / "
        "diagnosis_date)",
        lambda v, d: "" if v == "none" else
        f"; EDSS visits and relapses dated before the patient's MS {v} were not used "
        "(reported as dropped rows)")
    baseline_window_days: Days = _f(
        180.0, _DAYS_INF,
        lambda v, d: "" if d.origin != "transplant" else
        (" (baseline: the last EDSS at any time before it" if math.isinf(v)
         else f" (baseline: the last EDSS within {num(v)} days before it"))
    baseline_after_days: Days = _f(
        0.0, _DAYS_INF + " (0 = never)",
        lambda v, d: "" if d.origin != "transplant" else
        (", none after it)" if v == 0 else ", else the first valid EDSS at any time after it)"
         if math.isinf(v) else f", else the first valid EDSS up to {num(v)} days after it)"))
    relapse_to_bl: Pair = _f(
        (30.0, 0.0), _PAIR,
        lambda v, d: f"visits {within(v)} were not used as baseline" if within(v)
        else "relapses did not restrict the choice of baseline", scalar="after_only")
    relapse_end: RelapseEnd = _f(
        "ignore", _one(RelapseEnd),
        lambda v, d: "" if v == "ignore" else "; every distance after a relapse was counted "
        "from its recorded end date (from the onset when none was recorded; a visit during a "
        "relapse is at distance 0)")
    baseline: BaselineScheme = _f("fixed", _one(BaselineScheme),
                                  lambda v, d: _BASELINE_WORDS[v])
    proceed_from: ProceedFrom = _f(
        "firstconf", _one(ProceedFrom),
        lambda v, d: "after an event the search (and a roving baseline) continued from "
        + ("the first confirmation visit" if v == "firstconf" else "the event visit"))
    sub_threshold_rebl: SubThreshold = _f("none", _one(SubThreshold),
                                          lambda v, d: _SUB_WORDS[v])
    relapse_rebl: bool = _f(False, "true or false",
                            lambda v, d: " (re-set after every relapse)" if v else "")
    bl_geq: bool = _f(False, "true or false (only with relapse_rebl)",
                      lambda v, d: ", never below the previous reference" if v else "")
    skip_local_extrema: LocalExtrema = _f("none", _one(LocalExtrema),
                                          lambda v, d: _EXTREMA_WORDS[v])
    outcome: Outcome = _f("edss", _one(Outcome),
                          lambda v, d: "an EDSS" if v == "edss" else f"a {scale(d).label}")
    worsening: Worsening = _f(
        "auto", _one(Worsening) + " ('auto' = the scale's own direction; 'increase' or "
        "'decrease' only with outcome: custom)",
        lambda v, d: " increase" if increases(d) else " decrease")
    delta_zero: Positive = _f(1.5, "a positive number",
                              lambda v, d: f"{num(v, '.1f')} from a reference of 0, "
                              if d.outcome == "edss" else "")
    delta_low: Positive = _f(1.0, "a positive number",
                             lambda v, d: f"{num(v, '.1f')} from 1.0 to "
                             if d.outcome == "edss" else "")
    delta_high: Positive = _f(0.5, "a positive number",
                              lambda v, d: f" and {num(v, '.1f')} above"
                              if d.outcome == "edss" else "")
    delta_cut: FiniteDays = _f(5.0, "a non-negative EDSS value (5.0 or 5.5)",
                               lambda v, d: num(v, ".1f") if d.outcome == "edss" else "")
    change_relative: Positive | None = _f(
        None, "a positive fraction of the reference (0.2 = 20%), or null (the scale's "
        "standard rule); not with outcome: edss", lambda v, d: describe_rule(d))
    change_absolute: Positive | None = _f(
        None, "a positive number of points, or null; not with outcome: edss",
        lambda v, d: "")
    change_combine: Combine = _f(
        "min", _one(Combine) + " (with both a relative and an absolute change)",
        lambda v, d: "")
    change_function: ChangeFunction = _f(
        None, "'package.module:function' naming f(reference values) -> minimum changes, or "
        "null; not with outcome: edss nor with change_relative/change_absolute",
        lambda v, d: "")
    improvement_delta: Positive | None = _f(
        None, "a positive number, or null (same table as worsening)",
        lambda v, d: "the same thresholds" if v is None
        else f"a decrease of at least {num(v)}")
    conf_days: WholeDays = _f(84, "a positive whole number of days (int), e.g. 84 or 168",
                              lambda v, d: f"{v} days")
    conf_tol_days: Pair = _f(
        (7.0, 730.5), "an explicit pair [left, right] of non-negative days (right may be "
        "'inf'), left <= conf_days", _conf_window, scalar="symmetric")
    check_intermediate: bool = _f(
        True, "true or false",
        lambda v, d: " with all intermediate visits beyond the threshold" if v
        else " without checking the intermediate visits")
    extra_conf_days: ConfDays = _f(
        (), "a list of distinct whole numbers of days (int), none equal to conf_days, e.g. "
        "[168] to add 24-week confirmed endpoints",
        lambda v, d: "" if not v else " Confirmed worsening and improvement were also derived "
        "with confirmation after " + ", ".join(f"{x}" for x in v) + " days (the same "
        "tolerance and rules; endpoints " + ", ".join(f"worsening_{x}d" for x in v) + ").")
    require_sust_days: Days = _f(
        0.0, _DAYS_INF + " (0 = none, inf = to the last visit)",
        lambda v, d: "no sustained-worsening requirement" if v == 0
        else "events had to be sustained to the last visit" if math.isinf(v)
        else f"events had to be sustained for at least {num(v)} days (or to the last visit)")
    relapse_to_event: Pair = _f(
        (0.0, 0.0), _PAIR,
        lambda v, d: f"onsets {within(v)} were not candidate events" if within(v)
        else "candidate onsets were not restricted by relapses", scalar="after_only")
    relapse_to_conf: Pair = _f(
        (30.0, 0.0), _PAIR,
        lambda v, d: f"not at a visit {within(v)}" if within(v)
        else "at any visit regardless of relapses", scalar="after_only")
    relapse_assoc: Pair = _f(
        (90.0, 0.0), _PAIR, lambda v, d: within(v, inclusive=True), scalar="after_only")
    pira_prec: OpenPair = _f((0.0, 0.0), _PIRA,
                           lambda v, d: _win(v, "the reference"))
    pira_event: OpenPair = _f((90.0, 30.0), _PIRA,
                            lambda v, d: _win(v, "onset"))
    pira_conf: OpenPair = _f((90.0, 30.0), _PIRA,
                           lambda v, d: _win(v, "confirmation"))
    prec_type: PrecType = _f("baseline", _one(PrecType), lambda v, d: _PREC_WORDS[v])
    impute_last_visit: Impute = _f(
        0, "0 (never), 1 (always) or a whole number of days > 1 (int)",
        lambda v, d: _IMPUTE_WORDS.get(
            v, "a worsening at the last visit was counted without confirmation when its "
               f"onset was at most {v} days after the first visit"),
        hint="pymsprog's probabilities 0 < p < 1 (random imputation) are not supported, "
             "results would not be reproducible; use 0, 1 or whole days (e.g. 731, not "
             "730.5).")
    events: EventsReported = _f(
        "first", _one(EventsReported),
        lambda v, d: "the events table listed "
        + ("the first confirmed worsening and the first confirmed improvement"
           if v == "first" else "every confirmed event"))
    mri_ignore_days: FiniteDays = _f(
        0.0, "a non-negative finite number of days",
        lambda v, d: f", ignoring scans in the first {num(v)} days" if v else "")
    mri_min_new_t2: Count = _f(1, "a whole number >= 1 (int)",
                               lambda v, d: f"{v} new or enlarging T2 lesion"
                               + ("s" if v > 1 else ""))
    mri_count_gd: bool = _f(True, "true or false",
                            lambda v, d: " or a gadolinium-enhancing lesion" if v
                            else " (gadolinium enhancement not counted)")
    neda4_brain_loss_pct: FiniteDays = _f(0.4, "a non-negative finite percentage per year",
                                          lambda v, d: num(v))
    efs_components: Efs = _f(EFS_COMPONENTS, "a non-empty list of distinct values from "
                             + ", ".join(map(repr, EFS_COMPONENTS)),
                             lambda v, d: ", ".join(_EFS_WORDS[c] for c in v))
    pira_raw_endpoints: bool = _f(
        False, "true or false",
        lambda v, d: " Time to the first PIRA and to the first RAW were derived as separate "
        "endpoints (msprog's firstPIRA/firstRAW)." if v else "")
    milestones: Milestones = _f(
        (), "a list of distinct non-negative finite values, e.g. [4.0, 6.0] (empty = none)",
        lambda v, d: "" if not v else " Milestones (each separately): time to the first "
        f"value of at {'least' if increases(d) else 'most'} "
        + ", ".join(num(x, ".1f") for x in v) + ", confirmed as a "
        "worsening (same period, tolerance, relapse windows, sustained and last-visit rules) "
        "with every visit from onset to confirmation at or above it.",
        hint="write a list of values, e.g. [4.0, 6.0] or [] for none.")
    sources: Names = _f((), "a list of texts", None, result=False)

    @model_validator(mode="wrap")
    @classmethod
    def _strict(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """Turn pydantic's ValidationError into one DefinitionError listing every problem."""
        try:
            return handler(data)
        except ValidationError as exc:
            raise S.to_definition_error(exc, field_metadata()) from None

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        if self.pira_prec[0] is None:
            problems.append(("pira_prec cannot start with null (nothing to join it to).",
                             "Use a number of days, e.g. [0, null]."))
        if self.conf_tol_days[0] > self.conf_days:
            problems.append((f"conf_tol_days left tolerance {self.conf_tol_days[0]:g} exceeds "
                             f"conf_days {self.conf_days}.",
                             "The confirmation window must start after the onset."))
        if self.bl_geq and not self.relapse_rebl:
            problems.append(("bl_geq only applies with relapse_rebl (msprog silently ignores "
                             "it otherwise).", "Set relapse_rebl: true, or drop bl_geq."))
        if self.bl_geq and self.skip_local_extrema != "none":
            problems.append(("bl_geq cannot be combined with skip_local_extrema here.",
                             "Use one of the two."))
        if self.events == "all" and self.baseline == "fixed":
            problems.append((
                "events='all' with a fixed baseline counts one sustained step several times "
                "(each later visit is again 'confirmed worsening' versus the same baseline).",
                "Use baseline='roving' (or 'roving_wors') for multiple events, or "
                "events='first'."))
        problems += self._outcome_problems()
        if self.conf_days in self.extra_conf_days:
            problems.append((f"extra_conf_days repeats conf_days {self.conf_days}.",
                             "List only the additional confirmation periods."))
        short = [x for x in self.extra_conf_days if x < self.conf_tol_days[0]]
        if short:
            problems.append((f"extra_conf_days {short} is shorter than the left tolerance "
                             f"{self.conf_tol_days[0]:g} of conf_tol_days.",
                             "Each confirmation window must start after the onset."))
        if problems:
            raise DefinitionError(" ".join(p for p, _ in problems),
                                  hint=" ".join(h for _, h in problems))

    def _outcome_problems(self) -> list[tuple[str, str]]:
        """Combination rules of ``outcome``, ``worsening`` and the ``change_*`` fields."""
        out: list[tuple[str, str]] = []
        explicit = self.change_relative is not None or self.change_absolute is not None
        if self.outcome == "custom" and self.worsening == "auto":
            out.append(("outcome 'custom' needs worsening: increase or decrease.",
                        "Say whether higher values of the score are worse (increase)."))
        if self.outcome != "custom" and self.worsening != "auto":
            out.append((f"worsening applies only to outcome: custom; {self.outcome} has a "
                        "fixed direction.", "Drop worsening (or write worsening: auto)."))
        if self.outcome == "edss" and (explicit or self.change_function is not None):
            out.append(("change_relative / change_absolute / change_function do not apply to "
                        "outcome: edss.", "For EDSS set delta_zero, delta_low, delta_high and "
                        "delta_cut; or use outcome: custom with the scores in a 'value' "
                        "column."))
        if self.change_function is not None and explicit:
            out.append(("change_function cannot be combined with change_relative or "
                        "change_absolute.", "Use either the function or the fixed rule."))
        if self.outcome == "custom" and not explicit and self.change_function is None:
            out.append(("outcome 'custom' needs a minimum change.",
                        "Set change_relative (e.g. 0.2), change_absolute, or "
                        "change_function."))
        s = scale(self)
        parts = ((self.change_relative is not None) + (self.change_absolute is not None)
                 if explicit else (s.relative is not None) + (s.absolute is not None))
        if self.change_combine != "min" and (parts < 2 or self.change_function is not None):
            out.append(("change_combine only applies when a relative and an absolute change "
                        "are both in force.", "Drop change_combine, or set both "
                        "change_relative and change_absolute."))
        return out

    # -- thresholds -------------------------------------------------------------------
    def delta(self, reference: float) -> float:
        """Minimum worsening from ``reference`` on the outcome's own scale (see
        :func:`hsctms.endpoints.change.min_change`).

        Parameters
        ----------
        reference
            The reference (baseline) value on the outcome's scale (EDSS points for EDSS).

        Returns
        -------
        float
            The smallest change from ``reference`` in the worsening direction that counts as
            worsening (EDSS: ``delta_zero`` / ``delta_low`` / ``delta_high``).
        """
        from hsctms.endpoints.change import min_change

        return float(min_change(self, np.asarray([reference], dtype=np.float64))[0])

    @property
    def impute_max_days(self) -> float:
        """Upper follow-up bound for last-visit imputation (inf for 0/1)."""
        return float(self.impute_last_visit) if self.impute_last_visit > 1 else math.inf

    def describe(self) -> str:
        """A methods-section paragraph stating every criterion that changes a result.

        Built from the schema: each result-changing field's ``phrase`` (field metadata) fills
        its placeholder in :data:`DESCRIBE_TEMPLATE`. Two definitions that differ in such a
        field give different paragraphs, except the transplant-baseline settings
        (``baseline_window_days``, ``baseline_after_days``), which are not used and not shown
        with ``origin="first_visit"``.

        Returns
        -------
        str
            The paragraph, in English, ready for a methods section.
        """
        words = {f.name: f.metadata["phrase"](getattr(self, f.name), self)
                 for f in dataclasses.fields(self) if f.metadata["result"]}
        return DESCRIBE_TEMPLATE.format(**words)

    # -- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable mapping (``inf`` written as the string ``"inf"``).

        Returns
        -------
        dict of str to Any
            Every field by name; pairs and tuples as lists. :meth:`from_dict` reads it back.
        """
        def enc(v: Any) -> Any:
            if isinstance(v, float) and math.isinf(v):
                return "inf"
            if isinstance(v, tuple):
                return [enc(i) for i in v]
            return v
        return {k: enc(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EndpointDefinition:
        """Build from a mapping (as written by :meth:`to_dict`, YAML or JSON).

        A ``preset`` key starts from that preset and overrides the other keys. Values are
        validated strictly (see the class docstring); pairs may be lists.

        Parameters
        ----------
        data
            Field name to value; an optional ``preset`` key names the preset to start from.
            Fields not given keep their defaults (or the preset's values).

        Returns
        -------
        EndpointDefinition
            The validated definition.

        Raises
        ------
        DefinitionError
            A key is not a field name, or a value is not allowed.
        """
        data = dict(data)
        odd = [k for k in data if not isinstance(k, str)]
        if odd:
            raise DefinitionError(f"Definition keys must be field names, got {odd!r}.",
                                  hint="See docs/endpoints.md 'Definition fields'.")
        base: dict[str, Any] = {}
        if "preset" in data:
            base = get_definition(str(data.pop("preset"))).to_dict()
        base.update(data)
        return cls(**base)

    @classmethod
    def from_file(cls, path: str | Path) -> EndpointDefinition:
        """Load a definition from a ``.yaml``/``.yml`` or ``.json`` file.

        Parameters
        ----------
        path
            The file; YAML when the suffix is ``.yaml``/``.yml``, JSON otherwise. It holds a
            mapping of fields, read as by :meth:`from_dict`.

        Returns
        -------
        EndpointDefinition
            The validated definition.

        Raises
        ------
        DefinitionError
            The file is missing, unreadable, not valid YAML/JSON, not a mapping, or holds a
            field value that is not allowed (the message names the file).
        """
        p = Path(path)
        if not p.exists():
            raise DefinitionError(f"Definition file {p} does not exist.",
                                  hint=f"Use a preset name ({', '.join(PRESETS)}) or a path.")
        try:
            text = read_regular_file(p).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:  # a directory, FIFO or device: unread
            raise DefinitionError(f"Definition file {p} cannot be read: {exc}.",
                                  hint="Give a UTF-8 .yaml or .json file.") from None
        try:
            if p.suffix.lower() in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except Exception as exc:  # yaml.YAMLError / json.JSONDecodeError
            raise DefinitionError(f"{p} is not valid {p.suffix.lstrip('.').upper()}: {exc}",
                                  hint="Fix the file syntax.") from None
        if not isinstance(data, dict):
            raise DefinitionError(f"{p} must hold a mapping of definition fields.")
        try:
            return cls.from_dict(data)
        except DefinitionError as exc:
            raise DefinitionError(f"{p}: {exc.message}", hint=exc.hint) from None

    def with_(self, **changes: Any) -> EndpointDefinition:
        """A copy with some fields changed (validated again).

        Parameters
        ----------
        **changes
            Field name to new value (as for the constructor).

        Returns
        -------
        EndpointDefinition
            A new definition; this one is unchanged.
        """
        return dataclasses.replace(self, **changes)


def field_metadata() -> dict[str, dict[str, Any]]:
    """Field name -> schema metadata (``allowed``, ``phrase``, ``scalar``, ``result``)."""
    return {f.name: dict(f.metadata) for f in dataclasses.fields(EndpointDefinition)}


#: Sentences of :meth:`EndpointDefinition.describe`; one ``{field}`` per result-changing field.
DESCRIBE_TEMPLATE = (
    "Time was measured from {origin}{baseline_window_days}{baseline_after_days}; "
    "{relapse_to_bl}{relapse_end}{exclude_before}. "
    "Confirmed disability worsening was {outcome}{worsening} of at least "
    "{delta_zero}{delta_low}{delta_cut}{delta_high}{change_relative}{change_absolute}"
    "{change_combine}{change_function}, confirmed "
    "after {conf_days} at {conf_tol_days}{check_intermediate}, {relapse_to_conf}; "
    "{relapse_to_event}; {require_sust_days}; {impute_last_visit}.{extra_conf_days} "
    "Improvement used {improvement_delta}. "
    "Baseline: {baseline}{relapse_rebl}{bl_geq}{sub_threshold_rebl}{skip_local_extrema}; "
    "{proceed_from}; {events}. "
    "Worsening starting {relapse_assoc} was relapse-associated (RAW); otherwise it was PIRA "
    "when no relapse occurred within the windows around {pira_prec}, {pira_event} and "
    "{pira_conf}, the reference being {prec_type}, and undetermined otherwise."
    "{pira_raw_endpoints} "
    "MRI activity was any scan with at least {mri_min_new_t2}{mri_count_gd}{mri_ignore_days}; "
    "NEDA-4 also counted annualised brain volume loss above {neda4_brain_loss_pct}% per year. "
    "NEDA-3 was lost at the first relapse, confirmed worsening or MRI activity; event-free "
    "survival counted {efs_components}.{milestones}"
)


def template_fields() -> list[str]:
    """The field names placed by :data:`DESCRIBE_TEMPLATE`, in order."""
    return [n for _, n, _, _ in string.Formatter().parse(DESCRIBE_TEMPLATE) if n]


def _load_presets() -> dict[str, EndpointDefinition]:
    """Every ``presets/*.yaml`` file (full definitions, file stem = ``name``)."""
    out: dict[str, EndpointDefinition] = {}
    for path in sorted(PRESETS_DIR.glob("*.yaml")):
        d = EndpointDefinition.from_file(path)
        if d.name != path.stem:
            raise DefinitionError(f"Preset file {path.name} holds name {d.name!r}.",
                                  hint=f"Set name: {path.stem} in the file.")
        out[d.name] = d
    return out


#: The named presets, loaded from ``hsctms/endpoints/presets/*.yaml``.
PRESETS: dict[str, EndpointDefinition] = _load_presets()


def get_definition(definition: str | EndpointDefinition | Mapping[str, Any] | Path
                   ) -> EndpointDefinition:
    """Resolve a preset name, a definition file path, a mapping, or a definition.

    Parameters
    ----------
    definition
        A preset name (a key of :data:`PRESETS`, e.g. ``"halt_ms"``), a path to a
        ``.yaml``/``.yml``/``.json`` file, a mapping of fields (as for
        :meth:`EndpointDefinition.from_dict`) or a definition (returned as it is).

    Returns
    -------
    EndpointDefinition
        The resolved definition.

    Raises
    ------
    DefinitionError
        The name is neither a preset nor a definition file, or the definition is invalid.

    Examples
    --------
    >>> get_definition("msprog_default").conf_days
    84
    """
    if isinstance(definition, EndpointDefinition):
        return definition
    if isinstance(definition, Mapping):
        return EndpointDefinition.from_dict(definition)
    text = str(definition)
    if text in PRESETS:
        return PRESETS[text]
    if isinstance(definition, Path) or text.endswith((".yaml", ".yml", ".json")):
        return EndpointDefinition.from_file(text)
    raise DefinitionError(f"Unknown endpoint definition {text!r}.",
                          hint=f"Use one of the presets ({', '.join(PRESETS)}) or a .yaml/.json "
                               "file.")
