"""Builds test data through the services (never raw SQL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labelmill.schemas import BatchCreate, ProjectCreate, TaskCreate
from labelmill.server.db.engine import Database
from labelmill.server.services import batches, projects, tasks, tenancy, workforce
from labelmill.server.services.auth import CLI_ADMIN

CATEGORIES = ["cat", "dog", "bird"]


@dataclass
class OrgHandle:
    id: int
    name: str
    key: str
    pool_id: int


@dataclass
class WorkerHandle:
    user_id: int
    key: str


@dataclass
class ProjectHandle:
    id: int
    org: OrgHandle
    batch_id: int
    task_ids: list[int] = field(default_factory=list)


class Factory:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def org(self, name: str | None = None, role: str = "owner") -> OrgHandle:
        name = name or f"org-{self._next()}"
        with self.db.write_session() as session:
            org = tenancy.create_org(session=session, name=name, actor=CLI_ADMIN)
            minted = tenancy.create_key(
                session=session,
                request=tenancy.KeyRequest(org=org, user=None, role=role, is_test=False, name=""),
                actor=CLI_ADMIN,
            )
            pool = workforce.create_pool(
                session=session, org_id=org.id, name="in-house", actor=CLI_ADMIN
            )
            return OrgHandle(id=org.id, name=name, key=minted.secret, pool_id=pool.id)

    def key(self, org: OrgHandle, role: str, *, test: bool = False) -> str:
        """A new key of ``org``; ``test``: a test-mode key (its tasks complete at once)."""
        with self.db.write_session() as session:
            org_row = tenancy.get_org_by_name(session=session, name=org.name)
            minted = tenancy.create_key(
                session=session,
                request=tenancy.KeyRequest(
                    org=org_row, user=None, role=role, is_test=test, name=""
                ),
                actor=CLI_ADMIN,
            )
            return minted.secret

    def pool(self, org: OrgHandle, name: str | None = None) -> int:
        """Another pool of ``org`` (staffing nothing until told)."""
        with self.db.write_session() as session:
            pool = workforce.create_pool(
                session=session, org_id=org.id, name=name or f"pool-{self._next()}", actor=CLI_ADMIN
            )
            return pool.id

    def reviewer(self, org: OrgHandle) -> WorkerHandle:
        """A worker who reviews (and may annotate) in the org's default pool."""
        return self.worker(org, reviewer=True)

    def worker(
        self, org: OrgHandle, pool_id: int | None = None, *, reviewer: bool = False
    ) -> WorkerHandle:
        with self.db.write_session() as session:
            pool = workforce.get_own_pool(
                session=session, org_id=org.id, pool_id=pool_id or org.pool_id
            )
            created = workforce.create_worker(
                session=session,
                org_id=org.id,
                name=f"worker-{self._next()}",
                email=None,
                pool=pool,
                reviewer=reviewer,
                actor=CLI_ADMIN,
            )
            return WorkerHandle(user_id=created.user.id, key=created.api_key)

    def project(
        self,
        org: OrgHandle,
        *,
        n_tasks: int = 0,
        min_labels: int = 1,
        max_labels: int | None = None,
        gold_rate: float = 0.0,
        lease_seconds: int = 300,
        start: bool = True,
        gold: dict[int, str] | None = None,
        task_overrides: list[dict[str, Any]] | None = None,
        confidence_target: float = 0.95,
        skill_threshold: float = 0.0,
        min_gold_answers: int = 5,
        review_rate: float = 0.0,
        review_below: float = 0.0,
    ) -> ProjectHandle:
        with self.db.write_session() as session:
            project = projects.create_project(
                session=session,
                org_id=org.id,
                spec=ProjectCreate(
                    name=f"project-{self._next()}",
                    task_type="categorization",
                    params={"instruction": "What animal is this?", "categories": CATEGORIES},
                    min_labels=min_labels,
                    max_labels=max_labels,
                    gold_rate=gold_rate,
                    lease_seconds=lease_seconds,
                    confidence_target=confidence_target,
                    skill_threshold=skill_threshold,
                    min_gold_answers=min_gold_answers,
                    review_rate=review_rate,
                    review_below=review_below,
                ),
                default_lease_seconds=300,
                actor=CLI_ADMIN,
            )
            pool = workforce.get_own_pool(session=session, org_id=org.id, pool_id=org.pool_id)
            workforce.add_staffing(session=session, project=project, pool=pool, actor=CLI_ADMIN)
            batch = batches.create_batch(
                session=session,
                project=project,
                spec=BatchCreate(name="b1", start=start),
                actor=CLI_ADMIN,
            )
            specs = [
                TaskCreate(
                    params={"attachment": f"item {i}"},
                    unique_id=f"{project.id}-{i}",
                    gold_answer={"category": gold[i]} if gold and i in gold else None,
                    **(task_overrides[i] if task_overrides else {}),
                )
                for i in range(n_tasks)
            ]
            handle = ProjectHandle(id=project.id, org=org, batch_id=batch.id)
            if specs:
                result = tasks.create_tasks(
                    session=session,
                    project=project,
                    specs=specs,
                    batch_id=batch.id,
                    max_tasks=100_000,
                    actor=CLI_ADMIN,
                )
                handle.task_ids = result.task_ids
            return handle


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
