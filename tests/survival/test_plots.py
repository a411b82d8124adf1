"""Figures: key properties and a tolerant image comparison with committed baselines."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.testing.compare import compare_images

from hsctms.survival import kaplan_meier_by

HERE = Path(__file__).resolve().parent


def _cases() -> Any:
    spec = importlib.util.spec_from_file_location("plot_cases", HERE / "plot_cases.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("case", ["km_groups", "cif"])
def test_image_matches_baseline(case: str, tmp_path: Path) -> None:
    mod = _cases()
    out = mod.render(case, tmp_path / f"{case}.png")
    # RMS difference on 0-255 grey levels; tolerant to font hinting / antialiasing changes,
    # fails on a lost band, curve, risk-table row or axis.
    result = compare_images(str(HERE / "baseline" / f"{case}.png"), str(out), tol=8)
    assert result is None, result


def test_km_plot_risk_table_and_band_properties() -> None:
    d = pd.read_csv(HERE.parent / "reference" / "survival" / "cr3.csv")
    fits = kaplan_meier_by(d["time"], (d["event"] != 0).astype(int), d["group"], level=0.9)
    times = [0, 12, 24, 36]
    ax = fits.plot(risk_times=times, xmax=36)
    texts = [t.get_text() for t in ax.texts]
    for g, fit in fits.fits.items():
        assert g in texts
        # numbers at risk counted from the data (#{T >= t} in the group), not fit.at_risk
        in_group = d.loc[d["group"].astype(str) == str(g), "time"]
        counted = [int((in_group >= x).sum()) for x in times]
        assert [int(c) for c in fit.at_risk(times)] == counted
        # the group's risk-table row (same height as its label) shows them at those times
        y = next(t.get_position()[1] for t in ax.texts if t.get_text() == str(g))
        row = {t.get_position()[0]: t.get_text() for t in ax.texts
               if t.get_position()[1] == y and t.get_text() != str(g)}
        assert row == {float(x): str(c) for x, c in zip(times, counted, strict=True)}, g
    assert "Number at risk" in texts
    assert len(ax.collections) >= 3  # one CI band per group
    legend = ax.get_legend()
    assert legend is not None and "90% CI (log-log)" in legend.get_title().get_text()
    # each step curve starts at 1
    steps = [ln for ln in ax.lines if ln.get_linestyle() != "None"]
    assert all(np.asarray(ln.get_ydata())[0] == 1.0 for ln in steps)
    plt.close(ax.figure)


def test_svg_and_png_written(tmp_path: Path) -> None:
    from hsctms.plots._style import save_figure

    mod = _cases()
    fig = mod.km_case()
    svg = save_figure(fig, tmp_path / "km.svg")
    png = save_figure(fig, tmp_path / "km.png")
    assert svg.read_text().lstrip().startswith("<?xml") and "Number at risk" in svg.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plt.close(fig)
