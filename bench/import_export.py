"""Import and export benchmark (issue 2, "Benchmark required").

Per database and repetition, on a fresh database and a ``labelmill serve`` subprocess:

* **API import**: 100k categorization tasks (params + metadata + unique_id) posted to
  ``POST /api/projects/{id}/tasks`` in 10 requests of 10,000. Request bodies are encoded
  before the clock starts, so this is the server's rate. Goal >= 25k tasks/s.
* **SDK import**: the same 100k tasks through ``Client.tasks.create_many`` (client-side
  encoding included).
* **CLI import**: ``labelmill import FILE.jsonl`` of the same 100k tasks, wall time of the
  whole command (its local validation pass included) when the command exists.
* **Export**: every task of a 10k and of a 100k project is marked completed (one SQL UPDATE,
  outside the timing, so rows carry a response and a confidence), the server is restarted
  (so its peak RSS starts from a clean baseline) and ``GET /api/projects/{id}/export`` is
  read to the end, as JSONL and as CSV. Goal <= 3 s for 100k. Reported: seconds, rows, MB,
  server VmRSS before and VmHWM (peak RSS) after, and their difference.

    python bench/import_export.py --db both --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import (  # noqa: E402
    RESULTS,
    DbTarget,
    Server,
    bootstrap_org,
    fresh_db,
    git_rev,
    machine_info,
    make_project,
    proc_status_kb,
    task_rows,
)

CHUNK = 10_000


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def api_import(
    server: Server, key: str, project_id: int, n: int, prefix: str | None
) -> dict[str, Any]:
    bodies = [
        orjson.dumps({"tasks": task_rows(start, min(CHUNK, n - start), unique_prefix=prefix)})
        for start in range(0, n, CHUNK)
    ]
    headers = {**_headers(key), "Content-Type": "application/json"}
    cpu0 = server.cpu_seconds()
    with httpx.Client(base_url=server.url, headers=headers, timeout=300) as http:
        t0 = time.perf_counter()
        for body in bodies:
            r = http.post(f"/api/projects/{project_id}/tasks", content=body)
            if r.status_code != 201:
                raise RuntimeError(f"import: {r.status_code} {r.text[:300]}")
        elapsed = time.perf_counter() - t0
    return {
        "tasks": n,
        "seconds": round(elapsed, 3),
        "tasks_per_s": round(n / elapsed),
        "server_cpu_s": round(server.cpu_seconds() - cpu0, 2),
        "body_mb": round(sum(map(len, bodies)) / 1e6, 1),
    }


def sdk_import(
    server: Server, key: str, project_id: int, n: int, prefix: str | None
) -> dict[str, Any]:
    from labelmill.client import Client

    rows = task_rows(0, n, unique_prefix=prefix)
    with Client(server.url, key, timeout=300) as client:
        t0 = time.perf_counter()
        result = client.tasks.create_many(project_id, rows)
        elapsed = time.perf_counter() - t0
    assert result.created == n, result.created
    return {"tasks": n, "seconds": round(elapsed, 3), "tasks_per_s": round(n / elapsed)}


def cli_has_import() -> bool:
    exe = Path(sys.executable).parent / "labelmill"
    return subprocess.run([str(exe), "import", "--help"], capture_output=True).returncode == 0


def cli_import(
    server: Server, key: str, project_id: int, n: int, prefix: str | None
) -> dict[str, Any]:
    exe = Path(sys.executable).parent / "labelmill"
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as f:
        for row in task_rows(0, n, unique_prefix=prefix):
            f.write(orjson.dumps(row) + b"\n")
        path = f.name
    try:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                str(exe),
                "import",
                path,
                "--url",
                server.url,
                "--key",
                key,
                "--project",
                str(project_id),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "100"},
        )
        elapsed = time.perf_counter() - t0
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout)[-500:]}
    last = (proc.stdout.strip().splitlines() or [""])[-1]
    return {
        "tasks": n,
        "seconds": round(elapsed, 3),
        "tasks_per_s": round(n / elapsed),
        "cli_says": last,
    }


def mark_completed(target: DbTarget, project_id: int) -> None:
    engine = create_engine(target.sqlalchemy_url())
    with engine.begin() as conn:
        conn.execute(
            text("""update task set status = 'completed', response = :resp, confidence = 1.0,
                    n_annotations = 3, completed_at = current_timestamp
                    where project_id = :pid"""),
            {"resp": json.dumps({"category": "cat"}), "pid": project_id},
        )
    engine.dispose()


def export_once(server: Server, key: str, project_id: int, fmt: str) -> dict[str, Any]:
    pid = server.serving_pids()[0]
    rss_before = proc_status_kb(pid, "VmRSS")
    hwm_before = proc_status_kb(pid, "VmHWM")
    size = lines = 0
    with httpx.Client(base_url=server.url, headers=_headers(key), timeout=600) as http:
        t0 = time.perf_counter()
        with http.stream(
            "GET",
            f"/api/projects/{project_id}/export",
            params={"format": fmt, "status": "completed"},
        ) as r:
            if r.status_code != 200:
                raise RuntimeError(f"export: {r.status_code} {r.read()[:300]!r}")
            for chunk in r.iter_raw():
                size += len(chunk)
                lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - t0
    hwm_after = proc_status_kb(pid, "VmHWM")
    return {
        "format": fmt,
        "rows": lines - (1 if fmt == "csv" else 0),  # CSV: header line
        "seconds": round(elapsed, 3),
        "rows_per_s": round(lines / elapsed),
        "mb": round(size / 1e6, 1),
        "server_rss_before_mib": round(rss_before / 1024, 1),
        "server_hwm_before_mib": round(hwm_before / 1024, 1),
        "server_hwm_after_mib": round(hwm_after / 1024, 1),
        "server_peak_growth_mib": round((hwm_after - rss_before) / 1024, 1),
    }


def run_once(kind: str, n: int, small: int, with_cli: bool, unique: bool = True) -> dict[str, Any]:
    target = fresh_db(kind)
    out: dict[str, Any] = {
        "db": kind,
        "unique_ids": unique,
        "loadavg_1m_start": round(os.getloadavg()[0], 2),
    }
    try:
        key = bootstrap_org(target)
        with Server(target) as server:
            with httpx.Client(base_url=server.url, headers=_headers(key), timeout=60) as http:
                big, _ = make_project(http, min_labels=1, max_labels=1, name="import-api")
                little, _ = make_project(http, min_labels=1, max_labels=1, name="import-10k")
                sdk_project, _ = make_project(http, min_labels=1, max_labels=1, name="sdk")
                cli_project, _ = make_project(http, min_labels=1, max_labels=1, name="cli")
            out["api_import"] = api_import(server, key, big, n, "api" if unique else None)
            out["api_import_10k"] = api_import(
                server, key, little, small, "small" if unique else None
            )
            out["sdk_import"] = sdk_import(server, key, sdk_project, n, "sdk" if unique else None)
            if with_cli:
                out["cli_import"] = cli_import(
                    server, key, cli_project, n, "cli" if unique else None
                )
        mark_completed(target, big)
        mark_completed(target, little)
        exports = []
        for project_id, size in ((little, small), (big, n)):
            for fmt in ("jsonl", "csv"):
                with Server(target) as server:  # fresh process: clean peak-RSS baseline
                    time.sleep(0.5)
                    result = export_once(server, key, project_id, fmt)
                result["tasks"] = size
                exports.append(result)
        out["exports"] = exports
        out["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    finally:
        target.cleanup()
    return out


def _med(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"db": runs[0]["db"], "runs": len(runs)}
    for name in ("api_import", "api_import_10k", "sdk_import", "cli_import"):
        ok = [r[name] for r in runs if name in r and "error" not in r[name]]
        if ok:
            summary[name] = {
                "tasks": ok[0]["tasks"],
                "seconds": _med([x["seconds"] for x in ok]),
                "tasks_per_s": round(_med([x["tasks_per_s"] for x in ok])),
                "tasks_per_s_all": [x["tasks_per_s"] for x in ok],
            }
    exports: dict[str, Any] = {}
    for r in runs:
        for e in r["exports"]:
            exports.setdefault(f"{e['tasks']}-{e['format']}", []).append(e)
    summary["exports"] = {
        key: {
            "seconds": _med([e["seconds"] for e in es]),
            "seconds_all": [e["seconds"] for e in es],
            "rows": es[0]["rows"],
            "mb": es[0]["mb"],
            "server_peak_growth_mib": _med([e["server_peak_growth_mib"] for e in es]),
            "server_hwm_after_mib": _med([e["server_hwm_after_mib"] for e in es]),
        }
        for key, es in exports.items()
    }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--no-unique-id",
        action="store_true",
        help="tasks without unique_id (skips the idempotency look-up)",
    )
    parser.add_argument("--out")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    with_cli = cli_has_import()
    started = datetime.now(UTC)
    runs, summary = [], []
    for kind in kinds:
        group = []
        for _ in range(args.repeat):
            run = run_once(kind, args.tasks, args.small, with_cli, not args.no_unique_id)
            print(json.dumps(run), flush=True)
            group.append(run)
        runs.extend(group)
        summary.append(summarise(group))
    result = {
        "benchmark": "import_export",
        "started": started.isoformat(timespec="seconds"),
        "git": git_rev(),
        "machine": machine_info(),
        "args": vars(args),
        "cli_import_available": with_cli,
        "summary": summary,
        "runs": runs,
    }
    out = Path(args.out) if args.out else RESULTS / f"import_export-{started:%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    for s in summary:
        print(f"\n== {s['db']} (median of {s['runs']})")
        for name in ("api_import", "api_import_10k", "sdk_import", "cli_import"):
            if name in s:
                x = s[name]
                print(
                    f"  {name:15s} {x['tasks']:>7} tasks  {x['seconds']:7.2f} s  "
                    f"{x['tasks_per_s']:>7} tasks/s"
                )
        for key, e in s["exports"].items():
            print(
                f"  export {key:12s} {e['seconds']:6.2f} s  {e['rows']:>7} rows  {e['mb']:6.1f} MB"
                f"  peak RSS growth {e['server_peak_growth_mib']} MiB "
                f"(peak {e['server_hwm_after_mib']} MiB)"
            )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
