"""Where a worker request's time goes, without HTTP: one thread, no concurrency.

Calls, in this process and in sequence, exactly what the two hot routes run after FastAPI has
parsed the request: their units of work ``services.work.lease_next`` / ``services.work.submit``
(one write transaction that authenticates the key and runs the service: services,
SQLAlchemy, driver). ``auth`` alone (``authenticate`` in a read transaction) is timed too,
for scale; it is part of both units. SQLAlchemy cursor events count the statements and time the
driver + database part of each (on PostgreSQL the work loop's own calls go to the driver
directly, so only statements made through SQLAlchemy are counted there). Compare with
``bench/load.py``'s server CPU ms per request (the full HTTP path) to get what uvicorn +
Starlette + FastAPI + pydantic add.

    python bench/request_anatomy.py --db both --n 600
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LABELMILL_BENCH_PG_DB", "lm_bench_anatomy")  # never the load run's db
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import RESULTS, bootstrap_org, fresh_db, machine_info  # noqa: E402
from sqlalchemy import event  # noqa: E402

from labelmill.schemas import BatchCreate, ProjectCreate, Submission, TaskCreate  # noqa: E402
from labelmill.server.db.base import utcnow  # noqa: E402
from labelmill.server.db.engine import make_database  # noqa: E402
from labelmill.server.services import batches, projects, tasks, work, workforce  # noqa: E402
from labelmill.server.services.auth import CLI_ADMIN, authenticate  # noqa: E402
from labelmill.server.settings import Settings  # noqa: E402


class DriverClock:
    def __init__(self) -> None:
        self.statements = 0
        self.seconds = 0.0
        self._t = 0.0

    def before(self, *_: Any) -> None:
        self._t = time.perf_counter()

    def after(self, *_: Any) -> None:
        self.seconds += time.perf_counter() - self._t
        self.statements += 1


def by_package(profiler: cProfile.Profile) -> dict[str, float]:
    """Self (tottime) seconds grouped by the package of each function."""
    stats = pstats.Stats(profiler)
    groups: dict[str, float] = {}
    for (filename, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        tottime = row[2]
        if "sqlalchemy" in filename:
            group = "sqlalchemy"
        elif "labelmill" in filename:
            group = "labelmill"
        elif "pydantic" in filename:
            group = "pydantic"
        elif filename == "~" and ("sqlite3" in name or "execute" in name or "commit" in name):
            group = f"C: {name}"
        elif "psycopg" in filename:
            group = "psycopg"
        elif filename == "~":
            group = f"C: {name}"
        else:
            group = "other python: " + Path(filename).name
        groups[group] = groups.get(group, 0.0) + tottime
    return dict(sorted(groups.items(), key=lambda kv: -kv[1]))


def measure(kind: str, n: int, workers: int, profile: bool = False) -> dict[str, Any]:
    target = fresh_db(kind)
    try:
        bootstrap_org(target, name="anatomy")
        settings = Settings(
            data_dir=target.data_dir, database_url=target.database_url, run_worker=False
        )
        db = make_database(settings)
        with db.write_session() as session:
            from labelmill.server.services import tenancy

            org = tenancy.get_org_by_name(session=session, name="anatomy")
            pool = workforce.create_pool(session=session, org_id=org.id, name="p", actor=CLI_ADMIN)
            project = projects.create_project(
                session=session,
                org_id=org.id,
                spec=ProjectCreate(
                    name="p",
                    task_type="categorization",
                    params={"categories": ["cat", "dog", "bird"]},
                    min_labels=3,
                    max_labels=3,
                ),
                default_lease_seconds=300,
                actor=CLI_ADMIN,
            )
            workforce.add_staffing(session=session, project=project, pool=pool, actor=CLI_ADMIN)
            batch = batches.create_batch(
                session=session,
                project=project,
                spec=BatchCreate(name="b", start=True),
                actor=CLI_ADMIN,
            )
            tasks.create_tasks(
                session=session,
                project=project,
                batch_id=batch.id,
                max_tasks=10**6,
                specs=[TaskCreate(params={"attachment": f"item {i}"}) for i in range(n)],
                actor=CLI_ADMIN,
            )
            keys = [
                workforce.create_worker(
                    session=session,
                    org_id=org.id,
                    name=f"w{i}",
                    email=None,
                    pool=pool,
                    reviewer=False,
                    actor=CLI_ADMIN,
                ).api_key
                for i in range(workers)
            ]
            project_id = project.id

        clock = DriverClock()
        event.listen(db.engine, "before_cursor_execute", clock.before)
        event.listen(db.engine, "after_cursor_execute", clock.after)

        samples: dict[str, list[tuple[float, float, int, float]]] = {
            "auth": [],
            "next_task": [],
            "submit": [],
        }

        def timed(name: str, fn: Callable[[], Any]) -> Any:
            s0, d0 = clock.statements, clock.seconds
            w0, c0 = time.perf_counter(), time.thread_time()
            result = fn()
            samples[name].append(
                (
                    (time.perf_counter() - w0) * 1000,
                    (time.thread_time() - c0) * 1000,
                    clock.statements - s0,
                    (clock.seconds - d0) * 1000,
                )
            )
            return result

        def auth(key: str) -> Any:
            with db.read_session() as session:
                return authenticate(session=session, secret=key)

        rng = random.Random(0)
        profiler = cProfile.Profile() if profile else None
        for i in range(n):
            if profiler is not None and i == min(50, n // 10):
                profiler.enable()
            key = keys[i % workers]
            principal = timed("auth", lambda key=key: auth(key))
            assert principal is not None
            lease = timed(
                "next_task",
                lambda key=key: work.lease_next(
                    db, secret=key, project_id=project_id, now=utcnow(), rng=rng
                ),
            )
            if lease is None:
                break
            body = Submission(response={"category": "cat"}, duration_ms=1000)
            timed(
                "submit",
                lambda lease=lease, key=key, body=body: work.submit(
                    db,
                    secret=key,
                    assignment_id=lease.assignment_id,
                    response=body.response,
                    duration_ms=body.duration_ms,
                    now=utcnow(),
                    rng=rng,
                ),
            )
        if profiler is not None:
            profiler.disable()
        db.dispose()
    finally:
        target.cleanup()

    skip = min(50, n // 10)  # warm-up: statement compilation, pool fill
    out: dict[str, Any] = {"db": kind, "calls": n - skip}
    for name, rows in samples.items():
        rows = rows[skip:]
        out[name] = {
            "wall_ms_median": round(statistics.median(r[0] for r in rows), 3),
            "cpu_ms_median": round(statistics.median(r[1] for r in rows), 3),
            "statements": round(statistics.mean(r[2] for r in rows), 2),
            "driver_ms_median": round(statistics.median(r[3] for r in rows), 3),
        }
    if profiler is not None:
        groups = by_package(profiler)
        total = sum(groups.values())
        out["cprofile_self_share"] = {k: round(v / total, 4) for k, v in list(groups.items())[:25]}
        out["cprofile_total_s"] = round(total, 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--n", type=int, default=600, help="next+submit pairs")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--cprofile", action="store_true", help="self time by package")
    parser.add_argument("--out")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [measure(kind, args.n, args.workers, args.cprofile) for kind in kinds]
    for r in results:
        print(f"== {r['db']} ({r['calls']} calls, medians; driver = cursor.execute incl. DB)")
        for name in ("auth", "next_task", "submit"):
            x = r[name]
            print(
                f"  {name:10s} wall {x['wall_ms_median']:6.2f} ms  cpu {x['cpu_ms_median']:6.2f} ms"
                f"  statements {x['statements']:5.1f}  driver {x['driver_ms_median']:6.2f} ms"
            )
        for group, share in r.get("cprofile_self_share", {}).items():
            print(f"    {share:6.1%}  {group}")
    out = Path(args.out) if args.out else RESULTS / f"anatomy-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps({"machine": machine_info(), "results": results}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
