"""OpenShift Service Mesh 2.x membership: which namespaces a control plane manages.

maistra/istio-operator (maistra-2.5) memberroll and member controllers: a namespace is
a member through a ServiceMeshMember ``default`` in it or the ServiceMeshMemberRoll
``default`` of the control plane (``spec.members``, ``"*"``, ``spec.memberSelectors``);
the operator then labels it ``maistra.io/member-of=<control plane namespace>``, the label
the sidecar injection webhook selects on. The control plane namespace itself and the
``kube-*``, ``openshift-*`` and ``ibm-*`` namespaces are never members.
"""

from __future__ import annotations

from grader.mesh.selectors import label_selector_matches
from grader.objects import as_list, spec_of

MEMBER_OF_LABEL = "maistra.io/member-of"
IGNORE_NAMESPACE_LABEL = "maistra.io/ignore-namespace"
EXCLUDED_PREFIXES = ("kube-", "openshift-", "ibm-")


def never_member(namespace: str, control_plane: str) -> bool:
    """True for a namespace the operator never makes a member."""
    return namespace == control_plane or namespace in ("kube", "openshift") or namespace.startswith(EXCLUDED_PREFIXES)


def smmr_lists(smmr: dict, namespace: str, ns_labels: dict) -> str | None:
    """How a ServiceMeshMemberRoll includes the namespace (servicemeshmemberroll_types.go), or None."""
    spec = spec_of(smmr)
    members = [m for m in as_list(spec.get("members")) if isinstance(m, str)]
    if namespace in members:
        return "spec.members"
    if "*" in members:
        return 'spec.members ["*"]'
    for i, sel in enumerate(as_list(spec.get("memberSelectors"))):
        if isinstance(sel, dict) and sel and label_selector_matches(sel, ns_labels):
            return f"spec.memberSelectors[{i}]"
    return None
