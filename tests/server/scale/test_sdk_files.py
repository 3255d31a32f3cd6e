"""Files through the real scaleapi SDK: upload (multipart) and import (the server fetches a
URL from a loopback HTTP server started here), read back through ``GET /api/files/{id}``,
idempotency by ``reference_id``, metadata, projects, errors, tenancy, permissions, and the
body limit's Scale-shaped 413 under ``/v1``."""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from scaleapi import ScaleClient
from scaleapi.exceptions import (
    ScaleDuplicateResource,
    ScaleException,
    ScaleInvalidRequest,
)
from scaleapi.tasks import TaskType

from labelmill.server.app import create_app
from labelmill.server.db.engine import Database
from labelmill.server.services import files
from tests.conftest import Backend
from tests.factory import Factory
from tests.live_server import free_port

ISO_MS_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
HEX24 = re.compile(r"^[0-9a-f]{24}$")
CATS = {"instruction": "Which animal?", "categories": ["cat", "dog"]}

ScaleFactory = Callable[[str], ScaleClient]

# More than two stored pieces, the last one short.
BIG = bytes(range(256)) * (4096 * 2 + 100)


def download(base_url: str, key: str, file_id: str) -> httpx.Response:
    return httpx.get(f"{base_url}/api/files/{file_id}", auth=(key, ""), timeout=30)


# -- a loopback HTTP server to import from -------------------------------------------------

