#!/usr/bin/env python3
"""Data plane benchmark: requests/s and p50/p99 through the sandbox's ingress gateway against the same
backends called directly (64 keep-alive connections, one run), and the data plane's memory with
100 and 2,000 pods.

    python benchmarks/dataplane.py            # starts its own sandbox (flavour istio), prints JSON
traffic.py (`make bench`) calls measure() on its solved-canary sandbox, next to the grading traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from grader.sandbox.control_plane import Sandbox  # noqa: E402


class _Conn(asyncio.Protocol):
    """One keep-alive client connection: send, read one response (Content-Length), repeat."""

    def __init__(self, requests: list[bytes], lat: list[float], done: asyncio.Future, interval: float = 0.0,
                 offset: float = 0.0) -> None:
        self.requests, self.lat, self.done = requests, lat, done
        self.interval = interval           # fixed rate: one request every `interval` s on this connection
        self.due = time.perf_counter() + offset
        self.buf = b""
        self.i = 0
        self.t0 = 0.0
        self.errors = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._send()

    def _send(self) -> None:
        if self.i >= len(self.requests):
            self.transport.close()
            if not self.done.done():
                self.done.set_result(self.errors)
            return
        now = time.perf_counter()
        if self.interval and now < self.due:
            asyncio.get_running_loop().call_later(self.due - now, self._write)
        else:
            self._write()

    def _write(self) -> None:
        self.t0 = time.perf_counter()
        self.due = max(self.due + self.interval, self.t0) if self.interval else self.t0
        self.transport.write(self.requests[self.i])
        self.i += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buf[:end].lower()
        k = head.find(b"content-length:")
        length = int(head[k + 15:head.find(b"\r\n", k) if head.find(b"\r\n", k) > 0 else None]) if k >= 0 else 0
        if len(self.buf) < end + 4 + length:
            return
        if not head.startswith(b"http/1.1 200"):
            self.errors += 1
        self.buf = self.buf[end + 4 + length:]
        self.lat.append(time.perf_counter() - self.t0)
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(self.errors + 1)


async def _load(port: int, hosts: list[str], total: int, conns: int, qps: float = 0.0) -> dict:
    """Closed loop (qps 0: each connection sends as soon as it has its answer) or a fixed total rate
    spread over the connections, as fortio -c CONNS -qps QPS does."""
    loop = asyncio.get_running_loop()
    lat: list[float] = []
    per = total // conns
    futs = []
    t0 = time.perf_counter()
    for c in range(conns):
        reqs = [f"GET / HTTP/1.1\r\nHost: {hosts[(c * per + i) % len(hosts)]}\r\nUser-Agent: lab-bench\r\n\r\n".encode()
                for i in range(per)]
        fut = loop.create_future()
        interval = conns / qps if qps else 0.0
        await loop.create_connection(lambda r=reqs, f=fut, i=interval, o=c * interval / conns: _Conn(r, lat, f, i, o),
                                     "127.0.0.1", port)
        futs.append(fut)
    errors = sum(await asyncio.wait_for(asyncio.gather(*futs), 120))
    wall = time.perf_counter() - t0
    lat.sort()
    return {"requests": len(lat), "errors": errors, "rps": round(len(lat) / wall),
            "p50_ms": round(lat[len(lat) // 2] * 1000, 2), "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 2)}


def _run(coro):  # noqa: ANN001, ANN202 - the load generator on uvloop when installed (less client CPU)
    try:
        import uvloop
        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _sync(sb: Sandbox) -> None:
    port = sb.state()["ports"]["dataplane-admin"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/sync?timeout=120", timeout=150) as r:
        assert r.status == 200


def _pods(env: dict, ns: str, n: int, start: int) -> None:
    """n bare pods bound to the sandbox node (the kubelet stand-in makes them Ready)."""
    docs = []
    for i in range(start, start + n):
        docs.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"bench-{i}", "namespace": ns,
                                                                       "labels": {"app": "bench"}},
                     "spec": {"nodeName": "sandbox-node-1", "containers": [{"name": "app", "image": "nginx"}]}})
    subprocess.run(["kubectl", "apply", "-f", "-"], input=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}),
                   text=True, env=env, check=True, capture_output=True)


def measure(sb: Sandbox, env: dict, total: int = 20000, conns: int = 64) -> dict:
    """The sandbox runs a solved canary (ingress gateway -> web v1/v2 in webapp)."""
    _sync(sb)
    ports = sb.state()["ports"]
    from kubernetes import client, config
    api = client.CoreV1Api(config.new_client_from_config(config_file=str(sb.kubeconfig)))
    ips = [p.status.pod_ip for p in api.list_namespaced_pod("webapp", label_selector="app=web").items
           if p.status.pod_ip]
    out: dict = {"connections": conns}
    pid = sb.pid("dataplane")
    _run(_load(ports["dataplane-gateway"], ["127.0.0.1"], 2000, conns))   # warm-up
    c0 = _cpu_s(pid)
    out["gateway"] = _run(_load(ports["dataplane-gateway"], ["127.0.0.1"], total, conns))
    c1 = _cpu_s(pid)
    out["direct"] = _run(_load(ports["dataplane-pods"], ips, total, conns))
    c2 = _cpu_s(pid)
    # the data plane's own CPU per request: independent of what else the machine runs
    out["gateway"]["cpu_us_per_request"] = round((c1 - c0) / max(out["gateway"]["requests"], 1) * 1e6, 1)
    out["direct"]["cpu_us_per_request"] = round((c2 - c1) / max(out["direct"]["requests"], 1) * 1e6, 1)
    out["added_p50_ms"] = round(out["gateway"]["p50_ms"] - out["direct"]["p50_ms"], 2)
    # latency at a fixed 2,000 requests/s (how Istio reports the proxy's added latency: at a set load)
    out["gateway_2000qps"] = _run(_load(ports["dataplane-gateway"], ["127.0.0.1"], 10000, conns, 2000))
    out["direct_2000qps"] = _run(_load(ports["dataplane-pods"], ips, 10000, conns, 2000))
    out["added_p50_ms_2000qps"] = round(out["gateway_2000qps"]["p50_ms"] - out["direct_2000qps"]["p50_ms"], 2)
    mem = {"baseline": _rss_mib(pid)}
    subprocess.run(["kubectl", "create", "namespace", "dp-bench"], env=env, capture_output=True)
    subprocess.run(["kubectl", "create", "service", "clusterip", "bench", "--tcp=80:80", "-n", "dp-bench"], env=env,
                   capture_output=True)
    subprocess.run(["kubectl", "set", "selector", "service", "bench", "app=bench", "-n", "dp-bench"], env=env,
                   capture_output=True)
    made = 0
    for target in (100, 2000):
        while made < target:
            step = min(250, target - made)
            _pods(env, "dp-bench", step, made)
            made += step
        t0 = time.monotonic()
        while len([p for p in api.list_namespaced_pod("dp-bench").items if p.status.pod_ip]) < target:
            if time.monotonic() - t0 > 300:
                break
            time.sleep(1)
        _sync(sb)
        mem[f"pods_{target}"] = _rss_mib(pid)
    out["memory_mib"] = mem
    # one deletecollection for the pods (kubectl would send 2,000 DELETEs), then the namespace
    api.delete_collection_namespaced_pod("dp-bench", grace_period_seconds=0)
    subprocess.run(["kubectl", "delete", "namespace", "dp-bench", "--wait=false"], env=env, capture_output=True)
    return out


def render(r: dict) -> list[str]:
    g, d, m = r["gateway"], r["direct"], r["memory_mib"]

    def row(what: str, load: str, x: dict) -> str:
        cpu = f"{x['cpu_us_per_request']} µs" if "cpu_us_per_request" in x else "-"
        return f"| {what} | {load} | {x['rps']} | {x['p50_ms']} ms | {x['p99_ms']} ms | {cpu} | {x['errors']} |"
    return ["", f"Data plane, {r['connections']} keep-alive connections, GET / (one run, same backends):", "",
            "| path | load | requests/s | p50 | p99 | data plane CPU per request | non-200 |",
            "|---|---|---|---|---|---|---|",
            row("through the ingress gateway (GATEWAY_URL)", "as fast as it answers", g),
            row("the same pods called directly", "as fast as they answer", d),
            row("through the ingress gateway", "fixed 2,000/s", r["gateway_2000qps"]),
            row("the same pods called directly", "fixed 2,000/s", r["direct_2000qps"]),
            "", f"Added at p50: {r['added_p50_ms']} ms at full load, {r['added_p50_ms_2000qps']} ms at 2,000/s. "
            f"Data plane memory (RSS): {m['baseline']} MiB with the lab's pods, "
            f"{m['pods_100']} MiB with 100 more pods, {m['pods_2000']} MiB with 2,000."]


@contextlib.contextmanager
def solved_canary(prefix: str) -> Iterator[tuple[Sandbox, dict]]:
    """A sandbox of its own (istio flavour) with the canary lab solved and in force in the data
    plane; torn down and purged afterwards. Yields the sandbox and the environment for `lab`."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    env = dict(os.environ, LAB_SANDBOX_DIR=str(root), NO_COLOR="1")
    env.pop("KUBECONFIG", None)
    lab = [sys.executable, "-m", "grader"]
    sb = Sandbox(root=root)
    try:
        subprocess.run(lab + ["--flavour", "istio", "sandbox", "up"], env=env, check=True)
        env["KUBECONFIG"] = str(sb.kubeconfig)
        subprocess.run(lab + ["--flavour", "istio", "start", "canary"], env=env, check=True)
        subprocess.run(lab + ["--flavour", "istio", "solve", "canary"], env=env, check=True)
        subprocess.run(lab + ["sandbox", "wait"], env=env, check=True)
        yield sb, env
    finally:
        subprocess.run(lab + ["sandbox", "down", "--purge"], env=env, check=False)


def main() -> int:
    with solved_canary("lab-dp-bench-") as (sb, env):
        r = measure(sb, env)
    print(json.dumps(r, indent=2))
    print("\n".join(render(r)))
    return 0

if __name__ == "__main__":
    sys.exit(main())
