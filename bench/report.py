"""Print the markdown tables of bench/README.md from result JSON files.

python bench/report.py bench/results/load-*.json bench/results/import_export-*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

PEER_LOAD = {1: (3, 7), 8: (2, 6), 32: (2, 6)}  # Label Studio 1.23, annotations/s


def load_table(data: dict[str, Any]) -> str:
    rows = [
        "| DB | server procs | K | ann/s (median) | ann/s (each run) | vs Label Studio | "
        "next-task p50 / p95 / p99 ms | submit p50 / p95 / p99 ms | server CPU ms/request | "
        "errors | over-assigned tasks |",
        "|" + "---|" * 11,
    ]
    for s in data["summary"]:
        lo, hi = PEER_LOAD.get(s["k"], (None, None))
        ratio = (
            f"{s['annotations_per_s'] / hi:.0f}–{s['annotations_per_s'] / lo:.0f}x" if lo else ""
        )
        n, sb = s["next_ms"], s["submit_ms"]
        integrity = s["integrity_total"]
        over = integrity["tasks_over_max_labels"] + integrity["duplicate_worker_annotations"]
        rows.append(
            f"| {s['db']} | {s['processes']} | {s['k']} | {s['annotations_per_s']} "
            f"| {', '.join(map(str, s['annotations_per_s_all']))} | {ratio} "
            f"| {n['p50']} / {n['p95']} / {n['p99']} | {sb['p50']} / {sb['p95']} / {sb['p99']} "
            f"| {s['server_cpu_ms_per_request']} | {sum(s['errors_total'].values())} | {over} |"
        )
    loads = [r["loadavg_1m"][0] for r in data["runs"]]
    rows.append("")
    rows.append(
        f"1-minute load average during these runs: {min(loads)}–{max(loads)} "
        f"(2 cores). Started {data['started']}, git {data['git']}."
    )
    return "\n".join(rows)


def import_export_table(data: dict[str, Any]) -> str:
    rows = [
        "| DB | what | tasks | seconds (median) | tasks/s (median) | each run | goal |",
        "|" + "---|" * 7,
    ]
    names = {
        "api_import": "import, API (10 × 10k)",
        "api_import_10k": "import, API (1 × 10k)",
        "sdk_import": "import, SDK create_many",
        "cli_import": "import, `labelmill import`",
    }
    for s in data["summary"]:
        for key, label in names.items():
            if key in s:
                x = s[key]
                goal = "≥ 25,000/s" if key != "api_import_10k" else ""
                rows.append(
                    f"| {s['db']} | {label} | {x['tasks']} | {x['seconds']} "
                    f"| {x['tasks_per_s']} | {', '.join(map(str, x['tasks_per_s_all']))} "
                    f"| {goal} |"
                )
    rows += [
        "",
        "| DB | export | rows | MB | seconds (median) | each run | server peak RSS "
        "growth MiB | server peak RSS MiB |",
        "|" + "---|" * 8,
    ]
    for s in data["summary"]:
        for key, e in s["exports"].items():
            rows.append(
                f"| {s['db']} | {key} | {e['rows']} | {e['mb']} | {e['seconds']} "
                f"| {', '.join(map(str, e['seconds_all']))} "
                f"| {e['server_peak_growth_mib']} | {e['server_hwm_after_mib']} |"
            )
    return "\n".join(rows)


def main() -> None:
    for name in sys.argv[1:]:
        data = json.loads(Path(name).read_text())
        print(f"### {Path(name).name}\n")
        if data["benchmark"] == "load":
            print(load_table(data))
        else:
            print(import_export_table(data))
        print()


if __name__ == "__main__":
    main()
