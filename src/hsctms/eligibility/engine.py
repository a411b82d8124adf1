"""Eligibility criteria sets (loaded from data files) and their evaluation for one profile.

Each set lives in ``hsctms/eligibility/sets/<id>.yaml``: who published it, the citation, the
section of the evidence compendium it comes from, its status, and its criteria. Each criterion
has an id, plain-language text, its source, whether it is an *inclusion* or *exclusion*
criterion, whether it is *required* or only *preferred* (an "ideal" profile), an optional
``when`` rule (the criterion applies only then, e.g. only to relapsing MS), the rule itself, an
``unverified`` flag carried over from the evidence compendium, and worked examples.

For a profile each criterion is ``met``, ``not_met``, ``unknown`` or ``not_applicable``, with a
reason. For an inclusion criterion *met* means the person satisfies it; for an exclusion
criterion *met* means the excluding condition is present. Unknown inputs never count as met and
never count as passing.

The set's verdict: ``not_eligible`` if a required criterion fails, else ``cannot_tell`` if a
required criterion is unknown, else ``eligible``; the deciding criteria are listed. Preferred
criteria that fail are reported as "outside the preferred profile", not as exclusions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from hsctms._files import read_regular_file, safe_load_yaml
from hsctms._provenance import Provenance, package_versions
from hsctms.eligibility.rules import Outcome, evaluate, validate_rule
from hsctms.errors import ConfigurationError, ProfileError

if TYPE_CHECKING:  # pragma: no cover
    from hsctms.model.profile import PatientProfile

SETS_DIR = Path(__file__).with_name("sets")

Status = Literal["met", "not_met", "unknown", "not_applicable"]
Verdict = Literal["eligible", "not_eligible", "cannot_tell"]

VERDICT_TEXT: dict[str, str] = {
    "eligible": "meets the criteria",
    "not_eligible": "does not meet the criteria",
    "cannot_tell": "cannot tell yet",
}


@dataclass(frozen=True)
class Criterion:
    """One criterion of a set (see the module docstring).

    Read from an entry of a criteria-set file's ``criteria`` list by :func:`load_set`; the
    constructor checks ``kind``, ``level`` and both rules.

    Parameters
    ----------
    id
        Identifier, unique within its set, conventionally ``<set id>.<name>`` (e.g.
        ``"mist.edss"``).
    kind
        ``"inclusion"`` (met = the person satisfies it) or ``"exclusion"`` (met = the
        excluding condition is present).
    level
        ``"required"`` (decides the verdict) or ``"preferred"`` (an "ideal profile" criterion,
        reported but never excluding).
    text
        Plain-language statement of the criterion (e.g. ``"EDSS 2.0 to 6.0"``).
    source
        Where it is published (paper, section of the evidence compendium).
    rule
        The rule in the language of :mod:`hsctms.eligibility.rules`, e.g.
        ``{"field": "edss", "op": "between", "min": 2.0, "max": 6.0}`` (EDSS points).
    when
        Optional rule that says when the criterion applies (e.g. only to relapsing MS); when
        it is false the criterion is ``not_applicable``, when unknown the criterion is
        ``unknown``. Default None: it always applies.
    unverified
        True when the evidence compendium flags the criterion as not verified against the
        primary source; default False.
    interpretation
        How hsctms reads an ambiguous published wording (shown with the result); default
        None.
    examples
        Worked examples: a name (``met``, ``not_met``, ...) -> a mapping of facts with that
        outcome (checked by the tests); default empty.

    Raises
    ------
    ConfigurationError
        If ``kind`` or ``level`` is not one of its values or a rule is malformed.
    """

    id: str
    kind: Literal["inclusion", "exclusion"]
    level: Literal["required", "preferred"]
    text: str
    source: str
    rule: Mapping[str, Any]
    when: Mapping[str, Any] | None = None
    unverified: bool = False
    interpretation: str | None = None
    examples: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"criterion {self.id}"
        if self.kind not in ("inclusion", "exclusion"):
            raise ConfigurationError(f"{where}: kind must be inclusion or exclusion, got "
                                     f"{self.kind!r}.")
        if self.level not in ("required", "preferred"):
            raise ConfigurationError(f"{where}: level must be required or preferred, got "
                                     f"{self.level!r}.")
        validate_rule(self.rule, where)
        if self.when is not None:
            validate_rule(self.when, where + " (when)")

    def evaluate(self, facts: Mapping[str, Any]) -> CriterionResult:
        """Status and reason of this criterion for ``facts``.

        Parameters
        ----------
        facts
            Fact name -> value, as :meth:`hsctms.model.profile.PatientProfile.facts` returns
            (e.g. ``{"edss": 6.0, "phenotype": "RRMS"}``); a missing fact or None is unknown.

        Returns
        -------
        CriterionResult
            ``met``, ``not_met``, ``unknown`` or ``not_applicable`` (``when`` is false), with
            a plain-language reason.

        Raises
        ------
        ProfileError
            When ``facts`` is not a mapping or a fact has a type the rule cannot compare.
        """
        if not isinstance(facts, Mapping):
            raise ProfileError(f"Criterion {self.id} needs a mapping of facts, got "
                               f"{type(facts).__name__}.",
                               hint="Pass PatientProfile.facts() or use CriteriaSet.evaluate.")
        if self.when is not None:
            gate = evaluate(self.when, facts)
            if gate.value is False:
                return CriterionResult(self, "not_applicable",
                                       f"does not apply ({gate.reason})")
            if gate.value is None:
                return CriterionResult(self, "unknown",
                                       f"cannot tell whether it applies ({gate.reason})")
        out: Outcome = evaluate(self.rule, facts)
        status: Status = {True: "met", False: "not_met", None: "unknown"}[out.value]  # type: ignore[assignment]
        return CriterionResult(self, status, out.reason)


@dataclass(frozen=True)
class CriterionResult:
    """A criterion's status for one profile.

    Built by :meth:`Criterion.evaluate`.

    Parameters
    ----------
    criterion
        The criterion evaluated.
    status
        ``"met"``, ``"not_met"``, ``"unknown"`` or ``"not_applicable"``. For an exclusion
        criterion ``"met"`` means the excluding condition is present.
    reason
        Plain-language reason for the status (e.g. which fact was compared or is missing).
    """

    criterion: Criterion
    status: Status
    reason: str

    @property
    def passes(self) -> bool | None:
        """True if the person passes this criterion, False if it rules them out, None unknown."""
        if self.status == "not_applicable":
            return True
        if self.status == "unknown":
            return None
        met = self.status == "met"
        return met if self.criterion.kind == "inclusion" else not met

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            The criterion's ``id``, ``kind``, ``level``, ``text``, ``source``,
            ``unverified`` and ``interpretation``, with ``status``, ``passes`` (True, False
            or None = unknown) and ``reason``.
        """
        c = self.criterion
        return {"id": c.id, "kind": c.kind, "level": c.level, "text": c.text,
                "source": c.source, "unverified": c.unverified,
                "interpretation": c.interpretation, "status": self.status,
                "passes": self.passes, "reason": self.reason}


