"""Error answers become the documented exception classes, with the server's code and details."""

from __future__ import annotations

import httpx
import pytest

from labelmill.client import (
    ApiError,
    AuthError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    MalformedRequestError,
    NotFoundError,
    PayloadTooLargeError,
    ServerError,
)

from ._mock import Recorder, error


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "malformed", MalformedRequestError),
        (401, "unauthenticated", AuthError),
        (403, "forbidden", ForbiddenError),
        (404, "not_found", NotFoundError),
        (409, "conflict", ConflictError),
        (413, "payload_too_large", PayloadTooLargeError),
        (422, "invalid_input", InvalidInputError),
        (500, "internal", ServerError),
        (503, "unavailable", ServerError),
    ],
)
def test_status_maps_to_class(status: int, code: str, cls: type[ApiError]) -> None:
    recorder = Recorder(lambda request: error(status, code, "it went wrong"))
    with recorder.client() as client, pytest.raises(cls) as caught:
        client.tasks.get(7)
    exc = caught.value
    assert type(exc) is cls
    assert (exc.status_code, exc.code, exc.message) == (status, code, "it went wrong")
    assert exc.request.url.path == "/api/tasks/7"
    assert exc.response.status_code == status


def test_details_are_parsed_and_shown() -> None:
    details = [
        {"loc": ["tasks", 3, "params", "text"], "message": "field required"},
        {"loc": ["batch_id"], "message": "unknown batch"},
    ]
    recorder = Recorder(lambda request: error(422, "invalid_input", "2 problems", details))
    with recorder.client() as client, pytest.raises(InvalidInputError) as caught:
        client.tasks.create_many(1, [{"params": {}}])
    exc = caught.value
    assert [(d.loc, d.message) for d in exc.details] == [
        (["tasks", 3, "params", "text"], "field required"),
        (["batch_id"], "unknown batch"),
    ]
    assert str(exc) == (
        "422 invalid_input: 2 problems "
        "[tasks.3.params.text: field required; batch_id: unknown batch]"
    )


def test_unlisted_status_is_a_plain_api_error() -> None:
    recorder = Recorder(lambda request: error(429, "rate_limited", "slow down"))
    with recorder.client() as client, pytest.raises(ApiError) as caught:
        client.me()
    assert type(caught.value) is ApiError
    assert caught.value.code == "rate_limited"


@pytest.mark.parametrize(
    ("response", "code", "message"),
    [
        (
            httpx.Response(502, text="<html>Bad Gateway</html>"),
            "http_502",
            "<html>Bad Gateway</html>",
        ),
        (httpx.Response(404, json={"detail": "Not Found"}), "http_404", "Not Found"),
        (httpx.Response(500, content=b""), "http_500", "Internal Server Error"),
        (httpx.Response(409, json=["odd"]), "http_409", '["odd"]'),
    ],
)
def test_body_that_is_not_the_envelope(response: httpx.Response, code: str, message: str) -> None:
    recorder = Recorder(lambda request: response)
    with recorder.client() as client, pytest.raises(ApiError) as caught:
        client.me()
    assert (caught.value.status_code, caught.value.code, caught.value.message) == (
        response.status_code,
        code,
        message,
    )


def test_transport_errors_are_not_wrapped() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with Recorder(refuse).client() as client, pytest.raises(httpx.ConnectError):
        client.health()
