"""Verdicts held against what istiod and Envoy do (issue 9): answers a student would try, graded
offline through the public path (``lab grade LAB -f FILE... -o json``), one class of wrong verdict
per fixture folder under tests/fixtures/verdicts.

Each case names the lab, the case file (whole objects that replace the lab's base state), and for
some of the lab's check ids the status the mesh's real behaviour calls for and substrings the reason
must carry (the object, the field, what was expected, what was found). The comment at the top of
each fixture says what Istio does with it and where (pilot source or Istio reference). Cases
with a class name (``fixed``) got the wrong verdict before the fix of that class.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
VERDICTS = FIXTURES / "verdicts"
# The solved canary cluster's ingress gateway and workloads, then the labs' starting mesh objects.
BASE = (FIXTURES / "checks" / "cluster", FIXTURES / "checks" / "webapp" / "workloads.yaml", VERDICTS / "base")


@functools.cache
def _grade(lab: str, case: str) -> dict[str, dict]:
    args = ["--no-color", "grade", lab, "-o", "json"]
    for path in (*BASE, VERDICTS / case):
        args += ["-f", str(path)]
    res = CliRunner().invoke(main, args, catch_exceptions=False)
    assert res.stdout.strip(), res.output
    report = json.loads(res.stdout)
    return {c["id"]: c for c in report["checks"]}


@dataclass(frozen=True)
class Expect:
    check: str  # the lab's check id
    status: str  # pass | fail
    reason: tuple[str, ...] = ()  # substrings of the reason


@dataclass(frozen=True)
class Case:
    lab: str
    case: str  # <class>/<file>.yaml under tests/fixtures/verdicts
    expect: tuple[Expect, ...]
    fixed: str = ""  # the class whose fix turned this verdict right (it was wrong before issue 9)


def P(check: str, *reason: str) -> Expect:
    return Expect(check, "pass", reason)


def F(check: str, *reason: str) -> Expect:
    return Expect(check, "fail", reason)


C1 = "class 1: gateway servers not fully judged"
C2 = "class 2: gateway-bound VirtualService hosts compared loosely"
C3 = "class 3: dotted short host names expanded"
C4 = "class 4: every request judged from one request"
C5 = "class 5: subset and port-level traffic policies do not all override"
C6 = "class 6: TLS modes other than DISABLE not judged against STRICT"
C7 = "class 7: consecutiveErrors (false fail)"
SEL = "further: an equivalent Gateway selector fails"
EXP = "further: exportTo hides a rule from the gateway's Envoy"

CASES = [
    # -- 1: a Gateway's servers: hosts, protocol, httpsRedirect, the pods it configures ----------
    Case("gateway", "gateway-servers/host-www.yaml",
         (F("gateway-bound", "spec.servers[0].hosts", "www.example.com", "404"),), C1),
    Case("gateway", "gateway-servers/host-namespace-star.yaml",
         (P("gateway-bound"), P("virtualservice-bound"))),
    Case("gateway", "gateway-servers/host-dot-star.yaml",
         (P("gateway-bound"), P("virtualservice-bound"))),
    Case("gateway", "gateway-servers/host-other-namespace.yaml",
         (F("virtualservice-bound", "other/*"),)),
    Case("gateway", "gateway-servers/protocol-tcp.yaml",
         (F("gateway-bound", "spec.servers[0].port.protocol", "TCP", "http routes"),
          F("virtualservice-bound", "TCP")), C1),
    Case("gateway", "gateway-servers/protocol-http2-lowercase.yaml",
         (P("gateway-bound"), P("virtualservice-bound"))),
    Case("gateway", "gateway-servers/https-redirect.yaml",
         (F("gateway-bound", "spec.servers[0].tls.httpsRedirect", "301"),), C1),
    Case("gateway", "gateway-servers/https-redirect-false.yaml", (P("gateway-bound"),)),
    Case("gateway", "gateway-servers/target-port.yaml", (P("gateway-bound"),)),
    Case("gateway", "gateway-servers/http-and-tcp.yaml", (P("gateway-bound"), P("virtualservice-bound"))),
    Case("gateway", "gateway-servers/egress-selector.yaml",
         (F("gateway-bound", "istio-egressgateway", "not the ingress gateway"),), C1),
    Case("canary", "gateway-servers/egress-selector.yaml",
         (F("gateway-bound", "istio-egressgateway", "istio: ingressgateway"),), C1),
    Case("canary", "gateway-servers/selector-app-label.yaml", (P("gateway-bound", "istio-ingressgateway"),), SEL),
    # -- 2: a gateway-bound VirtualService's hosts against the Host header clients send ----------
    Case("gateway", "gateway-vs-hosts/short-name.yaml",
         (F("virtualservice-bound", "spec.hosts [web]", "web.webapp.svc.cluster.local", "404"),), C2),
    Case("gateway", "gateway-vs-hosts/fqdn.yaml",
         (F("virtualservice-bound", "web.webapp.svc.cluster.local", "404"),), C2),
    Case("gateway", "gateway-vs-hosts/wildcard-domain.yaml",
         (F("virtualservice-bound", "*.example.com", "404"),), C2),
    Case("gateway", "gateway-vs-hosts/star.yaml", (P("virtualservice-bound"),)),
    Case("gateway", "gateway-vs-hosts/star-and-short.yaml", (P("virtualservice-bound"),)),
    Case("gateway", "gateway-vs-hosts/gateway-other-namespace.yaml",
         (F("virtualservice-bound", "istio-system/web-gateway"),)),
    Case("gateway", "gateway-vs-hosts/gateway-ns-form.yaml", (P("virtualservice-bound"),)),
    Case("fix-gateway", "gateway-vs-hosts/www-wildcard-vs.yaml", (P("hosts-match"),)),
    Case("fix-gateway", "gateway-vs-hosts/www-wildcard-gateway.yaml", (P("hosts-match"),)),
    Case("fix-gateway", "gateway-vs-hosts/www-short-vs.yaml", (F("hosts-match", "[web]", "www.example.com"),)),
    Case("fix-gateway", "gateway-vs-hosts/www-apex.yaml", (F("hosts-match", "example.com"),)),
    # -- 3: only names without a dot are short names ------------------------------------------------
    Case("gateway", "short-hosts/dest-dotted.yaml",
         (F("route-reaches-web", "'web.webapp'", "without a dot"), F("virtualservice-bound", "web.webapp")), C3),
    Case("gateway", "short-hosts/dest-dotted-svc.yaml",
         (F("route-reaches-web", "'web.webapp.svc'", "without a dot"),), C3),
    Case("gateway", "short-hosts/dest-fqdn.yaml", (P("route-reaches-web"), P("virtualservice-bound"))),
    Case("gateway", "short-hosts/dest-short.yaml", (P("route-reaches-web"), P("virtualservice-bound"))),
    Case("canary", "short-hosts/dr-dotted.yaml",
         (F("destinationrule-subsets", "'web.webapp'", "without a dot"),
          F("traffic-split-80-20", "defined in no DestinationRule")), C3),
    Case("canary", "short-hosts/dr-fqdn.yaml", (P("destinationrule-subsets"), P("traffic-split-80-20"))),
    Case("canary", "short-hosts/dr-short.yaml", (P("destinationrule-subsets"), P("traffic-split-80-20"))),
    Case("mtls", "tls-modes/disable-dotted-host.yaml", (P("no-mtls-disable"), P("namespace-mtls-strict")), C3),
    # -- 4: every request the gateway can route, not one GET / ------------------------------------
    Case("fault-delay", "every-request/delay-exact-root.yaml",
         (F("fault-delay-5s", "spec.http[1]", "no fault"), P("route-to-v1")), C4),
    Case("fault-delay", "every-request/delay-only-exact-root.yaml",
         (F("fault-delay-5s", "404"), F("route-to-v1", "404")), C4),
    Case("fault-delay", "every-request/delay-prefix-root.yaml", (P("fault-delay-5s", "every"), P("route-to-v1")), C4),
    Case("fault-delay", "every-request/delay-regex-all.yaml", (P("fault-delay-5s"), P("route-to-v1"))),
    Case("fault-delay", "every-request/delay-header-and-all.yaml", (P("fault-delay-5s"), P("route-to-v1"))),
    Case("fault-delay", "every-request/delay-after-catch-all.yaml", (P("fault-delay-5s"), P("route-to-v1"))),
    Case("fault-delay", "every-request/delay-mesh-only-first.yaml", (P("fault-delay-5s"), P("route-to-v1"))),
    Case("fault-abort", "every-request/abort-exact-root.yaml", (F("fault-abort-500", "spec.http[1]", "no fault"),), C4),
    Case("resilience", "every-request/header-to-v2.yaml",
         (F("route-to-v1", "spec.http[0]", "subset is v2"), F("timeout-and-retries", "spec.http[0]")), C4),
    Case("resilience", "every-request/timeout-exact-root.yaml",
         (F("timeout-and-retries", "spec.http[1].timeout is not set"), P("route-to-v1")), C4),
    Case("resilience", "every-request/timeout-both.yaml", (P("timeout-and-retries"), P("route-to-v1"))),
    # -- 5: subset and port-level traffic policies replace the top-level ones ---------------------
    Case("resilience", "subset-policy/subset-outlier-override.yaml",
         (F("outlier-detection", "spec.subsets[0].trafficPolicy.outlierDetection", "10"), P("connection-pool")), C5),
    Case("resilience", "subset-policy/subset-outlier-off.yaml",
         (F("outlier-detection", "spec.subsets[0].trafficPolicy.outlierDetection", "disables"),), C5),
    Case("resilience", "subset-policy/subset-pool-only.yaml", (P("outlier-detection"), P("connection-pool"))),
    Case("resilience", "subset-policy/subset-lb-only.yaml", (P("outlier-detection"), P("connection-pool"))),
    Case("resilience", "subset-policy/subset-port-level-lb.yaml",
         (F("outlier-detection", "spec.subsets[0].trafficPolicy.portLevelSettings[0]"),
          F("connection-pool", "spec.subsets[0].trafficPolicy.portLevelSettings[0]")), C5),
    Case("resilience", "subset-policy/top-port-level-outlier.yaml",
         (F("outlier-detection", "spec.trafficPolicy.portLevelSettings[0]", "10"),
          F("connection-pool", "spec.trafficPolicy.portLevelSettings[0]")), C5),
    Case("resilience", "subset-policy/subset-pool-override.yaml",
         (F("connection-pool", "spec.subsets[0].trafficPolicy.connectionPool", "10"), P("outlier-detection"))),
    # -- 6: only ISTIO_MUTUAL (or no tls, auto mTLS) reaches a STRICT server ----------------------
    Case("mtls", "tls-modes/simple.yaml", (F("no-mtls-disable", "spec.trafficPolicy.tls.mode", "SIMPLE"),), C6),
    Case("mtls", "tls-modes/mutual.yaml", (F("no-mtls-disable", "spec.trafficPolicy.tls.mode", "MUTUAL"),), C6),
    Case("mtls", "tls-modes/mode-unset.yaml", (F("no-mtls-disable", "spec.trafficPolicy.tls", "DISABLE"),), C6),
    Case("mtls", "tls-modes/subset-simple.yaml",
         (F("no-mtls-disable", "spec.subsets[0].trafficPolicy.tls.mode", "SIMPLE"),), C6),
    Case("mtls", "tls-modes/port-level-disable.yaml",
         (F("no-mtls-disable", "spec.trafficPolicy.portLevelSettings[0].tls.mode", "DISABLE"),)),
    Case("mtls", "tls-modes/disable.yaml", (F("no-mtls-disable", "DISABLE", "STRICT"),)),
    Case("mtls", "tls-modes/istio-mutual.yaml", (P("no-mtls-disable"), P("namespace-mtls-strict"))),
    Case("mtls", "tls-modes/no-tls.yaml", (P("no-mtls-disable"), P("namespace-mtls-strict"))),
    Case("mtls", "tls-modes/disable-permissive.yaml", (P("no-mtls-disable", "PERMISSIVE"),)),
    # -- further: exportTo decides which rules the ingress gateway's Envoy sees ------------------
    Case("canary", "export-to/dr-dot.yaml",
         (F("traffic-split-80-20", "spec.exportTo", "istio-system", "503"), P("destinationrule-subsets")), EXP),
    Case("canary", "export-to/dr-gateway-ns.yaml", (P("traffic-split-80-20"),)),
    Case("canary", "export-to/dr-star.yaml", (P("traffic-split-80-20"),)),
    Case("gateway", "export-to/vs-dot.yaml", (F("virtualservice-bound", "spec.exportTo", "istio-system", "404"),), EXP),
    # -- 7: the effective consecutive-5xx threshold ------------------------------------------------
    Case("resilience", "consecutive-errors/guide-consecutive-errors-5.yaml",
         (P("outlier-detection", "consecutiveErrors", "ignored", "default", "consecutive5xxErrors"),), C7),
    Case("review", "consecutive-errors/guide-consecutive-errors-5.yaml",
         (P("outlier-detection", "consecutiveErrors", "ignored", "default"),), C7),
    Case("resilience", "consecutive-errors/consecutive-errors-3.yaml",
         (P("outlier-detection", "consecutiveErrors (3)", "ignored", "after 5"),), C7),
    Case("resilience", "consecutive-errors/no-threshold.yaml", (P("outlier-detection", "default"),), C7),
    Case("resilience", "consecutive-errors/c5xx-zero.yaml",
         (F("outlier-detection", "consecutive5xxErrors is 0", "disables"),), C7),
    Case("resilience", "consecutive-errors/c5xx-7.yaml", (F("outlier-detection", "consecutive5xxErrors is 7", "5"),)),
    Case("resilience", "consecutive-errors/c5xx-5.yaml", (P("outlier-detection"),)),
    Case("resilience", "consecutive-errors/both-fields.yaml", (P("outlier-detection", "consecutiveErrors", "ignored"),),
         C7),
    Case("resilience", "consecutive-errors/gateway-errors-only.yaml", (P("outlier-detection", "default"),), C7),
]


def _param(c: Case):
    return pytest.param(c, id=f"{c.lab}:{c.case.removesuffix('.yaml')}")


def test_every_fixture_is_used():
    used = {c.case for c in CASES}
    on_disk = {str(p.relative_to(VERDICTS)) for p in VERDICTS.rglob("*.yaml") if p.parent.name != "base"}
    assert on_disk == used


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_verdict(case: Case):
    checks = _grade(case.lab, case.case)
    for want in case.expect:
        got = checks[want.check]
        assert got["status"] == want.status, f"{want.check}: {got['status']}: {got['reason']}"
        missing = [s for s in want.reason if s not in got["reason"]]
        assert not missing, f"{want.check} reason lacks {missing}: {got['reason']}"