@dataclass(frozen=True)
class CriteriaSet:
    """A published criteria set (guideline, policy, trial or proposal).

    Read from ``hsctms/eligibility/sets/<id>.yaml`` by :func:`load_set`; the packaged sets
    are :func:`criteria_sets`.

    Parameters
    ----------
    id
        Identifier, the file's stem (e.g. ``"mist"``).
    name
        Display name (e.g. ``"MIST trial entry criteria"``).
    kind
        ``"guideline"``, ``"policy"``, ``"trial"`` or ``"proposal"``.
    citation
        Full reference of the publication.
    evidence_section
        Section(s) of the evidence compendium the set comes from.
    summary
        One-paragraph plain-language summary of who the set admits.
    criteria
        The criteria, in file order; empty when the source published none that can be
        checked (the verdict is then ``cannot_tell``).
    status_note
        Optional note on the set's status (e.g. a completed trial, a superseded guideline);
        default None.
    centre_requirements
        Requirements on the treating centre (not on the person), listed in reports; default
        none.
    unverified
        True when the compendium flags the whole set as not verified against the source;
        default False.
    """

    id: str
    name: str
    kind: Literal["guideline", "policy", "trial", "proposal"]
    citation: str
    evidence_section: str
    summary: str
    criteria: tuple[Criterion, ...]
    status_note: str | None = None
    centre_requirements: tuple[str, ...] = ()
    unverified: bool = False

    def evaluate(self, profile: PatientProfile | Mapping[str, Any]) -> SetResult:
        """Evaluate every criterion for a profile (or a facts mapping).

        Parameters
        ----------
        profile
            A :class:`hsctms.model.profile.PatientProfile` (its ``facts()`` are used) or a
            mapping of facts as ``PatientProfile.facts()`` returns it.

        Returns
        -------
        SetResult
            Every criterion's result and the set's verdict for this profile.

        Raises
        ------
        ProfileError
            When ``profile`` is neither a profile nor a mapping of facts, or a fact has a type
            the rules cannot compare.
        """
        if hasattr(profile, "facts"):
            facts = profile.facts()
        elif isinstance(profile, Mapping):
            facts = dict(profile)
        else:
            raise ProfileError(f"Criteria set {self.id} needs a PatientProfile or a mapping of "
                               f"facts, got {type(profile).__name__}.",
                               hint="Use hsctms.patient.parse_profile(dict) first.")
        return SetResult(self, tuple(c.evaluate(facts) for c in self.criteria))


