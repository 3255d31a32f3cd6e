"""Who is calling; workforce pools, workers and staffing."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from labelmill.schemas.common import ReadModel, Wire


class Me(ReadModel):
    user_id: int | None
    org_id: int | None
    org_name: str | None
    role: str | None
    is_admin: bool
    is_test: bool


class PoolCreate(Wire):
    name: str = Field(min_length=1, max_length=200)


class PoolRead(ReadModel):
    id: int
    org_id: int | None
    name: str
    created_at: datetime


class PoolMemberAdd(Wire):
    user_id: int
    annotator: bool = True
    reviewer: bool = False


class PoolMemberRead(ReadModel):
    pool_id: int
    user_id: int
    is_annotator: bool
    is_reviewer: bool


class WorkerCreate(Wire):
    """Create a worker account owned by the calling organization, optionally in a pool."""

    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    pool_id: int | None = None
    reviewer: bool = False


class WorkerCreated(ReadModel):
    user_id: int
    name: str
    email: str
    api_key: str = Field(description="Shown once; only its digest is stored.")


class StaffingAdd(Wire):
    pool_id: int


class StaffingRead(ReadModel):
    project_id: int
    pool_id: int


OrgRole = Literal["owner", "manager", "viewer"]
