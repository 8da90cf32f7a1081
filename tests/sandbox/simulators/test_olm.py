"""OLM-lite (grader/sandbox/simulators/olm.py) against a real sandbox: Subscriptions resolve
against the built-in catalog into InstallPlans, ClusterServiceVersions and operator
Deployments, and fail the way real OLM fails (ResolutionFailed, OperatorGroup problems)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from tests.conftest import _binaries_or_skip

pytestmark = pytest.mark.sandbox

GROUP = "operators.coreos.com"
OPERATORS = "openshift-operators"
MARKETPLACE = "openshift-marketplace"
TIMEOUT = 60


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Module-local: these tests install operators, which the Service Mesh simulator reacts to."""
    from grader.sandbox.control_plane import Sandbox
    _binaries_or_skip()
    sb = Sandbox(root=Path(tmp_path_factory.mktemp("sb-olm")))
    try:
        sb.up(flavour="ossm2", timeout=120)
        yield sb
    finally:
        sb.down(purge=True)


@pytest.fixture(scope="module")
def api(sandbox) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(sandbox.kubeconfig))


@pytest.fixture(scope="module")
def co(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


# -- helpers ---------------------------------------------------------------------------------------
def wait_for(api: client.ApiClient, ns: str, plural: str, pred: Callable[[dict[str, dict]], Any],
             what: str, version: str = "v1alpha1", timeout: float = TIMEOUT) -> Any:
    """List, then watch, until pred({name: object}) is truthy; returns its value."""
    co = client.CustomObjectsApi(api)
    kw = {"group": GROUP, "version": version, "namespace": ns, "plural": plural}
    deadline = time.monotonic() + timeout
    while True:
        listing = co.list_namespaced_custom_object(**kw)
        items = {i["metadata"]["name"]: i for i in listing["items"]}
        if result := pred(items):
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {what}; {plural} in {ns}: "
                                 f"{ {n: i.get('status') for n, i in items.items()} }")
        w = watch.Watch()
        for ev in w.stream(co.list_namespaced_custom_object, resource_version=listing["metadata"]["resourceVersion"],
                           timeout_seconds=max(1, int(remaining)), **kw):
            if ev["type"] == "ERROR":
                break
            name = ev["object"]["metadata"]["name"]
            if ev["type"] == "DELETED":
                items.pop(name, None)
            else:
                items[name] = ev["object"]
            if result := pred(items):
                w.stop()
                return result
            if time.monotonic() > deadline:
                break


def never(api: client.ApiClient, ns: str, plural: str, bad: Callable[[dict[str, dict]], Any],
          seconds: int = 3) -> None:
    """bad(items) stays falsy for `seconds` (a watch with a timeout, not a sleep)."""
    co = client.CustomObjectsApi(api)
    kw = {"group": GROUP, "version": "v1alpha1", "namespace": ns, "plural": plural}
    listing = co.list_namespaced_custom_object(**kw)
    items = {i["metadata"]["name"]: i for i in listing["items"]}
    assert not bad(items), items
    for ev in watch.Watch().stream(co.list_namespaced_custom_object,
                                   resource_version=listing["metadata"]["resourceVersion"],
                                   timeout_seconds=seconds, **kw):
        name = ev["object"]["metadata"]["name"]
        if ev["type"] == "DELETED":
            items.pop(name, None)
        else:
            items[name] = ev["object"]
        assert not bad(items), ev["object"]


def namespace(api: client.ApiClient, name: str) -> None:
    try:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    except ApiException as e:
        if e.status != 409:
            raise


def subscribe(co: client.CustomObjectsApi, ns: str, name: str, package: str | None = None, **spec: Any) -> dict:
    body = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "Subscription", "metadata": {"name": name, "namespace": ns},
            "spec": {"channel": "stable", "name": package or name, "source": "redhat-operators",
                     "sourceNamespace": MARKETPLACE, **spec}}
    return co.create_namespaced_custom_object(GROUP, "v1alpha1", ns, "subscriptions", body)


def operatorgroup(co: client.CustomObjectsApi, ns: str, name: str, targets: list[str] | None = None) -> dict:
    spec = {"targetNamespaces": targets} if targets is not None else {}
    return co.create_namespaced_custom_object(GROUP, "v1", ns, "operatorgroups", {
        "apiVersion": f"{GROUP}/v1", "kind": "OperatorGroup", "metadata": {"name": name}, "spec": spec})


