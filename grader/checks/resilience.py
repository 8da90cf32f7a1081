"""Resilience check types (guide step 9): fault injection, timeouts and retries on the route a
plain request takes, DestinationRule connection pools and outlier detection.

Route checks judge the EFFECTIVE route: the first ``spec.http`` entry a plain ``GET /``
through the gateway takes (Envoy: first match wins), of the oldest VirtualService bound to
that gateway that routes to the host (grader.checks.lookup.effective_entry). Values are
compared by meaning, not spelling: ``5s`` == ``5000ms``, ``100`` == ``100.0``.

- fault injection: the share of requests a fault applies to is grader.mesh.faults
  (pilot/pkg/networking/core/route/route.go TranslateFault);
- ``timeout`` is disabled by default; ``retries`` unset means the mesh default (2 attempts);
  ``retries.attempts`` 0 disables retries (istio/api virtual_service.proto HTTPRetry);
- connection pools: the oldest DestinationRule for a host that sets ``trafficPolicy`` wins;
  a subset's or port's ``connectionPool`` REPLACES the top-level one for its traffic
  (grader.mesh.destinationrules).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from grader import kinds as K
from grader.checks.framework import bad_param, check, int_param, str_params
from grader.checks.lookup import clusters, no_rule, paren, request_routes, setting_scope
from grader.mesh import faults as F
from grader.mesh.destinationrules import (
    ENVOY_CONSECUTIVE_5XX,
    ENVOY_OUTLIER_DURATIONS,
    PolicySetting,
    dr_subset_names,
    ejection,
    policy_rule,
    pool_overrides,
    rules_for_host,
    traffic_policy_for,
)
from grader.mesh.durations import format_duration, parse_duration
from grader.mesh.hosts import resolve_host
from grader.model import Outcome, failed, passed
from grader.objects import as_dict, is_int, json_number, ref, spec_of
from grader.snapshot import Snapshot
from grader.text import join, short


def _num_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def _found(value: Any) -> str:
    """How an ill-typed found value is described: ``'100' (a string)``."""
    if isinstance(value, str):
        return f"{short(value)} (a string)"
    if isinstance(value, bool):
        return f"{short(value)} (a boolean)"
    return short(value)


def _percent_param(name: str, spec: dict) -> tuple[Fraction | None, Outcome | None]:
    pct = json_number(spec.get("percent"))
    if pct is None or not 0 <= pct <= 100:
        return None, bad_param(f"{name}.percent", spec.get("percent"), "a number from 0 to 100")
    return pct, None


def _fault_params(delay: Any, abort: Any) -> tuple[dict | None, dict | None, Outcome | None]:
    if delay is None and abort is None:
        return None, None, bad_param("delay/abort", None, "at least one of delay {fixed, percent} or abort "
                                                            "{status, percent}")
    want_delay = want_abort = None
    if delay is not None:
        if not isinstance(delay, dict) or set(delay) != {"fixed", "percent"}:
            return None, None, bad_param("delay", delay, "a map {fixed: <duration>, percent: <0-100>}")
        fixed = parse_duration(delay["fixed"])
        if fixed is None:
            return None, None, bad_param("delay.fixed", delay["fixed"], "a duration such as 5s")
        pct, bad = _percent_param("delay", delay)
        if bad:
            return None, None, bad
        want_delay = {"fixed": fixed, "fixed_text": delay["fixed"], "percent": pct}
    if abort is not None:
        if not isinstance(abort, dict) or set(abort) != {"status", "percent"}:
            return None, None, bad_param("abort", abort, "a map {status: <HTTP status>, percent: <0-100>}")
        if not is_int(abort["status"]) or not 200 <= abort["status"] <= 599:
            return None, None, bad_param("abort.status", abort["status"], "an HTTP status from 200 to 599")
        pct, bad = _percent_param("abort", abort)
        if bad:
            return None, None, bad
        want_abort = {"status": abort["status"], "percent": pct}
    return want_delay, want_abort, None


def _effective_percentage(part: dict, base: str, kind: str) -> tuple[Fraction | None, list[str], list[str]]:
    """The percent of requests a fault ``delay``/``abort`` applies to (grader.mesh.faults), with
    the problems and notes that explain it. Returns (percent or None when unreadable, problems, notes)."""
    share = F.fault_share(part, kind)
    path = base.rsplit(" ", 1)[-1]  # the field path without the object's name, for second mentions
    notes: list[str] = []
    if share.legacy_ignored:
        notes.append(f"{base}.percent ({short(part.get('percent'))}) is ignored because {path}.percentage is set")
    if share.legacy:
        notes.append(
            f"{base}.percent is deprecated (pilot still reads it when percentage is unset; istioctl analyze "
            f"warns IST0002); prefer {path}.percentage.value"
        )
    pct, legacy = part.get("percentage"), part.get("percent")
    problem = {
        "": None,
        F.NOT_AN_OBJECT: f"{base}.percentage is {_found(pct)}, not an object; expected percentage: {{value: <0-100>}}",
        F.VALUE_UNSET: f"{base}.percentage.value is not set, so pilot configures the {kind} for 0% of requests",
        F.NOT_A_NUMBER: f"{base}.percentage.value is {_found(as_dict(pct).get('value'))}, not a number from 0 to 100",
        F.OUT_OF_RANGE: f"{base}.percentage.value is {short(as_dict(pct).get('value'))}, outside 0-100 (Istio validation "
                        "rejects it: percentage.value is a percent)",
        F.BAD_LEGACY: f"{base}.percent (deprecated) is {_found(legacy)}, not an integer from 0 to 100; "
                      f"use {path}.percentage.value",
        F.NOT_A_FIELD: f"{base}.percent ({short(legacy)}) is not a field of the Istio API (only delay has the deprecated "
                       "integer percent): the VirtualService CRD schema drops it and pilot would ignore it anyway, so "
                       f"with {path}.percentage unset no request is aborted; use {path}.percentage.value",
        F.UNSET: f"{base} sets no percentage.value, so pilot configures the {kind} for 0% of requests: nothing is "
                 f"{'delayed' if kind == 'delay' else 'aborted'}",
    }[share.issue]
    return share.percent, [problem] if problem else [], notes


def _percent_problem(base: str, found: Fraction, want: Fraction, via_legacy: bool) -> str | None:
    if found == want:
        return None
    field = f"{base}.percent" if via_legacy else f"{base}.percentage.value"
    text = (
        f"{field} is {_num_text(found)}, i.e. {_num_text(found)}% of requests; expected {_num_text(want)} "
        f"({_num_text(want)}%)"
    )
    if found * 100 == want:
        text += f": percentage.value is a percent from 0 to 100, not a fraction (for {_num_text(want)}% write " \
                f"{_num_text(want)})"
    return text


def _delay_problems(fault: dict, base: str, want: dict) -> tuple[list[str], list[str], str]:
    delay = fault.get("delay")
    wanted = f"fixedDelay {want['fixed_text']} for {_num_text(want['percent'])}% of requests"
    if delay is None:
        return [f"{base}.delay is not set; expected {wanted}"], [], wanted
    if not isinstance(delay, dict):
        return [f"{base}.delay is {_found(delay)}, not an object; expected {wanted}"], [], wanted
    problems: list[str] = []
    dbase = f"{base}.delay"
    fixed = delay.get("fixedDelay")
    if fixed is None:
        if delay.get("exponentialDelay") is not None:
            problems.append(
                f"{dbase} sets exponentialDelay, which pilot does not support (it drops the delay); expected "
                f"fixedDelay {want['fixed_text']}"
            )
        else:
            problems.append(f"{dbase}.fixedDelay is not set; expected {want['fixed_text']}")
    else:
        got = parse_duration(fixed)
        if got is None:
            problems.append(
                f"{dbase}.fixedDelay is {_found(fixed)}, not a duration; expected {want['fixed_text']} "
                '(a string with a unit, e.g. "5s")'
            )
        elif got != want["fixed"]:
            problems.append(
                f"{dbase}.fixedDelay is {short(fixed)} ({format_duration(got)}); expected {want['fixed_text']} "
                f"({format_duration(want['fixed'])})"
            )
    pct, pct_problems, notes = _effective_percentage(delay, dbase, "delay")
    problems += pct_problems
    if pct is not None and not pct_problems:
        via_legacy = delay.get("percentage") is None
        issue = _percent_problem(dbase, pct, want["percent"], via_legacy)
        if issue:
            problems.append(issue)
    elif pct is not None and pct_problems and pct != want["percent"]:
        problems[-1] += f"; expected {_num_text(want['percent'])}%"
    return problems, notes, wanted


def _abort_problems(fault: dict, base: str, want: dict) -> tuple[list[str], list[str], str]:
    abort = fault.get("abort")
    wanted = f"httpStatus {want['status']} for {_num_text(want['percent'])}% of requests"
    if abort is None:
        return [f"{base}.abort is not set; expected {wanted}"], [], wanted
    if not isinstance(abort, dict):
        return [f"{base}.abort is {_found(abort)}, not an object; expected {wanted}"], [], wanted
    problems: list[str] = []
    abase = f"{base}.abort"
    status = abort.get("httpStatus")
    if status is None:
        other = next((k for k in ("grpcStatus", "http2Error") if abort.get(k) is not None), None)
        if other:
            problems.append(
                f"{abase} uses {other} {short(abort[other])}; expected httpStatus {want['status']}"
            )
        else:
            problems.append(f"{abase}.httpStatus is not set; expected {want['status']}")
    elif not is_int(status):
        problems.append(f"{abase}.httpStatus is {_found(status)}, not an integer; expected {want['status']}")
    elif status != want["status"]:
        problems.append(f"{abase}.httpStatus is {status}; expected {want['status']}")
    pct, pct_problems, notes = _effective_percentage(abort, abase, "abort")
    problems += pct_problems
    if pct is not None and not pct_problems:
        issue = _percent_problem(abase, pct, want["percent"], False)
        if issue:
            problems.append(issue)
    elif pct is not None and pct_problems and pct != want["percent"]:
        problems[-1] += f"; expected {_num_text(want['percent'])}%"
    return problems, notes, wanted


def _unexpected_fault(fault: dict, base: str, kind: str) -> str | None:
    """A fault the check did not ask for that still affects requests."""
    part = fault.get(kind)
    if not isinstance(part, dict):
        return None
    pct, problems, _ = _effective_percentage(part, f"{base}.{kind}", kind)
    if pct is None or pct == 0:
        return None
    what = (
        f"delays {_num_text(pct)}% of requests"
        if kind == "delay"
        else f"aborts {_num_text(pct)}% of requests with {short(part.get('httpStatus', part.get('grpcStatus')))}"
    )
    return f"{base}.{kind} also {what}; expected no {kind}"


@check("fault-injection", reads=[K.VIRTUAL_SERVICE, K.GATEWAY])
def fault_injection(
    snap: Snapshot, *, namespace: str, host: str, gateway: str, delay: dict | None = None, abort: dict | None = None
) -> Outcome:
    """Every route requests through the gateway can take injects the expected delay and/or abort fault.

    What Envoy gets (pilot route.go TranslateFault): a per-route fault filter config with a
    fixed delay and/or an abort status for ``percentage.value`` percent of requests (value *
    10000 per million; a delay without percentage falls back to the deprecated integer
    ``percent``; neither = 0 %). Inputs that change it: every ``spec.http`` entry a request
    through the gateway can take (mesh.routing.reachable_http_routes: an entry for ``uri:
    {exact: /}`` followed by a catch-all without the fault leaves the other paths unfaulted;
    without a catch-all the rest get 404), the VirtualService's gateways and hosts.
    """
    bad = str_params(namespace=namespace, host=host, gateway=gateway)
    if bad:
        return bad
    want_delay, want_abort, bad = _fault_params(delay, abort)
    if bad:
        return bad
    wanted_parts = []
    if want_delay:
        wanted_parts.append(f"a fixed delay of {want_delay['fixed_text']} for {_num_text(want_delay['percent'])}%")
    if want_abort:
        wanted_parts.append(f"HTTP {want_abort['status']} aborts for {_num_text(want_abort['percent'])}%")
    wanted = " and ".join(wanted_parts) + " of requests"
    routes = request_routes(snap, namespace, host, gateway, f"fault injection ({wanted})")
    if isinstance(routes, Outcome):
        return routes
    vs = routes.vs
    problems: list[str] = []
    hints: list[str] = []
    notes = list(routes.notes)
    for idx, entry in routes.entries:
        p, h, n = _fault_entry(vs, idx, entry, routes.role(idx), want_delay, want_abort, wanted)
        problems += p
        hints += h
        notes += n
    problems += routes.uncaught("get no fault")
    if not routes.catch_all:
        hints.append(f"add a final spec.http entry without match to {ref(vs)}, with the fault")
    if problems:
        return failed(join(problems + notes + routes.unreached("fault")), "; ".join(dict.fromkeys(hints)))
    verb = "injects" if len(routes.entries) == 1 else "inject"
    return passed("; ".join([f"{ref(vs)} {routes.where_all()} {verb} {wanted} ({routes.scope()})"] + notes))


def _fault_entry(vs: dict, idx: int, entry: dict, role: str, want_delay: dict | None, want_abort: dict | None,
                 wanted: str) -> tuple[list[str], list[str], list[str]]:
    """(problems, hints, notes) of the fault of one http[] entry requests take."""
    where = f"spec.http[{idx}]"
    base = f"{ref(vs)} {where}.fault"
    fault = entry.get("fault")
    if fault is None:
        return [f"{ref(vs)} {where}{paren(role)} has no fault; expected {wanted}"], [f"add fault to {where} of {ref(vs)}"], []
    if not isinstance(fault, dict):
        return [f"{base} is {_found(fault)}, not an object; expected {wanted}"], [f"fix {where}.fault"], []
    problems: list[str] = []
    hints: list[str] = []
    notes: list[str] = []
    for kind, want, judge in (("delay", want_delay, _delay_problems), ("abort", want_abort, _abort_problems)):
        if want:
            p, n, _ = judge(fault, base, want)
            problems += p
            notes += n
            if p:
                first = f"fixedDelay: {want['fixed_text']}" if kind == "delay" else f"httpStatus: {want['status']}"
                hints.append(f"set {where}.fault.{kind} to {first} and percentage: {{value: {_num_text(want['percent'])}}}")
        else:
            extra = _unexpected_fault(fault, base, kind)
            if extra:
                problems.append(extra)
                hints.append(f"remove {where}.fault.{kind}")
    return problems, hints, notes


def _duration_param(name: str, value: Any) -> tuple[Fraction | None, Outcome | None]:
    if value is None:
        return None, None
    parsed = parse_duration(value)
    if parsed is None or parsed <= 0:
        return None, bad_param(name, value, "a positive duration such as 10s, or null")
    return parsed, None


def _duration_problem(base: str, field: str, value: Any, want: Fraction, want_text: str, unset: str) -> str | None:
    if value is None:
        return f"{base}.{field} is not set{unset}; expected {want_text}"
    got = parse_duration(value)
    if got is None:
        why = "a number" if json_number(value) is not None else ("a string" if isinstance(value, str) else "")
        return (
            f"{base}.{field} is {short(value)}{f' ({why})' if why else ''}, not a duration; expected "
            f'{want_text} (a string with a unit, e.g. "{want_text}")'
        )
    if got != want:
        return f"{base}.{field} is {short(value)} ({format_duration(got)}); expected {want_text}"
    return None


@check("route-timeout-retries", reads=[K.VIRTUAL_SERVICE, K.GATEWAY])
def route_timeout_retries(
    snap: Snapshot,
    *,
    namespace: str,
    host: str,
    gateway: str,
    timeout: str | None = "10s",
    attempts: int | None = 3,
    per_try_timeout: str | None = "2s",
) -> Outcome:
    """Every route requests through the gateway can take has the expected timeout and retry policy.

    What Envoy gets (pilot route.go translateRoute, route/retry): a route timeout (none when
    unset), and a retry policy with ``num_retries`` = ``retries.attempts`` and
    ``per_try_timeout`` (unset retries = the mesh default of 2 attempts; attempts 0 = none).
    Inputs that change it: every ``spec.http`` entry a request through the gateway can take
    (mesh.routing.reachable_http_routes), the VirtualService's gateways and hosts.
    """
    bad = str_params(namespace=namespace, host=host, gateway=gateway)
    if bad:
        return bad
    want_timeout, bad = _duration_param("timeout", timeout)
    if bad:
        return bad
    want_per_try, bad = _duration_param("per_try_timeout", per_try_timeout)
    if bad:
        return bad
    if attempts is not None:
        bad = int_param("attempts", attempts, 1)
        if bad:
            return bad
    if want_timeout is None and want_per_try is None and attempts is None:
        return bad_param("timeout/attempts/per_try_timeout", None, "at least one expected value")
    wanted = []
    if want_timeout is not None:
        wanted.append(f"timeout {timeout}")
    if attempts is not None:
        wanted.append(f"retries.attempts {attempts}")
    if want_per_try is not None:
        wanted.append(f"retries.perTryTimeout {per_try_timeout}")
    wanted_text = ", ".join(wanted)
    routes = request_routes(snap, namespace, host, gateway, wanted_text)
    if isinstance(routes, Outcome):
        return routes
    vs = routes.vs
    problems: list[str] = []
    for idx, entry in routes.entries:
        problems += _timeout_retries_problems(f"{ref(vs)} spec.http[{idx}]", entry, want_timeout, timeout, attempts,
                                              want_per_try, per_try_timeout, wanted)
    problems += routes.uncaught("have no timeout")
    if problems:
        where = routes.where_all() if routes.catch_all else "every spec.http entry (and a final one without match)"
        return failed(join(problems + routes.notes + routes.unreached("retries") + routes.unreached("timeout")),
                      f"set {wanted_text} on {where} of {ref(vs)}")
    verb = "has" if len(routes.entries) == 1 else "have"
    return passed("; ".join([f"{ref(vs)} {routes.where_all()} {verb} {wanted_text} ({routes.scope()})"] + routes.notes))


def _timeout_retries_problems(base: str, entry: dict, want_timeout: Fraction | None, timeout: Any,
                              attempts: int | None, want_per_try: Fraction | None, per_try_timeout: Any,
                              wanted: list[str]) -> list[str]:
    """Differences between one http[] entry's timeout/retries and the expected ones."""
    problems: list[str] = []
    if want_timeout is not None:
        issue = _duration_problem(
            base, "timeout", entry.get("timeout"), want_timeout, str(timeout),
            ", so the route has no timeout (it is disabled by default)",
        )
        if issue:
            problems.append(issue)
    if attempts is not None or want_per_try is not None:
        retries = entry.get("retries")
        if retries is None:
            problems.append(
                f"{base}.retries is not set, so the mesh default retry policy applies (2 attempts, no per-try "
                f"timeout); expected {', '.join(w for w in wanted if w.startswith('retries'))}"
            )
        elif not isinstance(retries, dict):
            problems.append(f"{base}.retries is {_found(retries)}, not an object")
        else:
            got = retries.get("attempts")
            if attempts is not None:
                if got is None or got == 0:
                    state = "is not set" if got is None else "is 0"
                    problems.append(
                        f"{base}.retries.attempts {state}, which disables retries (pilot sends no retry policy); "
                        f"expected {attempts}"
                    )
                elif not is_int(got):
                    problems.append(f"{base}.retries.attempts is {_found(got)}, not an integer; expected {attempts}")
                elif got != attempts:
                    problems.append(f"{base}.retries.attempts is {got}; expected {attempts}")
            if want_per_try is not None:
                issue = _duration_problem(
                    f"{base}.retries", "perTryTimeout", retries.get("perTryTimeout"), want_per_try,
                    str(per_try_timeout), ", so each attempt may use the whole route timeout",
                )
                if issue:
                    problems.append(issue)
    return problems


