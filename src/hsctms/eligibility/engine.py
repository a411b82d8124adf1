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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from hsctms._provenance import Provenance, package_versions
from hsctms.eligibility.rules import Outcome, evaluate, validate_rule
from hsctms.errors import ConfigurationError, ProfileError

if TYPE_CHECKING:  # pragma: no cover
    from hsctms.patient.profile import PatientProfile

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
    """One criterion of a set (see the module docstring)."""

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

    def evaluate(self, facts: Mapping[str, Any]) -> CriterionResult:
        """Status and reason of this criterion for ``facts``."""
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
    """A criterion's status for one profile."""

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
        """JSON-serialisable form."""
        c = self.criterion
        return {"id": c.id, "kind": c.kind, "level": c.level, "text": c.text,
                "source": c.source, "unverified": c.unverified,
                "interpretation": c.interpretation, "status": self.status,
                "passes": self.passes, "reason": self.reason}


@dataclass(frozen=True)
class CriteriaSet:
    """A published criteria set (guideline, policy, trial or proposal)."""

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
        """Evaluate every criterion for a profile (or a facts mapping)."""
        facts = profile.facts() if hasattr(profile, "facts") else dict(profile)
        return SetResult(self, tuple(c.evaluate(facts) for c in self.criteria))


@dataclass(frozen=True)
class SetResult:
    """Verdict of one criteria set for one profile."""

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
        """JSON-serialisable form."""
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
    """Verdicts of every criteria set for one profile."""

    sets: tuple[SetResult, ...]
    provenance: Provenance

    def __getitem__(self, set_id: str) -> SetResult:
        for s in self.sets:
            if s.criteria_set.id == set_id:
                return s
        raise KeyError(set_id)

    @property
    def summary(self) -> str:
        """One line per set: name and verdict."""
        return "\n".join(f"{s.criteria_set.name}: {VERDICT_TEXT[s.verdict]}"
                         for s in self.sets)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"sets": [s.to_dict() for s in self.sets],
                "provenance": self.provenance.to_dict()}


def _criterion(raw: Mapping[str, Any], set_id: str) -> Criterion:
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
    unknown = set(raw) - {"id", "kind", "level", "text", "source", "rule", "when",
                          "unverified", "interpretation", "examples"}
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {sorted(unknown)}.")
    return Criterion(
        id=str(raw["id"]), kind=raw["kind"], level=raw["level"], text=str(raw["text"]),
        source=str(raw["source"]), rule=raw["rule"], when=raw.get("when"),
        unverified=bool(raw.get("unverified", False)),
        interpretation=raw.get("interpretation"), examples=raw.get("examples") or {},
    )


def load_set(path: str | Path) -> CriteriaSet:
    """Load and validate one criteria-set file."""
    path = Path(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    sid = raw.get("id", path.stem)
    for key in ("id", "name", "kind", "citation", "evidence_section", "summary", "criteria"):
        if key not in raw:
            raise ConfigurationError(f"{path.name}: missing top-level key {key!r}.")
    criteria = tuple(_criterion(c, sid) for c in raw["criteria"] or [])
    ids = [c.id for c in criteria]
    if len(ids) != len(set(ids)):
        raise ConfigurationError(f"{path.name}: duplicate criterion ids.")
    return CriteriaSet(
        id=str(sid), name=str(raw["name"]), kind=raw["kind"], citation=str(raw["citation"]),
        evidence_section=str(raw["evidence_section"]), summary=str(raw["summary"]),
        criteria=criteria, status_note=raw.get("status_note"),
        centre_requirements=tuple(raw.get("centre_requirements") or ()),
        unverified=bool(raw.get("unverified", False)),
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
    """Every packaged criteria set, in the order of their ``order`` key then id."""
    files = sorted(SETS_DIR.glob("*.yaml"))
    order = {p: yaml.safe_load(p.read_text(encoding="utf-8")).get("order", 99) for p in files}
    return tuple(load_set(p) for p in sorted(files, key=lambda p: (order[p], p.stem)))


def get_set(set_id: str) -> CriteriaSet:
    """One packaged set by id."""
    for s in criteria_sets():
        if s.id == set_id:
            return s
    raise ConfigurationError(f"Unknown criteria set {set_id!r}.",
                             hint="Known: " + ", ".join(s.id for s in criteria_sets()))


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
        A validated :class:`hsctms.patient.profile.PatientProfile`.
    sets
        Criteria sets to use; default all packaged sets.

    Returns
    -------
    EligibilityReport
    """
    if not hasattr(profile, "facts"):
        raise ProfileError("assess_eligibility needs a PatientProfile.",
                           hint="Use hsctms.patient.parse_profile(dict) first.")
    chosen = tuple(sets) if sets is not None else criteria_sets()
    facts = profile.facts()
    results = tuple(s.evaluate(facts) for s in chosen)
    prov = Provenance(method="eligibility_rules",
                      definition={"sets": [s.id for s in chosen]}, n=1, synthetic=False,
                      versions=dict(cached_versions()))
    return EligibilityReport(results, prov)
