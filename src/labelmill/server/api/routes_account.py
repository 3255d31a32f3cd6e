"""Health, identity, the callback key, workforce pools, workers."""

from __future__ import annotations

from fastapi import APIRouter, Response

import labelmill
from labelmill.schemas import (
    Health,
    Me,
    Page,
    PoolCreate,
    PoolMemberAdd,
    PoolMemberRead,
    PoolRead,
    WorkerCreate,
    WorkerCreated,
)
from labelmill.schemas.callbacks import CallbackKey
from labelmill.server.api.deps import DbDep, PrincipalDep
from labelmill.server.api.paging import CursorDep, page
from labelmill.server.models import Organization
from labelmill.server.policies import Permission, require
from labelmill.server.services import callbacks, workforce

router = APIRouter(prefix="/api")


@router.get("/health", tags=["meta"])
def health(db: DbDep) -> Health:
    with db.read_session() as session:
        session.execute(Organization.__table__.select().limit(1))
    return Health(status="ok", database=db.engine.dialect.name, version=labelmill.__version__)


@router.get("/me", tags=["meta"])
def me(principal: PrincipalDep, db: DbDep) -> Me:
    with db.read_session() as session:
        org = session.get(Organization, principal.org_id) if principal.org_id else None
    return Me(
        user_id=principal.user_id,
        org_id=principal.org_id,
        org_name=org.name if org else None,
        role=principal.role,
        is_admin=principal.is_admin,
        is_test=principal.is_test,
    )


@router.get("/account/callback-key", tags=["meta"])
def get_callback_key(principal: PrincipalDep, db: DbDep) -> CallbackKey:
    """The key every callback to the organization carries in ``scale-callback-auth``."""
    require(principal, Permission.MANAGE)
    with db.read_session() as session:
        key = callbacks.callback_key(session=session, org_id=principal.org_id)
    return CallbackKey(callback_key=key, header=callbacks.CALLBACK_HEADER)


@router.post("/account/callback-key/rotate", tags=["meta"])
def rotate_callback_key(principal: PrincipalDep, db: DbDep) -> CallbackKey:
    """Replace the callback key; callbacks sent from now on (retries too) carry the new one."""
    require(principal, Permission.MANAGE)
    with db.write_session() as session:
        key = callbacks.rotate_callback_key(
            session=session, org_id=principal.org_id, actor=principal
        )
    return CallbackKey(callback_key=key, header=callbacks.CALLBACK_HEADER)


@router.post("/pools", status_code=201, tags=["workforce"])
def create_pool(body: PoolCreate, principal: PrincipalDep, db: DbDep) -> PoolRead:
    require(principal, Permission.MANAGE)
    with db.write_session() as session:
        pool = workforce.create_pool(
            session=session, org_id=principal.org_id, name=body.name, actor=principal
        )
        return PoolRead.model_validate(pool)


@router.get("/pools", tags=["workforce"])
def list_pools(principal: PrincipalDep, db: DbDep, cursor: CursorDep) -> Page[PoolRead]:
    require(principal, Permission.READ)
    with db.read_session() as session:
        rows, next_cursor = workforce.list_pools(
            session=session, org_id=principal.org_id, cursor=cursor
        )
        return page(PoolRead, rows, next_cursor)


@router.post("/pools/{pool_id}/members", status_code=201, tags=["workforce"])
def add_pool_member(
    pool_id: int, body: PoolMemberAdd, principal: PrincipalDep, db: DbDep
) -> PoolMemberRead:
    with db.write_session() as session:
        pool = workforce.get_own_pool(session=session, org_id=principal.org_id, pool_id=pool_id)
        require(principal, Permission.MANAGE)
        member = workforce.add_pool_member(
            session=session,
            pool=pool,
            user_id=body.user_id,
            annotator=body.annotator,
            reviewer=body.reviewer,
            actor=principal,
        )
        return PoolMemberRead.model_validate(member)


@router.delete("/pools/{pool_id}/members/{user_id}", status_code=204, tags=["workforce"])
def remove_pool_member(pool_id: int, user_id: int, principal: PrincipalDep, db: DbDep) -> Response:
    with db.write_session() as session:
        pool = workforce.get_own_pool(session=session, org_id=principal.org_id, pool_id=pool_id)
        require(principal, Permission.MANAGE)
        workforce.remove_pool_member(session=session, pool=pool, user_id=user_id, actor=principal)
    return Response(status_code=204)


@router.post("/workers", status_code=201, tags=["workforce"])
def create_worker(body: WorkerCreate, principal: PrincipalDep, db: DbDep) -> WorkerCreated:
    require(principal, Permission.MANAGE)
    assert principal.org_id is not None
    with db.write_session() as session:
        pool = None
        if body.pool_id is not None:
            pool = workforce.get_own_pool(
                session=session, org_id=principal.org_id, pool_id=body.pool_id
            )
        created = workforce.create_worker(
            session=session,
            org_id=principal.org_id,
            name=body.name,
            email=body.email,
            pool=pool,
            reviewer=body.reviewer,
            actor=principal,
        )
        return WorkerCreated(
            user_id=created.user.id,
            name=created.user.name,
            email=created.user.email,
            api_key=created.api_key,
        )
