#!/usr/bin/env bash
# Install Prometheus for the sandbox's data plane metrics: Debian's `prometheus` package (idempotent).
# `lab sandbox up` starts it on loopback with a config in the sandbox state dir; the package's own
# service is not used. Without it the sandbox still works (`lab sandbox status` says it is missing).
set -euo pipefail
if command -v prometheus >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-prometheus: apt-get not found; install Prometheus yourself (any 2.x on PATH works)" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d 101: do not start the package's own service during installation.
$SUDO sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d.lab && chmod +x /usr/sbin/policy-rc.d.lab'
if [ ! -e /usr/sbin/policy-rc.d ]; then
  $SUDO cp /usr/sbin/policy-rc.d.lab /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO rm -f /usr/sbin/policy-rc.d.lab
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v prometheus