_POOL_FIELDS = (
    # (param, section, field, default behaviour when unset)
    ("max_connections", "tcp", "maxConnections", "unlimited (2^32-1)"),
    ("http1_max_pending", "http", "http1MaxPendingRequests", "unlimited (2^32-1)"),
    ("max_requests_per_connection", "http", "maxRequestsPerConnection", "unlimited (0)"),
)


def _pool_problems(cp: Any, base: str, want: dict[str, int]) -> list[str]:
    """Differences between a connectionPool object and the expected values."""
    if cp is None:
        return [f"{base} is not set"]
    if not isinstance(cp, dict):
        return [f"{base} is {_found(cp)}, not an object"]
    problems = []
    for param, section, field, default in _POOL_FIELDS:
        if param not in want:
            continue
        expected = want[param]
        sec = cp.get(section)
        path = f"{base}.{section}.{field}"
        if sec is not None and not isinstance(sec, dict):
            problems.append(f"{base}.{section} is {_found(sec)}, not an object; expected {field}: {expected}")
            continue
        value = as_dict(sec).get(field)
        if value is None:
            other = "http" if section == "tcp" else "tcp"
            misplaced = as_dict(cp.get(other)).get(field)
            if misplaced is not None or cp.get(field) is not None:
                at = f"{other}.{field}" if misplaced is not None else field
                problems.append(
                    f"{path} is not set; {field} is set at {base.rsplit(' ', 1)[-1]}.{at} instead, where Istio "
                    f"does not read it; expected {expected}"
                )
            else:
                problems.append(f"{path} is not set ({default} by default); expected {expected}")
        elif not is_int(value):
            problems.append(f"{path} is {_found(value)}, not an integer; expected {expected}")
        elif value != expected:
            problems.append(f"{path} is {value}; expected {expected}")
    return problems


