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
import json
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
        self._pools: dict[Any, tuple[str, Pool]] = {}          # cluster -> (its policy version, pool)
        self._health: dict[Any, tuple[str, dict[tuple, Host]]] = {}   # cluster -> (policy version, hosts)
        self._labels: dict[tuple, tuple] = {}
        self._labels_gen: Snapshot | None = None

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
        if self._labels_gen is not self.snap:   # ids below are only unique among live objects: one cache per snapshot
            self._labels.clear()
            self._labels_gen = self.snap
        key = (reporter, id(src), id(dst), id(svc), svc_host, status, flags, mtls)
        labels = self._labels.get(key)
        if labels is None:
            if len(self._labels) > 20000:
                self._labels.clear()
            labels = self._labels[key] = self._make_labels(reporter, src, dst, svc, svc_host, status, flags, mtls)
        self.metrics.record(labels, (time.monotonic() - t0) * 1000.0)

    def _make_labels(self, reporter: str, src: Pod | None, dst: Pod | None, svc: Service | None, svc_host: str,
                     status: int, flags: str, mtls: bool) -> tuple:
        s, d = self._who(src, mtls), self._who(dst, mtls)
        labels = (reporter, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
                  d[0], d[1], d[2], d[3], d[4], svc.fqdn if svc else (svc_host or "unknown"),
                  svc.name if svc else (svc_host.split(".")[0] if svc_host else "unknown"),
                  svc.namespace if svc else "unknown", d[5], d[6], d[7], "http", str(status), "-", flags,
                  "mutual_tls" if mtls else "none")
        return labels

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
        key = ("vhost", gw_pod.key, req.host)
        best = snap._cache.get(key, False)
        if best is False:
            best = snap._cache[key] = self._vhost(vhosts, req.host)
        if best is None:
            resp = local_reply(404, "NR")
            self._record("source", gw_pod, None, None, req.host, 404, "NR", False, t0)
            return self._envoy(resp, t0)
        vs_list, redirect, gw_names = best
        if redirect:
            return self._envoy(Resp(301, b"", [("location", f"https://{req.headers.get('host', req.host)}{req.path}")]), t0)
        route = first_route(vs_list, req, None, gw_names)
        if route is None:
            self._record("source", gw_pod, None, None, req.host, 404, "NR", False, t0)
            return self._envoy(local_reply(404, "NR"), t0)
        return await self._route(gw_pod, route, None, req, t0)

    @staticmethod
    def _vhost(vhosts: list, host: str) -> tuple | None:
        best, rank = None, -1
        for d, vs_list, redirect in vhosts:
            r = domain_rank(d, host)
            if r is not None and r > rank:
                best, rank = (vs_list, redirect), r
        if best is None:
            return None
        gw_names: set[str] = set()
        for vs in best[0]:
            vs_ns = _s(_d(vs.get("metadata")).get("namespace"))
            gw_names |= {g if "/" in g else f"{vs_ns}/{g}" for g in _l(_d(vs.get("spec")).get("gateways"))
                         if isinstance(g, str)}
        return best[0], best[1], gw_names

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
        delay = ans.delay_for(req.path)
        if delay:
            await asyncio.sleep(delay)
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
        resp.headers = [h for h in resp.headers if h[0] != "server"]   # Envoy overwrites the server header
        resp.headers.append(("server", "istio-envoy"))
        resp.headers.append(("x-envoy-upstream-service-time", str(int((time.monotonic() - t0) * 1000))))
        return resp

    async def _route(self, proxy: Pod, route: tuple[dict, str] | None, default: tuple[Service, dict] | None,
                     req: Request, t0: float) -> Resp:
        snap = self.snap
        subset = None
        if route is not None:
            rt, vs_ns = route
            rkey = ("route", id(rt))
            act = snap._cache.get(rkey)
            if act is None:
                act = snap._cache[rkey] = compile_route(rt, vs_ns)
            if act.redirect is not None:
                code, scheme, authority, uri = act.redirect
                loc = f"{scheme}://{authority or req.headers.get('host', req.host)}{uri or req.path}"
                return self._envoy(Resp(code, b"", [("location", loc)]), t0)
            if not act.dests:
                self._record("source", proxy, None, None, req.host, 404, "NR", False, t0)
                return self._envoy(local_reply(404, "NR"), t0)
            if len(act.dests) == 1:
                host, num, subset = act.dests[0]
            else:
                x = self.rnd() * act.total
                host, num, subset = act.dests[-1]
                for cum, d in zip(act.cumulative, act.dests, strict=True):
                    if x < cum:
                        host, num, subset = d
                        break
            svc = snap.by_fqdn.get(host)
            if svc is None:
                self._record("source", proxy, None, None, host, 503, "NC", False, t0)
                return self._envoy(local_reply(503, "NC"), t0)
            sp = svc.port(num if num is not None else req.port if svc.port(req.port) else None) or svc.port(None)
        else:
            act = NO_ROUTE
            svc, sp = default  # type: ignore[misc]
        if sp is None:
            self._record("source", proxy, None, svc, svc.fqdn, 503, "NC", False, t0)
            return self._envoy(local_reply(503, "NC"), t0)
        flags = "-"
        # -- fault filter: delay, then abort (they are independent of each other)
        if act.fault is not None:
            dsec, dpct, status, apct = act.fault
            if dsec and self.rnd() * 100 < dpct:
                await asyncio.sleep(dsec)
                flags = "DI"
            if status is not None and self.rnd() * 100 < apct:
                f = "FI" if flags == "-" else "DI,FI"
                self._record("source", proxy, None, svc, svc.fqdn, status, f, False, t0)
                return self._envoy(local_reply(status, f, b"fault filter abort"), t0)
        # -- router
        port_num = sp.get("port") if isinstance(sp.get("port"), int) else None
        ckey = ("cluster", proxy.namespace, svc.fqdn, port_num, subset)
        plan = snap._cache.get(ckey)
        if plan is None:
            plan = snap._cache[ckey] = compile_cluster(snap, proxy.namespace, svc, port_num, subset)
        if plan is False:   # no such subset: istiod builds no cluster for it
            self._record("source", proxy, None, svc, svc.fqdn, 503, "NC", False, t0)
            return self._envoy(local_reply(503, "NC"), t0)
        cluster = (proxy.key, svc.fqdn, port_num, subset or "")
        timeout, attempts, per_try, retry_on, codes = act.policy
        deadline = time.monotonic() + timeout if timeout else None
        tried: set = set()
        n = 0
        while True:
            resp, kind, pod, mtls = await self._attempt(proxy, svc, sp, plan, cluster, per_try, deadline, tried,
                                                        req.path)
            if kind == "deadline":
                break
            if n < attempts and kind != "ok" and self._retriable(kind, resp.status, retry_on, codes) and \
                    (deadline is None or time.monotonic() < deadline):
                n += 1
                await asyncio.sleep(self.rnd() * 0.025 * (2 ** n - 1))
                continue
            break
        if flags != "-":
            resp.flags = flags if resp.flags == "-" else f"{flags},{resp.flags}"
        if act.headers is not None:
            remove, setv, add = act.headers
            resp.headers = [(k, v) for k, v in resp.headers if k not in remove and k not in setv]
            resp.headers += list(setv.items()) + add
        if act.mirror is not None:
            self._mirror(act.mirror, proxy, t0)
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

    def _mirror(self, mirror: tuple, proxy: Pod, t0: float) -> None:
        host, subset, pct = mirror
        if self.rnd() * 100 >= pct:
            return
        svc = self.snap.by_fqdn.get(host)
        if svc is None:
            return
        sel = subset_labels(self.snap.destination_rule(svc, proxy.namespace), subset) if subset else None
        eps = [p for p, _ in svc.endpoints if sel is None or labels_match(sel, p.labels)]
        if eps:   # the shadow request's answer is discarded; only its metrics show
            pod = eps[self._next(("mirror", svc.fqdn), len(eps))]
            self._record("destination", proxy, pod, svc, svc.fqdn, app.answer(pod).status, "-", pod.sidecar, t0)

    # -- one upstream attempt -------------------------------------------------------------------
    async def _attempt(self, proxy: Pod, svc: Service, sp: dict, plan: ClusterPlan, cluster: tuple,
                       per_try: float | None, deadline: float | None, tried: set,
                       path: str = "/") -> tuple[Resp, str, Pod | None, bool]:
        t0 = time.monotonic()
        eps = plan.eps
        # A cluster whose policy changed is a new Envoy cluster (a CDS update replaces it): its outlier
        # detector and connection pools start afresh, so the state is kept per policy version.
        table = None
        if plan.od is not None:
            held = self._health.get(cluster)
            if held is None or held[0] != plan.version:
                held = self._health[cluster] = (plan.version, {})
            table = held[1]
        healthy = eps if not table else [p for p in eps if (h := table.get(p.key)) is None or h.until <= t0]
        if not healthy:
            return local_reply(503, "UH", b"no healthy upstream"), "uh", None, False
        if tried:   # retry host predicate: previous_hosts
            healthy = [p for p in healthy if p.key not in tried] or healthy
        pod = healthy[self._next(cluster, len(healthy))]
        tried.add(pod.key)
        held_pool = self._pools.get(cluster)
        if held_pool is None or held_pool[0] != plan.version:
            held_pool = self._pools[cluster] = (plan.version, Pool())
        pool = held_pool[1]
        if pool.active >= plan.max_active:
            if len(pool.waiting) >= plan.max_pending:
                # Envoy's router adds x-envoy-overloaded to a request dropped by a circuit breaker
                # (envoyproxy.io docs, HTTP router filter, "x-envoy-overloaded")
                resp = local_reply(503, "UO", CONNECT_BODY + b"overflow")
                resp.headers.append(("x-envoy-overloaded", "true"))
                return resp, "overflow", None, False
            loop = asyncio.get_running_loop()
            fut = loop.create_future()
            pool.waiting.append(fut)
            timer = None
            if deadline is not None:   # a plain timer, not asyncio.wait_for: handlers run without a Task
                timer = loop.call_later(max(deadline - time.monotonic(), 0),
                                        lambda: fut.done() or fut.set_result("timeout"))
            got = await fut
            if timer is not None:
                timer.cancel()
            if got == "timeout":
                if fut in pool.waiting:
                    pool.waiting.remove(fut)
                return local_reply(504, "UT", b"upstream request timeout"), "deadline", None, False
        else:
            pool.active += 1
        try:
            return await self._exchange(proxy, svc, sp, pod, plan, per_try, deadline, table, len(eps), path)
        finally:
            while pool.waiting:
                fut = pool.waiting.pop(0)
                if not fut.done():
                    fut.set_result(None)   # hand the connection over
                    break
            else:
                pool.active -= 1

    async def _exchange(self, proxy: Pod, svc: Service, sp: dict, pod: Pod, plan: ClusterPlan,
                        per_try: float | None, deadline: float | None, table: dict | None,
                        n_eps: int, path: str = "/") -> tuple[Resp, str, Pod | None, bool]:
        od = plan.od
        t0 = time.monotonic()
        target = svc.target_port(sp, pod)
        server = self.snap.mtls_mode(pod, target) if pod.sidecar else None
        mode = plan.tls_mode
        if mode not in ("DISABLE", "ISTIO_MUTUAL", "SIMPLE", "MUTUAL"):
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
        delay = ans.delay_for(path)
        limit = per_try
        if deadline is not None:
            left = max(deadline - t0, 0.0)
            limit = left if limit is None else min(limit, left)
        if limit is not None and delay >= limit:
            await asyncio.sleep(limit)
            self._observe(table, od, pod, n_eps, 504)
            kind = "deadline" if deadline is not None and time.monotonic() >= deadline - 1e-4 else "timeout"
            return local_reply(504, "UT", b"upstream request timeout"), kind, pod, mtls
        if delay:
            await asyncio.sleep(delay)
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


