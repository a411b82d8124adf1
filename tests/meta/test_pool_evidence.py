"""Pooling the evidence base, user study tables, and forest plots."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hsctms.errors import EstimationError, EvidenceError
from hsctms.evidence import load_evidence
from hsctms.meta import ModelSpec, RegressionSpec, SourceInfo, pool_proportions
from hsctms.meta.evidence_pool import pool_data, pool_evidence, read_study_table


@pytest.fixture(scope="module")
def trm_by_era():
    return pool_evidence("trm", by="era", model=ModelSpec(measure="PFT", method="REML"))


def test_pool_evidence_trm_matches_direct_pooling(trm_by_era):
    data = load_evidence().trm_data()
    direct = pool_proportions(data["events"], data["n"], data["label"],
                              model=ModelSpec(measure="PFT", method="REML"))
    assert trm_by_era.meta.k == len(data)
    np.testing.assert_allclose(trm_by_era.meta.prop, direct.prop, rtol=1e-12)
    sg = trm_by_era.meta.subgroups
    assert set(sg.groups) == set(data["era"].astype(str))
    assert sum(g.k for g in sg.groups.values()) == len(data)
    assert "pub_year" in trm_by_era.regressions and "pub_year" in trm_by_era.poisson
    payload = json.loads(json.dumps(trm_by_era.to_dict(), allow_nan=False))
    assert payload["subgroups"]["by"] == "era"
    assert {p["study_id"] for p in payload["published"]} >= {"sormani2017", "ge2019"}
    assert any("may share patients" in c for c in payload["caveats"])
    assert len(payload["studies"]) == len(data)
    assert abs(sum(s["weight"] for s in payload["studies"]) - 100) < 1e-9


def test_pool_evidence_percentage_outcome():
    res = pool_evidence("progression_free", time_years=5)
    assert res.meta.k >= 3
    assert res.poisson_pooled is None  # Poisson only for rare events (TRM)
    assert any("reconstructed" in c for c in res.caveats)
    with pytest.raises(EvidenceError, match="needs a time point"):
        pool_evidence("neda")


def test_by_phenotype_and_intensity_have_groups():
    for by in ("phenotype", "intensity"):
        res = pool_evidence("trm", by=by)
        assert len(res.meta.subgroups.groups) >= 2


def test_read_study_table_good_and_bad(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("study,events,n,year,edss,pct_rrms\nA,1,24,2016,5,50\nB,0,55,2019,3.4,100\n"
                    "C,3,120,2021,6,48\n", encoding="utf-8")
    table = read_study_table(good)
    assert table["events"].tolist() == [1, 0, 3]
    res = pool_data(table)
    assert res.meta.k == 3 and "year" in res.regressions
    bad = tmp_path / "bad.csv"
    bad.write_text("study,events,n,edss\nA,30,24,5\nB,x,55,3\nC,1,0,12\n", encoding="utf-8")
    with pytest.raises(EvidenceError) as info:
        read_study_table(bad)
    text = str(info.value)
    assert "line 2: events (30) exceed n (24)" in text
    assert "line 3, column 'events': 'x'" in text
    assert "line 4, column 'n'" in text
    assert "line 4, column 'edss': 12 is outside 0-10" in text
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("name,deaths,total\nA,1,2\n", encoding="utf-8")
    with pytest.raises(EvidenceError, match="lacks column"):
        read_study_table(nocol)
    with pytest.raises(EvidenceError, match="does not exist"):
        read_study_table(tmp_path / "missing.csv")
    with pytest.raises(EstimationError, match="no such column"):
        pool_data(table, by="era")


def test_forest_plot_png_and_svg(tmp_path, trm_by_era):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hsctms.plots._style import save_figure

    ax = trm_by_era.plot(title="TRM by era")
    n_groups = len(trm_by_era.meta.subgroups.groups)
    polygons = [p for p in ax.patches if p.__class__.__name__ == "Polygon"]
    assert len(polygons) == n_groups + 1  # one diamond per subgroup + overall
    texts = [t.get_text() for t in ax.texts]
    assert "Prediction interval" in texts
    assert any(t.startswith("Pooled (REML") for t in texts)
    png = save_figure(ax.figure, tmp_path / "forest.png")
    svg = save_figure(ax.figure, tmp_path / "forest.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in svg.read_text(encoding="utf-8")
    plt.close(ax.figure)
    fig, ax2 = plt.subplots()
    res = pool_proportions([1, 0, 3], [24, 55, 120], ["A", "B", "C"], model=ModelSpec(method="FE"))
    assert res.plot(ax=ax2) is ax2  # draws on a given Axes; FE has no prediction interval
    assert "Prediction interval" not in [t.get_text() for t in ax2.texts]
    plt.close(fig)


def test_joint_meta_regression_and_bubble_plot(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hsctms.meta import meta_regression

    res = pool_evidence("trm", regression=RegressionSpec(joint=("pub_year", "edss")))
    data = load_evidence().trm_data().dropna(subset=["edss"])
    direct = meta_regression(data["events"], data["n"], data[["pub_year", "edss"]])
    np.testing.assert_allclose(res.joint.coef, direct.coef, rtol=1e-12)
    assert res.joint.k == len(data) and res.joint_poisson is not None
    payload = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert payload["meta_regression_joint"]["k"] == len(data)
    with pytest.raises(EstimationError, match="Unknown moderator"):
        pool_evidence("trm", regression=RegressionSpec(joint=("height",)))
    ax = res.regressions["pub_year"].plot()
    assert len(ax.collections) >= 2  # bubbles + CI band
    assert len(ax.lines) == 1  # fitted line
    plt.close(ax.figure)
    ax = res.joint.plot(moderator="edss")
    assert ax.get_xlabel() == "edss"
    plt.close(ax.figure)


def test_glmm_forest_draws_unweighted_markers():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hsctms.meta import glmm_proportions

    ax = glmm_proportions([1, 0, 3, 2], [24, 55, 120, 74], list("ABCD")).plot()
    markers = [ln for ln in ax.lines if ln.get_marker() == "s"]
    assert len(markers) == 4 and all(np.isfinite(m.get_markersize()) for m in markers)
    assert any("LRT" in t.get_text() for t in ax.texts)
    plt.close(ax.figure)


def test_options_are_validated_in_the_library_and_results_are_frozen():
    import dataclasses

    import pytest

    from hsctms.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="era, intensity, phenotype"):
        pool_evidence("trm", by="country")
    res = pool_evidence("trm")
    assert res.selection["source"] == "hsctms evidence base"
    assert "study_id" in res.meta.studies.columns
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.selection = {}  # type: ignore[misc]
    import pandas as pd

    own = pool_data(pd.DataFrame({"study": ["a", "b", "c"], "events": [1, 2, 0],
                                  "n": [20, 30, 25]}),
                    source=SourceInfo(selection={"source": "mine.csv"}))
    assert own.to_dict()["selection"] == {"source": "mine.csv"}


def test_meta_regressions_use_the_pooled_test():
    """Knapp-Hartung pooling gives Knapp-Hartung meta-regressions (t and F tests with the
    pooled model's df), identical to meta_regression called directly with the same model;
    z pooling keeps z tests. Before, pool_data fitted every regression with z tests."""
    from hsctms.meta import meta_regression

    data = load_evidence().trm_data().dropna(subset=["pub_year"])
    knha = pool_evidence("trm", model=ModelSpec(test="knha"))
    z = pool_evidence("trm", model=ModelSpec(test="z"))
    reg_k, reg_z = knha.regressions["pub_year"], z.regressions["pub_year"]
    assert (reg_k.test, reg_z.test) == ("knha", "z")
    direct = meta_regression(data["events"], data["n"], data[["pub_year"]],
                             model=ModelSpec(test="knha"))
    np.testing.assert_allclose(reg_k.coef, direct.coef, rtol=1e-12)
    np.testing.assert_allclose(reg_k.pval, direct.pval, rtol=1e-12)
    np.testing.assert_allclose(reg_k.ci_low, direct.ci_low, rtol=1e-12)
    np.testing.assert_allclose(reg_k.coef, reg_z.coef, rtol=1e-12)  # same fit, other test
    assert not np.allclose(reg_k.pval, reg_z.pval)
