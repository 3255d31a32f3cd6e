"""``/v1/batches``: Scale batches are labelmill batches, named uniquely per organization as
Scale requires (reference/scale_api.md §2.2, §4.1, §5.2 rows 5-10)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from labelmill.schemas.projects import BatchCreate
from labelmill.server.errors import InvalidInput
from labelmill.server.models.project import BATCH_STATUSES
from labelmill.server.policies import Permission, require
from labelmill.server.scale import serialize
from labelmill.server.scale.routes_projects import org_of
from labelmill.server.scale.transport import (
    MAX_PAGE,
    BodyDep,
    DbDep,
    PrincipalDep,
    body_str,
    path_name,
    query_bool,
    query_int,
    query_last,
    query_time,
    query_values,
)
from labelmill.server.services import batches, projects
from labelmill.server.services import scale as scale_service

router = APIRouter()


@router.post("/batches")
def create_batch(body: BodyDep, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    require(principal, Permission.MANAGE)
    org_id = org_of(principal)
    project_name = body_str(body, "project", required=True)
    name = body_str(body, "name", required=True)
    callback = body_str(body, "callback", required=False)
    metadata = body.get("metadata") or {}
    assert project_name is not None and name is not None
    if not isinstance(metadata, dict):
        raise InvalidInput("metadata must be an object")
    if len(name) > 200 or (callback is not None and len(callback) > 2000):
        raise InvalidInput("name is limited to 200 characters, callback to 2000")
    # Standard Scale projects start batches in progress (§4.1): work begins as tasks arrive,
    # and finalize is a no-op for them.
    with db.write_session() as session:
        batch, project = scale_service.create_batch(
            session=session,
            org_id=org_id,
            project_name=project_name,
            spec=BatchCreate(name=name, callback_url=callback, metadata=metadata, start=True),
            actor=principal,
        )
        return serialize.batch(batch, project.name)


@router.get("/batches")
def list_batches(request: Request, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    require(principal, Permission.READ)
    org_id = org_of(principal)
    limit = query_int(request, "limit", MAX_PAGE, low=1, high=MAX_PAGE)
    offset = query_int(request, "offset", 0, low=0, high=10**9)
    statuses = query_values(request, "status")
    unknown = sorted(set(statuses) - set(BATCH_STATUSES))
    if unknown:
        raise InvalidInput(f"unknown batch status {unknown[0]!r}; known: {BATCH_STATUSES}")
    start = query_time(request, "start_time")
    end = query_time(request, "end_time")
    # exclude_archived: labelmill has no archived batches, so it filters nothing; still
    # parsed so a malformed value is a 400 like any other.
    query_bool(request, "exclude_archived", False)
    with db.read_session() as session:
        project_id: int | None = None
        project_name = query_last(request, "project")
        if project_name:
            project_id = projects.get_project_by_name(
                session=session, org_id=org_id, name=project_name
            ).id
        rows, total = scale_service.list_batches(
            session=session,
            org_id=org_id,
            project_id=project_id,
            statuses=statuses,
            created_after=start,
            created_before=end,
            limit=limit,
            offset=offset,
        )
        docs = [serialize.batch(batch, name) for batch, name in rows]
    # The SDK reads totalDocs; Scale's own API definition says total: both are sent.
    return {
        "docs": docs,
        "totalDocs": total,
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_more": offset + len(docs) < total,
    }


@router.get("/batches/{name}")
def get_batch(name: str, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    org_id = org_of(principal)
    with db.read_session() as session:
        batch, project = scale_service.batch_by_name(
            session=session, org_id=org_id, name=path_name(name)
        )
        require(principal, Permission.READ)
        return serialize.batch(batch, project.name)


@router.post("/batches/{name}/finalize")
def finalize_batch(name: str, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    org_id = org_of(principal)
    with db.write_session() as session:
        batch, project = scale_service.batch_by_name(
            session=session, org_id=org_id, name=path_name(name)
        )
        require(principal, Permission.MANAGE)
        batch = scale_service.finalize_batch(session=session, batch=batch, actor=principal)
        return serialize.batch(batch, project.name)


@router.get("/batches/{name}/status")
def batch_status(name: str, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    org_id = org_of(principal)
    with db.read_session() as session:
        batch, _project = scale_service.batch_by_name(
            session=session, org_id=org_id, name=path_name(name)
        )
        require(principal, Permission.READ)
        counts = batches.counts(session=session, batch=batch)
        return {"status": batch.status, **counts}


@router.post("/batches/{name}/setMetadata")
def set_batch_metadata(
    name: str, body: BodyDep, principal: PrincipalDep, db: DbDep
) -> dict[str, Any]:
    org_id = org_of(principal)
    with db.write_session() as session:
        batch, project = scale_service.batch_by_name(
            session=session, org_id=org_id, name=path_name(name)
        )
        require(principal, Permission.MANAGE)
        scale_service.set_batch_metadata(
            session=session, batch=batch, metadata=body, actor=principal
        )
        return serialize.batch(batch, project.name)
