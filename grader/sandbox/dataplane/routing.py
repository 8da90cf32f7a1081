"""The routing core: how istiod would configure Envoy from the cluster's objects (pure, no I/O).

A Snapshot indexes one consistent copy of the store. The functions below answer, for one request,
which listener/virtual host/route applies and which endpoints a destination has, following
Istio's documented semantics (istio.io/latest/docs/reference/config/networking/virtual-service/,
.../gateway/, .../destination-rule/, .../security/peer_authentication/) and pilot's translation
(pilot/pkg/networking/core/v1alpha3/route/route.go, gateway.go, cluster_traffic_policy.go).
Anything a student writes is data: malformed fields make a route not match or a policy take its
default, never an exception out of this module (see safe()).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("dataplane")

CLUSTER_DOMAIN = "cluster.local"
ROOT_NAMESPACE = "istio-system"   # meshConfig.rootNamespace: the control plane's namespace (both flavours)


def exported_to(obj: dict, namespace: str) -> bool:
    """Whether a VirtualService or DestinationRule is visible to proxies in `namespace`: no exportTo
    (the mesh default "*"), "*", the namespace itself, or "." from the object's own namespace
    (istio.io reference, DestinationRule/VirtualService `exportTo`)."""
    export = _l(_d(obj.get("spec")).get("exportTo"))
    if not export:
        return True
    own = _d(obj.get("metadata")).get("namespace")
    return any(e == "*" or e == namespace or (e == "." and own == namespace) for e in export)
SIDECAR = "istio-proxy"

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_duration(v: Any) -> float | None:
    """A protobuf/Go duration ('5s', '0.5s', '100ms', '1m30s') in seconds; None when not one."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v) if v >= 0 else None
    if not isinstance(v, str) or not v:
        return None
    pos, total = 0, 0.0
    for m in _DURATION.finditer(v):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    return total if pos == len(v) else None


def _d(obj: Any) -> dict:
    return obj if isinstance(obj, dict) else {}


def _l(obj: Any) -> list:
    return obj if isinstance(obj, list) else []


def _s(obj: Any) -> str:
    return obj if isinstance(obj, str) else ""


def _int(obj: Any, default: int | None = None) -> int | None:
    if isinstance(obj, bool):
        return default
    if isinstance(obj, int):
        return obj
    if isinstance(obj, str) and obj.strip().isdigit():
        return int(obj)
    return default


def _num(obj: Any) -> float | None:
    if isinstance(obj, bool):
        return None
    if isinstance(obj, (int, float)):
        return float(obj)
    return None


# -- hosts ---------------------------------------------------------------------------------------
def fqdn(host: str, namespace: str) -> str:
    """Istio's short-name resolution: only names without a dot are expanded (web -> web.ns.svc.cluster.local);
    'web.webapp' stays literal; wildcards stay (pilot/pkg/model/virtualservice.go ResolveShortnameToFQDN)."""
    host = host.strip().lower().rstrip(".")
    if not host or "*" in host or "." in host:
        return host
    return f"{host}.{namespace}.svc.{CLUSTER_DOMAIN}"


def covers(pattern: str, host: str) -> bool:
    """Does the (possibly wildcard) pattern include host (which may itself be a wildcard)?"""
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return host.endswith(pattern[1:])
    return pattern == host


def intersect(a: str, b: str) -> str | None:
    if covers(a, b):
        return b
    if covers(b, a):
        return a
    return None


def domain_rank(domain: str, host: str) -> int | None:
    """Envoy's virtual-host selection: exact beats the longest suffix wildcard beats '*'; None: no match."""
    if domain == host:
        return 1_000_000
    if domain == "*":
        return 0
    if domain.startswith("*") and host.endswith(domain[1:]) and len(host) > len(domain) - 1:
        return len(domain)
    return None


def labels_match(selector: Any, labels: dict) -> bool:
    sel = _d(selector)
    return all(isinstance(v, str) and labels.get(k) == v for k, v in sel.items())


