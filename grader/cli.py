"""The `lab` command line. The only module that imports click."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from grader import __version__
from grader.errors import UserError

EXIT_OK, EXIT_CHECKS_FAILED, EXIT_ERROR = 0, 1, 2
# A Kubernetes namespace name is a DNS-1123 label (k8s.io/apimachinery/pkg/util/validation: IsDNS1123Label).
DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"


@dataclass
class App:
    kubeconfig: str | None
    context: str | None
    flavour: str | None
    color: bool
    debug: bool
    _err: Any = None

    @property
    def err(self) -> Any:
        """rich Console on stderr: progress and diagnostics (stdout is for data)."""
        if self._err is None:
            from rich.console import Console
            self._err = Console(stderr=True, no_color=not self.color, highlight=False,
                                force_terminal=None if self.color else False)
        return self._err

    def out(self) -> Any:
        from rich.console import Console
        return Console(no_color=not self.color, highlight=False, force_terminal=None if self.color else False)

    def cluster(self, purpose: str) -> Any:
        from grader.cluster import Cluster, DiscoveryCache, resolve_target
        target = resolve_target(self.kubeconfig, self.context)
        if target.note:  # plain click: importing rich just for this line costs ~50 ms
            click.echo(click.style(target.note, dim=True) if self.color else target.note, err=True)
        # grading reads discovery from the cache (kubectl does too); the lifecycle verbs ask the server
        cache = DiscoveryCache.default() if purpose == "grade" else None
        return Cluster(target, purpose=purpose, discovery_cache=cache)

    def student(self) -> str | None:
        """The student whose kubeconfig this is (lab class create writes it), or None."""
        from grader.cluster import ClusterError, resolve_target
        from grader.student import student_of
        try:
            return student_of(resolve_target(self.kubeconfig, self.context))
        except ClusterError:
            return None

    def lab(self, name: str) -> Any:
        """The lab, renamed into the student's namespaces when the kubeconfig is a student's."""
        from grader.labs import load
        from grader.student import for_student
        lab = load(name)
        who = self.student()
        return for_student(lab, who) if who else lab

    def fail(self, message: str, code: int = EXIT_ERROR) -> NoReturn:
        prefix = click.style("error:", fg="red", bold=True) if self.color else "error:"
        click.echo(f"{prefix} {message}", err=True)
        sys.exit(code)


class ConsoleProgress:
    """`· Applying Deployment web-v1 in webapp ... SUCCESS` lines on stderr."""

    def __init__(self, app: App) -> None:
        self.app = app

    @contextlib.contextmanager
    def step(self, text: str) -> Iterator[None]:
        con = self.app.err
        status = con.status(text, spinner="dots") if con.is_terminal else contextlib.nullcontext()
        try:
            with status:
                yield
        except BaseException:
            con.print(f"· {text} ... [bold red]FAILED[/bold red]", highlight=False)
            raise
        con.print(f"· {text} ... [green]SUCCESS[/green]", highlight=False)

    def note(self, text: str) -> None:
        self.app.err.print(f"  {text}", highlight=False)


@contextlib.contextmanager
def handled(app: App) -> Iterator[None]:
    """User-facing errors become one line and exit code 2; --debug shows the traceback."""
    try:
        yield
    except UserError as e:
        if app.debug:
            raise
        app.fail(str(e))
    except KeyboardInterrupt:
        app.fail("interrupted")


def complete_lab(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from click.shell_completion import CompletionItem

    from grader.labs import lab_names
    try:
        return [CompletionItem(n) for n in lab_names() if n.startswith(incomplete)]
    except Exception:  # noqa: BLE001 - completion must never fail loudly
        return []


LAB_ARG = click.argument("name", shell_complete=complete_lab)

_KUBECONFIG_HELP = "Path to the kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster, then the lab sandbox)."
_FLAVOUR_HELP = "Service Mesh flavour; auto detects maistra.io (OSSM 2.x), sailoperator.io (OSSM 3) or plain Istio."


def _set(attr: str, convert: Any = None) -> Any:
    """A callback storing a global option given after the subcommand on the App (kubectl and
    oc accept their global flags anywhere on the line)."""
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None or value is False:
            return  # not given here: the value before the subcommand (or the default) stands
        setattr(ctx.ensure_object(App), attr, convert(value) if convert else value)
    return callback


def global_options(f: Any) -> Any:
    """`--kubeconfig`, `--context`, `--flavour`, `--no-color`, `--debug` on a subcommand too."""
    for opt in reversed([
        click.option("--kubeconfig", metavar="PATH", expose_value=False, callback=_set("kubeconfig"),
                     help=_KUBECONFIG_HELP),
        click.option("--context", metavar="NAME", expose_value=False, callback=_set("context"),
                     help="The kubeconfig context to use."),
        click.option("--flavour", type=click.Choice(["auto", "ossm2", "ossm3", "istio"]), expose_value=False,
                     callback=_set("flavour", lambda v: None if v == "auto" else v), help=_FLAVOUR_HELP),
        click.option("--no-color", is_flag=True, default=None, expose_value=False,
                     callback=_set("color", lambda v: False), help="Plain output without colours."),
        click.option("--debug", is_flag=True, default=None, expose_value=False, callback=_set("debug"),
                     help="Show tracebacks for errors."),
    ]):
        f = opt(f)
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="lab")
@click.option("--kubeconfig", envvar=None, metavar="PATH", help=_KUBECONFIG_HELP)
@click.option("--context", metavar="NAME", help="The kubeconfig context to use.")
@click.option("--flavour", type=click.Choice(["auto", "ossm2", "ossm3", "istio"]), default="auto", show_default=True,
              help=_FLAVOUR_HELP)
@click.option("--no-color", is_flag=True, help="Plain output without colours.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def main(ctx: click.Context, kubeconfig: str | None, context: str | None, flavour: str, no_color: bool,
         debug: bool) -> None:
    """Practise OpenShift Service Mesh (Istio) the way hands-on exams test it.

    \b
    lab list              the labs
    lab show canary       the task
    lab start canary      set up the exercise
    lab grade canary      score your work (-o json|junit)
    lab solve canary      apply the reference solution
    lab finish canary     clean up
    lab sandbox up        a local practice cluster, no Docker needed

    The global options may also follow the subcommand, as with kubectl and oc.
    """
    import os
    color = not no_color and "NO_COLOR" not in os.environ
    ctx.obj = App(kubeconfig, context, None if flavour == "auto" else flavour, color, debug)


@main.command("list")
@global_options
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def list_cmd(app: App, fmt: str) -> None:
    """List the labs (and which one is started, when a cluster is reachable)."""
    from grader.labs import load_all
    from grader.student import class_unsafe
    with handled(app):
        labs = sorted(load_all(), key=lambda lab: (lab.order, lab.name))
        started = _started_labs(app)
        rows = [{"name": lab.name, "title": lab.title, "step": lab.step, "points": lab.total,
                 "status": started.get(lab.name, "-") if started is not None else "unknown",
                 "class": "refused: " + class_unsafe(lab) if class_unsafe(lab) else "per student",
                 "flavours": list(lab.flavours), "requires": list(lab.requires)} for lab in labs]
        if fmt == "json":
            click.echo(json.dumps(rows, indent=2))
            return
        from rich.table import Table
        table = Table(show_edge=False, header_style="bold")
        for col in ("Lab", "Title", "Guide step", "Flavours", "Points", "Status", "In a class"):
            table.add_column(col)
        for r in rows:
            flavours = ", ".join(r["flavours"]) + "".join(f" + {g}" for g in r["requires"])  # migrate-3: + maistra.io
            table.add_row(r["name"], r["title"], r["step"], flavours, str(r["points"]), r["status"],
                          "per student" if r["class"] == "per student" else "refused")
        app.out().print(table)


@main.command("checks")
@global_options
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True)
@click.pass_obj
def checks_cmd(app: App, fmt: str) -> None:
    """List the check library a lab.yaml can use: params, what each reads, which labs use it."""
    from grader.checks import catalogue
    from grader.labs import load_all
    with handled(app):
        entries = catalogue(load_all())
    if fmt == "json":
        click.echo(json.dumps(entries, indent=2, default=str))
        return
    if fmt == "markdown":
        from grader.report.catalogue import to_markdown
        click.echo(to_markdown(entries), nl=False)
        return
    from rich.markup import escape
    from rich.table import Table
    table = Table(show_edge=False, header_style="bold", show_lines=True)
    for col in ("Check", "What it checks", "Params (required first)", "Used by labs"):
        table.add_column(col)
    for e in entries:
        params = ", ".join(p["name"] if p["required"] else f"{p['name']}={json.dumps(p['default'])}"
                           for p in e["params"])
        labs = sorted({u.split("/")[0] for u in e["used_by"]})
        table.add_row(e["name"], e["description"], escape(params), ", ".join(labs) or "-")
    app.out().print(table)


def _started_labs(app: App) -> dict[str, str] | None:
    """{lab: "started"} from the lab label on namespaces; None when no cluster answers quickly."""
    from grader import kinds as K
    from grader.cluster import ClusterError
    from grader.manifests import LAB_LABEL
    try:
        from grader.cluster import Cluster, DiscoveryCache, resolve_target
        cluster = Cluster(resolve_target(app.kubeconfig, app.context), timeout=3, purpose="list",
                          discovery_cache=DiscoveryCache.default())
        nss = cluster.list(K.NAMESPACE, label_selector=LAB_LABEL)
    except ClusterError:
        return None
    # a class's student namespaces carry the lab label too: they are the students' labs, not this one
    from grader.student import STUDENT_LABEL
    return {ns["metadata"]["labels"][LAB_LABEL]: "started" for ns in nss
            if STUDENT_LABEL not in ns["metadata"]["labels"]}


@main.command()
@LAB_ARG
@global_options
@click.pass_obj
def show(app: App, name: str) -> None:
    """Show a lab's task, then its rubric (check ids, points, pass mark) from lab.yaml."""
    from grader.student import rename
    with handled(app):
        lab = _on_control_plane(app, app.lab(name))
        text = rename(_for_flavour(lab.task(), app.flavour), lab.renames)
        if RUBRIC_MARK in text:
            text = text.replace(RUBRIC_MARK, rubric(lab))
        else:
            text = text.rstrip("\n") + "\n\n## How it is graded\n\n" + rubric(lab)
        from rich.markdown import Markdown
        app.out().print(Markdown(text))


