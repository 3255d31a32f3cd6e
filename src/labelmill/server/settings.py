"""The one place that reads configuration: environment variables prefixed ``LABELMILL_``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Server and CLI settings.

    The database defaults to SQLite in WAL mode inside ``data_dir`` so that ``labelmill serve``
    works on a fresh machine; set ``LABELMILL_DATABASE_URL`` to a ``postgresql://`` URL for
    production, where several server and worker processes share one database.
    """

    model_config = SettingsConfigDict(env_prefix="LABELMILL_", extra="ignore")

    data_dir: Path = Path("labelmill-data")
    database_url: str | None = None
    # SQLite durability: NORMAL in WAL mode survives a process crash (kill -9); FULL also
    # survives power loss at the cost of an fsync per commit.
    sqlite_synchronous: str = "NORMAL"
    default_lease_seconds: int = Field(default=300, ge=5, le=86_400)
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    max_tasks_per_request: int = Field(default=10_000, ge=1)
    run_worker: bool = True
    worker_poll_seconds: float = Field(default=0.5, gt=0)
    lease_sweep_seconds: float = Field(default=1.0, gt=0)
    # How often the background worker re-derives the confidence targets of projects that
    # match a fixed overlap (skills drift slowly; each refresh simulates the crowd).
    overlap_refresh_seconds: float = Field(default=30.0, gt=0)
    job_max_attempts: int = Field(default=20, ge=1)
    job_backoff_base_seconds: float = Field(default=2.0, gt=0)
    job_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    # Callbacks (task.callback and batch.completed jobs): Scale retries "up to 20 times over
    # the course of the next 24 hours". The delay after the k-th failed attempt is
    # min(max, base * 2**(k-1)) (±25 % jitter, which averages out): with base 30 s and max
    # 2 h, the 19 waits between 20 attempts are 30, 60, …, 3840 s (8 waits, 7,650 s) and then
    # 11 × 7,200 s (79,200 s): 86,850 s ≈ 24.1 h from the first attempt to the last.
    callback_max_attempts: int = Field(default=20, ge=1)
    callback_backoff_base_seconds: float = Field(default=30.0, ge=0)
    callback_backoff_max_seconds: float = Field(default=7200.0, ge=0)
    # One delivery's whole HTTP exchange with the customer's receiver.
    callback_timeout_seconds: float = Field(default=10.0, gt=0)
    pool_size: int = Field(default=20, ge=1)

    @field_validator("sqlite_synchronous")
    @classmethod
    def _known_sync_mode(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError("must be one of OFF, NORMAL, FULL, EXTRA")
        return upper

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: explicit, or SQLite inside the data directory."""
        if self.database_url:
            url = self.database_url
            # Accept the URLs people paste from other tools and pick psycopg 3 as the driver.
            for prefix in ("postgres://", "postgresql://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix) :]
            return url
        return f"sqlite:///{(self.data_dir / 'labelmill.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
