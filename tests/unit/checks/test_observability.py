"""OSSM 3 observability checks: user-workload-monitoring, istiod-servicemonitor, proxy-podmonitor,
tracing-telemetry, kiali-prometheus.

The cluster is tests/fixtures/checks/ossm3/observability.yaml (istiod's Service, web-v1 with an
injected pod, as the ossm3 sandbox has them) plus the objects of the lab's reference solution
(solutions/observability-3), which must pass every check; each test then breaks one thing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from harness import check, docs

from grader.model import Status

SOLUTION = Path(__file__).resolve().parents[3] / "solutions" / "observability-3"
TPL = {"namespace": "webapp", "deployment": "web-v1"}
THANOS = "https://thanos-querier.openshift-monitoring.svc.cluster.local:9091"


def solved() -> list[dict]:
    objs = docs("ossm3/observability.yaml")
    for f in sorted(SOLUTION.glob("[0-9]*.yaml")):
        objs.extend(d for d in yaml.safe_load_all(f.read_text()) if isinstance(d, dict))
    return objs


def one(objs: list[dict], kind: str) -> dict:
    found = [o for o in objs if o["kind"] == kind]
    assert len(found) == 1, (kind, found)
    return found[0]


def without(objs: list[dict], kind: str) -> list[dict]:
    return [o for o in objs if o["kind"] != kind]


def failing(name: str, objs: list[dict], **params) -> str:
    out = check(name, objs, **params)
    assert out.status is Status.FAIL, out
    assert out.hint, out
    return out.reason


@pytest.mark.parametrize("name, params", [
    ("user-workload-monitoring", {}),
    ("istiod-servicemonitor", {}),
    ("proxy-podmonitor", TPL),
    ("tracing-telemetry", {"sampling": 100}),
    ("kiali-prometheus", {}),
])
def test_the_reference_solution_passes(name, params):
    out = check(name, solved(), **params)
    assert out.status is Status.PASS, out


def test_passing_reasons_say_what_was_found():
    objs = solved()
    assert "selects Service istiod (labels" in check("istiod-servicemonitor", objs).reason
    assert "scrapes /stats/prometheus on http-envoy-prom" in check("proxy-podmonitor", objs, **TPL).reason
    reason = check("tracing-telemetry", objs).reason
    assert "traces 100% of requests through provider otel" in reason
    assert "opentelemetry otel-collector.istio-system.svc.cluster.local:4317" in reason


# -- user-workload monitoring ---------------------------------------------------------------
def test_user_workload_monitoring_missing_false_string_and_broken():
    objs = solved()
    assert "ConfigMap openshift-monitoring/cluster-monitoring-config not found" in failing(
        "user-workload-monitoring", [o for o in objs if o["kind"] != "ConfigMap"])
    cm = one(objs, "ConfigMap")
    cm["data"]["config.yaml"] = "enableUserWorkload: false\n"
    assert "data config.yaml enableUserWorkload is false; expected true" in failing("user-workload-monitoring", objs)
    cm["data"]["config.yaml"] = "enableUserWorkload: 'true'\n"
    assert "(a string: the cluster monitoring operator wants a YAML boolean)" in failing(
        "user-workload-monitoring", objs)
    cm["data"]["config.yaml"] = "enableUserWorkload: [true\n"
    assert "is not valid YAML" in failing("user-workload-monitoring", objs)
    cm["data"] = {"config": "enableUserWorkload: true"}
    assert "has no data key config.yaml (keys: config)" in failing("user-workload-monitoring", objs)
    cm["data"] = {"config.yaml": "prometheusK8s: {retention: 24h}\n"}
    assert "does not set enableUserWorkload" in failing("user-workload-monitoring", objs)


# -- istiod ServiceMonitor --------------------------------------------------------------------
def test_servicemonitor_missing_wrong_selector_wrong_port():
    objs = solved()
    assert "no ServiceMonitor in istio-system" in failing("istiod-servicemonitor", without(objs, "ServiceMonitor"))
    sm = one(objs, "ServiceMonitor")
    sm["spec"]["selector"] = {"matchLabels": {"app": "istio-pilot"}}
    reason = failing("istiod-servicemonitor", objs)
    assert "ServiceMonitor istio-system/istiod-monitor spec.selector" in reason
    assert "does not match Service istiod" in reason
    sm["spec"]["selector"] = {"matchLabels": {"istio": "pilot"}}
    sm["spec"]["endpoints"] = [{"port": "metrics"}]
    reason = failing("istiod-servicemonitor", objs)
    assert "spec.endpoints[].port is metrics; expected http-monitoring" in reason
    assert "http-monitoring" in reason.split("ports:")[1]
    sm["spec"]["endpoints"] = [{"targetPort": 15014}]
    assert check("istiod-servicemonitor", objs).status is Status.PASS


def test_servicemonitor_in_another_namespace_is_not_seen():
    objs = solved()
    one(objs, "ServiceMonitor")["metadata"]["namespace"] = "openshift-monitoring"
    one(objs, "ServiceMonitor")["spec"]["namespaceSelector"] = {"matchNames": ["istio-system"]}
    reason = failing("istiod-servicemonitor", objs)
    assert "no ServiceMonitor in istio-system" in reason and "ignores namespaceSelector" in reason


# -- proxy PodMonitor -------------------------------------------------------------------------
def test_podmonitor_only_in_istio_system_does_not_scrape_webapp():
    objs = solved()
    pm = one(objs, "PodMonitor")
    pm["metadata"]["namespace"] = "istio-system"
    pm["spec"]["namespaceSelector"] = {"any": True}
    reason = failing("proxy-podmonitor", objs, **TPL)
    assert "no PodMonitor in webapp" in reason
    assert "PodMonitor istio-system/istio-proxies-monitor would select them" in reason
    assert "must be in webapp" in reason


def test_podmonitor_wrong_port_path_and_selector():
    objs = solved()
    ep = one(objs, "PodMonitor")["spec"]["podMetricsEndpoints"][0]
    ep["port"] = "http"
    assert "spec.podMetricsEndpoints[0] port is http, the application container's port" in failing(
        "proxy-podmonitor", objs, **TPL)
    ep["port"] = "envoy"
    assert "port is envoy, no port of the pods" in failing("proxy-podmonitor", objs, **TPL)
    ep["port"] = "http-envoy-prom"
    ep["path"] = "/metrics"
    assert "path is /metrics; expected /stats/prometheus" in failing("proxy-podmonitor", objs, **TPL)
    del ep["path"]
    assert "path is /metrics (the default)" in failing("proxy-podmonitor", objs, **TPL)
    ep["path"] = "/stats/prometheus"
    one(objs, "PodMonitor")["spec"]["selector"] = {"matchLabels": {"app": "reviews"}}
    reason = failing("proxy-podmonitor", objs, **TPL)
    assert "does not match the pods of web-v1" in reason and "app: web" in reason


def test_podmonitor_ignored_pods_are_not_selected():
    objs = solved()
    pod = one(objs, "Pod")
    pod["metadata"]["labels"]["istio-prometheus-ignore"] = "true"
    assert "does not match the pods of web-v1" in failing("proxy-podmonitor", objs, **TPL)


def test_podmonitor_as_the_red_hat_docs_write_it_passes():
    """No port: relabelings keep the istio-proxy container (address from prometheus.io/port)."""
    objs = solved()
    ep = one(objs, "PodMonitor")["spec"]["podMetricsEndpoints"][0]
    del ep["port"]
    assert check("proxy-podmonitor", objs, **TPL).status is Status.PASS
    ep["relabelings"] = []
    assert "no relabeling keeps only the istio-proxy container" in failing("proxy-podmonitor", objs, **TPL)
    ep["targetPort"] = 15090
    assert check("proxy-podmonitor", objs, **TPL).status is Status.PASS


# -- tracing Telemetry ------------------------------------------------------------------------
def test_telemetry_provider_not_in_extension_providers():
    objs = solved()
    one(objs, "Telemetry")["spec"]["tracing"][0]["providers"][0]["name"] = "tempo"
    reason = failing("tracing-telemetry", objs, sampling=100)
    assert ("Telemetry istio-system/mesh-default spec.tracing[0] provider tempo is not defined in Istio default "
            "spec.values.meshConfig.extensionProviders (defined: otel)") in reason


def test_telemetry_without_extension_providers_or_telemetry():
    objs = solved()
    del one(objs, "Istio")["spec"]["values"]["meshConfig"]["extensionProviders"]
    assert "(defined: none)" in failing("tracing-telemetry", objs)
    objs = solved()
    assert "no mesh-wide Telemetry with spec.tracing in the root namespace istio-system" in failing(
        "tracing-telemetry", without(objs, "Telemetry"))


def test_telemetry_with_a_selector_or_elsewhere_is_not_mesh_wide():
    objs = solved()
    one(objs, "Telemetry")["spec"]["selector"] = {"matchLabels": {"app": "web"}}
    assert "no mesh-wide Telemetry" in failing("tracing-telemetry", objs)
    objs = solved()
    one(objs, "Telemetry")["metadata"]["namespace"] = "webapp"
    reason = failing("tracing-telemetry", objs)
    assert "no mesh-wide Telemetry" in reason and "webapp/mesh-default" in reason


def test_telemetry_sampling():
    objs = solved()
    entry = one(objs, "Telemetry")["spec"]["tracing"][0]
    entry["randomSamplingPercentage"] = 1
    assert "randomSamplingPercentage is 1; expected 100" in failing("tracing-telemetry", objs, sampling=100)
    assert check("tracing-telemetry", objs).status is Status.PASS
    del entry["randomSamplingPercentage"]
    assert "randomSamplingPercentage is not set" in failing("tracing-telemetry", objs)
    entry["randomSamplingPercentage"] = 100
    entry["disableSpanReporting"] = True
    assert "disableSpanReporting is true" in failing("tracing-telemetry", objs)


def test_telemetry_provider_that_is_not_a_tracer_and_default_providers():
    objs = solved()
    mesh = one(objs, "Istio")["spec"]["values"]["meshConfig"]
    mesh["extensionProviders"].append({"name": "log", "envoyFileAccessLog": {"path": "/dev/stdout"}})
    one(objs, "Telemetry")["spec"]["tracing"][0]["providers"][0]["name"] = "log"
    assert "provider log is not a tracing provider" in failing("tracing-telemetry", objs)
    del one(objs, "Telemetry")["spec"]["tracing"][0]["providers"]
    assert "names no provider and meshConfig.defaultProviders.tracing is not set" in failing("tracing-telemetry", objs)
    mesh["defaultProviders"] = {"tracing": ["otel"]}
    out = check("tracing-telemetry", objs)
    assert out.status is Status.PASS and "(meshConfig.defaultProviders.tracing)" in out.reason


def test_telemetry_bad_sampling_param_is_the_lab_definitions_fault():
    out = check("tracing-telemetry", solved(), sampling=0)
    assert out.status is Status.FAIL and "check parameter sampling" in out.reason


# -- Kiali --------------------------------------------------------------------------------------
def test_kiali_missing_url_auth():
    objs = solved()
    assert "no Kiali in istio-system" in failing("kiali-prometheus", without(objs, "Kiali"))
    prom = one(objs, "Kiali")["spec"]["external_services"]["prometheus"]
    del prom["url"]
    reason = failing("kiali-prometheus", objs)
    assert "Kiali istio-system/kiali spec.external_services.prometheus url is not set" in reason
    assert f"expected {THANOS}" in reason
    prom["url"] = "http://prometheus.istio-system:9090"
    prom["auth"] = {"type": "none"}
    reason = failing("kiali-prometheus", objs)
    assert "url is http://prometheus.istio-system:9090" in reason
    assert "auth.type is none; expected bearer" in reason and "auth.use_kiali_token is not set" in reason
    prom["url"] = "https://thanos-querier.openshift-monitoring.svc:9091/"
    prom["auth"] = {"type": "bearer", "use_kiali_token": True}
    assert check("kiali-prometheus", objs).status is Status.PASS


def test_unserved_kinds_fail_naming_the_operator():
    from harness import run, snap_of

    snap = snap_of(solved())
    snap.missing_kinds.update({"Kiali", "PodMonitor"})
    out = run("kiali-prometheus", snap)
    assert out.status is Status.FAIL and "does not serve Kiali" in out.reason
    out = run("proxy-podmonitor", snap, **TPL)
    assert out.status is Status.FAIL and "does not serve PodMonitor" in out.reason
