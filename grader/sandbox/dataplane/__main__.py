"""Entry point of the sandbox's data plane process: `python -m grader.sandbox.dataplane`.

Listens on loopback only:
  --gateway-port  the ingress gateway Service's port 80 (GATEWAY_URL)
  --mesh-port     requests from inside the mesh (`lab sandbox curl --from NS/POD`; header x-lab-from)
  --pods-port     the pods' apps with no proxy (Host: <pod IP>): the benchmark's "direct" baseline
  --admin-port    /metrics (Prometheus), /ready, /sync?timeout=S (wait until every API write made
                  before the call has taken effect, like `istioctl x wait`), /config (summary)
Writes run/dataplane.ready once every watch has listed its kind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from kubernetes import config

from grader.sandbox.dataplane import FROM_HEADER
from grader.sandbox.dataplane.metrics import Metrics
from grader.sandbox.dataplane.proxy import RESET, DataPlane, Resp
from grader.sandbox.dataplane.routing import Request, Snapshot
from grader.sandbox.dataplane.server import RawRequest, Reply, serve
from grader.sandbox.dataplane.store import KINDS, Store

log = logging.getLogger("dataplane")


def split_host(value: str, default_port: int | None) -> tuple[str, int | None]:
    h = value.strip().lower()
    if h.startswith("["):
        return h, default_port
    host, sep, port = h.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return h, default_port


def to_request(raw: RawRequest, default_port: int | None) -> Request:
    host, port = split_host(raw.headers.get("host", ""), default_port)
    target = raw.target
    if target.startswith(("http://", "https://")):   # absolute-form (a client using us as a proxy)
        parts = urlsplit(target)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Request(raw.method, target, raw.headers, host, port)


def to_reply(res: Resp | str) -> Reply:
    if res == RESET or not isinstance(res, Resp):
        return Reply(reset=True)
    headers = res.headers
    if res.outcome:
        headers = headers + [("x-lab-outcome", res.outcome)]
    return Reply(res.status, headers, res.body)


class Runtime:
    def __init__(self, store: Store, dp: DataPlane, loop: asyncio.AbstractEventLoop) -> None:
        self.store, self.dp, self.loop = store, dp, loop
        self.built_version = -1
        self.changed = asyncio.Event()
        self._pending = False
        self.ready_file: Path | None = None
        store.listeners.append(self._on_change)

    def _on_change(self) -> None:
        self.loop.call_soon_threadsafe(self._schedule)

    def _schedule(self) -> None:
        if not self._pending:
            self._pending = True
            self.loop.call_later(0.02, self._rebuild)   # coalesce bursts (a relist, a rollout)

    def _rebuild(self) -> None:
        self._pending = False
        version, objects = self.store.snapshot()
        try:
            snap = Snapshot(objects, self.dp.snap.generation + 1)
        except Exception:  # noqa: BLE001 - keep serving the previous configuration
            log.exception("configuration rejected; still serving generation %d", self.dp.snap.generation)
            return
        self.dp.snap = snap
        self.built_version = version
        self.changed.set()
        self.changed = asyncio.Event()
        if self.ready_file and all(self.store.synced.values()):
            self.ready_file.write_text("ok\n")
            log.info("data plane ready (generation %d, %d pods)", snap.generation, len(snap.pods))
            self.ready_file = None

    async def sync(self, timeout: float) -> bool:
        """True once every object a fresh list returns is in the routing snapshot."""
        deadline = time.monotonic() + timeout
        listings = await self.loop.run_in_executor(None, self._list_all)
        while True:
            version = self.store.version
            if all(self.store.in_sync_with(k, v) for k, v in listings.items()) and self.built_version >= version:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.25))
            except asyncio.TimeoutError:
                pass

    def _list_all(self) -> dict:
        out = {}
        for k in KINDS:
            try:
                out[k] = self.store.list(k)
            except Exception:  # noqa: BLE001 - e.g. a CRD not installed: nothing to wait for
                out[k] = {"metadata": {}, "items": []}
        return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m grader.sandbox.dataplane")
    ap.add_argument("--state-dir", required=True, type=Path)
    ap.add_argument("--gateway-port", type=int, required=True)
    ap.add_argument("--mesh-port", type=int, required=True)
    ap.add_argument("--pods-port", type=int, required=True)
    ap.add_argument("--admin-port", type=int, required=True)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    try:
        import uvloop  # optional: faster event loop
        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(run(args))


async def run(args: argparse.Namespace) -> int:
    root: Path = args.state_dir
    api = config.new_client_from_config(config_file=str(root / "simulator.kubeconfig"))
    api.user_agent = "lab-sandbox-dataplane"
    stop = threading.Event()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    store = Store(api, stop)
    dp = DataPlane(Metrics())
    rt = Runtime(store, dp, loop)

    def gateway(raw: RawRequest):  # noqa: ANN202
        async def go() -> Reply:
            return to_reply(await dp.ingress(to_request(raw, 80)))
        return go()

    def mesh(raw: RawRequest):  # noqa: ANN202
        src = raw.headers.pop(FROM_HEADER, "")
        ns, _, name = src.partition("/")
        pod = dp.snap.pods.get((ns, name))
        if pod is None:   # NS/DEPLOYMENT: one of its ready pods, as `kubectl exec deploy/NAME` picks one
            pod = next((p for p in sorted(dp.snap.pods.values(), key=lambda p: p.name)
                        if p.namespace == ns and p.ready and p.workload == name), None)
        if pod is None:
            return Reply(599, [("x-lab-outcome", "no-pod")], f"no pod {src!r} in the sandbox\n".encode())

        async def go() -> Reply:
            return to_reply(await dp.mesh(to_request(raw, 80), pod))
        return go()

    def pods(raw: RawRequest) -> Reply:
        host, _ = split_host(raw.headers.get("host", ""), None)
        res = dp.direct(host)
        if res is None:
            return Reply(reset=True)
        return to_reply(res)

    def admin(raw: RawRequest):  # noqa: ANN202
        u = urlsplit(raw.target)
        if u.path == "/metrics":
            return Reply(200, [("content-type", "text/plain; version=0.0.4")], dp.metrics.render())
        if u.path == "/ready":
            ok = all(store.synced.values()) and rt.built_version >= 0
            return Reply(200 if ok else 503, [], f"generation {dp.snap.generation}\n".encode())
        if u.path == "/config":
            s = dp.snap
            body = {"generation": s.generation, "pods": len(s.pods), "services": len(s.services),
                    "gateways": len(s.gateways), "virtualServices": len(s.virtual_services),
                    "destinationRules": len(s.destination_rules),
                    "peerAuthentications": len(s.peer_authentications)}
            return Reply(200, [("content-type", "application/json")], json.dumps(body).encode())
        if u.path == "/sync":
            try:
                timeout = float(parse_qs(u.query).get("timeout", ["10"])[0])
            except ValueError:
                timeout = 10.0

            async def go() -> Reply:
                ok = await rt.sync(min(max(timeout, 0.1), 120.0))
                return Reply(200 if ok else 504, [], f"generation {dp.snap.generation}\n".encode())

            async def in_task() -> Reply:   # sync() uses asyncio timeouts: give it a Task of its own
                return await asyncio.ensure_future(go())
            return in_task()
        return Reply(404, [], b"not found\n")

    servers = [await serve(gateway, args.gateway_port), await serve(mesh, args.mesh_port),
               await serve(pods, args.pods_port), await serve(admin, args.admin_port)]
    ready = root / "run" / "dataplane.ready"
    ready.unlink(missing_ok=True)
    rt.ready_file = ready
    store.start()
    log.info("data plane listening: gateway %d, mesh %d, pods %d, admin %d", args.gateway_port, args.mesh_port,
             args.pods_port, args.admin_port)
    await done.wait()
    stop.set()
    for s in servers:
        s.close()
    ready.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