# -- objects -------------------------------------------------------------------------------------
@dataclass
class Pod:
    namespace: str
    name: str
    labels: dict
    annotations: dict
    ready: bool
    ip: str | None
    sidecar: bool
    image: str
    workload: str
    service_account: str
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def version(self) -> str:
        return self.labels.get("version") or self.labels.get("service.istio.io/canonical-revision") or "unknown"

    @property
    def app(self) -> str:
        return self.labels.get("app") or self.labels.get("service.istio.io/canonical-name") or self.workload


def _workload(md: dict) -> str:
    """The pod's workload name as Istio's telemetry reports it: the Deployment behind its ReplicaSet."""
    for ref in _l(md.get("ownerReferences")):
        ref = _d(ref)
        name = _s(ref.get("name"))
        if ref.get("kind") == "ReplicaSet" and "-" in name:
            return name.rsplit("-", 1)[0]
        if name:
            return name
    return _s(md.get("name"))


def make_pod(obj: dict) -> Pod:
    md = _d(obj.get("metadata"))
    containers = _l(obj.get("containers"))
    names = [_d(c).get("name") for c in containers]
    ports: dict[str, int] = {}
    for c in containers:
        for p in _l(_d(c).get("ports")):
            if isinstance(p, dict) and p.get("name") and isinstance(p.get("containerPort"), int):
                ports[p["name"]] = p["containerPort"]
    app = next((_d(c) for c in containers if _d(c).get("name") != SIDECAR), {})
    return Pod(namespace=_s(md.get("namespace")), name=_s(md.get("name")), labels=_d(md.get("labels")),
               annotations=_d(md.get("annotations")), ready=bool(obj.get("ready")), ip=obj.get("ip"),
               sidecar=SIDECAR in names, image=_s(app.get("image")), workload=_workload(md),
               service_account=_s(obj.get("serviceAccountName")) or "default", ports=ports)


def _order(obj: dict) -> tuple:
    md = _d(obj.get("metadata"))
    return (_s(md.get("creationTimestamp")), _s(md.get("namespace")), _s(md.get("name")))


@dataclass
class Service:
    namespace: str
    name: str
    fqdn: str
    ports: list[dict]          # {name, port, targetPort}
    endpoints: list[tuple[Pod, dict[str, int]]]  # ready pods with their port-name -> port

    def port(self, number: int | None) -> dict | None:
        if number is not None:
            for p in self.ports:
                if p.get("port") == number:
                    return p
        return self.ports[0] if self.ports and number is None else (self.ports[0] if len(self.ports) == 1 else None)

    def target_port(self, svc_port: dict, pod: Pod) -> int:
        tp = svc_port.get("targetPort", svc_port.get("port"))
        if isinstance(tp, str):
            return pod.ports.get(tp, _int(tp, 0) or 0)
        return tp if isinstance(tp, int) else 0


