"""Envelopes shared by every resource."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Wire(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ReadModel(BaseModel):
    """Base of responses: built from ORM objects; tolerant of new fields (SDK forwards-compat)."""

    model_config = ConfigDict(from_attributes=True, extra="ignore")


class Page(BaseModel, Generic[T]):
    """One page of a list. Pass ``next_cursor`` back as ``cursor`` for the next page."""

    data: list[T]
    next_cursor: str | None = None


class ErrorItem(BaseModel):
    loc: list[str | int]
    message: str


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorItem] = []


class ErrorBody(BaseModel):
    error: ErrorInfo


JsonObject = dict[str, Any]


class Health(BaseModel):
    status: str
    database: str
    version: str
