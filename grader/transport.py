"""HTTP to the API server for the common kubeconfigs, without importing the kubernetes client.

`import kubernetes` costs about half a second (it loads every generated model), which is most of
a `lab grade`. Client certificates, bearer tokens (inline or file), basic auth, a CA and
in-cluster service accounts are handled here with http.client; kubeconfigs that need an exec plugin,
an auth provider or a proxy are handed to the official client (`KubernetesTransport`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode


class TransportError(Exception):
    """The server could not be reached (connection refused, TLS failure, timeout)."""


class HTTPStatusError(Exception):
    def __init__(self, status: int, body: bytes, reason: str = "") -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.body, self.reason = status, body, reason


class ConfigError(Exception):
    pass


class NeedsKubernetesClient(Exception):
    """The kubeconfig uses something only the official client implements (exec, auth-provider)."""


def _load_yaml(text: str) -> Any:
    if text.lstrip().startswith("{"):  # JSON (the sandbox writes its kubeconfig so): no YAML parser needed
        with contextlib.suppress(ValueError):
            return json.loads(text)
    from grader.yamlio import load
    return load(text)


_KUBECONFIGS: dict[tuple, dict] = {}  # one parse per command: the CLI reads it for the student and the cluster


def load_kubeconfig(files: list[str], context: str | None) -> dict:
    """Merge kubeconfig files as kubectl does (first definition of a name wins) and resolve one
    context to {server, cluster, user, base} where base is the folder relative paths start from.
    The answer is kept while the files are unchanged (same size and modification time)."""
    stamps = []
    for f in files:
        with contextlib.suppress(OSError):
            st = Path(f).expanduser().stat()
            stamps.append((f, st.st_mtime_ns, st.st_size))
    key = (tuple(files), context, tuple(stamps))
    if key not in _KUBECONFIGS:
        _KUBECONFIGS[key] = _load_kubeconfig(files, context)
    return _KUBECONFIGS[key]


def _load_kubeconfig(files: list[str], context: str | None) -> dict:
    merged: dict[str, dict] = {"clusters": {}, "users": {}, "contexts": {}}
    current = None
    bases: dict[tuple[str, str], Path] = {}
    for f in files:
        path = Path(f).expanduser()
        if not path.exists():
            continue
        try:
            cfg = _load_yaml(path.read_text()) or {}
        except Exception as e:  # noqa: BLE001 - any parse problem is a config error
            raise ConfigError(f"cannot parse {path}: {e}") from None
        if not isinstance(cfg, dict):
            raise ConfigError(f"{path} is not a kubeconfig")
        current = current or cfg.get("current-context")
        for section in ("clusters", "users", "contexts"):
            for entry in cfg.get(section) or []:
                if isinstance(entry, dict) and entry.get("name") not in merged[section]:
                    merged[section][entry["name"]] = entry.get(section[:-1]) or {}
                    bases[(section, entry["name"])] = path.parent
    name = context or current
    if not name:
        raise ConfigError("the kubeconfig has no current-context; pass --context")
    if name not in merged["contexts"]:
        raise ConfigError(f"context {name!r} not found in the kubeconfig")
    ctx = merged["contexts"][name]
    cluster = merged["clusters"].get(ctx.get("cluster"))
    if cluster is None:
        raise ConfigError(f"cluster {ctx.get('cluster')!r} of context {name!r} not found in the kubeconfig")
    user = merged["users"].get(ctx.get("user"), {})
    return {"cluster": cluster, "user": user, "context": name, "context_entry": ctx,
            "cluster_base": bases.get(("clusters", ctx.get("cluster")), Path.cwd()),
            "user_base": bases.get(("users", ctx.get("user")), Path.cwd())}


def watch_lines(resp: Any) -> Iterator[bytes]:
    """The non-empty lines of a streamed response (one watch event each; http.client reads
    chunked bodies line by line). The server ending the watch (its timeoutSeconds, a read
    timeout, a dropped connection) ends them."""
    import http.client

    try:
        while line := resp.readline():
            if line.strip():
                yield line.rstrip(b"\r\n")
    except (OSError, http.client.HTTPException):
        return


class HttpTransport:
    """HTTP/1.1 keep-alive connections (Python's http.client, one per thread: the snapshot's
    LISTs run in parallel threads) with the TLS and credentials a kubeconfig describes.
    Not urllib3: importing it costs about as much CPU as a whole grade's judging (~40 ms of
    regexes and modules), and nothing here needs more than http.client gives."""

    def __init__(self, server: str, ssl_context: ssl.SSLContext, headers: dict[str, str],
                 user_agent: str, server_hostname: str | None = None, trust: bytes = b"") -> None:
        import threading
        from urllib.parse import urlsplit

        self.host = server.rstrip("/")
        # Which cluster this is, for caches: its address and the CA it is trusted by (a new
        # cluster on a reused address, e.g. a sandbox, has a new CA).
        self.identity = _identity(self.host, trust)
        self.headers = {**headers, "User-Agent": user_agent}
        url = urlsplit(self.host)
        if url.scheme not in ("https", "http") or not url.hostname:
            raise ConfigError(f"the server address {server!r} is not an http(s) URL")
        self._tls = url.scheme == "https"
        self._address = (url.hostname, url.port or (443 if self._tls else 80))
        self._prefix = url.path.rstrip("/")  # a server behind a path (rare, but kubectl allows it)
        self._ssl = ssl_context
        self._server_hostname = server_hostname or url.hostname
        self._local = threading.local()  # this thread's kept-alive connection

    @classmethod
    def from_kubeconfig(cls, files: list[str], context: str | None, user_agent: str) -> HttpTransport:
        cfg = load_kubeconfig(files, context)
        cluster, user = cfg["cluster"], cfg["user"]
        if user.get("exec") or user.get("auth-provider") or cluster.get("proxy-url"):
            raise NeedsKubernetesClient()
        server = cluster.get("server")
        if not server:
            raise ConfigError(f"the cluster of context {cfg['context']!r} has no server")
        # Not ssl.create_default_context(): loading the system's CA store costs ~35 ms and a
        # kubeconfig that names its CA trusts only that one.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        trust = b""
        if cluster.get("insecure-skip-tls-verify"):
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif cluster.get("certificate-authority-data"):
            trust = base64.b64decode(cluster["certificate-authority-data"])
            ctx.load_verify_locations(cadata=trust.decode())
        elif cluster.get("certificate-authority"):
            ca = cfg["cluster_base"] / cluster["certificate-authority"]
            ctx.load_verify_locations(cafile=str(ca))
            trust = ca.read_bytes()
        else:
            ctx.load_default_certs()  # a public CA, e.g. a managed OpenShift API
        headers: dict[str, str] = {}
        cert = _material(user, "client-certificate", cfg["user_base"])
        key = _material(user, "client-key", cfg["user_base"])
        if cert and key:
            _load_cert_chain(ctx, cert, key)
        if user.get("token"):
            headers["Authorization"] = f"Bearer {user['token']}"
        elif user.get("tokenFile"):
            headers["Authorization"] = f"Bearer {Path(cfg['user_base'], user['tokenFile']).read_text().strip()}"
        elif user.get("username") and user.get("password"):
            basic = base64.b64encode(f"{user['username']}:{user['password']}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        return cls(server, ctx, headers, user_agent, cluster.get("tls-server-name"), trust)

    @classmethod
    def in_cluster(cls, user_agent: str) -> HttpTransport:
        sa = Path("/var/run/secrets/kubernetes.io/serviceaccount")
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        ctx = ssl.create_default_context(cafile=str(sa / "ca.crt"))
        token = (sa / "token").read_text().strip()
        return cls(f"https://{host}:{port}", ctx, {"Authorization": f"Bearer {token}"}, user_agent,
                   trust=(sa / "ca.crt").read_bytes())

    def _connect(self, timeout: tuple[float, float]) -> Any:
        """A new connection: TCP within the connect timeout, TLS with the kubeconfig's trust and
        server name, then the read timeout for everything after."""
        import http.client
        import socket

        conn = http.client.HTTPConnection(*self._address, timeout=timeout[0])
        sock = socket.create_connection(self._address, timeout=timeout[0])
        try:
            # http.client sends a request's headers and body in two writes; without NODELAY the
            # body waits for the server's delayed ACK of the headers (about 40 ms a write).
            # HTTPConnection.connect sets it too; this socket is made here, for the TLS context.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls:
                sock = self._ssl.wrap_socket(sock, server_hostname=self._server_hostname)
            sock.settimeout(timeout[1])
        except BaseException:
            sock.close()
            raise
        conn.sock = sock
        conn.auto_open = 0  # never reconnect by itself: that would be plain TCP, without our TLS
        return conn

    def _send(self, method: str, path: str, data: bytes | None, headers: dict[str, str],
              timeout: tuple[float, float], keep: bool) -> Any:
        """Send one request and return its response (status and headers read). A kept-alive
        connection the server has closed meanwhile is replaced once, as urllib3 does when it
        finds a pooled connection dropped; a new connection's failure is the answer."""
        import http.client

        reused = getattr(self._local, "conn", None) if keep else None
        if reused is not None and reused.sock is None:  # closed by http.client after a response
            reused = self._local.conn = None
        for conn in ([reused] if reused else []) + [None]:
            fresh = conn is None
            try:
                if fresh:
                    conn = self._connect(timeout)
                else:
                    conn.sock.settimeout(timeout[1])
                conn.request(method, self._prefix + path, body=data, headers=headers)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as e:
                if conn is not None:
                    conn.close()
                if keep:
                    self._local.conn = None
                if fresh:
                    raise TransportError(type(e).__name__) from None
                continue
            if keep:
                self._local.conn = conn
            return resp, conn
        raise TransportError("no connection")  # not reached: the fresh attempt returns or raises

    def request(self, method: str, path: str, query: list[tuple[str, Any]] | None, body: Any,
                content_type: str, timeout: tuple[float, float]) -> bytes:
        import http.client

        target = path + ("?" + urlencode(query) if query else "")
        headers = {**self.headers, "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body).encode()
        resp, conn = self._send(method, target, data, headers, timeout, keep=True)
        try:
            payload = resp.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            self._local.conn = None
            raise TransportError(type(e).__name__) from None
        if resp.will_close:
            conn.close()
            self._local.conn = None
        if resp.status >= 400:
            raise HTTPStatusError(resp.status, payload, resp.reason or "")
        return payload

    def stream(self, path: str, query: list[tuple[str, Any]], timeout: float) -> Iterator[bytes]:
        """Lines of a watch response, on a connection of its own (closed when the watch ends)."""
        target = path + "?" + urlencode(query)
        resp, conn = self._send("GET", target, None, {**self.headers, "Accept": "application/json"},
                                (3.0, timeout), keep=False)
        try:
            if resp.status >= 400:
                raise HTTPStatusError(resp.status, resp.read(), resp.reason or "")
            yield from watch_lines(resp)
        finally:
            conn.close()


def _identity(host: str, trust: bytes) -> str:
    import hashlib
    return hashlib.sha256(host.encode() + b"\0" + trust).hexdigest()[:32]


def _material(user: dict, key: str, base: Path) -> bytes | None:
    if user.get(f"{key}-data"):
        return base64.b64decode(user[f"{key}-data"])
    if user.get(key):
        return Path(base, user[key]).read_bytes()
    return None


def _load_cert_chain(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    # ssl only loads key material from files. On Linux, anonymous in-memory files (nothing on
    # disk, no folder to create and remove: a few ms less per command); elsewhere a private
    # temporary folder, removed at once.
    if hasattr(os, "memfd_create") and Path("/proc/self/fd").is_dir():
        fds = [os.memfd_create(name) for name in ("lab-cert", "lab-key")]
        try:
            for fd, data in zip(fds, (cert, key), strict=True):
                os.write(fd, data)
            ctx.load_cert_chain(f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}")
            return
        finally:
            for fd in fds:
                os.close(fd)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="lab-") as d:
        c, k = Path(d, "c.pem"), Path(d, "k.pem")
        for p, data in ((c, cert), (k, key)):
            p.touch(mode=0o600)
            p.write_bytes(data)
        ctx.load_cert_chain(str(c), str(k))


class KubernetesTransport:
    """The official client, for kubeconfigs with exec plugins, auth providers or proxies."""

    def __init__(self, files: list[str] | None, context: str | None, user_agent: str,
                 in_cluster: bool = False) -> None:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        cfg = client.Configuration()
        try:
            if in_cluster:
                config.load_incluster_config(client_configuration=cfg)
            else:
                config.load_kube_config(config_file=os.pathsep.join(files or []) or None, context=context,
                                        client_configuration=cfg, persist_config=False)
        except (ConfigException, ValueError, OSError) as e:
            raise ConfigError(str(e)) from None
        cfg.retries = 0
        self.host = cfg.host
        trust = b""
        if cfg.ssl_ca_cert:
            with contextlib.suppress(OSError):
                trust = Path(cfg.ssl_ca_cert).read_bytes()
        self.identity = _identity(cfg.host, trust)
        self.api = client.ApiClient(cfg)
        self.api.user_agent = user_agent

    def request(self, method: str, path: str, query: list[tuple[str, Any]] | None, body: Any,
                content_type: str, timeout: tuple[float, float]) -> bytes:
        from kubernetes.client.rest import ApiException
        from urllib3.exceptions import HTTPError

        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            resp = self.api.call_api(path, method, query_params=query or [], header_params=headers, body=body,
                                     auth_settings=["BearerToken"], _preload_content=False,
                                     _request_timeout=timeout, _return_http_data_only=True)
        except ApiException as e:
            raise HTTPStatusError(e.status, (e.body or "").encode() if isinstance(e.body, str) else (e.body or b""),
                                  e.reason or "") from None
        except (HTTPError, OSError) as e:
            raise TransportError(type(e).__name__) from None
        return resp.data

    def stream(self, path: str, query: list[tuple[str, Any]], timeout: float) -> Iterator[bytes]:
        from kubernetes.client.rest import ApiException
        from urllib3.exceptions import HTTPError

        try:
            resp = self.api.call_api(path, "GET", query_params=query, header_params={"Accept": "application/json"},
                                     auth_settings=["BearerToken"], _preload_content=False,
                                     _request_timeout=(3.0, timeout), _return_http_data_only=True)
        except ApiException as e:
            raise HTTPStatusError(e.status, (e.body or "").encode() if isinstance(e.body, str) else b"",
                                  e.reason or "") from None
        except (HTTPError, OSError) as e:
            raise TransportError(type(e).__name__) from None
        yield from watch_lines(resp)
