"""The reviewer's side of the review stage."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response

from labelmill.schemas.review import ReviewDecided, ReviewDecision, ReviewLeaseRead
from labelmill.server.api.deps import DbDep, PrincipalDep
from labelmill.server.db.base import utcnow
from labelmill.server.policies import require_worker
from labelmill.server.services import review

router = APIRouter(prefix="/api/review", tags=["review"])


@router.post(
    "/projects/{project_id}/next",
    response_model=ReviewLeaseRead,
    responses={204: {"description": "nothing waits for review now"}},
)
def next_review(project_id: int, principal: PrincipalDep, db: DbDep) -> ReviewLeaseRead | Response:
    reviewer_id = require_worker(principal)
    with db.write_session() as session:
        lease = review.next_review(
            session=session, project_id=project_id, reviewer_id=reviewer_id, now=utcnow()
        )
    if lease is None:
        return Response(status_code=204)
    return ReviewLeaseRead.model_validate(asdict(lease))


@router.post("/{review_id}/decide")
def decide(
    review_id: int, body: ReviewDecision, principal: PrincipalDep, db: DbDep
) -> ReviewDecided:
    reviewer_id = require_worker(principal)
    with db.write_session() as session:
        decided = review.decide(
            session=session,
            review_id=review_id,
            reviewer_id=reviewer_id,
            decision=body.decision,
            response=body.response,
            now=utcnow(),
        )
    return ReviewDecided.model_validate(asdict(decided))
