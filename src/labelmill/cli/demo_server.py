"""The demo's server process: uvicorn serving the app on a listening socket inherited from
the parent (``python -m labelmill.cli.demo_server FD``).

The parent binds and listens before starting this process, so it can send requests at once:
they wait in the socket's backlog until the app accepts them, with no readiness polling.
"""

from __future__ import annotations

import socket
import sys

import uvicorn


def main(argv: list[str]) -> None:
    sock = socket.socket(fileno=int(argv[1]))
    config = uvicorn.Config(
        "labelmill.server.asgi:create",
        factory=True,
        log_level="warning",
        access_log=False,
        ws="none",
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv)
