"""Observability in its OpenShift Service Mesh 3 form (labs/observability-3): nothing is deployed
for the user, who wires up OpenShift's user-workload monitoring, the monitors that make it scrape
istiod and the sidecars, tracing through Istio's Telemetry API, and Kiali reading Thanos.

Sources (Red Hat OpenShift Service Mesh 3 "Observability", chapter "Metrics and Service Mesh" -
"Configuring OpenShift Monitoring with Service Mesh", chapter "Distributed tracing and Service Mesh",
and "Kiali Operator provided by Red Hat" - "Configuring OpenShift Monitoring with Kiali";
https://docs.redhat.com/en/documentation/red_hat_openshift_service_mesh/latest/html/observability):

- user-workload monitoring is enabled by ``enableUserWorkload: true`` in the ``config.yaml`` key of
  ConfigMap ``cluster-monitoring-config`` in ``openshift-monitoring`` (OpenShift "Enabling
  monitoring for user-defined projects"); the cluster monitoring operator reads it as a boolean;
- a ServiceMonitor in the control plane namespace selects istiod's Service (label ``istio: pilot``)
  on its ``http-monitoring`` port (15014);
- a PodMonitor selects the proxies (``istio-prometheus-ignore`` DoesNotExist) on
  ``/stats/prometheus``; "PodMonitor objects must be applied in all mesh namespaces ... because
  OpenShift Container Platform monitoring ignores the namespaceSelector spec in ServiceMonitor and
  PodMonitor objects": a monitor sees only its own namespace;
- tracing: an ``extensionProviders`` entry in the Istio resource's ``spec.values.meshConfig`` (e.g.
  ``opentelemetry`` with the collector's service and port) and a Telemetry in the root namespace
  naming it under ``spec.tracing[].providers[].name`` with ``randomSamplingPercentage`` (Istio
  Telemetry API, https://istio.io/latest/docs/reference/config/telemetry/ and "Configure tracing
  using the Telemetry API"; a Telemetry in the root namespace without selector is mesh-wide);
- Kiali: ``spec.external_services.prometheus`` with the Thanos querier URL
  (``https://thanos-querier.openshift-monitoring.svc.cluster.local:9091``) and ``auth.type: bearer``,
  ``auth.use_kiali_token: true``.

The grader judges this configuration only: the sandbox runs no Prometheus, Kiali or collector.
"""

from __future__ import annotations

from typing import Any

from grader import kinds as K
from grader.checks.framework import bad_param, check, cli_name, str_params
from grader.mesh.selectors import label_selector_matches
from grader.mesh.workloads import deployment_pods, template_labels
from grader.model import Outcome, failed, passed
from grader.objects import as_dict, as_list, json_number, label_str, labels_of, namespace_of, ref, spec_of
from grader.snapshot import Snapshot
from grader.text import format_labels, name_list, short

ENVOY_PATH = "/stats/prometheus"
PROXY = "istio-proxy"
# Envoy's own Prometheus port and the agent's merged-metrics port: both serve /stats/prometheus
# (Istio "Prometheus" integration, "Option 1: Metrics merging"; injection declares 15090 as http-envoy-prom).
ENVOY_PORTS = (15090, 15020)
# Istio MeshConfig.ExtensionProvider kinds that are tracers (istio.io/latest/docs/reference/config/istio.mesh.v1alpha1).
TRACERS = ("opentelemetry", "zipkin", "datadog", "skywalking", "stackdriver", "lightstep")
THANOS = "https://thanos-querier.openshift-monitoring.svc.cluster.local:9091"


