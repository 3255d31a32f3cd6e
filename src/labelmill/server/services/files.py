"""Stored files: uploaded (or imported from a URL) by an organization, to be used as task
attachments (``scaledata://<public_id>``, reference/scale_api.md §2.4).

A file's bytes live in the database, in pieces of ``CHUNK_BYTES`` (as dataset snapshots'
do), so every server process sharing the database can serve it. A file is written in one
write transaction, from a local, seekable source (the upload's spooled temporary file, or
the spooled download of an import): the row appears with all its bytes or not at all, and
no network transfer ever runs while the database's write lock is held.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import secrets
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import httpx
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

import labelmill
from labelmill.server.db.base import utcnow
from labelmill.server.db.engine import Database
from labelmill.server.errors import (
    Conflict,
    ErrorDetail,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
)
from labelmill.server.models import StoredFile, StoredFileChunk
from labelmill.server.services import audit, projects
from labelmill.server.services.auth import Principal

CHUNK_BYTES = 1 << 20
"""Size of the stored pieces of a file (the last one may be shorter)."""

MAX_FILE_BYTES = 80 * 1024 * 1024
"""Scale's per-file limit ("80 MB"), read as MiB so that every file Scale takes fits."""

UPLOAD_BODY_SLACK = 1024 * 1024
"""Room for a multipart body's boundaries and form fields beyond the file itself."""

FETCH_TIMEOUT_S = 30.0
"""Connect and per-read timeout of an import."""

FETCH_DEADLINE_S = 300.0
"""Longest an import may take in all (a server that trickles bytes is cut off)."""

OCTET_STREAM = "application/octet-stream"
_MAX_NAME = 500  # display_name, reference_id (the columns' width)
_MAX_URL = 2000  # source_url
_MAX_MIME = 200


def _invalid(field_name: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field_name}: {message}", details=[ErrorDetail((field_name,), message)])


@dataclass(frozen=True)
class FileSpec:
    """What a client says about a file besides its bytes (each field optional)."""

    display_name: str | None = None
    reference_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    project_name: str | None = None


