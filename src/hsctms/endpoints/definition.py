"""Endpoint definitions as data: :class:`EndpointDefinition` and the named presets.

Every choice that changes a derived outcome is a field of a frozen dataclass, so a result can
say exactly how it was derived (``result.definition.to_dict()``) and a definition can be stored
next to the analysis as YAML or JSON.

The disability part follows the vocabulary of msprog / pymsprog (Montobbio et al., Mult Scler
2024;30(9):1185-1192) so that users coming from those packages find the same names: confirmation
period ``conf_days`` with an asymmetric tolerance ``conf_tol_days``, relapse windows as
``(after, before)`` pairs, PIRA relapse-free windows around the ``prec``/``event``/``conf``
checkpoints, baseline schemes and ``proceed_from``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from hsctms.errors import DefinitionError

Origin = Literal["transplant", "first_visit"]
BaselineScheme = Literal["fixed", "roving", "roving_impr", "roving_wors"]
ProceedFrom = Literal["firstconf", "event"]
EventsReported = Literal["first", "all"]
PrecType = Literal["baseline", "last", "last_delta"]
SubThreshold = Literal["none", "event", "improvement", "worsening"]
LocalExtrema = Literal["none", "strict", "all"]

EFS_COMPONENTS: tuple[str, ...] = ("death", "worsening", "relapse", "mri_activity")

Window = tuple[float | None, float | None]


def _pair(value: Any, name: str, *, allow_none: bool = False) -> tuple[Any, Any]:
    """Normalise a scalar or a length-1/2 sequence to an ``(after, before)`` pair."""
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            value = (value[0], 0.0)
        if len(value) != 2:
            raise DefinitionError(f"{name} must be a number or a pair, got {value!r}.",
                                  hint="Write e.g. 30 or [30, 0] (days after, days before).")
        out = tuple(_num(v, name, allow_none=allow_none) for v in value)
        return out[0], out[1]
    return _num(value, name, allow_none=allow_none), 0.0


def _num(value: Any, name: str, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, str) and value.strip().lower() in ("inf", "infinity"):
        return math.inf
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise DefinitionError(f"{name} must be a number of days, got {value!r}.",
                              hint="Use a number; 'inf' is accepted for an open end.") from None
    if math.isnan(out) or out < 0:
        raise DefinitionError(f"{name} must be a non-negative number of days, got {value!r}.")
    return out


_CHOICES: dict[str, tuple[str, ...]] = {
    "origin": ("transplant", "first_visit"),
    "baseline": ("fixed", "roving", "roving_impr", "roving_wors"),
    "proceed_from": ("firstconf", "event"),
    "events": ("first", "all"),
    "prec_type": ("baseline", "last", "last_delta"),
    "sub_threshold_rebl": ("none", "event", "improvement", "worsening"),
    "skip_local_extrema": ("none", "strict", "all"),
}


@dataclass(frozen=True)
class EndpointDefinition:
    """How every endpoint is derived from visits, relapses, MRI scans and deaths.

    All durations are in days. Pairs written ``(after, before)`` mean "minimum (or maximum)
    distance from the *last* relapse before, and from the *next* relapse after" the visit, as in
    msprog.

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
    relapse_to_bl
        ``(after, before)``: a visit within ``after`` days after a relapse onset (or ``before``
        days before the next one) cannot be a baseline (it is moved to the next valid visit).
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
    delta_zero, delta_low, delta_high, delta_cut
        Minimum change table: ``delta_zero`` if the reference EDSS is 0, ``delta_low`` if
        0 < reference <= ``delta_cut``, ``delta_high`` above. ``delta_cut`` is 5.0 (msprog) or
        5.5 (most trials); the two differ only at a reference of 5.5.
    improvement_delta
        Minimum decrease for a confirmed improvement; ``None`` uses the same table as worsening
        (msprog).
    conf_days
        Confirmation period in whole days (84 = 12 weeks, 168 = 24 weeks, 336 = 48 weeks).
    conf_tol_days
        ``(left, right)`` tolerance: the confirmation visit is the first eligible visit with
        ``conf_days - left <= days after onset <= conf_days + right`` (right may be ``inf``).
    check_intermediate
        All visits from onset up to the confirmation visit must stay beyond the threshold.
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
        kept when onset is at most N days after the first visit.
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
    efs_components
        Events of event-free survival (HALT-MS: death, confirmed worsening, relapse, new MRI
        activity).
    """

    name: str = "custom"
    description: str = ""
    origin: Origin = "transplant"
    baseline_window_days: float = 180.0
    baseline_after_days: float = 0.0
    relapse_to_bl: tuple[float, float] = (30.0, 0.0)
    baseline: BaselineScheme = "fixed"
    proceed_from: ProceedFrom = "firstconf"
    sub_threshold_rebl: SubThreshold = "none"
    relapse_rebl: bool = False
    bl_geq: bool = False
    skip_local_extrema: LocalExtrema = "none"
    delta_zero: float = 1.5
    delta_low: float = 1.0
    delta_high: float = 0.5
    delta_cut: float = 5.0
    improvement_delta: float | None = None
    conf_days: int = 84
    conf_tol_days: tuple[float, float] = (7.0, 730.5)
    check_intermediate: bool = True
    require_sust_days: float = 0.0
    relapse_to_event: tuple[float, float] = (0.0, 0.0)
    relapse_to_conf: tuple[float, float] = (30.0, 0.0)
    relapse_assoc: tuple[float, float] = (90.0, 0.0)
    pira_prec: Window = (0.0, 0.0)
    pira_event: Window = (90.0, 30.0)
    pira_conf: Window = (90.0, 30.0)
    prec_type: PrecType = "baseline"
    impute_last_visit: float = 0.0
    events: EventsReported = "first"
    mri_ignore_days: float = 0.0
    mri_min_new_t2: int = 1
    mri_count_gd: bool = True
    neda4_brain_loss_pct: float = 0.4
    efs_components: tuple[str, ...] = EFS_COMPONENTS
    pira_raw_endpoints: bool = False
    sources: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for key, allowed in _CHOICES.items():
            if getattr(self, key) not in allowed:
                raise DefinitionError(
                    f"{key}={getattr(self, key)!r} is not one of {', '.join(allowed)}.",
                    hint=f"Set {key} to one of: {', '.join(allowed)}.")
        set_ = object.__setattr__
        for key in ("relapse_to_bl", "relapse_to_event", "relapse_to_conf", "relapse_assoc",
                    "conf_tol_days"):
            set_(self, key, _pair(getattr(self, key), key))
        for key in ("pira_prec", "pira_event", "pira_conf"):
            set_(self, key, _pair(getattr(self, key), key, allow_none=True))
        if self.pira_prec[0] is None:
            raise DefinitionError("pira_prec cannot start with None (nothing to join it to).",
                                  hint="Use a number of days, e.g. [0, null].")
        for key in ("baseline_window_days", "baseline_after_days", "delta_zero", "delta_low",
                    "delta_high", "delta_cut", "require_sust_days", "impute_last_visit",
                    "mri_ignore_days", "neda4_brain_loss_pct"):
            set_(self, key, _num(getattr(self, key), key))
        if self.improvement_delta is not None:
            set_(self, "improvement_delta", _num(self.improvement_delta, "improvement_delta"))
            if self.improvement_delta == 0:
                raise DefinitionError("improvement_delta must be positive.")
        if min(self.delta_zero, self.delta_low, self.delta_high) <= 0:
            raise DefinitionError("Minimum-change thresholds must be positive.",
                                  hint="Typical table: 1.5 / 1.0 / 0.5.")
        if isinstance(self.conf_days, bool) or float(self.conf_days) != int(self.conf_days) \
                or int(self.conf_days) <= 0:
            raise DefinitionError(f"conf_days must be a positive whole number of days, got "
                                  f"{self.conf_days!r}.", hint="12 weeks = 84, 24 weeks = 168.")
        set_(self, "conf_days", int(self.conf_days))
        if self.conf_tol_days[0] > self.conf_days:
            raise DefinitionError("conf_tol_days left tolerance exceeds conf_days.",
                                  hint="The confirmation window must start after the onset.")
        if int(self.mri_min_new_t2) < 1:
            raise DefinitionError("mri_min_new_t2 must be at least 1.")
        set_(self, "mri_min_new_t2", int(self.mri_min_new_t2))
        comps = tuple(self.efs_components)
        bad = [c for c in comps if c not in EFS_COMPONENTS]
        if bad or not comps:
            raise DefinitionError(f"efs_components {bad or comps!r} invalid.",
                                  hint=f"Choose from {', '.join(EFS_COMPONENTS)}.")
        set_(self, "efs_components", comps)
        set_(self, "sources", tuple(self.sources))
        self._check_combinations()

    def _check_combinations(self) -> None:
        if self.bl_geq and not self.relapse_rebl:
            raise DefinitionError("bl_geq only applies with relapse_rebl (msprog silently "
                                  "ignores it otherwise).",
                                  hint="Set relapse_rebl: true, or drop bl_geq.")
        if self.bl_geq and self.skip_local_extrema != "none":
            raise DefinitionError("bl_geq cannot be combined with skip_local_extrema here.",
                                  hint="Use one of the two.")
        if self.events == "all" and self.baseline == "fixed":
            raise DefinitionError(
                "events='all' with a fixed baseline counts one sustained step several times "
                "(each later visit is again 'confirmed worsening' versus the same baseline).",
                hint="Use baseline='roving' (or 'roving_wors') for multiple events, or "
                     "events='first'.")

    # -- thresholds -------------------------------------------------------------------
    def delta(self, reference: float) -> float:
        """Minimum worsening from ``reference`` (scalar form of the vectorised table)."""
        if reference == 0:
            return self.delta_zero
        return self.delta_low if reference <= self.delta_cut else self.delta_high

    @property
    def impute_max_days(self) -> float:
        """Upper follow-up bound for last-visit imputation (inf for 0/1)."""
        return self.impute_last_visit if self.impute_last_visit > 1 else math.inf

    def describe(self) -> str:
        """A methods-section paragraph stating the criteria (for reports and papers)."""
        def days(x: float) -> str:
            return "unbounded" if math.isinf(x) else f"{x:g}"

        origin = ("the index transplant (baseline: last EDSS within "
                  f"{self.baseline_window_days:g} days before it)"
                  if self.origin == "transplant" else "the first EDSS visit")
        parts = [
            f"Time was measured from {origin}; visits within {self.relapse_to_bl[0]:g} days "
            "after a relapse onset were not used as baseline.",
            f"Confirmed disability worsening was an EDSS increase of at least "
            f"{self.delta_zero:.1f} from a reference of 0, {self.delta_low:.1f} from 1.0 to "
            f"{self.delta_cut:.1f} and {self.delta_high:.1f} above, confirmed at the first visit "
            f"{self.conf_days - self.conf_tol_days[0]:g} to "
            f"{days(self.conf_days + self.conf_tol_days[1])} days after onset "
            f"({self.conf_days} days, tolerance -{self.conf_tol_days[0]:g}/+"
            f"{days(self.conf_tol_days[1])})"
            + (" with all intermediate visits above the threshold" if self.check_intermediate
               else "") + f", not within {self.relapse_to_conf[0]:g} days after a relapse.",
            "Improvement used "
            + ("the same thresholds" if self.improvement_delta is None
               else f"a decrease of at least {self.improvement_delta:g}") + ".",
            f"Baseline: {self.baseline}"
            + (" (re-set after every relapse)" if self.relapse_rebl else "") + ".",
            f"Worsening starting within {self.relapse_assoc[0]:g} days after a relapse onset "
            "was relapse-associated (RAW); otherwise it was PIRA when no relapse occurred "
            f"within the windows {self._windows()}, and undetermined otherwise.",
            f"MRI activity was any scan with at least {self.mri_min_new_t2} new or enlarging "
            "T2 lesion" + (" or a gadolinium-enhancing lesion" if self.mri_count_gd else "")
            + (f", ignoring scans in the first {self.mri_ignore_days:g} days"
               if self.mri_ignore_days else "") + ".",
            "NEDA-3 was lost at the first relapse, confirmed worsening or MRI activity; "
            f"event-free survival counted {', '.join(self.efs_components)}.",
        ]
        return " ".join(parts)

    def _windows(self) -> str:
        def w(name: str, pair: tuple[float | None, float | None]) -> str:
            a, b = ("joined" if x is None else f"{x:g}" for x in pair)
            return f"{name} (-{a}/+{b} days)"
        shown = [w(n, p) for n, p in (("reference", self.pira_prec),
                                      ("onset", self.pira_event),
                                      ("confirmation", self.pira_conf)) if p != (0.0, 0.0)]
        return ", ".join(shown) or "(none)"

    # -- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable mapping (``inf`` written as the string ``"inf"``)."""
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

        A ``preset`` key starts from that preset and overrides the other keys.
        """
        data = dict(data)
        known = {f.name for f in fields(cls)}
        base: dict[str, Any] = {}
        if "preset" in data:
            base = get_definition(str(data.pop("preset"))).to_dict()
        unknown = sorted(set(data) - known)
        if unknown:
            raise DefinitionError(f"Unknown definition field(s): {', '.join(unknown)}.",
                                  hint="See docs/endpoints.md for the fields.")
        base.update(data)
        for key in ("relapse_to_bl", "relapse_to_event", "relapse_to_conf", "relapse_assoc",
                    "conf_tol_days", "pira_prec", "pira_event", "pira_conf"):
            if key in base and isinstance(base[key], list):
                base[key] = tuple(base[key])
        for key in ("efs_components", "sources"):
            if key in base:
                base[key] = tuple(base[key])
        return cls(**base)

    @classmethod
    def from_file(cls, path: str | Path) -> EndpointDefinition:
        """Load a definition from a ``.yaml``/``.yml`` or ``.json`` file."""
        p = Path(path)
        if not p.exists():
            raise DefinitionError(f"Definition file {p} does not exist.",
                                  hint=f"Use a preset name ({', '.join(PRESETS)}) or a path.")
        text = p.read_text(encoding="utf-8")
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
        if not isinstance(data, dict):
            raise DefinitionError(f"{p} must hold a mapping of definition fields.")
        return cls.from_dict(data)

    def with_(self, **changes: Any) -> EndpointDefinition:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


_MSPROG_SRC = ("pymsprog 1.0.7 MSprog() defaults; Montobbio et al. Mult Scler 2024;30(9):"
               "1185-1192, doi:10.1177/13524585241243157")
_MULLER = ("PIRA windows: Müller et al. JAMA Neurol 2023 (no relapse 90 d before/30 d after "
           "onset and confirmation); RAW: Kappos et al. JAMA Neurol 2020;77(9):1132-1140")

PRESETS: dict[str, EndpointDefinition] = {
    "msprog_default": EndpointDefinition(
        name="msprog_default",
        description="pymsprog 1.0.7 defaults written out: origin at the first visit, fixed "
                    "baseline, first confirmed worsening, confirmation at 84 days with "
                    "tolerance 7 days before and 730.5 days after, relapse_to_bl 30, "
                    "relapse_to_event 0, relapse_to_conf 30, minimum-change cut 5.0.",
        origin="first_visit",
        baseline="fixed",
        delta_cut=5.0,
        conf_days=84,
        conf_tol_days=(7.0, 730.5),
        relapse_to_bl=(30.0, 0.0),
        relapse_to_event=(0.0, 0.0),
        relapse_to_conf=(30.0, 0.0),
        relapse_assoc=(90.0, 0.0),
        mri_ignore_days=0.0,
        sources=(_MSPROG_SRC, _MULLER),
    ),
    "halt_ms": EndpointDefinition(
        name="halt_ms",
        description="HALT-MS-style aHSCT analysis: origin at the transplant, baseline = last "
                    "EDSS within 180 days before it (not within 30 days after a relapse), fixed "
                    "baseline, worsening +1.5/+1.0/+0.5 with cut 5.5 confirmed at 24 weeks "
                    "(tolerance -7/+730.5 days), MRI scans in the first 180 days ignored; "
                    "event-free survival = no death, confirmed worsening, relapse or new MRI "
                    "activity. Thresholds and windows follow common trial practice (unverified "
                    "against the HALT-MS protocol).",
        origin="transplant",
        baseline_window_days=180.0,
        baseline="fixed",
        delta_cut=5.5,
        conf_days=168,
        conf_tol_days=(7.0, 730.5),
        relapse_to_bl=(30.0, 0.0),
        relapse_to_event=(0.0, 0.0),
        relapse_to_conf=(30.0, 0.0),
        mri_ignore_days=180.0,
        sources=("Nash et al. Neurology 2017;88:842-852 (HALT-MS 5-year; EFS components)",
                 _MULLER),
    ),
    "msbase": EndpointDefinition(
        name="msbase",
        description="MSBase-style (Kalincik) roving-baseline worsening: origin at the "
                    "transplant, +1.5/+1.0/+0.5 with cut 5.5, confirmed over at least 24 weeks "
                    "(all visits in between beyond threshold; tolerance 0/inf), no onset or "
                    "confirmation within 30 days after a relapse, roving baseline "
                    "(approximation of the MSBase convention; unverified in detail).",
        origin="transplant",
        baseline_window_days=180.0,
        baseline="roving",
        delta_cut=5.5,
        conf_days=168,
        conf_tol_days=(0.0, math.inf),
        relapse_to_bl=(30.0, 0.0),
        relapse_to_event=(30.0, 0.0),
        relapse_to_conf=(30.0, 0.0),
        mri_ignore_days=180.0,
        sources=("Kalincik et al. Brain 2015;138:3287-3298 (confirmed disability "
                 "progression in MSBase) (unverified)", _MULLER),
    ),
}


def get_definition(definition: str | EndpointDefinition | Mapping[str, Any] | Path
                   ) -> EndpointDefinition:
    """Resolve a preset name, a definition file path, a mapping, or a definition.

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