class Snapshot:
    """One generation of the configuration, indexed for routing."""

    def __init__(self, objects: dict[str, dict], generation: int = 0) -> None:
        self.generation = generation
        self.pods: dict[tuple[str, str], Pod] = {}
        self.pods_by_ip: dict[str, Pod] = {}
        for k, o in objects.get("Pod", {}).items():
            try:
                p = make_pod(o)
            except Exception:  # noqa: BLE001 - a malformed object is skipped, not fatal
                continue
            self.pods[k] = p
            if p.ip and p.ready:
                self.pods_by_ip[p.ip] = p
        self.services: dict[tuple[str, str], Service] = {}
        self.by_fqdn: dict[str, Service] = {}
        eps = objects.get("Endpoints", {})
        for k, o in objects.get("Service", {}).items():
            spec = _d(o.get("spec"))
            ports = [p for p in _l(spec.get("ports")) if isinstance(p, dict)]
            endpoints = []
            for subset in _l(_d(eps.get(k)).get("subsets")):
                subset = _d(subset)
                pmap = {_s(_d(p).get("name")): _int(_d(p).get("port"), 0) for p in _l(subset.get("ports"))}
                for addr in _l(subset.get("addresses")):   # notReadyAddresses are not endpoints
                    ref = _d(_d(addr).get("targetRef"))
                    pod = self.pods.get((_s(ref.get("namespace")) or k[0], _s(ref.get("name"))))
                    if pod is None:
                        pod = self.pods_by_ip.get(_s(_d(addr).get("ip")))
                    if pod is not None and pod.ready:
                        endpoints.append((pod, pmap))
            svc = Service(k[0], k[1], f"{k[1]}.{k[0]}.svc.{CLUSTER_DOMAIN}", ports, endpoints)
            self.services[k] = svc
            self.by_fqdn[svc.fqdn] = svc
        self.gateways = sorted(objects.get("Gateway", {}).values(), key=_order)
        self.virtual_services = sorted(objects.get("VirtualService", {}).values(), key=_order)
        self.destination_rules = sorted(objects.get("DestinationRule", {}).values(), key=_order)
        self.peer_authentications = sorted(objects.get("PeerAuthentication", {}).values(), key=_order)
        self._cache: dict[Any, Any] = {}

    # -- services and DNS ------------------------------------------------------------------
    def resolve(self, host: str, client_ns: str) -> Service | None:
        """Cluster DNS as a pod in client_ns sees it: web, web.ns, web.ns.svc, web.ns.svc.cluster.local."""
        h = host.lower().rstrip(".")
        parts = h.split(".")
        if len(parts) == 1:
            return self.services.get((client_ns, parts[0]))
        if len(parts) == 2 or (len(parts) == 3 and parts[2] == "svc"):
            return self.services.get((parts[1], parts[0]))
        return self.by_fqdn.get(h)

    def selecting_services(self, pod: Pod) -> list[Service]:
        out = []
        for svc in self.services.values():
            if any(p is pod for p, _ in svc.endpoints):
                out.append(svc)
        return out

    # -- gateways --------------------------------------------------------------------------
    def ingress_pods(self, namespace: str, service: str) -> list[Pod]:
        svc = self.services.get((namespace, service))
        return [p for p, _ in svc.endpoints] if svc else []

    def gateway_vhosts(self, gw_pod: Pod, target_port: int) -> list[tuple[str, list[dict], bool]] | None:
        """Envoy's route configuration for one listener of one gateway pod: [(domain, [VirtualService...],
        httpsRedirect)].
        None: no Gateway server listens on that port (no listener: the connection is refused)."""
        key = ("gw", gw_pod.key, target_port)
        if key in self._cache:
            return self._cache[key]
        port_map: dict[int, int] = {}
        for svc in self.selecting_services(gw_pod):
            for sp in svc.ports:
                if isinstance(sp.get("port"), int):
                    port_map[sp["port"]] = svc.target_port(sp, gw_pod)
        servers: list[tuple[str, dict]] = []   # (gateway "ns/name", server)
        for gw in self.gateways:
            md, spec = _d(gw.get("metadata")), _d(gw.get("spec"))
            if not labels_match(spec.get("selector"), gw_pod.labels):
                continue
            for server in _l(spec.get("servers")):
                server = _d(server)
                num = _int(_d(server.get("port")).get("number"))
                if num is None or port_map.get(num, num) != target_port:
                    continue
                proto = _s(_d(server.get("port")).get("protocol")).upper()
                if proto in ("HTTP", "HTTP2", "GRPC"):   # HTTPS/TLS servers expect a TLS handshake
                    servers.append((f"{md.get('namespace')}/{md.get('name')}", server))
        if not servers:
            self._cache[key] = None
            return None
        # domain -> (VirtualServices, httpsRedirect)
        vhosts: dict[str, tuple[list[dict], bool]] = {}
        for _gname, server in servers:
            redirect = _d(server.get("tls")).get("httpsRedirect") is True
            for sh in _l(server.get("hosts")):
                if isinstance(sh, str) and redirect:
                    vhosts.setdefault(sh.rpartition("/")[2].lower(), ([], True))
        gw_names = {g for g, _ in servers}
        for vs in self.virtual_services:
            md, spec = _d(vs.get("metadata")), _d(vs.get("spec"))
            vs_ns = _s(md.get("namespace"))
            bound = set()
            for g in _l(spec.get("gateways")):
                if isinstance(g, str) and g != "mesh":
                    bound.add(g if "/" in g else f"{vs_ns}/{g}")
            if not bound & gw_names or not exported_to(vs, gw_pod.namespace):
                continue
            for gname, server in servers:
                if gname not in bound:
                    continue
                gw_ns = gname.split("/", 1)[0]
                redirect = _d(server.get("tls")).get("httpsRedirect") is True
                for sh in _l(server.get("hosts")):
                    if not isinstance(sh, str):
                        continue
                    ns_part, _, h = sh.rpartition("/")
                    if ns_part == ".":
                        allowed = vs_ns == gw_ns
                    else:
                        allowed = ns_part in ("", "*") or ns_part == vs_ns
                    if not allowed:
                        continue
                    for vh in _l(spec.get("hosts")):
                        if not isinstance(vh, str):
                            continue
                        d = intersect(fqdn(vh, vs_ns), h.lower())
                        if d is not None:
                            lst, red = vhosts.setdefault(d, ([], redirect))
                            if vs not in lst:
                                lst.append(vs)
        out = [(d, lst, red) for d, (lst, red) in vhosts.items()]
        self._cache[key] = out
        return out

    # -- mesh --------------------------------------------------------------------------------
    def mesh_virtual_service(self, svc: Service) -> dict | None:
        """The VirtualService a sidecar applies to a service: bound to `mesh` (or no gateways), host matching
        the service; exact hosts beat wildcards, then the oldest wins (one VirtualService per host)."""
        key = ("mesh", svc.fqdn)
        if key in self._cache:
            return self._cache[key]
        best, best_rank = None, -1
        for vs in self.virtual_services:
            md, spec = _d(vs.get("metadata")), _d(vs.get("spec"))
            gws = _l(spec.get("gateways"))
            if gws and "mesh" not in gws:
                continue
            for h in _l(spec.get("hosts")):
                if not isinstance(h, str):
                    continue
                if h.strip() == "*":   # validation: "wildcard host * is not allowed for virtual services bound to the mesh gateway"
                    continue
                r = domain_rank(fqdn(h, _s(md.get("namespace"))), svc.fqdn)
                if r is not None and r > best_rank:
                    best, best_rank = vs, r
        self._cache[key] = best
        return best

    # -- destination rules ----------------------------------------------------------------------
    def destination_rule(self, svc: Service, client_ns: str) -> dict | None:
        """Client namespace first (unless the client is in the root namespace, as the ingress gateway is),
        then the service's namespace, then the root namespace; within one, the most specific host
        (pilot/pkg/model/push_context.go destinationRule)."""
        key = ("dr", svc.fqdn, client_ns)
        if key in self._cache:
            return self._cache[key]
        found = None
        order = (svc.namespace, ROOT_NAMESPACE) if client_ns == ROOT_NAMESPACE else \
            (client_ns, svc.namespace, ROOT_NAMESPACE)
        for ns in order:
            best, rank = None, -1
            for dr in self.destination_rules:
                md, spec = _d(dr.get("metadata")), _d(dr.get("spec"))
                if md.get("namespace") != ns or not isinstance(spec.get("host"), str) or not exported_to(dr, client_ns):
                    continue
                r = domain_rank(fqdn(spec["host"], ns), svc.fqdn)
                if r is not None and r > rank:
                    best, rank = dr, r
            if best is not None:
                found = best
                break
        self._cache[key] = found
        return found

    # -- peer authentication ----------------------------------------------------------------------
    def mtls_mode(self, pod: Pod, port: int) -> str:
        """Effective PeerAuthentication mode of a workload's port: mesh (root namespace, no selector) <
        namespace < workload; portLevelMtls only on workload policies; UNSET inherits; default PERMISSIVE."""
        key = ("pa", pod.key, port)
        if key in self._cache:
            return self._cache[key]
        mesh = ns = wl = None
        wl_port = None
        for pa in self.peer_authentications:
            md, spec = _d(pa.get("metadata")), _d(pa.get("spec"))
            pns = md.get("namespace")
            sel = _d(_d(spec.get("selector")).get("matchLabels"))
            mode = _s(_d(spec.get("mtls")).get("mode")).upper() or "UNSET"
            if mode not in ("STRICT", "PERMISSIVE", "DISABLE", "UNSET"):
                mode = "UNSET"
            if not sel:
                if pns == ROOT_NAMESPACE and mesh is None:
                    mesh = mode
                elif pns == pod.namespace and pns != ROOT_NAMESPACE and ns is None:
                    ns = mode
            elif pns == pod.namespace and wl is None and labels_match(sel, pod.labels):
                wl = mode
                plm = _d(spec.get("portLevelMtls"))
                for p, v in plm.items():
                    if _int(p) == port:
                        m = _s(_d(v).get("mode")).upper()
                        wl_port = m if m in ("STRICT", "PERMISSIVE", "DISABLE") else None
        mode = "PERMISSIVE"
        for m in (mesh, ns, wl, wl_port):
            if m and m != "UNSET":
                mode = m
        self._cache[key] = mode
        return mode


