"""Protocol material of a preset: estimand, framings, outcome choice, grid, OC curve, timeline.

Every number here comes from a direct call of a design function
(:func:`~hsctms.design.proportions.two_proportions`,
:func:`~hsctms.design.counts.counts_design`) with the preset's typed values, so the tests can
recompute each one. The texts are rendered from the same values (:func:`._quantity.render`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hsctms.design._base import DesignResult
from hsctms.design.options import CountModel, Testing
from hsctms.design.presets._quantity import Quantity, render
from hsctms.design.presets._schema import PresetSpec, ProtocolSpec, ReferenceSpec
from hsctms.errors import ConfigurationError, DesignError

#: Readable names of the demo disease model's arms and of the endpoint definitions.
ARM_NAMES = {"ahsct": "aHSCT", "alemtuzumab": "alemtuzumab", "ocrelizumab": "ocrelizumab",
             "natalizumab": "natalizumab", "fingolimod": "fingolimod",
             "mist_dmt": "MIST comparator DMTs"}
DEFINITION_NAMES = {"halt_ms": "HALT-MS"}


@dataclass(frozen=True)
class FramingResult:
    """One framing of the primary question with its size and headline.

    Parameters
    ----------
    key : str
        Short name (``"non_inferiority"``, ``"superiority"``).
    label : str
        The framing's name in the report.
    design : DesignResult
        The two-proportion design of the framing (evaluable patients).
    randomised : int
        Patients to randomise: ``2 * per_arm``.
    per_arm : int
        Evaluable patients per arm divided by ``1 - loss``, rounded up.
    events : int
        Expected NEDA-3 failures among the randomised patients.
    headline : str
        The "Randomise N ..." sentence.
    case_for, case_against : tuple of str
        The arguments for and against the framing.
    studies : tuple of str
        Evidence-base study ids behind its assumptions.
    p1, p2 : float
        Assumed success proportions, aHSCT and alemtuzumab.
    margin : float or None
        Non-inferiority margin (risk difference), None for superiority.
    """

    key: str
    label: str
    design: DesignResult
    randomised: int
    per_arm: int
    events: int
    headline: str
    case_for: tuple[str, ...]
    case_against: tuple[str, ...]
    studies: tuple[str, ...]
    p1: float
    p2: float
    margin: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form.

        Returns
        -------
        dict
            Texts, sizes, study ids and the design (:meth:`DesignResult.to_dict`).
        """
        return {"key": self.key, "label": self.label, "randomised": self.randomised,
                "per_arm": self.per_arm, "events": self.events, "headline": self.headline,
                "case_for": list(self.case_for), "case_against": list(self.case_against),
                "studies": list(self.studies), "design": self.design.to_dict()}


@dataclass(frozen=True)
class ProtocolResult:
    """Everything the protocol sections of the design report show.

    Parameters
    ----------
    estimand : dict or None
        Population, treatments, variable, intercurrent events (event, strategy, handling),
        summary measure and study ids; None without an estimand.
    framings : list of FramingResult
        The framings (non-inferiority, superiority) with their headline sizes.
    outcomes : list of dict
        Candidate primary outcomes: label, assumed values, design, evaluable and randomised
        patients, note, status and study ids.
    grid : list of dict
        Sensitivity grid rows: control rate, margin, power, ``n``, ``n_ceil``, randomised.
    oc : list of dict
        Operating-characteristic curve: ``difference`` and the probability of a positive
        trial for each framing key (None where the proportion leaves (0, 1)).
    analysis_sets : list of dict
        Name, definition and role of each analysis set.
    missing_data : str
        The missing-data strategy.
    timeline : list of dict
        Accrual and duration per framing and accrual rate.
    accrual_note : str
        Where the accrual rates come from.
    accrual_status : str
        Status of the accrual rates (``"derived"``, ``"assumption"``, ...).
    references : dict, default {}
        Study id to its citation (:class:`ReferenceSpec`).
    """

    estimand: dict[str, Any] | None
    framings: list[FramingResult]
    outcomes: list[dict[str, Any]]
    grid: list[dict[str, Any]]
    oc: list[dict[str, Any]]
    analysis_sets: list[dict[str, str]]
    missing_data: str
    timeline: list[dict[str, Any]]
    accrual_note: str
    accrual_status: str
    references: dict[str, ReferenceSpec] = field(default_factory=dict)

    def reference_list(self) -> list[tuple[str, ReferenceSpec]]:
        """The references in the order of first use (estimand, framings, outcomes).

        Returns
        -------
        list of (str, ReferenceSpec)
            Study id and citation, each once.
        """
        order: list[str] = []
        ids: list[str] = list((self.estimand or {}).get("studies", []))
        for f in self.framings:
            ids += f.studies
        for o in self.outcomes:
            ids += o["studies"]
        for i in ids:
            if i not in order:
                order.append(i)
        return [(i, self.references[i]) for i in order if i in self.references]

    def to_dict(self) -> dict[str, Any]:
        """JSON form.

        Returns
        -------
        dict
            Every field; designs as :meth:`DesignResult.to_dict`.
        """
        return {"estimand": self.estimand, "framings": [f.to_dict() for f in self.framings],
                "outcomes": [{k: v for k, v in o.items() if k != "design"}
                             | {"design": o["design"].to_dict()} for o in self.outcomes],
                "grid": self.grid, "oc_curve": self.oc, "analysis_sets": self.analysis_sets,
                "missing_data": self.missing_data, "timeline": self.timeline,
                "references": {k: r.model_dump() for k, r in self.references.items()}}


