#!/usr/bin/env bash
# Baseline: how shell-script lab checkers grade the canary lab — one `kubectl get -o json`
# per check (7 checks' worth of reads). Used by benchmarks/run.py for comparison only.
set -u
ns=${1:-webapp}
k="kubectl"
$k get deployment web-v2 -n "$ns" -o json >/dev/null 2>&1
$k get pods -n "$ns" -l app=web,version=v2 -o json >/dev/null 2>&1
$k get pods -n "$ns" -l app=web,version=v1 -o json >/dev/null 2>&1
$k get destinationrule -n "$ns" -o json >/dev/null 2>&1
$k get virtualservice -n "$ns" -o json >/dev/null 2>&1
$k get gateway web-gateway -n "$ns" -o json >/dev/null 2>&1
$k get pods -n istio-system -l istio=ingressgateway -o json >/dev/null 2>&1
exit 0
