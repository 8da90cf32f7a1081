"""PeerAuthentication: the mTLS mode Istio applies to a namespace or workload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader import kinds as K
from grader.mesh.selectors import map_selector_matches
from grader.objects import (
    as_dict,
    creation_key,
    name_of,
    namespace_of,
    spec_of,
)
from grader.snapshot import Snapshot

MTLS_MODES = ("UNSET", "DISABLE", "PERMISSIVE", "STRICT")


@dataclass(frozen=True)
class MtlsDecision:
    """The effective PeerAuthentication mode and the policy that decided it."""

    mode: str
    decided_by: dict | None = None  # the PeerAuthentication, None = built-in default
    level: str = "default"  # workload | namespace | mesh | default
    notes: tuple[str, ...] = ()
    invalid: tuple[tuple[dict, Any], ...] = ()  # (policy, mode as written) with an unknown mode


def pa_mode(pa: dict) -> Any:
    mtls = spec_of(pa).get("mtls")
    if mtls is None:
        return "UNSET"
    if not isinstance(mtls, dict):
        return mtls
    mode = mtls.get("mode")
    return "UNSET" if mode is None else mode


def pa_selector_labels(pa: dict) -> dict | None:
    """Non-empty matchLabels of a PeerAuthentication's selector, else None (namespace/mesh-wide)."""
    sel = spec_of(pa).get("selector")
    labels = as_dict(as_dict(sel).get("matchLabels"))
    return labels or None


def effective_mtls(snap: Snapshot, namespace: str, workload_labels: dict | None = None) -> MtlsDecision:
    """Effective PeerAuthentication mTLS mode for a namespace (or a workload in it).

    pilot/pkg/security/authn/policy_applier.go ComposePeerAuthentication: the oldest
    policy of each level counts; mesh (root namespace, no selector) < namespace (no
    selector) < workload (selector, not in the root namespace); UNSET inherits; the
    default is PERMISSIVE.
    """
    root = snap.control_plane_namespace
    mesh_cfg = ns_cfg = wl_cfg = None
    candidates = snap.list(K.PEER_AUTHENTICATION, root) + (
        snap.list(K.PEER_AUTHENTICATION, namespace) if namespace != root else []
    )
    for pa in sorted(candidates, key=creation_key):
        sel = pa_selector_labels(pa)
        pa_ns = namespace_of(pa)
        if sel is None:
            if pa_ns == root:
                mesh_cfg = mesh_cfg or pa
            if pa_ns == namespace and namespace != root:
                ns_cfg = ns_cfg or pa
        elif pa_ns != root and workload_labels is not None and map_selector_matches(sel, workload_labels):
            wl_cfg = wl_cfg or pa
    mode, decided, level = "PERMISSIVE", None, "default"
    notes: list[str] = []
    invalid: list[tuple[dict, Any]] = []
    for cfg, lvl in ((mesh_cfg, "mesh"), (ns_cfg, "namespace"), (wl_cfg, "workload")):
        if cfg is None:
            continue
        m = pa_mode(cfg)
        if m not in MTLS_MODES:
            invalid.append((cfg, m))
            continue
        if m == "UNSET":
            notes.append(f"PeerAuthentication {namespace_of(cfg)}/{name_of(cfg)} ({lvl}) has mode UNSET and inherits")
            continue
        mode, decided, level = m, cfg, lvl
    return MtlsDecision(mode, decided, level, tuple(notes), tuple(invalid))
