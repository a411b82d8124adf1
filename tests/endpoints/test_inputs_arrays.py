"""The engine's input arrays (patient codes, sorted visits and dated rows) against the plain
per-row look-up and ``np.lexsort`` they replace, on sorted and shuffled input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hsctms.endpoints._inputs import Calendar, Universe, dated_rows, visits


@pytest.mark.parametrize("dtype", ["object", "string", "str"])
def test_codes_equal_per_row_lookup(dtype: str) -> None:
    uni = Universe.build(["P1", "P2", "P10", "nan", "<NA>"])
    ids = pd.Series(["P2", "P1", None, "P10", "P2", "X", "P1"], dtype=dtype)
    expected = np.asarray(uni.ids.get_indexer(ids.astype(str)), dtype=np.int64)
    assert (uni.codes(ids) == expected).all()


def test_codes_of_mixed_objects_and_empty() -> None:
    uni = Universe.build(["1", "2", "A"])
    ids = pd.Series([1, "1", 2.5, "A", np.nan, 2], dtype=object)
    expected = np.asarray(uni.ids.get_indexer(ids.astype(str)), dtype=np.int64)
    assert (uni.codes(ids) == expected).all()
    assert uni.codes(pd.Series([], dtype="str")).shape == (0,)


def _reference_visits(edss: pd.DataFrame, uni: Universe, cal: Calendar
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    code = np.asarray(uni.ids.get_indexer(edss["patient_id"].astype(str)), dtype=np.int64)
    day = cal.to_days(edss["date"], "edss.date")
    value = edss["edss"].to_numpy(dtype=np.float64, na_value=np.nan)
    keep = code >= 0
    code, day, value = code[keep], day[keep], value[keep]
    order = np.lexsort((day, code))
    return code[order], day[order], value[order]


@pytest.mark.parametrize("shuffle", [False, True])
def test_visits_equal_lexsort(shuffle: bool) -> None:
    rng = np.random.default_rng(3)
    n = 400
    pid = np.sort(rng.choice([f"P{i:03d}" for i in range(40)], n))
    day = rng.integers(0, 50, n)  # ties within a patient keep their input order
    edss = pd.DataFrame({"patient_id": pid, "date": pd.to_datetime("2020-01-01")
                         + pd.to_timedelta(day, unit="D"),
                         "edss": rng.integers(0, 20, n) / 2})
    edss = edss.sort_values(["patient_id", "date"], kind="stable").reset_index(drop=True)
    if shuffle:
        edss = edss.sample(frac=1, random_state=1).reset_index(drop=True)
    uni = Universe.build(edss["patient_id"][edss["patient_id"] != "P007"])
    cal = Calendar(datetime=True)
    got = visits(edss, uni, cal)
    want = _reference_visits(edss, uni, cal)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    # the returned values are a copy, never a view of the frame
    got[2][:] = -1
    assert (edss["edss"] >= 0).all()


def test_dated_rows_sorted_and_missing_days() -> None:
    frame = pd.DataFrame({"patient_id": ["A", "A", "B", "B", "C"],
                          "onset_date": [1.0, 5.0, 2.0, 3.0, 4.0],
                          "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    uni = Universe.build(["A", "B", "C"])
    cal = Calendar(datetime=False)
    code, day, cols = dated_rows(frame, "relapses", "onset_date", uni, cal, {"v": "x"})
    assert code.tolist() == [0, 0, 1, 1, 2] and day.tolist() == [1, 5, 2, 3, 4]
    cols["v"][:] = 0  # a copy
    assert frame["x"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    shuffled = frame.iloc[[3, 0, 4, 2, 1]].assign(onset_date=[3.0, 1.0, np.nan, 2.0, 5.0])
    code, day, cols = dated_rows(shuffled, "relapses", "onset_date", uni, cal, {"v": "x"})
    assert code.tolist() == [0, 0, 1, 1] and day.tolist() == [1, 5, 2, 3]
    assert cols["v"].tolist() == [1.0, 2.0, 3.0, 4.0]

