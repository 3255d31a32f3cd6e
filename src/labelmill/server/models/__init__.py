"""ORM models, one module per aggregate. Importing this package registers every table."""

from labelmill.server.models.dataset import Dataset, DatasetChunk
from labelmill.server.models.job import AuditEvent, Job
from labelmill.server.models.project import Batch, Project, ProjectVersion
from labelmill.server.models.quality import AnswerRevision, Review, WorkerSkill
from labelmill.server.models.stored_file import StoredFile, StoredFileChunk
from labelmill.server.models.task import Task
from labelmill.server.models.tenancy import ApiKey, Membership, Organization, User
from labelmill.server.models.work import Annotation, Assignment
from labelmill.server.models.workforce import PoolMember, ProjectStaffing, WorkforcePool

__all__ = [
    "Annotation",
    "AnswerRevision",
    "ApiKey",
    "Assignment",
    "AuditEvent",
    "Batch",
    "Dataset",
    "DatasetChunk",
    "Job",
    "Membership",
    "Organization",
    "PoolMember",
    "Project",
    "ProjectStaffing",
    "ProjectVersion",
    "Review",
    "StoredFile",
    "StoredFileChunk",
    "Task",
    "User",
    "WorkerSkill",
    "WorkforcePool",
]