def _on_control_plane(app: App, lab: Any) -> Any:
    """The lab on the cluster's own control plane when one answers quickly (grader.controlplane:
    the task then names it instead of basic in istio-system); as written without a cluster."""
    from grader import controlplane as CP
    from grader import flavour as F
    from grader.cluster import Cluster, ClusterError, DiscoveryCache, resolve_target
    try:
        cluster = Cluster(resolve_target(app.kubeconfig, app.context), timeout=3, purpose="list",
                          discovery_cache=DiscoveryCache.default())
        return CP.for_control_plane(lab, CP.find(cluster, F.of_cluster(app.flavour, cluster)[0]))
    except ClusterError:  # no cluster, none reachable in 3 s, or no mesh (flavour.NoMesh)
        return lab


RUBRIC_MARK = "<!-- rubric -->"  # where task.md wants the rubric; without it, the rubric goes last


def rubric(lab: Any) -> str:
    """The grading table as Markdown, written from lab.yaml (the task text keeps no copy)."""
    rows = ["| check | points |", "|---|---:|"]
    rows += [f"| `{c.id}`: {c.description} | {c.points} |" for c in lab.checks]
    return "\n".join([*rows, "", f"Pass mark: {lab.pass_mark} of {lab.total} points."])


def _for_flavour(text: str, flavour: str | None) -> str:
    """Keep `<!-- if FLAVOUR -->…<!-- endif -->` blocks for the chosen flavour (all when unknown)."""
    import re
    if flavour is None:
        return re.sub(r"<!-- (if \w+|endif) -->\n?", "", text)
    def keep(m: re.Match[str]) -> str:
        return m.group(2) if m.group(1) == flavour else ""
    return re.sub(r"<!-- if (\w+) -->\n?(.*?)<!-- endif -->\n?", keep, text, flags=re.S)


