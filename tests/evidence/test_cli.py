"""``hsctms evidence`` CLI: list, show, pool (evidence base and user table), sormani."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hsctms.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _agg(monkeypatch, tmp_path):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)  # an implicit file in the cwd would land here


def test_list_studies_and_outcomes(tmp_path):
    res = runner.invoke(app, ["evidence", "list"])
    assert res.exit_code == 0, res.output
    assert "atkins2016" in res.output
    out = tmp_path / "neda.json"
    res = runner.invoke(app, ["evidence", "list", "--outcome", "neda", "--phenotype",
                              "relapsing", "--json", str(out)])
    assert res.exit_code == 0, res.output
    payload = json.loads(out.read_text())
    assert payload["kind"] == "outcomes"
    assert {r["study_id"] for r in payload["rows"]} >= {"silfverberg2024", "zhukovsky2021"}
    assert all(r["outcome"] == "neda" for r in payload["rows"])
    res = runner.invoke(app, ["evidence", "list", "--outcome", "cure"])
    assert res.exit_code == 1
    assert "Unknown outcome" in res.output


def test_show(tmp_path):
    out = tmp_path / "s.json"
    res = runner.invoke(app, ["evidence", "show", "atkins2016", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "Atkins 2016" in res.output
    assert json.loads(out.read_text())["study"]["trm_deaths"] == 1
    res = runner.invoke(app, ["evidence", "show", "atkins2061"])
    assert res.exit_code == 1 and "Did you mean atkins2016" in res.output


def test_pool_trm_by_era_writes_forest_and_json(tmp_path):
    forest, out = tmp_path / "trm.svg", tmp_path / "trm.json"
    res = runner.invoke(app, ["evidence", "pool", "--outcome", "trm", "--by", "era",
                              "--forest", str(forest), "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "test for subgroup differences" in res.output
    assert "pooled" in res.output
    assert "<svg" in forest.read_text()
    payload = json.loads(out.read_text())
    for key in ("pooled", "heterogeneity", "studies", "subgroups", "meta_regression",
                "poisson_regression", "published", "caveats", "provenance"):
        assert key in payload, key
    assert payload["pooled"]["ci_low"] <= payload["pooled"]["proportion"]
    assert payload["pooled"]["pi_low"] <= payload["pooled"]["ci_low"]
    assert "pub_year" in payload["meta_regression"]


def test_pool_time_point_and_options(tmp_path):
    res = runner.invoke(app, ["evidence", "pool", "--outcome", "progression_free", "--time",
                              "5", "--measure", "PFT", "--method", "DL", "--test", "knha"])
    assert res.exit_code == 0, res.output
    assert list(tmp_path.iterdir()) == []  # nothing written into the cwd unless asked
    res = runner.invoke(app, ["evidence", "pool", "--by", "intensity", "--no-forest"])
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "forest-trm-by-intensity.svg").exists()
    res = runner.invoke(app, ["evidence", "pool", "--outcome", "neda"])
    assert res.exit_code == 1 and "needs a time point" in res.output
    res = runner.invoke(app, ["evidence", "pool", "--by", "bogus"])
    assert res.exit_code == 1 and "Unknown subgroup variable 'bogus'" in res.output
    assert "--by" in res.output  # the hint names the option
    res = runner.invoke(app, ["evidence", "pool", "--method", "XX"])
    assert res.exit_code == 1 and "Unknown method" in res.output


def test_pool_user_table(tmp_path):
    data = tmp_path / "mine.csv"
    data.write_text("study,events,n,year,edss,pct_rrms,region\nA,1,24,2016,5,50,EU\n"
                    "B,0,55,2019,3.4,100,US\nC,3,120,2021,6,48,EU\nD,2,74,2012,6,,EU\n",
                    encoding="utf-8")
    out, png = tmp_path / "mine.json", tmp_path / "mine.png"
    res = runner.invoke(app, ["evidence", "pool", "--data", str(data), "--by", "region",
                              "--json", str(out), "--forest", str(png)])
    assert res.exit_code == 0, res.output
    payload = json.loads(out.read_text())
    assert payload["k"] == 4 and payload["subgroups"]["by"] == "region"
    assert png.read_bytes()[:4] == b"\x89PNG"
    bad = tmp_path / "bad.csv"
    bad.write_text("study,events,n\nA,30,24\n", encoding="utf-8")
    res = runner.invoke(app, ["evidence", "pool", "--data", str(bad)])
    assert res.exit_code == 1
    assert "line 2: events (30) exceed n (24)" in res.output


def test_sormani(tmp_path):
    out = tmp_path / "s.json"
    res = runner.invoke(app, ["evidence", "sormani", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "missing" in res.output
    assert json.loads(out.read_text())["trm"]["n"] == 559


def test_harms_and_population(tmp_path):
    out = tmp_path / "h.json"
    res = runner.invoke(app, ["evidence", "harms", "--harm", "thyroid", "--json", str(out)])
    assert res.exit_code == 0, res.output
    rows = json.loads(out.read_text())["rows"]
    assert {"ahsct", "alemtuzumab"} <= {r["arm"] for r in rows}
    res = runner.invoke(app, ["evidence", "harms", "--harm", "warts"])
    assert res.exit_code == 1 and "Unknown harm" in res.output
    out = tmp_path / "p.json"
    res = runner.invoke(app, ["evidence", "pool", "--outcome", "progression_free", "--time",
                              "5", "--population", "RRMS", "--no-forest", "--json", str(out)])
    assert res.exit_code == 0, res.output
    payload = json.loads(out.read_text())
    # only Boffa 2021 reports RRMS progression-free survival at exactly 5 y: no pooling,
    # the proportion with its exact CI
    assert [s["study_id"] for s in payload["studies"]] == ["boffa2021"]
    assert payload["method"] == "single study (exact binomial)"


def test_pool_glmm(tmp_path):
    out = tmp_path / "g.json"
    res = runner.invoke(app, ["evidence", "pool", "--method", "GLMM", "--no-forest", "--json",
                              str(out)])
    assert res.exit_code == 0, res.output
    payload = json.loads(out.read_text())
    assert payload["method"] == "GLMM"
    assert payload["pooled"]["ci_low"] < payload["pooled"]["proportion"]
    res = runner.invoke(app, ["evidence", "pool", "--method", "GLMM", "--by", "era"])
    assert res.exit_code == 1 and "not available with method GLMM" in res.output
