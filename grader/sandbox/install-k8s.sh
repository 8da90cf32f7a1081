#!/usr/bin/env bash
# Builds the sandbox's binaries with the machine's Go, through Go modules (no git, no vendored tree):
#   go/k8s   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl  (k8s.io/kubernetes)
#   go/etcd  etcd                                                               (go.etcd.io/etcd/server/v3)
#   go/istio istioctl                                                           (istio.io/istio)
# Each folder's go.mod pins the exact versions and its go.sum the checksums. Idempotent: a finished
# build is recognised by its stamp. Modules and compiled packages stay in Go's own caches
# (GOMODCACHE, GOCACHE), so a second build on the same machine reuses them.
#
# Usage: install-k8s.sh [CACHE_DIR]   (default: ${XDG_CACHE_HOME:-$HOME/.cache}/lab-grader/k8s)
# Needs only Go >= 1.24 (GO=/path/to/go to choose one) and the Go module proxy; no git, no C compiler.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
RECIPE=4  # bump whenever the build recipe changes: cached binaries from older recipes are rebuilt
MIN_GO_MINOR=24

say() { printf '· %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

# The one place the versions live is the go.mod files.
modver() { [ -f "$here/go/$1/go.mod" ] && awk -v m="$2" '$1 == "require" && $2 == m { print $3 } $1 == m { print $2 }' "$here/go/$1/go.mod" | head -n1; }
K8S_VERSION=$(modver k8s k8s.io/kubernetes)
ETCD_VERSION=$(modver etcd go.etcd.io/etcd/server/v3)
ISTIO_VERSION=$(modver istio istio.io/istio 2>/dev/null || true)
[ -n "$K8S_VERSION" ] && [ -n "$ETCD_VERSION" ] || die "cannot read the pinned versions from $here/go/*/go.mod"

cache_root="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/lab-grader/k8s}"
dest="$cache_root/$K8S_VERSION"
bin="$dest/bin"
stamp="$dest/STAMP"
want="kubernetes=$K8S_VERSION etcd=$ETCD_VERSION${ISTIO_VERSION:+ istioctl=$ISTIO_VERSION} recipe=$RECIPE"
tools="etcd kube-apiserver kube-controller-manager kube-scheduler kubectl${ISTIO_VERSION:+ istioctl}"

complete() {
  [ -f "$stamp" ] && grep -qF "$want" "$stamp" || return 1
  for t in $tools; do [ -x "$bin/$t" ] || return 1; done
}
if complete; then
  say "sandbox binaries already installed in $bin ($(cat "$stamp"))"
  exit 0
fi

# GO=<path> picks a toolchain; else the go on PATH; else the usual install location.
go_bin="${GO:-$(command -v go || true)}"
if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go; fi
if [ -z "$go_bin" ] || [ ! -x "$go_bin" ]; then
  die "building the sandbox needs Go >= 1.$MIN_GO_MINOR (https://go.dev/dl/); or put etcd, kube-apiserver, kube-controller-manager, kube-scheduler (Kubernetes 1.29 or newer; this project pins $K8S_VERSION) in one directory and export KUBEBUILDER_ASSETS=<that dir>"
fi
go_version=$("$go_bin" env GOVERSION 2>/dev/null || true)
go_minor=$(printf '%s' "$go_version" | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
if [ -z "$go_minor" ] || [ "$go_minor" -lt "$MIN_GO_MINOR" ]; then
  die "$go_bin is ${go_version:-not a working Go}; building the sandbox needs Go >= 1.$MIN_GO_MINOR (https://go.dev/dl/), or export KUBEBUILDER_ASSETS=<dir with etcd, kube-apiserver, kube-controller-manager, kube-scheduler>"
fi

export CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local
partial="$dest/bin.partial"
rm -rf "$partial"
mkdir -p "$partial"
started=$(date +%s)

# What hack/lib/version.sh stamps into a release build, so --version and /version tell the truth.
k8s_minor=$(printf '%s' "$K8S_VERSION" | cut -d. -f2)
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags="$k8s_ldflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  k8s_ldflags="$k8s_ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

build() {  # build MODULE_DIR LDFLAGS OUTPUT PACKAGE...   (OUTPUT: a file, or a folder ending in /)
  local mod="$1" ldflags="$2" out="$3"; shift 3
  (cd "$here/go/$mod" && "$go_bin" build -trimpath -ldflags "$ldflags" -o "$out" "$@") >"$dest/build-$mod.log" 2>&1 || {
    tail -n 30 "$dest/build-$mod.log" >&2
    die "building $* failed; full log in $dest/build-$mod.log"
  }
}

say "building etcd $ETCD_VERSION with $go_version (once; modules and compiled packages are cached by Go)"
build etcd "-s -w" "$partial/etcd" go.etcd.io/etcd/server/v3

say "building Kubernetes $K8S_VERSION: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (the long part, once)"
build k8s "$k8s_ldflags" "$partial/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl

if [ -n "$ISTIO_VERSION" ]; then
  say "building istioctl (istio.io/istio $ISTIO_VERSION)"
  # What Istio's own Makefile stamps: VERSION file + "-dev" for a build between releases, and the commit.
  istio_src="$("$go_bin" env GOMODCACHE)/istio.io/istio@$ISTIO_VERSION"
  istio_release="$( (cd "$here/go/istio" && "$go_bin" mod download istio.io/istio) >/dev/null 2>&1; cat "$istio_src/VERSION" 2>/dev/null || echo unknown)"
  case "$ISTIO_VERSION" in
    v0.0.0-*) istio_build="$istio_release-dev"; istio_commit="${ISTIO_VERSION##*-}" ;;
    *) istio_build="${ISTIO_VERSION#v}"; istio_commit=unknown ;;
  esac
  istio_ldflags="-s -w"
  for v in buildVersion=$istio_build buildGitRevision=$istio_commit buildStatus=Clean buildTag=$istio_build buildHub=docker.io/istio; do
    istio_ldflags="$istio_ldflags -X istio.io/istio/pkg/version.$v"
  done
  build istio "$istio_ldflags" "$partial/istioctl" istio.io/istio/istioctl/cmd/istioctl
fi

rm -rf "$bin"
mv "$partial" "$bin"
echo "$want built $build_date go=$go_version seconds=$(( $(date +%s) - started ))" >"$stamp"
say "installed the sandbox binaries in $bin ($(cat "$stamp"))"