@main.command()
@LAB_ARG
@global_options
@click.pass_obj
def start(app: App, name: str) -> None:
    """Set up a lab's starting point (run again to reset it)."""
    from grader import lifecycle
    with handled(app):
        lab = app.lab(name)
        cluster = app.cluster("start")
        flavour = lifecycle.start(lab, cluster, ConsoleProgress(app), app.flavour)
        app.err.print(f"[bold]Lab {lab.name} is ready[/bold] ({flavour}). Read the task: lab show {lab.name}")


@main.command()
@LAB_ARG
@global_options
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json", "junit"]), default="table",
              show_default=True, help="Report format (json and junit go to stdout).")
@click.option("-n", "--namespace", "namespaces", multiple=True,
              help="Grade this namespace instead of the lab's own; repeat to grade several students' "
                   "namespaces from one read of the cluster (json then prints a list). A namespace that "
                   "does not exist is an error, not a score of 0.")
@click.option("-f", "--from-file", "files", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Grade these YAML files or folders instead of the cluster (offline), e.g. the output "
                   "of 'oc get deploy,pods,svc,gw,vs,dr,pa -n webapp -o yaml'; repeatable.")
@click.option("-w", "--watch", is_flag=True,
              help="Keep grading: again each time an object the checks read changes (Ctrl-C stops). "
                   "With -o json, one JSON report per line.")
@click.option("--no-traffic", is_flag=True,
              help="Send no requests: the traffic checks are skipped and their points left out of the total "
                   "(the pass mark is scaled to what is left).")
