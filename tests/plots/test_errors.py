"""Bad input to the plot functions raises hsctms errors, not matplotlib/numpy/pandas errors.

Each case calls a public plot function with bad input and checks the exception type, that it
is an :class:`hsctms.errors.HsctmsError`, and that its message names the function, argument
and problem (with a hint; listing the choices where there are choices).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hsctms.errors import (
    ConfigurationError,
    DataValidationError,
    EstimationError,
    HsctmsError,
)
from hsctms.meta import meta_regression, pool_proportions
from hsctms.plots._style import figure_to_svg, new_axes, save_figure
from hsctms.plots.forest import bubble_plot, forest_plot
from hsctms.plots.icons import IconArray, icon_array_svg
from hsctms.plots.km import add_risk_table, cif_figure, km_figure, plot_cif, plot_km
from hsctms.plots.trajectories import plot_trajectories
from hsctms.survival import cumulative_incidence, kaplan_meier

KM = kaplan_meier([1, 2, 3, 4, 5, 6], [1, 0, 1, 1, 0, 1])
CIF = cumulative_incidence([1, 2, 3, 4, 5, 6], [1, 2, 0, 1, 0, 2])
META = pool_proportions([1, 0, 3], [24, 55, 120], ["A", "B", "C"])
VISITS = pd.DataFrame({"patient_id": [1, 1, 2, 2], "year": [0.0, 1.0, 0.0, 1.0],
                       "edss": [3.0, 3.5, 2.0, 2.5]})


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    plt.close("all")


def _check(exc: HsctmsError, kind: type[HsctmsError], *words: str) -> None:
    assert type(exc) is kind, repr(exc)
    assert isinstance(exc, HsctmsError)
    assert exc.message and exc.hint
    text = str(exc)
    for w in words:
        assert w in text, (w, text)


CASES: list[tuple[str, Callable[[], Any], type[HsctmsError], tuple[str, ...]]] = [
    ("km no fits", lambda: plot_km([]), ConfigurationError, ("plot_km", "at least one")),
    ("km_figure no fits", lambda: km_figure([]), ConfigurationError, ("plot_km",)),
    ("km None", lambda: plot_km(None), ConfigurationError,  # type: ignore[arg-type]
     ("plot_km needs a list", "NoneType")),
    ("km one fit not in a list", lambda: plot_km(KM), ConfigurationError,  # type: ignore[arg-type]
     ("KaplanMeier", "plot_km([fit])")),
    ("km given a CIF", lambda: plot_km([CIF]), ConfigurationError,
     ("CumulativeIncidence", "not a Kaplan-Meier")),
    ("km given text", lambda: plot_km(["a"]), ConfigurationError,  # type: ignore[list-item]
     ("item 0", "str")),
    ("km labels short", lambda: plot_km([KM, KM], labels=["a"]), ConfigurationError,
     ("one label per curve (2)",)),
    ("km no colours", lambda: plot_km([KM], colors=[]), ConfigurationError, ("colors",)),
    ("km xmax 0", lambda: plot_km([KM], xmax=0), ConfigurationError, ("xmax", "> 0")),
    ("km xmax negative", lambda: plot_km([KM], xmax=-1), ConfigurationError, ("xmax",)),
    ("km xmax nan", lambda: plot_km([KM], xmax=float("nan")), ConfigurationError,
     ("xmax", "nan")),
    ("km risk_times text", lambda: plot_km([KM], risk_times=["a"]), ConfigurationError,
     ("risk_times",)),
    ("km risk_times nan", lambda: plot_km([KM], risk_times=[float("nan")]),
     ConfigurationError, ("risk_times",)),
    ("cif no fits", lambda: plot_cif([]), ConfigurationError, ("plot_cif", "at least one")),
    ("cif_figure no fits", lambda: cif_figure([]), ConfigurationError, ("plot_cif",)),
    ("cif given a KM", lambda: plot_cif([KM]), ConfigurationError, ("KaplanMeier",)),
    ("cif unknown cause", lambda: plot_cif([CIF], cause=9), ConfigurationError,
     ("cause 9", "Causes: 1, 2")),
    ("cif unknown cause, no competing", lambda: plot_cif([CIF], cause=9, competing=False),
     ConfigurationError, ("cause 9",)),
    ("cif unknown cause, groups", lambda: plot_cif([CIF, CIF], cause=9), ConfigurationError,
     ("cause 9",)),
    ("cif ymax nan", lambda: plot_cif([CIF], ymax=float("nan")), ConfigurationError,
     ("ymax",)),
    ("cif no colours", lambda: plot_cif([CIF], colors=[]), ConfigurationError, ("colors",)),
    ("risk table counts mismatch",
     lambda: add_risk_table(new_axes(), ["a"], [[1, 2]], [0], ["k"]), ConfigurationError,
     ("one count per time (1)",)),
    ("risk table labels mismatch",
     lambda: add_risk_table(new_axes(), ["a", "b"], [[1]], [0], ["k"]), ConfigurationError,
     ("one row of counts per label (2)",)),
    ("forest None", lambda: forest_plot(None), ConfigurationError,  # type: ignore[arg-type]
     ("forest_plot needs a MetaAnalysis", "pool_proportions")),
    ("forest digits negative", lambda: forest_plot(META, digits=-1), ConfigurationError,
     ("digits", "0-6")),
    ("forest digits text", lambda: forest_plot(META, digits="a"),  # type: ignore[arg-type]
     ConfigurationError, ("digits",)),
    ("forest xmax nan", lambda: forest_plot(META, xmax=float("nan")), ConfigurationError,
     ("xmax",)),
    ("bubble None", lambda: bubble_plot(None), ConfigurationError,  # type: ignore[arg-type]
     ("bubble_plot needs a MetaRegression", "meta_regression")),
    ("bubble given a MetaAnalysis", lambda: bubble_plot(META),  # type: ignore[arg-type]
     ConfigurationError, ("MetaAnalysis",)),
    ("traj missing column", lambda: plot_trajectories(VISITS.drop(columns="edss")),
     DataValidationError, ("visits lacks column(s) edss", "patient_id, year, edss")),
    ("traj NaN year", lambda: plot_trajectories(VISITS.assign(year=[0, np.nan, 0, 1])),
     DataValidationError, ("visits.year", "1 row(s)", "index 1")),
    ("traj infinite year", lambda: plot_trajectories(VISITS.assign(year=[0, np.inf, 0, 1])),
     DataValidationError, ("visits.year",)),
    ("traj text EDSS", lambda: plot_trajectories(VISITS.assign(edss=["a", "b", "c", "d"])),
     DataValidationError, ("visits.edss", "4 row(s)")),
    ("traj None", lambda: plot_trajectories(None), DataValidationError,  # type: ignore[arg-type]
     ("DataFrame", "NoneType")),
    ("traj dict", lambda: plot_trajectories({"patient_id": [1]}),  # type: ignore[arg-type]
     DataValidationError, ("DataFrame",)),
    ("traj max_patients negative", lambda: plot_trajectories(VISITS, max_patients=-1),
     ConfigurationError, ("max_patients",)),
    ("traj summary missing columns",
     lambda: plot_trajectories(VISITS, summary=pd.DataFrame({"year": [0]})),
     DataValidationError, ("summary lacks column(s) median, q1, q3",)),
    ("traj xmax nan", lambda: plot_trajectories(VISITS, xmax=float("nan")),
     ConfigurationError, ("xmax",)),
    ("icon text", lambda: icon_array_svg("a"), ConfigurationError,  # type: ignore[arg-type]
     ("low must be a number",)),
    ("icon None", lambda: icon_array_svg(None), ConfigurationError,  # type: ignore[arg-type]
     ("must be a number",)),
    ("icon float total", lambda: icon_array_svg(0, total=10.5),  # type: ignore[arg-type]
     ConfigurationError, ("total must be a whole number",)),
    ("icon per_row 0", lambda: IconArray(1, 2, per_row=0).svg(), ConfigurationError,
     ("per_row must be a whole number >= 1",)),
    ("icon nan", lambda: icon_array_svg(float("nan")), ConfigurationError,
     ("0 <= low <= high <= total", "NaN")),
    ("save None", lambda: save_figure(None, "x.svg"), ConfigurationError,  # type: ignore[arg-type]
     ("save_figure needs a matplotlib Figure",)),
    ("svg of None", lambda: figure_to_svg(None), ConfigurationError,  # type: ignore[arg-type]
     ("figure_to_svg needs a matplotlib Figure",)),
    ("negative figsize", lambda: new_axes(figsize=(-1, 2)), ConfigurationError,
     ("figsize",)),
]


@pytest.mark.parametrize(("call", "kind", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_plot_input_raises_hsctms_error(call: Callable[[], Any], kind: type[HsctmsError],
                                            words: tuple[str, ...]) -> None:
    with pytest.raises(HsctmsError) as info:
        call()
    _check(info.value, kind, *words)


def test_save_figure_unknown_suffix_lists_formats(tmp_path: Path) -> None:
    with pytest.raises(HsctmsError) as info:
        save_figure(plt.figure(), tmp_path / "x.xyz")
    _check(info.value, ConfigurationError, "'.xyz'", ".svg", ".png", ".pdf")
    assert not (tmp_path / "x.xyz").exists()
    assert save_figure(plt.figure(), tmp_path / "x.svg").exists()  # known suffixes still work


def _regression() -> Any:
    return meta_regression([2, 5, 9, 3, 7], [40, 50, 60, 45, 55],
                           {"year": [2000, 2005, 2010, 2003, 2012]})


def test_bubble_plot_unknown_moderator_lists_moderators() -> None:
    reg = _regression()
    with pytest.raises(HsctmsError) as info:
        bubble_plot(reg, moderator="age")
    _check(info.value, ConfigurationError, "'age'", "Moderators: year")
    with pytest.raises(HsctmsError) as info:
        bubble_plot(reg, moderator="")
    _check(info.value, ConfigurationError, "''")


def test_bubble_plot_without_data() -> None:
    import dataclasses

    reg = dataclasses.replace(_regression(), data=None)
    with pytest.raises(HsctmsError) as info:
        bubble_plot(reg)
    _check(info.value, EstimationError, "no study data", "meta_regression")


@settings(max_examples=200, deadline=None)
@given(low=st.one_of(st.floats(), st.integers(-5, 200), st.none(), st.text(max_size=2)),
       high=st.one_of(st.none(), st.floats(), st.integers(-5, 200)),
       total=st.one_of(st.integers(-2, 120), st.floats(0, 100)),
       per_row=st.integers(-2, 12))
def test_icon_arrays_draw_or_raise_configuration_error(low: Any, high: Any, total: Any,
                                                       per_row: int) -> None:
    try:
        arr = IconArray(low, low if high is None else high, total, "benefit", "t", "d", per_row)
        svg = arr.svg()
    except HsctmsError as exc:
        assert isinstance(exc, ConfigurationError) and exc.message and exc.hint
        return
    assert svg.count("<path ") + svg.count("<g ") >= total


@settings(max_examples=40, deadline=None)
@given(xmax=st.one_of(st.none(), st.floats(), st.integers(-3, 10)),
       risk_times=st.one_of(st.none(), st.lists(st.one_of(st.floats(), st.integers(-2, 8)),
                                                max_size=3)),
       n_labels=st.one_of(st.none(), st.integers(0, 3)))
def test_km_options_draw_or_raise_configuration_error(xmax: Any, risk_times: Any,
                                                      n_labels: int | None) -> None:
    labels = None if n_labels is None else [f"g{i}" for i in range(n_labels)]
    try:
        plot_km([KM, KM], xmax=xmax, risk_times=risk_times, labels=labels)
    except HsctmsError as exc:
        assert isinstance(exc, ConfigurationError) and exc.message and exc.hint
    finally:
        plt.close("all")


def test_save_figure_without_suffix_is_refused(tmp_path: Path) -> None:
    """matplotlib wrote x.png and the returned path x did not exist."""
    with pytest.raises(HsctmsError) as info:
        save_figure(plt.figure(), tmp_path / "x")
    _check(info.value, ConfigurationError, "no suffix", ".svg", ".png")
    assert not list(tmp_path.iterdir())
