"""Real labelmill servers on loopback for concurrency and crash tests.

``LiveServer`` runs ``labelmill serve`` as a subprocess on a free port against the test's
database (the ``backend`` fixture's SQLite file or PostgreSQL schema), waits for
``/api/health``, and can be killed with SIGKILL and started again on the same data.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from labelmill.server.settings import Settings

_START_TIMEOUT_S = 60.0


def free_port() -> int:
    """A port the OS considers free now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """The environment of a server process on ``settings``' database, nothing inherited
    from the caller's own ``LABELMILL_*`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELMILL_")}
    env["LABELMILL_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        env["LABELMILL_DATABASE_URL"] = settings.database_url
    env["LABELMILL_RUN_WORKER"] = "true"
    env.update(overrides)
    return env


@dataclass
class LiveServer:
    """One ``labelmill serve`` subprocess. ``start`` / ``kill`` / ``start`` again reuses the
    same port, data and environment."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        assert self.process is None or self.process.poll() is not None, "already running"
        command = [
            sys.executable,
            "-c",
            "from labelmill.cli import main; main()",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        assert self.process is not None
        with httpx.Client(base_url=self.base_url, timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited at start:\n{self.log_tail()}")
                try:
                    if http.get("/api/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)  # polling for the port to open; bounded by the deadline
        self.stop()
        raise RuntimeError(f"server not healthy after {_START_TIMEOUT_S}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, like a crash (one process: uvicorn runs
        the app in the process it starts with when ``--processes`` is 1)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def assert_log_clean(self) -> None:
        """No traceback or 500 in the server's output."""
        text = self.log_tail(1_000_000)
        assert "Traceback" not in text, text[-4000:]


def wait_for(predicate: object, timeout: float, interval: float = 0.1, what: str = "") -> None:
    """Poll ``predicate()`` until true, failing after ``timeout`` seconds."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


class _ThreadServer(uvicorn.Server):
    """uvicorn that signals when it is ready, so callers wait on an event, not a sleep."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` (the test's own app and database) on loopback in a thread; yields the
    base URL. For concurrency over real HTTP without a subprocess's start-up cost."""
    config = uvicorn.Config(app, log_config=None, ws="none", lifespan="on", access_log=False)
    server = _ThreadServer(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.ready.wait(timeout=0.05):
            if not thread.is_alive():
                raise RuntimeError("the labelmill server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