def cond(obj: dict | None, typ: str) -> dict:
    return next((c for c in ((obj or {}).get("status") or {}).get("conditions") or [] if c["type"] == typ), {})


def csv_phase(name: str, phase: str) -> Callable[[dict[str, dict]], dict | None]:
    def pred(items: dict[str, dict]) -> dict | None:
        csv = items.get(name)
        return csv if csv and (csv.get("status") or {}).get("phase") == phase else None
    return pred


def sub_where(name: str, pred: Callable[[dict], Any]) -> Callable[[dict[str, dict]], dict | None]:
    return lambda items: items[name] if name in items and pred(items[name]) else None


# -- tests ----------------------------------------------------------------------------------------------
def test_cluster_has_the_default_catalogs_and_global_operator_group(api, co) -> None:
    cats = co.list_namespaced_custom_object(GROUP, "v1alpha1", MARKETPLACE, "catalogsources")["items"]
    by_name = {c["metadata"]["name"]: c for c in cats}
    assert {"redhat-operators", "certified-operators", "community-operators"} <= set(by_name)
    assert by_name["redhat-operators"]["spec"]["displayName"] == "Red Hat Operators"
    assert by_name["redhat-operators"]["status"]["connectionState"]["lastObservedState"] == "READY"
    wait_for(api, OPERATORS, "operatorgroups",
             lambda items: (items.get("global-operators") or {}).get("status", {}).get("namespaces") == [""],
             "global-operators watching all namespaces", version="v1")


def test_subscription_installs_the_service_mesh_operator(api, co) -> None:
    subscribe(co, OPERATORS, "servicemeshoperator", installPlanApproval="Automatic")
    csv = wait_for(api, OPERATORS, "clusterserviceversions", csv_phase("servicemeshoperator.v2.5.2", "Succeeded"),
                   "the Service Mesh CSV to succeed")
    assert csv["spec"]["displayName"] == "Red Hat OpenShift Service Mesh"
    assert csv["status"]["reason"] == "InstallSucceeded"
    assert csv["status"]["conditions"][-1]["phase"] == "Succeeded"
    assert not csv["metadata"].get("ownerReferences")  # like real OLM: the CSV outlives its Subscription
    sub = wait_for(api, OPERATORS, "subscriptions",
                   sub_where("servicemeshoperator", lambda s: s.get("status", {}).get("state") == "AtLatestKnown"),
                   "the Subscription to be AtLatestKnown")
    st = sub["status"]
    assert st["currentCSV"] == st["installedCSV"] == "servicemeshoperator.v2.5.2"
    assert cond(sub, "CatalogSourcesUnhealthy")["status"] == "False"
    assert not cond(sub, "ResolutionFailed")
    assert "operators.coreos.com/servicemeshoperator.openshift-operators" in sub["metadata"]["labels"]
    plan = co.get_namespaced_custom_object(GROUP, "v1alpha1", OPERATORS, "installplans", st["installPlanRef"]["name"])
    assert plan["metadata"]["name"].startswith("install-")
    assert plan["spec"]["approved"] is True and plan["spec"]["approval"] == "Automatic"
    assert plan["spec"]["clusterServiceVersionNames"] == ["servicemeshoperator.v2.5.2"]
    assert plan["status"]["phase"] == "Complete"
    # The operator itself runs, as OLM deploys it.
    dep = client.AppsV1Api(api).read_namespaced_deployment("istio-operator", OPERATORS)
    assert dep.metadata.labels["olm.owner"] == "servicemeshoperator.v2.5.2"
    assert dep.metadata.owner_references[0].kind == "ClusterServiceVersion"


@pytest.mark.parametrize(("package", "csv", "display"), [
    ("kiali-ossm", "kiali-operator.v1.73.4", "Kiali Operator"),
    ("jaeger-product", "jaeger-operator.v1.51.0-1", "Red Hat OpenShift distributed tracing platform"),
    ("elasticsearch-operator", "elasticsearch-operator.v5.8.1", "OpenShift Elasticsearch Operator"),
])
def test_the_other_mesh_operators(api, co, package: str, csv: str, display: str) -> None:
    subscribe(co, OPERATORS, package)
    got = wait_for(api, OPERATORS, "clusterserviceversions", csv_phase(csv, "Succeeded"), f"{csv} to succeed")
    assert got["spec"]["displayName"] == display


