"""The hsctms exception tree.

Every error raised on purpose by hsctms derives from :class:`HsctmsError`. Messages say what is
wrong *and how to fix it*; the optional ``hint`` is printed by the CLI and the web app.

::

    HsctmsError
    ├── ConfigurationError      bad settings, unknown preset, missing optional dependency
    │   └── RegistryNotFoundError   no registry at the given --db path/URL (nothing created)
    ├── DataValidationError     input data break validation rules (carries a report)
    ├── ImportConflictError     an import would overwrite different stored data
    ├── DefinitionError         an endpoint / analysis definition is inconsistent
    ├── EstimationError         a statistical computation cannot be carried out on these data
    │   └── ConvergenceError    an iterative fit did not converge
    ├── EvidenceError           the evidence base is inconsistent (numbers do not add up)
    ├── DesignError             impossible trial-design inputs (e.g. power <= alpha)
    ├── ProfileError            a patient profile is missing or has impossible values
    ├── PermissionDeniedError   the user's role or centre does not allow the action
    ├── NotFoundError           a record does not exist (or is outside the user's centre)
    ├── StaleRecordError        optimistic-locking conflict: the record changed meanwhile
    ├── RegistryBusyError       the database stayed locked by other writers (retry shortly)
    ├── StorageFullError        the database could not grow (disk or size limit full)
    └── DisclosureError         an export would single out patients (groups smaller than k)
"""

from __future__ import annotations

from typing import Any


class HsctmsError(Exception):
    """Base class of all hsctms errors.

    Parameters
    ----------
    message
        What went wrong, in one sentence.
    hint
        How to fix it (optional, shown to users after the message).
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nHint: {self.hint}"
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """Canonical error shape used by the CLI (``--json``) and the web API.

        Returns
        -------
        dict of str to Any
            ``error`` (the exception class name, e.g. ``"ProfileError"``), ``message`` and
            ``hint`` (None when there is none); subclasses add their own keys.
        """
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class ConfigurationError(HsctmsError):
    """Bad settings, an unknown preset name, or a missing optional dependency."""


class RegistryNotFoundError(ConfigurationError):
    """There is no hsctms registry at the given path or URL (a missing SQLite file, or a
    database without the hsctms schema). Nothing was created."""


class DataValidationError(HsctmsError):
    """Input data break one or more validation rules.

    The full :class:`hsctms.io.validate.ValidationReport` is attached as ``report``.

    Parameters
    ----------
    message
        What went wrong, in one sentence (usually the number of errors and what was not
        done).
    report
        The validation report listing every issue (kept as ``.report``), or None.
    hint
        How to fix it (optional, shown to users after the message).
    """

    def __init__(self, message: str, *, report: Any = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.report = report

    def to_dict(self) -> dict[str, Any]:
        """Canonical error shape of :meth:`HsctmsError.to_dict` plus the validation report.

        Returns
        -------
        dict of str to Any
            ``error``, ``message``, ``hint`` and, when a report is attached, ``report`` (its
            own ``to_dict()``: counts and every issue with file, row, field and rule).
        """
        out = super().to_dict()
        if self.report is not None and hasattr(self.report, "to_dict"):
            out["report"] = self.report.to_dict()
        return out


class ImportConflictError(HsctmsError):
    """An import would change data already stored under the same natural key."""


class DefinitionError(HsctmsError):
    """An endpoint or analysis definition is inconsistent or unknown."""


class EstimationError(HsctmsError):
    """A statistical estimate cannot be computed on the given data."""


class ConvergenceError(EstimationError):
    """An iterative fit did not converge."""


class EvidenceError(HsctmsError):
    """The evidence base (or a user-supplied study table) is inconsistent."""


class DesignError(HsctmsError):
    """Trial-design inputs are impossible or contradictory."""


class ProfileError(HsctmsError):
    """A patient profile for the expectation report is missing values or has impossible ones."""


class PermissionDeniedError(HsctmsError):
    """The current user's role or centre does not allow this action."""


class NotFoundError(HsctmsError):
    """The requested record does not exist (or is not visible to the current user)."""


class StaleRecordError(HsctmsError):
    """The record was changed by someone else since it was read (optimistic locking)."""


class RegistryBusyError(HsctmsError):
    """The registry database stayed locked by other writers (an import, another user's save)
    for longer than the busy timeout; nothing was written and the change can be retried."""


class StorageFullError(HsctmsError):
    """The database could not grow (the disk, a quota or the database's size limit is full);
    the transaction was rolled back, so nothing was written."""


class DisclosureError(HsctmsError):
    """A de-identified export or aggregate would single out patients (a group below k)."""


class HsctmsWarning(UserWarning):
    """Base class of hsctms warnings."""


class SyntheticDataWarning(HsctmsWarning):
    """Results were computed on synthetic (demo) data."""