def parse_metadata(value: object) -> dict[str, Any]:
    """``metadata`` as Scale sends it: a JSON string (a multipart form field), or, in a JSON
    body, the object itself. Nothing (or an empty string) is ``{}``."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _invalid("metadata", "must be a JSON object, e.g. '{\"k\": 1}'") from None
    if not isinstance(value, dict):
        raise _invalid("metadata", "must be a JSON object")
    return value


def mime_type_of(declared: str | None, name: str | None) -> str:
    """The declared content type (without parameters) unless it is missing or the generic
    ``application/octet-stream``; then one guessed from ``name``; else octet-stream."""
    if declared:
        declared = declared.split(";", 1)[0].strip().lower()
        if declared and declared != OCTET_STREAM and len(declared) <= _MAX_MIME:
            return declared
    if name:
        guessed, _encoding = mimetypes.guess_type(name, strict=False)
        if guessed:
            return guessed
    return OCTET_STREAM


def attachment_url(stored: StoredFile) -> str:
    """How a task names the file as its attachment."""
    return f"scaledata://{stored.public_id}"


def _checked(session: Session, org_id: int, spec: FileSpec) -> list[str]:
    """``InvalidInput`` / ``Conflict`` for a spec that cannot be stored; the project names
    the file will carry."""
    for name, value in (("display_name", spec.display_name), ("reference_id", spec.reference_id)):
        if value is not None and len(value) > _MAX_NAME:
            raise _invalid(name, f"is limited to {_MAX_NAME} characters")
    if spec.reference_id is not None:
        existing = session.scalar(
            select(StoredFile.public_id).where(
                StoredFile.org_id == org_id, StoredFile.reference_id == spec.reference_id
            )
        )
        if existing is not None:
            raise Conflict(
                f"a file with reference_id {spec.reference_id!r} already exists: {existing}"
            )
    if spec.project_name is None:
        return []
    try:
        project = projects.get_project_by_name(
            session=session, org_id=org_id, name=spec.project_name
        )
    except NotFound:
        raise _invalid("project_name", f"no project named {spec.project_name!r}") from None
    return [project.name]


def check_spec(*, db: Database, org_id: int, spec: FileSpec) -> None:
    """Refuse a spec early (before bytes are fetched); ``store_file`` checks again."""
    with db.read_session() as session:
        _checked(session, org_id, spec)


def _size_of(source: IO[bytes]) -> int:
    source.seek(0, 2)
    size = source.tell()
    source.seek(0)
    return size


def too_large(size: int | None = None) -> PayloadTooLarge:
    got = f" (got {size} bytes)" if size is not None else ""
    return PayloadTooLarge(f"file is larger than the limit of {MAX_FILE_BYTES} bytes{got}")


def store_file(
    *,
    db: Database,
    org_id: int,
    source: IO[bytes],
    mime_type: str,
    spec: FileSpec,
    actor: Principal,
    source_url: str | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> StoredFile:
    """Store the bytes of ``source`` (seekable, read from its start) as a new file of the
    organization; ``PayloadTooLarge`` over ``MAX_FILE_BYTES``."""
    size = _size_of(source)
    if size > MAX_FILE_BYTES:
        raise too_large(size)
    now = utcnow()
    with db.write_session() as session:
        project_names = _checked(session, org_id, spec)
        stored = StoredFile(
            public_id=secrets.token_hex(12),
            org_id=org_id,
            reference_id=spec.reference_id,
            display_name=spec.display_name,
            mime_type=mime_type,
            byte_size=0,
            n_chunks=0,
            sha256="",
            source_url=source_url,
            meta=spec.metadata,
            project_names=project_names,
            created_at=now,
            updated_at=now,
        )
        session.add(stored)
        session.flush()
        digest = hashlib.sha256()
        while piece := source.read(chunk_bytes):
            digest.update(piece)
            session.execute(
                insert(StoredFileChunk),
                {"file_id": stored.id, "seq": stored.n_chunks, "data": piece},
            )
            stored.n_chunks += 1
            stored.byte_size += len(piece)
        if stored.byte_size > MAX_FILE_BYTES:  # the source grew after it was measured
            raise too_large(stored.byte_size)
        stored.sha256 = digest.hexdigest()
        audit.record(
            session=session,
            actor=actor,
            org_id=org_id,
            action="file.create",
            object_type="stored_file",
            object_id=stored.id,
            data={
                "public_id": stored.public_id,
                "size": stored.byte_size,
                "sha256": stored.sha256,
                "reference_id": spec.reference_id,
                # Not the URL itself: a signed URL's query is a credential.
                "imported": source_url is not None,
            },
        )
        session.flush()
        return stored


@dataclass
class Fetched:
    """A downloaded file, spooled (in memory up to a chunk, then on disk)."""

    body: IO[bytes]
    content_type: str | None
    name: str | None


def _check_url(file_url: str) -> None:
    if len(file_url) > _MAX_URL:
        raise _invalid("file_url", f"is limited to {_MAX_URL} characters")
    parts = urlsplit(file_url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise _invalid("file_url", f"must be an http or https URL, not {file_url!r}")


def fetch(
    file_url: str,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    timeout_s: float = FETCH_TIMEOUT_S,
    deadline_s: float = FETCH_DEADLINE_S,
) -> Fetched:
    """GET ``file_url`` (http or https, redirects followed) into a spooled temporary file.
    ``InvalidInput`` naming ``file_url`` when it cannot be fetched or answers other than
    2xx; ``PayloadTooLarge`` past ``max_bytes``. The caller closes ``body``."""
    _check_url(file_url)
    started = time.monotonic()
    body: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=CHUNK_BYTES)  # noqa: SIM115
    try:
        with (
            httpx.Client(
                follow_redirects=True,
                timeout=httpx.Timeout(timeout_s),
                headers={"User-Agent": f"labelmill/{labelmill.__version__} file-import"},
            ) as client,
            client.stream("GET", file_url) as response,
        ):
            if not response.is_success:
                raise _invalid(
                    "file_url",
                    f"fetching {file_url} answered HTTP {response.status_code}",
                )
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise too_large(int(declared))
            received = 0
            for piece in response.iter_bytes(CHUNK_BYTES):
                received += len(piece)
                if received > max_bytes:
                    raise too_large()
                if time.monotonic() - started > deadline_s:
                    raise _invalid(
                        "file_url", f"fetching {file_url} took longer than {deadline_s:.0f} s"
                    )
                body.write(piece)
            name = unquote(response.url.path.rsplit("/", 1)[-1]) or None
            content_type = response.headers.get("content-type")
    except httpx.HTTPError as exc:
        body.close()
        reason = str(exc) or type(exc).__name__
        raise _invalid("file_url", f"could not fetch {file_url}: {reason}") from None
    except BaseException:
        body.close()
        raise
    body.seek(0)
    return Fetched(body=body, content_type=content_type, name=name)


def import_file(
    *, db: Database, org_id: int, file_url: str, spec: FileSpec, actor: Principal
) -> StoredFile:
    """Fetch ``file_url`` and store it as a new file of the organization."""
    _check_url(file_url)
    check_spec(db=db, org_id=org_id, spec=spec)
    fetched = fetch(file_url)
    with fetched.body:
        return store_file(
            db=db,
            org_id=org_id,
            source=fetched.body,
            mime_type=mime_type_of(fetched.content_type, fetched.name),
            spec=spec,
            actor=actor,
            source_url=file_url,
        )


def get_file(*, session: Session, org_id: int | None, public_id: str) -> StoredFile:
    """The organization's file; ``NotFound`` for an unknown id or another organization's."""
    stored = session.scalar(select(StoredFile).where(StoredFile.public_id == public_id))
    if stored is None or org_id is None or stored.org_id != org_id:
        raise NotFound("File", public_id)
    return stored


def open_file(*, session: Session, org_id: int | None, public_id: str) -> Iterator[bytes]:
    """The file's bytes, piece by piece, read through ``session`` (which must stay open
    while the iterator is used). ``NotFound`` at once, not when iterated."""
    stored = get_file(session=session, org_id=org_id, public_id=public_id)
    return _pieces(session, stored.id, stored.n_chunks)


def _pieces(session: Session, file_id: int, n_chunks: int) -> Iterator[bytes]:
    query = select(StoredFileChunk.data).where(StoredFileChunk.file_id == file_id)
    for seq in range(n_chunks):
        data = session.scalar(query.where(StoredFileChunk.seq == seq))
        if data is None:  # only if the file was deleted while being read
            raise RuntimeError(f"file {file_id} lost its chunk {seq}")
        yield bytes(data)


def file_chunks(*, db: Database, stored: StoredFile) -> Iterator[bytes]:
    """The file's bytes, piece by piece, each read in its own short transaction (for a
    response streamed after the request's session is closed)."""
    file_id, n_chunks = stored.id, stored.n_chunks
    for seq in range(n_chunks):
        with db.read_session() as session:
            data = session.scalar(
                select(StoredFileChunk.data).where(
                    StoredFileChunk.file_id == file_id, StoredFileChunk.seq == seq
                )
            )
        if data is None:
            raise RuntimeError(f"file {file_id} lost its chunk {seq}")
        yield bytes(data)
