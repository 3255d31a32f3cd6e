"""Each documented error status reaches the caller as its exception, with code and details."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from labelmill.client import (
    AuthError,
    Client,
    ForbiddenError,
    InvalidInputError,
    MalformedRequestError,
    NotFoundError,
    PayloadTooLargeError,
)
from labelmill.client.errors import error_from_response
from tests.factory import Factory


def test_unknown_key_is_401(base_url: str, make_client: Callable[[str], Client]) -> None:
    client = make_client("lm_test_not-a-key")
    assert client.health().status == "ok"  # health needs no key
    with pytest.raises(AuthError) as caught:
        client.me()
    assert (caught.value.status_code, caught.value.code) == (401, "unauthenticated")


def test_basic_auth_is_accepted(factory: Factory, base_url: str) -> None:
    org = factory.org(name="basic-co")
    with Client(base_url, org.key, auth_scheme="basic") as client:
        assert client.me().org_name == "basic-co"


def test_other_orgs_ids_are_404(factory: Factory, make_client: Callable[[str], Client]) -> None:
    mine, theirs = factory.org(), factory.org()
    foreign = factory.project(theirs, n_tasks=1)
    client = make_client(mine.key)
    with pytest.raises(NotFoundError) as caught:
        client.projects.get(foreign.id)
    assert caught.value.code == "not_found"
    with pytest.raises(NotFoundError):
        client.tasks.get(foreign.task_ids[0])
    with pytest.raises(NotFoundError):
        client.tasks.create_many(foreign.id, [{"params": {"attachment": "x"}}])


def test_viewer_may_read_not_write(factory: Factory, make_client: Callable[[str], Client]) -> None:
    org = factory.org()
    handle = factory.project(org)
    viewer = make_client(factory.key(org, "viewer"))
    assert viewer.projects.get(handle.id).id == handle.id
    with pytest.raises(ForbiddenError) as caught:
        viewer.projects.update(handle.id, name="mine now")
    assert caught.value.code == "forbidden"


def test_invalid_task_names_its_index_and_nothing_is_created(
    factory: Factory, make_client: Callable[[str], Client]
) -> None:
    org = factory.org()
    handle = factory.project(org)
    owner = make_client(org.key)
    tasks: list[dict[str, Any]] = [{"params": {"attachment": "ok"}}, {"params": {"nonsense": 1}}]
    with pytest.raises(InvalidInputError) as caught:
        owner.tasks.create_many(handle.id, tasks)
    assert caught.value.code == "invalid_input"
    assert [d.loc[:2] for d in caught.value.details] == [["tasks", 1]]
    assert owner.tasks.list(handle.id).data == []


def test_bad_cursor_is_400(factory: Factory, make_client: Callable[[str], Client]) -> None:
    org = factory.org()
    handle = factory.project(org)
    with pytest.raises(MalformedRequestError) as caught:
        make_client(org.key).tasks.list(handle.id, cursor="not-issued-by-the-server")
    assert caught.value.code == "malformed"


def test_too_many_tasks_in_one_request_is_413(factory: Factory, base_url: str) -> None:
    # The SDK never sends more than 10,000 tasks, so send them with httpx and check that the
    # server's answer maps to the documented class.
    org = factory.org()
    handle = factory.project(org)
    response = httpx.post(
        f"{base_url}/api/projects/{handle.id}/tasks",
        json={"tasks": [{"params": {}}] * 10_001},
        headers={"Authorization": f"Bearer {org.key}"},
    )
    error = error_from_response(response)
    assert isinstance(error, PayloadTooLargeError)
    assert (error.status_code, error.code) == (413, "payload_too_large")


def test_unreachable_server_raises_httpx_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        # Bound but not listening: connections are refused.
        with Client(f"http://127.0.0.1:{port}", "k") as client, pytest.raises(httpx.ConnectError):
            client.health()
