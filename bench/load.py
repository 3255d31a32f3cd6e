"""Load benchmark of the annotation loop (issue 2, "Benchmark required").

K simulated annotators (default K = 1, 8, 32) run in THIS process (asyncio, one keep-alive
connection per annotator: the lean client of ``_lean_http.py`` on uvloop by default, or an
httpx AsyncClient with ``--client httpx``) against a ``labelmill serve``
subprocess on loopback. Each loops next-task -> submit for ``--duration`` seconds. Every
(database, processes, K, repetition) gets a fresh database and a fresh server; set-up (org,
pool, K workers, project with min_labels = max_labels = 3, tasks) is not timed.

Reported per run: completed annotations/s (HTTP 200 submits / measured wall time), p50/p95/p99
latency of next-task and of submit, errors by status code, server and client CPU seconds
(so per-request server CPU can be read off), and over-assignment read from the database after
the run: tasks with more annotations than 3 (the fixed target) or than their label_target,
(task, worker) pairs annotated twice, tasks with leases + annotations above target, and
counter drift (task.n_annotations vs. rows in annotation).

    python bench/load.py --db both --processes 1 2 --ks 1 8 32 --repeat 3 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lean_http import LeanConnection  # noqa: E402
from _setup import (  # noqa: E402
    CATEGORIES,
    RESULTS,
    Server,
    bootstrap_org,
    fresh_db,
    git_rev,
    machine_info,
    setup_workforce,
)


@dataclass
class Stats:
    next_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    submitted: int = 0
    leased: int = 0
    empty: int = 0  # next-task answered 204
    errors: Counter[str] = field(default_factory=Counter)


async def annotator(
    url: str, key: str, project_id: int, stop_at: float, max_count: int, stats: Stats, seed: int
) -> None:
    rng = random.Random(seed)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=limits, timeout=60
    ) as http:
        done = 0
        while time.perf_counter() < stop_at and done < max_count:
            t0 = time.perf_counter()
            try:
                r = await http.post(f"/api/work/projects/{project_id}/next")
            except httpx.HTTPError as exc:
                stats.errors[f"next:{type(exc).__name__}"] += 1
                continue
            stats.next_ms.append((time.perf_counter() - t0) * 1000)
            if r.status_code == 204:
                stats.empty += 1
                await asyncio.sleep(0.05)
                continue
            if r.status_code != 200:
                stats.errors[f"next:{r.status_code}"] += 1
                continue
            stats.leased += 1
            assignment = r.json()["assignment_id"]
            body = {"response": {"category": rng.choice(CATEGORIES)}, "duration_ms": 1000}
            t0 = time.perf_counter()
            try:
                r = await http.post(f"/api/work/assignments/{assignment}/submit", json=body)
            except httpx.HTTPError as exc:
                stats.errors[f"submit:{type(exc).__name__}"] += 1
                continue
            stats.submit_ms.append((time.perf_counter() - t0) * 1000)
            if r.status_code == 200:
                stats.submitted += 1
                done += 1
            else:
                stats.errors[f"submit:{r.status_code}"] += 1


async def lean_annotator(
    url: str, key: str, project_id: int, stop_at: float, max_count: int, stats: Stats, seed: int
) -> None:
    """The same loop as ``annotator`` on the lean client (``_lean_http``)."""
    rng = random.Random(seed)
    parts = urlsplit(url)
    conn = LeanConnection(parts.hostname or "127.0.0.1", parts.port or 80, f"Bearer {key}")
    next_path = f"/api/work/projects/{project_id}/next"
    done = 0
    try:
        while time.perf_counter() < stop_at and done < max_count:
            t0 = time.perf_counter()
            try:
                status, payload = await conn.post(next_path)
            except ConnectionError as exc:
                stats.errors[f"next:{type(exc).__name__}"] += 1
                continue
            stats.next_ms.append((time.perf_counter() - t0) * 1000)
            if status == 204:
                stats.empty += 1
                await asyncio.sleep(0.05)
                continue
            if status != 200:
                stats.errors[f"next:{status}"] += 1
                continue
            stats.leased += 1
            assignment = json.loads(payload)["assignment_id"]
            body = json.dumps(
                {"response": {"category": rng.choice(CATEGORIES)}, "duration_ms": 1000}
            ).encode()
            t0 = time.perf_counter()
            try:
                status, _ = await conn.post(f"/api/work/assignments/{assignment}/submit", body)
            except ConnectionError as exc:
                stats.errors[f"submit:{type(exc).__name__}"] += 1
                continue
            stats.submit_ms.append((time.perf_counter() - t0) * 1000)
            if status == 200:
                stats.submitted += 1
                done += 1
            else:
                stats.errors[f"submit:{status}"] += 1
    finally:
        await conn.close()


async def drive(
    url: str,
    keys: list[str],
    project_id: int,
    duration: float,
    max_count: int,
    client: str = "lean",
) -> tuple[Stats, float]:
    stats = Stats()
    start = time.perf_counter()
    stop_at = start + duration
    loop = lean_annotator if client == "lean" else annotator
    await asyncio.gather(
        *(loop(url, k, project_id, stop_at, max_count, stats, i) for i, k in enumerate(keys))
    )
    return stats, time.perf_counter() - start


async def _health_loop(url: str, stop_at: float, lat: list[float]) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            await http.get("/api/health")
            lat.append((time.perf_counter() - t0) * 1000)


def floor_once(k: int, duration: float, tune: str | None) -> dict[str, Any]:
    """The framework floor: K clients on GET /api/health (a sync route, no auth, no SQL)."""
    target = fresh_db("sqlite")
    try:
        with Server(target, tune=tune) as server:
            cpu0, client0 = server.cpu_seconds(), time.process_time()
            lat: list[float] = []

            async def go() -> None:
                stop_at = time.perf_counter() + duration
                await asyncio.gather(*(_health_loop(server.url, stop_at, lat) for _ in range(k)))

            t0 = time.perf_counter()
            asyncio.run(go())
            wall = time.perf_counter() - t0
            cpu = server.cpu_seconds() - cpu0
            client = time.process_time() - client0
    finally:
        target.cleanup()
    return {
        "k": k,
        "requests_per_s": round(len(lat) / wall, 1),
        "p50_ms": pct(lat, 0.5),
        "p99_ms": pct(lat, 0.99),
        "server_cpu_ms_per_request": round(cpu * 1000 / len(lat), 3),
        "client_cpu_ms_per_request": round(client * 1000 / len(lat), 3),
        "tune": tune,
    }


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def integrity(db_url: str, target: int) -> dict[str, int]:
    engine = create_engine(db_url)
    queries = {
        "tasks_over_max_labels": f"""select count(*) from (select task_id from annotation
            group by task_id having count(*) > {target}) x""",
        "tasks_over_label_target": """select count(*) from task t where
            (select count(*) from annotation a where a.task_id = t.id) > t.label_target""",
        "duplicate_worker_annotations": """select count(*) from (select task_id, worker_id
            from annotation group by task_id, worker_id having count(*) > 1) x""",
        "tasks_leases_plus_annotations_over_target": """select count(*) from task
            where open_leases + n_annotations > label_target""",
        "counter_drift": """select count(*) from task t where t.n_annotations !=
            (select count(*) from annotation a where a.task_id = t.id)""",
        "annotations_in_db": "select count(*) from annotation",
        "tasks_completed": "select count(*) from task where status = 'completed'",
    }
    try:
        with engine.connect() as conn:
            return {
                name: int(conn.execute(text(sql)).scalar_one()) for name, sql in queries.items()
            }
    finally:
        engine.dispose()


def run_once(
    kind: str,
    processes: int,
    k: int,
    *,
    duration: float,
    warmup: float,
    max_count: int,
    tasks: int,
    pyspy: str | None,
    gil: bool = True,
    tune: str | None = None,
    analyze: bool = False,
    client: str = "lean",
) -> dict[str, Any]:
    target = fresh_db(kind)
    try:
        owner = bootstrap_org(target)
        with Server(target, processes=processes, tune=tune) as server:
            setup = setup_workforce(server, owner, workers=k, tasks=tasks)
            if analyze:  # experiment: fresh planner statistics after the bulk import
                engine = create_engine(target.sqlalchemy_url())
                with engine.begin() as conn:
                    conn.execute(text("ANALYZE"))
                engine.dispose()
            if warmup > 0:  # first requests compile statements, fill pools; not measured
                asyncio.run(
                    drive(server.url, setup.worker_keys, setup.project_id, warmup, 10**9, client)
                )
            spy = None
            if pyspy:
                spy = subprocess.Popen(
                    [
                        "py-spy",
                        "record",
                        "--pid",
                        str(server.serving_pids()[0]),
                        "-d",
                        str(int(duration)),
                        "-r",
                        "200",
                        "--format",
                        "raw",
                        "-o",
                        pyspy,
                        "--nonblocking",
                        *(["--gil"] if gil else []),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            load0 = os.getloadavg()[0]
            server_cpu0, client_cpu0 = server.cpu_seconds(), time.process_time()
            stats, wall = asyncio.run(
                drive(server.url, setup.worker_keys, setup.project_id, duration, max_count, client)
            )
            server_cpu = server.cpu_seconds() - server_cpu0
            client_cpu = time.process_time() - client_cpu0
            if spy is not None:
                spy.wait(duration + 30)
            load1 = os.getloadavg()[0]
        checks = integrity(target.sqlalchemy_url(), 3)
    finally:
        target.cleanup()
    requests = len(stats.next_ms) + len(stats.submit_ms)
    return {
        "db": kind,
        "processes": processes,
        "k": k,
        "duration_s": round(wall, 3),
        "annotations_per_s": round(stats.submitted / wall, 1),
        "submitted": stats.submitted,
        "leased": stats.leased,
        "next_204": stats.empty,
        "next_ms": {
            q: pct(stats.next_ms, v) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
        },
        "submit_ms": {
            q: pct(stats.submit_ms, v) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
        },
        "errors": dict(stats.errors),
        "server_cpu_s": round(server_cpu, 2),
        "client_cpu_s": round(client_cpu, 2),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / requests, 3) if requests else None,
        "client_cpu_ms_per_request": round(client_cpu * 1000 / requests, 3) if requests else None,
        "loadavg_1m": [round(load0, 2), round(load1, 2)],
        "integrity": checks,
        "tune": tune,
        "analyze": analyze,
        "client": client,
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(get: Any) -> Any:
        values = [v for v in (get(r) for r in runs) if v is not None]
        return round(statistics.median(values), 2) if values else None

    errors: Counter[str] = Counter()
    for r in runs:
        errors.update(r["errors"])
    over = {
        key: sum(r["integrity"][key] for r in runs)
        for key in (
            "tasks_over_max_labels",
            "tasks_over_label_target",
            "duplicate_worker_annotations",
            "tasks_leases_plus_annotations_over_target",
            "counter_drift",
        )
    }
    return {
        "db": runs[0]["db"],
        "processes": runs[0]["processes"],
        "k": runs[0]["k"],
        "runs": len(runs),
        "annotations_per_s": med(lambda r: r["annotations_per_s"]),
        "annotations_per_s_all": [r["annotations_per_s"] for r in runs],
        "next_ms": {q: med(lambda r, q=q: r["next_ms"][q]) for q in ("p50", "p95", "p99")},
        "submit_ms": {q: med(lambda r, q=q: r["submit_ms"][q]) for q in ("p50", "p95", "p99")},
        "server_cpu_ms_per_request": med(lambda r: r["server_cpu_ms_per_request"]),
        "client_cpu_ms_per_request": med(lambda r: r["client_cpu_ms_per_request"]),
        "errors_total": dict(errors),
        "integrity_total": over,
    }


def table(summary: list[dict[str, Any]]) -> str:
    head = (
        "| DB | procs | K | ann/s | next p50/p95/p99 ms | submit p50/p95/p99 ms "
        "| srv CPU ms/req | errors | over-assigned |"
    )
    lines = [head, "|" + "---|" * 9]
    for s in summary:
        n, sb = s["next_ms"], s["submit_ms"]
        over = (
            s["integrity_total"]["tasks_over_max_labels"]
            + s["integrity_total"]["duplicate_worker_annotations"]
        )
        lines.append(
            f"| {s['db']} | {s['processes']} | {s['k']} | {s['annotations_per_s']} "
            f"| {n['p50']} / {n['p95']} / {n['p99']} | {sb['p50']} / {sb['p95']} / {sb['p99']} "
            f"| {s['server_cpu_ms_per_request']} | {sum(s['errors_total'].values()) or 0} "
            f"| {over} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--processes",
        type=int,
        nargs="+",
        default=[1, 2],
        help="server processes to try on PostgreSQL (SQLite always uses 1)",
    )
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument(
        "--client",
        choices=["lean", "httpx"],
        default="lean",
        help="load generator's HTTP client (lean: bench/_lean_http.py, ~5x less CPU)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--max-per-worker", type=int, default=10**9)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument(
        "--pyspy",
        help="record a py-spy raw profile of the server to this "
        "path (suffixed per run) while measuring",
    )
    parser.add_argument(
        "--pyspy-all-threads",
        action="store_true",
        help="sample every non-idle thread (wall time) instead of only the "
        "thread holding the GIL (Python CPU time)",
    )
    parser.add_argument(
        "--tune",
        help="run bench/_tuned_server.py with these tunings "
        "(e.g. threads=4,auth_cache=30) instead of labelmill serve",
    )
    parser.add_argument("--out", help="result JSON path (default bench/results/load-<ts>.json)")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="experiment: run ANALYZE after set-up (fresh planner statistics)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="only measure GET /api/health (framework floor) at each K",
    )
    args = parser.parse_args()
    if args.client == "lean":
        import uvloop  # comes with uvicorn[standard]; a cheaper event loop for the client

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if args.floor:
        for k in args.ks:
            print(json.dumps(floor_once(k, args.duration, args.tune)), flush=True)
        return

    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    configs = [
        (kind, p) for kind in kinds for p in (args.processes if kind == "postgresql" else [1])
    ]
    started = datetime.now(UTC)
    runs: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    for kind, processes in configs:
        for k in args.ks:
            group = []
            for rep in range(args.repeat):
                spy = f"{args.pyspy}.{kind}-p{processes}-k{k}-r{rep}.txt" if args.pyspy else None
                run = run_once(
                    kind,
                    processes,
                    k,
                    duration=args.duration,
                    warmup=args.warmup,
                    max_count=args.max_per_worker,
                    tasks=args.tasks,
                    pyspy=spy,
                    gil=not args.pyspy_all_threads,
                    tune=args.tune,
                    analyze=args.analyze,
                    client=args.client,
                )
                run["repetition"] = rep
                print(
                    json.dumps(
                        {
                            key: run[key]
                            for key in (
                                "db",
                                "processes",
                                "k",
                                "annotations_per_s",
                                "next_ms",
                                "submit_ms",
                                "errors",
                                "server_cpu_ms_per_request",
                                "client_cpu_ms_per_request",
                                "loadavg_1m",
                            )
                        }
                    ),
                    flush=True,
                )
                print("   integrity:", run["integrity"], flush=True)
                group.append(run)
                runs.append(run)
            summary.append(median_of(group))
    result = {
        "benchmark": "load",
        "started": started.isoformat(timespec="seconds"),
        "git": git_rev(),
        "machine": machine_info(),
        "args": vars(args),
        "summary": summary,
        "runs": runs,
    }
    out = Path(args.out) if args.out else RESULTS / f"load-{started:%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print()
    print(table(summary))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
