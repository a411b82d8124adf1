"""Clinical scales: the Kurtzke Expanded Disability Status Scale (EDSS) and CTCAE grades.

Kurtzke (Neurology 1983;33:1444-52): the valid EDSS values are 0, then 1.0 to 9.5 in steps of
0.5, and 10 (death due to MS). **0.5 is not a valid value.**
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: The 20 valid EDSS values, ascending.
EDSS_VALUES: tuple[float, ...] = (0.0, *(1.0 + 0.5 * i for i in range(18)), 10.0)

_EDSS_ARRAY = np.asarray(EDSS_VALUES)

#: Absolute tolerance when matching a float to the grid (absorbs binary representation error).
EDSS_TOLERANCE = 1e-6

#: CTCAE v5 grades (1 mild ... 5 death related to the adverse event).
CTCAE_GRADES: tuple[int, ...] = (1, 2, 3, 4, 5)

#: Functional systems of the EDSS with their maximum score.
EDSS_FUNCTIONAL_SYSTEMS: dict[str, int] = {
    "fs_pyramidal": 6,
    "fs_cerebellar": 5,
    "fs_brainstem": 5,
    "fs_sensory": 6,
    "fs_bowel_bladder": 6,
    "fs_visual": 6,
    "fs_cerebral": 5,
    "fs_other": 1,
}


def is_valid_edss(values: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Vectorised check that values lie on the EDSS grid.

    Parameters
    ----------
    values
        Scores (any array-like of numbers; NaN is reported as invalid).

    Returns
    -------
    numpy.ndarray of bool
        True where the value is one of :data:`EDSS_VALUES`.

    Examples
    --------
    >>> is_valid_edss([0, 0.5, 1.0, 6.5, 10, 10.5]).tolist()
    [True, False, True, True, True, False]
    """
    arr = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        doubled = arr * 2.0
        frac = np.abs(doubled - np.round(doubled))
    on_half_grid = np.isfinite(arr) & (frac < 2 * EDSS_TOLERANCE)
    tol = EDSS_TOLERANCE
    in_range = (
        (np.abs(arr) < tol)
        | ((arr >= 1.0 - tol) & (arr <= 9.5 + tol))
        | (np.abs(arr - 10.0) < tol)
    )
    return np.asarray(on_half_grid & in_range, dtype=bool)


def edss_band(values: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """Coarse EDSS bands used for strata: ``"0-3.5"``, ``"4.0-5.5"``, ``"6.0+"``."""
    arr = np.asarray(values, dtype=float)
    out = np.full(arr.shape, None, dtype=object)
    out[arr < 4.0] = "0-3.5"
    out[(arr >= 4.0) & (arr < 6.0)] = "4.0-5.5"
    out[arr >= 6.0] = "6.0+"
    return out
