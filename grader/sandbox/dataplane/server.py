"""A minimal HTTP/1.1 server on asyncio.Protocol (keep-alive, pipelining in order, Content-Length bodies).

Streams and a general-purpose framework cost several times more per request; the data plane needs
only request line, headers and a Content-Length body, and must answer thousands of requests per
second on a small machine next to the API server.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine

from grader.sandbox.dataplane.app import reason

log = logging.getLogger("dataplane")

MAX_HEAD = 64 * 1024


class RawRequest:
    __slots__ = ("method", "target", "version", "headers", "body")

    def __init__(self, method: str, target: str, version: str, headers: dict[str, str], body: bytes) -> None:
        self.method, self.target, self.version, self.headers, self.body = method, target, version, headers, body


class Reply:
    """What a handler returns: status, headers, body; or reset=True to reset the connection."""
    __slots__ = ("status", "headers", "body", "reset")

    def __init__(self, status: int = 200, headers: list[tuple[str, str]] | None = None, body: bytes = b"",
                 reset: bool = False) -> None:
        self.status, self.headers, self.body, self.reset = status, headers or [], body, reset


Handler = Callable[[RawRequest], "Awaitable[Reply] | Reply"]

_date = [0, b""]


def http_date() -> bytes:
    now = int(time.time())
    if _date[0] != now:
        _date[0] = now
        _date[1] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)).encode()
    return _date[1]


def encode(reply: Reply, head: bool, close: bool) -> bytes:
    out = [f"HTTP/1.1 {reply.status} {reason(reply.status)}\r\n".encode(), b"date: ", http_date(), b"\r\n"]
    for k, v in reply.headers:
        out.append(f"{k}: {v}\r\n".encode("latin-1", "replace"))
    out.append(f"content-length: {len(reply.body)}\r\n".encode())
    if close:
        out.append(b"connection: close\r\n")
    out.append(b"\r\n")
    if not head:
        out.append(reply.body)
    return b"".join(out)


class HttpProtocol(asyncio.Protocol):
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.queue: deque[RawRequest] = deque()
        self.busy = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    self._fail(431)
                return
            try:
                lines = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
                method, target, version = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    k = k.strip().lower()
                    v = v.strip()
                    headers[k] = f"{headers[k]},{v}" if k in headers else v
                length = int(headers.get("content-length", "0") or 0)
            except ValueError:
                self._fail(400)
                return
            if "chunked" in headers.get("transfer-encoding", ""):
                self._fail(501)
                return
            if len(self.buf) < end + 4 + length:
                return
            body = bytes(self.buf[end + 4:end + 4 + length])
            del self.buf[:end + 4 + length]
            self.queue.append(RawRequest(method, target, version, headers, body))
            if not self.busy:
                self._next()

    def _fail(self, status: int) -> None:
        if self.transport and not self.closed:
            self.transport.write(encode(Reply(status, body=f"{reason(status)}\n".encode()), False, True))
            self.transport.close()
        self.closed = True

    def _next(self) -> None:
        if not self.queue or self.closed:
            return
        req = self.queue.popleft()
        self.busy = True
        try:
            res = self.handler(req)
        except Exception:  # noqa: BLE001 - one bad request never takes the listener down
            log.exception("handler failed")
            res = Reply(500, body=b"lab data plane: internal error\n")
        if isinstance(res, Reply):
            self._send(req, res)
        else:
            self._drive(req, res)

    def _drive(self, req: RawRequest, coro: Coroutine) -> None:
        """Run the handler's coroutine without a Task: most requests never wait, so they finish in the first
        step; one that awaits a future (a delay, a pool slot) resumes from that future's callback. Handlers
        await only plain futures (no asyncio timeouts, which need a current Task)."""
        try:
            fut = coro.send(None)
        except StopIteration as e:
            self._send(req, e.value)
            return
        except Exception:  # noqa: BLE001 - one bad request never takes the listener down
            log.exception("handler failed")
            self._send(req, Reply(500, body=b"lab data plane: internal error\n"))
            return
        if fut is None:   # a bare yield (asyncio.sleep(0))
            asyncio.get_running_loop().call_soon(self._drive, req, coro)
        else:
            fut._asyncio_future_blocking = False
            fut.add_done_callback(lambda _f: self._drive(req, coro))

    def _send(self, req: RawRequest, reply: Reply) -> None:
        self.busy = False
        if self.closed or self.transport is None:
            return
        if reply.reset:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:   # SO_LINGER 0: close() sends RST, as Envoy does when it resets
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            self.transport.abort()
            self.closed = True
            return
        conn = req.headers.get("connection", "").lower()
        close = conn == "close" or (req.version == "HTTP/1.0" and conn != "keep-alive")
        self.transport.write(encode(reply, req.method == "HEAD", close))
        if close:
            self.transport.close()
            self.closed = True
            return
        if self.queue:
            self._next()


async def serve(handler: Handler, port: int, host: str = "127.0.0.1") -> asyncio.AbstractServer:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: HttpProtocol(handler), host, port, reuse_address=True, backlog=1024)
