"""Controlled vocabularies of hand-typed code columns (``ColumnSpec.vocabulary``).

A registry column such as ``dmt.drug`` or ``labs.test`` is typed by hand, so it can hold a
misspelling, a name or a spreadsheet formula. The vocabulary says which values are codes:

* ``dmt``: the generic names of the DMT catalogue (``hsctms/model/dmts.yaml``, which also
  gives brand names and the efficacy class used by the eligibility rules);
* ``lab_test``: the documented laboratory test codes (:data:`hsctms.model.schema.LAB_TESTS`);
* ``lab_unit``: the usual unit of the row's test (a unit is a code only together with its
  test, see :func:`in_vocabulary`).

The catalogue is packaged data, read once.

>>> in_vocabulary("dmt", ["natalizumab", "natalizumb", None]).tolist()
[True, False, True]
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd

from hsctms._files import safe_load_yaml
from hsctms.errors import DefinitionError
from hsctms.model.schema import LAB_TESTS

#: Vocabulary name -> what it holds (for messages and the de-identification manifest).
VOCABULARIES: dict[str, str] = {
    "dmt": "generic names of the DMT catalogue (hsctms/model/dmts.yaml)",
    "lab_test": "documented laboratory test codes (" + ", ".join(LAB_TESTS) + ")",
    "lab_unit": "the usual unit of the row's laboratory test",
}


@lru_cache(maxsize=1)
def dmt_catalogue() -> dict[str, dict[str, Any]]:
    """Known DMTs by every lower-case name and alias -> ``{name, high_efficacy, cytotoxic}``."""
    text = files("hsctms.model").joinpath("dmts.yaml").read_text(encoding="utf-8")
    out: dict[str, dict[str, Any]] = {}
    for entry in safe_load_yaml(text):
        record = {
            "name": entry["name"],
            "high_efficacy": bool(entry["high_efficacy"]),
            "cytotoxic": bool(entry.get("cytotoxic", False)),
        }
        for key in (entry["name"], *entry.get("aliases", [])):
            out[str(key).lower().strip()] = record
    return out


@lru_cache(maxsize=1)
def dmt_names() -> frozenset[str]:
    """The generic names of the DMT catalogue (the ``dmt`` vocabulary)."""
    return frozenset(str(r["name"]) for r in dmt_catalogue().values())


def in_vocabulary(name: str, values: Any, *, tests: Any = None) -> np.ndarray:
    """Which ``values`` are codes of vocabulary ``name`` (a missing value counts as a code).

    Parameters
    ----------
    name
        A key of :data:`VOCABULARIES`.
    values
        The column's values (any sequence).
    tests
        For ``lab_unit`` only: the laboratory test of each row.

    Raises
    ------
    DefinitionError
        For an unknown vocabulary, or ``lab_unit`` without ``tests``.
    """
    series = pd.Series(list(values), dtype="string")
    if name == "dmt":
        known = series.isin(dmt_names())
    elif name == "lab_test":
        known = series.isin(list(LAB_TESTS))
    elif name == "lab_unit":
        if tests is None:
            raise DefinitionError("The lab_unit vocabulary needs the rows' tests.",
                                  hint="Pass tests=<the labs.test column>.")
        usual = pd.Series(list(tests), dtype="string").map(LAB_TESTS).astype("string")
        known = series == usual
    else:
        raise DefinitionError(f"Unknown vocabulary {name!r}.",
                              hint="Use one of: " + ", ".join(VOCABULARIES) + ".")
    return known.fillna(False).to_numpy(dtype=bool) | series.isna().to_numpy()
