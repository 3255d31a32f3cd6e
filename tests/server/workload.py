"""Simulated annotators over real HTTP: threads with httpx against live servers.

Each annotator loops next → (submit | skip | heartbeat+submit | wait out the lease, then
submit late or abandon) and records what the server acknowledged, so tests can hold the
database to every 200 the server sent.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from tests.factory import CATEGORIES, auth


@dataclass
class Acked:
    annotation_id: int
    task_id: int
    worker_key: str
    late: bool


@dataclass
class RunLog:
    """What the annotators saw; lists are appended from many threads (list.append is atomic)."""

    acked: list[Acked] = field(default_factory=list)
    leased: list[tuple[str, int, int, datetime]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    transport_errors: int = 0
    skips: int = 0
    heartbeats: int = 0
    late_waits: int = 0

    @property
    def late_acked(self) -> list[Acked]:
        return [a for a in self.acked if a.late]


@dataclass(frozen=True)
class Behaviour:
    skip_rate: float = 0.05
    heartbeat_rate: float = 0.05
    # Annotators that let some leases run out: they wait past expiry, then submit late
    # (or, for one in three, abandon the lease).
    late_rate: float = 0.0
    max_late: int = 2
    majority: float = 0.7


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def annotate(
    *,
    base_url: str,
    key: str,
    project_id: int,
    log: RunLog,
    stop: threading.Event,
    deadline: float,
    behaviour: Behaviour,
    seed: int,
    stop_on_transport_error: bool = False,
) -> None:
    """One annotator's loop until ``stop`` is set or ``deadline`` (monotonic) passes."""
    rng = random.Random(seed)
    late_left = behaviour.max_late if behaviour.late_rate > 0 else 0
    with httpx.Client(base_url=base_url, headers=auth(key), timeout=30.0) as http:
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                lease = http.post(f"/api/work/projects/{project_id}/next")
                if lease.status_code == 204:
                    stop.wait(0.05)  # idle annotator backs off; ends at once on stop
                    continue
                if lease.status_code != 200:
                    log.unexpected.append(f"next {lease.status_code} {lease.text}")
                    continue
                body = lease.json()
                assignment = int(body["assignment_id"])
                log.leased.append(
                    (key, assignment, int(body["task_id"]), _parse_time(body["expires_at"]))
                )
                abandon = False
                if late_left > 0 and rng.random() < behaviour.late_rate:
                    late_left -= 1
                    log.late_waits += 1
                    expires = _parse_time(body["expires_at"])
                    # Let the lease run out: wait on the server-given expiry itself.
                    remaining = (expires - datetime.now(UTC)).total_seconds() + 0.05
                    stop.wait(max(0.0, remaining))
                    abandon = rng.random() < 1 / 3
                elif rng.random() < behaviour.skip_rate:
                    skipped = http.post(f"/api/work/assignments/{assignment}/skip")
                    if skipped.status_code != 204:
                        log.unexpected.append(f"skip {skipped.status_code} {skipped.text}")
                    log.skips += 1
                    continue
                elif rng.random() < behaviour.heartbeat_rate:
                    beat = http.post(f"/api/work/assignments/{assignment}/heartbeat")
                    if beat.status_code != 200:
                        log.unexpected.append(f"heartbeat {beat.status_code} {beat.text}")
                    log.heartbeats += 1
                if abandon:
                    continue
                if rng.random() < behaviour.majority:
                    category = CATEGORIES[0]
                else:
                    category = rng.choice(CATEGORIES[1:])
                sent = http.post(
                    f"/api/work/assignments/{assignment}/submit",
                    json={"response": {"category": category}, "duration_ms": rng.randint(1, 9)},
                )
                if sent.status_code == 200:
                    result = sent.json()
                    log.acked.append(
                        Acked(
                            int(result["annotation_id"]),
                            int(result["task_id"]),
                            key,
                            bool(result["late"]),
                        )
                    )
                elif sent.status_code == 409:
                    log.conflicts.append(sent.text)
                else:
                    log.unexpected.append(f"submit {sent.status_code} {sent.text}")
            except httpx.TransportError:
                log.transport_errors += 1
                if stop_on_transport_error:
                    return
                stop.wait(0.05)


def run_annotators(
    *,
    base_urls: Sequence[str],
    keys: Sequence[str],
    project_id: int,
    behaviour: Behaviour,
    seconds: float,
    until: Callable[[], bool],
    log: RunLog | None = None,
    on_tick: Callable[[], None] | None = None,
    stop_on_transport_error: bool = False,
) -> RunLog:
    """Run one thread per key (spread over ``base_urls``) until ``until()`` is true or
    ``seconds`` pass; ``on_tick`` runs in the calling thread between polls (a monitor)."""
    log = log or RunLog()
    stop = threading.Event()
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=annotate,
            kwargs={
                "base_url": base_urls[i % len(base_urls)],
                "key": key,
                "project_id": project_id,
                "log": log,
                "stop": stop,
                "deadline": deadline,
                "behaviour": behaviour,
                "seed": i,
                "stop_on_transport_error": stop_on_transport_error,
            },
            name=f"annotator-{i}",
        )
        for i, key in enumerate(keys)
    ]
    for thread in threads:
        thread.start()
    try:
        while time.monotonic() < deadline and not until():
            if on_tick is not None:
                on_tick()
            if all(not t.is_alive() for t in threads):
                break
            time.sleep(0.1)  # the monitor's sampling period
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "an annotator thread did not stop"
    return log
