"""Where the sandbox keeps its state and where cached binaries live."""

from __future__ import annotations

import os
from pathlib import Path

APP = "lab-grader"


def state_dir() -> Path:
    """State of the running sandbox: certs, etcd data, logs, pid files, kubeconfig."""
    if env := os.environ.get("LAB_SANDBOX_DIR"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP / "sandbox"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP / "k8s"
