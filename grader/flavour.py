"""The Service Mesh flavour, decided in one place: what the user asked for (--flavour), else
what the cluster serves, else what a set of YAML objects carries.

- ``ossm2``: OpenShift Service Mesh 2.x. Its operator serves the ``maistra.io`` API
  (ServiceMeshControlPlane, -MemberRoll, -Member); member namespaces carry the
  ``maistra.io/member-of`` label and control-plane objects ``maistra-version``
  (https://docs.openshift.com/container-platform/4.14/service_mesh/v2x/ossm-create-mesh.html).
- ``ossm3``: OpenShift Service Mesh 3 (the Sail operator). It serves ``sailoperator.io``
  (Istio, IstioRevision, IstioCNI, IstioRevisionTag; istio-ecosystem/sail-operator api/v1);
  there is no member roll: istiod sees every namespace its discoverySelectors allow.
- ``istio``: upstream Istio, which serves ``networking.istio.io`` without ``maistra.io``.

A cluster that serves both ``maistra.io`` and ``sailoperator.io`` is migrating from OSSM 2.6 to
OSSM 3: Red Hat runs the two operators side by side only for that ("Migrating from Service Mesh 2
to Service Mesh 3", https://docs.redhat.com/en/documentation/red_hat_openshift_service_mesh/3.0/
html-single/migrating_from_service_mesh_2_to_service_mesh_3/index), whose end state is OSSM 3, so
it is ``ossm3`` (``--flavour ossm2`` still picks the 2.x labs there).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from grader.cluster import ClusterError

if TYPE_CHECKING:
    from grader.cluster import Cluster

FLAVOURS = ("ossm2", "ossm3", "istio")
# API groups only OpenShift serves: a cluster (or a dump of one) that has them is OpenShift.
OPENSHIFT_GROUPS = frozenset({"route.openshift.io", "maistra.io", "operators.coreos.com"})
SAIL_GROUP = "sailoperator.io"


class NoMesh(ClusterError):
    """The cluster serves neither maistra.io nor networking.istio.io."""

    def __init__(self) -> None:
        super().__init__("Service Mesh is not installed on this cluster (no maistra.io, sailoperator.io or "
                         "networking.istio.io "
                         "API); install it or use 'lab sandbox up'")


def of_cluster(requested: str | None, cluster: Cluster) -> tuple[str, bool]:
    """(flavour, openshift) for a live cluster from its served API groups; `requested` wins
    when given. Raises NoMesh when no mesh API is served at all.

    Discovery may come from the cache (grader.cluster.DiscoveryCache), which is trusted for
    what it holds: maistra.io in it (without sailoperator.io) means ossm2. An answer that rests on something the cache
    lacks (no maistra.io: istio, or no mesh at all) is checked with the server first."""
    decided = _from_groups(requested, set(cluster.groups()))
    if decided[0] != "ossm2" and not requested and cluster.refresh_discovery():
        decided = _from_groups(requested, set(cluster.groups()))
    if decided[0] is None:
        raise NoMesh()
    return decided  # type: ignore[return-value]


def ruled_out_groups(detected: str) -> frozenset[str]:
    """API groups a cluster detected as this flavour cannot serve, by the rules of `_from_groups`
    (sailoperator.io makes a cluster ossm3; maistra.io without it ossm2): their kinds are missing
    without a request, and asking for them must not send a cached discovery back to the server
    on every grade (a check that reads the Sail kinds only on ossm3 would do so on ossm2)."""
    return {"ossm2": frozenset({SAIL_GROUP}), "istio": frozenset({SAIL_GROUP, "maistra.io"})}.get(detected, frozenset())


def _from_groups(requested: str | None, served: set[str]) -> tuple[str | None, bool]:
    openshift = "route.openshift.io" in served
    if requested:
        return requested, openshift
    if SAIL_GROUP in served:  # with maistra.io too: a migration from 2.6 to 3 (see above)
        return "ossm3", openshift
    if "maistra.io" in served:
        return "ossm2", openshift
    if "networking.istio.io" in served:
        return "istio", openshift
    return None, openshift


def of_objects(requested: str | None, objects: Iterable[dict]) -> tuple[str, bool]:
    """(flavour, openshift) for YAML objects (grade -f): sailoperator.io objects mean ossm3 (with
    Maistra's too: a migration); else Maistra's objects, or its labels, ossm2; anything else is istio. `requested` wins when given."""
    groups: set[str] = set()
    maistra_labels = False
    for o in objects:
        groups.add(str(o.get("apiVersion", "")).split("/")[0])
        labels = (o.get("metadata") or {}).get("labels") if isinstance(o.get("metadata"), dict) else None
        if isinstance(labels, dict) and any(
                isinstance(k, str) and (k.startswith("maistra.io/") or k == "maistra-version") for k in labels):
            maistra_labels = True
    openshift = bool(groups & OPENSHIFT_GROUPS)
    if requested:
        return requested, openshift
    if SAIL_GROUP in groups:  # with Maistra's objects too: a migration from 2.6 to 3 (see above)
        return "ossm3", openshift
    if "maistra.io" in groups or maistra_labels:
        return "ossm2", openshift
    return "istio", openshift
