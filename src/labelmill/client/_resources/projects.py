"""``client.projects``: projects, their params versions and their staffing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from labelmill.client._pagination import iterate_pages
from labelmill.client._resources._base import Resource
from labelmill.client._sentinel import UNSET, Unset, given
from labelmill.schemas import (
    JobRead,
    Page,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    ProjectVersionRead,
    QualityReport,
    StaffingAdd,
    StaffingRead,
)
from labelmill.schemas.revisions import AggregateRequest, AnswerRevisionRead


class Projects(Resource):
    def create(
        self,
        name: str,
        task_type: str,
        params: dict[str, Any],
        *,
        min_labels: int | Unset = UNSET,
        max_labels: int | None | Unset = UNSET,
        gold_rate: float | Unset = UNSET,
        lease_seconds: int | None | Unset = UNSET,
        confidence_target: float | Unset = UNSET,
        match_overlap: int | Unset = UNSET,
        skill_threshold: float | Unset = UNSET,
        min_gold_answers: int | Unset = UNSET,
        review_rate: float | Unset = UNSET,
        review_below: float | Unset = UNSET,
    ) -> ProjectRead:
        """Create a project. Settings left out take the server's defaults."""
        body = ProjectCreate.model_validate(
            given(
                name=name,
                task_type=task_type,
                params=params,
                min_labels=min_labels,
                max_labels=max_labels,
                gold_rate=gold_rate,
                lease_seconds=lease_seconds,
                confidence_target=confidence_target,
                match_overlap=match_overlap,
                skill_threshold=skill_threshold,
                min_gold_answers=min_gold_answers,
                review_rate=review_rate,
                review_below=review_below,
            )
        )
        return self._post(
            "/api/projects", ProjectRead, json=body.model_dump(mode="json", exclude_unset=True)
        )

    def get(self, project_id: int) -> ProjectRead:
        return self._get(f"/api/projects/{project_id}", ProjectRead)

    def list(self, *, cursor: str | None = None, limit: int | None = None) -> Page[ProjectRead]:
        """One page of the organization's projects."""
        return self._page("/api/projects", ProjectRead, cursor=cursor, limit=limit)

    def iter(self, *, page_size: int | None = None) -> Iterator[ProjectRead]:
        """Every project, fetched page by page."""
        return iterate_pages(lambda cursor: self.list(cursor=cursor, limit=page_size))

    def update(
        self,
        project_id: int,
        *,
        name: str | Unset = UNSET,
        params: dict[str, Any] | Unset = UNSET,
        min_labels: int | Unset = UNSET,
        max_labels: int | None | Unset = UNSET,
        gold_rate: float | Unset = UNSET,
        lease_seconds: int | None | Unset = UNSET,
        confidence_target: float | Unset = UNSET,
        match_overlap: int | Unset = UNSET,
        skill_threshold: float | Unset = UNSET,
        min_gold_answers: int | Unset = UNSET,
        review_rate: float | Unset = UNSET,
        review_below: float | Unset = UNSET,
    ) -> ProjectRead:
        """Change the fields given; the others stay as they are. New ``params`` make a new
        version (see ``versions``). ``None`` is sent as ``null``, which differs from leaving a
        field out."""
        body = ProjectUpdate.model_validate(
            given(
                name=name,
                params=params,
                min_labels=min_labels,
                max_labels=max_labels,
                gold_rate=gold_rate,
                lease_seconds=lease_seconds,
                confidence_target=confidence_target,
                match_overlap=match_overlap,
                skill_threshold=skill_threshold,
                min_gold_answers=min_gold_answers,
                review_rate=review_rate,
                review_below=review_below,
            )
        )
        return self._patch(
            f"/api/projects/{project_id}",
            ProjectRead,
            json=body.model_dump(mode="json", exclude_unset=True),
        )

    def versions(
        self, project_id: int, *, cursor: str | None = None, limit: int | None = None
    ) -> Page[ProjectVersionRead]:
        """One page of the project's params history."""
        return self._page(
            f"/api/projects/{project_id}/versions", ProjectVersionRead, cursor=cursor, limit=limit
        )

    def add_staffing(self, project_id: int, pool_id: int) -> StaffingRead:
        """Let the workers of ``pool_id`` work on the project."""
        body = StaffingAdd(pool_id=pool_id)
        return self._post(
            f"/api/projects/{project_id}/staffing", StaffingRead, json=body.model_dump(mode="json")
        )

    def remove_staffing(self, project_id: int, pool_id: int) -> None:
        self._delete(f"/api/projects/{project_id}/staffing/{pool_id}")

    def quality(self, project_id: int, *, limit: int | None = None) -> QualityReport:
        """The project's quality report: agreement between annotators (percent agreement,
        Fleiss' kappa, Krippendorff's alpha), task progress and a table of up to ``limit``
        workers (most answers first; the server's default is 100, at most 1000)."""
        return self._get(
            f"/api/projects/{project_id}/quality", QualityReport, params={"limit": limit}
        )

    def aggregate(self, project_id: int, method: str = "auto") -> JobRead:
        """Queue a re-aggregation of every answer of the project (``auto``: Dawid-Skene made
        robust for sparse workers, calibrated on gold; or ``dawid_skene``,
        ``majority_vote``). Answers it changes are listed by ``revisions``."""
        body = AggregateRequest.model_validate({"method": method})
        return self._post(
            f"/api/projects/{project_id}/aggregate", JobRead, json=body.model_dump(mode="json")
        )

    def revisions(
        self, project_id: int, *, cursor: str | None = None, limit: int | None = None
    ) -> Page[AnswerRevisionRead]:
        """One page of the completed answers that re-aggregation changed, with old values."""
        return self._page(
            f"/api/projects/{project_id}/revisions", AnswerRevisionRead, cursor=cursor, limit=limit
        )

    def iter_revisions(
        self, project_id: int, *, page_size: int | None = None
    ) -> Iterator[AnswerRevisionRead]:
        """Every revision of the project's answers, one page in memory at a time."""
        return iterate_pages(
            lambda cursor: self.revisions(project_id, cursor=cursor, limit=page_size)
        )