@click.pass_obj
def grade(app: App, name: str, fmt: str, namespaces: tuple[str, ...], files: tuple[Path, ...], watch: bool,
          no_traffic: bool) -> None:
    """Grade your work against the live cluster (read-only), or against YAML files (-f).

    Exit code 0 when the lab is passed (score at or above the pass mark; every namespace's,
    with -n), 1 when it is not, 2 for a usage, configuration or cluster error.
    """
    import re

    from grader import grading
    if watch and (files or fmt == "junit"):
        app.fail("--watch grades the live cluster as a table or JSON lines; drop -f / -o junit")
    for ns in namespaces:
        if len(ns) > 63 or not re.fullmatch(DNS1123_LABEL, ns):
            app.fail(f"-n {ns!r} is not a namespace name (lowercase letters, digits and '-', at most 63, "
                     "starting and ending with a letter or digit)")
    with handled(app):
        lab = app.lab(name)
        if lab.student and namespaces:
            app.fail("-n grades other namespaces: a student's kubeconfig grades the student's own; drop -n")
        if watch:
            _watch(app, lab, list(namespaces), fmt, not no_traffic)
        if files:
            graded = grading.grade_files(lab, list(files), list(namespaces), app.flavour)
            count = sum(1 for _ in graded.snapshot)
            click.echo(f"Graded offline from {count} object{'' if count == 1 else 's'} in {', '.join(map(str, files))} "
                       f"({graded.snapshot.flavour}); pods and status come only from what the files hold.", err=True)
        else:
            graded = grading.grade_cluster(lab, app.cluster("grade"), list(namespaces), app.flavour, not no_traffic)
    _write(app, graded.reports, fmt)
    sys.exit(_verdict(graded.reports))


def _verdict(reports: list[Any]) -> int:
    """The one rule for `grade`'s exit code: 0 exactly when every report is passed
    (score >= pass mark), as the JSON's `passed` says."""
    return EXIT_OK if reports and all(r.passed for r in reports) else EXIT_CHECKS_FAILED


def _write(app: App, reports: list[Any], fmt: str) -> None:
    """Reports to stdout through the one renderer (grader.report.render)."""
    from grader.report import render
    if fmt == "table":
        con = app.out()
        text = render(reports, fmt, width=con.width, color=app.color and con.is_terminal,
                      encoding=getattr(sys.stdout, "encoding", None) or "utf-8")
    else:
        text = render(reports, fmt)
    click.echo(text, nl=False)
    sys.stdout.flush()


def _watch(app: App, lab: Any, namespaces: list[str], fmt: str, traffic: bool = True) -> NoReturn:
    """`grade --watch`: a fresh report after every change; Ctrl-C exits with the last verdict."""
    import datetime as dt

    from grader import grading
    last: list[Any] = []
    where = ", ".join(namespaces or [lab.namespace])

    def emit(reports: list[Any], cause: str | None) -> None:
        last[:] = reports
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        why = f"after a change ({cause})" if cause else "first grade"
        if fmt == "json":
            # the diagnostic first: whoever reads a report line can rely on it being written
            click.echo(f"{stamp} graded {why}; watching (Ctrl-C stops)", err=True)
            _write(app, reports, "jsonl")
            return
        out = app.out()
        if out.is_terminal:
            out.clear()
        else:
            out.rule(f"{stamp} {why}")
        _write(app, reports, "table")
        app.err.print(f"[dim]{stamp} graded {why}; watching {where} (Ctrl-C stops)[/dim]")

    try:
        grading.watch(lab, app.cluster("grade"), namespaces, app.flavour, emit, traffic=traffic)
    except KeyboardInterrupt:
        pass
    sys.exit(_verdict(last))


@main.command()
@LAB_ARG
@global_options
@click.pass_obj
def solve(app: App, name: str) -> None:
    """Apply the reference solution and wait until it is in effect."""
    from grader import exam, lifecycle
    with handled(app):
        lab = app.lab(name)
        cluster = app.cluster("solve")
        if exam.current(cluster) is not None:
            app.fail("an exam is running: solutions are shown after it ends (lab exam finish)")
        lifecycle.solve(lab, cluster, ConsoleProgress(app), app.flavour)
        app.err.print(f"[bold]Reference solution applied.[/bold] Check it: lab grade {lab.name}")


@main.command()
@LAB_ARG
@global_options
@click.pass_obj
def finish(app: App, name: str) -> None:
    """Clean up everything the lab created."""
    from grader import lifecycle
    with handled(app):
        lab = app.lab(name)
        lifecycle.finish(lab, app.cluster("finish"), ConsoleProgress(app), app.flavour)
        app.err.print(f"[bold]Lab {lab.name} finished[/bold]; its objects and namespaces are gone.")


# -- class -------------------------------------------------------------------------
@main.group("class")
def class_group() -> None:
    """A class on one cluster (students' namespaces, kubeconfigs, a gradebook), or a gradebook of handed-in reports."""


def _instructor(app: App) -> None:
    if app.student():
        app.fail("lab class commands are the instructor's: this kubeconfig is a student's")


@class_group.command("create")
@click.argument("roster", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("kubeconfigs"),
              show_default=True, help="Folder for the students' kubeconfig files (<name>.kubeconfig).")