@check("connection-pool", reads=[K.DESTINATION_RULE, K.SERVICE], needs=[K.DESTINATION_RULE])
def connection_pool(
    snap: Snapshot,
    *,
    namespace: str,
    host: str,
    max_connections: int | None = 100,
    http1_max_pending: int | None = 50,
    max_requests_per_connection: int | None = 2,
) -> Outcome:
    """The DestinationRule for the host sets the expected connection pool at spec.trafficPolicy level,
    and no subset or port-level policy replaces it with other values.

    What Envoy gets (pilot cluster_traffic_policy.go applyConnectionPool): circuit-breaker
    thresholds per cluster (max_connections, max_pending_requests, max_requests_per_connection),
    unlimited when unset. Inputs that change it: the oldest DestinationRule for the host that
    sets a trafficPolicy, each subset's ``trafficPolicy.connectionPool`` (it replaces the
    top-level pool for that subset: MergeTrafficPolicy) and ``portLevelSettings`` for a
    Service port (they replace the whole policy for the port: GetPortLevelTrafficPolicy).
    """
    bad = str_params(namespace=namespace, host=host)
    if bad:
        return bad
    want: dict[str, int] = {}
    for name, value in (
        ("max_connections", max_connections),
        ("http1_max_pending", http1_max_pending),
        ("max_requests_per_connection", max_requests_per_connection),
    ):
        if value is None:
            continue
        bad = int_param(name, value, 1)
        if bad:
            return bad
        want[name] = value
    if not want:
        return bad_param("max_connections/http1_max_pending/max_requests_per_connection", None,
                          "at least one expected value")
    wanted = ", ".join(
        f"{section}.{field}: {want[param]}" for param, section, field, _ in _POOL_FIELDS if param in want
    )
    fqdn = resolve_host(host, namespace)
    rules = rules_for_host(snap, fqdn, namespace)
    if not rules:
        return no_rule(snap, namespace, host, fqdn)
    dr, with_policy = policy_rule(rules)  # the oldest rule that sets a trafficPolicy keeps it
    tp = spec_of(dr).get("trafficPolicy")
    notes: list[str] = []
    ignored = [o for o in with_policy if as_dict(spec_of(o).get("trafficPolicy")).get("connectionPool")]
    if ignored:
        notes.append(
            f"{ref(ignored[0])} also sets spec.trafficPolicy.connectionPool for {fqdn}, but Istio keeps the "
            f"trafficPolicy of the oldest rule, {ref(dr)}"
        )
    base = f"{ref(dr)} spec.trafficPolicy.connectionPool"
    hint = f"set spec.trafficPolicy.connectionPool of {ref(dr)} to {wanted}"
    if tp is not None and not isinstance(tp, dict):
        return failed(f"{ref(dr)} spec.trafficPolicy is {_found(tp)}, not an object; expected connectionPool "
                      f"{wanted}", hint)
    problems: list[str] = []
    cluster_list, ports = clusters(snap, dr, fqdn)
    for subset, port in cluster_list:
        setting = traffic_policy_for(dr, subset, port)["connectionPool"]
        scope = setting_scope(setting, subset, port, ports)
        if setting.value is None:
            found = [
                f"{ref(dr)} {setting.replaced_by} replaces the whole traffic policy of {scope} and sets no "
                f"connectionPool, so {scope} has no connection limits (port-level settings do not inherit); "
                f"expected {wanted}"
                if setting.replaced_by else f"{base} is not set; expected {wanted}"
            ]
        elif setting.path == "spec.trafficPolicy.connectionPool":
            found = _pool_problems(setting.value, base, want)
        else:
            found = [
                f"{d} ({setting.path} replaces the top-level connection pool for {scope}: Istio does not merge them "
                "field by field)"
                for d in _pool_problems(setting.value, f"{ref(dr)} {setting.path}", want)[:2]
            ]
        problems += [p for p in found if p not in problems]
    if as_dict(tp).get("connectionPool") is None:
        problems += [
            f"{ref(dr)} {path} is set, but it applies only to {scope}; expected the connection pool at "
            "spec.trafficPolicy so it applies to every request to the host"
            for path, _cp, scope in pool_overrides(dr)[:2]
        ]
    if problems:
        return failed(join(problems + notes), hint)
    return passed("; ".join([f"{base} sets {wanted}, and no subset or port-level policy replaces it"] + notes))


