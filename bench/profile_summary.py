"""Summarise a py-spy ``--format raw`` (collapsed stacks) profile of the server.

Each sample is attributed to one *layer* by its innermost frame that belongs to a known
library ("self" time), and also counted inclusively for every route / service function on
its stack. Used by ``bench/load.py --pyspy``; run directly:

    python bench/profile_summary.py /tmp/prof.sqlite-p1-k32-r0.txt [--top 25]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# Innermost matching frame decides the layer (order matters only for ties on one frame).
LAYERS: list[tuple[str, str]] = [
    (
        "sqlite3 / psycopg (driver + database wait)",
        r"\(sqlite3|psycopg|_pydevd|do_execute|"
        r"do_commit|do_rollback|do_begin|_release_savepoint_impl|_savepoint_impl",
    ),
    ("sqlalchemy", r"\(sqlalchemy/|<sqlalchemy generated"),
    ("pydantic", r"\(pydantic|pydantic_core"),
    ("fastapi telemetry (opentelemetry)", r"\(fastapi/telemetry|\(opentelemetry"),
    ("fastapi", r"\(fastapi/"),
    ("starlette", r"\(starlette/"),
    ("anyio / threadpool", r"\(anyio/|\(concurrent/|\(threading\.py|\(queue\.py"),
    ("uvicorn / http parsing", r"\(uvicorn/|httptools|h11"),
    ("asyncio / uvloop", r"\(asyncio/|uvloop"),
    ("json", r"\(json/|orjson"),
    ("labelmill", r"\(labelmill/"),
]
_COMPILED = [(name, re.compile(pattern)) for name, pattern in LAYERS]
_ROUTE = re.compile(r"^(\w+) \(labelmill/server/api/routes_\w+\.py")
_LM = re.compile(r"^([\w.<>]+) \((labelmill/[\w/]+\.py)")


def layer_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, pattern in _COMPILED:
            if pattern.search(frame):
                return name
    return "other"


def summarise(path: Path, top: int) -> str:
    layers: Counter[str] = Counter()
    routes: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    auth = 0
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        layers[layer_of(frames)] += count
        seen: set[str] = set()
        route = "(no route: server loop, worker thread)"
        for frame in frames:
            m = _ROUTE.match(frame)
            if m:
                route = m.group(1)
            lm = _LM.match(frame)
            if lm:
                name = f"{lm.group(1)} ({lm.group(2)})"
                if name not in seen:
                    seen.add(name)
                    functions[name] += count
        if any("get_principal" in f or "authenticate" in f for f in frames):
            auth += count
        routes[route] += count
    out = [f"{path.name}: {total} samples", "", "self time by layer:"]
    out += [f"  {n / total:6.1%}  {name}" for name, n in layers.most_common()]
    out += ["", "inclusive by route:"]
    out += [f"  {n / total:6.1%}  {name}" for name, n in routes.most_common()]
    out += ["", f"inclusive in auth (get_principal/authenticate): {auth / total:.1%}", ""]
    out += ["inclusive by labelmill function:"]
    out += [f"  {n / total:6.1%}  {name}" for name, n in functions.most_common(top)]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    for path in args.paths:
        print(summarise(path, args.top))
        print()


if __name__ == "__main__":
    main()