def _number(arg: Any, values: Mapping[str, Quantity], where: str) -> float:
    if isinstance(arg, str):
        if arg not in values:
            raise ConfigurationError(f"Invalid design preset: {where}: no value {arg!r}.",
                                     hint="Use the id of an assumption value.")
        return float(values[arg].number)
    if isinstance(arg, Quantity):
        return float(arg.number)
    if isinstance(arg, int | float) and not isinstance(arg, bool):
        return float(arg)
    raise ConfigurationError(f"Invalid design preset: {where}: given {arg!r}.",
                             hint="Give a value id, a typed value or a number.")


def _per_arm(design: DesignResult, loss: float) -> int:
    """Patients randomised per arm: the evaluable size divided by ``1 - loss``, rounded up."""
    return math.ceil(max(design.n1, design.n2) / (1 - loss) - 1e-9)


def oc_power(p1: float, p2: float, n_total: float, *, alpha: float, sided: int, margin: float,
             method: str = "score") -> float:
    """Probability of rejecting the null towards benefit (``p1 - p2 > margin``).

    :func:`~hsctms.design.proportions.power_two_proportions` gives the power on the side of
    the effect; when the true difference lies below the margin the benefit-side rejection is
    the opposite tail (:func:`~hsctms.design.proportions.opposite_tail` of the two-sided test
    at ``2 alpha / sided``, which has the same critical value), as rpact ``getPowerRates``
    reports for a one-sided test.
    """
    from hsctms.design.proportions import opposite_tail, power_two_proportions

    if p1 - p2 - margin >= 0:
        return power_two_proportions(p1, p2, n_total, alpha=alpha, sided=sided, margin=margin,
                                     method=method)
    return opposite_tail(p1, p2, n_total, alpha=2 * alpha / sided, sided=2, margin=margin,
                         method=method)


def _check_refs(spec: PresetSpec, ids: Sequence[str], where: str) -> None:
    missing = [i for i in ids if i not in spec.references]
    if missing:
        raise ConfigurationError(f"Invalid design preset {where}: studies {missing} have no "
                                 "entry in references.",
                                 hint="Copy the citation of each study id from the evidence "
                                      "base into references.")


@dataclass(frozen=True)
class _Ctx:
    """What every protocol calculation shares: values, test, power, loss, file name."""

    spec: PresetSpec
    values: Mapping[str, Quantity]
    alpha: float
    sided: int
    power: float
    method: str
    loss: float
    where: str

    def design(self, p1: float, p2: float, *, margin: float | None,
               power: float | None = None) -> DesignResult:
        """Two-proportion design at the preset's alpha (power default: the preset's)."""
        from hsctms.design.proportions import two_proportions

        return two_proportions(p1, p2, power=self.power if power is None else power,
                               testing=Testing(self.alpha, self.sided, margin=margin),
                               method=self.method)

    def refs(self, ids: Sequence[str]) -> None:
        """Every study id has a citation in ``references``."""
        _check_refs(self.spec, ids, self.where)


def _estimand(c: _Ctx) -> dict[str, Any] | None:
    e = c.spec.estimand
    if e is None:
        return None
    c.refs(e.studies)
    return {"population": render(e.population, c.values),
            "treatments": render(e.treatments, c.values),
            "variable": render(e.variable, c.values),
            "intercurrent_events": [ie.model_dump() for ie in e.intercurrent_events],
            "summary_measure": render(e.summary_measure, c.values),
            "studies": list(e.studies)}


def _framings(c: _Ctx, primary_kw: Mapping[str, Any]) -> list[FramingResult]:
    out = []
    for f in c.spec.framings:
        c.refs(f.studies)
        kw = {**primary_kw}
        for k, v in f.set.items():
            kw[k] = None if v is None else _number(v, c.values, f"framings.{f.key}.set.{k}")
        p1, p2, margin = float(kw["p1"]), float(kw["p2"]), kw.get("margin")
        d = c.design(p1, p2, margin=margin)
        per_arm = _per_arm(d, c.loss)
        events = round(per_arm * (1 - p1) + per_arm * (1 - p2))
        names = {**c.values, "margin_points": f"{abs(100 * float(margin or 0)):g} points",
                 "N": 2 * per_arm, "N_per_arm": per_arm, "E": events,
                 "p1": Quantity(kind="proportion", value=p1),
                 "p2": Quantity(kind="proportion", value=p2)}
        out.append(FramingResult(
            f.key, f.label, d, 2 * per_arm, per_arm, events, render(f.headline, names),
            tuple(render(t, names) for t in f.case_for),
            tuple(render(t, names) for t in f.case_against), tuple(f.studies), p1, p2,
            None if margin is None else float(margin)))
    return out