@dataclass(frozen=True)
class SetResult:
    """Verdict of one criteria set for one profile.

    Built by :meth:`CriteriaSet.evaluate`; the verdict and explanation are derived from the
    results (see the module docstring).

    Parameters
    ----------
    criteria_set
        The set evaluated.
    results
        One :class:`CriterionResult` per criterion of the set, in the set's order.
    """

    criteria_set: CriteriaSet
    results: tuple[CriterionResult, ...]

    def _required(self) -> list[CriterionResult]:
        return [r for r in self.results if r.criterion.level == "required"]

    @property
    def verdict(self) -> Verdict:
        """``eligible``, ``not_eligible`` or ``cannot_tell``."""
        req = self._required()
        if not self.results:
            return "cannot_tell"
        if any(r.passes is False for r in req):
            return "not_eligible"
        if any(r.passes is None for r in req):
            return "cannot_tell"
        return "eligible"

    @property
    def deciding(self) -> list[CriterionResult]:
        """The criteria that decide the verdict (failing, else unknown, else all required)."""
        req = self._required()
        verdict = self.verdict
        if verdict == "not_eligible":
            return [r for r in req if r.passes is False]
        if verdict == "cannot_tell":
            return [r for r in req if r.passes is None]
        return [r for r in req if r.status != "not_applicable"]

    @property
    def outside_preferred(self) -> list[CriterionResult]:
        """Preferred ("ideal profile") criteria that this person does not meet."""
        return [r for r in self.results
                if r.criterion.level == "preferred" and r.passes is False]

    @property
    def preferred_unknown(self) -> list[CriterionResult]:
        """Preferred criteria that cannot be judged from the profile."""
        return [r for r in self.results
                if r.criterion.level == "preferred" and r.passes is None]

    @property
    def explanation(self) -> str:
        """One plain-language sentence on the verdict."""
        s = self.criteria_set
        if not s.criteria:
            return (f"{s.name} did not publish eligibility criteria that could be checked, so "
                    "hsctms cannot tell.")
        names = "; ".join(r.criterion.text for r in self.deciding)
        if self.verdict == "not_eligible":
            return f"Not met: {names}."
        if self.verdict == "cannot_tell":
            return f"More information is needed on: {names}."
        extra = ""
        if self.outside_preferred:
            extra = (" Outside the preferred profile on: "
                     + "; ".join(r.criterion.text for r in self.outside_preferred) + ".")
        return "All required criteria that hsctms can check are met." + extra

    @property
    def decided_by_unverified(self) -> bool:
        """True when a deciding criterion carries the (unverified) flag."""
        return any(r.criterion.unverified for r in self.deciding)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            The set's id (key ``set``), name, kind, citation, evidence section, status note
            and flag, the ``verdict`` with its ``explanation``, ``decided_by_unverified``,
            the ids of the ``deciding`` and ``outside_preferred`` criteria, the centre
            requirements and every criterion's :meth:`CriterionResult.to_dict`.
        """
        s = self.criteria_set
        return {
            "set": s.id, "name": s.name, "kind": s.kind, "citation": s.citation,
            "evidence_section": s.evidence_section, "status_note": s.status_note,
            "unverified": s.unverified, "verdict": self.verdict,
            "explanation": self.explanation,
            "decided_by_unverified": self.decided_by_unverified,
            "deciding": [r.criterion.id for r in self.deciding],
            "outside_preferred": [r.criterion.id for r in self.outside_preferred],
            "centre_requirements": list(s.centre_requirements),
            "criteria": [r.to_dict() for r in self.results],
        }


@dataclass(frozen=True)
class EligibilityReport:
    """Verdicts of every criteria set for one profile.

    Built by :func:`assess_eligibility`; ``report["mist"]`` gives the result of one set.

    Parameters
    ----------
    sets
        One :class:`SetResult` per criteria set evaluated, in the order of the sets.
    provenance
        How the report was made (method ``eligibility_rules``, the set ids, versions).
    """

    sets: tuple[SetResult, ...]
    provenance: Provenance

    def __getitem__(self, set_id: str) -> SetResult:
        """The result of the set ``set_id``.

        Raises
        ------
        ConfigurationError
            When this report holds no set of that id (the hint lists the ones it holds).
        """
        for s in self.sets:
            if s.criteria_set.id == set_id:
                return s
        raise ConfigurationError(
            f"This eligibility report holds no criteria set {set_id!r}.",
            hint="Sets in this report: " + (", ".join(s.criteria_set.id for s in self.sets)
                                            or "none") + ".")

    @property
    def summary(self) -> str:
        """One line per set: name and verdict."""
        return "\n".join(f"{s.criteria_set.name}: {VERDICT_TEXT[s.verdict]}"
                         for s in self.sets)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form.

        Returns
        -------
        dict
            ``sets`` (each set's :meth:`SetResult.to_dict`) and ``provenance``.
        """
        return {"sets": [s.to_dict() for s in self.sets],
                "provenance": self.provenance.to_dict()}


