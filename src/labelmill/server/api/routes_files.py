"""Stored files (uploaded or imported through ``/v1/files``): their bytes, for the members
of the file's organization. Another organization's file is a 404, like an unknown one."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from labelmill.server.api.deps import DbDep, presented_key
from labelmill.server.db.base import utcnow
from labelmill.server.policies import Permission, require
from labelmill.server.services import file_links, files
from labelmill.server.services.auth import authenticate

router = APIRouter(prefix="/api", tags=["files"])

SHA256_HEADER = "X-Labelmill-Content-Sha256"


@router.get("/files/{public_id}")
def download_file(
    public_id: str,
    request: Request,
    db: DbDep,
    expires: int | None = None,
    signature: str | None = None,
) -> StreamingResponse:
    """The file's bytes as stored, with its type, length and SHA-256. Always sent as an
    attachment and never sniffed: a stored file is the client's content, not this API's.

    Read with a key of the file's organization, or without one through a signed link (what
    an annotator's task shows for a ``scaledata://`` attachment, ``services/file_links``)."""
    with db.read_session() as session:
        if signature is not None and expires is not None:
            stored = file_links.file_by_link(
                session=session,
                public_id=public_id,
                expires=expires,
                signature=signature,
                now=utcnow(),
            )
        else:
            principal = authenticate(session=session, secret=presented_key(request))
            stored = files.get_file(session=session, org_id=principal.org_id, public_id=public_id)
            require(principal, Permission.READ)
    disposition = "attachment"
    if stored.display_name:
        disposition += f"; filename*=UTF-8''{quote(stored.display_name, safe='')}"
    return StreamingResponse(
        files.file_chunks(db=db, stored=stored),
        media_type=stored.mime_type,
        headers={
            "Content-Disposition": disposition,
            "Content-Length": str(stored.byte_size),
            "ETag": f'"{stored.sha256}"',
            "X-Content-Type-Options": "nosniff",
            SHA256_HEADER: stored.sha256,
        },
    )