def _ejection_problems(dr: dict, setting: PolicySetting, scope: str, consecutive: int,
                       durations: list[tuple[str, str, Any]], notes: list[str]) -> list[str]:
    """What is wrong with the outlier detection Envoy gets for one cluster (notes: what is odd but works)."""
    want = f"ejection after {consecutive} consecutive 5xx errors"
    if setting.value is None:
        if setting.replaced_by:
            return [f"{ref(dr)} {setting.replaced_by} replaces the whole traffic policy of {scope} and sets no "
                    f"outlierDetection, so pods are never ejected there (port-level settings do not inherit); "
                    f"expected {want}"]
        return [f"{ref(dr)} spec.trafficPolicy.outlierDetection is not set; expected consecutive5xxErrors: {consecutive}"]
    path = setting.path
    where = "" if path == "spec.trafficPolicy.outlierDetection" else f" ({path} replaces the top-level one for {scope})"
    od = setting.value
    ej = ejection(od)
    problems: list[str] = []
    if ej.source == "unreadable":
        if not isinstance(od, dict):
            return [f"{ref(dr)} {path} is {short(od)}, not an object; expected consecutive5xxErrors: {consecutive}"]
        c5 = od.get("consecutive5xxErrors")
        why = "negative" if is_int(c5) else "not an integer"
        problems.append(f"{ref(dr)} {path}.consecutive5xxErrors is {short(c5)} ({why}){where}; expected {consecutive}")
    elif ej.source == "zero":
        problems.append(f"{ref(dr)} {path}.consecutive5xxErrors is 0, which disables ejection on 5xx errors "
                        f"(pilot sets enforcing_consecutive_5xx 0){where}; expected {consecutive}")
    elif ej.threshold != consecutive:
        if ej.source == "default":
            problems.append(f"{ref(dr)} {path} sets no consecutive5xxErrors, so Envoy's default applies: pods are "
                            f"ejected after {ENVOY_CONSECUTIVE_5XX} consecutive 5xx errors{where}; expected "
                            f"consecutive5xxErrors: {consecutive}")
        else:
            problems.append(f"{ref(dr)} {path}.consecutive5xxErrors is {ej.threshold}{where}; expected {consecutive}")
    elif ej.source == "default":
        notes.append(f"{ref(dr)} {path} sets no consecutive5xxErrors: the threshold is Envoy's default "
                     f"{ENVOY_CONSECUTIVE_5XX}")
    if ej.ignored_legacy is not None:
        note = (f"{ref(dr)} {path}.consecutiveErrors ({short(ej.ignored_legacy)}) is deprecated and ignored by "
                "pilot")
        if ej.source == "default":
            note += (f": pods are ejected after {ENVOY_CONSECUTIVE_5XX} consecutive 5xx errors only because 5 is "
                     f"the default; write consecutive5xxErrors: {consecutive}")
        notes.append(note)
    for field, text, want_d in durations:
        value = od.get(field)
        got = parse_duration(value)
        if value is None:
            default = ENVOY_OUTLIER_DURATIONS[field]
            if default != want_d:
                problems.append(f"{ref(dr)} {path}.{field} is not set, so Envoy's default {format_duration(default)} "
                                f"applies{where}; expected {text}")
        elif got is None:
            problems.append(f"{ref(dr)} {path}.{field} is {short(value)}, not a duration; expected {text}")
        elif got != want_d:
            problems.append(f"{ref(dr)} {path}.{field} is {short(value)} ({format_duration(got)}){where}; "
                            f"expected {text}")
    return problems


