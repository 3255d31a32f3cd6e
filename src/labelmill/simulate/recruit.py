"""Setting up a simulated workforce through the API with an organization key: a pool that
staffs the project, worker accounts in it, and (when the caller keeps it in task metadata)
the hidden truth."""

from __future__ import annotations

from typing import Any, Final

from labelmill.client import Client
from labelmill.schemas import PoolRead

SIMULATED_POOL: Final = "simulated-annotators"
TRUTH_KEY: Final = "_truth"


def ensure_pool(client: Client, name: str) -> PoolRead:
    """The organization's own pool called ``name``, created when missing."""
    org_id = client.me().org_id
    for pool in client.pools.iter(page_size=1000):
        if pool.name == name and pool.org_id == org_id:
            return pool
    return client.pools.create(name)


def recruit_workers(
    client: Client,
    project_id: int,
    n: int,
    *,
    pool_name: str = SIMULATED_POOL,
    name_prefix: str = "simulated",
) -> list[str]:
    """Create ``n`` worker accounts in a pool that staffs the project; return their keys.

    ``client`` holds an owner or manager key of the project's organization.
    """
    client.projects.get(project_id)  # a foreign or unknown project fails here, before writes
    pool = ensure_pool(client, pool_name)
    client.projects.add_staffing(project_id, pool.id)
    return [
        client.workers.create(f"{name_prefix}-{i + 1}", pool_id=pool.id).api_key for i in range(n)
    ]


def truth_from_tasks(client: Client, project_id: int, *, key: str = TRUTH_KEY) -> dict[int, Any]:
    """``task_id → truth`` for the project's pending tasks, read with an organization key
    from metadata ``key`` (or, for gold tasks, from the known answer): a category name for
    categorization, else the true response. Workers never see either."""
    truth: dict[int, Any] = {}
    for task in client.tasks.iter(project_id, status="pending", page_size=1000):
        value = task.metadata.get(key)
        if value is None and task.gold_answer is not None:
            value = task.gold_answer.get("category", task.gold_answer)
        if value is not None:
            truth[task.id] = value
    return truth
