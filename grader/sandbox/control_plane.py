"""Start, stop and inspect the sandbox's processes.

Every process is started by us with a pid file in the state directory, and is only
ever signalled after checking that its command line names that state directory, so
`down` never touches a process it did not start (even after pid reuse).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import UserError
from grader.sandbox.binaries import Binaries, find, tools_dir
from grader.sandbox.paths import state_dir

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "simulators")
MESH_COMPONENTS = ("dataplane", "prometheus")  # flavours with a mesh; prometheus only when installed
MESH_FLAVOURS = ("ossm2", "istio", "ossm3")     # every flavour but a bare API server
DATAPLANE_PORTS = ("dataplane-gateway", "dataplane-mesh", "dataplane-pods", "dataplane-admin")
FLAVOURS = ("ossm2", "ossm3", "istio", "kubernetes")  # kubernetes: no mesh at all
# ossm3 with the 2.x (Maistra) operator beside it, as a cluster mid-migration from OSSM 2.6 to 3 runs
# them (Red Hat "Migrating from Service Mesh 2 to Service Mesh 3": both operators and control planes
# side by side while namespaces move over).
WITH_OSSM2_FLAVOURS = ("ossm3",)
# What the sandbox relies on: CRD validation rules (CEL, on by default since 1.25, GA in 1.29), native
# sidecars (SidecarContainers, on by default since 1.29) and no insecure ports (gone since 1.24).
MIN_VERSION = (1, 29)
Progress = Callable[[str, str], None]  # (component or step, status text)


class SandboxError(UserError):
    pass


def _noop(_step: str, _status: str) -> None:
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Sandbox:
    root: Path = field(default_factory=state_dir)
    # Children started by this object: right after fork /proc/<pid>/cmdline is still ours.
    _procs: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False)

    # -- paths ---------------------------------------------------------------
    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def audit_log(self) -> Path:
        return self.root / "logs" / "audit.log"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def pidfile(self, name: str) -> Path:
        return self.root / "run" / f"{name}.pid"

    # -- state -----------------------------------------------------------------
    def state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self, st: dict) -> None:
        self.state_file.write_text(json.dumps(st, indent=2))

    def pid(self, name: str) -> int | None:
        """Pid of a component if it is alive AND is ours (its cmdline names our state dir)."""
        try:
            pid = int(self.pidfile(name).read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        if stat.split(") ", 1)[-1].startswith("Z"):  # zombie: dead, not yet reaped
            return None
        return pid if str(self.root) in cmdline else None

    def wanted(self, flavour: str | None = None) -> tuple[str, ...]:
        """The components this sandbox runs: the control plane, plus the data plane and Prometheus
        (when installed) for the mesh flavours."""
        flavour = flavour or self.state().get("flavour")
        if flavour not in MESH_FLAVOURS:
            return COMPONENTS
        from grader.sandbox.dataplane.launch import prometheus_binary
        return COMPONENTS + (("dataplane", "prometheus") if prometheus_binary() else ("dataplane",))

    def components(self) -> dict[str, dict]:
        st = self.state()
        out = {}
        for name in COMPONENTS + (MESH_COMPONENTS if st.get("flavour") in MESH_FLAVOURS else ()):
            pid = self.pid(name)
            port = st.get("ports", {}).get("dataplane-gateway" if name == "dataplane" else name)
            out[name] = {"running": pid is not None, "pid": pid, "port": port, "log": str(self.log(name))}
            if name == "prometheus" and name not in self.wanted():
                out[name]["note"] = "not installed (bash grader/sandbox/install-prometheus.sh)"
        return out

    def urls(self) -> dict[str, str]:
        """GATEWAY_URL (host:port) and PROMETHEUS_URL of a mesh sandbox, when they run."""
        ports = self.state().get("ports", {})
        out = {}
        if self.pid("dataplane") and "dataplane-gateway" in ports:
            out["GATEWAY_URL"] = f"127.0.0.1:{ports['dataplane-gateway']}"
        if self.pid("prometheus") and "prometheus" in ports:
            out["PROMETHEUS_URL"] = f"http://127.0.0.1:{ports['prometheus']}"
        return out

    def apiserver_url(self) -> str | None:
        port = self.state().get("ports", {}).get("kube-apiserver")
        return f"https://127.0.0.1:{port}" if port else None

    def healthy(self, path: str = "/readyz") -> bool:
        url = self.apiserver_url()
        if not url or not (self.pki / "ca.crt").exists():
            return False
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        try:
            with urllib.request.urlopen(url + path, context=ctx, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def running(self) -> bool:
        return all(self.pid(c) for c in self.wanted()) and self.healthy()

    def status(self) -> dict:
        st = self.state()
        return {
            "running": self.running(),
            "state_dir": str(self.root),
            "kubeconfig": str(self.kubeconfig),
            "audit_log": str(self.audit_log),
            "server": self.apiserver_url(),
            "flavour": st.get("flavour"),
            "with_ossm2": bool(st.get("with_ossm2")),
            "kubernetes_version": st.get("kubernetes_version"),
            "binaries": st.get("binaries"),
            "components": self.components(),
        }

    def env(self) -> dict[str, str]:
        """What `eval $(lab sandbox env)` sets: KUBECONFIG, and the folder with the sandbox's own istioctl
        and kubectl (same versions as the control plane) to put first on PATH, when there is one."""
        out = {"KUBECONFIG": str(self.kubeconfig)}
        if tools := tools_dir():
            out["PATH"] = str(tools)
        return out

    # -- up ----------------------------------------------------------------------
    def up(self, flavour: str = "ossm2", crds: Path | None = None, progress: Progress = _noop,
           timeout: float = 90.0, with_ossm2: bool = False) -> dict:
        """Start whatever is not running; returns status(). Idempotent. `with_ossm2`: the ossm3
        flavour also runs the OSSM 2.x (Maistra) operator and serves maistra.io (a migration)."""
        if flavour not in FLAVOURS:
            raise SandboxError(f"unknown flavour {flavour!r}; use one of {', '.join(FLAVOURS)}")
        if with_ossm2 and flavour not in WITH_OSSM2_FLAVOURS:
            raise SandboxError(f"--with-ossm2 runs the OSSM 2.x operator beside OSSM 3; it needs flavour "
                               f"{' or '.join(WITH_OSSM2_FLAVOURS)}, not {flavour}")
        st = self.state()
        if self.running():
            if st.get("flavour") != flavour or bool(st.get("with_ossm2")) != with_ossm2:
                wanted = flavour + (" with the OSSM 2.x operator" if with_ossm2 else "")
                running = st.get("flavour", "?") + (" with the OSSM 2.x operator" if st.get("with_ossm2") else "")
                progress("sandbox", f"already running with flavour {running}; "
                                    f"run 'lab sandbox down' first to switch to {wanted}")
            else:
                progress("sandbox", "already running")
            return self.status()
        bins = find()
        version = bins.version()
        major_minor = bins.minor_version()
        if major_minor < MIN_VERSION:
            raise SandboxError(f"kube-apiserver {version} ({bins.source}) is too old: the sandbox needs Kubernetes "
                               f"{MIN_VERSION[0]}.{MIN_VERSION[1]} or newer; run 'lab sandbox install' or point "
                               "KUBEBUILDER_ASSETS at newer binaries")
        for d in ("pki", "logs", "run", "etcd", "manifests"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        from grader.sandbox import pki  # cryptography is slow to import: only `up` needs it

        pki.ensure(self.pki)
        self._write_static_files()
        ports = dict(st.get("ports", {}))
        for name in ("etcd", "etcd-peer", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "webhook",
                     *DATAPLANE_PORTS, "prometheus"):
            running_name = "etcd" if name == "etcd-peer" else "dataplane" if name in DATAPLANE_PORTS else name
            if name in ports and (self.pid(running_name) or port_free(ports[name])):
                continue
            ports[name] = free_port()
        st.update(ports=ports, flavour=flavour, with_ossm2=with_ossm2, binaries=bins.source,
                  kubernetes_version=version, bin_dir=str(bins.bin_dir),
                  crds=str(crds.resolve()) if crds else st.get("crds") if st.get("flavour") == flavour else None)
        if crds is None and st.get("flavour") != flavour:
            st["crds"] = None
        self._save_state(st)
        self._write_kubeconfigs(ports["kube-apiserver"])

        deadline = time.monotonic() + timeout
        argv = self._argv(bins, ports, flavour)
        from grader.sandbox.dataplane import launch
        argv.update(launch.argv(self.root, ports))
        for name in self.wanted(flavour):
            if self.pid(name):
                progress(name, "running")
            else:
                progress(name, "starting")
                self._spawn(name, argv[name])
            self._wait_ready(name, deadline, progress)
            progress(name, "ready")
        return self.status()

    def _wait_ready(self, name: str, deadline: float, progress: Progress) -> None:
        probe: Callable[[], bool]
        if name == "etcd":
            port = self.state()["ports"]["etcd"]
            def probe() -> bool:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                        return b"true" in r.read()
                except OSError:
                    return False
        elif name == "kube-apiserver":
            probe = self.healthy
        elif name in ("simulators", "dataplane"):
            ready = self.root / "run" / f"{name}.ready"
            probe = ready.exists
        elif name == "prometheus":
            from grader.sandbox.dataplane.launch import prometheus_ready
            port = self.state()["ports"]["prometheus"]
            probe = lambda: prometheus_ready(port)  # noqa: E731
        else:
            probe = lambda: True  # noqa: E731 - they connect to the API server on their own
        delay = 0.05
        while True:
            proc = self._procs.get(name)
            alive = proc.poll() is None if proc else self.pid(name) is not None
            if not alive:
                tail = self._tail(self.log(name))
                raise SandboxError(f"{name} exited during start-up; see {self.log(name)}: {tail}")
            if probe():
                return
            if time.monotonic() > deadline:
                raise SandboxError(f"{name} not ready in time; see {self.log(name)}")
            time.sleep(delay)  # process start-up: no API to watch yet
            delay = min(delay * 1.5, 0.5)

    @staticmethod
    def _tail(path: Path, lines: int = 3) -> str:
        try:
            return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""

    def _spawn(self, name: str, argv: list[str]) -> None:
        if name in ("simulators", "dataplane"):
            (self.root / "run" / f"{name}.ready").unlink(missing_ok=True)
        log = open(self.log(name), "ab")  # noqa: SIM115 - handed to the child
        env = dict(os.environ)
        if name in ("simulators", "dataplane"):
            # the child must import this very package, wherever it is installed
            pkg_root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = pkg_root + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=str(self.root), env=env)
        log.close()
        self._procs[name] = proc
        self.pidfile(name).write_text(str(proc.pid))

    def _argv(self, bins: Binaries, ports: dict, flavour: str) -> dict[str, list[str]]:
        r, p = self.root, self.pki
        etcd_url = f"http://127.0.0.1:{ports['etcd']}"
        peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
        api = [
            str(bins.kube_apiserver),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={ports['kube-apiserver']}",
            f"--cert-dir={p}",
            f"--tls-cert-file={p / 'apiserver.crt'}", f"--tls-private-key-file={p / 'apiserver.key'}",
            f"--client-ca-file={p / 'ca.crt'}",
            f"--service-account-key-file={p / 'sa.pub'}",
            f"--service-account-signing-key-file={p / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--api-audiences=https://kubernetes.default.svc.cluster.local",
            "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--allow-privileged=true",
            f"--audit-policy-file={r / 'manifests' / 'audit-policy.yaml'}",
            f"--audit-log-path={self.audit_log}",
            "--audit-log-maxsize=200", "--audit-log-maxbackup=1",
            "--audit-log-mode=blocking",
            "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,"
            "ValidatingAdmissionWebhook,ResourceQuota,DefaultStorageClass",
            # Since 1.31 a restarted API server answers 429 "storage is (re)initializing" for a resource
            # until its watch cache has filled, although /readyz is ok; requests wait for the cache instead
            # (the behaviour before 1.31), so `lab sandbox up` after a crash is ready when it says so.
            "--feature-gates=ResilientWatchCacheInitialization=false",
        ]
        cm = [
            str(bins.kube_controller_manager),
            f"--kubeconfig={r / 'controller-manager.kubeconfig'}",
            f"--authentication-kubeconfig={r / 'controller-manager.kubeconfig'}",
            f"--authorization-kubeconfig={r / 'controller-manager.kubeconfig'}",
            "--bind-address=127.0.0.1", f"--secure-port={ports['kube-controller-manager']}",
            f"--cert-dir={p / 'cm'}",
            f"--service-account-private-key-file={p / 'sa.key'}",
            f"--root-ca-file={p / 'ca.crt'}",
            "--use-service-account-credentials=true",
            "--leader-elect=false",
            "--controllers=*,-nodeipam,-cloud-node-lifecycle,-route,-service",
            "--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
            "--concurrent-gc-syncs=20", "--concurrent-namespace-syncs=10",
        ]
        sched = [
            str(bins.kube_scheduler),
            f"--kubeconfig={r / 'scheduler.kubeconfig'}",
            f"--authentication-kubeconfig={r / 'scheduler.kubeconfig'}",
            f"--authorization-kubeconfig={r / 'scheduler.kubeconfig'}",
            "--bind-address=127.0.0.1", f"--secure-port={ports['kube-scheduler']}",
            f"--cert-dir={p / 'sched'}",
            "--leader-elect=false",
        ]
        etcd = [
            str(bins.etcd), "--name=lab-sandbox", f"--data-dir={r / 'etcd'}",
            f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=lab-sandbox={peer_url}",
            "--quota-backend-bytes=4294967296", "--snapshot-count=10000",
        ]
        sim = [sys.executable, "-m", "grader.sandbox.simulators", f"--state-dir={r}",
               f"--flavour={flavour}", f"--webhook-port={ports['webhook']}"]
        if self.state().get("with_ossm2"):
            sim.append("--with-ossm2")
        return {"etcd": etcd, "kube-apiserver": api, "kube-controller-manager": cm,
                "kube-scheduler": sched, "simulators": sim}

    def _write_static_files(self) -> None:
        (self.root / "manifests" / "audit-policy.yaml").write_text(
            "# Every request's verb, resource, user and user agent; no bodies.\n"
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\n"
            "rules:\n- level: Metadata\n")

    def _write_kubeconfigs(self, port: int) -> None:
        for name, cert in (("kubeconfig", "admin"), ("controller-manager.kubeconfig", "controller-manager"),
                           ("scheduler.kubeconfig", "scheduler"), ("simulator.kubeconfig", "simulator")):
            (self.root / name).write_text(self._kubeconfig(port, cert))
            (self.root / name).chmod(0o600)

    def _kubeconfig(self, port: int, cert: str) -> str:
        def b64(f: str) -> str:
            return base64.b64encode((self.pki / f).read_bytes()).decode()
        user = "lab-admin" if cert == "admin" else cert
        return json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "lab-sandbox",
            "clusters": [{"name": "lab-sandbox", "cluster": {
                "server": f"https://127.0.0.1:{port}", "certificate-authority-data": b64("ca.crt")}}],
            "users": [{"name": user, "user": {
                "client-certificate-data": b64(f"{cert}.crt"), "client-key-data": b64(f"{cert}.key")}}],
            "contexts": [{"name": "lab-sandbox", "context": {"cluster": "lab-sandbox", "user": user}}],
        }, indent=2)

    # -- down ----------------------------------------------------------------------
    def down(self, purge: bool = False, progress: Progress = _noop, timeout: float = 15.0) -> None:
        for name in reversed(COMPONENTS + MESH_COMPONENTS):
            pid = self.pid(name)
            if pid is None:
                self.pidfile(name).unlink(missing_ok=True)
                continue
            progress(name, "stopping")
            self._stop(pid, timeout)
            self.pidfile(name).unlink(missing_ok=True)
            progress(name, "stopped")
        if purge and self.root.exists():
            import shutil
            shutil.rmtree(self.root)
            progress("state", f"deleted {self.root}")

    @staticmethod
    def _stop(pid: int, timeout: float) -> None:
        try:
            os.killpg(pid, signal.SIGTERM)  # each component leads its own session/group
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            if not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[-1].startswith("Z"):
                return
            time.sleep(0.05)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
