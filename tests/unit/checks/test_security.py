"""Check types of grader/checks/security.py: peer-authentication-mode and no-mtls-disable
(canary scenario), peer-authentication-policy (sandbox scenario)."""

from __future__ import annotations

import pytest
from harness import (
    NS,
    check,
    drop,
    pa,
)

from grader.model import Status


def _pa(name, ns, mode, ts="2024-05-03T00:00:00Z", selector=None):
    spec = {"mtls": {"mode": mode}} if mode is not None else {}
    if selector:
        spec["selector"] = {"matchLabels": selector}
    return {
        "apiVersion": "security.istio.io/v1beta1",
        "kind": "PeerAuthentication",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": ts},
        "spec": spec,
    }




# -- peer-authentication-mode ----------------------------------------------------------------------
def test_pa_strict_pass(variant, check):
    out = check("peer-authentication-mode", variant("pa-webapp-strict.yaml"), namespace="webapp")
    assert out.status is Status.PASS
    assert "PeerAuthentication webapp/default (namespace-wide, spec.mtls.mode)" in out.reason


def test_pa_mesh_permissive_fails(variant, check):
    out = check("peer-authentication-mode", variant(), namespace="webapp")
    assert out.status is Status.FAIL
    assert out.reason.startswith(
        "effective mTLS mode for namespace webapp is PERMISSIVE, set by PeerAuthentication istio-system/default "
        "(mesh-wide, spec.mtls.mode); expected STRICT"
    )
    assert "PeerAuthentication default in namespace webapp" in out.hint


def test_pa_mesh_wide_strict_pass(load_scenario, get, make_snap, check):
    objs = load_scenario()
    get(objs, "PeerAuthentication", "default", "istio-system")["spec"]["mtls"]["mode"] = "STRICT"
    out = check("peer-authentication-mode", make_snap(objs), namespace="webapp")
    assert out.ok and "mesh-wide" in out.reason


def test_pa_no_policy_default_permissive(load_scenario, make_snap, check):
    objs = [o for o in load_scenario() if o["kind"] != "PeerAuthentication"]
    out = check("peer-authentication-mode", make_snap(objs), namespace="webapp")
    assert (
        out.status is Status.FAIL
        and "no PeerAuthentication sets a mode, so the default PERMISSIVE applies" in out.reason
    )
    assert check("peer-authentication-mode", make_snap(objs), namespace="webapp", mode="PERMISSIVE").ok


def test_pa_unset_inherits(load_scenario, make_snap, check):
    objs = load_scenario() + [_pa("default", "webapp", "UNSET")]
    out = check("peer-authentication-mode", make_snap(objs), namespace="webapp")
    assert out.status is Status.FAIL
    assert "PeerAuthentication webapp/default (namespace) has mode UNSET and inherits" in out.reason
    objs = load_scenario() + [_pa("default", "webapp", None)]  # no mtls at all: UNSET
    assert "UNSET" in check("peer-authentication-mode", make_snap(objs), namespace="webapp").reason


def test_pa_oldest_wins(load_scenario, make_snap, check):
    objs = load_scenario() + [
        _pa("permissive", "webapp", "PERMISSIVE", ts="2024-05-03T00:00:00Z"),
        _pa("strict", "webapp", "STRICT", ts="2024-05-04T00:00:00Z"),
    ]
    out = check("peer-authentication-mode", make_snap(objs), namespace="webapp")
    assert out.status is Status.FAIL
    assert "set by PeerAuthentication webapp/permissive" in out.reason
    assert "PeerAuthentication webapp/strict is ignored: the oldest namespace-wide policy" in out.reason


def test_pa_workload_level(load_scenario, make_snap, check):
    objs = load_scenario("pa-webapp-strict.yaml") + [
        _pa("web-v2", "webapp", "PERMISSIVE", selector={"app": "web", "version": "v2"})
    ]
    snap = make_snap(objs)
    assert check("peer-authentication-mode", snap, namespace="webapp").ok
    out = check("peer-authentication-mode", snap, namespace="webapp", workload_labels={"app": "web", "version": "v2"})
    assert out.status is Status.FAIL
    assert "workloads {app: web, version: v2} in namespace webapp is PERMISSIVE" in out.reason
    assert "PeerAuthentication webapp/web-v2 (workload selector" in out.reason
    assert check(
        "peer-authentication-mode", snap, namespace="webapp", workload_labels={"app": "web", "version": "v1"}
    ).ok


def test_pa_selector_in_root_namespace_ignored(load_scenario, make_snap, check):
    objs = load_scenario() + [_pa("web", "istio-system", "STRICT", selector={"app": "web"})]
    out = check("peer-authentication-mode", make_snap(objs), namespace="webapp", workload_labels={"app": "web"})
    assert out.status is Status.FAIL
    assert (
        "PeerAuthentication istio-system/web has a selector in the root namespace istio-system, which Istio ignores"
        in out.reason
    )


