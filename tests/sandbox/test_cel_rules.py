"""The products' official CRDs (../shared/crds: Istio, Maistra, Sail, OpenShift Route; when that folder exists)
on the sandbox's Kubernetes: every file loads, and their CEL validation rules (`x-kubernetes-validations`,
which a 1.20 API server dropped silently) are enforced by the API server itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from grader.sandbox.control_plane import Sandbox
from grader.sandbox.simulators.bootstrap import wait_established
from tests.conftest import SHARED, _binaries_or_skip

pytestmark = pytest.mark.sandbox
OFFICIAL = SHARED / "crds"
NS = "cel-check"
# Loaded together for the rule tests: no two of these define the same CRD (the Maistra and Istio 1.16
# files define the Istio CRDs again; they are only dry-run below).
INSTALLED = ("istio-master_crd-all.gen.yaml", "sail-operator_*.yaml", "openshift-route-v1_routes.crd.yaml")


def crds_in(pattern: str) -> list[dict]:
    docs = []
    for f in sorted(OFFICIAL.glob(pattern)):
        docs += [d for d in yaml.safe_load_all(f.read_text()) if isinstance(d, dict)
                 and d.get("kind") == "CustomResourceDefinition"]
    return docs


def rules(node: object) -> int:
    if isinstance(node, dict):
        return len(node.get("x-kubernetes-validations") or []) + sum(rules(v) for v in node.values())
    if isinstance(node, list):
        return sum(rules(v) for v in node)
    return 0


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[client.ApiClient]:
    if not OFFICIAL.is_dir():
        pytest.skip(f"{OFFICIAL} not present")
    _binaries_or_skip()
    sb = Sandbox(root=tmp_path_factory.mktemp("cel-sandbox"))
    try:
        sb.up(flavour="kubernetes", timeout=120)  # no project CRDs: the official files define them all
        a = config.new_client_from_config(config_file=str(sb.kubeconfig))
        ext = client.ApiextensionsV1Api(a)
        names = set()
        for pattern in INSTALLED:
            for crd in crds_in(pattern):
                ext.create_custom_resource_definition(crd)
                names.add(crd["metadata"]["name"])
        wait_established(a, names)
        client.CoreV1Api(a).create_namespace({"metadata": {"name": NS}})
        yield a
    finally:
        sb.down(purge=True)


def create(api: client.ApiClient, obj: dict) -> dict:
    group, version = obj["apiVersion"].split("/")
    plural = obj["kind"].lower() + "s"  # IstioCNI, PeerAuthentication, VirtualService
    co = client.CustomObjectsApi(api)
    if "namespace" in obj["metadata"]:
        return co.create_namespaced_custom_object(group, version, obj["metadata"]["namespace"], plural, obj)
    return co.create_cluster_custom_object(group, version, plural, obj)


def rejection(api: client.ApiClient, obj: dict) -> str:
    with pytest.raises(ApiException) as exc:
        create(api, obj)
    assert exc.value.status == 422, exc.value.body
    return exc.value.body


@pytest.mark.parametrize("pattern", ["istio-master_*.yaml", "istio-release-1.16_*.yaml", "maistra-2.5*.yaml",
                                     "sail-operator_*.yaml", "openshift-route-v1_*.yaml"])
def test_every_official_crd_loads(api: client.ApiClient, pattern: str) -> None:
    """Server-side dry run of each CRD (schema and CEL rules compiled by the API server, nothing stored):
    the files that define the same CRDs as each other are checked one by one."""
    crds = crds_in(pattern)
    assert crds, f"no CRD in {OFFICIAL}/{pattern}"
    ext = client.ApiextensionsV1Api(api)
    for crd in crds:
        try:
            ext.create_custom_resource_definition(crd, dry_run="All")
        except ApiException as e:
            # 409: installed above. The API server validates a create before it looks for the name
            # (registry BeforeCreate, then storage), so a conflict means the definition passed.
            assert e.status == 409, f"{pattern}: {crd['metadata']['name']}: {e.body}"


def test_installed_crds_keep_their_rules(api: client.ApiClient) -> None:
    """The API server stores the rules (1.20 dropped the unknown field and so never enforced them)."""
    ext = client.ApiextensionsV1Api(api)
    for name in ("istiocnis.sailoperator.io", "peerauthentications.security.istio.io"):
        served = api.sanitize_for_serialization(ext.read_custom_resource_definition(name))
        assert rules(served["spec"]) > 0, name


def test_sail_istiocni_must_be_named_default(api: client.ApiClient) -> None:
    cni = {"apiVersion": "sailoperator.io/v1", "kind": "IstioCNI", "metadata": {"name": "my-cni"},
           "spec": {"namespace": "istio-cni"}}
    body = rejection(api, cni)
    assert "metadata.name must be 'default'" in body
    created = create(api, {**cni, "metadata": {"name": "default"}})
    assert created["metadata"]["name"] == "default"


def test_istio_peerauthentication_port_level_mtls_needs_a_selector(api: client.ApiClient) -> None:
    pa = {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
          "metadata": {"name": "ports", "namespace": NS},
          "spec": {"mtls": {"mode": "STRICT"}, "portLevelMtls": {"8080": {"mode": "DISABLE"}}}}
    assert "portLevelMtls requires selector" in rejection(api, pa)
    pa["spec"]["selector"] = {"matchLabels": {"app": "web"}}
    assert create(api, pa)["metadata"]["name"] == "ports"


def test_istio_virtualservice_timeout_rule(api: client.ApiClient) -> None:
    """A timeout below 1ms is a CEL rule of the current Istio CRD (the OpenAPI schema only says string)."""
    vs = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
          "metadata": {"name": "web", "namespace": NS},
          "spec": {"hosts": ["web"], "http": [{"route": [{"destination": {"host": "web"}}], "timeout": "0s"}]}}
    assert "must be a valid duration greater than 1ms" in rejection(api, vs)
    vs["spec"]["http"][0]["timeout"] = "5s"
    assert create(api, vs)["metadata"]["name"] == "web"