class RouteAction:
    """One http[] entry, parsed once per configuration generation."""
    __slots__ = ("redirect", "dests", "cumulative", "total", "fault", "policy", "headers", "mirror")

    def __init__(self) -> None:
        self.redirect: tuple | None = None
        self.dests: list[tuple[str, int | None, str | None]] = []
        self.cumulative: list[float] = []
        self.total = 0.0
        self.fault: tuple | None = None
        self.policy: tuple = (None, 2, None, DEFAULT_RETRY_ON, {503})
        self.headers: tuple | None = None
        self.mirror: tuple | None = None


NO_ROUTE = RouteAction()   # the default route a sidecar has for a service with no VirtualService


def route_policy(rt: dict) -> tuple:
    """Route timeout and retry policy (pilot retry.ConvertPolicy: no `retries` -> the default policy;
    attempts <= 0 -> none; retryOn replaces the conditions, its numbers become retriable status codes)."""
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
        return timeout, attempts, per_try, retry_on, codes
    return timeout, 2, None, DEFAULT_RETRY_ON, {503}


def compile_route(rt: dict, vs_ns: str) -> RouteAction:
    a = RouteAction()
    red = rt.get("redirect")
    if isinstance(red, dict):
        a.redirect = (_int(red.get("redirectCode"), 301) or 301, _s(red.get("scheme")) or "http",
                      _s(red.get("authority")), _s(red.get("uri")))
    dests = [d for d in _l(rt.get("route")) if isinstance(d, dict)]
    weights = [max(_int(d.get("weight"), 0) or 0, 0) for d in dests]
    if len(dests) > 1 and sum(weights) <= 0:   # relative weights; all unset: the first takes everything
        weights = [1] + [0] * (len(dests) - 1)
    acc = 0.0
    for d, w in zip(dests, weights, strict=True):
        if len(dests) > 1 and w == 0:
            continue
        dest = _d(d.get("destination"))
        sub = dest.get("subset")
        a.dests.append((fqdn(_s(dest.get("host")), vs_ns), _int(_d(dest.get("port")).get("number")),
                        sub if isinstance(sub, str) else None))
        acc += w
        a.cumulative.append(acc)
    a.total = acc
    fault = _d(rt.get("fault"))
    if fault:
        delay, abort = _d(fault.get("delay")), _d(fault.get("abort"))
        dsec = parse_duration(delay.get("fixedDelay")) if delay else None
        status = _int(abort.get("httpStatus")) if abort else None
        if status is not None and not 200 <= status <= 599:
            status = None
        a.fault = (min(dsec, 3600.0) if dsec else None, fault_percent(delay) if delay else 0.0,
                   status, fault_percent(abort, deprecated_percent=False) if abort else 0.0)
    a.policy = route_policy(rt)
    hm = _d(_d(rt.get("headers")).get("response"))
    if hm:
        remove = {h.lower() for h in _l(hm.get("remove")) if isinstance(h, str)}
        setv = {k.lower(): v for k, v in _d(hm.get("set")).items() if isinstance(k, str) and isinstance(v, str)}
        add = [(k.lower(), v) for k, v in _d(hm.get("add")).items() if isinstance(k, str) and isinstance(v, str)]
        a.headers = (remove, setv, add)
    m = _d(rt.get("mirror"))
    if m:
        pct = _num(_d(rt.get("mirrorPercentage")).get("value"))
        sub = m.get("subset")
        a.mirror = (fqdn(_s(m.get("host")), vs_ns), sub if isinstance(sub, str) else None,
                    100.0 if pct is None else pct)
    return a