# -- HTTP route matching ----------------------------------------------------------------------------
_regex_cache: dict[str, re.Pattern | None] = {}


def _regex(expr: str) -> re.Pattern | None:
    if expr not in _regex_cache:
        try:
            _regex_cache[expr] = re.compile(expr)
        except (re.error, RecursionError, OverflowError):
            log.warning("invalid regex %r: the match never matches (Envoy would reject the route)", expr)
            _regex_cache[expr] = None
    return _regex_cache[expr]


def string_match(m: Any, value: str | None, ignore_case: bool = False) -> bool:
    """Istio StringMatch: exact | prefix | regex (RE2 full match). An empty match is a presence check."""
    m = _d(m)
    if value is None:
        return False
    if ignore_case:
        value = value.lower()
    if "exact" in m:
        e = _s(m["exact"])
        return value == (e.lower() if ignore_case else e)
    if "prefix" in m:
        p = _s(m["prefix"])
        return value.startswith(p.lower() if ignore_case else p)
    if "regex" in m:
        r = _regex(_s(m["regex"]))
        return bool(r is not None and r.fullmatch(value))
    return True


@dataclass
class Request:
    method: str
    path: str                  # path and query
    headers: dict[str, str]    # lower-case names
    host: str                  # Host without port, lower-case
    port: int | None = None

    @property
    def uri(self) -> str:
        return self.path.split("?", 1)[0]

    def query(self) -> dict[str, str]:
        if "?" not in self.path:
            return {}
        out = {}
        for part in self.path.split("?", 1)[1].split("&"):
            k, _, v = part.partition("=")
            out.setdefault(k, v)
        return out


