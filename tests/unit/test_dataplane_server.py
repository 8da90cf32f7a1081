"""The data plane's HTTP/1.1 server on loopback: keep-alive, pipelining in order, HEAD, resets, bad input,
and handlers that answer at once or after awaiting futures (driven without a Task)."""

from __future__ import annotations

import asyncio
import socket

from grader.sandbox.dataplane.server import RawRequest, Reply, serve


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def handler(raw: RawRequest):  # noqa: ANN201
    if raw.target == "/now":
        return Reply(200, [("x-path", "now")], b"now")
    if raw.target == "/reset":
        return Reply(reset=True)
    if raw.target == "/boom":
        raise ValueError("handler bug")

    async def later() -> Reply:
        await asyncio.sleep(0.05)
        await asyncio.sleep(0)
        fut = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, fut.set_result, b"later")
        return Reply(200, [], await fut)
    return later()


async def _exchange(port: int, payload: bytes, read_until_close: bool = True) -> bytes:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(payload)
    await w.drain()
    try:
        return await asyncio.wait_for(r.read(), 5) if read_until_close else await asyncio.wait_for(r.read(4096), 5)
    except ConnectionResetError:
        return b"RESET"
    finally:
        w.close()


def run(payload: bytes) -> bytes:
    async def go() -> bytes:
        port = _free_port()
        server = await serve(handler, port)
        try:
            return await _exchange(port, payload)
        finally:
            server.close()
    return asyncio.run(go())


def test_pipelined_requests_are_answered_in_order_even_when_the_first_waits():
    out = run(b"GET /later HTTP/1.1\r\nHost: x\r\n\r\nGET /now HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /now HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.count(b"HTTP/1.1 200 OK") == 3
    assert out.index(b"later") < out.index(b"x-path: now")
    assert out.endswith(b"now")


def test_head_has_headers_and_no_body():
    out = run(b"HEAD /now HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b"content-length: 3\r\n" in out and out.endswith(b"\r\n\r\n")


def test_reset_resets_the_connection():
    assert run(b"GET /reset HTTP/1.1\r\nHost: x\r\n\r\n") in (b"RESET", b"")


def test_a_handler_bug_is_a_500_and_the_listener_keeps_serving():
    out = run(b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\nGET /now HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 500") and b"HTTP/1.1 200 OK" in out


def test_garbage_and_chunked_bodies_get_clear_errors():
    assert run(b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert run(b"POST /now HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").startswith(b"HTTP/1.1 501")


def test_content_length_body_is_read_before_the_next_request():
    out = run(b"POST /now HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
              b"GET /now HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.count(b"HTTP/1.1 200 OK") == 2
