"""Label selectors as Kubernetes and Istio match them: plain maps (Service, Gateway, subset
labels) and metav1.LabelSelector (matchLabels, matchExpressions)."""

from __future__ import annotations

from typing import Any

from grader.objects import (
    as_dict,
    as_list,
    label_str,
)


def _is_label_selector(selector: dict) -> bool:
    return (
        bool(selector)
        and set(selector) <= {"matchLabels", "matchExpressions"}
        and all(isinstance(v, (dict, list)) or v is None for v in selector.values())
    )


def map_selector_matches(selector: Any, labels: Any, *, empty_matches: bool = False) -> bool:
    """A plain ``{key: value}`` selector (Service, Gateway, subset labels)."""
    if not isinstance(selector, dict):
        return False
    if not selector:
        return empty_matches
    have = as_dict(labels)
    return all(k in have and label_str(have[k]) == label_str(v) for k, v in selector.items())


def label_selector_matches(selector: Any, labels: Any) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions); ``{}`` matches everything."""
    if not isinstance(selector, dict):
        return False
    have = as_dict(labels)
    match_labels = selector.get("matchLabels")
    if match_labels is not None and not isinstance(match_labels, dict):
        return False
    if not map_selector_matches(match_labels or {}, have, empty_matches=True):
        return False
    exprs = selector.get("matchExpressions")
    if exprs is None:
        return True
    if not isinstance(exprs, list):
        return False
    for expr in exprs:
        if not isinstance(expr, dict) or not isinstance(expr.get("key"), str):
            return False
        key, op = expr["key"], expr.get("operator")
        values = [label_str(v) for v in as_list(expr.get("values"))]
        if op == "In":
            ok = key in have and label_str(have[key]) in values
        elif op == "NotIn":
            ok = key not in have or label_str(have[key]) not in values
        elif op == "Exists":
            ok = key in have
        elif op == "DoesNotExist":
            ok = key not in have
        else:
            return False
        if not ok:
            return False
    return True


def selector_matches(selector: Any, labels: Any, *, empty_matches: bool = False) -> bool:
    """Match either a LabelSelector (matchLabels/matchExpressions) or a plain label map."""
    if isinstance(selector, dict) and _is_label_selector(selector):
        return label_selector_matches(selector, labels)
    return map_selector_matches(selector, labels, empty_matches=empty_matches)


# Locality labels of a subset are matched against the pod's Node, which the grader
# does not read (istio analyzers/destinationrule/pod_not_selected.go): a non-empty
# value is assumed to match, an empty one never does.
TOPOLOGY_LABELS = ("topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone")


def subset_selects(subset_labels: Any, pod_labels: Any) -> bool:
    """Does a DestinationRule subset's ``labels`` select a pod? No labels = every pod of the host."""
    if subset_labels is None:
        return True
    if not isinstance(subset_labels, dict):
        return False
    plain = {}
    for key, value in subset_labels.items():
        if key in TOPOLOGY_LABELS and key not in as_dict(pod_labels):
            if not label_str(value):
                return False
            continue
        plain[key] = value
    return map_selector_matches(plain, pod_labels, empty_matches=True)
