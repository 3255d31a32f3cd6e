"""Projects and their versioned params."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.orm import Session

from labelmill.schemas.projects import ProjectCreate, ProjectUpdate
from labelmill.server.db.base import utcnow
from labelmill.server.errors import Conflict, ErrorDetail, InvalidInput, NotFound
from labelmill.server.models import Project, ProjectVersion
from labelmill.server.services import audit, overlap_target
from labelmill.server.services.auth import Principal
from labelmill.server.services.pagination import Cursor, page_of
from labelmill.tasktypes import ParamsError, TaskType, get_task_type, task_type_names


def task_type_of(name: str) -> TaskType:
    task_type = get_task_type(name)
    if task_type is None:
        raise InvalidInput(
            f"unknown task_type {name!r}; known: {', '.join(task_type_names())}",
            details=[ErrorDetail(("task_type",), "unknown task type")],
        )
    return task_type


def _validated_params(task_type: TaskType, raw: dict[str, Any]) -> dict[str, Any]:
    try:
        return task_type.validate_project_params(raw)
    except ParamsError as exc:
        raise InvalidInput(
            f"invalid params for {task_type.name}: {exc}",
            details=[ErrorDetail(("params", *loc), msg) for loc, msg in exc.problems],
        ) from None


def create_project(
    *,
    session: Session,
    org_id: int,
    spec: ProjectCreate,
    default_lease_seconds: int,
    actor: Principal | None,
) -> Project:
    task_type = task_type_of(spec.task_type)
    params = _validated_params(task_type, spec.params)
    if session.scalar(
        select(Project.id).where(Project.org_id == org_id, Project.name == spec.name)
    ):
        raise Conflict(f"project {spec.name!r} already exists")
    project = Project(
        org_id=org_id,
        name=spec.name,
        task_type=task_type.name,
        params=params,
        params_version=1,
        min_labels=spec.min_labels,
        max_labels=spec.max_labels or spec.min_labels,
        gold_rate=spec.gold_rate,
        lease_seconds=spec.lease_seconds or default_lease_seconds,
        confidence_target=spec.confidence_target,
        match_overlap=spec.match_overlap,
        skill_threshold=spec.skill_threshold,
        min_gold_answers=spec.min_gold_answers,
        review_rate=spec.review_rate,
        review_below=spec.review_below,
    )
    session.add(project)
    session.flush()
    overlap_target.refresh(session=session, project=project)
    session.add(
        ProjectVersion(
            project_id=project.id,
            version=1,
            params=params,
            created_by_user_id=actor.user_id if actor else None,
        )
    )
    audit.record(
        session=session,
        actor=actor,
        org_id=org_id,
        action="project.create",
        object_type="project",
        object_id=project.id,
        data={"name": spec.name},
    )
    return project


def get_project(*, session: Session, org_id: int | None, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None or project.org_id != org_id:
        raise NotFound("Project", project_id)
    return project


def get_project_for_update(*, session: Session, org_id: int | None, project_id: int) -> Project:
    project = session.scalar(select(Project).where(Project.id == project_id).with_for_update())
    if project is None or project.org_id != org_id:
        raise NotFound("Project", project_id)
    return project


def get_project_by_name(*, session: Session, org_id: int, name: str) -> Project:
    project = session.scalar(select(Project).where(Project.org_id == org_id, Project.name == name))
    if project is None:
        raise NotFound("Project", name)
    return project


def list_projects(
    *, session: Session, org_id: int, cursor: Cursor
) -> tuple[list[Project], str | None]:
    return page_of(session, select(Project).where(Project.org_id == org_id), Project.id, cursor)


def update_project(
    *, session: Session, project: Project, spec: ProjectUpdate, actor: Principal | None
) -> Project:
    changes = spec.model_dump(exclude_unset=True)
    if any(value is None for value in changes.values()):
        nulls = [name for name, value in changes.items() if value is None]
        raise InvalidInput(
            "fields may be left out but not set to null",
            details=[ErrorDetail((name,), "must not be null") for name in nulls],
        )
    min_labels = changes.get("min_labels", project.min_labels)
    max_labels = changes.get("max_labels", project.max_labels)
    if max_labels < min_labels:
        raise InvalidInput(
            "max_labels must be >= min_labels",
            details=[ErrorDetail(("max_labels",), "must be >= min_labels")],
        )
    if "name" in changes and changes["name"] != project.name:
        if session.scalar(
            select(Project.id).where(
                Project.org_id == project.org_id, Project.name == changes["name"]
            )
        ):
            raise Conflict(f"project {changes['name']!r} already exists")
    if "params" in changes:
        params = _validated_params(task_type_of(project.task_type), changes.pop("params"))
        if params != project.params:
            project.params_version += 1
            project.params = params
            session.add(
                ProjectVersion(
                    project_id=project.id,
                    version=project.params_version,
                    params=params,
                    created_by_user_id=actor.user_id if actor else None,
                )
            )
    for name, value in changes.items():
        setattr(project, name, value)
    # A hand-set target and a derived one cannot both hold: the derived one wins.
    overlap_target.refresh(session=session, project=project)
    project.updated_at = utcnow()
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        org_id=project.org_id,
        action="project.update",
        object_type="project",
        object_id=project.id,
        data={
            "fields": sorted(spec.model_dump(exclude_unset=True)),
            "params_version": project.params_version,
        },
    )
    return project


def list_versions(
    *, session: Session, project: Project, cursor: Cursor
) -> tuple[list[ProjectVersion], str | None]:
    query = select(ProjectVersion).where(ProjectVersion.project_id == project.id)
    return page_of(session, query, ProjectVersion.id, cursor)


_VERSION_CACHE: dict[tuple[int, int], dict[str, Any]] = {}
_VERSION_PARAMS = select(cast(Table, ProjectVersion.__table__).c.params).where(
    cast(Table, ProjectVersion.__table__).c.project_id == bindparam("project_id"),
    cast(Table, ProjectVersion.__table__).c.version == bindparam("version"),
)


def version_params(conn: Connection, *, project_id: int, version: int) -> dict[str, Any]:
    """The params a task was created under."""
    return cached_version_params(
        project_id,
        version,
        lambda: conn.execute(
            _VERSION_PARAMS, {"project_id": project_id, "version": version}
        ).scalar(),
    )


def forget_cached_versions() -> None:
    """Empty the per-process cache of version params: for a process that moves to another
    database, where the same (project, version) may hold other params (tests do, per test)."""
    _VERSION_CACHE.clear()


def cached_version_params(project_id: int, version: int, load: Callable[[], Any]) -> dict[str, Any]:
    """``load()``'s answer, cached per process: versions never change once written."""
    key = (project_id, version)
    cached = _VERSION_CACHE.get(key)
    if cached is not None:
        return cached
    params = load()
    if params is None:
        raise NotFound("Project version", f"{project_id}/{version}")
    params = dict(params)
    if len(_VERSION_CACHE) > 10_000:
        _VERSION_CACHE.clear()
    _VERSION_CACHE[key] = params
    return params
