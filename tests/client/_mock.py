"""A scripted stand-in for the server, for tests that need no real one."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from labelmill.client import Client

Handler = Callable[[httpx.Request], httpx.Response]

NOW = "2026-01-02T03:04:05Z"


@dataclass
class Recorder:
    """Wraps a handler and keeps every request it saw."""

    handler: Handler
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def client(self, api_key: str = "lm_test_key", **kwargs: Any) -> Client:
        return Client(
            "http://labelmill.test", api_key, transport=httpx.MockTransport(self), **kwargs
        )


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def error(status: int, code: str, message: str, details: list[Any] | None = None) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": code, "message": message, "details": details or []}}
    )


def task_json(task_id: int, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": task_id,
        "project_id": 1,
        "batch_id": 1,
        "project_version": 1,
        "params": {"text": f"t{task_id}"},
        "metadata": {"row": task_id},
        "tags": [],
        "unique_id": None,
        "priority": 0,
        "status": "pending",
        "is_gold": False,
        "gold_answer": None,
        "label_target": 1,
        "n_annotations": 0,
        "response": None,
        "confidence": None,
        "created_at": NOW,
        "completed_at": None,
    }
    data.update(overrides)
    return data