@global_options
@click.pass_obj
def class_create(app: App, roster: Path, out_dir: Path) -> None:
    """Set up every student of ROSTER (name[,email] a line); run again after adding students."""
    from grader import classroom
    from grader.labs import load_all
    _instructor(app)
    with handled(app):
        students = classroom.read_roster(roster)
        files = classroom.create(app.cluster("class"), students, out_dir, load_all(), app.flavour,
                                 ConsoleProgress(app))
        app.err.print(f"[bold]Class ready[/bold]: {len(files)} student{'s' if len(files) != 1 else ''}; "
                      f"hand each their kubeconfig from {out_dir}/ (lab --kubeconfig NAME.kubeconfig start LAB)")


@class_group.command("delete")
@global_options
@click.pass_obj
def class_delete(app: App) -> None:
    """Remove everything lab class create made (the students' namespaces with their work)."""
    from grader import classroom
    _instructor(app)
    with handled(app):
        n = classroom.delete(app.cluster("class"), ConsoleProgress(app))
        app.err.print(f"[bold]Class deleted[/bold] ({n} object{'s' if n != 1 else ''}).")


@class_group.command("list")
@global_options
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def class_list(app: App, fmt: str) -> None:
    """The students of the class on this cluster and their namespaces."""
    from grader import classroom
    _instructor(app)
    with handled(app):
        rows = classroom.members(app.cluster("class"))
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table
    table = Table(show_edge=False, header_style="bold")
    for col in ("Student", "E-mail", "Namespaces"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["email"] or "-", ", ".join(r["namespaces"]))
    app.out().print(table)


@class_group.command("grade")
@LAB_ARG
@global_options
@click.option("-o", "--format", "fmt", type=click.Choice(["table", "csv", "json", "junit", "html"]), default="table",
              show_default=True, help="Report format (html: a self-contained heat map).")
@click.option("--output", "output_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of stdout.")
@click.option("-w", "--watch", is_flag=True,
              help="A live board: grade again at every change (with --output, the file is rewritten; "
                   "an HTML board reloads itself). Ctrl-C stops.")
@click.pass_obj
def class_grade(app: App, name: str, fmt: str, output_file: Path | None, watch: bool) -> None:
    """Grade every student's copy of a lab from one read of the cluster, one row per student.

    Exit code 0 when every student passed, 1 when one did not, 2 for an error."""
    from grader import classroom
    from grader.labs import load
    from grader.report import render_class
    _instructor(app)
    last: list[Any] = []

    def emit(rows: list[Any], cause: str | None) -> None:
        import datetime as dt
        last[:] = rows
        text = render_class(rows, fmt, refresh=5 if watch else None)
        if output_file:
            tmp = output_file.with_name(f".{output_file.name}.tmp")
            tmp.write_text(text)
            tmp.replace(output_file)  # a browser reloading the board never sees half a file
            click.echo(f"Wrote {output_file}", err=True)
        elif watch and fmt == "table":
            out = app.out()
            if out.is_terminal:
                out.clear()
            click.echo(text, nl=False)
        else:
            click.echo(text, nl=False)
        if watch:
            stamp = dt.datetime.now().strftime("%H:%M:%S")
            why = f"after a change ({cause})" if cause else "first grade"
            click.echo(f"{stamp} graded {why}; watching (Ctrl-C stops)", err=True)
        sys.stdout.flush()

    with handled(app):
        lab = load(name)
        cluster = app.cluster("grade")
        if watch:
            try:
                classroom.watch(lab, cluster, app.flavour, emit)
            except KeyboardInterrupt:
                pass
        else:
            emit(classroom.grade(lab, cluster, [m["name"] for m in classroom.members(cluster)], app.flavour), None)
    sys.exit(EXIT_OK if last and all(r.passed for _, r in last) else EXIT_CHECKS_FAILED)


@class_group.command("gradebook")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--format", "fmt", type=click.Choice(["table", "csv", "json", "junit", "html"]), default="table",
              show_default=True, help="Report format (html: a self-contained heat map).")
@click.option("--output", "output_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of stdout.")
@click.pass_obj
def class_gradebook(app: App, files: tuple[Path, ...], fmt: str, output_file: Path | None) -> None:
    """Merge reports handed in as files (lab grade LAB -o json > NAME.json, one per student, NAME
    the student) into the class's gradebook; no cluster needed.

    A report edited after grading (its checksum) is flagged in every format and on stderr, and
    never counted as passed. Exit code 0 when every student passed with an intact report, 1
    when one did not, 2 for a file that cannot be merged."""
    from grader import gradebook
    from grader.report import render_class
    try:
        handed = gradebook.merge(list(files))
    except gradebook.GradebookError as e:
        app.fail(str(e))
    for h in handed:
        if h.problem:
            click.echo(f"warning: {h.path}: {h.student}'s report was edited after grading ({h.problem}); "
                       "flagged, not counted as passed", err=True)
    text = render_class([(h.student, h.report) for h in handed], fmt, flags={h.student: h.problem for h in handed})
    if output_file:
        try:
            output_file.write_text(text)
        except OSError as e:
            app.fail(f"cannot write {output_file}: {e.strerror or e}")
        click.echo(f"Wrote {output_file}", err=True)
    else:
        click.echo(text, nl=False)
    sys.exit(EXIT_OK if all(h.report.passed and not h.problem for h in handed) else EXIT_CHECKS_FAILED)


