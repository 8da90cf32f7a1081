#!/usr/bin/env bash
# Builds the sandbox's control-plane binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler) from Debian's own kubernetes source package and installs etcd from
# Debian's etcd-server package. Idempotent: a finished build is recognised by its stamp.
#
# Usage: install-k8s.sh [CACHE_DIR]   (default: ${XDG_CACHE_HOME:-$HOME/.cache}/lab-grader/k8s)
set -euo pipefail

K8S_SOURCE_VERSION="1.20.5+really1.20.2"
RECIPE=3  # bump whenever the build recipe changes: cached binaries from older recipes are rebuilt
cache_root="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/lab-grader/k8s}"
dest="$cache_root/v1.20.2"
bin="$dest/bin"
stamp="$dest/STAMP"

say() { printf '· %s\n' "$*" >&2; }

if [ -f "$stamp" ] && grep -q "recipe=$RECIPE" "$stamp" && [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kube-controller-manager" ] \
   && [ -x "$bin/kube-scheduler" ] && [ -x "$bin/etcd" ]; then
  say "control-plane binaries already installed in $bin ($(cat "$stamp"))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1 || [ ! -f /etc/debian_version ]; then
  cat >&2 <<MSG
error: this installer builds from Debian packages and needs apt-get (Debian/Ubuntu).
Provide the binaries yourself instead: put etcd, kube-apiserver, kube-controller-manager and
kube-scheduler (Kubernetes 1.20 or newer) in one directory and export KUBEBUILDER_ASSETS=<that dir>
(for example the directory that controller-runtime's 'setup-envtest use -p path' prints).
MSG
  exit 2
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

say "installing build dependencies from Debian packages"
$SUDO apt-get update -qq
pkgs="etcd-server golang-go rsync golang-github-modern-go-reflect2-dev dpkg-dev"
# kubernetes-client collides with a kubectl some images ship from another package.
if ! command -v kubectl >/dev/null 2>&1; then pkgs="$pkgs kubernetes-client"; fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $pkgs >/dev/null

# Source entries for the same suites as the binary ones.
if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  say "enabling deb-src entries"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
      | $SUDO tee /etc/apt/sources.list.d/lab-grader-src.sources >/dev/null
  else
    grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
      | $SUDO tee /etc/apt/sources.list.d/lab-grader-src.list >/dev/null
  fi
  $SUDO apt-get update -qq
fi

work="$cache_root/build"
mkdir -p "$work"
cd "$work"
if ! ls kubernetes_*.dsc >/dev/null 2>&1; then
  say "downloading the kubernetes source package ($K8S_SOURCE_VERSION)"
  apt-get source --download-only -qq "kubernetes=$K8S_SOURCE_VERSION" >/dev/null 2>&1 \
    || apt-get source --download-only -qq kubernetes >/dev/null
fi
srcdir=$(find . -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
if [ -z "$srcdir" ]; then
  say "unpacking"
  dpkg-source -x --no-check kubernetes_*.dsc >/dev/null
  srcdir=$(find . -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
fi
cd "$srcdir"

# The vendored reflect2 1.0.1 crashes ("fatal error: fault") under Go >= 1.18 when the
# API server encodes some maps; Debian's 1.0.2 is fixed.
say "replacing vendored modern-go/reflect2 with Debian's 1.0.2"
rm -rf vendor/github.com/modern-go/reflect2
cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2
rm -rf vendor/github.com/modern-go/reflect2/.git* || true

# Go >= 1.16 makes the vendored go-openapi validator treat "" as null, so the API server
# rejects empty strings in custom resources (kubernetes/kubernetes#99804, fixed upstream in
# kube-openapi#230 but never in 1.20): only a nil value is null.
# Both copies: 1.20's CRD validation uses kube-openapi's fork.
for typego in vendor/k8s.io/kube-openapi/pkg/validation/validate/type.go vendor/github.com/go-openapi/validate/type.go; do
  [ -f "$typego" ] || continue
  if grep -q 'reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data))' "$typego"; then
    say "patching $(dirname "$typego"): empty strings are strings (kubernetes#99804)"
    sed -i 's/if data == nil || reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data)) {/if data == nil {/' "$typego"
    if grep -q 'reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data))' "$typego"; then
      echo "error: could not patch $typego" >&2; exit 1
    fi
  fi
done

say "building kube-apiserver, kube-controller-manager, kube-scheduler (a few minutes, once)"
export GOPATH="$PWD/.go" CGO_ENABLED=0 GOFLAGS=-mod=vendor GO111MODULE=on
mkdir -p .go/src/k8s.io
[ -e .go/src/k8s.io/kubernetes ] || ln -s ../../.. .go/src/k8s.io/kubernetes
make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler" >build.log 2>&1 || {
  tail -n 30 build.log >&2; echo "error: build failed; full log in $PWD/build.log" >&2; exit 1; }

mkdir -p "$bin"
out=$(find _output -type d -name bin -path '*_output*' | head -n1)
for b in kube-apiserver kube-controller-manager kube-scheduler; do
  install -m 0755 "$out/$b" "$bin/$b"
done
etcd_bin=$(command -v etcd || echo /usr/bin/etcd)
ln -sf "$etcd_bin" "$bin/etcd"
kubectl_bin=$(command -v kubectl || true)
[ -n "$kubectl_bin" ] && ln -sf "$kubectl_bin" "$bin/kubectl"
echo "kubernetes $K8S_SOURCE_VERSION built $(date -u +%Y-%m-%dT%H:%M:%SZ) go=$(go version | awk '{print $3}') reflect2=1.0.2 openapi-empty-string-fix recipe=$RECIPE" >"$stamp"
say "installed control-plane binaries in $bin"
cd "$cache_root" && rm -rf "$work"
