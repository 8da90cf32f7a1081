"""Serving one request as the mesh's proxies would: the ingress gateway, a client sidecar, a server sidecar.

Order of the client proxy's HTTP filters as in Envoy: route selection -> fault filter (delay, then
abort) -> router (cluster, load balancing, connection pool, retries, timeouts, outlier detection).
Local replies carry Envoy's bodies and response flags (envoyproxy.io docs: access log
%RESPONSE_FLAGS%): NR no route, NC cluster not found, UH no healthy upstream, UO overflow,
UT upstream timeout, UC upstream connection termination, UF upstream connection failure,
DI delay injected, FI fault injected.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from grader.sandbox.dataplane import app
from grader.sandbox.dataplane.metrics import Metrics
from grader.sandbox.dataplane.routing import (
    Pod,
    Request,
    Service,
    Snapshot,
    _d,
    _int,
    _l,
    _num,
    _s,
    domain_rank,
    fault_percent,
    first_route,
    fqdn,
    labels_match,
    merged_policy,
    parse_duration,
    pick_weighted,
    subset_labels,
)

log = logging.getLogger("dataplane")

RESET = "reset"          # the connection is reset: no HTTP response at all
BIG = 2**32 - 1          # Envoy's "unlimited" circuit-breaker thresholds
DEFAULT_RETRY_ON = {"connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"}
# pilot/pkg/networking/core/v1alpha3/route/retry/retry.go DefaultPolicy: 2 retries, those conditions, 503.

CONNECT_BODY = b"upstream connect error or disconnect/reset before headers. reset reason: "


class Resp:
    __slots__ = ("status", "headers", "body", "flags", "outcome")

    def __init__(self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None,
                 flags: str = "-", outcome: str | None = None) -> None:
        self.status, self.body, self.headers, self.flags, self.outcome = status, body, headers or [], flags, outcome


def local_reply(status: int, flags: str, body: bytes = b"") -> Resp:
    headers = [("content-type", "text/plain")] if body else []
    return Resp(status, body, headers, flags)


class Pool:
    """One client proxy's circuit breaker for one cluster (HTTP/1.1: one connection per request in flight)."""
    __slots__ = ("active", "waiting")

    def __init__(self) -> None:
        self.active = 0
        self.waiting: list[asyncio.Future] = []


class Host:
    __slots__ = ("c5", "cg", "until", "times")

    def __init__(self) -> None:
        self.c5 = self.cg = self.times = 0
        self.until = 0.0


