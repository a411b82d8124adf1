"""hsctms: a toolkit for autologous haematopoietic stem cell transplantation in multiple sclerosis.

The library is organised in layers whose dependencies point one way::

    model -> io / db -> endpoints, survival, evidence, meta, design -> plots, reports -> cli, web

The statistical core (``endpoints``, ``survival``, ``meta``, ``design``) works on plain
pandas/numpy data and never imports the database, CLI or web code.

``Cohort`` and ``__version__`` are exported lazily (PEP 562): ``import hsctms`` imports
neither pandas nor :mod:`importlib.metadata`, so the command line starts fast;
``from hsctms import Cohort`` imports it on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hsctms.errors import HsctmsError

__all__ = ["Cohort", "HsctmsError", "__version__"]

if TYPE_CHECKING:  # mypy sees the real names (and no catch-all module __getattr__)
    from hsctms._version import __version__
    from hsctms.model.cohort import Cohort
else:
    def __getattr__(name: str) -> Any:
        """Import a lazily exported name on first access (PEP 562).

        Parameters
        ----------
        name : str
            The attribute asked for: ``"Cohort"`` or ``"__version__"``.

        Returns
        -------
        Any
            :class:`hsctms.model.cohort.Cohort`, or the version string of
            :mod:`hsctms._version`.

        Raises
        ------
        AttributeError
            For any other name.
        """
        if name == "Cohort":
            from hsctms.model.cohort import Cohort

            globals()["Cohort"] = Cohort
            return Cohort
        if name == "__version__":
            from hsctms._version import __version__

            globals()["__version__"] = __version__
            return __version__
        raise AttributeError(f"module 'hsctms' has no attribute {name!r}")
