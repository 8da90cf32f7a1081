"""`wait ... for: endpoints`: a Service serves the pods a rollout made only once its Endpoints
list exactly its ready pods (grader.lifecycle.endpoints_current), on object snapshots."""

from __future__ import annotations

import pytest

from grader.lifecycle import endpoints_current

SERVICE = {"metadata": {"name": "web", "namespace": "webapp"}, "spec": {"selector": {"app": "web"}}}


def pod(name: str, ready: bool = True, deleting: bool = False) -> dict:
    md = {"name": name, "namespace": "webapp", "labels": {"app": "web"}}
    if deleting:
        md["deletionTimestamp"] = "2026-12-08T02:00:00Z"
    return {"metadata": md, "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def endpoints(*names: str, not_ready: tuple[str, ...] = ()) -> dict:
    def addr(n: str) -> dict:
        return {"ip": "10.0.0.1", "targetRef": {"kind": "Pod", "name": n, "namespace": "webapp"}}
    subset = {"addresses": [addr(n) for n in names], "ports": [{"name": "http", "port": 80}]}
    if not_ready:
        subset["notReadyAddresses"] = [addr(n) for n in not_ready]
    return {"metadata": {"name": "web", "namespace": "webapp"}, "subsets": [subset]}


@pytest.mark.parametrize("pods, eps, current", [
    ([pod("web-v1-new")], endpoints("web-v1-new"), True),
    # the rollout is complete, the endpoints controller has not written yet
    ([pod("web-v1-new")], endpoints("web-v1-old"), False),
    ([pod("web-v1-new")], None, False),
    # the old pod is terminating: it no longer counts, the Endpoints must have dropped it
    ([pod("web-v1-new"), pod("web-v1-old", deleting=True)], endpoints("web-v1-new"), True),
    ([pod("web-v1-new"), pod("web-v1-old", deleting=True)], endpoints("web-v1-new", "web-v1-old"), False),
    # a pod not ready yet is not served; listed only under notReadyAddresses it matches
    ([pod("a"), pod("b", ready=False)], endpoints("a", not_ready=("b",)), True),
    ([pod("a"), pod("b")], endpoints("a", not_ready=("b",)), False),
    # nothing ready is nothing served, whatever the Endpoints say
    ([], endpoints(), False),
    ([pod("a", ready=False)], endpoints(), False),
])
def test_endpoints_current(pods, eps, current):
    assert endpoints_current(SERVICE, pods, eps) is current


@pytest.mark.parametrize("service", [None, {"metadata": {"name": "web"}, "spec": {}}])
def test_a_missing_service_or_one_without_selector_is_never_current(service):
    assert endpoints_current(service, [pod("a")], endpoints("a")) is False
