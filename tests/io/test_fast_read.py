"""The columnar reading path agrees with the exact (csv module, calendar) definitions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from hsctms.io._parse import _iso_days, _read_body, _slow_rows


def test_every_iso_day_of_years_0000_to_9999_round_trips() -> None:
    days = np.arange(np.datetime64("0000-01-01"), np.datetime64("10000-01-01"))
    text = pd.Series(np.datetime_as_string(days, unit="D"), dtype="str")
    assert (_iso_days(text, np.ones(len(text), dtype=bool)) == days).all()


@pytest.mark.parametrize("text", ["2023-02-29", "1900-02-29", "2100-02-29", "2000-02-30",
                                  "2023-04-31", "2023-00-01", "2023-13-01", "2023-01-00",
                                  "2023-01-32", "2023-99-99"])
def test_days_that_do_not_exist_are_not_dates(text: str) -> None:
    with pytest.raises(ValueError):
        dt.date.fromisoformat(text)
    out = _iso_days(pd.Series(["2020-01-01", text], dtype="str"), np.array([True, True]))
    assert out[0] == np.datetime64("2020-01-01") and np.isnat(out[1])


@pytest.mark.parametrize("data", [
    b"a,b\n", b"a,b", b"a,b\n1,2", b"a,b\r\n1,2\r\n", b"a,b\n1,2\n\n", b"a,b\n\n1,2\n",
    b"a,b\n1,2,3\n4,5\n", b"a,b\n1\n", b"a,b\n,\n", b"a,b\n \n", b"a,b\n1,2\n\n\n",
    b"a,b\n\n", b"a,b\n1, 2 \n", b"a,b\r\n\r\n1,2\r\n",
])
def test_fast_reader_reads_and_reports_like_the_csv_module(data: bytes) -> None:
    frame, lines, issues = _read_body(data.decode(), data, 2, "x.csv")
    rows, exact_lines, exact_issues = _slow_rows(data.decode(), 2, "x.csv")
    assert frame.to_numpy().tolist() == rows
    assert lines.tolist() == exact_lines
    assert issues == exact_issues
