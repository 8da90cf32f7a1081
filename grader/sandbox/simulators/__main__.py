"""Entry point of the sandbox's simulator process: `python -m grader.sandbox.simulators`.

Loads the CRDs, starts the kubelet stand-in, the sidecar injector, OLM-lite and the
Service Mesh operator (OSSM 2: Maistra; OSSM 3: Sail; with --with-ossm2 both, as a cluster migrating
from OSSM 2.6 to 3 runs them), then writes run/simulators.ready and runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from kubernetes import config


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m grader.sandbox.simulators")
    ap.add_argument("--state-dir", required=True, type=Path)
    ap.add_argument("--flavour", choices=("ossm2", "ossm3", "istio", "kubernetes"), default="ossm2")
    ap.add_argument("--webhook-port", type=int, required=True)
    ap.add_argument("--nodes", type=int, default=1)
    ap.add_argument("--with-ossm2", action="store_true",
                    help="ossm3: also serve maistra.io and run the OSSM 2.x (Maistra) operator")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    log = logging.getLogger("sandbox")

    from grader.sandbox.simulators import bootstrap
    from grader.sandbox.simulators.injector import InjectorServer
    from grader.sandbox.simulators.kubelet import Kubelet
    from grader.sandbox.simulators.olm import OLM
    from grader.sandbox.simulators.servicemesh.operator import ServiceMeshOperator

    root: Path = args.state_dir
    api = config.new_client_from_config(config_file=str(root / "simulator.kubeconfig"))
    api.user_agent = "lab-sandbox-simulators"
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    state = json.loads((root / "state.json").read_text())
    crd_dir = Path(state["crds"]) if state.get("crds") else None
    bootstrap.install_crds(api, args.flavour, crd_dir, with_ossm2=args.with_ossm2)
    injector = InjectorServer(args.flavour, args.webhook_port, root / "pki" / "webhook.crt", root / "pki" / "webhook.key")
    injector.start()
    ca = (root / "pki" / "ca.crt").read_bytes()
    kubelet = Kubelet(api, stop, nodes=args.nodes)
    kubelet.start()
    OLM(api, stop).start()
    if args.with_ossm2 and args.flavour == "ossm3":
        # The 2.x operator beside OSSM 3: its webhook asks this server for the ossm2 decision
        # (path /inject/ossm2), the Sail revisions' webhooks for theirs (/inject/ossm3/<revision>).
        ServiceMeshOperator(api, stop, "ossm2", injector.url + "/ossm2", ca).start()
    else:
        ServiceMeshOperator(api, stop, args.flavour, injector.url, ca).start()
    if args.flavour == "ossm3":
        from grader.sandbox.simulators.sail.operator import SailOperator
        SailOperator(api, stop, injector.url, ca).start()
    if args.flavour == "istio":
        bootstrap.install_upstream_istio(api, injector.url, ca)
    bootstrap.wait_basics(api, kubelet.names, stop)
    if args.flavour == "istio":
        bootstrap.wait_available(api, "istio-system", stop)
    (root / "run" / "simulators.ready").write_text("ok\n")
    log.info("simulators ready (flavour %s)", args.flavour)
    stop.wait()
    injector.httpd.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
