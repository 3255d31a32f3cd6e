"""The labelmill Python SDK.

::

    from labelmill.client import Client

    with Client("http://localhost:8000", api_key) as client:
        project = client.projects.create("sentiment", "categorization", params)
        batch = client.batches.create(project.id, "first", start=True)
        client.tasks.create_many(project.id, tasks, batch_id=batch.id)
        for task in client.tasks.iter(project.id, status="completed"):
            ...

Responses are the wire models of ``labelmill.schemas``; errors are the exceptions of
``labelmill.client.errors``.
"""

from labelmill.client._client import DEFAULT_TIMEOUT, Client, Health
from labelmill.client._export import ExportFormat, ExportStatus
from labelmill.client._resources.datasets import DatasetDownload, DatasetIntegrityError
from labelmill.client._resources.tasks import MAX_TASKS_PER_REQUEST
from labelmill.client._sentinel import UNSET
from labelmill.client.errors import (
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

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_TASKS_PER_REQUEST",
    "UNSET",
    "ApiError",
    "AuthError",
    "Client",
    "ConflictError",
    "DatasetDownload",
    "DatasetIntegrityError",
    "ExportFormat",
    "ExportStatus",
    "ForbiddenError",
    "Health",
    "InvalidInputError",
    "MalformedRequestError",
    "NotFoundError",
    "PayloadTooLargeError",
    "ServerError",
]
