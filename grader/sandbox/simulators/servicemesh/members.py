"""The member controllers of the Maistra operator stand-in (OSSM 2.5, maistra/istio-operator
maistra-2.5 pkg/controller/servicemesh/memberroll and member):

- ServiceMeshMemberRoll (maistra.io/v1, named `default`): creates a ServiceMeshMember in
  each member namespace (listed, "*", or chosen by spec.memberSelectors), deletes the ones it
  created when they leave, and reports members/configured/pending/terminating like
  memberroll/controller.go.
- ServiceMeshMember (maistra.io/v1, named `default`): labels its namespace
  maistra.io/member-of=<cp ns> (and keeps it there), adds the mesh RoleBinding, creates the
  SMMR if none exists; deleting it takes the label away again.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from kubernetes import client
from kubernetes.client.rest import ApiException

from grader.sandbox.simulators import rest
from grader.sandbox.simulators.common import condition, dig, log
from grader.sandbox.simulators.servicemesh.control_plane import reconciled_version
from grader.sandbox.simulators.servicemesh.manifests import (
    CREATED_BY,
    MEMBER_OF,
    OPERATOR_VERSION,
    SMCPS,
    SMM_CONTROLLER,
    SMMR_CONTROLLER,
    SMMRS,
    SMMS,
    V1,
    V2,
    applied_spec,
)


def excluded(name: str, cp_ns: str) -> bool:
    """Namespaces a member roll never takes in (memberroll controller: the control plane's own
    and the cluster's kube-*, openshift-*, ibm-* ones)."""
    return name in (cp_ns, "kube", "openshift") or name.startswith(("kube-", "openshift-", "ibm-"))


def selector_matches(sel: dict, labels: dict) -> bool:
    """A metav1.LabelSelector (matchLabels and matchExpressions) against a namespace's labels."""
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        key, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and key in labels and labels[key] in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def is_member(smmr: dict, ns: dict) -> bool:
    """Whether the roll takes namespace `ns` in: listed by name, "*", or selected by spec.memberSelectors."""
    name = ns["metadata"]["name"]
    cp_ns = smmr["metadata"]["namespace"]
    if excluded(name, cp_ns):
        return False
    members = dig(smmr, "spec", "members", default=[]) or []
    if "*" in members or name in members:
        return True
    labels = ns["metadata"].get("labels") or {}
    selectors = dig(smmr, "spec", "memberSelectors", default=[]) or []
    return any(sel and selector_matches(sel, labels) for sel in selectors)


class Members:
    """Reconciles member rolls, members and the namespaces they label."""

    def __init__(self, api: client.ApiClient, status: rest.StatusWriter, enqueue: Callable[..., None]) -> None:
        self.api = api
        self.status = status
        self.enqueue = enqueue

    # -- SMMR -------------------------------------------------------------------------------------
    def reconcile_smmr(self, cp_ns: str, name: str) -> None:
        path = rest.path(V1, SMMRS, cp_ns, name)
        smmr = rest.get(self.api, path)
        if smmr is None or smmr["metadata"].get("deletionTimestamp"):
            if smmr is None and name == "default":
                self._cleanup_created_members(cp_ns, required=set(), mesh=None)
            return
        old = smmr.get("status") or {}
        new = copy.deepcopy(old)
        prev = old.get("conditions")

        def ready(ok: bool, reason: str, message: str) -> None:
            new["conditions"] = [condition("Ready", ok, reason, message, prev)]

        def finish() -> None:
            new["observedGeneration"] = smmr["metadata"].get("generation")
            new.setdefault("annotations", {})
            new["annotations"] = {**(new.get("annotations") or {}),
                                  "configuredMemberCount": f"{len(new.get('configuredMembers') or [])}/"
                                                           f"{len(new.get('members') or [])}"}
            self.status(path, old, new)

        if name != "default":
            ready(False, "ErrInvalidName", 'the ServiceMeshMemberRoll name is invalid; must be "default"')
            return finish()
        smcps = [s for s in rest.list_items(self.api, rest.path(V2, SMCPS, cp_ns))
                 if not s["metadata"].get("deletionTimestamp")]
        if len(smcps) > 1:
            ready(False, "ErrMultipleSMCPs", "Multiple ServiceMeshControlPlane resources exist in the namespace")
            return finish()
        mesh = smcps[0] if smcps else None

        namespaces = {n["metadata"]["name"]: n for n in rest.list_items(self.api, "/api/v1/namespaces")}
        required = {m for m in (dig(smmr, "spec", "members", default=[]) or []) if m != "*"}
        required |= {n for n, obj in namespaces.items() if is_member(smmr, obj)}
        required.discard(cp_ns)

        member_status: dict[str, dict] = {s["namespace"]: s for s in new.get("memberStatuses") or []
                                          if isinstance(s, dict) and s.get("namespace")}

        def set_member_condition(ns: str, cond: dict | None) -> None:
            st = member_status.setdefault(ns, {"namespace": ns, "conditions": []})
            conds = [c for c in st.get("conditions") or [] if c.get("type") != (cond or {}).get("type")]
            if cond:
                prior = [c for c in st.get("conditions") or [] if c.get("type") == cond.get("type")]
                c = condition(cond["type"], cond.get("status", "Unknown"), cond.get("reason", ""),
                               cond.get("message", ""), prior)
                conds.append(c)
            st["conditions"] = conds

        if mesh is not None:
            mesh_name = mesh["metadata"]["name"]
            for ns in sorted(required):
                nsobj = namespaces.get(ns)
                member = rest.get(self.api, rest.path(V1, SMMS, ns, "default")) if nsobj else None
                if member is None and nsobj is not None and not nsobj["metadata"].get("deletionTimestamp"):
                    member = self._create_member(ns, mesh_name, cp_ns)
                if member is None:
                    set_member_condition(ns, {"type": "Reconciled", "status": "False",
                                              "reason": "NamespaceNotExists",
                                              "message": f"Namespace {ns} does not exist"})
                    continue
                ref = dig(member, "spec", "controlPlaneRef", default={}) or {}
                if ref.get("name") != mesh_name or ref.get("namespace") != cp_ns:
                    set_member_condition(ns, {
                        "type": "Reconciled", "status": "False", "reason": "ReferencesDifferentControlPlane",
                        "message": f"ServiceMeshMember {ns}/default exists, but references ServiceMeshControlPlane "
                                   f"{ref.get('namespace')}/{ref.get('name')}"})

        members = self._cleanup_created_members(cp_ns, required, mesh)
        all_known = (required | {m["metadata"]["namespace"] for m in members}) - {cp_ns}
        configured, up_to_date, terminating = set(), set(), set()
        mesh_version = reconciled_version(mesh) if mesh else ""
        for m in members:
            mns = m["metadata"]["namespace"]
            if m["metadata"].get("deletionTimestamp"):
                terminating.add(mns)
            elif mesh is not None:
                ref = dig(m, "spec", "controlPlaneRef", default={}) or {}
                rec = next((c for c in dig(m, "status", "conditions", default=[]) or []
                            if c.get("type") == "Reconciled"), None)
                if ref.get("name") == mesh["metadata"]["name"] and ref.get("namespace") == cp_ns and \
                        rec is not None and rec.get("status") == "True":
                    configured.add(mns)
                    if dig(m, "status", "meshReconciledVersion", default="") == mesh_version:
                        up_to_date.add(mns)
            rec = next((c for c in dig(m, "status", "conditions", default=[]) or []
                        if c.get("type") == "Reconciled"), None)
            if rec:
                set_member_condition(mns, rec)

        new["members"] = sorted(all_known)
        new["terminatingMembers"] = sorted(terminating)
        if mesh is None:
            new["pendingMembers"] = sorted(all_known - terminating)
            new["configuredMembers"] = []
            new["meshGeneration"] = 0
            new.pop("meshReconciledVersion", None)
        else:
            new["pendingMembers"] = sorted(all_known - up_to_date - terminating)
            new["configuredMembers"] = sorted(configured)
            new["meshGeneration"] = dig(mesh, "status", "observedGeneration", default=0) or 0
            new["meshReconciledVersion"] = mesh_version
            if dig(applied_spec(mesh), "addons", "kiali", "enabled"):
                new.setdefault("annotations", {})
                new["annotations"] = {**(new.get("annotations") or {}),
                                      "kialiName": dig(mesh, "spec", "addons", "kiali", "name") or "kiali"}
        new["memberStatuses"] = [member_status.get(ns, {"namespace": ns, "conditions": []})
                                 for ns in sorted(all_known)]
        mesh_reconciled = mesh is not None and any(
            c.get("type") == "Reconciled" and c.get("status") == "True"
            for c in dig(mesh, "status", "conditions", default=[]) or [])
        if mesh is None:
            ready(False, "ErrSMCPMissing", "No ServiceMeshControlPlane exists in the namespace")
        elif not mesh_reconciled:
            ready(False, "SMCPReconciling", "The ServiceMeshControlPlane is being reconciled")
        elif new["pendingMembers"]:
            ready(False, "ReconcileError",
                  f"The following namespaces are not yet configured: [{' '.join(new['pendingMembers'])}]")
        else:
            ready(True, "Configured", "All namespaces have been configured successfully")
        finish()

    def _cleanup_created_members(self, cp_ns: str, required: set[str], mesh: dict | None) -> list[dict]:
        """All SMMs pointing at cp_ns; deletes the ones the SMMR created that are no longer wanted."""
        members = [m for m in rest.list_items(self.api, rest.path(V1, SMMS))
                   if dig(m, "spec", "controlPlaneRef", "namespace") == cp_ns]
        keep = []
        for m in members:
            md = m["metadata"]
            created = (md.get("annotations") or {}).get(CREATED_BY) == SMMR_CONTROLLER
            if not md.get("deletionTimestamp") and created and (mesh is None or md["namespace"] not in required):
                log.info("servicemesh: deleting ServiceMeshMember %s/%s (no longer in the member roll)",
                         md["namespace"], md["name"])
                rest.delete(self.api, rest.path(V1, SMMS, md["namespace"], md["name"]))
                continue
            keep.append(m)
        return keep

    def _create_member(self, ns: str, mesh_name: str, cp_ns: str) -> dict | None:
        body = {"apiVersion": "maistra.io/v1", "kind": "ServiceMeshMember",
                "metadata": {"name": "default", "namespace": ns, "annotations": {CREATED_BY: SMMR_CONTROLLER}},
                "spec": {"controlPlaneRef": {"name": mesh_name, "namespace": cp_ns}}}
        try:
            return rest.create(self.api, body)
        except ApiException as e:
            if e.status == 409:
                return rest.get(self.api, rest.path(V1, SMMS, ns, "default"))
            if e.status in (403, 404):  # namespace missing or terminating
                return None
            raise

    # -- SMM ----------------------------------------------------------------------------------------
    def reconcile_smm(self, ns: str, name: str) -> None:
        path = rest.path(V1, SMMS, ns, name)
        smm = rest.get(self.api, path)
        if smm is None or smm["metadata"].get("deletionTimestamp"):
            return
        old = smm.get("status") or {}
        prev = old.get("conditions")
        ref = dig(smm, "spec", "controlPlaneRef", default={}) or {}
        cp_ns, cp_name = ref.get("namespace", ""), ref.get("name", "")

        def report(ok: bool, reason: str = "", message: str = "", extra: dict | None = None) -> None:
            new = dict(old)
            new.update(extra or {})
            new["observedGeneration"] = smm["metadata"].get("generation")
            new["conditions"] = [condition("Reconciled", ok, reason, message, prev),
                                 condition("Ready", ok, reason, message, prev)]
            if cp_ns and cp_name:
                new["annotations"] = {**(old.get("annotations") or {}), "controlPlaneRef": f"{cp_ns}/{cp_name}"}
            self.status(path, old, new)

        if name != "default":
            return report(False, "InvalidName", 'the ServiceMeshMember name is invalid; must be "default"')
        if ns == cp_ns:
            return
        smcp = rest.get(self.api, rest.path(V2, SMCPS, cp_ns, cp_name)) if cp_ns and cp_name \
            else None
        if smcp is None:
            return report(False, "ErrorControlPlaneMissing",
                          "the referenced ServiceMeshControlPlane object does not exist")
        # the member roll is created when missing, as the real member controller does
        if rest.get(self.api, rest.path(V1, SMMRS, cp_ns, "default")) is None:
            body = {"apiVersion": "maistra.io/v1", "kind": "ServiceMeshMemberRoll",
                    "metadata": {"name": "default", "namespace": cp_ns, "annotations": {CREATED_BY: SMM_CONTROLLER}},
                    "spec": {}}
            try:
                rest.create(self.api, body)
                log.info("servicemesh: created ServiceMeshMemberRoll %s/default for member %s", cp_ns, ns)
            except ApiException as e:
                if e.status == 404:
                    return report(False, "CreateMemberRollFailed",
                                  f"namespaces \"{cp_ns}\" not found")
                if e.status != 409:
                    raise
        nsobj = rest.get(self.api, f"/api/v1/namespaces/{ns}")
        if nsobj is None or nsobj["metadata"].get("deletionTimestamp"):
            return
        member_of = (nsobj["metadata"].get("labels") or {}).get(MEMBER_OF)
        if member_of and member_of != cp_ns:
            return report(False, "ErrorConfiguringNamespace",
                          f"cannot reconcile namespace {ns} in mesh {cp_ns}, as it is already a member of {member_of}")
        self._ensure_rolebinding(ns, cp_ns, cp_name)
        if member_of != cp_ns:
            rest.merge_labels(self.api, rest.path("v1", "namespaces", name=ns), {MEMBER_OF: cp_ns})
            log.info("servicemesh: namespace %s labelled %s=%s", ns, MEMBER_OF, cp_ns)
        report(True, extra={"meshGeneration": dig(smcp, "status", "observedGeneration", default=0) or 0,
                            "meshReconciledVersion": reconciled_version(smcp)})

    def _ensure_rolebinding(self, ns: str, cp_ns: str, cp_name: str) -> None:
        rb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
              "metadata": {"name": f"istiod-internal-{cp_name}", "namespace": ns,
                           "labels": {MEMBER_OF: cp_ns, "app": "istiod", "maistra-version": OPERATOR_VERSION}},
              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                          "name": f"istiod-internal-{cp_name}-{cp_ns}"},
              "subjects": [{"kind": "ServiceAccount", "name": f"istiod-{cp_name}", "namespace": cp_ns}]}
        if rest.get(self.api, rest.object_path(rb)) is None:
            try:
                rest.apply_objects(self.api, [rb])
            except ApiException as e:
                if e.status not in (403, 404, 409):  # namespace terminating or gone
                    raise

    def member_removed(self, ns: str, cp_ns: str) -> None:
        """An SMM went away: the namespace leaves the mesh (unless a new SMM already exists)."""
        if rest.get(self.api, rest.path(V1, SMMS, ns, "default")) is not None:
            self.enqueue("smm", ns, "default")
            return
        nsobj = rest.get(self.api, f"/api/v1/namespaces/{ns}")
        if nsobj is None or nsobj["metadata"].get("deletionTimestamp"):
            return
        labels = nsobj["metadata"].get("labels") or {}
        if labels.get(MEMBER_OF) and (not cp_ns or labels[MEMBER_OF] == cp_ns):
            rest.merge_labels(self.api, rest.path("v1", "namespaces", name=ns), {MEMBER_OF: None})
            log.info("servicemesh: namespace %s left mesh %s", ns, cp_ns)
        for rb in rest.list_items(self.api, f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
                        label_selector=f"{MEMBER_OF}={cp_ns}" if cp_ns else MEMBER_OF):
            rest.delete(self.api, f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings/"
                              f"{rb['metadata']['name']}")

    # -- namespaces ------------------------------------------------------------------------------
    def reconcile_namespace(self, ns: str) -> None:
        """A namespace came, changed or went: its SMM re-labels it; member rolls re-count."""
        for smm in rest.list_items(self.api, rest.path(V1, SMMS, ns)):
            self.enqueue("smm", ns, smm["metadata"]["name"])
        for smmr in rest.list_items(self.api, rest.path(V1, SMMRS)):
            self.enqueue("smmr", smmr["metadata"]["namespace"], smmr["metadata"]["name"])
