"""Finding the control-plane binaries: KUBEBUILDER_ASSETS, then the cache (newest version first), then PATH.

KUBEBUILDER_ASSETS is the convention of controller-runtime's envtest/setup-envtest. The cache holds
what install-k8s.sh builds from Go modules: <cache>/<kubernetes version>/bin with the control plane,
etcd, kubectl and istioctl.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from grader.errors import UserError
from grader.sandbox.paths import cache_dir

REQUIRED = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
TOOLS = ("istioctl", "kubectl")  # built beside them; `eval $(lab sandbox env)` puts them on PATH
INSTALLER = Path(__file__).with_name("install-k8s.sh")


class MissingBinaries(UserError):
    pass


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    source: str

    def version(self) -> str:
        """kube-apiserver's own version, e.g. "v1.33.13" (what /version reports as gitVersion)."""
        out = subprocess.run([str(self.kube_apiserver), "--version"], capture_output=True, text=True, timeout=20)
        m = re.search(r"v\d+\.\d+\.\d+\S*", out.stdout + out.stderr)
        if not m:
            raise MissingBinaries(f"cannot read the version of {self.kube_apiserver}: run it with --version")
        return m.group(0)

    def minor_version(self) -> tuple[int, int]:
        """(major, minor) of kube-apiserver, e.g. (1, 33)."""
        major, minor = version_key(self.version())[:2]
        return major, minor

    @property
    def bin_dir(self) -> Path:
        return self.kube_apiserver.parent


def version_key(name: str) -> tuple[int, ...]:
    """(1, 33, 13) for "v1.33.13"; () when the name is no version (sorts first)."""
    m = re.match(r"v?(\d+)\.(\d+)\.(\d+)", name)
    return tuple(int(g) for g in m.groups()) if m else ()


def _cache_bins() -> list[Path]:
    """The cache's bin folders, newest Kubernetes version first (v1.33.13 before v1.20.2)."""
    root = cache_dir()
    if not root.is_dir():
        return []
    dirs = [p for p in root.iterdir() if (p / "bin").is_dir()]
    return [p / "bin" for p in sorted(dirs, key=lambda p: (version_key(p.name), p.name), reverse=True)]


def candidate_dirs() -> list[tuple[str, Path]]:
    dirs: list[tuple[str, Path]] = []
    if assets := os.environ.get("KUBEBUILDER_ASSETS"):
        dirs.append(("KUBEBUILDER_ASSETS", Path(assets)))
    dirs.extend(("cache", d) for d in _cache_bins())
    return dirs


def tools_dir() -> Path | None:
    """The folder with the sandbox's istioctl (else its kubectl): KUBEBUILDER_ASSETS, then the cache."""
    for tool in TOOLS:
        for _, d in candidate_dirs():
            if (d / tool).is_file() and os.access(d / tool, os.X_OK):
                return d
    return None


def find() -> Binaries:
    found: dict[str, Path] = {}
    source = ""
    for label, d in candidate_dirs():
        if all((d / b).exists() for b in REQUIRED if b not in found):
            for b in REQUIRED:
                found.setdefault(b, d / b)
            source = f"{label} ({d})"
            break
    if not found:
        for b in REQUIRED:
            w = shutil.which(b)
            if w:
                found[b] = Path(w)
        source = "PATH"
    missing = [b for b in REQUIRED if b not in found]
    if missing:
        raise MissingBinaries(
            f"sandbox binaries not found: {', '.join(missing)}; run 'lab sandbox install' "
            f"(builds them with Go >= 1.24) or export KUBEBUILDER_ASSETS=<dir with {', '.join(REQUIRED)}>"
        )
    return Binaries(found["etcd"], found["kube-apiserver"], found["kube-controller-manager"],
                    found["kube-scheduler"], source)


def install(cache: Path | None = None) -> int:
    """Run the installer script (builds from Go modules); returns its exit code (progress goes to stderr)."""
    args = ["bash", str(INSTALLER)]
    if cache:
        args.append(str(cache))
    return subprocess.call(args)