def match_request(m: Any, req: Request, source: Pod | None, gateways: set[str], vs_ns: str) -> bool:
    """One HTTPMatchRequest: every field set must match (AND)."""
    m = _d(m)
    ic = m.get("ignoreUriCase") is True
    if "uri" in m and not string_match(m["uri"], req.uri, ic):
        return False
    if "method" in m and not string_match(m["method"], req.method):
        return False
    if "scheme" in m and not string_match(m["scheme"], "http"):
        return False
    if "authority" in m and not string_match(m["authority"], req.headers.get("host", req.host)):
        return False
    for name, sm in _d(m.get("headers")).items():
        if not isinstance(name, str) or not string_match(sm, req.headers.get(name.lower())):
            return False
    for name, sm in _d(m.get("withoutHeaders")).items():
        if isinstance(name, str) and string_match(sm, req.headers.get(name.lower())):
            return False
    if "queryParams" in m:
        q = req.query()
        for name, sm in _d(m.get("queryParams")).items():
            if not isinstance(name, str) or not string_match(sm, q.get(name)):
                return False
    if "port" in m and _int(m["port"]) != req.port:
        return False
    if "sourceLabels" in m and (source is None or not labels_match(m["sourceLabels"], source.labels)):
        return False
    if "sourceNamespace" in m and (source is None or m["sourceNamespace"] != source.namespace):
        return False
    if "gateways" in m:
        names = {g if "/" in g else (g if g == "mesh" else f"{vs_ns}/{g}") for g in _l(m["gateways"])
                 if isinstance(g, str)}
        if not names & gateways:
            return False
    return True