def test_unknown_package_fails_resolution(api, co) -> None:
    subscribe(co, OPERATORS, "service-mesh", package="service-mesh")
    sub = wait_for(api, OPERATORS, "subscriptions",
                   sub_where("service-mesh", lambda s: cond(s, "ResolutionFailed")), "ResolutionFailed")
    rf = cond(sub, "ResolutionFailed")
    assert rf["status"] == "True" and rf["reason"] == "ConstraintsNotSatisfiable"
    assert ("no operators found in package service-mesh in the catalog referenced by subscription service-mesh"
            in rf["message"])
    assert rf["message"].startswith("constraints not satisfiable: ")
    assert not sub["status"].get("state") and not sub["status"].get("installedCSV")
    assert cond(sub, "CatalogSourcesUnhealthy")["status"] == "False"
    plans = co.list_namespaced_custom_object(GROUP, "v1alpha1", OPERATORS, "installplans")["items"]
    assert not any(o["uid"] == sub["metadata"]["uid"] for p in plans for o in p["metadata"].get("ownerReferences", []))


def test_wrong_catalog_then_fixed(api, co) -> None:
    ns = "olm-catalog"
    namespace(api, ns)
    operatorgroup(co, ns, "og")
    subscribe(co, ns, "jaeger-product", source="redhat-operator")
    sub = wait_for(api, ns, "subscriptions", sub_where("jaeger-product", lambda s: cond(s, "ResolutionFailed")),
                   "ResolutionFailed")
    assert ("no operators found from catalog redhat-operator in namespace openshift-marketplace "
            "referenced by subscription jaeger-product") in cond(sub, "ResolutionFailed")["message"]
    co.patch_namespaced_custom_object(GROUP, "v1alpha1", ns, "subscriptions", "jaeger-product",
                                      {"spec": {"source": "redhat-operators"}})
    wait_for(api, ns, "clusterserviceversions", csv_phase("jaeger-operator.v1.51.0-1", "Succeeded"),
             "the CSV once the source is right")
    sub = wait_for(api, ns, "subscriptions",
                   sub_where("jaeger-product", lambda s: s.get("status", {}).get("state") == "AtLatestKnown"),
                   "AtLatestKnown")
    assert not cond(sub, "ResolutionFailed")


def test_wrong_channel_and_starting_csv(api, co) -> None:
    ns = "olm-channel"
    namespace(api, ns)
    operatorgroup(co, ns, "og")
    subscribe(co, ns, "kiali-ossm", channel="candidate")
    subscribe(co, ns, "es", package="elasticsearch-operator", startingCSV="elasticsearch-operator.v5.1.0")
    sub = wait_for(api, ns, "subscriptions", sub_where("kiali-ossm", lambda s: cond(s, "ResolutionFailed")), "kiali")
    assert ("no operators found in channel candidate of package kiali-ossm in the catalog referenced by "
            "subscription kiali-ossm") in cond(sub, "ResolutionFailed")["message"]
    sub = wait_for(api, ns, "subscriptions", sub_where("es", lambda s: cond(s, "ResolutionFailed")), "es")
    assert ("no operators found with name elasticsearch-operator.v5.1.0 in channel stable of package "
            "elasticsearch-operator") in cond(sub, "ResolutionFailed")["message"]


def test_manual_approval(api, co) -> None:
    ns = "olm-manual"
    namespace(api, ns)
    operatorgroup(co, ns, "og")
    subscribe(co, ns, "tempo-product", installPlanApproval="Manual")
    sub = wait_for(api, ns, "subscriptions",
                   sub_where("tempo-product", lambda s: s.get("status", {}).get("state") == "UpgradePending"),
                   "UpgradePending")
    assert cond(sub, "InstallPlanPending")["reason"] == "RequiresApproval"
    plan_name = sub["status"]["installPlanRef"]["name"]
    plan = wait_for(api, ns, "installplans",
                    lambda items: items.get(plan_name) if (items.get(plan_name) or {}).get("status", {}).get(
                        "phase") == "RequiresApproval" else None, "RequiresApproval")
    assert plan["spec"]["approved"] is False
    never(api, ns, "clusterserviceversions", lambda items: items, seconds=2)
    co.patch_namespaced_custom_object(GROUP, "v1alpha1", ns, "installplans", plan_name, {"spec": {"approved": True}})
    wait_for(api, ns, "clusterserviceversions", csv_phase("tempo-operator.v0.8.0-2", "Succeeded"), "approved CSV")
    wait_for(api, ns, "subscriptions",
             sub_where("tempo-product", lambda s: s["status"].get("installedCSV") == "tempo-operator.v0.8.0-2"
                       and s["status"].get("state") == "AtLatestKnown"), "installed after approval")


