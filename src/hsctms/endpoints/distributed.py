"""Scale out: derive endpoints on a Dask dataframe of visits partitioned by patient.

Results are independent across patients, so each partition is derived on its own with
:func:`hsctms.endpoints.derive_frames`; the small tables (relapses, MRI, origin, deaths) are
passed whole to every partition and filtered there.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from hsctms.endpoints.definition import get_definition
from hsctms.endpoints.derive import DefinitionLike, _derive
from hsctms.errors import ConfigurationError


def derive_dask(
    edss: Any,
    relapses: pd.DataFrame | None = None,
    mri: pd.DataFrame | None = None,
    origin: Any = None,
    deaths: pd.DataFrame | None = None,
    definition: DefinitionLike = "halt_ms",
    *,
    partitioned_by_patient: bool = False,
) -> Any:
    """Per-patient endpoint table (as :meth:`EndpointResult.to_frame`) as a lazy Dask frame.

    Parameters
    ----------
    edss
        ``dask.dataframe.DataFrame`` of visits (``patient_id``, ``date``, ``edss``).
    relapses, mri, origin, deaths, definition
        As for :func:`~hsctms.endpoints.derive_frames` (pandas objects).
    partitioned_by_patient
        Set when every patient's visits already lie in one partition; otherwise the visits
        are shuffled on ``patient_id`` first.

    Returns
    -------
    dask.dataframe.DataFrame
        One row per included patient; ``.compute()`` gives the same rows as
        ``derive_frames(...).to_frame()`` (in partition order).

    Examples
    --------
    Not run as a doctest (it needs the optional ``dask`` extra and registry frames):

    >>> import dask.dataframe as dd                                   # doctest: +SKIP
    >>> out = derive_dask(dd.from_pandas(visits, npartitions=4), relapses,
    ...                   definition="msprog_default").compute()      # doctest: +SKIP
    """
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover - optional extra
        raise ConfigurationError("Dask is not installed.",
                                 hint="pip install 'hsctms[dask]'") from None
    if not isinstance(edss, dd.DataFrame):
        raise ConfigurationError("derive_dask needs a dask.dataframe.DataFrame of visits.",
                                 hint="Use derive_frames for pandas data.")
    d = get_definition(definition)
    if not partitioned_by_patient and edss.npartitions > 1:
        edss = edss.shuffle(on="patient_id")

    def one(part: pd.DataFrame) -> pd.DataFrame:
        # the same validation as derive_frames; a partition may hold no visits
        return _derive(part, relapses, mri, origin, deaths, d, empty_ok=True).to_frame()

    meta = one(edss._meta)
    return edss.map_partitions(one, meta=meta)