# -- exam --------------------------------------------------------------------------
@main.group("exam")
def exam_group() -> None:
    """A timed exam: several labs at once, one score, no solutions until it ends."""


@exam_group.command("start")
@click.option("--labs", "labs", help="Comma-separated labs, one task each (e.g. canary,mtls).")
@click.option("--random", "random_n", type=int, help="Instead of --labs: N labs drawn at random.")
@click.option("--seed", type=int, help="Seed for --random (the same seed, the same exam).")
@click.option("--mock", is_flag=True,
              help="Instead of --labs: the mock EX328 exam (injection, canary, fault-delay, resilience, mtls; "
                   "120 minutes, pass mark 70 %).")
@click.option("--minutes", type=click.FloatRange(min=0.05), default=120.0, show_default=True)
@global_options
@click.pass_obj
def exam_start(app: App, labs: str | None, random_n: int | None, seed: int | None, mock: bool, minutes: float) -> None:
    """Set up the labs' starting points together, each task in namespaces of its own."""
    from grader import exam
    if sum(map(bool, (labs, random_n, mock))) != 1:
        app.fail("give exactly one of --labs a,b, --random N or --mock")
    with handled(app):
        e = exam.start(app.cluster("exam"), exam.choose(labs, random_n, seed, mock), minutes,
                       app.flavour, ConsoleProgress(app), name=exam.MOCK.name if mock else "")
        _print_exam(app, e)


def _print_exam(app: App, e: Any) -> None:
    from grader import exam
    left = max(0.0, e.left())
    title = exam.MOCK.title if e.name == exam.MOCK.name else "Exam"
    app.err.print(f"[bold]{title}[/bold]: {len(e.labs)} tasks, deadline {e.deadline:%H:%M:%S} UTC "
                  f"({int(left // 60)} min {int(left % 60)} s left, pass mark {exam.PASS_PERCENT} %)")
    for task, lab in e.tasks():
        app.err.print(f"  {task}: {lab.name} ({lab.total} points) in namespace {lab.namespace}: {lab.title}")


@exam_group.command("status")
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("-w", "--watch", is_flag=True, help="Stay until the deadline, then take the exam's grade.")
@global_options
@click.pass_obj
def exam_status(app: App, fmt: str, watch: bool) -> None:
    """Time left and the tasks; with --watch, the grade taken at the deadline."""
    from grader import exam
    with handled(app):
        cluster = app.cluster("exam")
        e = exam.current(cluster)
        if e is None:
            app.fail("no exam is running; start one with lab exam start --labs a,b")
        if fmt == "json":
            click.echo(json.dumps({"name": e.name, "labs": list(e.labs), "deadline": exam.iso(e.deadline),
                                   "seconds_left": max(0, int(e.left())), "graded": bool(e.final),
                                   "tasks": [{"task": t, "lab": lab.name, "points": lab.total, "namespace": lab.namespace}
                                             for t, lab in e.tasks()]}, indent=2))
        else:
            _print_exam(app, e)
        if watch:
            result = exam.grade_at_deadline(cluster, app.flavour)
            app.err.print(f"Time is up: {result['score']}/{result['total']} ({result['percent']} %) at {result['at']}")


@exam_group.command("grade")
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@global_options
@click.pass_obj
def exam_grade(app: App, fmt: str) -> None:
    """One report: each task's score and the total (after the deadline: the grade at the deadline)."""
    from grader import exam
    with handled(app):
        result = exam.grade(app.cluster("exam"), app.flavour)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        for t in result["tasks"]:
            click.echo(f"{t['lab']:<16} {t['namespace']:<20} {t['score']:>4}/{t['total']:<4}")
        late = " (LATE: the first grade after the deadline)" if result["late"] else ""
        verdict = "PASSED" if result["passed"] else "NOT PASSED"
        click.echo(f"Total: {result['score']}/{result['total']} ({result['percent']} %, pass mark 70 %) {verdict} "
                   f"at {result['at']}{late}")
    sys.exit(EXIT_OK if result["passed"] else EXIT_CHECKS_FAILED)


@exam_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def exam_verify(app: App, file: Path) -> None:
    """Check an exam result file (lab exam grade -o json): exit 0 when untouched, 1 when edited."""
    from grader import exam
    try:
        result = json.loads(file.read_text())
    except (ValueError, OSError) as e:
        app.fail(f"{file}: not a JSON exam result ({e})")
    problem = exam.verify(result)
    if problem:
        app.fail(f"{file}: {problem}", code=EXIT_CHECKS_FAILED)
    click.echo(f"{file}: intact ({result['score']}/{result['total']}, {result['percent']} %, at {result['at']})")