def first_route(vs_list: list[dict], req: Request, source: Pod | None, gateways: set[str]) -> tuple[dict, str] | None:
    """The first http[] entry (across the VirtualServices, oldest first) whose match list matches."""
    for vs in vs_list:
        vs_ns = _s(_d(vs.get("metadata")).get("namespace"))
        for route in _l(_d(vs.get("spec")).get("http")):
            if not isinstance(route, dict):
                continue
            matches = _l(route.get("match"))
            if not matches or any(match_request(m, req, source, gateways, vs_ns) for m in matches):
                return route, vs_ns
    return None


def pick_weighted(dests: list, rnd: float) -> dict | None:
    """Relative weights (Envoy weighted clusters); a single destination without weight takes everything."""
    dests = [d for d in dests if isinstance(d, dict)]
    if not dests:
        return None
    if len(dests) == 1:
        return dests[0]
    weights = [max(_int(d.get("weight"), 0) or 0, 0) for d in dests]
    total = sum(weights)
    if total <= 0:
        return dests[0]
    x = rnd * total
    for d, w in zip(dests, weights, strict=False):
        if x < w:
            return d
        x -= w
    return dests[-1]


def fault_percent(f: dict, deprecated_percent: bool = True) -> float:
    """`percentage.value` wins; the deprecated integer `percent` only when percentage is absent;
    neither: 0 (pilot route.go translateFault: translateIntegerToFractionalPercent(percent)).
    Only a delay has `percent` (istio/api networking/v1alpha3/virtual_service.proto: Abort has
    percentage alone; the CRD schema prunes an abort's percent), so an abort passes False."""
    pct = f.get("percentage")
    if isinstance(pct, dict):
        v = _num(pct.get("value"))
        return min(max(v, 0.0), 100.0) if v is not None else 0.0
    if not deprecated_percent:
        return 0.0
    v = _num(f.get("percent"))
    return min(max(v, 0.0), 100.0) if v is not None else 0.0


def merged_policy(dr: dict | None, subset: str | None, port: int | None) -> dict:
    """DestinationRule traffic policy for one cluster: top level, its portLevelSettings, then the subset's
    own policy (and its portLevelSettings); each later one replaces whole fields it sets."""
    if not dr:
        return {}
    spec = _d(dr.get("spec"))
    out: dict = {}

    def apply(tp: Any) -> None:
        tp = _d(tp)
        for k in ("connectionPool", "outlierDetection", "tls", "loadBalancer"):
            if k in tp and isinstance(tp[k], dict):
                out[k] = tp[k]
        for pls in _l(tp.get("portLevelSettings")):
            pls = _d(pls)
            if port is not None and _int(_d(pls.get("port")).get("number")) == port:
                for k in ("connectionPool", "outlierDetection", "tls", "loadBalancer"):
                    if k in pls and isinstance(pls[k], dict):
                        out[k] = pls[k]

    apply(spec.get("trafficPolicy"))
    if subset is not None:
        for s in _l(spec.get("subsets")):
            if _d(s).get("name") == subset:
                apply(_d(s).get("trafficPolicy"))
    return out


def subset_labels(dr: dict | None, subset: str) -> dict | None:
    for s in _l(_d(_d(dr).get("spec")).get("subsets")):
        if _d(s).get("name") == subset:
            return _d(s.get("labels"))
    return None
