"""Shared plumbing for the benchmarks: fresh databases, a ``labelmill serve`` subprocess,
an organization with a staffed pool and workers, and /proc readings of the server.

Nothing here is timed. The organization and its owner key are made through the services
(there is no HTTP route that creates an organization); everything else goes through the API.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432"
PG_DB = os.environ.get("LABELMILL_BENCH_PG_DB", "lm_bench")
ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
CATEGORIES = ["cat", "dog", "bird"]


# -- databases --------------------------------------------------------------------------------


@dataclass
class DbTarget:
    """Where a run's data lives: a fresh SQLite data dir or a fresh PostgreSQL database."""

    kind: str  # "sqlite" | "postgresql"
    data_dir: Path
    database_url: str | None = None

    def env(self) -> dict[str, str]:
        env = {"LABELMILL_DATA_DIR": str(self.data_dir)}
        if self.database_url:
            env["LABELMILL_DATABASE_URL"] = self.database_url
        return env

    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
        return f"sqlite:///{self.data_dir / 'labelmill.db'}"

    def cleanup(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.kind == "postgresql":
            _psql(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qAt", "-c", sql],
        check=True,
        capture_output=True,
    )


def fresh_db(kind: str) -> DbTarget:
    data_dir = Path(tempfile.mkdtemp(prefix=f"lm-bench-{kind}-"))
    if kind == "sqlite":
        return DbTarget(kind, data_dir)
    if kind != "postgresql":
        raise ValueError(kind)
    _psql(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    _psql(f'CREATE DATABASE "{PG_DB}"')
    return DbTarget(kind, data_dir, f"{PG_ADMIN}/{PG_DB}")


def bootstrap_org(target: DbTarget, name: str = "bench") -> str:
    """Migrate the empty database and create an organization; returns its owner key."""
    from labelmill.server.db import migrate
    from labelmill.server.db.engine import make_database
    from labelmill.server.services import tenancy
    from labelmill.server.services.auth import CLI_ADMIN
    from labelmill.server.settings import Settings

    settings = Settings(data_dir=target.data_dir, database_url=target.database_url)
    db = make_database(settings)
    try:
        migrate.upgrade(db.engine)
        with db.write_session() as session:
            org = tenancy.create_org(session=session, name=name, actor=CLI_ADMIN)
            minted = tenancy.create_key(
                session=session,
                request=tenancy.KeyRequest(
                    org=org, user=None, role="owner", is_test=False, name=""
                ),
                actor=CLI_ADMIN,
            )
            return minted.secret
    finally:
        db.dispose()


# -- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def proc_status_kb(pid: int, key: str) -> int:
    """A ``VmRSS`` / ``VmHWM`` line of /proc/PID/status, in KiB (0 when gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Server:
    target: DbTarget
    processes: int = 1
    worker: bool = True
    tune: str | None = None  # experimental tunings: see bench/_tuned_server.py
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        env = {**os.environ, **self.target.env()}
        cmd = [
            str(Path(sys.executable).parent / "labelmill"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--processes",
            str(self.processes),
        ]
        if not self.worker:
            cmd.append("--no-worker")
        if self.tune is not None:
            cmd = [
                sys.executable,
                str(ROOT / "_tuned_server.py"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--tune",
                self.tune,
            ]
        self.log_path = self.target.data_dir / f"server-{self.port}.log"
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    if self.processes == 1 or len(self.pids()) > self.processes:
                        return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not become healthy")

    def pids(self) -> list[int]:
        """The serving processes: the process itself, plus uvicorn's workers if several."""
        assert self.proc is not None
        return [self.proc.pid, *_children(self.proc.pid)]

    def serving_pids(self) -> list[int]:
        pids = self.pids()
        return pids[1:] if self.processes > 1 and len(pids) > 1 else pids[:1]

    def cpu_seconds(self) -> float:
        return sum(proc_cpu_seconds(p) for p in self.pids())

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the workforce and the project, through the API -------------------------------------------


@dataclass
class Setup:
    owner_key: str
    project_id: int
    batch_id: int
    worker_keys: list[str]


def _check(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.request.url}: "
            f"{response.status_code} {response.text[:500]}"
        )
    return response.json() if response.content else {}


def make_project(
    http: httpx.Client,
    *,
    min_labels: int = 3,
    max_labels: int = 3,
    lease_seconds: int = 300,
    name: str = "bench",
) -> tuple[int, int]:
    project = _check(
        http.post(
            "/api/projects",
            json={
                "name": name,
                "task_type": "categorization",
                "params": {"instruction": "What animal is this?", "categories": CATEGORIES},
                "min_labels": min_labels,
                "max_labels": max_labels,
                "lease_seconds": lease_seconds,
            },
        )
    )
    batch = _check(
        http.post(f"/api/projects/{project['id']}/batches", json={"name": "b1", "start": False})
    )
    return int(project["id"]), int(batch["id"])


def task_rows(start: int, count: int, *, unique_prefix: str | None = "t") -> list[dict[str, Any]]:
    rows = []
    for i in range(start, start + count):
        row: dict[str, Any] = {
            "params": {"attachment": f"A photo of animal number {i}, taken outdoors."},
            "metadata": {"source": "bench", "row": i},
        }
        if unique_prefix is not None:
            row["unique_id"] = f"{unique_prefix}-{i}"
        rows.append(row)
    return rows


def setup_workforce(server: Server, owner_key: str, *, workers: int, tasks: int) -> Setup:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {owner_key}"}, timeout=120
    ) as http:
        pool = _check(http.post("/api/pools", json={"name": "bench-pool"}))
        project_id, batch_id = make_project(http)
        _check(http.post(f"/api/projects/{project_id}/staffing", json={"pool_id": pool["id"]}))
        keys = []
        for i in range(workers):
            created = _check(
                http.post("/api/workers", json={"name": f"w{i}", "pool_id": pool["id"]})
            )
            keys.append(created["api_key"])
        for start in range(0, tasks, 10_000):
            n = min(10_000, tasks - start)
            _check(
                http.post(
                    f"/api/projects/{project_id}/tasks",
                    json={"batch_id": batch_id, "tasks": task_rows(start, n)},
                )
            )
        # Start only once filled: the background worker completes an in-progress batch that
        # has nothing pending, including one that is still empty (reported on issue 2).
        _check(http.post(f"/api/batches/{batch_id}/start"))
        return Setup(owner_key, project_id, batch_id, keys)


# -- the machine ------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem_kb = int(line.split()[1])
    try:
        pg = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-qAt",
                "-c",
                "show server_version",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pg = None
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg,
        "loadavg_at_start": os.getloadavg(),
    }


def git_rev() -> str:
    """HEAD, with "+dirty" when src/ has uncommitted changes (others edit this checkout)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"