@exam_group.command("finish")
@global_options
@click.pass_obj
def exam_finish(app: App) -> None:
    """Remove everything the exam created; solutions can be shown again."""
    from grader import exam
    with handled(app):
        exam.finish(app.cluster("exam"), app.flavour, ConsoleProgress(app))
        app.err.print("[bold]Exam finished[/bold]; lab solve works again.")


# -- sandbox -------------------------------------------------------------------------
@main.group()
def sandbox() -> None:
    """A local practice cluster: a real Kubernetes control plane plus simulated OpenShift Service Mesh."""


@sandbox.command("install")
@click.pass_obj
def sandbox_install(app: App) -> None:
    """Build the control plane, etcd, kubectl and istioctl with Go into the cache (once; see the README for times)."""
    from grader.sandbox import binaries
    code = binaries.install()
    if code:
        sys.exit(EXIT_ERROR)


@sandbox.command("up")
@click.option("--flavour", "sb_flavour", type=click.Choice(["ossm2", "ossm3", "istio", "kubernetes"]), default=None,
              help="Simulated mesh: OpenShift Service Mesh 2.x (default), upstream Istio, or none (kubernetes).")
@click.option("--crds", type=click.Path(exists=True, file_okay=False), default=None,
              help="Load your own CRD files from this folder instead of the project's.")
@click.option("--with-ossm2", is_flag=True, default=False,
              help="With --flavour ossm3: also run the OSSM 2.x operator and serve maistra.io, as a cluster "
                   "migrating from OSSM 2.6 to 3 does (the migrate-3 lab).")
@click.option("--timeout", type=float, default=90.0, show_default=True)
@click.pass_obj
def sandbox_up(app: App, sb_flavour: str | None, crds: str | None, with_ossm2: bool, timeout: float) -> None:
    """Start the sandbox (idempotent)."""
    from pathlib import Path

    from grader.sandbox.control_plane import Sandbox
    flavour = sb_flavour or app.flavour or "ossm2"
    sb = Sandbox()
    with handled(app):
        import time
        t0 = time.monotonic()
        with _progress(app) as progress:
            st = sb.up(flavour=flavour, crds=Path(crds) if crds else None, progress=progress, timeout=timeout,
                       with_ossm2=with_ossm2)
        # The sandbox keeps its address and CA across `down` and `up`, so a discovery cached for its
        # previous run (another flavour: no sailoperator.io, or no maistra.io) would decide the flavour.
        from grader.cluster import Cluster, DiscoveryCache, Target
        DiscoveryCache.default().forget(Cluster(Target(str(sb.kubeconfig), None)).transport.identity)
        with2 = " with the OSSM 2.x operator" if st.get("with_ossm2") else ""
        app.err.print(f"[bold green]Sandbox ready[/bold green] in {time.monotonic() - t0:.1f}s "
                      f"({st['flavour']}{with2}, Kubernetes {st['kubernetes_version']}). Use it with kubectl: "
                      f"eval $(lab sandbox env)")


@contextlib.contextmanager
def _progress(app: App) -> Iterator[Any]:
    con = app.err
    status = con.status("starting", spinner="dots") if con.is_terminal else None

    def progress(step: str, text: str) -> None:
        if text in ("ready", "stopped", "running") or step in ("sandbox", "state"):
            con.print(f"· {step} ... [green]{text.upper() if text in ('ready', 'stopped') else text}[/green]",
                      highlight=False)
        elif status:
            status.update(f"{step}: {text}")
    if status:
        with status:
            yield progress
    else:
        yield progress


@sandbox.command("down")
@click.option("--purge", is_flag=True, help="Also delete the sandbox's state (cluster data, certificates).")
@click.pass_obj
def sandbox_down(app: App, purge: bool) -> None:
    """Stop the sandbox's processes (only those it started)."""
    from grader.sandbox.control_plane import Sandbox
    with handled(app), _progress(app) as progress:
        Sandbox().down(purge=purge, progress=progress)
    app.err.print("Sandbox stopped." + (" State deleted." if purge else ""))


@sandbox.command("status")
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def sandbox_status(app: App, fmt: str) -> None:
    """Show the sandbox's components, kubeconfig and flavour (exit 1 when it is not running)."""
    from grader.sandbox.control_plane import Sandbox
    st = Sandbox().status()
    if fmt == "json":
        click.echo(json.dumps(st, indent=2))
        sys.exit(EXIT_OK if st["running"] else EXIT_CHECKS_FAILED)
    from rich.table import Table
    table = Table(show_edge=False, header_style="bold")
    for col in ("Component", "State", "PID", "Port", "Log"):
        table.add_column(col)
    for name, c in st["components"].items():
        state = "[green]running[/green]" if c["running"] else "[red]stopped[/red]"
        if not c["running"] and c.get("note"):
            state = f"[yellow]{c['note']}[/yellow]"
        table.add_row(name, state, str(c["pid"] or "-"), str(c["port"] or "-"), c["log"])
    out = app.out()
    out.print(table)
    with2 = " (with the OSSM 2.x operator)" if st.get("with_ossm2") else ""
    out.print(f"running: {st['running']}  flavour: {st['flavour'] or '-'}{with2}  kubernetes: "
              f"{st['kubernetes_version'] or '-'}\nkubeconfig: {st['kubeconfig']}\naudit log: {st['audit_log']}")
    for var, value in Sandbox().urls().items():
        out.print(f"{var}: {value}", highlight=False)
    sys.exit(EXIT_OK if st["running"] else EXIT_CHECKS_FAILED)


