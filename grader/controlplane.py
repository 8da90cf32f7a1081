"""The cluster's own control plane (OpenShift Service Mesh 2.x), where the labs name the guide's.

The labs are written for the guide's control plane: ServiceMeshControlPlane `basic` in
`istio-system` (their ServiceMeshMember's controlPlaneRef, their waits, the member roll and the
ingress gateway in that namespace). A real cluster may run its control plane under another
name, in another namespace: then a lab runs against that one, its `basic` and `istio-system`
renamed (as whole DNS labels, the way grader.student renames a student's namespaces) in steps,
manifests, check parameters and task text. On OSSM 2.x the ingress gateway, the member roll
and the mesh's root namespace all live in the control plane's namespace ("Creating the
ServiceMeshControlPlane", docs.openshift.com/container-platform/4.14/service_mesh/v2x/
ossm-create-smcp.html), so renaming the namespace everywhere follows the product.

Labs that own istio-system (control-plane, review) are about creating the guide's control
plane itself and are never renamed. A cluster without a control plane gets the guide's (the
labs' shared steps create `basic`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader import kinds as K
from grader import student as S
from grader.labs import Lab, Step
from grader.objects import as_list, metadata_of, spec_of, status_of

if TYPE_CHECKING:
    from grader.cluster import Cluster
    from grader.snapshot import Snapshot


@dataclass(frozen=True)
class ControlPlane:
    name: str
    namespace: str
    version: str = ""  # spec.version (v2.5), else the operator's status.chartVersion

    def describe(self) -> str:
        return f"{self.name} in {self.namespace}" + (f" ({self.version})" if self.version else "")


GUIDE = ControlPlane("basic", "istio-system")


def _ready(smcp: dict) -> bool:
    return any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
               for c in as_list(status_of(smcp).get("conditions")))


def of_objects(smcps: list[dict]) -> ControlPlane | None:
    """The control plane the labs use among a cluster's ServiceMeshControlPlanes: the guide's
    when it is there, else the Ready one first in namespace/name order, else the first; None
    when there is none (the labs then create the guide's)."""
    found = []
    for o in smcps:
        md = metadata_of(o)
        if isinstance(md.get("name"), str) and isinstance(md.get("namespace"), str) and not md.get("deletionTimestamp"):
            found.append(o)
    if not found:
        return None
    found.sort(key=lambda o: (not _ready(o), metadata_of(o)["namespace"], metadata_of(o)["name"]))
    guide = [o for o in found if (metadata_of(o)["name"], metadata_of(o)["namespace"]) == (GUIDE.name, GUIDE.namespace)]
    smcp = (guide or found)[0]
    version = spec_of(smcp).get("version") or status_of(smcp).get("chartVersion") or ""
    return ControlPlane(metadata_of(smcp)["name"], metadata_of(smcp)["namespace"], str(version))


def find(cluster: Cluster, flavour: str) -> ControlPlane | None:
    """The cluster's control plane (one LIST of ServiceMeshControlPlanes), on ossm2 only."""
    from grader.cluster import ClusterError
    if flavour != "ossm2":
        return None
    try:
        return of_objects(cluster.list(K.SMCP))
    except ClusterError:  # e.g. Forbidden: a class's student may not list them cluster-wide
        return None


def of_snapshot(snap: Snapshot) -> ControlPlane | None:
    """The control plane among the snapshot's ServiceMeshControlPlanes (ossm2, when they were read)."""
    if snap.flavour != "ossm2" or K.SMCP.kind not in snap.read_kinds:
        return None
    return of_objects(snap.list(K.SMCP))


def renames_for(cp: ControlPlane | None) -> dict[str, str]:
    if cp is None:
        return {}
    pairs = {GUIDE.name: cp.name, GUIDE.namespace: cp.namespace}
    return {old: new for old, new in pairs.items() if old != new}


def steps_for(steps: tuple[Step, ...], cp: ControlPlane | None) -> tuple[Step, ...]:
    """Steps run apart from their lab (a class's or an exam's shared setup) on the control plane."""
    renames = renames_for(cp)
    return tuple(S.rename_step(s, renames) for s in steps) if renames else steps


def for_control_plane(lab: Lab, cp: ControlPlane | None) -> Lab:
    """The lab on the cluster's control plane: `basic` and `istio-system` renamed in its steps,
    check parameters and texts (its manifests when they are applied: Lab.renames)."""
    renames = renames_for(cp)
    if not renames or GUIDE.namespace in lab.owns or any(r in lab.renames for r in renames):
        return lab
    return dataclasses.replace(
        lab, title=S.rename(lab.title, renames),
        setup=steps_for(lab.setup, cp), cleanup=steps_for(lab.cleanup, cp), solution=steps_for(lab.solution, cp),
        checks=tuple(dataclasses.replace(c, params=S.rename(c.params, renames), description=S.rename(c.description, renames),
                                         hint=S.rename(c.hint, renames)) for c in lab.checks),
        renames={**lab.renames, **renames})
