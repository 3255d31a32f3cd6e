"""The API key travels as Bearer (default) or as Basic with an empty password."""

from __future__ import annotations

import base64

import httpx
import pytest

from labelmill.client import Client

from ._mock import Recorder

ME = {
    "user_id": 1,
    "org_id": 2,
    "org_name": "acme",
    "role": "owner",
    "is_admin": False,
    "is_test": True,
}


def test_bearer_is_the_default() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json=ME))
    with recorder.client("lm_test_abc") as client:
        me = client.me()
    assert me.org_name == "acme"
    (request,) = recorder.requests
    assert request.headers["Authorization"] == "Bearer lm_test_abc"
    assert request.headers["User-Agent"].startswith("labelmill-python/")


def test_basic_sends_the_key_as_user_name() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json=ME))
    with recorder.client("lm_test_abc", auth_scheme="basic") as client:
        client.me()
    scheme, _, token = recorder.requests[0].headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token) == b"lm_test_abc:"


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="auth_scheme"):
        Client("http://x", "k", auth_scheme="digest")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "base_url", ["http://labelmill.test", "http://labelmill.test/", "http://labelmill.test/api"]
)
def test_base_url_with_or_without_api(base_url: str) -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json=ME))
    with Client(base_url, "k", transport=httpx.MockTransport(recorder)) as client:
        client.me()
    assert str(recorder.requests[0].url) == "http://labelmill.test/api/me"


def test_base_url_under_a_prefix_keeps_it() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json=ME))
    with Client("http://h/lm/api/", "k", transport=httpx.MockTransport(recorder)) as client:
        client.me()
    assert str(recorder.requests[0].url) == "http://h/lm/api/me"
