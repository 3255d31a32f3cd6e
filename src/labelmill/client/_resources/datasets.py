"""``client.datasets``: versioned dataset snapshots of a project's results."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from labelmill.client._pagination import iterate_pages
from labelmill.client._resources._base import Resource
from labelmill.schemas import DatasetCreate, DatasetRead, Page

SHA256_HEADER = "X-Labelmill-Content-Sha256"


class DatasetIntegrityError(Exception):
    """A downloaded file does not hash to the snapshot's SHA-256 (a broken transfer); the
    file was not kept."""


@dataclass(frozen=True, slots=True)
class DatasetDownload:
    dataset_id: int
    path: Path | None
    """Where the file was written (None: written to a stream)."""
    byte_size: int
    sha256: str
    """Verified: the bytes written hash to the snapshot's SHA-256."""


class Datasets(Resource):
    def create(
        self,
        project_id: int,
        *,
        format: str = "jsonl",
        options: dict[str, Any] | None = None,
        status: Literal["completed", "all"] = "completed",
        include_gold: bool = False,
        batch_id: int | None = None,
    ) -> DatasetRead:
        """Export the project now as ``format`` (``jsonl``, ``csv`` or a registered format
        such as ``coco`` or ``trl-dpo``, with its ``options``) and keep the file as a
        snapshot; returns it once complete (id, rows, size, SHA-256, answers' version)."""
        body = DatasetCreate(
            format=format,
            options=options or {},
            status=status,
            include_gold=include_gold,
            batch_id=batch_id,
        )
        return self._post(
            f"/api/projects/{project_id}/datasets",
            DatasetRead,
            json=body.model_dump(mode="json"),
        )

    def get(self, dataset_id: int) -> DatasetRead:
        return self._get(f"/api/datasets/{dataset_id}", DatasetRead)

    def list(
        self, project_id: int, *, cursor: str | None = None, limit: int | None = None
    ) -> Page[DatasetRead]:
        """The project's snapshots, oldest first (one page)."""
        return self._page(
            f"/api/projects/{project_id}/datasets", DatasetRead, cursor=cursor, limit=limit
        )

    def iter(self, project_id: int, *, page_size: int | None = None) -> Iterator[DatasetRead]:
        return iterate_pages(lambda cursor: self.list(project_id, cursor=cursor, limit=page_size))

    def write_to(
        self,
        dataset_id: int,
        out: IO[bytes],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> DatasetDownload:
        """Stream the snapshot's file into ``out`` and verify its SHA-256 at the end
        (``DatasetIntegrityError`` when it differs). ``progress(bytes_so_far)`` is called
        as the bytes arrive. Memory holds one network chunk."""
        digest = hashlib.sha256()
        written = 0
        with self._http.stream("GET", f"/api/datasets/{dataset_id}/download") as response:
            expected = response.headers.get(SHA256_HEADER)
            for chunk in response.iter_bytes():
                digest.update(chunk)
                written += out.write(chunk)
                if progress is not None:
                    progress(written)
        actual = digest.hexdigest()
        if expected is None:
            expected = self.get(dataset_id).sha256
        if actual != expected:
            raise DatasetIntegrityError(
                f"dataset {dataset_id}: the download hashes to {actual}, the snapshot to {expected}"
            )
        return DatasetDownload(dataset_id=dataset_id, path=None, byte_size=written, sha256=actual)

    def download(
        self,
        dataset_id: int,
        path: str | os.PathLike[str],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> DatasetDownload:
        """Download the snapshot's file into ``path``, verifying its SHA-256. The file
        appears only once complete and verified (it is written next to it first)."""
        target = Path(path)
        partial = target.with_name(f".{target.name}.partial")
        try:
            with partial.open("wb") as out:
                done = self.write_to(dataset_id, out, progress=progress)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, target)
        return DatasetDownload(
            dataset_id=dataset_id, path=target, byte_size=done.byte_size, sha256=done.sha256
        )
