"""derive_dask gives the same per-patient rows as derive_frames."""

from __future__ import annotations

import dask.dataframe as dd
import pandas as pd
import pytest

from hsctms.endpoints import derive_dask, derive_frames, get_definition
from hsctms.endpoints.synthetic import random_visits


@pytest.mark.parametrize("name", ["msprog_default", "halt_ms"])
def test_dask_matches_pandas(name: str) -> None:
    v, r = random_visits(120, (1, 12), seed=3)
    d = get_definition(name)
    origin = None
    if d.origin == "transplant":
        first = v.groupby("patient_id")["date"].min()
        origin = pd.DataFrame({"patient_id": first.index,
                               "origin_date": first.to_numpy() + pd.Timedelta(days=200)})
        d = d.with_(baseline_window_days=400)
    expected = derive_frames(v, r, origin=origin, definition=d).to_frame()
    # rows of one patient spread over partitions: derive_dask shuffles them together
    ddf = dd.from_pandas(v.sample(frac=1.0, random_state=1), npartitions=4)
    got = derive_dask(ddf, r, origin=origin, definition=d).compute(scheduler="sync")
    got = got.sort_values("patient_id").reset_index(drop=True)
    assert len(got) == len(expected) > 50
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_dask_requires_a_dask_frame() -> None:
    from hsctms.errors import ConfigurationError

    v, r = random_visits(3, 3)
    with pytest.raises(ConfigurationError):
        derive_dask(v, r)


def test_dask_on_a_local_cluster() -> None:
    """The same derivation through a (threaded) distributed LocalCluster."""
    import distributed
    v, r = random_visits(80, (2, 10), seed=5)
    expected = derive_frames(v, r, definition="msprog_default").to_frame()
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        ddf = dd.from_pandas(v, npartitions=3)
        got = client.compute(derive_dask(ddf, r, definition="msprog_default")).result()
    got = got.sort_values("patient_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
