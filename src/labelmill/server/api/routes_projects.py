"""Projects, their versions and staffing; batches."""

from __future__ import annotations

from fastapi import APIRouter, Response

from labelmill.schemas import (
    BatchCounts,
    BatchCreate,
    BatchRead,
    Page,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    ProjectVersionRead,
    StaffingAdd,
    StaffingRead,
)
from labelmill.server.api.deps import DbDep, PrincipalDep
from labelmill.server.api.paging import CursorDep, page
from labelmill.server.policies import Permission, require
from labelmill.server.services import batches, projects, workforce

router = APIRouter(prefix="/api", tags=["projects"])


@router.post("/projects", status_code=201)
def create_project(body: ProjectCreate, principal: PrincipalDep, db: DbDep) -> ProjectRead:
    require(principal, Permission.MANAGE)
    assert principal.org_id is not None
    with db.write_session() as session:
        project = projects.create_project(
            session=session,
            org_id=principal.org_id,
            spec=body,
            default_lease_seconds=db.settings.default_lease_seconds,
            actor=principal,
        )
        return ProjectRead.model_validate(project)


@router.get("/projects")
def list_projects(principal: PrincipalDep, db: DbDep, cursor: CursorDep) -> Page[ProjectRead]:
    require(principal, Permission.READ)
    assert principal.org_id is not None
    with db.read_session() as session:
        rows, next_cursor = projects.list_projects(
            session=session, org_id=principal.org_id, cursor=cursor
        )
        return page(ProjectRead, rows, next_cursor)


@router.get("/projects/{project_id}")
def get_project(project_id: int, principal: PrincipalDep, db: DbDep) -> ProjectRead:
    with db.read_session() as session:
        project = projects.get_project(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        require(principal, Permission.READ)
        return ProjectRead.model_validate(project)


@router.patch("/projects/{project_id}")
def update_project(
    project_id: int, body: ProjectUpdate, principal: PrincipalDep, db: DbDep
) -> ProjectRead:
    with db.write_session() as session:
        project = projects.get_project_for_update(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        require(principal, Permission.MANAGE)
        project = projects.update_project(
            session=session, project=project, spec=body, actor=principal
        )
        return ProjectRead.model_validate(project)


@router.get("/projects/{project_id}/versions")
def list_versions(
    project_id: int, principal: PrincipalDep, db: DbDep, cursor: CursorDep
) -> Page[ProjectVersionRead]:
    with db.read_session() as session:
        project = projects.get_project(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        require(principal, Permission.READ)
        rows, next_cursor = projects.list_versions(session=session, project=project, cursor=cursor)
        return page(ProjectVersionRead, rows, next_cursor)


@router.post("/projects/{project_id}/staffing", status_code=201)
def add_staffing(
    project_id: int, body: StaffingAdd, principal: PrincipalDep, db: DbDep
) -> StaffingRead:
    with db.write_session() as session:
        project = projects.get_project(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        pool = workforce.get_visible_pool(
            session=session, org_id=principal.org_id, pool_id=body.pool_id
        )
        require(principal, Permission.MANAGE)
        staffing = workforce.add_staffing(
            session=session, project=project, pool=pool, actor=principal
        )
        return StaffingRead.model_validate(staffing)


@router.delete("/projects/{project_id}/staffing/{pool_id}", status_code=204)
def remove_staffing(project_id: int, pool_id: int, principal: PrincipalDep, db: DbDep) -> Response:
    with db.write_session() as session:
        project = projects.get_project(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        require(principal, Permission.MANAGE)
        workforce.remove_staffing(
            session=session, project=project, pool_id=pool_id, actor=principal
        )
    return Response(status_code=204)


@router.post("/projects/{project_id}/batches", status_code=201, tags=["batches"])
def create_batch(
    project_id: int, body: BatchCreate, principal: PrincipalDep, db: DbDep
) -> BatchRead:
    with db.write_session() as session:
        project = projects.get_project(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        require(principal, Permission.MANAGE)
        batch = batches.create_batch(session=session, project=project, spec=body, actor=principal)
        return BatchRead.model_validate(batch)


@router.get("/projects/{project_id}/batches", tags=["batches"])
def list_batches(
    project_id: int, principal: PrincipalDep, db: DbDep, cursor: CursorDep
) -> Page[BatchRead]:
    with db.read_session() as session:
        project = projects.get_project(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        require(principal, Permission.READ)
        rows, next_cursor = batches.list_batches(session=session, project=project, cursor=cursor)
        return page(BatchRead, rows, next_cursor)


@router.get("/batches/{batch_id}", tags=["batches"])
def get_batch(batch_id: int, principal: PrincipalDep, db: DbDep) -> BatchRead:
    with db.read_session() as session:
        batch = batches.get_batch(session=session, org_id=principal.org_id, batch_id=batch_id)
        require(principal, Permission.READ)
        return BatchRead.model_validate(batch)


@router.post("/batches/{batch_id}/start", tags=["batches"])
def start_batch(batch_id: int, principal: PrincipalDep, db: DbDep) -> BatchRead:
    with db.write_session() as session:
        batch = batches.get_batch(session=session, org_id=principal.org_id, batch_id=batch_id)
        require(principal, Permission.MANAGE)
        batch = batches.start_batch(session=session, batch=batch, actor=principal)
        return BatchRead.model_validate(batch)


@router.get("/batches/{batch_id}/counts", tags=["batches"])
def batch_counts(batch_id: int, principal: PrincipalDep, db: DbDep) -> BatchCounts:
    with db.read_session() as session:
        batch = batches.get_batch(session=session, org_id=principal.org_id, batch_id=batch_id)
        require(principal, Permission.READ)
        return BatchCounts.model_validate(batches.counts(session=session, batch=batch))
