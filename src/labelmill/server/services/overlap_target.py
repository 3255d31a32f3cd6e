"""Confidence targets that match a fixed overlap: ``project.match_overlap`` = k > 0.

A fixed target (0.95) spends more labels than fixed overlap 5 on a good crowd and fewer on a
poor one. In this mode the project's ``confidence_target`` is the expected posterior mass on
the truth after k labels from its own crowd (``labelmill.quality.fixed_overlap_target``: the
workers' current skills, each weighted by how many of their answers were judged), so dynamic
overlap reaches fixed-k accuracy while stopping early on easy tasks. The target is written to
the project row, so the work loop reads it like any other target (on PostgreSQL inside its
SQL functions); it is refreshed when the project is created or changed, by re-aggregation,
and periodically by the background worker as skills move.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelmill.server.db.engine import Database
from labelmill.server.models import Project, WorkerSkill
from labelmill.tasktypes import get_task_type

# The project schema's bounds of confidence_target; a crowd at chance gives less than 0.5.
_LOWEST, _HIGHEST = 0.5, 0.999


def derived_target(*, session: Session, project: Project) -> float:
    """The target that matches fixed overlap ``project.match_overlap`` with this crowd."""
    from labelmill.quality.stopping import fixed_overlap_target  # numpy: loaded on use

    rows = session.execute(
        select(WorkerSkill.skill, WorkerSkill.gold_answers + WorkerSkill.compared).where(
            WorkerSkill.project_id == project.id, WorkerSkill.removed_at.is_(None)
        )
    ).all()
    judged = [(float(skill), float(n)) for skill, n in rows if n > 0]
    task_type = get_task_type(project.task_type)
    n_classes = (task_type.answer_classes(project.params, {}) if task_type else None) or 2
    target = fixed_overlap_target(
        [skill for skill, _ in judged],
        k=project.match_overlap,
        n_classes=n_classes,
        weights=[n for _, n in judged] if judged else None,
    )
    return min(max(target, _LOWEST), _HIGHEST)


def refresh(*, session: Session, project: Project) -> bool:
    """Re-derive ``project.confidence_target`` if the project matches a fixed overlap.
    True when the stored target changed."""
    if project.match_overlap <= 0:
        return False
    target = derived_target(session=session, project=project)
    if abs(target - project.confidence_target) < 1e-9:
        return False
    project.confidence_target = target
    return True


def refresh_all(db: Database) -> int:
    """Refresh every project that matches a fixed overlap; how many targets changed."""
    with db.read_session() as session:
        ids = list(session.scalars(select(Project.id).where(Project.match_overlap > 0)))
    changed = 0
    for project_id in ids:  # one short transaction each: the project row is locked briefly
        with db.write_session() as session:
            project = session.scalar(
                select(Project).where(Project.id == project_id).with_for_update()
            )
            if project is not None:
                changed += refresh(session=session, project=project)
    return changed
