"""Formula neutralisation in :func:`hsctms.io.csv_text` leaves numeric columns as numbers."""

from __future__ import annotations

import pandas as pd

from hsctms.io.csvtext import FORMULA_PREFIXES, csv_text


def test_negative_numbers_stay_numbers() -> None:
    frame = pd.DataFrame({"offset_days": [-3650, 5], "ratio": [-0.5, 1.0]})
    assert csv_text(frame, neutralise_formulas=True) == "offset_days,ratio\n-3650,-0.5\n5,1.0\n"


def test_every_prefix_in_text_columns_is_neutralised() -> None:
    values = [f"{p}SUM(A1)" for p in FORMULA_PREFIXES]
    text = csv_text(pd.DataFrame({"term": values}), neutralise_formulas=True)
    for value in values:
        assert "'" + value in text, value
    assert "\n=SUM" not in text and "\n+SUM" not in text