class DataPlane:
    def __init__(self, metrics: Metrics | None = None, rnd: Any = None, gateway: tuple[str, str, int] =
                 ("istio-system", "istio-ingressgateway", 80)) -> None:
        self.snap = Snapshot({}, 0)
        self.metrics = metrics or Metrics()
        self.rnd = rnd or random.random
        self.gateway = gateway
        self._rr: dict[Any, int] = {}
        self._pools: dict[Any, Pool] = {}
        self._health: dict[Any, dict[tuple, Host]] = {}

    # -- helpers -----------------------------------------------------------------------------
    def _next(self, key: Any, n: int) -> int:
        i = self._rr.get(key, 0)
        self._rr[key] = i + 1
        return i % n

    def _who(self, pod: Pod | None, mtls: bool) -> tuple:
        if pod is None:
            return ("unknown", "unknown", "unknown", "unknown", "unknown", "unknown", "unknown", "unknown")
        principal = f"spiffe://cluster.local/ns/{pod.namespace}/sa/{pod.service_account}" if mtls else "unknown"
        return (pod.workload, pod.namespace, principal, pod.app, pod.version, pod.app, pod.version, "Kubernetes")

    def _record(self, reporter: str, src: Pod | None, dst: Pod | None, svc: Service | None, svc_host: str,
                status: int, flags: str, mtls: bool, t0: float) -> None:
        s, d = self._who(src, mtls), self._who(dst, mtls)
        labels = (reporter, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
                  d[0], d[1], d[2], d[3], d[4], svc.fqdn if svc else (svc_host or "unknown"),
                  svc.name if svc else (svc_host.split(".")[0] if svc_host else "unknown"),
                  svc.namespace if svc else "unknown", d[5], d[6], d[7], "http", str(status), "-", flags,
                  "mutual_tls" if mtls else "none")
        self.metrics.record(labels, (time.monotonic() - t0) * 1000.0)

    # -- entry points ----------------------------------------------------------------------------
    async def ingress(self, req: Request) -> Resp | str:
        """A request to GATEWAY_URL: the gateway Service's port -> an ingress pod's targetPort listener."""
        t0 = time.monotonic()
        snap = self.snap
        ns, name, port = self.gateway
        svc = snap.services.get((ns, name))
        sp = svc.port(port) if svc else None
        pods = [p for p, _ in svc.endpoints] if svc else []
        if sp is None or not pods:
            return RESET      # no ready ingress pod: nothing listens behind the Service
        gw_pod = pods[self._next(("gw",), len(pods))]
        vhosts = snap.gateway_vhosts(gw_pod, svc.target_port(sp, gw_pod))
        if vhosts is None:
            return RESET      # no Gateway server on that port: Envoy has no listener there
        req.port = port
        best, rank = None, -1
        for d, vs_list, redirect in vhosts:
            r = domain_rank(d, req.host)
            if r is not None and r > rank:
                best, rank = (vs_list, redirect), r
        if best is None:
            resp = local_reply(404, "NR")
            self._record("source", gw_pod, None, None, req.host, 404, "NR", False, t0)
            return self._envoy(resp, t0)
        vs_list, redirect = best
        if redirect:
            return self._envoy(Resp(301, b"", [("location", f"https://{req.headers.get('host', req.host)}{req.path}")]), t0)
        gw_names = set()
        for vs in vs_list:
            vs_ns = _s(_d(vs.get("metadata")).get("namespace"))
            gw_names |= {g if "/" in g else f"{vs_ns}/{g}" for g in _l(_d(vs.get("spec")).get("gateways"))
                         if isinstance(g, str)}
        route = first_route(vs_list, req, None, gw_names)
        if route is None:
            self._record("source", gw_pod, None, None, req.host, 404, "NR", False, t0)
            return self._envoy(local_reply(404, "NR"), t0)
        return await self._route(gw_pod, route, None, req, t0)

    async def mesh(self, req: Request, src: Pod) -> Resp | str:
        """A request from a pod: through its sidecar when it has one, else straight to an endpoint."""
        t0 = time.monotonic()
        snap = self.snap
        svc = snap.resolve(req.host, src.namespace)
        if svc is None:
            return Resp(599, f"could not resolve host {req.host} from {src.namespace}/{src.name}\n".encode(),
                        outcome="resolve")
        sp = svc.port(req.port or 80)
        if sp is None:
            return Resp(599, f"{svc.fqdn} has no port {req.port or 80}: connection refused\n".encode(),
                        outcome="refused")
        if src.sidecar:
            vs = snap.mesh_virtual_service(svc)
            if vs is not None:
                route = first_route([vs], req, src, {"mesh"})
                if route is None:
                    self._record("source", src, None, svc, svc.fqdn, 404, "NR", False, t0)
                    return self._envoy(local_reply(404, "NR"), t0)
                return await self._route(src, route, None, req, t0)
            return await self._route(src, None, (svc, sp), req, t0)
        # no sidecar: kube-proxy picks a ready endpoint; the request is plaintext
        eps = [p for p, _ in svc.endpoints]
        if not eps:
            return Resp(599, f"{svc.fqdn} has no ready endpoints: connection refused\n".encode(), outcome="refused")
        pod = eps[self._next(("kp", svc.fqdn), len(eps))]
        target = svc.target_port(sp, pod)
        if pod.sidecar and snap.mtls_mode(pod, target) == "STRICT":
            return RESET      # STRICT: the server sidecar only accepts mutual TLS
        ans = app.answer(pod)
        if ans.delay:
            await asyncio.sleep(ans.delay)
        if pod.sidecar:
            self._record("destination", src, pod, svc, svc.fqdn, ans.status, "-", False, t0)
        return Resp(ans.status, ans.body, list(ans.headers))

    def direct(self, pod_ip: str) -> Resp | None:
        """The app of the pod with that IP, with no proxy at all (benchmarks and debugging)."""
        pod = self.snap.pods_by_ip.get(pod_ip)
        if pod is None:
            return None
        ans = app.answer(pod)
        return Resp(ans.status, ans.body, list(ans.headers))

    # -- the client proxy ----------------------------------------------------------------------
    def _envoy(self, resp: Resp, t0: float) -> Resp:
        resp.headers.append(("server", "istio-envoy"))
        resp.headers.append(("x-envoy-upstream-service-time", str(int((time.monotonic() - t0) * 1000))))
        return resp

    async def _route(self, proxy: Pod, route: tuple[dict, str] | None, default: tuple[Service, dict] | None,
                     req: Request, t0: float) -> Resp:
        snap = self.snap
        rt: dict = {}
        subset = None
        if route is not None:
            rt, vs_ns = route
            red = rt.get("redirect")
            if isinstance(red, dict):
                code = _int(red.get("redirectCode"), 301) or 301
                loc_host = _s(red.get("authority")) or req.headers.get("host", req.host)
                loc_path = _s(red.get("uri")) or req.path
                return self._envoy(Resp(code, b"", [("location", f"{_s(red.get('scheme')) or 'http'}://{loc_host}{loc_path}")]), t0)
            d = pick_weighted(_l(rt.get("route")), self.rnd())
            if d is None:
                self._record("source", proxy, None, None, req.host, 404, "NR", False, t0)
                return self._envoy(local_reply(404, "NR"), t0)
            dest = _d(d.get("destination"))
            host = fqdn(_s(dest.get("host")), vs_ns)
            svc = snap.by_fqdn.get(host)
            if svc is None:
                self._record("source", proxy, None, None, host, 503, "NC", False, t0)
                return self._envoy(local_reply(503, "NC"), t0)
            num = _int(_d(dest.get("port")).get("number"))
            sp = svc.port(num if num is not None else req.port if svc.port(req.port) else None) or svc.port(None)
            subset = dest.get("subset") if isinstance(dest.get("subset"), str) else None
        else:
            svc, sp = default  # type: ignore[misc]
        if sp is None:
            self._record("source", proxy, None, svc, svc.fqdn, 503, "NC", False, t0)
            return self._envoy(local_reply(503, "NC"), t0)
        flags = "-"
        # -- fault filter: delay, then abort (they are independent of each other)
        fault = _d(rt.get("fault"))
        if fault:
            delay = _d(fault.get("delay"))
            dsec = parse_duration(delay.get("fixedDelay")) if delay else None
            if dsec and self.rnd() * 100 < fault_percent(delay):
                await asyncio.sleep(min(dsec, 3600.0))
                flags = "DI"
            abort = _d(fault.get("abort"))
            status = _int(abort.get("httpStatus")) if abort else None
            if status is not None and 200 <= status <= 599 and self.rnd() * 100 < fault_percent(abort):
                f = "FI" if flags == "-" else "DI,FI"
                self._record("source", proxy, None, svc, svc.fqdn, status, f, False, t0)
                return self._envoy(local_reply(status, f, b"fault filter abort"), t0)
        # -- router
        dr = snap.destination_rule(svc, proxy.namespace)
        sel = None
        if subset is not None:
            sel = subset_labels(dr, subset)
            if sel is None:   # no such subset: istiod builds no cluster for it
                self._record("source", proxy, None, svc, svc.fqdn, 503, "NC", False, t0)
                return self._envoy(local_reply(503, "NC"), t0)
        port_num = sp.get("port") if isinstance(sp.get("port"), int) else None
        policy = merged_policy(dr, subset, port_num)
        eps = [p for p, _ in svc.endpoints if sel is None or labels_match(sel, p.labels)]
        cluster = (proxy.key, svc.fqdn, port_num, subset or "")
        timeout = parse_duration(rt.get("timeout")) or None
        retries = rt.get("retries")
        if isinstance(retries, dict):
            attempts = max(_int(retries.get("attempts"), 0) or 0, 0)
            per_try = parse_duration(retries.get("perTryTimeout")) or None
            retry_on, codes = DEFAULT_RETRY_ON, {503}
            if isinstance(retries.get("retryOn"), str) and retries["retryOn"].strip():
                parts = {p.strip() for p in retries["retryOn"].split(",") if p.strip()}
                codes = {int(p) for p in parts if p.isdigit()}
                retry_on = {p for p in parts if not p.isdigit()} | ({"retriable-status-codes"} if codes else set())
        else:
            attempts, per_try, retry_on, codes = 2, None, DEFAULT_RETRY_ON, {503}
        deadline = time.monotonic() + timeout if timeout else None
        tried: set = set()
        n = 0
        while True:
            resp, kind, pod, mtls = await self._attempt(proxy, svc, sp, eps, policy, cluster, per_try, deadline, tried)
            if kind == "deadline":
                break
            if n < attempts and self._retriable(kind, resp.status, retry_on, codes) and \
                    (deadline is None or time.monotonic() < deadline):
                n += 1
                await asyncio.sleep(self.rnd() * 0.025 * (2 ** n - 1))
                continue
            break
        if flags != "-" and resp.flags != "-":
            resp.flags = f"{flags},{resp.flags}"
        elif flags != "-":
            resp.flags = flags
        hm = _d(_d(rt.get("headers")).get("response"))
        if hm:
            remove = {h.lower() for h in _l(hm.get("remove")) if isinstance(h, str)}
            setv = {k.lower(): v for k, v in _d(hm.get("set")).items() if isinstance(k, str) and isinstance(v, str)}
            resp.headers = [(k, v) for k, v in resp.headers if k not in remove and k not in setv]
            resp.headers += list(setv.items())
            resp.headers += [(k.lower(), v) for k, v in _d(hm.get("add")).items()
                             if isinstance(k, str) and isinstance(v, str)]
        self._mirror(rt, proxy, route[1] if route else "", t0)
        self._record("source", proxy, pod, svc, svc.fqdn, resp.status, resp.flags, mtls, t0)
        return self._envoy(resp, t0)

    @staticmethod
    def _retriable(kind: str, status: int, retry_on: set, codes: set) -> bool:
        if kind in ("connect",):
            return bool(retry_on & {"connect-failure", "5xx", "gateway-error", "reset"})
        if kind == "reset":
            return bool(retry_on & {"reset", "5xx"})
        if kind == "timeout":
            return bool(retry_on & {"5xx", "gateway-error", "reset"})
        if kind == "status":
            return ("5xx" in retry_on and status >= 500) or \
                ("gateway-error" in retry_on and status in (502, 503, 504)) or \
                ("retriable-status-codes" in retry_on and status in codes) or \
                ("retriable-4xx" in retry_on and status == 409)
        return False   # uh, overflow (Envoy does not retry a pool overflow), ok

    def _mirror(self, rt: dict, proxy: Pod, vs_ns: str, t0: float) -> None:
        m = _d(rt.get("mirror"))
        if not m:
            return
        pct = _num(_d(rt.get("mirrorPercentage")).get("value"))
        if self.rnd() * 100 >= (100.0 if pct is None else pct):
            return
        svc = self.snap.by_fqdn.get(fqdn(_s(m.get("host")), vs_ns))
        if svc is None:
            return
        sub = m.get("subset")
        sel = subset_labels(self.snap.destination_rule(svc, proxy.namespace), sub) if isinstance(sub, str) else None
        eps = [p for p, _ in svc.endpoints if sel is None or labels_match(sel, p.labels)]
        if eps:   # the shadow request's answer is discarded; only its metrics show
            pod = eps[self._next(("mirror", svc.fqdn), len(eps))]
            self._record("destination", proxy, pod, svc, svc.fqdn, app.answer(pod).status, "-", pod.sidecar, t0)

    # -- one upstream attempt -------------------------------------------------------------------
    async def _attempt(self, proxy: Pod, svc: Service, sp: dict, eps: list[Pod], policy: dict, cluster: tuple,
                       per_try: float | None, deadline: float | None, tried: set) -> tuple[Resp, str, Pod | None, bool]:
        t0 = time.monotonic()
        od = policy.get("outlierDetection")
        table = self._health.setdefault(cluster, {}) if od is not None else None
        healthy = eps if not table else [p for p in eps if (h := table.get(p.key)) is None or h.until <= t0]
        if not healthy:
            return local_reply(503, "UH", b"no healthy upstream"), "uh", None, False
        fresh = [p for p in healthy if p.key not in tried] or healthy   # retry host predicate: previous_hosts
        pod = fresh[self._next(cluster, len(fresh))]
        tried.add(pod.key)
        cp = _d(policy.get("connectionPool"))
        tcp, http = _d(cp.get("tcp")), _d(cp.get("http"))
        max_active = min(_int(tcp.get("maxConnections"), 0) or BIG, _int(http.get("http2MaxRequests"), 0) or BIG)
        max_pending = _int(http.get("http1MaxPendingRequests"), 0) or BIG
        pool = self._pools.get(cluster)
        if pool is None:
            pool = self._pools[cluster] = Pool()
        if pool.active >= max_active:
            if len(pool.waiting) >= max_pending:
                return local_reply(503, "UO", CONNECT_BODY + b"overflow"), "overflow", None, False
            fut = asyncio.get_running_loop().create_future()
            pool.waiting.append(fut)
            try:
                if deadline is not None:
                    await asyncio.wait_for(fut, max(deadline - time.monotonic(), 0))
                else:
                    await fut
            except asyncio.TimeoutError:
                if fut in pool.waiting:
                    pool.waiting.remove(fut)
                return local_reply(504, "UT", b"upstream request timeout"), "deadline", None, False
        else:
            pool.active += 1
        try:
            return await self._exchange(proxy, svc, sp, pod, policy, cluster, per_try, deadline, table, od, len(eps))
        finally:
            while pool.waiting:
                fut = pool.waiting.pop(0)
                if not fut.done():
                    fut.set_result(None)   # hand the connection over
                    break
            else:
                pool.active -= 1

    async def _exchange(self, proxy: Pod, svc: Service, sp: dict, pod: Pod, policy: dict, cluster: tuple,
                        per_try: float | None, deadline: float | None, table: dict | None, od: Any,
                        n_eps: int) -> tuple[Resp, str, Pod | None, bool]:
        t0 = time.monotonic()
        target = svc.target_port(sp, pod)
        server = self.snap.mtls_mode(pod, target) if pod.sidecar else None
        mode = _s(_d(policy.get("tls")).get("mode")).upper()
        if mode in ("", "UNSET") or mode not in ("DISABLE", "ISTIO_MUTUAL", "SIMPLE", "MUTUAL"):
            sent = "mtls" if pod.sidecar and server != "DISABLE" else "plain"   # auto mTLS
        else:
            sent = {"DISABLE": "plain", "ISTIO_MUTUAL": "mtls"}.get(mode, "tls")
        fail = None
        if pod.sidecar:
            if server == "STRICT" and sent == "plain":
                fail = ("reset", "UC", b"connection termination")
            elif sent == "tls" or (server == "DISABLE" and sent == "mtls"):
                fail = ("connect", "UF", b"connection failure, transport failure reason: TLS error")
        elif sent != "plain":
            fail = ("connect", "UF", b"connection failure, transport failure reason: TLS error")
        if fail is not None:
            self._observe(table, od, pod, n_eps, 503)
            return local_reply(503, fail[1], CONNECT_BODY + fail[2]), fail[0], pod, False
        mtls = sent == "mtls"
        ans = app.answer(pod)
        limit = per_try
        if deadline is not None:
            left = max(deadline - t0, 0.0)
            limit = left if limit is None else min(limit, left)
        if limit is not None and ans.delay >= limit:
            await asyncio.sleep(limit)
            self._observe(table, od, pod, n_eps, 504)
            kind = "deadline" if deadline is not None and time.monotonic() >= deadline - 1e-4 else "timeout"
            return local_reply(504, "UT", b"upstream request timeout"), kind, pod, mtls
        if ans.delay:
            await asyncio.sleep(ans.delay)
        self._observe(table, od, pod, n_eps, ans.status)
        if pod.sidecar:
            self._record("destination", proxy, pod, svc, svc.fqdn, ans.status, "-", mtls, t0)
        return Resp(ans.status, ans.body, list(ans.headers)), ("status" if ans.status >= 400 else "ok"), pod, mtls

    def _observe(self, table: dict | None, od: Any, pod: Pod, n_eps: int, status: int) -> None:
        """Outlier detection (Envoy defaults for what the block leaves out: consecutive 5xx 5, base ejection
        30s, max ejection 10% but at least one host; consecutiveGatewayErrors off unless set; the
        deprecated consecutiveErrors is ignored; consecutive5xxErrors: 0 turns 5xx ejection off)."""
        if table is None or not isinstance(od, dict):
            return
        now = time.monotonic()
        h = table.get(pod.key)
        if h is None:
            h = table[pod.key] = Host()
        h.c5 = h.c5 + 1 if status >= 500 else 0
        h.cg = h.cg + 1 if status in (502, 503, 504) else 0
        c5 = _int(od.get("consecutive5xxErrors"), 5) if "consecutive5xxErrors" in od else 5
        cg = _int(od.get("consecutiveGatewayErrors"), 0) or 0
        if (c5 and h.c5 >= c5) or (cg and h.cg >= cg):
            ejected = sum(1 for x in table.values() if x.until > now)
            pct = _num(od.get("maxEjectionPercent"))
            pct = 10.0 if pct is None or pct <= 0 else min(pct, 100.0)
            if ejected < max(1, int(n_eps * pct / 100)) and h.until <= now:
                h.times += 1
                base = parse_duration(od.get("baseEjectionTime")) or 30.0
                h.until = now + min(base * h.times, max(base, 300.0))
                h.c5 = h.cg = 0
                log.info("outlier detection: ejected %s/%s for %.0fs", pod.namespace, pod.name, base * h.times)
