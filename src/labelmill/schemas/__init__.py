"""Wire models of the native API, shared by the server and the SDK."""

from labelmill.schemas.common import ErrorBody, ErrorItem, Health, Page
from labelmill.schemas.datasets import (
    AnswersVersion,
    DatasetCreate,
    DatasetFilters,
    DatasetRead,
)
from labelmill.schemas.jobs import AuditEventRead, JobRead
from labelmill.schemas.projects import (
    BatchCounts,
    BatchCreate,
    BatchRead,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    ProjectVersionRead,
)
from labelmill.schemas.quality import (
    AgreementReport,
    AgreementStats,
    QualityReport,
    TaskStats,
    WorkerQuality,
)
from labelmill.schemas.tasks import (
    AnnotationRead,
    ExistingTask,
    TaskBulkCreate,
    TaskBulkResult,
    TaskCreate,
    TaskRead,
    TaskUpdate,
)
from labelmill.schemas.tenancy import (
    Me,
    PoolCreate,
    PoolMemberAdd,
    PoolMemberRead,
    PoolRead,
    StaffingAdd,
    StaffingRead,
    WorkerCreate,
    WorkerCreated,
)
from labelmill.schemas.work import (
    Heartbeat,
    LeasedTask,
    Submission,
    SubmissionResult,
    WorkerProject,
)

__all__ = [
    "WorkerQuality",
    "TaskStats",
    "QualityReport",
    "AgreementStats",
    "AgreementReport",
    "AnnotationRead",
    "AnswersVersion",
    "AuditEventRead",
    "BatchCounts",
    "BatchCreate",
    "BatchRead",
    "DatasetCreate",
    "DatasetFilters",
    "DatasetRead",
    "ErrorBody",
    "ErrorItem",
    "ExistingTask",
    "Health",
    "Heartbeat",
    "JobRead",
    "LeasedTask",
    "Me",
    "Page",
    "PoolCreate",
    "PoolMemberAdd",
    "PoolMemberRead",
    "PoolRead",
    "ProjectCreate",
    "ProjectRead",
    "ProjectUpdate",
    "ProjectVersionRead",
    "StaffingAdd",
    "StaffingRead",
    "Submission",
    "SubmissionResult",
    "TaskBulkCreate",
    "TaskBulkResult",
    "TaskCreate",
    "TaskRead",
    "TaskUpdate",
    "WorkerCreate",
    "WorkerCreated",
    "WorkerProject",
]
