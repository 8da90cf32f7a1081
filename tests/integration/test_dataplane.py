"""The sandbox's data plane on a real sandbox (flavour istio): Istio's documented samples applied with
the API, requests sent through the ingress gateway and from pods, metrics read from Prometheus.

Samples: bookinfo (request routing on `end-user: jason`, traffic shifting 50/50 and 100 % v3,
fault injection: 7 s delay and HTTP 500 abort for jason) and helloworld v1/v2, as in
istio.io/latest/docs/tasks/traffic-management/. Every request loop is bounded in count and time.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.sandbox.control_plane import Sandbox
from grader.sandbox.dataplane.client import CURL_RESET, CURL_TIMEOUT, CurlError, send, wait

pytestmark = pytest.mark.sandbox

NS = "bookinfo"
JASON = [("end-user", "jason")]


def _server_side_apply(api, path: str, body: dict) -> None:
    api.call_api(path, "PATCH", query_params=[("fieldManager", "lab-test"), ("force", "true")],
                 header_params={"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"},
                 body=body, response_types_map={200: "object", 201: "object"}, auth_settings=["BearerToken"],
                 _return_http_data_only=True)


def _apply(api, objs: list[dict]) -> None:
    for o in objs:
        kind, md = o["kind"], o["metadata"]
        group_version = o["apiVersion"]
        plural = {"Namespace": "namespaces", "Deployment": "deployments", "Service": "services",
                  "VirtualService": "virtualservices", "DestinationRule": "destinationrules", "Gateway": "gateways",
                  "PeerAuthentication": "peerauthentications"}[kind]
        base = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
        ns = f"/namespaces/{md['namespace']}" if md.get("namespace") else ""
        _server_side_apply(api, f"{base}{ns}/{plural}/{md['name']}", o)


def _delete(api, api_version: str, plural: str, ns: str, name: str) -> None:
    from kubernetes.client.rest import ApiException
    try:
        api.call_api(f"/apis/{api_version}/namespaces/{ns}/{plural}/{name}", "DELETE", auth_settings=["BearerToken"],
                     response_types_map={200: "object"}, _return_http_data_only=True)
    except ApiException as e:
        if e.status != 404:
            raise


def _deployment(name: str, app: str, version: str, image: str, port: int, inject: bool = True) -> dict:
    labels = {"app": app, "version": version}
    tpl_labels = dict(labels) if inject else {**labels, "sidecar.istio.io/inject": "false"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS,
                                                                        "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": tpl_labels}, "spec": {"containers": [
                         {"name": app, "image": image, "ports": [{"containerPort": port, "protocol": "TCP"}]}]}}}}


def _service(name: str, port: int) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}]}}


def _vs(name: str, spec: dict) -> dict:
    return {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
            "metadata": {"name": name, "namespace": NS}, "spec": spec}


def _dr(host: str, versions: list[str]) -> dict:
    return {"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule",
            "metadata": {"name": host, "namespace": NS},
            "spec": {"host": host, "subsets": [{"name": v, "labels": {"version": v}} for v in versions]}}


def _route(host: str, subset: str, weight: int | None = None) -> dict:
    d: dict = {"destination": {"host": host, "subset": subset}}
    if weight is not None:
        d["weight"] = weight
    return d


@pytest.fixture(scope="module")
def mesh(istio_kubeconfig):
    """bookinfo and helloworld in namespace bookinfo (injected by its label), with the samples' DestinationRules
    (destination-rule-all.yaml) and gateways (bookinfo-gateway.yaml, helloworld-gateway.yaml)."""
    from kubernetes import client, config
    sb = Sandbox(root=Path(istio_kubeconfig).parent)
    api = config.new_client_from_config(config_file=istio_kubeconfig)
    objs: list[dict] = [{"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": NS, "labels": {"istio-injection": "enabled"}}}]
    for app, versions in (("productpage", ["v1"]), ("details", ["v1"]), ("ratings", ["v1"]),
                          ("reviews", ["v1", "v2", "v3"])):
        objs += [_deployment(f"{app}-{v}", app, v, f"docker.io/istio/examples-bookinfo-{app}-{v}:1.18.0", 9080)
                 for v in versions]
        objs.append(_service(app, 9080))
    objs += [_deployment(f"helloworld-{v}", "helloworld", v, f"docker.io/istio/examples-helloworld-{v}:1.0", 5000)
             for v in ("v1", "v2")]
    objs.append(_service("helloworld", 5000))
    objs.append(_deployment("sleep", "sleep", "v1", "curlimages/curl:8.7.1", 80))
    objs.append(_deployment("legacy", "legacy", "v1", "curlimages/curl:8.7.1", 80, inject=False))
    objs += [_dr("productpage", ["v1"]), _dr("reviews", ["v1", "v2", "v3"]), _dr("ratings", ["v1", "v2"]),
             _dr("details", ["v1", "v2"]), _dr("helloworld", ["v1", "v2"])]
    for gw, hosts in (("bookinfo-gateway", ["*"]),):
        objs.append({"apiVersion": "networking.istio.io/v1beta1", "kind": "Gateway",
                     "metadata": {"name": gw, "namespace": NS},
                     "spec": {"selector": {"istio": "ingressgateway"}, "servers": [
                         {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": hosts}]}})
    objs.append(_vs("gateway-routes", {"hosts": ["*"], "gateways": ["bookinfo-gateway"], "http": [
        {"match": [{"uri": {"exact": "/productpage"}}, {"uri": {"prefix": "/static"}}],
         "route": [{"destination": {"host": "productpage", "port": {"number": 9080}}}]},
        {"match": [{"uri": {"exact": "/hello"}}],
         "route": [{"destination": {"host": "helloworld", "port": {"number": 5000}}}]}]}))
    _apply(api, objs)
    core = client.CoreV1Api(api)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(NS).items
        ready = [p for p in pods if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])]
        if len(pods) >= 10 and len(ready) == len(pods):
            break
        time.sleep(0.5)
    else:
        pytest.fail("bookinfo pods not ready in 60 s")
    assert wait(sb.state()["ports"]["dataplane-admin"], 30)
    yield sb, api


def _ports(sb: Sandbox) -> dict:
    return sb.state()["ports"]


def _sync(sb: Sandbox) -> None:
    assert wait(_ports(sb)["dataplane-admin"], 10), "data plane did not catch up in 10 s"


def _pod(ans) -> str:
    return {k.lower(): v for k, v in ans.headers}.get("x-lab-pod", "")


def _within_binomial(count: int, n: int, p: float, z: float = 4.0) -> bool:
    return abs(count - n * p) <= z * math.sqrt(n * p * (1 - p))


def test_env_exports_gateway_and_prometheus_urls_and_status_lists_them(mesh):
    sb, _ = mesh
    env = {"LAB_SANDBOX_DIR": str(sb.root), "KUBECONFIG": ""}
    res = CliRunner().invoke(main, ["--no-color", "sandbox", "env"], env=env, catch_exceptions=False)
    assert res.stdout.startswith("export KUBECONFIG=") and len(res.stdout.strip().splitlines()) == 1
    assert f" GATEWAY_URL=127.0.0.1:{_ports(sb)['dataplane-gateway']}" in res.stdout
    assert " PROMETHEUS_URL=http://127.0.0.1:" in res.stdout
    st = sb.status()
    assert st["components"]["dataplane"]["running"] and st["components"]["prometheus"]["running"]


def test_request_routing_jason_to_v2_everyone_else_to_v1(mesh):
    sb, api = mesh
    _apply(api, [_vs("reviews", {"hosts": ["reviews"], "http": [
        {"match": [{"headers": {"end-user": {"exact": "jason"}}}], "route": [_route("reviews", "v2")]},
        {"route": [_route("reviews", "v1")]}]})])
    _sync(sb)
    ports = _ports(sb)
    jason = {_pod(send(ports, "http://reviews:9080/reviews/0", f"{NS}/productpage-v1", headers=JASON))
             for _ in range(10)}
    others = {_pod(send(ports, "http://reviews:9080/reviews/0", f"{NS}/productpage-v1")) for _ in range(10)}
    assert len(jason) == 1 and jason.pop().startswith("reviews-v2-")
    assert len(others) == 1 and others.pop().startswith("reviews-v1-")


def test_lab_sandbox_curl_from_a_deployment_prints_the_pod_header(mesh):
    sb, _ = mesh
    env = {"LAB_SANDBOX_DIR": str(sb.root), "KUBECONFIG": ""}
    res = CliRunner().invoke(main, ["--no-color", "sandbox", "curl", "-sI", "--from", f"{NS}/productpage-v1",
                                    "-H", "end-user: jason", "http://reviews.bookinfo:9080/"], env=env)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("HTTP/1.1 200 OK") and "x-lab-pod: reviews-v2-" in res.stdout


def test_traffic_shifting_50_50_then_100_percent_v3(mesh):
    sb, api = mesh
    ports = _ports(sb)
    _apply(api, [_vs("reviews", {"hosts": ["reviews"], "http": [
        {"route": [_route("reviews", "v1", 50), _route("reviews", "v3", 50)]}]})])
    _sync(sb)
    seen = Counter(_pod(send(ports, "http://reviews:9080/", f"{NS}/productpage-v1"))[:10] for _ in range(100))
    assert set(seen) == {"reviews-v1", "reviews-v3"} and _within_binomial(seen["reviews-v3"], 100, 0.5), seen
    _apply(api, [_vs("reviews", {"hosts": ["reviews"], "http": [{"route": [_route("reviews", "v3")]}]})])
    _sync(sb)
    assert {_pod(send(ports, "http://reviews:9080/", f"{NS}/productpage-v1"))[:10] for _ in range(20)} == {"reviews-v3"}


def test_fault_injection_7s_delay_and_http_500_abort_for_jason(mesh):
    sb, api = mesh
    ports = _ports(sb)
    def fault(f: dict) -> dict:
        return _vs("ratings", {"hosts": ["ratings"], "http": [
            {"match": [{"headers": {"end-user": {"exact": "jason"}}}], "fault": f, "route": [_route("ratings", "v1")]},
            {"route": [_route("ratings", "v1")]}]})
    _apply(api, [fault({"delay": {"percentage": {"value": 100.0}, "fixedDelay": "7s"}})])
    _sync(sb)
    t0 = time.monotonic()
    with pytest.raises(CurlError) as e:   # bounded: give up after 1 s of the 7 s delay
        send(ports, "http://ratings:9080/ratings/0", f"{NS}/reviews-v2", headers=JASON, timeout=1.0)
    assert e.value.code == CURL_TIMEOUT and time.monotonic() - t0 < 3
    t0 = time.monotonic()
    assert send(ports, "http://ratings:9080/ratings/0", f"{NS}/reviews-v2", timeout=5).status == 200
    assert time.monotonic() - t0 < 1
    _apply(api, [fault({"abort": {"percentage": {"value": 100.0}, "httpStatus": 500}})])
    _sync(sb)
    ans = send(ports, "http://ratings:9080/ratings/0", f"{NS}/reviews-v2", headers=JASON)
    assert (ans.status, ans.body) == (500, b"fault filter abort")
    assert send(ports, "http://ratings:9080/ratings/0", f"{NS}/reviews-v2").status == 200


def test_helloworld_v1_v2_through_the_gateway_and_404_NR_elsewhere(mesh):
    sb, _ = mesh
    ports = _ports(sb)
    gw = f"http://127.0.0.1:{ports['dataplane-gateway']}"
    bodies = Counter(send(ports, f"{gw}/hello").body.split(b",")[0] for _ in range(20))
    assert set(bodies) == {b"Hello version: v1", b"Hello version: v2"}
    assert send(ports, f"{gw}/nothing-here").status == 404


def test_canary_80_20_through_the_gateway_within_a_binomial_bound(mesh):
    sb, api = mesh
    ports = _ports(sb)
    _apply(api, [_vs("gateway-routes", {"hosts": ["*"], "gateways": ["bookinfo-gateway"], "http": [
        {"match": [{"uri": {"exact": "/hello"}}],
         "route": [_route("helloworld", "v1", 80), _route("helloworld", "v2", 20)]}]})])
    _sync(sb)
    t0 = time.monotonic()
    seen = Counter(_pod(send(ports, f"http://127.0.0.1:{ports['dataplane-gateway']}/hello"))[:13] for _ in range(100))
    assert time.monotonic() - t0 < 5
    assert set(seen) <= {"helloworld-v1", "helloworld-v2"}
    assert _within_binomial(seen["helloworld-v2"], 100, 0.2), f"v1 {seen['helloworld-v1']}, v2 {seen['helloworld-v2']}"


def test_missing_subset_answers_503(mesh):
    sb, api = mesh
    _apply(api, [_vs("details", {"hosts": ["details"], "http": [{"route": [_route("details", "v9")]}]})])
    _sync(sb)
    assert send(_ports(sb), "http://details:9080/", f"{NS}/productpage-v1").status == 503
    _delete(api, "networking.istio.io/v1beta1", "virtualservices", NS, "details")
    _sync(sb)


def test_strict_refuses_plaintext_from_a_pod_without_sidecar(mesh):
    sb, api = mesh
    ports = _ports(sb)
    assert send(ports, "http://details:9080/", f"{NS}/legacy").status == 200   # PERMISSIVE by default
    _apply(api, [{"apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthentication",
                  "metadata": {"name": "default", "namespace": NS}, "spec": {"mtls": {"mode": "STRICT"}}}])
    _sync(sb)
    try:
        with pytest.raises(CurlError) as e:
            send(ports, "http://details:9080/", f"{NS}/legacy")
        assert e.value.code == CURL_RESET
        assert send(ports, "http://details:9080/", f"{NS}/sleep").status == 200
        env = {"LAB_SANDBOX_DIR": str(sb.root), "KUBECONFIG": ""}
        res = CliRunner().invoke(main, ["--no-color", "sandbox", "curl", "--from", f"{NS}/legacy",
                                        "http://details.bookinfo:9080/"], env=env)
        assert res.exit_code == CURL_RESET and "Connection reset by peer" in res.stderr
    finally:
        _delete(api, "security.istio.io/v1beta1", "peerauthentications", NS, "default")
        _sync(sb)


def test_a_change_takes_effect_within_a_second_without_waiting(mesh):
    sb, api = mesh
    ports = _ports(sb)
    _apply(api, [_vs("details", {"hosts": ["details"], "http": [
        {"fault": {"abort": {"httpStatus": 418, "percentage": {"value": 100}}}, "route": [_route("details", "v1")]}]})])
    t0 = time.monotonic()
    status = None
    while time.monotonic() - t0 < 1.0:
        status = send(ports, "http://details:9080/", f"{NS}/productpage-v1").status
        if status == 418:
            break
        time.sleep(0.02)
    assert status == 418, "the VirtualService had not taken effect 1 s after the write"
    _delete(api, "networking.istio.io/v1beta1", "virtualservices", NS, "details")
    _sync(sb)


def test_prometheus_answers_the_istio_requests_total_query(mesh):
    sb, _ = mesh
    ports = _ports(sb)
    for _ in range(5):
        send(ports, "http://details:9080/", f"{NS}/productpage-v1")
    q = urllib.parse.quote('sum by (destination_workload, response_code) '
                           '(istio_requests_total{reporter="destination",destination_service_name="details"})')
    url = f"http://127.0.0.1:{ports['prometheus']}/api/v1/query?query={q}"
    deadline = time.monotonic() + 15
    result: list = []

    def counted() -> bool:
        return any(r["metric"].get("destination_workload") == "details-v1" and r["metric"].get("response_code") == "200"
                   and float(r["value"][1]) >= 5 for r in result)
    while time.monotonic() < deadline and not counted():   # Prometheus scrapes every 2 s
        with urllib.request.urlopen(url, timeout=5) as r:
            result = json.loads(r.read())["data"]["result"]
        time.sleep(0.5)
    assert counted(), result


def test_killed_data_plane_is_restarted_by_up(mesh):
    sb, _ = mesh
    pid = sb.pid("dataplane")
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while sb.pid("dataplane") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not sb.running()
    sb.up(flavour="istio", timeout=60)
    assert sb.pid("dataplane") not in (None, pid) and sb.running()
    _sync(sb)
    assert send(_ports(sb), "http://details:9080/", f"{NS}/productpage-v1").status == 200
