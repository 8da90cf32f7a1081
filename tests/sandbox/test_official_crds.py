"""With the products' official CRDs (Maistra 2.5, as OSSM 2.5 ships them, and the Sail operator's; from ../shared/crds
when that folder exists): every manifest the project ships is accepted, and the canary lab
runs its whole lifecycle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader.cluster import Cluster, Target
from grader.labs import data_root
from grader.manifests import default_protocols
from grader.manifests import read as manifests
from grader.sandbox.control_plane import Sandbox
from grader.sandbox.simulators.bootstrap import CRD_DIR
from tests.conftest import SHARED, _binaries_or_skip
from tests.integration.helpers import assert_exit_code, failing, run

pytestmark = pytest.mark.sandbox
OFFICIAL = SHARED / "crds"


def shipped_manifests() -> list[tuple[str, dict]]:
    root = data_root()
    out = []
    for top in ("labs", "solutions"):
        for f in sorted((root / top).rglob("*.y*ml")):
            if f.name in ("lab.yaml", "solution.yaml"):
                continue
            for doc in manifests(f):
                if "apiVersion" in doc and "kind" in doc:
                    out.append((f"{f.relative_to(root)}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return out


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    if not OFFICIAL.is_dir():
        pytest.skip(f"{OFFICIAL} not present")
    _binaries_or_skip()
    crds = tmp_path_factory.mktemp("official-crds")
    # The Maistra 2.5 files are what OSSM 2.5 installs; the Route and Istio-master files do not
    # load on Kubernetes 1.20 (the sandbox keeps its own Route CRD).
    for f in OFFICIAL.glob("maistra-2.5*.yaml"):
        shutil.copy(f, crds / f.name)
    # The Sail operator's (OSSM 3) files, for the ossm3 labs' Istio and IstioCNI manifests.
    for f in OFFICIAL.glob("sail-operator_*.yaml"):
        shutil.copy(f, crds / f.name)
    # No official files for what OSSM 3's observability step is wired with (Telemetry, the
    # monitoring.coreos.com monitors, Kiali): the project's own, as the ossm3 sandbox serves them.
    shutil.copy(CRD_DIR / "observability.yaml", crds / "project-observability.yaml")
    sb = Sandbox(root=tmp_path_factory.mktemp("official-sandbox"))
    sb.up(flavour="ossm2", crds=crds, timeout=120)
    yield sb
    sb.down(purge=True)


def test_every_shipped_manifest_is_accepted(official):
    cluster = Cluster(Target(str(official.kubeconfig), None))
    docs = shipped_manifests()
    assert len(docs) > 10
    for _, doc in docs:
        if doc["kind"] == "Namespace":
            cluster.apply(doc)
    rejected = []
    for name, doc in docs:
        doc = dict(doc)
        default_protocols(doc)
        try:
            cluster.apply(doc, dry_run=True)
        except Exception as e:  # noqa: BLE001 - collect every rejection, then fail once
            rejected.append(f"{name}: {e}")
    assert not rejected, "\n".join(rejected)


def test_official_crds_reject_what_a_real_cluster_rejects(official):
    cluster = Cluster(Target(str(official.kubeconfig), None))
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "crd-check"}})
    bad_weight = {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
                  "metadata": {"name": "bad", "namespace": "crd-check"},
                  "spec": {"hosts": ["web"], "http": [{"route": [{"destination": {"host": "web"}, "weight": "80"}]}]}}
    with pytest.raises(Exception, match="weight"):
        cluster.apply(bad_weight)
    bad_mode = {"apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthentication",
                "metadata": {"name": "default", "namespace": "crd-check"}, "spec": {"mtls": {"mode": "STRICTT"}}}
    with pytest.raises(Exception, match="STRICTT|mode"):
        cluster.apply(bad_mode)
    assert official.healthy()


def test_canary_lifecycle_with_official_crds(official):
    """This sandbox runs OSSM 2.x and also serves the Sail API (its CRDs are loaded to validate
    the ossm3 labs' manifests): a cluster serving both is detected as ossm3 (a migration,
    grader/flavour.py), so the 2.x canary is asked for with --flavour ossm2, as a user would."""
    kubeconfig = str(official.kubeconfig)
    flavour = ("--flavour", "ossm2")
    code, _, err = run(kubeconfig, "start", "canary", *flavour)
    assert code == 0, err
    code, out, err = run(kubeconfig, "grade", "canary", "-o", "json", *flavour)
    report = json.loads(out)
    assert_exit_code(code, report)
    assert failing(report) == {"v2-deployed-with-sidecar", "destinationrule-subsets", "traffic-split-80-20",
                               "split-observed"}
    code, _, err = run(kubeconfig, "solve", "canary", *flavour)
    assert code == 0, err
    code, out, err = run(kubeconfig, "grade", "canary", "-o", "json", *flavour)
    report = json.loads(out)
    assert_exit_code(code, report)
    assert report["score"] == report["total"] == 125, report
    assert run(kubeconfig, "finish", "canary", *flavour)[0] == 0
    assert Path(official.kubeconfig).exists()
