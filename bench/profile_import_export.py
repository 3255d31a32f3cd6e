"""py-spy profiles (GIL mode, raw collapsed stacks) of the server during a 50k-task API import
and during a 50k-task JSONL export; summarise them with bench/profile_summary.py.

    python bench/profile_import_export.py --db sqlite --out /tmp/ie-prof
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import Server, bootstrap_org, fresh_db, make_project  # noqa: E402
from import_export import api_import, export_once, mark_completed  # noqa: E402


def spy(pid: int, out: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "-r",
            "200",
            "--gil",
            "--format",
            "raw",
            "-o",
            out,
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(2)
    proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--tasks", type=int, default=50_000)
    parser.add_argument("--out", default="/tmp/ie-prof")
    args = parser.parse_args()
    target = fresh_db(args.db)
    try:
        key = bootstrap_org(target)
        with Server(target) as server:
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {key}"}
            ) as http:
                project_id, _ = make_project(http, min_labels=1, max_labels=1)
            p = spy(server.serving_pids()[0], f"{args.out}.import.{args.db}.txt")
            print("import", api_import(server, key, project_id, args.tasks, "p"))
            stop(p)
        mark_completed(target, project_id)
        with Server(target) as server:
            p = spy(server.serving_pids()[0], f"{args.out}.export.{args.db}.txt")
            print("export", export_once(server, key, project_id, "jsonl"))
            stop(p)
    finally:
        target.cleanup()


if __name__ == "__main__":
    main()
