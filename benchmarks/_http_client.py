"""A minimal keep-alive HTTP/1.1 client on asyncio streams: the load client of serve_load.py."""

from __future__ import annotations

import asyncio


class Conn:
    """One keep-alive HTTP/1.1 connection on asyncio streams: the load client. It costs ~0.1 ms of CPU a request;
    httpx.AsyncClient cost 1-6 ms here (more with more connections in its pool), so on 2 cores it starved the server."""

    LOST = (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)

    def __init__(self, url: str, timeout_s: float = 35.0) -> None:
        host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
        self.host, self.port, self.timeout_s = host, int(port), timeout_s
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        if self.writer is None:
            self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout_s)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        """(status, headers in lower case, body); any failure closes the connection and raises one of LOST."""
        try:
            return await asyncio.wait_for(self._request(method, path, body), self.timeout_s)
        except BaseException:
            self.close()
            raise

    async def _request(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        await self.connect()
        assert self.reader is not None and self.writer is not None
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body)  # fmt: skip
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append((await self.reader.readexactly(size + 2))[:-2])
            while await self.reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            data = b"".join(parts)
        else:
            data = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, data

    async def generate(self, seed: int, n: int) -> tuple[int, dict[str, str], bytes]:
        return await self.request("POST", "/v1/generate", f'{{"n": {n}, "seed": {seed}, "format": "npy"}}'.encode())
