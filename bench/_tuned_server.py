"""Run the unchanged labelmill app under uvicorn with *experimental* tunings applied from the
outside, to measure what a change in src/ would buy before anyone makes it.

    python bench/_tuned_server.py --port 8080 --tune threads=4,auth_cache=30,switch=0.001

Tunings (comma-separated ``name=value``):

* ``threads=N``   size of anyio's thread pool that runs the sync routes (default 40).
* ``auth_cache=S`` cache ``authenticate`` results per presented key for S seconds.
* ``switch=S``    ``sys.setswitchinterval(S)`` (CPython default 0.005).
* ``workerless=1`` no in-process background worker.

Single process only; configuration otherwise comes from LABELMILL_* like ``labelmill serve``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--tune", default="")
    args = parser.parse_args()
    tune = dict(item.split("=", 1) for item in args.tune.split(",") if item)

    if tune.get("workerless") == "1":
        os.environ["LABELMILL_RUN_WORKER"] = "false"
    if "switch" in tune:
        sys.setswitchinterval(float(tune["switch"]))
    if "auth_cache" in tune:
        from labelmill.server.api import deps

        ttl = float(tune["auth_cache"])
        original = deps.authenticate
        cache: dict[str, tuple[float, Any]] = {}

        def cached(*, session: Any, secret: str) -> Any:
            hit = cache.get(secret)
            now = time.monotonic()
            if hit is not None and hit[0] > now:
                return hit[1]
            principal = original(session=session, secret=secret)
            cache[secret] = (now + ttl, principal)
            return principal

        deps.authenticate = cached  # type: ignore[assignment]

    from labelmill.server.app import create_app

    app = create_app()
    threads = int(tune.get("threads", 0))

    class Tuned:
        """Sets the thread-pool size on the first request (it lives in the running loop)."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner
            self.done = False

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if not self.done and threads:
                import anyio.to_thread

                anyio.to_thread.current_default_thread_limiter().total_tokens = threads
                self.done = True
            await self.inner(scope, receive, send)

    uvicorn.run(Tuned(app), host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
