"""``/v1/projects``: Scale projects are labelmill projects of the caller's organization,
named alike (reference/scale_api.md §2.3, §4.2, §5.2 rows 1-4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError
from sqlalchemy.orm import Session

from labelmill.schemas.projects import ProjectCreate, ProjectUpdate
from labelmill.server.errors import InvalidInput, NotFound
from labelmill.server.models import Project
from labelmill.server.policies import Permission, require
from labelmill.server.scale import serialize
from labelmill.server.scale.transport import (
    BodyDep,
    DbDep,
    PrincipalDep,
    body_bool,
    body_str,
    path_name,
)
from labelmill.server.services import projects
from labelmill.server.services import scale as scale_service
from labelmill.server.services.auth import Principal

router = APIRouter()

# Scale's spelling of a param where labelmill's differs, per labelmill task type.
_RENAMED: dict[str, dict[str, str]] = {"categorization": {"allow_multiple": "multiple"}}


def org_of(principal: Principal) -> int:
    if principal.org_id is None:  # a platform admin has no organization to speak for
        raise NotFound("Organization", "of this key")
    return principal.org_id


def native_params(task_type: str, params: object) -> dict[str, Any]:
    """Scale project params as labelmill params of ``task_type``: the same keys, with the
    few Scale spells differently renamed. Anything else is checked by the task type."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise InvalidInput("params must be an object")
    renamed = _RENAMED.get(task_type, {})
    return {(renamed[key] if key in renamed else key): value for key, value in params.items()}


def rendered(session: Session, project: Project) -> dict[str, Any]:
    versions = scale_service.versions_of(session=session, project_ids=[project.id])
    return serialize.project(project, versions[project.id])


@router.post("/projects")
def create_project(body: BodyDep, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    # rapid, studio and datasetId (Scale Rapid/Studio/Nucleus switches) have no labelmill
    # counterpart and are ignored.
    require(principal, Permission.MANAGE)
    org_id = org_of(principal)
    scale_type = body_str(body, "type", required=True)
    name = body_str(body, "name", required=True)
    assert scale_type is not None and name is not None
    task_type = serialize.SCALE_TO_NATIVE.get(scale_type)
    if task_type is None:
        known = ", ".join(serialize.SCALE_TO_NATIVE)
        raise InvalidInput(f"unsupported project type {scale_type!r}; supported: {known}")
    try:
        spec = ProjectCreate(
            name=name, task_type=task_type, params=native_params(task_type, body.get("params"))
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}") from None
    with db.write_session() as session:
        project = projects.create_project(
            session=session,
            org_id=org_id,
            spec=spec,
            default_lease_seconds=db.settings.default_lease_seconds,
            actor=principal,
        )
        return rendered(session, project)


@router.get("/projects")
def list_projects(principal: PrincipalDep, db: DbDep) -> list[dict[str, Any]]:
    require(principal, Permission.READ)
    org_id = org_of(principal)
    with db.read_session() as session:
        rows = scale_service.all_projects(session=session, org_id=org_id)
        versions = scale_service.versions_of(session=session, project_ids=[p.id for p in rows])
        return [serialize.project(row, versions[row.id]) for row in rows]


@router.get("/projects/{name}")
def get_project(name: str, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    org_id = org_of(principal)
    with db.read_session() as session:
        project = projects.get_project_by_name(session=session, org_id=org_id, name=path_name(name))
        require(principal, Permission.READ)
        return rendered(session, project)


@router.post("/projects/{name}/setParams")
def set_params(name: str, body: BodyDep, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    org_id = org_of(principal)
    with db.write_session() as session:
        found = projects.get_project_by_name(session=session, org_id=org_id, name=path_name(name))
        require(principal, Permission.MANAGE)
        # Locked: two concurrent setParams would otherwise both write the next version.
        project = projects.get_project_for_update(
            session=session, org_id=org_id, project_id=found.id
        )
        patch = body_bool(body, "patch", False)
        given = native_params(project.task_type, {k: v for k, v in body.items() if k != "patch"})
        # patch: merge into the latest params; otherwise the body is the new params whole.
        params = {**project.params, **given} if patch else given
        project = projects.update_project(
            session=session, project=project, spec=ProjectUpdate(params=params), actor=principal
        )
        return rendered(session, project)