def _outcomes(c: _Ctx) -> list[dict[str, Any]]:
    from hsctms.design.counts import counts_design

    out = []
    for i, o in enumerate(c.spec.outcomes):
        c.refs(o.studies)
        t = _number(o.treatment, c.values, f"outcomes[{i}].treatment")
        ctl = _number(o.control, c.values, f"outcomes[{i}].control")
        if o.penalty is not None:
            t = t * (1 - _number(o.penalty, c.values, f"outcomes[{i}].penalty"))
        try:
            if o.function == "two_proportions":
                d = c.design(t, ctl, margin=None)
                assumed = f"{100 * t:.4g}% vs {100 * ctl:.4g}%"
            else:
                d = counts_design(t, ctl, power=c.power, testing=Testing(c.alpha, c.sided),
                                  model=CountModel(exposure=o.exposure,
                                                   dispersion=o.dispersion))
                assumed = (f"{t:g} vs {ctl:g} per year ({o.exposure:g} years, dispersion "
                           f"{o.dispersion:g})")
        except DesignError as exc:
            raise ConfigurationError(f"Invalid design preset {c.where}: outcomes[{i}]: "
                                     f"{exc.message}", hint=exc.hint or "") from None
        out.append({"label": o.label, "function": o.function, "treatment": t,
                    "control": ctl, "assumed": assumed, "design": d,
                    "n": d.n_total_ceil, "randomised": 2 * _per_arm(d, c.loss),
                    "note": o.note, "status": o.status, "studies": list(o.studies)})
    return out


def _grid(c: _Ctx, p: ProtocolSpec) -> list[dict[str, Any]]:
    rows = []
    for cq in p.grid.control:
        for mq in p.grid.margin:
            for pq in p.grid.power:
                ctl = _number(cq, c.values, "protocol.grid.control")
                m = _number(mq, c.values, "protocol.grid.margin")
                pw = _number(pq, c.values, "protocol.grid.power")
                d = c.design(ctl, ctl, margin=m, power=pw)
                rows.append({"control": ctl, "margin": m, "power": pw, "n": d.n_total,
                             "n_ceil": d.n_total_ceil, "randomised": 2 * _per_arm(d, c.loss)})
    return rows


def _oc(c: _Ctx, p: ProtocolSpec, framings: Sequence[FramingResult]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for diff in p.oc_differences:
        row: dict[str, Any] = {"difference": diff}
        for fr in framings:
            p1 = fr.p2 + diff
            row[fr.key] = None if not 0 < p1 < 1 else oc_power(
                p1, fr.p2, fr.design.n_total, alpha=c.alpha, sided=c.sided,
                margin=fr.margin or 0.0, method=c.method)
        rows.append(row)
    return rows


def _timeline(p: ProtocolSpec, framings: Sequence[FramingResult],
              horizon: float | None) -> list[dict[str, Any]]:
    rate = float(p.accrual_per_year.number)
    follow = horizon or 0.0
    rows = []
    for fr in framings:
        for times in (1, 2, 4):
            years = fr.randomised / (times * rate)
            rows.append({"framing": fr.label, "rate": times * rate, "accrual_years": years,
                         "follow_up_years": follow, "total_years": years + follow})
    return rows


def evaluate_protocol(spec: PresetSpec, values: Mapping[str, Quantity],
                      primary_kw: Mapping[str, Any], *, loss: float, horizon: float | None,
                      where: str) -> ProtocolResult | None:
    """Compute the protocol material of a preset file (None when it has none).

    ``primary_kw`` are the flat keyword arguments of the primary two-proportion design
    (``p1``, ``p2``, ``power``, ``margin``, ``alpha``, ``sided``, ...); ``loss`` the
    proportion lost to follow-up that the randomised numbers allow for.
    """
    if not spec.framings and spec.protocol is None and spec.estimand is None:
        return None
    c = _Ctx(spec, values, float(primary_kw["alpha"]), int(primary_kw.get("sided", 1)),
             float(primary_kw["power"]), str(primary_kw.get("method", "score")), loss, where)
    framings = _framings(c, primary_kw)
    p = spec.protocol
    if p is not None:
        c.refs(p.accrual_studies)
    return ProtocolResult(
        _estimand(c), framings, _outcomes(c),
        [] if p is None else _grid(c, p), [] if p is None else _oc(c, p, framings),
        [] if p is None else [s.model_dump() for s in p.analysis_sets],
        "" if p is None else render(p.missing_data, values),
        [] if p is None else _timeline(p, framings, horizon),
        "" if p is None else p.accrual_note, "assumption" if p is None else p.accrual_status,
        dict(spec.references))