def test_pa_invalid_mode(load_scenario, make_snap, check):
    objs = load_scenario() + [_pa("default", "webapp", "STRICTT")]
    out = check("peer-authentication-mode", make_snap(objs), namespace="webapp")
    assert out.status is Status.FAIL
    assert (
        "PeerAuthentication webapp/default spec.mtls.mode is 'STRICTT'; expected one of UNSET, DISABLE, PERMISSIVE, "
        "STRICT" in out.reason
    )


def test_pa_custom_root_namespace(load_scenario, make_snap, check):
    objs = load_scenario() + [_pa("default", "mesh-cp", "STRICT")]
    out = check("peer-authentication-mode", make_snap(objs, control_plane_namespace="mesh-cp"), namespace="webapp")
    assert out.ok and "mesh-cp/default" in out.reason


@pytest.mark.parametrize(
    "params", [{"mode": "strict-ish"}, {"mode": 1}, {"workload_labels": "app=web"}, {"namespace": None}]
)
def test_pa_bad_params(variant, check, params):
    out = check("peer-authentication-mode", variant(), **({"namespace": "webapp"} | params))
    assert out.status is Status.FAIL and "check parameter" in out.reason


# -- no-mtls-disable ------------------------------------------------------------------------------------
def test_no_disable_pass(variant, check):
    out = check("no-mtls-disable", variant("pa-webapp-strict.yaml"), namespace="webapp")
    assert out.status is Status.PASS


def test_disable_with_namespace_strict_fails(variant, check):
    out = check("no-mtls-disable", variant("dr-tls-disable.yaml"), namespace="webapp")
    assert out.status is Status.FAIL
    assert out.reason.startswith(
        "DestinationRule webapp/web sets spec.trafficPolicy.tls.mode DISABLE for web.webapp.svc.cluster.local while "
        "the "
        "effective mTLS mode of namespace webapp is STRICT"
    )
    assert "KIA0207" in out.reason


def test_disable_with_mesh_strict_fails(load_scenario, get, make_snap, check):
    objs = [
        o
        for o in load_scenario("dr-tls-disable.yaml")
        if not (o["kind"] == "PeerAuthentication" and o["metadata"]["namespace"] == "webapp")
    ]
    get(objs, "PeerAuthentication", "default", "istio-system")["spec"]["mtls"]["mode"] = "STRICT"
    out = check("no-mtls-disable", make_snap(objs), namespace="webapp")
    assert out.status is Status.FAIL and "KIA0208" in out.reason


def test_disable_while_permissive_passes(load_scenario, make_snap, check):
    objs = [
        o
        for o in load_scenario("dr-tls-disable.yaml")
        if not (o["kind"] == "PeerAuthentication" and o["metadata"]["namespace"] == "webapp")
    ]
    out = check("no-mtls-disable", make_snap(objs), namespace="webapp")
    assert out.status is Status.PASS and "PERMISSIVE" in out.reason and "DISABLE" in out.reason


def test_disable_port_level_and_subset_level(load_scenario, get, make_snap, check):
    objs = load_scenario("dr-tls-disable.yaml")
    dr = get(objs, "DestinationRule", "web")
    dr["spec"]["trafficPolicy"] = {"portLevelSettings": [{"port": {"number": 8080}, "tls": {"mode": "DISABLE"}}]}
    dr["spec"]["subsets"][1]["trafficPolicy"] = {"tls": {"mode": "DISABLE"}}
    out = check("no-mtls-disable", make_snap(objs), namespace="webapp")
    assert out.status is Status.FAIL
    assert "spec.trafficPolicy.portLevelSettings[0].tls.mode" in out.reason
    assert "spec.subsets[1].trafficPolicy.tls.mode" in out.reason


