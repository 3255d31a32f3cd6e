"""The organization's callback key (what its callback receivers check)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CallbackKey(BaseModel):
    callback_key: str = Field(
        description="Sent with every task and batch callback in the header named by `header`; "
        "a receiver compares the two and refuses anything else."
    )
    header: str = Field(default="scale-callback-auth", description="The header that carries it")
