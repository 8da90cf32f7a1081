#!/usr/bin/env python3
"""Benchmarks, run against a sandbox of their own: requests per grade (from the API server's
audit log), grade latency against kubectl baselines, start/solve/sandbox latency, and scale.

Prints a Markdown table and writes JSON to benchmarks/results/latest.json.
    python benchmarks/run.py [--runs 7] [--scale 1,10,100,500] [--labs all|canary,...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from grader.labs import lab_names, load  # noqa: E402
from grader.sandbox.control_plane import Sandbox  # noqa: E402


def sh(cmd: list[str], env: dict, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if check and proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return elapsed, proc


def median_time(cmd: list[str], env: dict, runs: int) -> float:
    sh(cmd, env)  # warm the page cache
    return statistics.median(sh(cmd, env)[0] for _ in range(runs))


def kubectl_version(env: dict) -> str:
    out = subprocess.run(["kubectl", "version", "--client", "-o", "json"], env=env, capture_output=True, text=True)
    try:
        return json.loads(out.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        return "unknown"


def lab_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "grader", "--no-color", *args]


def audit_count(log: Path, start_line: int, agent_fragment: str) -> dict:
    verbs: dict[str, int] = {}
    discovery = 0
    with open(log) as f:
        for i, line in enumerate(f):
            if i < start_line:
                continue
            ev = json.loads(line)
            if ev.get("stage") != "ResponseComplete" or agent_fragment not in ev.get("userAgent", ""):
                continue
            verbs[ev["verb"]] = verbs.get(ev["verb"], 0) + 1
            uri = ev["requestURI"].split("?")[0]
            if uri in ("/api", "/apis") or (uri.count("/") <= 3 and uri.startswith("/apis/")):
                discovery += 1
    return {"total": sum(verbs.values()), "verbs": verbs, "discovery": discovery}


def lines(log: Path) -> int:
    with open(log) as f:
        return sum(1 for _ in f)


def machine() -> dict:
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // 1024 // 1024
    except OSError:
        pass
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "memory_gib": mem, "cpu": cpu, "python": platform.python_version(),
            "os": platform.platform()}


def _member_ready(obj: dict | None) -> bool:
    conds = ((obj or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def scale(sb: Sandbox, env: dict, sizes: list[int], runs: int) -> list[dict]:
    """N student namespaces holding the solved canary state, graded from one snapshot."""
    from grader.classroom import CLASS_LABEL
    from grader.cluster import Cluster, Target
    from grader.labs import data_root
    from grader.lifecycle import rollout_complete
    from grader.manifests import default_protocols, read
    from grader.student import STUDENT_LABEL
    cluster = Cluster(Target(str(sb.kubeconfig), None), purpose="bench-setup")
    docs = [d for d in read(data_root() / "labs" / "canary" / "setup") + read(data_root() / "solutions" / "canary")
            if d.get("kind") not in (None, "Namespace")]
    made = 0
    out = []
    for n in sizes:
        for i in range(made + 1, n + 1):
            ns = f"s{i}-webapp"  # student s<i>'s canary namespace, labelled as `lab class create` labels it
            cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
                CLASS_LABEL: "true", STUDENT_LABEL: f"s{i}"}}})
            latest: dict = {}
            for d in docs:
                d = json.loads(json.dumps(d))
                d["metadata"]["namespace"] = ns
                d.get("metadata", {}).get("annotations", {}).pop("lab.grader/flavours", None)
                default_protocols(d)
                latest[(d["kind"], d["metadata"]["name"])] = d
            member = [d for d in latest.values() if d["kind"] == "ServiceMeshMember"]
            for d in member:  # pods created before the namespace is a member get no sidecar
                cluster.apply(d)
            for d in member:
                cluster.wait(d["apiVersion"], d["kind"], "default", ns, _member_ready, timeout=120)
            for d in latest.values():
                if d["kind"] != "ServiceMeshMember":
                    cluster.apply(d)
        for i in range(made + 1, n + 1):
            for dep in ("web-v1", "web-v2"):
                cluster.wait("apps/v1", "Deployment", dep, f"s{i}-webapp", rollout_complete, timeout=600)
        made = n
        args = ["grade", "canary", "-o", "json"] + [a for i in range(1, n + 1) for a in ("-n", f"s{i}-webapp")]
        before = lines(sb.audit_log)
        elapsed, proc = sh(lab_cmd(*args), env)
        reqs = audit_count(sb.audit_log, before, "(grade)")
        data = json.loads(proc.stdout)
        reports = data if isinstance(data, list) else [data]
        times = [elapsed] + [sh(lab_cmd(*args), env)[0] for _ in range(max(1, runs // 2))]
        # the same namespaces as a class: `lab class grade` (renamed copies of the lab, one snapshot)
        before = lines(sb.audit_log)
        _, proc = sh(lab_cmd("class", "grade", "canary", "-o", "json"), env)
        class_reqs = audit_count(sb.audit_log, before, "(grade)")
        rows = json.loads(proc.stdout)
        class_times = [sh(lab_cmd("class", "grade", "canary", "-o", "json"), env)[0] for _ in range(max(1, runs // 2))]
        out.append({"n": n, "requests": reqs["total"], "seconds": round(statistics.median(times), 3),
                    "all_full_score": all(r["score"] == r["total"] for r in reports),
                    "class_requests": class_reqs["total"], "class_seconds": round(statistics.median(class_times), 3),
                    "class_all_passed": len(rows) == n and all(r["passed"] for r in rows)})
        print(f"  scale N={n}: {out[-1]}", file=sys.stderr)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--scale", default="1,10,100,500")
    ap.add_argument("--labs", default="all")
    ap.add_argument("--class-students", type=int, default=30, help="students starting canary at once (0: skip)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lab-bench-"))
    env = dict(os.environ, LAB_SANDBOX_DIR=str(root), NO_COLOR="1")
    env.pop("KUBECONFIG", None)
    # Measure what a user runs: an installed package has its bytecode compiled.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "grader")], check=False)
    sb = Sandbox(root=root)
    results: dict = {"machine": machine()}
    try:
        cold, _ = sh(lab_cmd("sandbox", "up"), env)
        sh(lab_cmd("sandbox", "down"), env)
        warm, _ = sh(lab_cmd("sandbox", "up"), env)
        # what `eval $(lab sandbox env)` sets: the sandbox's own kubectl first on PATH (a machine's
        # kubectl can be a slower wrapper: Google Cloud SDK's dispatcher took 0.119 s against 0.06 s)
        sandbox_env = sb.env()
        env["KUBECONFIG"] = sandbox_env["KUBECONFIG"]
        if "PATH" in sandbox_env:
            env["PATH"] = sandbox_env["PATH"] + os.pathsep + env.get("PATH", "")
        results["kubectl"] = kubectl_version(env)
        results["sandbox"] = {"cold_up_s": round(cold, 2), "warm_up_s": round(warm, 2)}
        print(f"sandbox: {results['sandbox']}", file=sys.stderr)

        start_first, _ = sh(lab_cmd("start", "canary"), env)
        start_again, _ = sh(lab_cmd("start", "canary"), env)
        solve, _ = sh(lab_cmd("solve", "canary"), env)
        results["lifecycle"] = {"start_first_s": round(start_first, 2), "start_reset_s": round(start_again, 2),
                                "solve_s": round(solve, 2)}
        print(f"lifecycle: {results['lifecycle']}", file=sys.stderr)

        lat = {
            "lab_grade_canary_s": median_time(lab_cmd("grade", "canary", "-o", "json"), env, args.runs),
            # the configuration checks alone: what the shell grader and one kubectl compare with
            # (canary's traffic check sends its own 1,000 requests through the data plane)
            "lab_grade_canary_no_traffic_s": median_time(lab_cmd("grade", "canary", "--no-traffic", "-o", "json"), env,
                                                         args.runs),
            "kubectl_get_pods_s": median_time(["kubectl", "get", "pods", "-n", "webapp", "-o", "json"], env,
                                              args.runs),
            "shell_grader_s": median_time(["bash", str(HERE / "shell_grader.sh")], env, args.runs),
            "python_import_kubernetes_s": median_time([sys.executable, "-c", "import kubernetes"], env, args.runs),
            "python_startup_s": median_time([sys.executable, "-c", "pass"], env, args.runs),
        }
        lat = {k: round(v, 3) for k, v in lat.items()}
        lat["ratio_vs_shell_grader"] = round(lat["lab_grade_canary_no_traffic_s"] / lat["shell_grader_s"], 2)
        lat["ratio_vs_one_kubectl"] = round(lat["lab_grade_canary_no_traffic_s"] / lat["kubectl_get_pods_s"], 2)
        results["latency"] = lat
        print(f"latency: {lat}", file=sys.stderr)

        # the bench sandbox is ossm2: the labs that run there (the -3 labs refuse another flavour)
        names = [n for n in lab_names() if "ossm2" in load(n).flavours] if args.labs == "all" else args.labs.split(",")
        reqs = {}
        for name in names:
            before = lines(sb.audit_log)
            sh(lab_cmd("grade", name, "-o", "json"), env)
            reqs[name] = audit_count(sb.audit_log, before, "(grade)")
        # canary is started: its count is the headline; other labs are graded unstarted (same reads)
        results["requests_per_grade"] = reqs
        print(f"requests: {reqs}", file=sys.stderr)
        sh(lab_cmd("finish", "canary"), env)
        sizes = [int(s) for s in args.scale.split(",") if s]
        results["scale"] = scale(sb, env, sizes, args.runs) if sizes else []
        results["class"] = class_starts(sb, env, args.class_students) if args.class_students else None
    finally:
        sh(lab_cmd("sandbox", "down", "--purge"), env, check=False)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(render(results))
    return 0


def class_starts(sb: Sandbox, env: dict, students: int) -> dict:
    """A class of `students` on one sandbox, each running `lab start canary` with their own
    kubeconfig: all at once, then (after a reset by `finish`) one after another."""
    import concurrent.futures as cf
    folder = Path(tempfile.mkdtemp(prefix="lab-bench-class-"))
    roster = folder / "roster.csv"
    names = [f"b{i}" for i in range(1, students + 1)]
    roster.write_text("".join(f"{n}\n" for n in names))
    t0 = time.monotonic()
    sh(lab_cmd("class", "create", str(roster), "--out", str(folder)), env)
    created = time.monotonic() - t0

    def start(n: str) -> float:
        return sh(lab_cmd("--kubeconfig", str(folder / f"{n}.kubeconfig"), "start", "canary"), env)[0]
    try:
        t0 = time.monotonic()
        with cf.ThreadPoolExecutor(students) as pool:
            each = list(pool.map(start, names))
        together = time.monotonic() - t0
        for n in names:
            sh(lab_cmd("--kubeconfig", str(folder / f"{n}.kubeconfig"), "finish", "canary"), env)
        t0 = time.monotonic()
        for n in names:
            start(n)
        in_turn = time.monotonic() - t0
    finally:
        sh(lab_cmd("class", "delete"), env, check=False)
    out = {"students": students, "class_create_s": round(created, 2), "all_at_once_s": round(together, 2),
           "slowest_student_s": round(max(each), 2), "one_after_another_s": round(in_turn, 2)}
    print(f"class: {out}", file=sys.stderr)
    return out


def render(r: dict) -> str:
    m = r["machine"]
    lat = r["latency"]
    rows = [
        f"Machine: {m['cpus']} cores, {m['memory_gib']} GiB, {m['cpu']}, Python {m['python']}",
        "",
        "| measure | value |", "|---|---|",
        f"| sandbox up, cold (new state) | {r['sandbox']['cold_up_s']} s |",
        f"| sandbox up, warm (state kept) | {r['sandbox']['warm_up_s']} s |",
        f"| `lab start canary` (first / reset) | {r['lifecycle']['start_first_s']} s / {r['lifecycle']['start_reset_s']} s |",
        f"| `lab solve canary` (until rolled out) | {r['lifecycle']['solve_s']} s |",
        f"| `lab grade canary` (median; with its 1,000-request traffic check) | {lat['lab_grade_canary_s']} s |",
        f"| `lab grade canary --no-traffic` (median) | {lat['lab_grade_canary_no_traffic_s']} s |",
        f"| shell grader, one `kubectl get` per check (median) | {lat['shell_grader_s']} s |",
        f"| one `kubectl get pods`, the sandbox's kubectl {r.get('kubectl', '?')} (median) | {lat['kubectl_get_pods_s']} s |",
        f"| `python -c 'import kubernetes'` / bare `python` | {lat['python_import_kubernetes_s']} s / {lat['python_startup_s']} s |",
        f"| grade --no-traffic ÷ shell grader / ÷ one kubectl | {lat['ratio_vs_shell_grader']} / "
        f"{lat['ratio_vs_one_kubectl']} |",
        "", "| lab | requests per grade | of which discovery | write verbs |", "|---|---|---|---|",
    ]
    for name, c in r["requests_per_grade"].items():
        writes = sum(v for k, v in c["verbs"].items() if k not in ("get", "list", "watch"))
        rows.append(f"| {name} | {c['total']} | {c['discovery']} | {writes} |")
    if r.get("scale"):
        rows += ["", "| student namespaces N | requests | seconds | all graded full score "
                 "| `lab class grade` requests | seconds | all passed |", "|---|---|---|---|---|---|---|"]
        rows += [f"| {s['n']} | {s['requests']} | {s['seconds']} | {s['all_full_score']} | {s.get('class_requests', '-')} "
                 f"| {s.get('class_seconds', '-')} | {s.get('class_all_passed', '-')} |" for s in r["scale"]]
    if r.get("class"):
        c = r["class"]
        rows += ["", f"| {c['students']} students, `lab start canary` each | seconds |", "|---|---|",
                 f"| `lab class create` | {c['class_create_s']} |",
                 f"| all at once (slowest student) | {c['all_at_once_s']} ({c['slowest_student_s']}) |",
                 f"| one after another | {c['one_after_another_s']} |"]
    if r.get("dataplane"):   # results of older runs: the data plane is benchmarks/traffic.py's now
        from dataplane import render as dataplane_render
        rows += dataplane_render(r["dataplane"])
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
