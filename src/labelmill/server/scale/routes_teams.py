"""``/v1/teams``: the members of the key's organization as Scale teammates
(reference/scale_api.md §2.5, ``list_teammates``).

Roles map labelmill's to Scale's: ``owner`` → ``admin``, ``manager`` → ``manager``,
``viewer`` → ``member``. ``firstName`` / ``lastName`` split the user's name at its first
space (``lastName`` only when there is one); ``company`` is the organization's name.
Membership is managed by labelmill (``labelmill user create --org ... --role ...``), not
through this API: ``teams/invite`` and ``teams/set_role`` answer 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.exceptions import HTTPException

from labelmill.server.models import Organization, User
from labelmill.server.policies import Permission, require
from labelmill.server.scale.routes_projects import org_of
from labelmill.server.scale.transport import DbDep, PrincipalDep
from labelmill.server.services import tenancy

router = APIRouter()

SCALE_ROLE: dict[str, str] = {"owner": "admin", "manager": "manager", "viewer": "member"}


def teammate(user: User, role: str, company: str) -> dict[str, Any]:
    first, _, last = user.name.strip().partition(" ")
    body: dict[str, Any] = {
        "email": user.email,
        "role": SCALE_ROLE.get(role, role),
        "firstName": first,
        "company": company,
    }
    if last.strip():
        body["lastName"] = last.strip()
    return body


@router.get("/teams")
def list_teammates(principal: PrincipalDep, db: DbDep) -> list[dict[str, Any]]:
    org_id = org_of(principal)
    require(principal, Permission.READ)
    with db.read_session() as session:
        company = session.get(Organization, org_id)
        name = company.name if company is not None else ""
        members = tenancy.list_members(session=session, org_id=org_id)
        return [teammate(user, role, name) for user, role in members]


@router.post("/teams/invite")
@router.post("/teams/set_role")
def manage_teammates() -> None:
    raise HTTPException(
        404,
        "inviting teammates and changing their roles is not supported here: labelmill "
        "manages members itself (labelmill user create --org ... --role ...)",
    )
