"""Dataset snapshots: create (export now and keep the file), list, get, download.

Creating a snapshot needs only the READ permission, like ``GET /api/projects/{id}/export``
(which records one too): whoever may read a project's results may freeze them.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from labelmill.schemas import DatasetCreate, DatasetRead, Page
from labelmill.server.api.deps import DbDep, PrincipalDep
from labelmill.server.api.paging import CursorDep, page
from labelmill.server.db.engine import Database
from labelmill.server.models import Dataset
from labelmill.server.policies import Permission, require
from labelmill.server.services import datasets, projects

router = APIRouter(prefix="/api", tags=["datasets"])

DATASET_ID_HEADER = "X-Labelmill-Dataset-Id"
SHA256_HEADER = "X-Labelmill-Content-Sha256"


def file_response(db: Database, dataset: Dataset) -> StreamingResponse:
    """The snapshot's stored bytes, streamed, with its length, hash, id and file name."""
    return StreamingResponse(
        datasets.file_chunks(db=db, dataset=dataset),
        media_type=dataset.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{dataset.filename}"',
            "Content-Length": str(dataset.byte_size),
            "ETag": f'"{dataset.sha256}"',
            DATASET_ID_HEADER: str(dataset.id),
            SHA256_HEADER: str(dataset.sha256),
        },
    )


@router.post("/projects/{project_id}/datasets", status_code=201)
def create_dataset(
    project_id: int, body: DatasetCreate, principal: PrincipalDep, db: DbDep
) -> DatasetRead:
    """Export the project now and keep the file as a snapshot (returned once complete)."""
    with db.read_session() as session:
        project = projects.get_project(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        require(principal, Permission.READ)
        spec = datasets.export_spec(session=session, project=project, request=body)
    dataset = datasets.create_snapshot(db=db, project=project, spec=spec, actor=principal)
    return DatasetRead.model_validate(dataset)


@router.get("/projects/{project_id}/datasets")
def list_datasets(
    project_id: int, principal: PrincipalDep, db: DbDep, cursor: CursorDep
) -> Page[DatasetRead]:
    with db.read_session() as session:
        project = projects.get_project(
            session=session, org_id=principal.org_id, project_id=project_id
        )
        require(principal, Permission.READ)
        rows, next_cursor = datasets.list_datasets(session=session, project=project, cursor=cursor)
        return page(DatasetRead, rows, next_cursor)


@router.get("/datasets/{dataset_id}")
def get_dataset(dataset_id: int, principal: PrincipalDep, db: DbDep) -> DatasetRead:
    with db.read_session() as session:
        dataset = datasets.get_dataset(
            session=session, org_id=principal.org_id, dataset_id=dataset_id
        )
        require(principal, Permission.READ)
        return DatasetRead.model_validate(dataset)


@router.get("/datasets/{dataset_id}/download")
def download_dataset(dataset_id: int, principal: PrincipalDep, db: DbDep) -> StreamingResponse:
    """The snapshot's file exactly as first exported, however the answers changed since."""
    with db.read_session() as session:
        dataset = datasets.get_dataset(
            session=session, org_id=principal.org_id, dataset_id=dataset_id
        )
        require(principal, Permission.READ)
    return file_response(db, dataset)
