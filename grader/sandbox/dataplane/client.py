"""Sending one request into the sandbox's data plane, as `lab sandbox curl` does (no click here).

Without a source pod the request goes to the ingress gateway (GATEWAY_URL); with one it goes
through the mesh listener as that pod would send it (through its sidecar if it has one).
Outcomes map to curl's exit codes: 6 could not resolve host, 7 connection refused, 56 reset.
"""

from __future__ import annotations

import http.client
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from grader.sandbox.dataplane import FROM_HEADER

CURL_RESOLVE, CURL_REFUSED, CURL_TIMEOUT, CURL_RESET = 6, 7, 28, 56


class CurlError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Answer:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def parse_url(url: str) -> tuple[str, int, str]:
    if "://" not in url:
        url = "http://" + url
    u = urlsplit(url)
    if u.scheme != "http":
        raise CurlError(f"{url}: only http:// URLs are served by the sandbox data plane", 1)
    if not u.hostname:
        raise CurlError(f"{url}: no host in the URL", 3)
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    return u.hostname, u.port or 80, path


def send(ports: dict, url: str, source: str | None = None, method: str = "GET",
         headers: list[tuple[str, str]] | None = None, timeout: float = 30.0) -> Answer:
    host, port, path = parse_url(url)
    hdrs = list(headers or [])
    names = {k.lower() for k, _ in hdrs}
    if source:
        target_port = ports["dataplane-mesh"]
        hdrs.append((FROM_HEADER, source))
        authority = host if port == 80 else f"{host}:{port}"
    else:
        target_port = ports["dataplane-gateway"]
        direct = host in ("127.0.0.1", "localhost") and port == target_port
        authority = f"{host}:{port}" if direct else (host if port == 80 else f"{host}:{port}")
    if "host" not in names:
        hdrs.append(("Host", authority))
    conn = http.client.HTTPConnection("127.0.0.1", target_port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in hdrs:
            conn.putheader(k, v)
        if "user-agent" not in names:
            conn.putheader("User-Agent", "lab-sandbox-curl")
        conn.endheaders()
        r = conn.getresponse()
        body = r.read()
    except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError) as e:
        what = f"from {source}" if source else "through the ingress gateway"
        raise CurlError(f"Recv failure: Connection reset by peer ({url} {what})", CURL_RESET) from e
    except ConnectionRefusedError as e:
        raise CurlError("Failed to connect: the sandbox data plane is not running; run 'lab sandbox up'",
                        CURL_REFUSED) from e
    except TimeoutError as e:
        raise CurlError(f"Operation timed out after {timeout:g} s ({url})", CURL_TIMEOUT) from e
    finally:
        conn.close()
    outcome = r.getheader("x-lab-outcome")
    if outcome == "resolve":
        raise CurlError(f"Could not resolve host: {host} ({body.decode(errors='replace').strip()})", CURL_RESOLVE)
    if outcome == "refused":
        raise CurlError(f"Failed to connect to {host} port {port}: Connection refused "
                        f"({body.decode(errors='replace').strip()})", CURL_REFUSED)
    if outcome == "no-pod":
        raise CurlError(f"--from {source}: no such pod in the sandbox (use NAMESPACE/POD, see kubectl get pods)", 2)
    return Answer(r.status, r.reason, list(r.getheaders()), body)


def wait(admin_port: int, timeout: float = 10.0) -> bool:
    """Until every API write made before this call has reached the data plane (like `istioctl x wait`)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/sync?timeout={timeout}",
                                    timeout=timeout + 15) as r:
            return r.status == 200
    except OSError:
        return False
