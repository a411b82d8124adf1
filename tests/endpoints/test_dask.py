"""derive_dask gives the same result (per-patient rows, events, exclusions) as derive_frames."""

from __future__ import annotations

import itertools
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from hsctms._provenance import data_source
from hsctms.endpoints import (
    DaskEndpointResult,
    EndpointResult,
    Partitioning,
    derive_dask,
    derive_frames,
    get_definition,
)
from hsctms.endpoints import distributed as dist
from hsctms.endpoints.synthetic import random_visits
from hsctms.errors import ConfigurationError, DataValidationError


def _tables(n: int = 150, seed: int = 3) -> dict[str, pd.DataFrame]:
    """Visits, relapses, MRI (with brain volumes for some scans) and deaths."""
    v, r = random_visits(n, (1, 12), seed=seed)
    rng = np.random.default_rng(seed)
    m = v.sample(frac=0.3, random_state=seed)[["patient_id", "date"]].reset_index(drop=True)
    m["new_t2"] = rng.poisson(0.4, len(m))
    m["gd_lesions"] = rng.poisson(0.2, len(m))
    m["brain_volume"] = np.where(rng.random(len(m)) < 0.5, np.nan,
                                 1500.0 - 40.0 * rng.random(len(m)))
    last = pd.concat([v[["patient_id", "date"]],
                      r.rename(columns={"onset_date": "date"})]).groupby("patient_id")["date"].max()
    dead = last.sample(frac=0.1, random_state=seed)
    deaths = pd.DataFrame({"patient_id": dead.index.to_numpy(),
                           "date": dead.to_numpy() + pd.Timedelta(days=400)})
    return {"edss": v, "relapses": r, "mri": m, "deaths": deaths}


def _origin(v: pd.DataFrame) -> pd.DataFrame:
    """Transplant 200 days after the first visit; none for some patients; some transplanted
    patients without visits (every exclusion reason of the halt_ms preset occurs)."""
    first = v.groupby("patient_id")["date"].min()
    o = pd.DataFrame({"patient_id": first.index.to_numpy(),
                      "origin_date": first.to_numpy() + pd.Timedelta(days=200)})
    o["origin_date"] = o["origin_date"].where(o.index % 9 != 0,
                                              o["origin_date"] - pd.Timedelta(days=1500))
    o = o.iloc[5:]
    extra = pd.DataFrame({"patient_id": ["Q1", "Q2", "Q3"],
                          "origin_date": pd.to_datetime(["2015-01-01"] * 3)})
    return pd.concat([o, extra], ignore_index=True)


def _same(got: EndpointResult, expected: EndpointResult) -> None:
    pd.testing.assert_frame_equal(got.frame, expected.frame)
    pd.testing.assert_frame_equal(got.events, expected.events)
    pd.testing.assert_frame_equal(got.excluded, expected.excluded)
    assert got.endpoints == expected.endpoints
    assert got.has_brain_volume == expected.has_brain_volume


@pytest.mark.parametrize("name", ["msprog_default", "halt_ms"])
@pytest.mark.parametrize("npartitions", [1, 4, 7])
def test_dask_matches_pandas(name: str, npartitions: int) -> None:
    t = _tables()
    d = get_definition(name)
    origin = None
    if d.origin == "transplant":
        origin = _origin(t["edss"])
        d = d.with_(baseline_window_days=400)
    expected = derive_frames(t["edss"], t["relapses"], t["mri"], origin, t["deaths"], d)
    # rows of one patient spread over the input partitions
    ddf = dd.from_pandas(t["edss"].sample(frac=1.0, random_state=1), npartitions=4,
                         sort=False)
    lazy = derive_dask(ddf, t["relapses"].sample(frac=1.0, random_state=2), t["mri"],
                       origin, t["deaths"], d, partitioning=Partitioning(npartitions=npartitions))
    assert isinstance(lazy, DaskEndpointResult) and lazy.npartitions == npartitions
    assert isinstance(lazy.to_frame(), dd.DataFrame) and lazy.provenance.n is None
    got = lazy.compute(scheduler="sync")
    _same(got, expected)
    assert expected.n > 50 and len(expected.events) > 20 and expected.has_brain_volume
    if origin is not None:
        assert expected.excluded["reason"].nunique() == 3
    assert got.provenance.method == "hsctms.endpoints.derive_dask"
    assert got.provenance.n == expected.n
    # the lazy tables hold the same rows (in partition order)
    assert len(lazy.to_frame().compute(scheduler="sync")) == expected.n
    assert len(lazy.events.compute(scheduler="sync")) == len(expected.events)
    assert len(lazy.excluded.compute(scheduler="sync")) == len(expected.excluded)


