"""Endpoint engine: confirmed worsening and improvement (with PIRA / RAW), relapses, MRI
activity, NEDA-3/4, event-free survival and death, derived from irregular visit data for whole
cohorts at once.

>>> from hsctms.endpoints import PRESETS, get_definition
>>> sorted(PRESETS)
['halt_ms', 'msbase', 'msprog_default']
"""

from hsctms.endpoints._inputs import InputWarning
from hsctms.endpoints.definition import (
    EFS_COMPONENTS,
    PRESETS,
    EndpointDefinition,
    get_definition,
)
from hsctms.endpoints.derive import (
    ENGINE_TABLES,
    BundleEndpoints,
    derive,
    derive_bundle,
    derive_frames,
)
from hsctms.endpoints.result import ENDPOINTS, EndpointResult
from hsctms.endpoints.trace import PatientTrace, TraceStep, trace_patient, trace_patients

__all__ = [
    "EFS_COMPONENTS",
    "ENDPOINTS",
    "ENGINE_TABLES",
    "PRESETS",
    "BundleEndpoints",
    "DaskEndpointResult",
    "EndpointDefinition",
    "EndpointResult",
    "InputWarning",
    "Partitioning",
    "PatientTrace",
    "TraceStep",
    "derive",
    "derive_bundle",
    "derive_dask",
    "derive_frames",
    "get_definition",
    "trace_patient",
    "trace_patients",
]


def __getattr__(name: str) -> object:
    if name in ("derive_dask", "DaskEndpointResult", "Partitioning"):  # Dask: optional extra
        from hsctms.endpoints import distributed

        return getattr(distributed, name)
    raise AttributeError(name)