SERVED: dict[str, tuple[bytes, str | None]] = {
    "/photos/cat%20one.png": (b"\x89PNG\r\n\x1a\nnot really a png", "image/png"),
    "/data/notes.txt": (b"plain notes\n", None),  # no Content-Type: guessed from the name
    "/big.bin": (BIG, "application/octet-stream"),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/photos/cat%20one.png")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        served = SERVED.get(self.path)
        if served is None:
            self.send_error(404)
            return
        body, content_type = served
        self.send_response(200)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def origin() -> Iterator[str]:
    """Base URL of a loopback HTTP server serving ``SERVED``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# -- upload ----------------------------------------------------------------------------------


def test_upload_round_trips_the_bytes(factory: Factory, scale: ScaleFactory, base_url: str) -> None:
    org = factory.org()
    client = scale(org.key)
    named = io.BytesIO(BIG)
    named.name = "scans/page.png"  # requests sends it as the part's file name
    uploaded = client.upload_file(named, display_name="Page 1")
    body = uploaded.as_dict()
    assert HEX24.match(uploaded.id)
    assert uploaded.attachment_url == f"scaledata://{uploaded.id}"
    assert body["size"] == len(BIG)
    assert body["mime_type"] == "image/png"  # no declared type: guessed from the name
    assert body["display_name"] == "Page 1"
    assert "reference_id" not in body
    assert body["metadata"] == {}
    assert body["project_names"] == []
    assert ISO_MS_UTC.match(body["created_at"]) and body["updated_at"] == body["created_at"]

    got = download(base_url, org.key, uploaded.id)
    assert got.status_code == 200
    assert got.content == BIG
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-length"] == str(len(BIG))
    assert got.headers["x-labelmill-content-sha256"] == hashlib.sha256(BIG).hexdigest()
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"] == "attachment; filename*=UTF-8''Page%201"

    # GET /v1/files/{id}: the same File object, metadata only.
    described = httpx.get(f"{base_url}/v1/files/{uploaded.id}", auth=(org.key, ""))
    assert described.status_code == 200
    assert described.json() == body


def test_declared_type_wins_and_anonymous_bytes_are_octet_stream(
    factory: Factory, scale: ScaleFactory, base_url: str, db: Database
) -> None:
    org = factory.org()
    client = scale(org.key)
    # requests takes (name, data, type) tuples as files: the part declares its type.
    declared = client.upload_file(("x.bin", b'{"a": 1}', "application/json; charset=utf-8"))
    assert declared.as_dict()["mime_type"] == "application/json"
    anonymous = client.upload_file(io.BytesIO(b"\x00\x01"))  # file name "file": no guess
    assert anonymous.as_dict()["mime_type"] == "application/octet-stream"
    empty = client.upload_file(("empty.txt", b"", None))
    assert (empty.as_dict()["size"], empty.as_dict()["mime_type"]) == (0, "text/plain")
    assert download(base_url, org.key, empty.id).content == b""
    # The service reads a file back through a caller's session, too.
    with db.read_session() as session:
        pieces = files.open_file(session=session, org_id=org.id, public_id=declared.id)
        assert b"".join(pieces) == b'{"a": 1}'


def test_reference_id_metadata_and_project(factory: Factory, scale: ScaleFactory) -> None:
    client = scale(factory.org().key)
    client.create_project("kittens", TaskType.Categorization, params=CATS)
    first = client.upload_file(
        io.BytesIO(b"one"),
        reference_id="scan-1",
        metadata=json.dumps({"source": "scanner", "page": 1}),
        project_name="kittens",
    )
    body = first.as_dict()
    assert body["reference_id"] == "scan-1"
    assert body["metadata"] == {"source": "scanner", "page": 1}
    assert body["project_names"] == ["kittens"]

    with pytest.raises(ScaleDuplicateResource) as caught:
        client.upload_file(io.BytesIO(b"two"), reference_id="scan-1")
    assert caught.value.code == 409
    assert first.id in caught.value.message  # names the file that has the reference_id
    with pytest.raises(ScaleDuplicateResource):
        client.import_file("http://127.0.0.1:9/never-fetched", reference_id="scan-1")

    with pytest.raises(ScaleInvalidRequest) as invalid:
        client.upload_file(io.BytesIO(b"x"), metadata="{not json")
    assert "metadata" in invalid.value.message
    with pytest.raises(ScaleInvalidRequest):
        client.upload_file(io.BytesIO(b"x"), metadata="[1, 2]")  # JSON, but not an object
    # A dict is not JSON-encoded by the SDK: requests sends its keys as separate values.
    with pytest.raises(ScaleInvalidRequest):
        client.upload_file(io.BytesIO(b"x"), metadata={"source": "scanner"})

    with pytest.raises(ScaleInvalidRequest) as unknown:
        client.upload_file(io.BytesIO(b"x"), project_name="no such project")
    assert "project_name" in unknown.value.message
    assert "no such project" in unknown.value.message


def test_upload_needs_a_file_part(factory: Factory, base_url: str) -> None:
    key = factory.org().key
    response = httpx.post(f"{base_url}/v1/files/upload", data={"display_name": "x"}, auth=(key, ""))
    assert response.status_code == 400
    assert response.json()["status_code"] == 400
    assert "file" in response.json()["error"]


def test_a_file_over_the_limit_is_413(factory: Factory, scale: ScaleFactory) -> None:
    client = scale(factory.org().key)
    with pytest.raises(ScaleException) as caught:
        client.upload_file(io.BytesIO(b"\0" * (files.MAX_FILE_BYTES + 1)))
    assert caught.value.code == 413
    assert str(files.MAX_FILE_BYTES) in caught.value.message


# -- import ----------------------------------------------------------------------------------


def test_import_from_a_url(
    factory: Factory, scale: ScaleFactory, base_url: str, origin: str
) -> None:
    org = factory.org()
    client = scale(org.key)
    imported = client.import_file(
        f"{origin}/photos/cat%20one.png",
        display_name="cat",
        reference_id="cat-1",
        metadata={"k": "v"},  # a JSON body carries the object itself
    )
    body = imported.as_dict()
    assert imported.attachment_url == f"scaledata://{imported.id}"
    assert (body["mime_type"], body["size"]) == (
        "image/png",
        len(SERVED["/photos/cat%20one.png"][0]),
    )
    assert (body["display_name"], body["reference_id"], body["metadata"]) == (
        "cat",
        "cat-1",
        {"k": "v"},
    )
    assert download(base_url, org.key, imported.id).content == SERVED["/photos/cat%20one.png"][0]

    notes = client.import_file(f"{origin}/data/notes.txt", metadata='{"as": "string"}')
    assert notes.as_dict()["mime_type"] == "text/plain"
    assert notes.as_dict()["metadata"] == {"as": "string"}
    big = client.import_file(f"{origin}/big.bin")
    got = download(base_url, org.key, big.id)
    assert got.content == BIG
    assert got.headers["x-labelmill-content-sha256"] == hashlib.sha256(BIG).hexdigest()
    moved = client.import_file(f"{origin}/moved")  # redirects are followed
    assert download(base_url, org.key, moved.id).content == SERVED["/photos/cat%20one.png"][0]


def test_import_errors_are_400_naming_the_url(
    factory: Factory, scale: ScaleFactory, origin: str
) -> None:
    client = scale(factory.org().key)
    with pytest.raises(ScaleInvalidRequest) as missing:
        client.import_file(f"{origin}/nothing-here")
    assert "file_url" in missing.value.message and "404" in missing.value.message
    with pytest.raises(ScaleInvalidRequest) as refused:
        client.import_file(f"http://127.0.0.1:{free_port()}/x")  # nobody listens there
    assert "file_url" in refused.value.message
    for url in ("ftp://127.0.0.1/x", "file:///etc/passwd", "not a url", "http:///x"):
        with pytest.raises(ScaleInvalidRequest) as bad:
            client.import_file(url)
        assert "file_url" in bad.value.message
    with pytest.raises(ScaleInvalidRequest) as no_url:
        client.import_file("")
    assert "file_url" in no_url.value.message
    with pytest.raises(ScaleInvalidRequest):
        client.import_file(f"{origin}/data/notes.txt", project_name="nope")
    with pytest.raises(ScaleInvalidRequest):
        client.import_file(f"{origin}/data/notes.txt", metadata="{bad")


# -- tenancy and permissions ----------------------------------------------------------------


def test_other_organizations_cannot_see_a_file(
    factory: Factory, scale: ScaleFactory, base_url: str
) -> None:
    alice, bob = factory.org(), factory.org()
    uploaded = scale(alice.key).upload_file(io.BytesIO(b"alice's"), reference_id="shared-ref")
    assert download(base_url, bob.key, uploaded.id).status_code == 404
    foreign = httpx.get(f"{base_url}/v1/files/{uploaded.id}", auth=(bob.key, ""))
    assert foreign.status_code == 404
    assert foreign.json()["status_code"] == 404
    assert download(base_url, bob.key, "0" * 24).status_code == 404
    # reference_id is unique per organization, not across them.
    mine = scale(bob.key).upload_file(io.BytesIO(b"bob's"), reference_id="shared-ref")
    assert mine.id != uploaded.id
    assert download(base_url, alice.key, uploaded.id).content == b"alice's"
    assert download(base_url, "lm_live_nonsense", uploaded.id).status_code == 401


def test_a_viewer_key_reads_but_cannot_upload(
    factory: Factory, scale: ScaleFactory, base_url: str, origin: str
) -> None:
    org = factory.org()
    uploaded = scale(org.key).upload_file(io.BytesIO(b"data"))
    viewer_key = factory.key(org, "viewer")
    viewer = scale(viewer_key)
    with pytest.raises(ScaleException) as upload:
        viewer.upload_file(io.BytesIO(b"mine"))
    assert upload.value.code == 403
    with pytest.raises(ScaleException) as imported:
        viewer.import_file(f"{origin}/data/notes.txt")
    assert imported.value.code == 403
    assert download(base_url, viewer_key, uploaded.id).content == b"data"


# -- the body limit under /v1 ----------------------------------------------------------------


@pytest.fixture
def small_client(backend: Backend, db: Database) -> Iterator[TestClient]:
    """The app with a 4 KiB body limit."""
    settings = backend.settings.model_copy(update={"max_body_bytes": 4096})
    app = create_app(settings, database=db, migrate_on_start=False)
    with TestClient(app) as client:
        yield client


def test_the_body_limit_answers_scale_shaped_under_v1(
    small_client: TestClient, factory: Factory
) -> None:
    key = factory.org().key
    big = {"type": "comparison", "name": "p", "params": {"instruction": "y" * 5000}}
    declared = small_client.post("/v1/projects", json=big, auth=(key, ""))
    assert declared.status_code == 413
    assert declared.json() == {
        "status_code": 413,
        "error": "request body is larger than 4096 bytes",
    }

    def chunks() -> Iterator[bytes]:
        payload = orjson.dumps(big)
        for start in range(0, len(payload), 1000):
            yield payload[start : start + 1000]

    streamed = small_client.post(
        "/v1/projects",
        content=chunks(),
        headers={"Content-Type": "application/json"},
        auth=(key, ""),
    )
    assert streamed.status_code == 413
    assert streamed.json()["status_code"] == 413
    # The native API keeps its own shape.
    native = small_client.post("/api/projects", json=big, auth=(key, ""))
    assert native.status_code == 413
    assert native.json()["error"]["code"] == "payload_too_large"

    # The upload route takes files up to Scale's limit whatever the general limit is.
    upload = small_client.post(
        "/v1/files/upload", files={"file": ("f.bin", b"z" * 20_000)}, auth=(key, "")
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["size"] == 20_000