# -- user-workload monitoring ---------------------------------------------------------------
@check("user-workload-monitoring", reads=[K.CONFIG_MAP])
def user_workload_monitoring(snap: Snapshot, *, namespace: str = "openshift-monitoring",
                             configmap: str = "cluster-monitoring-config") -> Outcome:
    """OpenShift monitoring for user-defined projects is on: enableUserWorkload true in the cluster monitoring config."""
    bad = str_params(namespace=namespace, configmap=configmap)
    if bad:
        return bad
    cli = cli_name(snap)
    fix = (f"{cli} -n {namespace} apply a ConfigMap {configmap} with data config.yaml: "
           "'enableUserWorkload: true'")
    cm = snap.get(K.CONFIG_MAP, configmap, namespace)
    if cm is None:
        return failed(f"ConfigMap {namespace}/{configmap} not found: user-workload monitoring is off (the default), "
                      "so nothing scrapes the mesh's ServiceMonitors and PodMonitors", fix)
    data = as_dict(cm.get("data"))
    if "config.yaml" not in data:
        keys = ", ".join(sorted(str(k) for k in data)) or "none"
        return failed(f"{ref(cm)} has no data key config.yaml (keys: {keys})", fix)
    import yaml  # only here: PyYAML stays off the grade path of every other lab

    from grader import yamlio
    try:
        config = yamlio.load(str(data["config.yaml"]))
    except yaml.YAMLError as exc:
        return failed(f"{ref(cm)} data config.yaml is not valid YAML ({short(str(exc), 80)})", fix)
    if not isinstance(config, dict) or "enableUserWorkload" not in config:
        return failed(f"{ref(cm)} data config.yaml does not set enableUserWorkload (found "
                      f"{short(config)}); expected enableUserWorkload: true", fix)
    value = config["enableUserWorkload"]
    if value is not True:
        note = " (a string: the cluster monitoring operator wants a YAML boolean)" if isinstance(value, str) else ""
        return failed(f"{ref(cm)} data config.yaml enableUserWorkload is {short(value)}{note}; expected true", fix)
    return passed(f"{ref(cm)} data config.yaml enableUserWorkload is true")


# -- monitors ---------------------------------------------------------------------------------
def _elsewhere(snap: Snapshot, kind: K.Kind, namespace: str, labels: dict) -> list[dict]:
    """Monitors of other namespaces whose selector would match: user-workload monitoring ignores namespaceSelector."""
    return [m for m in snap.list(kind) if namespace_of(m) != namespace
            and label_selector_matches(as_dict(spec_of(m).get("selector")), labels)]


def _own_namespace_only(found: list[dict], namespace: str) -> str:
    return (f"; {', '.join(ref(m) for m in found)} would select them, but OpenShift monitoring ignores "
            f"namespaceSelector: a monitor sees only its own namespace, so it must be in {namespace}") if found else ""


@check("istiod-servicemonitor", reads=[K.SERVICE_MONITOR, K.SERVICE])
def istiod_servicemonitor(snap: Snapshot, *, namespace: str = "istio-system", service: str = "istiod",
                          port: str = "http-monitoring") -> Outcome:
    """A ServiceMonitor in the control plane namespace selects istiod's Service on its monitoring port."""
    bad = str_params(namespace=namespace, service=service, port=port)
    if bad:
        return bad
    svc = snap.get(K.SERVICE, service, namespace)
    if svc is None:
        return failed(f"Service {namespace}/{service} not found: no istiod to monitor",
                      "is the Istio control plane running? Istio default with spec.namespace istio-system")
    svc_labels = labels_of(svc)
    svc_ports = [p for p in as_list(spec_of(svc).get("ports")) if isinstance(p, dict)]
    wanted = next((p for p in svc_ports if p.get("name") == port), {})
    hint = (f"ServiceMonitor in {namespace}: spec.selector.matchLabels {{istio: pilot}}, "
            f"spec.endpoints: [{{port: {port}}}]")
    monitors = snap.list(K.SERVICE_MONITOR, namespace)
    if not monitors:
        return failed(f"no ServiceMonitor in {namespace}, so istiod's metrics are not scraped"
                      + _own_namespace_only(_elsewhere(snap, K.SERVICE_MONITOR, namespace, svc_labels), namespace),
                      hint)
    problems = []
    for sm in monitors:
        sel = spec_of(sm).get("selector")
        if not isinstance(sel, dict) or not label_selector_matches(sel, svc_labels):
            problems.append(f"{ref(sm)} spec.selector {short(sel)} does not match Service {service} "
                            f"(labels {format_labels(svc_labels)})")
            continue
        endpoints = [e for e in as_list(spec_of(sm).get("endpoints")) if isinstance(e, dict)]
        for e in endpoints:
            target = label_str(e.get("targetPort"))  # the pods' port, a number or a name
            if label_str(e.get("port")) == port or (wanted and target and target in (
                    label_str(wanted.get("port")), label_str(wanted.get("targetPort")))):
                return passed(f"{ref(sm)} selects Service {service} (labels {format_labels(svc_labels)}) on port "
                              f"{port} ({label_str(wanted.get('port')) or '?'})")
        names = ", ".join(label_str(p.get("name")) for p in svc_ports) or "none"
        found = ", ".join(label_str(e.get("port") or e.get("targetPort")) or "unset" for e in endpoints) or "none"
        problems.append(f"{ref(sm)} spec.endpoints[].port is {found}; expected {port} (Service {service} "
                        f"ports: {names})")
    return failed("; ".join(problems), hint)


