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


def test_neutralise_frame_keeps_numbers_and_dates() -> None:
    from hsctms.io.csvtext import neutralise_frame

    frame = pd.DataFrame({"patient_id": ["=cmd", "P-1"], "t": [-1.5, 2.0],
                          "d": pd.to_datetime(["2020-01-01", "2021-02-03"])})
    out = neutralise_frame(frame)
    assert out["patient_id"].tolist() == ["'=cmd", "P-1"]
    assert out["t"].tolist() == [-1.5, 2.0]
    assert out.to_csv(index=False).splitlines()[1] == "'=cmd,-1.5,2020-01-01"
    assert frame["patient_id"].tolist() == ["=cmd", "P-1"]  # input untouched

