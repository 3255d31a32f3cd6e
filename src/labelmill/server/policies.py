"""Who may do what, in one place.

Objects of an organization are loaded through services that filter by the caller's
organization, so a foreign id is already a ``NotFound`` (404) before any policy runs. The
policies here decide what a caller who *can* see an object may do with it (403 otherwise).
"""

from __future__ import annotations

from enum import Enum

from labelmill.server.errors import Forbidden
from labelmill.server.services.auth import Principal


class Permission(Enum):
    READ = "read"  # see the organization's projects, tasks, results
    MANAGE = "manage"  # create and change projects, batches, tasks, pools, workers
    ADMIN = "admin"  # the organization's keys and members


_ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "owner": frozenset(Permission),
    "manager": frozenset({Permission.READ, Permission.MANAGE}),
    "viewer": frozenset({Permission.READ}),
}


def org_permissions(principal: Principal) -> frozenset[Permission]:
    if principal.org_id is None or principal.role is None:
        return frozenset()
    return _ROLE_PERMISSIONS.get(principal.role, frozenset())


def require(principal: Principal, permission: Permission) -> None:
    """Raise ``Forbidden`` unless the caller holds ``permission`` in their organization."""
    if permission not in org_permissions(principal):
        if principal.org_id is None:
            raise Forbidden("this key belongs to a worker, not to an organization")
        raise Forbidden(f"role {principal.role!r} may not {permission.value} here")


NOT_A_PERSON = "only a person's key can take and submit tasks"


def require_worker(principal: Principal) -> int:
    """The caller's user id; only a key that belongs to a person can work on tasks."""
    if principal.user_id is None:
        raise Forbidden(NOT_A_PERSON)
    return principal.user_id