def _same_dropped(got: EndpointResult, expected: EndpointResult) -> None:
    pd.testing.assert_frame_equal(got.dropped, expected.dropped)


@pytest.mark.parametrize("outcome", ["sdmt", "t25fw"])
def test_other_outcomes(outcome: str) -> None:
    from hsctms.endpoints.synthetic import random_scores

    t = _tables(100, seed=7)
    w = random_scores(t["edss"], outcome, seed=1)
    d = get_definition("msprog_default").with_(outcome=outcome, extra_conf_days=(168,))
    expected = derive_frames(w, t["relapses"], t["mri"], deaths=t["deaths"], definition=d)
    got = derive_dask(dd.from_pandas(w.sample(frac=1.0, random_state=4), npartitions=3,
                                     sort=False), t["relapses"], t["mri"], deaths=t["deaths"],
                      definition=d).compute(scheduler="sync")
    _same(got, expected)
    assert f"baseline_{outcome}" in got.frame.columns and len(expected.events) > 10


def test_rows_dropped_by_exclude_before_name_the_whole_tables() -> None:
    t = _tables(60, seed=11)
    v, r = t["edss"], t["relapses"]
    first = v.groupby("patient_id")["date"].min()
    onset = first + pd.to_timedelta(np.where(np.arange(len(first)) % 3 == 0, 400, -10), "D")
    patients = pd.DataFrame({"patient_id": first.index.to_numpy(), "onset_date": onset.to_numpy()})
    d = get_definition("msprog_default").with_(exclude_before="onset")
    with pytest.warns(Warning):
        expected = derive_frames(v, r, definition=d, patients=patients)
    ddf = dd.from_pandas(v.sample(frac=1.0, random_state=5), npartitions=4, sort=False)
    lazy = derive_dask(ddf, r, definition=d, patients=patients,
                       partitioning=Partitioning(npartitions=3))
    with pytest.warns(Warning):
        got = lazy.compute(scheduler="sync")
    _same(got, expected)
    assert len(expected.dropped) > 10 and set(expected.dropped["table"]) == {"edss", "relapses"}
    # the visits' lines are those of ddf.compute(), the order derive_frames would see
    with pytest.warns(Warning):
        on_computed = derive_frames(ddf.compute(), r, definition=d, patients=patients)
    _same_dropped(got, on_computed)
    assert len(lazy.dropped.compute(scheduler="sync")) == len(expected.dropped)


def test_dask_passes_patients_synthetic_and_data_date() -> None:
    import datetime as dt

    t = _tables(60, seed=8)
    patients = [*t["edss"]["patient_id"].unique(), "NOVISITS"]
    kw: dict[str, Any] = {"patients": patients, "data_date": dt.date(2026, 1, 1)}
    with data_source(synthetic=True):
        expected = derive_frames(t["edss"], t["relapses"], definition="msprog_default", **kw)
        lazy = derive_dask(dd.from_pandas(t["edss"], npartitions=3), t["relapses"],
                           definition="msprog_default", **kw)
    assert expected.provenance.synthetic
    got = lazy.compute(scheduler="threads")  # computed in worker threads, after the block
    _same(got, expected)
    assert "NOVISITS" in set(got.excluded["patient_id"])
    assert got.provenance.synthetic and got.provenance.data_date == "2026-01-01"


def test_each_partition_receives_only_its_patients(monkeypatch: pytest.MonkeyPatch) -> None:
    t = _tables(80, seed=4)
    seen: list[tuple[set[str], set[str], set[str]]] = []
    real = dist._derive

    def spy(edss: pd.DataFrame, relapses: pd.DataFrame, mri: pd.DataFrame, *a: Any,
            **k: Any) -> Any:
        seen.append((set(edss["patient_id"]), set(relapses["patient_id"]),
                     set(mri["patient_id"])))
        return real(edss, relapses, mri, *a, **k)

    monkeypatch.setattr(dist, "_derive", spy)
    lazy = derive_dask(dd.from_pandas(t["edss"], npartitions=5), t["relapses"], t["mri"],
                       definition="msprog_default")
    seen.clear()  # the call itself derives an empty partition (the meta)
    lazy.compute(scheduler="sync")
    assert len(seen) == 5
    for i, (visits, relapses, mri) in enumerate(seen):
        assert relapses <= visits and mri <= visits
        for _, other_rel, _ in seen[i + 1:]:
            assert not relapses & other_rel
    assert sum(len(r) for _, r, _ in seen) == t["relapses"]["patient_id"].nunique()


