"""``/v1/files``: upload a file or import one from a URL, to use as a task attachment
(``scaledata://<id>``; reference/scale_api.md §2.4, §5.2 rows 22-23). Reading one back:
``GET /v1/files/{id}`` (its description) and the native ``GET /api/files/{id}`` (its bytes).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from labelmill.server.errors import InvalidInput
from labelmill.server.models import StoredFile
from labelmill.server.policies import Permission, require
from labelmill.server.scale import serialize
from labelmill.server.scale.routes_projects import org_of
from labelmill.server.scale.transport import BodyDep, DbDep, PrincipalDep, body_str, path_name
from labelmill.server.services import files

router = APIRouter()

_FORM_FIELDS = ("project_name", "display_name", "reference_id", "metadata")


def file_json(stored: StoredFile) -> dict[str, Any]:
    """Scale's File object (the SDK reads ``id`` and ``attachment_url``)."""
    body: dict[str, Any] = {
        "id": stored.public_id,
        "attachment_url": files.attachment_url(stored),
        "created_at": serialize.timestamp(stored.created_at),
        "updated_at": serialize.timestamp(stored.updated_at),
        "mime_type": stored.mime_type,
        "size": stored.byte_size,
        "project_names": list(stored.project_names or []),
        "metadata": stored.meta or {},
    }
    if stored.display_name is not None:
        body["display_name"] = stored.display_name
    if stored.reference_id is not None:
        body["reference_id"] = stored.reference_id
    return body


def _spec(values: dict[str, Any]) -> files.FileSpec:
    return files.FileSpec(
        display_name=body_str(values, "display_name", required=False),
        reference_id=body_str(values, "reference_id", required=False),
        metadata=files.parse_metadata(values.get("metadata")),
        project_name=body_str(values, "project_name", required=False),
    )


@router.post("/files/upload")
async def upload_file(request: Request, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    """Multipart: the part ``file`` plus the form fields ``project_name``, ``display_name``,
    ``reference_id`` and ``metadata`` (a JSON string). The key is checked before the body
    is read; the file is spooled to disk by the multipart parser, then stored."""
    require(principal, Permission.MANAGE)
    org_id = org_of(principal)
    async with request.form(max_files=1, max_fields=len(_FORM_FIELDS) + 4) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("file is required: send it as the multipart/form-data part 'file'")
        values: dict[str, Any] = {}
        for name in _FORM_FIELDS:
            value = form.get(name)
            if isinstance(value, UploadFile):
                raise InvalidInput(f"{name} must be a plain form field, not a file")
            values[name] = value
        spec = _spec(values)
        mime_type = files.mime_type_of(upload.content_type, upload.filename)
        stored = await run_in_threadpool(
            lambda: files.store_file(
                db=db,
                org_id=org_id,
                source=upload.file,
                mime_type=mime_type,
                spec=spec,
                actor=principal,
            )
        )
    return file_json(stored)


@router.post("/files/import")
def import_file(body: BodyDep, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    """JSON ``{"file_url", "project_name"?, "display_name"?, "reference_id"?,
    "metadata"?}``: the server GETs ``file_url`` (http or https) and stores the bytes."""
    require(principal, Permission.MANAGE)
    org_id = org_of(principal)
    file_url = body_str(body, "file_url", required=True)
    assert file_url is not None
    stored = files.import_file(
        db=db, org_id=org_id, file_url=file_url, spec=_spec(body), actor=principal
    )
    return file_json(stored)


@router.get("/files/{public_id}")
def get_file(public_id: str, principal: PrincipalDep, db: DbDep) -> dict[str, Any]:
    """The File object (metadata only; the bytes are at ``GET /api/files/{id}``)."""
    org_id = org_of(principal)
    with db.read_session() as session:
        stored = files.get_file(session=session, org_id=org_id, public_id=path_name(public_id))
        require(principal, Permission.READ)
        return file_json(stored)