_CRITERION_KEYS = {"id", "kind", "level", "text", "source", "rule", "when", "unverified",
                   "interpretation", "examples"}
_SET_KEYS = {"id", "name", "kind", "citation", "evidence_section", "summary", "criteria",
             "status_note", "centre_requirements", "unverified", "order"}
_SET_KINDS = ("guideline", "policy", "trial", "proposal")


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw[key]
    if not isinstance(value, str | int | float) or isinstance(value, bool) or str(value) == "":
        raise ConfigurationError(f"{where}: {key!r} must be non-empty text, got {value!r}.")
    return str(value)


def _optional_text(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"{where}: {key!r} must be text, got {value!r}.")
    return value


def _flag(raw: Mapping[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise ConfigurationError(f"{where}: {key!r} must be true or false, got {value!r}.")
    return value


def _criterion(raw: Any, set_id: str, index: int) -> Criterion:
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{set_id}.yaml criteria[{index}]: a criterion must be a "
                                 f"mapping, got {raw!r}.",
                                 hint="Each entry of 'criteria' needs id, kind, level, text, "
                                 "source and rule.")
    cid = raw.get("id", "?")
    where = f"{set_id}.yaml criterion {cid}"
    missing = [k for k in ("id", "kind", "level", "text", "source", "rule") if k not in raw]
    if missing:
        raise ConfigurationError(f"{where}: missing {', '.join(missing)}.")
    if raw["kind"] not in ("inclusion", "exclusion"):
        raise ConfigurationError(f"{where}: kind must be inclusion or exclusion.")
    if raw["level"] not in ("required", "preferred"):
        raise ConfigurationError(f"{where}: level must be required or preferred.")
    validate_rule(raw["rule"], where)
    if raw.get("when") is not None:
        validate_rule(raw["when"], where + " (when)")
    unknown = set(raw) - _CRITERION_KEYS
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {sorted(map(str, unknown))}.",
                                 hint=f"A criterion takes {', '.join(sorted(_CRITERION_KEYS))}.")
    examples = raw.get("examples") or {}
    if not isinstance(examples, Mapping) or not all(
            isinstance(v, Mapping) for v in examples.values()):
        raise ConfigurationError(f"{where}: 'examples' must map a name (met, not_met) to a "
                                 f"mapping of facts, got {examples!r}.")
    return Criterion(
        id=_text(raw, "id", where), kind=raw["kind"], level=raw["level"],
        text=_text(raw, "text", where), source=_text(raw, "source", where), rule=raw["rule"],
        when=raw.get("when"), unverified=_flag(raw, "unverified", where),
        interpretation=_optional_text(raw, "interpretation", where), examples=examples,
    )


def _read_set_file(path: Path) -> Mapping[str, Any]:
    """The parsed top-level mapping of a criteria-set file."""
    hint = "See the packaged sets in hsctms/eligibility/sets/ for the format."
    try:
        raw = safe_load_yaml(read_regular_file(path).decode("utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"Criteria-set file {path} does not exist.",
                                 hint="Give the path of a .yaml criteria-set file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"Criteria-set file {path} cannot be read: {exc}.",
                                 hint="It must be a readable UTF-8 YAML file.") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path.name} is not valid YAML: {exc}",
                                 hint=hint) from None
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{path.name}: a criteria set must be a YAML mapping, got "
                                 f"{type(raw).__name__}.", hint=hint)
    return raw


