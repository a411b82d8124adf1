"""Access model of the web registry (REDCap-style data access groups).

Users belong to one centre, or to the registry as a whole (``centre=None``). Roles:

============== =========================================================================
role           may
============== =========================================================================
data_entry     read and edit the patients of their own centre
centre_lead    as data_entry, plus view the audit trail, export identifiable data of
               their own centre and let an upload update stored records
analyst        registry-wide *aggregate and de-identified* data only (dashboards, exports
               with small counts suppressed); no record-level identifiable access
admin          everything, including user management and every centre's records
============== =========================================================================

The matrix is data (:data:`PERMISSIONS`) so that tests can walk every route for every role.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hsctms.errors import PermissionDeniedError


class Role(StrEnum):
    """User roles, from least to most privileged."""

    DATA_ENTRY = "data_entry"
    CENTRE_LEAD = "centre_lead"
    ANALYST = "analyst"
    ADMIN = "admin"


class Action(StrEnum):
    """Actions checked by the web layer."""

    READ_RECORDS = "read_records"
    EDIT_RECORDS = "edit_records"
    IMPORT_UPDATE = "import_update"  # an upload may overwrite stored values (audited)
    VIEW_AUDIT = "view_audit"
    EXPORT_IDENTIFIABLE = "export_identifiable"
    EXPORT_DEIDENTIFIED = "export_deidentified"
    VIEW_CENTRE_DASHBOARD = "view_centre_dashboard"
    VIEW_REGISTRY_DASHBOARD = "view_registry_dashboard"
    MANAGE_USERS = "manage_users"


#: Which role may do what. Centre scoping is applied on top (see :func:`check`).
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.DATA_ENTRY: frozenset(
        {Action.READ_RECORDS, Action.EDIT_RECORDS, Action.VIEW_CENTRE_DASHBOARD}
    ),
    Role.CENTRE_LEAD: frozenset(
        {
            Action.READ_RECORDS,
            Action.EDIT_RECORDS,
            Action.IMPORT_UPDATE,
            Action.VIEW_AUDIT,
            Action.EXPORT_IDENTIFIABLE,
            Action.EXPORT_DEIDENTIFIED,
            Action.VIEW_CENTRE_DASHBOARD,
        }
    ),
    Role.ANALYST: frozenset(
        {
            Action.EXPORT_DEIDENTIFIED,
            Action.VIEW_CENTRE_DASHBOARD,
            Action.VIEW_REGISTRY_DASHBOARD,
        }
    ),
    Role.ADMIN: frozenset(Action),
}

#: Actions that touch one centre's record-level data and are therefore centre-scoped.
CENTRE_SCOPED: frozenset[Action] = frozenset(
    {
        Action.READ_RECORDS,
        Action.EDIT_RECORDS,
        Action.IMPORT_UPDATE,
        Action.VIEW_AUDIT,
        Action.EXPORT_IDENTIFIABLE,
        Action.VIEW_CENTRE_DASHBOARD,
    }
)


@dataclass(frozen=True)
class Principal:
    """The authenticated user as seen by the access checks."""

    username: str
    role: Role
    centre: str | None  # None = registry-level user

    @property
    def is_admin(self) -> bool:
        """Whether the user is an administrator."""
        return self.role is Role.ADMIN


def allowed(user: Principal, action: Action, centre: str | None = None) -> bool:
    """Whether ``user`` may perform ``action`` (on data of ``centre`` when given).

    Centre-scoped actions on a specific centre are allowed only for that centre's own users,
    registry-level analysts (dashboards only) and administrators.
    """
    if action not in PERMISSIONS[user.role]:
        return False
    if user.is_admin or action not in CENTRE_SCOPED or centre is None:
        return True
    if user.role is Role.ANALYST:
        return action is Action.VIEW_CENTRE_DASHBOARD
    return user.centre == centre


def check(user: Principal, action: Action, centre: str | None = None) -> None:
    """Raise :class:`PermissionDeniedError` unless :func:`allowed`."""
    if not allowed(user, action, centre):
        where = f" for centre {centre!r}" if centre else ""
        raise PermissionDeniedError(
            f"User {user.username!r} ({user.role.value}) may not {action.value}{where}.",
            hint="Ask a registry administrator for the appropriate role or centre.",
        )


def visible_centre(user: Principal) -> str | None:
    """The centre a user's record queries are restricted to (None = all centres)."""
    if user.is_admin or user.centre is None:
        return None
    return user.centre
