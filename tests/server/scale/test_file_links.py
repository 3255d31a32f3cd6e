"""An uploaded file used as a task attachment (``scaledata://<id>``) reaches the annotator:
the leased task shows a signed link that opens without an organization key, for that file
only, until it expires or the organization rotates its callback key."""

from __future__ import annotations

import io
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from scaleapi import ScaleClient
from scaleapi.tasks import TaskType

from tests.factory import Factory, OrgHandle, auth
from tests.server.loop import post_next

ScaleFactory = Callable[[str], ScaleClient]
PIXELS = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def _leased_attachment(
    client: TestClient, factory: Factory, org: OrgHandle, sdk: ScaleClient, attachment: str
) -> str:
    sdk.create_task(
        TaskType.Categorization, project="pics", attachment=attachment, attachment_type="image"
    )
    projects = client.get("/api/projects", headers=auth(org.key)).json()["data"]
    project_id = next(p["id"] for p in projects if p["name"] == "pics")
    client.post(
        f"/api/projects/{project_id}/staffing", json={"pool_id": org.pool_id}, headers=auth(org.key)
    )
    lease = post_next(client, project_id, factory.worker(org).key)
    assert lease.status_code == 200, lease.text
    return str(lease.json()["data"]["attachment"])


def _setup(factory: Factory, scale: ScaleFactory) -> tuple[OrgHandle, ScaleClient, str]:
    org = factory.org()
    sdk = scale(org.key)
    sdk.create_project(
        "pics", TaskType.Categorization, params={"instruction": "?", "categories": ["a", "b"]}
    )
    uploaded = sdk.upload_file(io.BytesIO(PIXELS), display_name="cat.png")
    return org, sdk, str(uploaded.attachment_url)


def test_the_worker_sees_a_signed_link_that_opens_the_file(
    client: TestClient, factory: Factory, scale: ScaleFactory
) -> None:
    org, sdk, attachment = _setup(factory, scale)
    assert attachment.startswith("scaledata://")
    link = _leased_attachment(client, factory, org, sdk, attachment)
    public_id = attachment.removeprefix("scaledata://")
    assert link.startswith(f"/api/files/{public_id}?")
    opened = client.get(link)  # no key at all
    assert opened.status_code == 200 and opened.content == PIXELS

    query = parse_qs(urlsplit(link).query)
    path = urlsplit(link).path
    tampered = f"{path}?expires={query['expires'][0]}&signature={'0' * 64}"
    assert client.get(tampered).status_code == 404
    stale = f"{path}?expires=1&signature={query['signature'][0]}"
    assert client.get(stale).status_code == 404
    assert client.get(path).status_code == 401  # no link, no key
    # The customer's own task view keeps its reference.
    assert sdk.get_tasks_count(project_name="pics") == 1

    rotated = client.post("/api/account/callback-key/rotate", headers=auth(org.key))
    assert rotated.status_code == 200, rotated.text
    assert client.get(link).status_code == 404  # rotating the key revokes every link


def test_another_organizations_file_is_not_resolved(
    client: TestClient, factory: Factory, scale: ScaleFactory
) -> None:
    _other, _other_sdk, foreign = _setup(factory, scale)
    org = factory.org()
    sdk = scale(org.key)
    sdk.create_project(
        "pics", TaskType.Categorization, params={"instruction": "?", "categories": ["a", "b"]}
    )
    assert _leased_attachment(client, factory, org, sdk, foreign) == foreign