def test_identifiers_normalised_before_partitioning() -> None:
    """1, 1.0 and "1" are one patient: their rows meet in one partition."""
    v, r = random_visits(40, (3, 8), seed=2)
    v["patient_id"] = v["patient_id"].str[1:].astype(int)
    r["patient_id"] = r["patient_id"].str[1:].astype(int).astype(str)
    expected = derive_frames(v, r, definition="msprog_default")
    got = derive_dask(dd.from_pandas(v, npartitions=3), r, definition="msprog_default",
                      partitioning=Partitioning(npartitions=6)).compute(scheduler="sync")
    _same(got, expected)


def test_partitioned_by_patient_checked() -> None:
    t = _tables(60, seed=6)
    v = t["edss"]
    # every third patient in one partition: a true claim
    ids = v["patient_id"].unique()
    parts = [v[v["patient_id"].isin(ids[k::3])] for k in range(3)]
    good = dd.concat([dd.from_pandas(p, npartitions=1) for p in parts])
    expected = derive_frames(pd.concat(parts, ignore_index=True), t["relapses"], t["mri"],
                             deaths=t["deaths"], definition="msprog_default")
    got = derive_dask(good, t["relapses"], t["mri"], deaths=t["deaths"],
                      definition="msprog_default", partitioning=Partitioning(by_patient=True))
    _same(got.compute(scheduler="sync"), expected)
    # rows of a patient in several partitions: refused, with the hint to drop the flag
    ddf = dd.from_pandas(v.sample(frac=1.0, random_state=3), npartitions=4, sort=False)
    with pytest.raises(ConfigurationError) as exc:
        derive_dask(ddf, t["relapses"], definition="msprog_default",
                    partitioning=Partitioning(by_patient=True))
    assert "more than one partition" in str(exc.value)
    assert "Drop by_patient=True" in (exc.value.hint or "")


def _error_of(call: Any) -> DataValidationError:
    with pytest.raises(DataValidationError) as exc:
        call()
    return exc.value


@pytest.mark.parametrize("by_patient", [False, True])
def test_validation_errors_name_the_rows_of_the_whole_tables(by_patient: bool) -> None:
    t = _tables(60, seed=5)
    v, r = t["edss"].copy(), t["relapses"].copy()
    v.loc[[3, 200], "edss"] = [3.25, 0.5]   # off the Kurtzke grid, two patients
    r.loc[7, "onset_date"] = pd.NaT         # blank relapse date
    expected = _error_of(lambda: derive_frames(v, r, definition="msprog_default"))
    if by_patient:  # v is sorted by patient: cut it between patients
        cuts = [0, *v.index[v["patient_id"] != v["patient_id"].shift()][[15, 30, 45]], len(v)]
        ddf = dd.concat([dd.from_pandas(v.iloc[a:b], npartitions=1)
                         for a, b in itertools.pairwise(cuts)])
    else:
        ddf = dd.from_pandas(v, npartitions=4)
    lazy = derive_dask(ddf, r, definition="msprog_default",
                       partitioning=Partitioning(by_patient=by_patient,
                                                 npartitions=None if by_patient else 3))
    got = _error_of(lambda: lazy.compute(scheduler="sync"))
    assert got.report.issues == expected.report.issues
    assert got.report.rows == expected.report.rows
    assert {(i.file, i.row) for i in got.report.errors} == {
        ("edss.csv", 5), ("edss.csv", 202), ("relapses.csv", 9)}
    assert "edss.compute().to_csv" in (got.hint or "")
    # computing a lazy table raises the errors of the partition that failed
    lazy_error = _error_of(lambda: lazy.frame.compute(scheduler="sync"))
    assert set(lazy_error.report.errors) <= set(expected.report.errors)


