"""A minimal HTTP/1.1 keep-alive client for the load generator.

The load generator shares the machine's two cores with the server and the database. httpx
costs ~1.6 ms of CPU per request at 500+ requests/s, more than the server itself, so with it
the benchmark mostly measures its own client. This client does only what the loop needs
(POST with a JSON body, one connection, Content-Length framing, which is what uvicorn sends)
and costs a fraction of that. ``load.py --client httpx`` still runs the httpx client.
"""

from __future__ import annotations

import asyncio


class LeanConnection:
    """One keep-alive connection; requests on it are sequential."""

    def __init__(self, host: str, port: int, authorization: str) -> None:
        self.host = host
        self.port = port
        self._fixed = (
            f"Host: {host}:{port}\r\nAuthorization: {authorization}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def post(self, path: str, body: bytes = b"") -> tuple[int, bytes]:
        reader, writer = await self._connect()
        writer.write(
            b"POST "
            + path.encode()
            + b" HTTP/1.1\r\n"
            + self._fixed
            + b"Content-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.close()
            raise ConnectionError("the server closed the connection") from None
        status = int(head[9:12])
        length = 0
        close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except ConnectionError:
                pass
        self._reader = self._writer = None
