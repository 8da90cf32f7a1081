"""The lean transport against the sandbox's real API server: kept-alive connections are reused
across requests and threads, one the server (or the network) has dropped is replaced, and a
watch streams its events line by line."""

from __future__ import annotations

import socket
import threading

import pytest

from grader import transport as T
from grader.cluster import Cluster, Target

pytestmark = pytest.mark.sandbox


@pytest.fixture()
def transport(kubeconfig) -> T.HttpTransport:
    return T.HttpTransport.from_kubeconfig([kubeconfig], None, "lab-grader-test")


def _get(t: T.HttpTransport, path: str) -> bytes:
    return t.request("GET", path, None, None, "application/json", (3.0, 10.0))


def test_one_connection_per_thread_is_kept_alive(transport):
    _get(transport, "/version")
    first = transport._local.conn
    _get(transport, "/api/v1/namespaces")
    assert transport._local.conn is first  # reused, not reconnected
    other: list = []
    worker = threading.Thread(target=lambda: (_get(transport, "/version"), other.append(transport._local.conn)))
    worker.start()
    worker.join(10)
    assert other and other[0] is not first  # each thread has its own


def test_a_request_body_is_not_held_back_by_nagle(transport):
    """http.client writes the headers, then the body: with Nagle on, the body waits for the
    server's delayed ACK (about 40 ms a write; 30 students' `lab class create` took 24 s)."""
    _get(transport, "/version")
    sock = transport._local.conn.sock
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_a_dropped_connection_is_replaced_once(transport):
    _get(transport, "/version")
    dropped = transport._local.conn
    dropped.sock.shutdown(socket.SHUT_RDWR)  # as if the server had closed the idle connection
    assert b"gitVersion" in _get(transport, "/version")
    assert transport._local.conn is not dropped


def test_errors_keep_their_status(transport):
    with pytest.raises(T.HTTPStatusError) as e:
        _get(transport, "/api/v1/namespaces/no-such-namespace-here")
    assert e.value.status == 404
    assert b"gitVersion" in _get(transport, "/version")  # the connection is still usable after a 404


def test_a_watch_streams_events(kubeconfig, cluster):
    """The object does not exist when the wait starts: it is seen through the watch stream."""
    c = Cluster(Target(kubeconfig, None))
    name = "transport-watch-probe"
    seen: list = []
    waiter = threading.Thread(target=lambda: seen.append(
        c.wait("v1", "ConfigMap", name, "default", lambda o: o is not None, timeout=20, what="created")))
    waiter.start()
    try:
        threading.Event().wait(1.0)  # the wait's GET found nothing and its watch is open
        cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}})
        waiter.join(20)
        assert seen and seen[0]["metadata"]["name"] == name
        watches = c.requests
        assert watches >= 2  # the GET and at least one watch request
    finally:
        cluster.delete("v1", "ConfigMap", name, "default")
