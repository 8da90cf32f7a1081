"""OpenShift Service Mesh 3 (the Sail operator) semantics: revisions, which revision injects a
namespace's pods, and which namespaces istiod sees.

- Revisions (istio-ecosystem/sail-operator controllers/istio/istio_controller.go and
  docs/README.adoc "Update Strategy"): an Istio with the InPlace strategy has one revision
  named like the Istio; with RevisionBased the revision is `<name>-<version with dots as
  dashes>`, e.g. `default-v1-30-3`, where a `vX.Y-latest` version means the newest patch the
  operator ships. status.activeRevisionName reports the one the operator chose.
- Injection (istio/istio manifests/charts/istio-control/istio-discovery/templates/
  mutatingwebhook.yaml, as the Sail operator installs it per revision, and Red Hat's OSSM 3
  "Sidecar injection" page): a namespace labelled `istio.io/rev=<revision or tag>` (and not
  `istio-injection`) is injected by that revision; `istio-injection=enabled` and the pod label
  `sidecar.istio.io/inject=true` are honoured only by a revision, or IstioRevisionTag, named
  `default`; when a namespace has both labels `istio-injection` wins. Pods are injected only
  when created.
- Discovery (MeshConfig discoverySelectors, istio/api mesh/v1alpha1/config.proto): istiod
  sees every namespace unless spec.values.meshConfig.discoverySelectors is set; then only
  namespaces matching at least one selector, and the control plane namespace must match
  too (Red Hat OSSM 3 "Scoping the service mesh with discovery selectors").
"""

from __future__ import annotations

from grader.mesh.selectors import label_selector_matches
from grader.objects import as_dict, as_list, label_str, name_of, spec_of, status_of

REV_LABEL = "istio.io/rev"
INJECTION_LABEL = "istio-injection"
# vX.Y-latest as the OSSM 3.4 operator resolves it (the newest patch in its CRD's version enum).
LATEST = {"v1.30-latest": "v1.30.3", "v1.29-latest": "v1.29.6", "v1.28-latest": "v1.28.10"}


def strategy(istio: dict) -> str:
    return label_str(as_dict(spec_of(istio).get("updateStrategy")).get("type")) or "InPlace"


def revision_name(istio: dict) -> str:
    """The active revision: status.activeRevisionName when reported, else what the spec implies."""
    active = label_str(status_of(istio).get("activeRevisionName"))
    if active:
        return active
    name = name_of(istio)
    if strategy(istio) != "RevisionBased":
        return name
    version = label_str(spec_of(istio).get("version")) or "v1.30-latest"
    return f"{name}-{LATEST.get(version, version).replace('.', '-')}"


def injector_names(istios: list[dict], tags: list[dict], revisions: list[dict] = ()) -> dict[str, str]:  # type: ignore[assignment]
    """Every name a namespace or pod can refer to (revisions and tags) -> the revision it means.

    Besides each Istio's active revision, every IstioRevision that still exists injects: the Sail
    operator keeps an old revision (and its webhook) while namespaces or pods use it, e.g. revision
    `default` after an InPlace Istio `default` is switched to RevisionBased, until it is no longer in
    use (sail-operator docs/README.adoc, "RevisionBased" update strategy; IstioRevision's InUse)."""
    names = {revision_name(i): revision_name(i) for i in istios}
    for r in revisions:
        names.setdefault(name_of(r), name_of(r))
    by_istio = {name_of(i): revision_name(i) for i in istios}
    for t in tags:
        target = as_dict(spec_of(t).get("targetRef"))
        kind, ref = label_str(target.get("kind")), label_str(target.get("name"))
        rev = by_istio.get(ref) if kind == "Istio" else (ref if ref in names else None)
        if rev:
            names[name_of(t)] = rev
    return names


def namespace_injection(ns_labels: dict, names: dict[str, str]) -> tuple[str | None, str]:
    """(revision that injects every pod of the namespace, or None; why, in words)."""
    inj = label_str(ns_labels.get(INJECTION_LABEL)) if INJECTION_LABEL in ns_labels else None
    rev = label_str(ns_labels.get(REV_LABEL)) if REV_LABEL in ns_labels else None
    if inj is not None:
        both = f" (it also has label {REV_LABEL}={rev}, which is ignored: {INJECTION_LABEL} wins)" if rev else ""
        if inj != "enabled":
            return None, f"label {INJECTION_LABEL}={inj} turns injection off{both}"
        if "default" in names:
            return names["default"], f"label {INJECTION_LABEL}=enabled, honoured by revision {names['default']}{both}"
        return None, (f"label {INJECTION_LABEL}=enabled, but no revision or IstioRevisionTag is named default "
                      f"(revisions: {', '.join(sorted(set(names.values()))) or 'none'}), so no webhook honours it"
                      f"{both}")
    if rev is not None:
        if rev in names:
            return names[rev], f"label {REV_LABEL}={rev}" + (
                f" (revision {names[rev]})" if names[rev] != rev else "")
        return None, (f"label {REV_LABEL}={rev} names no revision or tag "
                      f"(known: {', '.join(sorted(names)) or 'none'})")
    return None, f"neither label {INJECTION_LABEL}=enabled nor {REV_LABEL}"


def discovery_selectors(istio: dict) -> list | None:
    """spec.values.meshConfig.discoverySelectors, or None when istiod sees every namespace."""
    mesh = as_dict(as_dict(spec_of(istio).get("values")).get("meshConfig"))
    if "discoverySelectors" not in mesh or mesh.get("discoverySelectors") is None:
        return None
    return as_list(mesh.get("discoverySelectors"))


def discovered(istio: dict, ns_labels: dict) -> bool:
    sels = discovery_selectors(istio)
    if sels is None:
        return True
    return any(isinstance(s, dict) and label_selector_matches(s, ns_labels) for s in sels)
