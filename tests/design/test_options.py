"""The option objects of the analytic designs: checked when built, frozen, serialisable, and
the same numbers as the values they stand for."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from hsctms.design import (
    Accrual,
    ControlArm,
    CountModel,
    Dropout,
    EventModel,
    Testing,
    counts_design,
    survival_design,
    two_proportions,
)
from hsctms.errors import DesignError

OBJECTS = [Testing(0.025, 1, margin=-0.1), ControlArm(median=24), Accrual(24, follow_up=36),
           Dropout(proportion=0.05, time=12), CountModel(exposure=2, dispersion=0.8),
           EventModel(control=ControlArm(rate=0.03), accrual=Accrual(follow_up=12))]


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: type(o).__name__)
def test_frozen_and_serialisable(obj: object) -> None:
    field = dataclasses.fields(obj)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, field, 1)
    json.dumps(obj.to_dict(), allow_nan=False)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("build", "match"), [
    (lambda: Testing(alpha=1.5), "alpha"),
    (lambda: Testing(sided=3), "sided"),
    (lambda: Testing(margin=math.nan), "margin"),
    (lambda: Testing(alternative="bigger"), "alternative"),  # type: ignore[arg-type]
    (lambda: ControlArm(), "exactly one"),
    (lambda: ControlArm(rate=0.1, median=12), "exactly one"),
    (lambda: ControlArm(proportion=0.3), "go together"),
    (lambda: ControlArm(median=12, time=24), "go together"),
    (lambda: ControlArm(rate=-0.1), "rate"),
    (lambda: ControlArm(proportion=1.2, time=12), "0 < pi < 1"),
    (lambda: ControlArm(median=0), "median"),
    (lambda: Accrual(-1, follow_up=12), "accrual duration"),
    (lambda: Accrual(0, follow_up=0), "both 0"),
    (lambda: Dropout(rate=0.01, proportion=0.1, time=12), "not both"),
    (lambda: Dropout(proportion=0.1), "go together"),
    (lambda: Dropout(rate=-0.01), "rate"),
    (lambda: CountModel(exposure=0), "exposure"),
    (lambda: CountModel(dispersion=-1), "dispersion"),
    (lambda: EventModel(control=24, accrual=Accrual(follow_up=12)), "ControlArm"),  # type: ignore[arg-type]
])
def test_bad_values_raise_with_a_hint(build: object, match: str) -> None:
    with pytest.raises(DesignError, match=match) as info:
        build()  # type: ignore[operator]
    assert info.value.hint


def test_hazards_are_the_values_they_stand_for() -> None:
    assert ControlArm(median=24).hazard == math.log(2) / 24
    assert ControlArm(proportion=0.3, time=60).hazard == -math.log1p(-0.3) / 60
    assert ControlArm(rate=0.03).hazard == 0.03
    assert Dropout().hazard == 0.0
    assert Dropout(proportion=0.05, time=12).hazard == -math.log1p(-0.05) / 12
    assert Accrual(24, follow_up=36).study_duration == 60
    assert Testing().null(1.0) == 1.0 and Testing(margin=1.3).null(1.0) == 1.3


def test_designs_read_the_objects() -> None:
    ni = two_proportions(0.4, 0.4, power=0.8, testing=Testing(0.025, 1, margin=-0.12))
    assert ni.inputs["margin"] == -0.12 and ni.sided == 1 and ni.alpha == 0.025
    model = EventModel(control=ControlArm(median=24), accrual=Accrual(48, follow_up=12),
                       dropout=Dropout(rate=0.004))
    surv = survival_design(0.5, n=110, model=model)
    assert surv.inputs["control_rate"] == model.control.hazard
    assert surv.inputs["dropout_rate"] == 0.004
    assert surv.extra["study_duration"] == 60
    counts = counts_design(0.2, 0.4, power=0.8, model=CountModel(exposure=2, dispersion=0.8),
                           testing=Testing(margin=1.0))
    assert counts.inputs["exposure"] == 2 and counts.inputs["rr0"] == 1.0


def test_ratio_designs_refuse_the_harm_direction() -> None:
    with pytest.raises(DesignError, match="benefit side"):
        survival_design(0.6, power=0.8, testing=Testing(alternative="greater"))
    with pytest.raises(DesignError, match="benefit side"):
        counts_design(0.2, 0.4, power=0.8, testing=Testing(alternative="greater"))
    less = survival_design(0.6, power=0.8, testing=Testing(alternative="less"))
    assert less.extra["events"] == survival_design(0.6, power=0.8).extra["events"]


def test_wrong_object_types_are_named() -> None:
    with pytest.raises(DesignError, match="Testing"):
        two_proportions(0.8, 0.4, power=0.8, testing={"alpha": 0.05})  # type: ignore[arg-type]
    with pytest.raises(DesignError, match="Testing"):
        survival_design(0.6, power=0.8, testing=0.05)  # type: ignore[arg-type]
    with pytest.raises(DesignError, match="CountModel"):
        counts_design(0.2, 0.4, power=0.8, model={"exposure": 2})  # type: ignore[arg-type]