def _proxy_ports(pods: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in pods:
        for c in as_list(spec_of(p).get("containers")):
            if isinstance(c, dict) and c.get("name") == PROXY:
                for cp in as_list(c.get("ports")):
                    if isinstance(cp, dict) and cp.get("name"):
                        out[label_str(cp["name"])] = cp.get("containerPort")
    return out


def _keeps_proxy(endpoint: dict) -> bool:
    """A relabeling keeps only the istio-proxy container's targets (the Red Hat docs' PodMonitor)."""
    for r in as_list(endpoint.get("relabelings")):
        if (isinstance(r, dict) and label_str(r.get("action")).lower() == "keep"
                and "__meta_kubernetes_pod_container_name" in [label_str(x) for x in as_list(r.get("sourceLabels"))]
                and PROXY in label_str(r.get("regex"))):
            return True
    return False


def _endpoint_problem(endpoint: dict, proxy_ports: dict[str, int], app_ports: set[str]) -> str:
    """'' when the endpoint scrapes Envoy's metrics, else what it scrapes instead."""
    path = label_str(endpoint.get("path")) or "/metrics"
    if path != ENVOY_PATH:
        return f"path is {path}{' (the default)' if not endpoint.get('path') else ''}; expected {ENVOY_PATH}"
    port, target = label_str(endpoint.get("port")), endpoint.get("targetPort")
    if port:
        if port in proxy_ports or (not proxy_ports and port == "http-envoy-prom"):
            return ""
        where = "the application container's port" if port in app_ports else "no port of the pods"
        return (f"port is {port}, {where}; Envoy serves {ENVOY_PATH} on {PROXY}'s http-envoy-prom "
                f"({ENVOY_PORTS[0]})")
    if target is not None:
        if json_number(target) in ENVOY_PORTS or label_str(target) in proxy_ports:
            return ""
        return f"targetPort is {label_str(target)}; Envoy serves {ENVOY_PATH} on {ENVOY_PORTS[0]}"
    if _keeps_proxy(endpoint):
        return ""
    return ("neither port nor targetPort is set and no relabeling keeps only the istio-proxy container, so every "
            "container port is scraped, the application's too")


@check("proxy-podmonitor", reads=[K.POD_MONITOR, K.DEPLOYMENT, K.REPLICA_SET, K.POD])
def proxy_podmonitor(snap: Snapshot, *, namespace: str, deployment: str) -> Outcome:
    """A PodMonitor in the workload's own namespace selects its pods and scrapes their proxies' /stats/prometheus."""
    bad = str_params(namespace=namespace, deployment=deployment)
    if bad:
        return bad
    dep = snap.get(K.DEPLOYMENT, deployment, namespace)
    if dep is None:
        return failed(f"Deployment {namespace}/{deployment} not found: no pods to scrape",
                      "the lab's workload is missing; run lab start again")
    pods = deployment_pods(snap, dep)
    labels = labels_of(pods[0]) if pods else template_labels(dep)
    proxy_ports = _proxy_ports(pods)
    app_ports = {label_str(cp.get("name")) for p in pods for c in as_list(spec_of(p).get("containers"))
                 if isinstance(c, dict) and c.get("name") != PROXY
                 for cp in as_list(c.get("ports")) if isinstance(cp, dict)}
    hint = (f"PodMonitor in {namespace}: spec.selector.matchExpressions [{{key: istio-prometheus-ignore, operator: "
            f"DoesNotExist}}], spec.podMetricsEndpoints: [{{port: http-envoy-prom, path: {ENVOY_PATH}}}] (one "
            "per mesh namespace)")
    monitors = snap.list(K.POD_MONITOR, namespace)
    if not monitors:
        return failed(f"no PodMonitor in {namespace}, so the sidecars of {deployment} are not scraped"
                      + _own_namespace_only(_elsewhere(snap, K.POD_MONITOR, namespace, labels), namespace), hint)
    problems = []
    for pm in monitors:
        sel = spec_of(pm).get("selector")
        if not isinstance(sel, dict) or not label_selector_matches(sel, labels):
            problems.append(f"{ref(pm)} spec.selector {short(sel)} does not match the pods of {deployment} "
                            f"(labels {format_labels(labels)})")
            continue
        endpoints = [e for e in as_list(spec_of(pm).get("podMetricsEndpoints")) if isinstance(e, dict)]
        if not endpoints:
            problems.append(f"{ref(pm)} has no spec.podMetricsEndpoints")
            continue
        why = [_endpoint_problem(e, proxy_ports, app_ports) for e in endpoints]
        if "" in why:
            e = endpoints[why.index("")]
            how = label_str(e.get("port")) or label_str(e.get("targetPort")) or "the istio-proxy container"
            return passed(f"{ref(pm)} selects the pods of {deployment} and scrapes {ENVOY_PATH} on {how}")
        problems.extend(f"{ref(pm)} spec.podMetricsEndpoints[{i}] {w}" for i, w in enumerate(why))
    return failed("; ".join(problems), hint)


# -- tracing ---------------------------------------------------------------------------------
def _providers(istio: dict) -> dict[str, dict]:
    mesh = as_dict(as_dict(spec_of(istio).get("values")).get("meshConfig"))
    return {label_str(p.get("name")): p for p in as_list(mesh.get("extensionProviders"))
            if isinstance(p, dict) and p.get("name")}


def _tracer(provider: dict) -> tuple[str, str]:
    """(type, service:port) of a tracing provider; ('', '') when it is not one."""
    for t in TRACERS:
        if isinstance(provider.get(t), dict):
            cfg = provider[t]
            return t, f"{label_str(cfg.get('service')) or '?'}:{label_str(cfg.get('port')) or '?'}"
    return "", ""


@check("tracing-telemetry", reads=[K.TELEMETRY, K.ISTIO])
def tracing_telemetry(snap: Snapshot, *, namespace: str = "istio-system", istio: str = "default",
                      sampling: Any = None) -> Outcome:
    """A mesh-wide Telemetry traces through a tracing provider that the Istio resource's meshConfig.extensionProviders defines."""
    bad = str_params(namespace=namespace, istio=istio)
    if bad:
        return bad
    if sampling is not None and (json_number(sampling) is None or not 0 < json_number(sampling) <= 100):
        return bad_param("sampling", sampling, "a percentage in (0, 100]")
    mesh = snap.get(K.ISTIO, istio)
    if mesh is None:
        return failed(f"Istio {istio} not found: no meshConfig defines a tracing provider", f"create Istio {istio}")
    providers = _providers(mesh)
    defined = ", ".join(sorted(providers)) or "none"
    hint = (f"Istio {istio}: spec.values.meshConfig.extensionProviders [{{name: otel, opentelemetry: {{service: ..., "
            f"port: 4317}}}}]; Telemetry in {namespace}: spec.tracing [{{providers: [{{name: otel}}], "
            f"randomSamplingPercentage: {label_str(sampling) if sampling is not None else 100}}}]")
    mesh_wide = [t for t in snap.list(K.TELEMETRY, namespace)
                 if not spec_of(t).get("selector") and not spec_of(t).get("targetRefs")
                 and not spec_of(t).get("targetRef")]
    tracing = [t for t in mesh_wide if as_list(spec_of(t).get("tracing"))]
    if not tracing:
        others = snap.list(K.TELEMETRY)
        return failed(f"no mesh-wide Telemetry with spec.tracing in the root namespace {namespace} (Telemetries: "
                      f"{name_list(others, with_ns=True) or 'none'}); tracing providers in Istio {istio} "
                      f"meshConfig.extensionProviders: {defined}", hint)
    default = as_list(as_dict(as_dict(as_dict(spec_of(mesh).get("values")).get("meshConfig"))
                              .get("defaultProviders")).get("tracing"))
    problems = []
    for t in tracing:
        for i, entry in enumerate(as_list(spec_of(t).get("tracing"))):
            if not isinstance(entry, dict):
                continue
            at = f"{ref(t)} spec.tracing[{i}]"
            names = [label_str(as_dict(p).get("name")) for p in as_list(entry.get("providers"))]
            named = bool(names)
            names = names or [label_str(n) for n in default]
            if not names:
                problems.append(f"{at} names no provider and meshConfig.defaultProviders.tracing is not set")
                continue
            unknown = [n for n in names if n not in providers]
            if unknown:
                problems.append(f"{at} provider {unknown[0]} is not defined in Istio {istio} "
                                f"spec.values.meshConfig.extensionProviders (defined: {defined})")
                continue
            kind, target = _tracer(providers[names[0]])
            if not kind:
                problems.append(f"{at} provider {names[0]} is not a tracing provider in meshConfig.extensionProviders "
                                f"(expected one of {', '.join(TRACERS)})")
                continue
            if entry.get("disableSpanReporting") is True:
                problems.append(f"{at} disableSpanReporting is true, so no span is sent")
                continue
            rate = entry.get("randomSamplingPercentage")
            if rate is None or json_number(rate) is None or json_number(rate) <= 0:
                problems.append(f"{at} randomSamplingPercentage is {short(rate) if rate is not None else 'not set'}; "
                                f"expected {label_str(sampling) if sampling is not None else 'more than 0'}")
                continue
            if sampling is not None and json_number(rate) != json_number(sampling):
                problems.append(f"{at} randomSamplingPercentage is {short(rate)}; expected {label_str(sampling)}")
                continue
            via = "" if named else " (meshConfig.defaultProviders.tracing)"
            return passed(f"{at} traces {short(rate)}% of requests through provider {names[0]}{via} "
                          f"({kind} {target}) of Istio {istio}")
    return failed("; ".join(problems), hint)


# -- Kiali -----------------------------------------------------------------------------------
def _same_url(found: str, expected: str) -> bool:
    def norm(u: str) -> str:
        return u.strip().rstrip("/").replace(".svc.cluster.local:", ".svc:")
    return norm(found) == norm(expected)


@check("kiali-prometheus", reads=[K.KIALI])
def kiali_prometheus(snap: Snapshot, *, namespace: str = "istio-system", url: str = THANOS) -> Outcome:
    """A Kiali reads metrics from OpenShift monitoring: the Thanos querier, with Kiali's own bearer token."""
    bad = str_params(namespace=namespace, url=url)
    if bad:
        return bad
    hint = (f"Kiali in {namespace}: spec.external_services.prometheus: {{url: {url}, auth: {{type: bearer, "
            "use_kiali_token: true}}, thanos_proxy: {enabled: true}}")
    kialis = snap.list(K.KIALI, namespace)
    if not kialis:
        return failed(f"no Kiali in {namespace} (Kialis: {name_list(snap.list(K.KIALI), with_ns=True) or 'none'})",
                      "install the Kiali operator, then create a Kiali; " + hint)
    problems = []
    for k in kialis:
        prom = as_dict(as_dict(spec_of(k).get("external_services")).get("prometheus"))
        at = f"{ref(k)} spec.external_services.prometheus"
        found = label_str(prom.get("url"))
        auth = as_dict(prom.get("auth"))
        wrong = []
        if not _same_url(found, url):
            wrong.append(f"url is {found or 'not set (Kiali looks for a Prometheus in ' + namespace + ')'}; "
                         f"expected {url}")
        if label_str(auth.get("type")) != "bearer":
            wrong.append(f"auth.type is {label_str(auth.get('type')) or 'not set'}; expected bearer")
        if auth.get("use_kiali_token") is not True:
            wrong.append(f"auth.use_kiali_token is {short(auth.get('use_kiali_token')) if 'use_kiali_token' in auth else 'not set'}"
                         "; expected true")
        if not wrong:
            return passed(f"{at} url is {found}, auth bearer with Kiali's token")
        problems.append(f"{at} " + ", ".join(wrong))
    return failed("; ".join(problems), hint)