def test_warnings_of_all_partitions_in_one_input_warning() -> None:
    import warnings

    from hsctms.endpoints import InputWarning

    t = _tables(40, seed=9)
    first = t["edss"].groupby("patient_id")["date"].min()
    # MS onset after the first visit for every fourth patient: date-before-onset warnings
    onset = first.where(np.arange(len(first)) % 4 != 0, first + pd.Timedelta(days=100))
    patients = pd.DataFrame({"patient_id": first.index.to_numpy(), "onset_date": onset.to_numpy()})
    with pytest.warns(InputWarning) as rec:
        expected = derive_frames(t["edss"], t["relapses"], definition="msprog_default",
                                 patients=patients)
    lazy = derive_dask(dd.from_pandas(t["edss"], npartitions=3), t["relapses"],
                       definition="msprog_default", patients=patients)
    with warnings.catch_warnings(record=True) as got_rec:
        warnings.simplefilter("always")
        got = lazy.compute(scheduler="sync")
    _same(got, expected)
    assert len(got_rec) == 1 and isinstance(got_rec[0].message, InputWarning)
    want = rec[0].message.report  # type: ignore[union-attr]
    report = got_rec[0].message.report
    assert report.issues == want.issues and len(want.warnings) >= 5
    assert report.rows == want.rows


def test_empty_partitions() -> None:
    v, r = random_visits(3, (2, 6), seed=1)
    expected = derive_frames(v, r, definition="msprog_default")
    # more partitions of patients than patients, and an empty input partition
    ddf = dd.concat([dd.from_pandas(v, npartitions=1), dd.from_pandas(v.iloc[:0],
                                                                        npartitions=1)])
    lazy = derive_dask(ddf, r, definition="msprog_default",
                       partitioning=Partitioning(npartitions=8))
    _same(lazy.compute(scheduler="sync"), expected)
    _same(derive_dask(ddf, r, definition="msprog_default",
                      partitioning=Partitioning(by_patient=True))
          .compute(scheduler="sync"), expected)
    with pytest.raises(DataValidationError) as exc:
        derive_dask(dd.from_pandas(v.iloc[:0], npartitions=1), r,
                    definition="msprog_default").compute(scheduler="sync")
    assert [i.rule for i in exc.value.report.errors] == ["edss-empty"]


def test_dask_requires_a_dask_frame() -> None:
    v, r = random_visits(3, 3)
    with pytest.raises(ConfigurationError):
        derive_dask(v, r)
    with pytest.raises(ConfigurationError, match="lacks column"):
        derive_dask(dd.from_pandas(v.drop(columns="edss"), npartitions=1), r)
    with pytest.raises(ConfigurationError, match="no origin"):
        derive_dask(dd.from_pandas(v, npartitions=1), r, definition="halt_ms")
    with pytest.raises(ConfigurationError, match="npartitions=0"):
        derive_dask(dd.from_pandas(v, npartitions=1), r, definition="msprog_default",
                    partitioning=Partitioning(npartitions=0))
    with pytest.raises(ConfigurationError, match=r"kept with Partitioning\(by_patient=True\)"):
        derive_dask(dd.from_pandas(v, npartitions=1), r, definition="msprog_default",
                    partitioning=Partitioning(by_patient=True, npartitions=2))
    with pytest.raises(ConfigurationError, match="pandas DataFrame"):
        derive_dask(dd.from_pandas(v, npartitions=1), dd.from_pandas(r, npartitions=1),
                    definition="msprog_default")


def test_dask_on_a_local_cluster() -> None:
    """The same derivation through a (threaded) distributed LocalCluster."""
    import distributed
    t = _tables(80, seed=5)
    expected = derive_frames(t["edss"], t["relapses"], t["mri"], deaths=t["deaths"],
                             definition="msprog_default")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        ddf = dd.from_pandas(t["edss"], npartitions=3)
        got = derive_dask(ddf, t["relapses"], t["mri"], deaths=t["deaths"],
                          definition="msprog_default").compute()
    _same(got, expected)


def test_partitioning_options() -> None:
    assert Partitioning().to_dict() == {"by_patient": False, "npartitions": None}
    assert Partitioning(by_patient=True, npartitions=np.int64(3)).npartitions == 3
    for bad in [{"npartitions": 0}, {"npartitions": 2.5}, {"npartitions": True},
                {"by_patient": "yes"}]:
        with pytest.raises(ConfigurationError) as exc:
            Partitioning(**bad)  # type: ignore[arg-type]
        assert exc.value.hint
