"""``hsctms design gsd`` / ``hsctms design means``: the new boundaries, binding futility,
``--power`` (mutually exclusive with ``--beta``) and two means."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hsctms.design import Boundary, Futility, Testing, group_sequential, two_means
from hsctms.design.gsd import type_ii_error
from hsctms.errors import DesignError


def _run(*args: str) -> tuple[int, str]:
    from hsctms.cli import app

    res = CliRunner().invoke(app, ["design", *args])
    return res.exit_code, res.output


def test_power_and_beta_are_one_setting(tmp_path: Path) -> None:
    out_p, out_b = tmp_path / "p.json", tmp_path / "b.json"
    code, _ = _run("gsd", "--k", "3", "--power", "0.9", "--json", str(out_p))
    assert code == 0
    code, _ = _run("gsd", "--k", "3", "--beta", "0.1", "--json", str(out_b))
    assert code == 0
    p, b = json.loads(out_p.read_text()), json.loads(out_b.read_text())
    assert p["beta"] == pytest.approx(0.1) and p["inflation_factor"] == pytest.approx(
        b["inflation_factor"], abs=1e-12)
    code, text = _run("gsd", "--k", "3", "--beta", "0.1", "--power", "0.9")
    assert code != 0 and "not both" in text
    code, text = _run("gsd", "--k", "3", "--power", "90")
    assert code != 0 and "(0, 1)" in text


def test_type_ii_error() -> None:
    assert type_ii_error() == 0.2
    assert type_ii_error(beta=0.15) == 0.15
    assert type_ii_error(power=0.9) == pytest.approx(0.1)
    with pytest.raises(DesignError, match="not both"):
        type_ii_error(beta=0.1, power=0.9)


def test_gsd_cli_new_boundaries(tmp_path: Path) -> None:
    out = tmp_path / "kd.json"
    code, text = _run("gsd", "--k", "3", "--spending", "kd", "--gamma", "2", "--futility", "kd",
                      "--futility-gamma", "2", "--binding-futility", "--json", str(out))
    assert code == 0, text
    want = group_sequential(k=3, spending_function=Boundary("kd", gamma=2),
                            futility=Futility("kd", gamma=2, binding=True))
    got = json.loads(out.read_text())
    assert got["efficacy"] == pytest.approx(want.efficacy.tolist(), abs=1e-12)
    assert got["binding_futility"] is True and "binding kd" in text
    code, text = _run("gsd", "--k", "3", "--futility", "obf")
    assert code == 0 and "non-binding" in text  # the default
    code, text = _run("gsd", "--k", "3", "--spending", "wt", "--delta", "0.25")
    assert code == 0 and "2.7411" in text and "Wang-Tsiatis" in text
    code, text = _run("gsd", "--k", "3", "--spending", "hp", "--sided", "2", "--alpha", "0.05")
    assert code == 0 and "Haybittle-Peto" in text and "3.0000" in text
    code, text = _run("gsd", "--k", "3", "--spending", "kd")
    assert code != 0 and "gamma" in text


def test_means_cli(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    code, text = _run("means", "--difference", "-0.3", "--sd", "1", "--power", "0.8", "--k",
                      "3", "--json", str(out))
    assert code == 0, text
    want = two_means(-0.3, sd=1.0, power=0.8,
                     design=group_sequential(k=3, alpha=0.05, sided=2))
    assert json.loads(out.read_text())["n_total"] == pytest.approx(want.n_total, abs=1e-9)
    code, text = _run("means", "--difference", "0.5", "--sd", "1.2", "--n", "150", "--sided",
                      "1", "--alpha", "0.025", "--ratio", "2", "--normal")
    assert code == 0 and "power 0." in text
    fixed = two_means(0.5, sd=1.2, n=150, testing=Testing(0.025, 1), ratio=2,
                      normal_approximation=True)
    assert f"{fixed.power:.3f}" in text
