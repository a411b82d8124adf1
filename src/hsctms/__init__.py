"""hsctms: a toolkit for autologous haematopoietic stem cell transplantation in multiple sclerosis.

The library is organised in layers whose dependencies point one way::

    model -> io / db -> endpoints, survival, evidence, meta, design -> plots, reports -> cli, web

The statistical core (``endpoints``, ``survival``, ``meta``, ``design``) works on plain
pandas/numpy data and never imports the database, CLI or web code.
"""

from __future__ import annotations

from hsctms._version import __version__
from hsctms.errors import HsctmsError
from hsctms.model.cohort import Cohort

__all__ = ["Cohort", "HsctmsError", "__version__"]