@check("outlier-detection", reads=[K.DESTINATION_RULE, K.SERVICE], needs=[K.DESTINATION_RULE])
def outlier_detection(
    snap: Snapshot,
    *,
    namespace: str,
    host: str,
    consecutive_5xx: int = 5,
    interval: str | None = "30s",
    base_ejection_time: str | None = "30s",
) -> Outcome:
    """Envoy ejects a pod of the host after ``consecutive_5xx`` consecutive 5xx errors, for the
    host and for every subset of its DestinationRule.

    What Envoy gets (pilot cluster_traffic_policy.go applyOutlierDetection): any
    ``outlierDetection`` block gives the cluster an outlier_detection with success-rate
    ejection off; ``consecutive5xxErrors`` sets the threshold (0 turns 5xx ejection off),
    unset it is Envoy's default 5 (Istio's reference: "defaults to 5"); the deprecated
    ``consecutiveErrors`` is ignored, so the guide's ``consecutiveErrors: 5`` works by
    coincidence and passes with a note. ``interval`` and ``baseEjectionTime`` default to
    Envoy's 10 s and 30 s. Inputs that change it: the oldest DestinationRule for the host
    that sets a trafficPolicy, a subset's ``trafficPolicy.outlierDetection`` (it replaces the
    top-level one for that subset, MergeTrafficPolicy), and ``portLevelSettings`` for a
    Service port (they replace the whole policy, GetPortLevelTrafficPolicy).
    """
    bad = str_params(namespace=namespace, host=host) or int_param("consecutive_5xx", consecutive_5xx, 1)
    if bad:
        return bad
    durations: list[tuple[str, str, Any]] = []
    for pname, field, value in (
        ("interval", "interval", interval),
        ("base_ejection_time", "baseEjectionTime", base_ejection_time),
    ):
        if value is None:
            continue
        parsed = parse_duration(value)
        if parsed is None:
            return bad_param(pname, value, "a duration such as 30s")
        durations.append((field, value, parsed))
    fqdn = resolve_host(host, namespace)
    rules = rules_for_host(snap, fqdn, namespace)
    if not rules:
        return no_rule(snap, namespace, host, fqdn)
    dr, ignored = policy_rule(rules)
    tp = spec_of(dr).get("trafficPolicy")
    want = ", ".join(
        [f"consecutive5xxErrors: {consecutive_5xx}"] + [f"{field}: {text}" for field, text, _ in durations]
    )
    hint = f"set spec.trafficPolicy.outlierDetection of {ref(dr)} to {want}"
    if tp is not None and not isinstance(tp, dict):
        return failed(f"{ref(dr)} spec.trafficPolicy is {short(tp)}, not an object; expected outlierDetection "
                      f"{want}", hint)
    cluster_list, ports = clusters(snap, dr, fqdn)
    problems: list[str] = []
    notes: list[str] = []
    for subset, port in cluster_list:
        setting = traffic_policy_for(dr, subset, port)["outlierDetection"]
        scope = setting_scope(setting, subset, port, ports)
        for p in _ejection_problems(dr, setting, scope, consecutive_5xx, durations, notes):
            if p not in problems:
                problems.append(p)
    notes = list(dict.fromkeys(notes))
    notes += [f"{ref(o)} also sets spec.trafficPolicy for {fqdn}, but Istio keeps the trafficPolicy of the oldest "
              f"rule, {ref(dr)}" for o in ignored[:1]]
    if problems:
        if any("spec.subsets[" in p or "portLevelSettings[" in p for p in problems):
            hint += "; remove the subset or port-level outlierDetection that overrides it, or give it the same values"
        return failed(join(problems + notes), hint)
    subsets = dr_subset_names(dr)
    scope = "the host" + (f" and subset(s) {', '.join(subsets)}" if subsets else "")
    return passed("; ".join(
        [f"{ref(dr)}: Envoy ejects a pod after {consecutive_5xx} consecutive 5xx errors for {scope}"
         + (f" ({', '.join(f'{f} {t}' for f, t, _ in durations)})" if durations else "")] + notes))
