"""Icon arrays: counts, fractional icons, accessible SVG, bad input."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import matplotlib
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hsctms.errors import ConfigurationError
from hsctms.plots.icons import IconArray, icon_array_svg

matplotlib.use("Agg")


@given(low=st.floats(0, 100), extra=st.floats(0, 100))
def test_states_sum_to_counts(low, extra):
    high = min(100.0, low + extra)
    states = IconArray(low, high).states()
    assert len(states) == 100
    assert sum(s for s, _ in states) == pytest.approx(low)
    assert sum(s + u for s, u in states) == pytest.approx(high)
    for s, u in states:
        assert 0 <= s <= 1 and 0 <= u <= 1 and s + u <= 1 + 1e-12


def test_fraction_drawn_partly():
    states = IconArray(2.5, 2.5).states()
    assert states[:3] == [(1.0, 0.0), (1.0, 0.0), (0.5, 0.0)]
    assert states[3] == (0.0, 0.0)


def test_svg_is_accessible_and_well_formed():
    svg = icon_array_svg(21, 46, scheme="harm", title="thyroid <disease>",
                         description="21 to 46 out of 100")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img"
    ids = root.get("aria-labelledby").split()
    title = root.find(f"{ns}title")
    desc = root.find(f"{ns}desc")
    assert title.get("id") == ids[0] and desc.get("id") == ids[1]
    assert title.text == "thyroid <disease>"  # escaped in markup, intact as text
    assert desc.text == "21 to 46 out of 100"
    assert "width=" not in svg.split(">", 1)[0]  # scales with its container
    assert len(re.findall(r'transform="translate\(', svg)) == 100


def test_ids_unique_between_arrays():
    a, b = icon_array_svg(10), icon_array_svg(10)
    id_a = re.search(r'id="(ia\d+)-t"', a).group(1)
    id_b = re.search(r'id="(ia\d+)-t"', b).group(1)
    assert id_a != id_b


@pytest.mark.parametrize(("low", "high"), [(-1, 5), (10, 5), (50, 101)])
def test_bad_counts(low, high):
    with pytest.raises(ConfigurationError):
        IconArray(low, high)


def test_bad_scheme():
    with pytest.raises(ConfigurationError, match="Unknown icon scheme"):
        IconArray(1, 2, scheme="rainbow")


def test_plot_draws_100_cells():
    import matplotlib.pyplot as plt

    ax = IconArray(30, 40).plot()
    assert len(ax.patches) == 100 + 30 + 10
    plt.close(ax.figure)
