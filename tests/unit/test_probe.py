"""grader.probe sends the traffic checks' requests (bounded, loopback here) and records the answers;
grading leaves skipped traffic checks out of the total and scales the pass mark."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from harness import scenario, snap_of

from grader import grading
from grader import kinds as K
from grader.labs import load
from grader.model import Status
from grader.observations import Probe, not_sent
from grader.probe import Destination, cluster_destination, gather


class _App(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str] = []
    paths: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        _App.seen.append(self.headers.get("Host", ""))
        _App.paths.append(self.path)
        body = b"ok\n"
        if self.path.startswith("/overflow"):   # Envoy's circuit breaker: header (or only the body) says so
            body = b"upstream connect error or disconnect/reset before headers. reset reason: overflow"
        self.send_response(200 if self.path in ("/", "/ok") else 503 if self.path.startswith("/overflow") else 404)
        if self.path == "/overflow":
            self.send_header("x-envoy-overloaded", "true")
        self.send_header("x-lab-pod", f"web-v{1 + len(_App.seen) % 2}-abc")
        self.send_header("x-lab-pod-namespace", "webapp")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def app() -> Iterator[Destination]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _App)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    _App.seen, _App.paths = [], []
    try:
        yield Destination("http", "127.0.0.1", server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_every_probe_is_sent_once_and_recorded(app: Destination) -> None:
    split, missing = Probe(count=50), Probe(path="/missing", host="www.example.com", count=3)
    traffic = gather([split, missing, split], app, budget=10)
    assert traffic.sent == 53 == len(_App.seen)
    obs = traffic.observed(split)
    assert [a.status for a in obs.answers] == [200] * 50
    assert {a.pod for a in obs.answers} == {"web-v1-abc", "web-v2-abc"}
    assert obs.target == f"http://127.0.0.1:{app.port}/"
    assert [a.status for a in traffic.observed(missing).answers] == [404] * 3
    assert _App.seen[-1] == "www.example.com"
    assert _App.seen[0] == f"127.0.0.1:{app.port}"


def test_in_the_sandbox_the_data_plane_catches_up_before_the_first_request(app: Destination) -> None:
    """A grade right after a write (`lab solve && lab grade`) must not race the data plane: the
    sandbox's admin port is asked to sync (as `lab sandbox wait` does) before anything is sent."""
    import dataclasses
    app = dataclasses.replace(app, mesh_ports={"dataplane-admin": app.port})
    gather([Probe(count=2)], app, budget=10)
    assert _App.seen == [f"127.0.0.1:{app.port}"] * 3 and _App.paths[0].startswith("/sync?timeout="), _App.paths
    assert _App.paths[1:] == ["/", "/"]


def test_an_overflow_503_is_told_from_other_answers(app: Destination) -> None:
    probes = [Probe(path="/overflow"), Probe(path="/overflow-body-only"), Probe(path="/missing")]
    traffic = gather(probes, app, budget=10)
    assert [traffic.observed(p).answers[0].overflow for p in probes] == [True, True, False]


def test_an_unreachable_gateway_skips_every_gateway_probe() -> None:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()   # nothing listens there now
    traffic = gather([Probe(count=100), Probe(path="/x")], Destination("http", "127.0.0.1", port))
    assert traffic.sent == 1
    for p in (Probe(count=100), Probe(path="/x")):
        assert "is unreachable (refused" in traffic.observed(p).skipped


def test_requests_from_pods_need_the_sandbox(app: Destination) -> None:
    probe = Probe(source="webapp/legacy", url="http://web.webapp/")
    traffic = gather([probe], app)
    assert traffic.sent == 0
    assert "oc exec deploy/legacy -n webapp -- curl -sv http://web.webapp/" in traffic.observed(probe).skipped


def test_a_cluster_is_reached_through_the_ingress_route() -> None:
    route = {"apiVersion": "route.openshift.io/v1", "kind": "Route",
             "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
             "spec": {"host": "istio-ingressgateway-istio-system.apps.example.com",
                      "to": {"kind": "Service", "name": "istio-ingressgateway"}}}
    dest = cluster_destination(snap_of([route]))
    assert (dest.scheme, dest.host, dest.port) == ("http", "istio-ingressgateway-istio-system.apps.example.com", 80)
    assert dest.base == "http://istio-ingressgateway-istio-system.apps.example.com"
    assert "no Route istio-system/istio-ingressgateway with a host" in cluster_destination(snap_of([]))


def test_skipped_traffic_checks_leave_the_total_and_scale_the_pass_mark() -> None:
    lab = load("canary")
    snap = snap_of(scenario())
    snap.traffic = not_sent("--no-traffic given: no requests sent")
    (report,) = grading.grade_snapshot(lab, snap)
    split = next(r for r in report.results if r.id == "split-observed")
    assert split.status is Status.SKIP and split.max_points == 0
    assert report.total == sum(s.points for s in lab.checks) - 25 == 100
    assert report.pass_mark == 80     # 100 of 125 scaled to 100 points: 80
    assert report.requests == 0
    assert report.notes[-1] == ("traffic checks skipped: their 25 points are left out of the total; "
                                "pass mark 100 of 125 scaled to 80 of 100")
    assert report.passed and report.score == 100


def test_offline_grading_sends_nothing(tmp_path) -> None:
    lab = load("canary")
    import yaml
    f = tmp_path / "objs.yaml"
    f.write_text(yaml.safe_dump_all(scenario()))
    graded = grading.grade_files(lab, [f])
    (report,) = graded.reports
    assert report.requests == 0
    split = next(r for r in report.results if r.id == "split-observed")
    assert split.status is Status.SKIP and "graded offline from files" in split.reason
    assert K.POD.kind in graded.snapshot.read_kinds


def test_a_cluster_s_prometheus_is_the_one_prometheus_url_names(monkeypatch) -> None:
    """The mesh's Prometheus on OpenShift wants a login: only PROMETHEUS_URL is asked, else the
    PromQL probes are skipped with the reason (and nothing is counted as sent)."""
    route = {"apiVersion": "route.openshift.io/v1", "kind": "Route",
             "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
             "spec": {"host": "gw.apps.example.com", "to": {"kind": "Service", "name": "istio-ingressgateway"}}}
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    dest = cluster_destination(snap_of([route]))
    assert dest.prometheus is None and "set PROMETHEUS_URL" in dest.no_prometheus
    probe = Probe(promql="sum(up)", window=60.0)
    traffic = gather([probe], dest)
    assert traffic.sent == 0 and "behind OpenShift's OAuth proxy" in traffic.observed(probe).skipped
    monkeypatch.setenv("PROMETHEUS_URL", "http://127.0.0.1:9")
    assert cluster_destination(snap_of([route])).prometheus == "http://127.0.0.1:9"