class ClusterPlan:
    """One client proxy namespace's view of one cluster (service, port, subset): endpoints and policy."""
    __slots__ = ("eps", "max_active", "max_pending", "od", "tls_mode", "version")

    def __init__(self, eps: list[Pod], policy: dict) -> None:
        self.eps = eps
        self.version = json.dumps(policy, sort_keys=True, default=str)   # the cluster's identity for Envoy
        cp = _d(policy.get("connectionPool"))
        tcp, http = _d(cp.get("tcp")), _d(cp.get("http"))
        # Istio: maxConnections -> max_connections, http2MaxRequests -> max_requests, http1MaxPendingRequests ->
        # max_pending_requests; 0/unset -> Envoy's default (unlimited). HTTP/1.1: one connection per request.
        self.max_active = min(_int(tcp.get("maxConnections"), 0) or BIG, _int(http.get("http2MaxRequests"), 0) or BIG)
        self.max_pending = _int(http.get("http1MaxPendingRequests"), 0) or BIG
        od = policy.get("outlierDetection")
        self.od = od if isinstance(od, dict) else None
        self.tls_mode = _s(_d(policy.get("tls")).get("mode")).upper()


def compile_cluster(snap: Snapshot, client_ns: str, svc: Service, port_num: int | None,
                    subset: str | None) -> ClusterPlan | bool:
    dr = snap.destination_rule(svc, client_ns)
    sel = None
    if subset is not None:
        sel = subset_labels(dr, subset)
        if sel is None:
            return False
    policy = merged_policy(dr, subset, port_num)
    return ClusterPlan([p for p, _ in svc.endpoints if sel is None or labels_match(sel, p.labels)], policy)
