"""The option objects of hsctms.meta: validated on construction, frozen, serialisable, and
used the same way by every pooling function; the result objects are frozen."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from hsctms.errors import ConfigurationError
from hsctms.evidence import EvidenceSelection, load_evidence
from hsctms.meta import (
    ModelSpec,
    RegressionSpec,
    SourceInfo,
    meta_regression,
    poisson_regression,
    pool_proportions,
    pool_table,
    subgroup_analysis,
)
from hsctms.meta._fit import fit
from hsctms.meta.evidence_pool import pool_data, pool_evidence

EVENTS, N = [4, 1, 0, 3, 6], [25, 42, 19, 52, 60]


def test_model_spec_normalises_names_and_serialises() -> None:
    spec = ModelSpec(measure="pft", method="fixed", level=0.9, test="KNHA")
    assert (spec.measure, spec.method, spec.level, spec.test) == ("PFT", "FE", 0.9, "knha")
    assert json.loads(json.dumps(spec.to_dict())) == {"measure": "PFT", "method": "FE",
                                                      "level": 0.9, "test": "knha"}
    assert ModelSpec() == ModelSpec(measure="PLO", method="REML", level=0.95, test="z")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.method = "DL"  # type: ignore[misc]


@pytest.mark.parametrize(("kwargs", "message", "hint"), [
    ({"measure": "PAS"}, "Unknown measure", "PLO"),
    ({"method": "HS"}, "Unknown method", "REML"),
    ({"level": 95}, "level", "0.95"),
    ({"test": "t"}, "Unknown test", "knha"),
])
def test_model_spec_refuses_bad_values_with_a_hint(kwargs: dict, message: str,
                                                   hint: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        ModelSpec(**kwargs)
    assert hint in (info.value.hint or "")


def test_glmm_is_refused_where_only_inverse_variance_models_are_fitted() -> None:
    glmm = ModelSpec(method="glmm")
    assert glmm.method == "GLMM" and glmm.inverse_variance() == "REML"
    for call in (lambda: pool_proportions(EVENTS, N, model=glmm),
                 lambda: meta_regression(EVENTS, N, {"y": [1, 2, 3, 4, 5]}, model=glmm),
                 lambda: subgroup_analysis(EVENTS, N, list("abcde"), list("xxyyy"),
                                           model=glmm)):
        with pytest.raises(ConfigurationError, match="not GLMM") as info:
            call()
        assert "glmm_proportions" in (info.value.hint or "")


def test_one_spec_gives_the_same_model_everywhere() -> None:
    spec = ModelSpec(measure="PFT", method="DL", level=0.9, test="knha")
    res = pool_proportions(EVENTS, N, model=spec)
    assert (res.measure, res.method, res.level, res.test) == ("PFT", "DL", 0.9, "knha")
    table = pd.DataFrame({"study": list("abcde"), "events": EVENTS, "n": N})
    via_table = pool_table(table, model=spec)
    assert via_table.estimate == res.estimate and via_table.se == res.se
    mr = meta_regression(EVENTS, N, {"y": [1.0, 2, 3, 4, 5]}, model=spec)
    assert (mr.measure, mr.method, mr.level, mr.test) == ("PFT", "DL", 0.9, "knha")
    pooled = pool_data(table, model=spec, regression=RegressionSpec(moderators=()))
    assert pooled.meta.estimate == res.estimate and pooled.regressions == {}


def test_default_model_is_metafor_rma_default() -> None:
    assert pool_proportions(EVENTS, N).to_dict()["pooled"] == \
        pool_proportions(EVENTS, N, model=ModelSpec()).to_dict()["pooled"]


def test_regression_spec_validates_and_decides_poisson() -> None:
    spec = RegressionSpec(moderators=["edss"], joint="edss")  # type: ignore[arg-type]
    assert spec.moderators == ("edss",) and spec.joint == ("edss",)
    assert spec.fits_poisson(True) and not spec.fits_poisson(False)
    assert RegressionSpec(poisson=False).fits_poisson(True) is False
    assert RegressionSpec().to_dict() == {"moderators": ["pub_year", "year", "edss", "pct_rrms"],
                                          "poisson": None, "joint": None}
    for bad in ({"moderators": ("edss", "")}, {"joint": ()}, {"poisson": "yes"},
                {"joint": (3,)}):
        with pytest.raises(ConfigurationError) as info:
            RegressionSpec(**bad)  # type: ignore[arg-type]
        assert info.value.hint


def test_pool_evidence_fits_poisson_for_trm_unless_told_otherwise() -> None:
    assert pool_evidence("trm").poisson_pooled is not None
    assert pool_evidence("trm", regression=RegressionSpec(poisson=False)).poisson_pooled is None
    prog = pool_evidence("progression_free", time_years=5)
    assert prog.poisson_pooled is None
    forced = pool_evidence("progression_free", time_years=5,
                           regression=RegressionSpec(poisson=True))
    assert forced.poisson_pooled is not None


def test_evidence_selection_is_recorded_and_applied() -> None:
    ids = ("atkins2016", "nash2017", "burman2014")
    res = pool_evidence("trm", selection=EvidenceSelection(studies=ids),
                        regression=RegressionSpec(moderators=()))
    assert sorted(res.meta.studies["study_id"]) == sorted(ids)
    assert res.selection["studies"] == list(ids)
    assert res.selection["include_superseded"] is False
    data = load_evidence().trm_data(studies=list(ids))
    direct = pool_proportions(data["events"], data["n"])
    np.testing.assert_allclose(res.meta.prop, direct.prop, rtol=1e-12)


def test_source_info_is_read_only_and_checked() -> None:
    info = SourceInfo(selection={"source": "mine.csv"}, caveats=["one"])
    assert info.caveats == ("one",)
    with pytest.raises(TypeError):
        info.selection["source"] = "other"  # type: ignore[index]
    assert info.to_dict() == {"selection": {"source": "mine.csv"}, "caveats": ["one"],
                              "published_rows": 0}
    with pytest.raises(ConfigurationError, match="mapping"):
        SourceInfo(selection=["source"])  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="lacks column") as err:
        SourceInfo(published=pd.DataFrame({"label": ["x"]}))
    assert "published_pooled" in (err.value.hint or "")
    published = load_evidence().published_pooled("trm")
    table = pd.DataFrame({"study": list("abcde"), "events": EVENTS, "n": N})
    res = pool_data(table, source=SourceInfo(caveats=("input caveat",), published=published))
    assert res.caveats[0] == "input caveat" and len(res.published) == len(published)


def test_result_objects_are_frozen() -> None:
    from hsctms.meta.reproduce import reproduce_sormani2017

    yi = np.array([0.1, 0.3, 0.2])
    vi = np.array([0.01, 0.02, 0.015])
    mr = meta_regression(EVENTS, N, {"y": [1.0, 2, 3, 4, 5]})
    pr = poisson_regression(EVENTS, N)
    for obj, attr in ((fit(yi, vi), "tau2"), (mr, "tau2"), (pr, "dispersion"),
                      (reproduce_sormani2017(), "missing")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, 0)