def load_set(path: str | Path) -> CriteriaSet:
    """Load and validate one criteria-set file.

    Raises
    ------
    ConfigurationError
        When the file cannot be read or parsed, or breaks the format (naming the file, the
        criterion and the problem).
    """
    if not isinstance(path, str | os.PathLike):
        raise ConfigurationError(f"load_set needs the path of a criteria-set file, got {path!r}.",
                                 hint="Give a .yaml path, e.g. hsctms/eligibility/sets/mist.yaml.")
    path = Path(path)
    raw = _read_set_file(path)
    for key in ("id", "name", "kind", "citation", "evidence_section", "summary", "criteria"):
        if key not in raw:
            raise ConfigurationError(f"{path.name}: missing top-level key {key!r}.")
    unknown = set(raw) - _SET_KEYS
    if unknown:
        raise ConfigurationError(f"{path.name}: unknown top-level keys "
                                 f"{sorted(map(str, unknown))}.",
                                 hint=f"A criteria set takes {', '.join(sorted(_SET_KEYS))}.")
    where = path.name
    sid = _text(raw, "id", where)
    if raw["kind"] not in _SET_KINDS:
        raise ConfigurationError(f"{where}: kind must be one of {', '.join(_SET_KINDS)}, got "
                                 f"{raw['kind']!r}.")
    entries = raw["criteria"] or []
    if not isinstance(entries, list):
        raise ConfigurationError(f"{where}: 'criteria' must be a list of criteria, got "
                                 f"{type(entries).__name__}.")
    criteria = tuple(_criterion(c, sid, i) for i, c in enumerate(entries))
    ids = [c.id for c in criteria]
    if len(ids) != len(set(ids)):
        dups = sorted({i for i in ids if ids.count(i) > 1})
        raise ConfigurationError(f"{path.name}: duplicate criterion ids {dups}.",
                                 hint="Give every criterion its own id.")
    centre = raw.get("centre_requirements") or []
    if not isinstance(centre, list) or not all(isinstance(c, str) for c in centre):
        raise ConfigurationError(f"{where}: 'centre_requirements' must be a list of text, got "
                                 f"{centre!r}.")
    order = raw.get("order", 99)
    if not isinstance(order, int) or isinstance(order, bool):
        raise ConfigurationError(f"{where}: 'order' must be a whole number, got {order!r}.")
    return CriteriaSet(
        id=sid, name=_text(raw, "name", where), kind=raw["kind"],
        citation=_text(raw, "citation", where),
        evidence_section=_text(raw, "evidence_section", where),
        summary=_text(raw, "summary", where), criteria=criteria,
        status_note=_optional_text(raw, "status_note", where),
        centre_requirements=tuple(centre), unverified=_flag(raw, "unverified", where),
    )


@lru_cache(maxsize=1)
def cached_versions() -> dict[str, str]:
    """:func:`hsctms._provenance.package_versions`, computed once per process.

    Reading package metadata costs about 20 ms per call, which dominated report building; the
    versions cannot change while the process runs.
    """
    return package_versions()


@lru_cache(maxsize=1)
def criteria_sets() -> tuple[CriteriaSet, ...]:
    """Every packaged criteria set, in the order of their ``order`` key then id.

    The files are read once per process (the result is cached).

    Returns
    -------
    tuple of CriteriaSet
        The sets of ``hsctms/eligibility/sets/*.yaml``, sorted by their ``order`` key (99
        when absent), then by file name.

    Raises
    ------
    ConfigurationError
        If a packaged file breaks the format (see :func:`load_set`).
    """
    files = sorted(SETS_DIR.glob("*.yaml"))
    sets = {p: load_set(p) for p in files}
    order = {p: _read_set_file(p).get("order", 99) for p in files}
    return tuple(sets[p] for p in sorted(files, key=lambda p: (order[p], p.stem)))


def get_set(set_id: str) -> CriteriaSet:
    """One packaged set by id.

    Parameters
    ----------
    set_id
        Id of a packaged set (a file stem of ``hsctms/eligibility/sets/``, e.g. ``"mist"``
        or ``"ebmt-2020"``).

    Returns
    -------
    CriteriaSet
        The packaged set with that id.

    Raises
    ------
    ConfigurationError
        If no packaged set has that id (the hint lists the known ids).

    Examples
    --------
    >>> get_set("mist").kind
    'trial'
    """
    for s in criteria_sets():
        if s.id == set_id:
            return s
    raise ConfigurationError(f"Unknown criteria set {set_id!r}.",
                             hint="Known: " + ", ".join(s.id for s in criteria_sets()))