@sandbox.command("env")
@click.pass_obj
def sandbox_env(app: App) -> None:
    """Print `export KUBECONFIG=…` (and PATH with the sandbox's kubectl and istioctl): eval $(lab sandbox env)."""
    import shlex

    from grader.sandbox.control_plane import Sandbox
    sb = Sandbox()
    if not sb.kubeconfig.exists():
        app.fail("the sandbox has never been started; run 'lab sandbox up'")
    env = sb.env()
    path = f' PATH={shlex.quote(env["PATH"])}:"$PATH"' if "PATH" in env else ""
    # the data plane's gateway and Prometheus (mesh flavours)
    urls = "".join(f" {var}={shlex.quote(value)}" for var, value in sb.urls().items())
    click.echo(f"export KUBECONFIG={shlex.quote(env['KUBECONFIG'])}{path}{urls}")  # one line: eval $(...) joins lines


@sandbox.command("curl")
@click.argument("url")
@click.option("--from", "source", metavar="NS/POD", default=None,
              help="Send as this pod would (through its sidecar if it has one); NS/DEPLOYMENT picks one of its pods. "
                   "Without it: through the ingress gateway.")
@click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="Extra header (repeatable).")
@click.option("-X", "--request", "method", default=None, help="HTTP method (default GET; HEAD with -I).")
@click.option("-I", "--head", is_flag=True, help="Send HEAD and print the response headers only.")
@click.option("-i", "--include", is_flag=True, help="Print the response headers before the body.")
@click.option("-s", "--silent", is_flag=True, help="Accepted for curl compatibility.")
@click.option("--max-time", type=float, default=30.0, show_default=True, help="Give up after this many seconds.")
@click.pass_obj
def sandbox_curl(app: App, url: str, source: str | None, headers: tuple[str, ...], method: str | None, head: bool,
                 include: bool, silent: bool, max_time: float) -> None:
    """Send one HTTP request into the sandbox's mesh, like curl (exit codes as curl's: 6, 7, 56 reset)."""
    from grader.sandbox.control_plane import Sandbox
    from grader.sandbox.dataplane.client import CurlError, send
    sb = Sandbox()
    ports = sb.state().get("ports", {})
    if not sb.pid("dataplane") or "dataplane-mesh" not in ports:
        app.fail("the sandbox data plane is not running; run 'lab sandbox up' (flavour ossm2, ossm3 or istio)")
    if source is not None and source.count("/") != 1:
        app.fail(f"--from {source!r}: use NAMESPACE/POD (or NAMESPACE/DEPLOYMENT), e.g. --from webapp/web-v1")
    hdrs = []
    for h in headers:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            app.fail(f"-H {h!r}: use 'Name: value'")
        hdrs.append((name.strip(), value.strip()))
    try:
        ans = send(ports, url, source, method or ("HEAD" if head else "GET"), hdrs, max_time)
    except CurlError as e:
        click.echo(f"lab sandbox curl: ({e.code}) {e}", err=True)
        sys.exit(e.code)
    if head or include:
        click.echo(f"HTTP/1.1 {ans.status} {ans.reason}\r")
        for k, v in ans.headers:
            click.echo(f"{k}: {v}\r")
        click.echo("\r")
    if not head:
        sys.stdout.buffer.write(ans.body)
        sys.stdout.flush()


@sandbox.command("wait")
@click.option("--timeout", type=float, default=10.0, show_default=True)
@click.pass_obj
def sandbox_wait(app: App, timeout: float) -> None:
    """Wait until every change made so far has reached the data plane (like `istioctl x wait`)."""
    from grader.sandbox.control_plane import Sandbox
    from grader.sandbox.dataplane.client import wait
    sb = Sandbox()
    port = sb.state().get("ports", {}).get("dataplane-admin")
    if not sb.pid("dataplane") or not port:
        app.fail("the sandbox data plane is not running; run 'lab sandbox up' (flavour ossm2, ossm3 or istio)")
    if not wait(port, timeout):
        app.fail(f"the data plane did not catch up within {timeout:g} s; see {sb.log('dataplane')}", EXIT_CHECKS_FAILED)