def test_disable_wildcard_rule_elsewhere(load_scenario, make_snap, check):
    objs = load_scenario("pa-webapp-strict.yaml") + [
        {
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "DestinationRule",
            "metadata": {"name": "plain", "namespace": "istio-system"},
            "spec": {"host": "*.webapp.svc.cluster.local", "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
        },
        {
            # Maistra's api-server rule: DISABLE toward the API server only, not webapp
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "DestinationRule",
            "metadata": {"name": "api-server", "namespace": "istio-system"},
            "spec": {"host": "kubernetes.default.svc.cluster.local", "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
        },
    ]
    out = check("no-mtls-disable", make_snap(objs), namespace="webapp")
    assert out.status is Status.FAIL
    assert "DestinationRule istio-system/plain" in out.reason and "api-server" not in out.reason


# -- peer-authentication-policy -----------------------------------------------------------------
PAP = {"namespace": NS, "mode": "STRICT", "level": "namespace"}


def test_pa_policy_pass(objs):
    out = check("peer-authentication-policy", objs, **PAP)
    assert out.status is Status.PASS
    assert "PeerAuthentication webapp/default (namespace-wide) sets spec.mtls.mode STRICT" in out.reason


def test_pa_policy_only_mesh_wide_strict(objs):
    objs = drop(objs, "PeerAuthentication", "default")
    out = check("peer-authentication-policy", objs, **PAP)
    assert out.status is Status.FAIL
    assert "namespace webapp has no namespace-wide PeerAuthentication" in out.reason
    assert "set by PeerAuthentication istio-system/default (mesh-wide, spec.mtls.mode)" in out.reason
    assert "only because of that default" in out.reason
    assert "create PeerAuthentication default in namespace webapp with spec.mtls.mode: STRICT" in out.hint
    # the effective level accepts the mesh-wide default
    assert check("peer-authentication-policy", objs, **PAP | {"level": "effective"}).ok


@pytest.mark.parametrize("mode, needle", [
    ("PERMISSIVE", "PeerAuthentication webapp/default spec.mtls.mode is PERMISSIVE; expected STRICT"),
    ("DISABLE", "spec.mtls.mode is DISABLE; expected STRICT"),
    (None, "spec.mtls.mode is not set (UNSET), so the policy inherits the mesh-wide mode"),
    ("STRICTT", "spec.mtls.mode is 'STRICTT'; expected one of UNSET, DISABLE, PERMISSIVE, STRICT"),
])
def test_pa_policy_wrong_mode(objs, mode, needle):
    objs = drop(objs, "PeerAuthentication", "default") + [pa("default", mode)]
    out = check("peer-authentication-policy", objs, **PAP)
    assert out.status is Status.FAIL and needle in out.reason


def test_pa_policy_effective_level_permissive(objs):
    objs = drop(objs, "PeerAuthentication", "default") + [pa("default", "PERMISSIVE")]
    out = check("peer-authentication-policy", objs, **PAP | {"level": "effective"})
    assert out.status is Status.FAIL
    assert "effective mTLS mode of namespace webapp is PERMISSIVE, set by PeerAuthentication webapp/default " \
           "(namespace-wide" in out.reason


def test_pa_policy_selector_policy_is_not_namespace_wide(objs):
    objs = drop(objs, "PeerAuthentication", "default") + [pa("web", "STRICT", selector={"app": "web"})]
    out = check("peer-authentication-policy", objs, **PAP)
    assert out.status is Status.FAIL
    assert "web have a spec.selector, so they apply only to matching workloads" in out.reason


def test_pa_policy_oldest_namespace_policy_wins(objs):
    newer = pa("zz-permissive", "PERMISSIVE", ts="2027-01-01T00:00:00Z")
    out = check("peer-authentication-policy", objs + [newer], **PAP)
    assert out.ok and "PeerAuthentication webapp/zz-permissive (namespace-wide, mode 'PERMISSIVE') is ignored" \
        in out.reason
    older = pa("aa-permissive", "PERMISSIVE", ts="2020-01-01T00:00:00Z")
    out = check("peer-authentication-policy", objs + [older], **PAP)
    assert out.status is Status.FAIL and "webapp/aa-permissive spec.mtls.mode is PERMISSIVE" in out.reason
    assert "PeerAuthentication webapp/default (namespace-wide, mode 'STRICT') is ignored" in out.reason


def test_pa_policy_workload_override(objs):
    objs = objs + [pa("legacy-plain", "PERMISSIVE", selector={"app": "legacy"})]
    out = check("peer-authentication-policy", objs, **PAP)
    assert out.status is Status.FAIL
    assert "PeerAuthentication webapp/legacy-plain (spec.selector {app: legacy}) sets spec.mtls.mode 'PERMISSIVE' " \
           "for pod(s) legacy-" in out.reason


def test_pa_policy_workload_policy_matching_nothing_is_harmless(objs):
    objs = objs + [pa("ghost", "DISABLE", selector={"app": "ghost"})]
    assert check("peer-authentication-policy", objs, **PAP).ok


def test_pa_policy_port_level(objs):
    objs = objs + [pa("web-ports", "STRICT", selector={"app": "web"}, portLevelMtls={"80": {"mode": "PERMISSIVE"}})]
    out = check("peer-authentication-policy", objs, **PAP)
    assert out.status is Status.FAIL and "spec.portLevelMtls.80.mode is 'PERMISSIVE'" in out.reason


@pytest.mark.parametrize("params", [{"mode": "strictly"}, {"level": "mesh"}, {"namespace": ""}, {"mode": 1}])
def test_pa_policy_bad_params(objs, params):
    out = check("peer-authentication-policy", objs, **PAP | params)
    assert out.status is Status.FAIL and "check parameter" in out.reason