def test_operator_group_problems(api, co) -> None:
    ns = "olm-og"
    namespace(api, ns)
    subscribe(co, ns, "servicemeshoperator")
    csv_name = "servicemeshoperator.v2.5.2"
    csv = wait_for(api, ns, "clusterserviceversions", csv_phase(csv_name, "Failed"), "no OperatorGroup")
    assert (csv["status"]["reason"], csv["status"]["message"]) == (
        "NoOperatorGroup", "csv in namespace with no operatorgroups")
    operatorgroup(co, ns, "own", targets=[ns])
    csv = wait_for(api, ns, "clusterserviceversions",
                   lambda items: items[csv_name] if items[csv_name]["status"]["reason"] == "UnsupportedOperatorGroup"
                   else None, "UnsupportedOperatorGroup")
    assert "InstallModeType not supported" in csv["status"]["message"]
    operatorgroup(co, ns, "second")
    csv = wait_for(api, ns, "clusterserviceversions",
                   lambda items: items[csv_name] if items[csv_name]["status"]["reason"] == "TooManyOperatorGroups"
                   else None, "TooManyOperatorGroups")
    co.delete_namespaced_custom_object(GROUP, "v1", ns, "operatorgroups", "own")
    wait_for(api, ns, "clusterserviceversions", csv_phase(csv_name, "Succeeded"), "fixed OperatorGroup")


def test_deleting_the_subscription_keeps_the_csv(api, co) -> None:
    ns = "olm-delete"
    namespace(api, ns)
    operatorgroup(co, ns, "og")
    subscribe(co, ns, "opentelemetry-product")
    csv_name = "opentelemetry-operator.v0.93.0-3"
    wait_for(api, ns, "clusterserviceversions", csv_phase(csv_name, "Succeeded"), "CSV")
    sub = wait_for(api, ns, "subscriptions", sub_where("opentelemetry-product",
                                                       lambda s: s.get("status", {}).get("installPlanRef")), "plan")
    plan_name = sub["status"]["installPlanRef"]["name"]
    co.delete_namespaced_custom_object(GROUP, "v1alpha1", ns, "subscriptions", "opentelemetry-product")
    wait_for(api, ns, "installplans", lambda items: plan_name not in items or None,
             "the InstallPlan to go with its Subscription (garbage collector)")
    never(api, ns, "clusterserviceversions", lambda items: csv_name not in items, seconds=3)


def test_deleting_the_csv_reinstalls_it(api, co) -> None:
    ns = "olm-reinstall"
    namespace(api, ns)
    operatorgroup(co, ns, "og")
    subscribe(co, ns, "kiali-ossm")
    csv_name = "kiali-operator.v1.73.4"
    first = wait_for(api, ns, "clusterserviceversions", csv_phase(csv_name, "Succeeded"), "CSV")
    co.delete_namespaced_custom_object(GROUP, "v1alpha1", ns, "clusterserviceversions", csv_name)
    again = wait_for(api, ns, "clusterserviceversions",
                     lambda items: items[csv_name] if csv_name in items and items[csv_name]["metadata"]["uid"] !=
                     first["metadata"]["uid"] and items[csv_name].get("status", {}).get("phase") == "Succeeded"
                     else None, "the CSV reinstalled")
    assert again["spec"]["displayName"] == "Kiali Operator"


def test_bad_subscription_is_rejected_by_the_schema(co) -> None:
    with pytest.raises(ApiException) as exc:
        co.create_namespaced_custom_object(GROUP, "v1alpha1", OPERATORS, "subscriptions", {
            "apiVersion": f"{GROUP}/v1alpha1", "kind": "Subscription", "metadata": {"name": "bad"},
            "spec": {"channel": "stable", "name": "servicemeshoperator", "source": "redhat-operators",
                     "sourceNamespace": MARKETPLACE, "installPlanApproval": "Auto"}})
    assert exc.value.status == 422
    assert 'spec.installPlanApproval: Unsupported value: "Auto"' in json.loads(exc.value.body)["message"]