def _chosen_sets(sets: Any) -> tuple[CriteriaSet, ...]:
    if sets is None:
        return criteria_sets()
    hint = ("Pass CriteriaSet objects, e.g. [get_set('mist')]; packaged sets: "
            + ", ".join(s.id for s in criteria_sets()) + ".")
    if isinstance(sets, str | bytes | CriteriaSet | Mapping) or not isinstance(sets, Iterable):
        raise ConfigurationError(f"sets must be a list of criteria sets, got {sets!r}.",
                                 hint=hint)
    chosen = tuple(sets)
    bad = [s for s in chosen if not isinstance(s, CriteriaSet)]
    if bad:
        raise ConfigurationError(f"sets holds {bad!r}, which are not criteria sets.",
                                 hint=hint)
    return chosen


def _rule_text(rule: Mapping[str, Any]) -> str:
    """Compact one-line rendering of a rule (for documentation)."""
    if "all" in rule:
        return "(" + " AND ".join(_rule_text(r) for r in rule["all"]) + ")"
    if "any" in rule:
        return "(" + " OR ".join(_rule_text(r) for r in rule["any"]) + ")"
    if "not" in rule:
        return "NOT " + _rule_text(rule["not"])
    if "dmt_failed" in rule:
        spec = rule["dmt_failed"]
        return "failed DMTs[" + ", ".join(f"{k}={v}" for k, v in spec.items()) + "]"
    op = rule["op"]
    if op in ("is_true", "is_false"):
        return f"{rule['field']} is {op == 'is_true'}"
    if op == "between":
        return f"{rule['min']} <= {rule['field']} <= {rule['max']}"
    if op in ("in", "not_in"):
        return f"{rule['field']} {op.replace('_', ' ')} {list(rule['values'])}"
    sym = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "=", "ne": "!="}[op]
    return f"{rule['field']} {sym} {rule['value']}"


def criteria_markdown() -> str:
    """Markdown listing of every packaged criterion (generated into docs/patient-report.md)."""
    out = []
    for s in criteria_sets():
        out.append(f"### {s.name} (`{s.id}`)\n")
        out.append(f"{s.citation}  \nSource in the compendium: {s.evidence_section}.\n")
        if s.status_note:
            out.append(f"{s.status_note}\n")
        if not s.criteria:
            out.append("No criteria (none were published).\n")
            continue
        out.append("| id | kind | text | rule | source |")
        out.append("|---|---|---|---|---|")
        for c in s.criteria:
            flag = " **(unverified)**" if c.unverified else ""
            when = f"when {_rule_text(c.when)}: " if c.when else ""
            kind = f"{c.kind}, {c.level}"
            rule = (when + _rule_text(c.rule)).replace("|", "\\|")
            out.append(f"| `{c.id}` | {kind} | {c.text}{flag} | `{rule}` | {c.source} |")
        out.append("")
    return "\n".join(out) + "\n"


def assess_eligibility(profile: PatientProfile,
                       sets: Sequence[CriteriaSet] | None = None) -> EligibilityReport:
    """Evaluate a profile against every criteria set (or the given ones).

    Parameters
    ----------
    profile
        A validated :class:`hsctms.model.profile.PatientProfile`.
    sets
        Criteria sets to use; default all packaged sets.

    Returns
    -------
    EligibilityReport

    Raises
    ------
    ProfileError
        When ``profile`` is not a :class:`~hsctms.model.profile.PatientProfile`.
    ConfigurationError
        When ``sets`` is not a list of :class:`CriteriaSet` (the hint lists the packaged ones).
    """
    if not hasattr(profile, "facts"):
        raise ProfileError("assess_eligibility needs a PatientProfile.",
                           hint="Use hsctms.patient.parse_profile(dict) first.")
    chosen = _chosen_sets(sets)
    facts = profile.facts()
    results = tuple(s.evaluate(facts) for s in chosen)
    prov = Provenance(method="eligibility_rules",
                      definition={"sets": [s.id for s in chosen]}, n=1, synthetic=False,
                      versions=dict(cached_versions()))
    return EligibilityReport(results, prov)
