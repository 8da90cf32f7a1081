"""The Kubernetes/Istio/OpenShift kinds the grader knows how to read.

Istio resources are read at whatever version the cluster serves: OSSM 2.x serves
networking.istio.io v1alpha3/v1beta1 only, upstream Istio >= 1.22 also v1.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    kind: str
    group: str
    versions: tuple[str, ...]  # preference order when the cluster serves several
    plural: str
    namespaced: bool = True

    def api_version(self, version: str | None = None) -> str:
        v = version or self.versions[0]
        return f"{self.group}/{v}" if self.group else v


# v1beta1 first: every Istio from 1.16 (OSSM 2.x) to master serves it for every networking and
# security kind, while v1 exists only from 1.22 and, within one group, not for every kind
# (Maistra 2.5 serves security.istio.io/v1 AuthorizationPolicy but v1beta1-only PeerAuthentication).
_ISTIO_NET = ("v1beta1", "v1", "v1alpha3")

NAMESPACE = Kind("Namespace", "", ("v1",), "namespaces", namespaced=False)
POD = Kind("Pod", "", ("v1",), "pods")
SERVICE = Kind("Service", "", ("v1",), "services")
CONFIG_MAP = Kind("ConfigMap", "", ("v1",), "configmaps")
DEPLOYMENT = Kind("Deployment", "apps", ("v1",), "deployments")
REPLICA_SET = Kind("ReplicaSet", "apps", ("v1",), "replicasets")
GATEWAY = Kind("Gateway", "networking.istio.io", _ISTIO_NET, "gateways")
VIRTUAL_SERVICE = Kind("VirtualService", "networking.istio.io", _ISTIO_NET, "virtualservices")
DESTINATION_RULE = Kind("DestinationRule", "networking.istio.io", _ISTIO_NET, "destinationrules")
SERVICE_ENTRY = Kind("ServiceEntry", "networking.istio.io", _ISTIO_NET, "serviceentries")
SIDECAR = Kind("Sidecar", "networking.istio.io", _ISTIO_NET, "sidecars")
PEER_AUTHENTICATION = Kind("PeerAuthentication", "security.istio.io", ("v1beta1", "v1"), "peerauthentications")
AUTHORIZATION_POLICY = Kind("AuthorizationPolicy", "security.istio.io", ("v1beta1", "v1"), "authorizationpolicies")
SMCP = Kind("ServiceMeshControlPlane", "maistra.io", ("v2", "v1"), "servicemeshcontrolplanes")
SMMR = Kind("ServiceMeshMemberRoll", "maistra.io", ("v1",), "servicemeshmemberrolls")
SMM = Kind("ServiceMeshMember", "maistra.io", ("v1",), "servicemeshmembers")
ROUTE = Kind("Route", "route.openshift.io", ("v1",), "routes")
SUBSCRIPTION = Kind("Subscription", "operators.coreos.com", ("v1alpha1",), "subscriptions")
CSV = Kind("ClusterServiceVersion", "operators.coreos.com", ("v1alpha1",), "clusterserviceversions")
# OpenShift Service Mesh 3 (the Sail operator): cluster-scoped (istio-ecosystem/sail-operator api/v1).
ISTIO = Kind("Istio", "sailoperator.io", ("v1",), "istios", namespaced=False)
ISTIO_REVISION = Kind("IstioRevision", "sailoperator.io", ("v1",), "istiorevisions", namespaced=False)
ISTIO_CNI = Kind("IstioCNI", "sailoperator.io", ("v1",), "istiocnis", namespaced=False)
ISTIO_REVISION_TAG = Kind("IstioRevisionTag", "sailoperator.io", ("v1",), "istiorevisiontags", namespaced=False)
# Observability on OSSM 3 (labs/observability-3): Istio's Telemetry API (v1 from Istio 1.22), the
# Prometheus Operator's monitors that OpenShift user-workload monitoring reads, and the Kiali operator's Kiali.
TELEMETRY = Kind("Telemetry", "telemetry.istio.io", ("v1", "v1alpha1"), "telemetries")
SERVICE_MONITOR = Kind("ServiceMonitor", "monitoring.coreos.com", ("v1",), "servicemonitors")
POD_MONITOR = Kind("PodMonitor", "monitoring.coreos.com", ("v1",), "podmonitors")
KIALI = Kind("Kiali", "kiali.io", ("v1alpha1",), "kialis")

ALL: tuple[Kind, ...] = (
    NAMESPACE, POD, SERVICE, CONFIG_MAP, DEPLOYMENT, REPLICA_SET, GATEWAY, VIRTUAL_SERVICE,
    DESTINATION_RULE, SERVICE_ENTRY, SIDECAR, PEER_AUTHENTICATION, AUTHORIZATION_POLICY,
    SMCP, SMMR, SMM, ROUTE, SUBSCRIPTION, CSV, ISTIO, ISTIO_REVISION, ISTIO_CNI, ISTIO_REVISION_TAG,
    TELEMETRY, SERVICE_MONITOR, POD_MONITOR, KIALI,
)
BY_NAME: dict[str, Kind] = {k.kind: k for k in ALL}


def by_name(name: str) -> Kind:
    """Look a kind up by its Kind name (``VirtualService``) or plural (``virtualservices``)."""
    if name in BY_NAME:
        return BY_NAME[name]
    for k in ALL:
        if name.lower() in (k.plural, k.kind.lower()):
            return k
    raise KeyError(name)
