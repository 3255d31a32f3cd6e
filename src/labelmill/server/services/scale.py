"""What the Scale-compatible API needs beyond the native services: organization-wide
lookups by name, and batch metadata replacement.

Scale addresses projects and batches by name, and a batch name is unique per customer, not
per project (reference/scale_api.md §4.1); labelmill keys both by id and scopes batch names
to their project. These queries bridge the two, always within one organization.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelmill.schemas import BatchCreate
from labelmill.server.errors import Conflict, InvalidInput, NotFound
from labelmill.server.models import Batch, Project, ProjectVersion
from labelmill.server.services import audit, batches, projects
from labelmill.server.services.auth import Principal


def all_projects(*, session: Session, org_id: int) -> list[Project]:
    """Every project of the organization, oldest first (Scale lists them unpaged)."""
    return list(
        session.scalars(select(Project).where(Project.org_id == org_id).order_by(Project.id))
    )


def versions_of(*, session: Session, project_ids: list[int]) -> dict[int, list[ProjectVersion]]:
    """Every params version of these projects, by project id, in version order."""
    result: dict[int, list[ProjectVersion]] = {pid: [] for pid in project_ids}
    if not project_ids:
        return result
    # A version added in this unit of work (create, setParams) is part of the answer; the
    # sessions do not autoflush.
    session.flush()
    rows = session.scalars(
        select(ProjectVersion)
        .where(ProjectVersion.project_id.in_(project_ids))
        .order_by(ProjectVersion.project_id, ProjectVersion.version)
    )
    for row in rows:
        result[row.project_id].append(row)
    return result


def batch_by_name(*, session: Session, org_id: int, name: str) -> tuple[Batch, Project]:
    """The organization's batch of this name, and its project.

    Batches made through the native API may share a name across projects; Scale's API
    cannot tell those apart, so it refuses to guess (400) rather than pick one.
    """
    rows = session.execute(
        select(Batch, Project)
        .join(Project, Project.id == Batch.project_id)
        .where(Batch.org_id == org_id, Batch.name == name)
        .limit(2)
    ).all()
    if not rows:
        raise NotFound("Batch", name)
    if len(rows) > 1:
        raise InvalidInput(
            f"batch name {name!r} is used in more than one project; "
            "address it through the native API (/api/batches/{id})"
        )
    batch, project = rows[0]
    return batch, project


def batch_name_taken(*, session: Session, org_id: int, name: str) -> bool:
    return bool(
        session.scalar(select(Batch.id).where(Batch.org_id == org_id, Batch.name == name).limit(1))
    )


def create_batch(
    *,
    session: Session,
    org_id: int,
    project_name: str,
    spec: BatchCreate,
    actor: Principal | None,
) -> tuple[Batch, Project]:
    """A new batch of the organization's project ``project_name``, its name unique in the
    organization (Scale's scope, wider than labelmill's per-project one)."""
    try:
        project = projects.get_project_by_name(session=session, org_id=org_id, name=project_name)
    except NotFound as exc:
        # Scale answers an unknown project in the body with 400, not 404 (§5.2 row 5); a
        # foreign project reads the same as a missing one.
        raise InvalidInput(f"project {project_name!r} not found") from exc
    if batch_name_taken(session=session, org_id=org_id, name=spec.name):
        raise Conflict(f"a batch named {spec.name!r} already exists")
    batch = batches.create_batch(session=session, project=project, spec=spec, actor=actor)
    return batch, project


def finalize_batch(*, session: Session, batch: Batch, actor: Principal | None) -> Batch:
    """Scale's finalize: staging → in progress; any other batch is left as it is (Scale
    answers 200 and changes nothing)."""
    if batch.status == "staging":
        return batches.start_batch(session=session, batch=batch, actor=actor)
    return batch


def list_batches(
    *,
    session: Session,
    org_id: int,
    project_id: int | None,
    statuses: list[str],
    created_after: datetime | None,
    created_before: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[Batch, str]], int]:
    """One page of the organization's batches, newest first, with their project names, and
    the total that match."""
    conditions = [Batch.org_id == org_id]
    if project_id is not None:
        conditions.append(Batch.project_id == project_id)
    if statuses:
        conditions.append(Batch.status.in_(statuses))
    if created_after is not None:
        conditions.append(Batch.created_at >= created_after)
    if created_before is not None:
        conditions.append(Batch.created_at <= created_before)
    total = int(session.scalar(select(func.count()).select_from(Batch).where(*conditions)) or 0)
    rows = session.execute(
        select(Batch, Project.name)
        .join(Project, Project.id == Batch.project_id)
        .where(*conditions)
        # id breaks ties between batches created in the same clock tick.
        .order_by(Batch.created_at.desc(), Batch.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [(batch, project_name) for batch, project_name in rows], total


def set_batch_metadata(
    *, session: Session, batch: Batch, metadata: dict[str, Any], actor: Principal | None
) -> Batch:
    """Replace the batch's metadata whole (Scale's ``setMetadata`` does not merge)."""
    batch.meta = metadata
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        org_id=batch.org_id,
        action="batch.set_metadata",
        object_type="batch",
        object_id=batch.id,
    )
    return batch
