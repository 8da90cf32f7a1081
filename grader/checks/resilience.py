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
from grader.checks.lookup import effective_entry, no_rule
from grader.mesh import faults as F
from grader.mesh.destinationrules import policy_rule, pool_overrides, rules_for_host
from grader.mesh.durations import format_duration, parse_duration
from grader.mesh.hosts import resolve_host
from grader.mesh.routing import describe_match
from grader.model import Outcome, failed, passed
from grader.objects import as_dict, as_list, is_int, json_number, ref, spec_of
from grader.snapshot import Snapshot
from grader.text import join, short


def _elsewhere(vs: dict, idx: int, key: str) -> list[str]:
    """Other http[] entries that set ``key``: a plain GET / never takes them."""
    out = []
    for j, other in enumerate(as_list(spec_of(vs).get("http"))):
        if j != idx and isinstance(other, dict) and other.get(key) is not None:
            out.append(f"spec.http[{j}] sets {key}, but a plain GET / never takes it (it {describe_match(other)})")
    return out[:2]


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
    """The route requests through the gateway take injects the expected delay and/or abort fault."""
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
    found = effective_entry(snap, namespace, host, gateway, f"fault injection ({wanted})")
    if isinstance(found, Outcome):
        return found
    vs, idx, entry, _fqdn, notes = found
    where = f"spec.http[{idx}]"
    base = f"{ref(vs)} {where}.fault"
    fault = entry.get("fault")
    if fault is None:
        return failed(
            join([f"{ref(vs)} {where} (the route a plain GET / takes) has no fault; expected {wanted}"]
                  + notes + _elsewhere(vs, idx, "fault")),
            f"add fault to {where} of {ref(vs)}",
        )
    if not isinstance(fault, dict):
        return failed(f"{base} is {_found(fault)}, not an object; expected {wanted}", f"fix {where}.fault")
    problems: list[str] = []
    hints: list[str] = []
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
    if problems:
        return failed(join(problems + notes), "; ".join(dict.fromkeys(hints)))
    return passed("; ".join([f"{ref(vs)} {where} injects {wanted}"] + notes))


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
    """The route requests through the gateway take has the expected timeout and retry policy."""
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
    found = effective_entry(snap, namespace, host, gateway, wanted_text)
    if isinstance(found, Outcome):
        return found
    vs, idx, entry, _fqdn, notes = found
    where = f"spec.http[{idx}]"
    base = f"{ref(vs)} {where}"
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
    if problems:
        others = _elsewhere(vs, idx, "retries") or _elsewhere(vs, idx, "timeout")
        return failed(join(problems + notes + others), f"set {wanted_text} on {where} of {ref(vs)}")
    return passed("; ".join([f"{base} has {wanted_text}"] + notes))


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


@check("connection-pool", reads=[K.DESTINATION_RULE])
def connection_pool(
    snap: Snapshot,
    *,
    namespace: str,
    host: str,
    max_connections: int | None = 100,
    http1_max_pending: int | None = 50,
    max_requests_per_connection: int | None = 2,
) -> Outcome:
    """The DestinationRule for the host sets the expected connection pool at spec.trafficPolicy level."""
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
    cp = as_dict(tp).get("connectionPool")
    overrides = pool_overrides(dr)
    if cp is None:
        problems = [f"{base} is not set; expected {wanted}"]
        problems += [
            f"{ref(dr)} {path} is set, but it applies only to {scope}; expected the connection pool at "
            "spec.trafficPolicy so it applies to every request to the host"
            for path, _cp, scope in overrides[:2]
        ]
        return failed(join(problems + notes), hint)
    problems = _pool_problems(cp, base, want)
    for path, ocp, scope in overrides:
        problems += [
            f"{d} ({path} replaces the top-level connection pool for {scope}: Istio does not merge them field by "
            "field)"
            for d in _pool_problems(ocp, f"{ref(dr)} {path}", want)[:2]
        ]
    if problems:
        return failed(join(problems + notes), hint)
    return passed("; ".join([f"{base} sets {wanted}"] + notes))


def _outlier_problems(dr: dict, consecutive: int, durations: list[tuple[str, str, Any]]) -> list[str]:
    base = "spec.trafficPolicy.outlierDetection"
    tp = spec_of(dr).get("trafficPolicy")
    od = as_dict(tp).get("outlierDetection")
    if not isinstance(od, dict):
        found = "not set" if od is None else f"{short(od)}, not an object"
        return [f"{ref(dr)} {base} is {found}; expected consecutive5xxErrors: {consecutive}"]
    problems = []
    c5, legacy = od.get("consecutive5xxErrors"), od.get("consecutiveErrors")
    if c5 is None and legacy is not None:
        problems.append(
            f"{ref(dr)} sets {base}.consecutiveErrors ({short(legacy)}) but not consecutive5xxErrors: "
            "consecutiveErrors "
            "is deprecated and pilot ignores it in every Istio release OSSM 2.x ships, so it configures no outlier "
            f"detection; use consecutive5xxErrors: {consecutive}"
        )
    elif c5 is None:
        problems.append(f"{ref(dr)} {base}.consecutive5xxErrors is not set; expected {consecutive}")
    elif not is_int(c5):
        problems.append(
            f"{ref(dr)} {base}.consecutive5xxErrors is {short(c5)} (not an integer); expected {consecutive}"
        )
    elif c5 != consecutive:
        problems.append(f"{ref(dr)} {base}.consecutive5xxErrors is {c5}; expected {consecutive}")
    for field, text, want in durations:
        value = od.get(field)
        got = parse_duration(value)
        if value is None:
            problems.append(f"{ref(dr)} {base}.{field} is not set; expected {text}")
        elif got is None:
            problems.append(f"{ref(dr)} {base}.{field} is {short(value)}, not a duration; expected {text}")
        elif got != want:
            problems.append(f"{ref(dr)} {base}.{field} is {short(value)} ({format_duration(got)}); expected {text}")
    return problems


@check("outlier-detection", reads=[K.DESTINATION_RULE])
def outlier_detection(
    snap: Snapshot,
    *,
    namespace: str,
    host: str,
    consecutive_5xx: int = 5,
    interval: str | None = "30s",
    base_ejection_time: str | None = "30s",
) -> Outcome:
    """A DestinationRule for the host configures outlier detection with consecutive5xxErrors."""
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
    results = [(dr, _outlier_problems(dr, consecutive_5xx, durations)) for dr in rules]
    for dr, problems in results:
        if not problems:
            return passed(
                f"{ref(dr)} spec.trafficPolicy.outlierDetection ejects after {consecutive_5xx} consecutive 5xx errors"
            )
    dr, problems = min(results, key=lambda r: len(r[1]))
    want = ", ".join(
        [f"consecutive5xxErrors: {consecutive_5xx}"] + [f"{field}: {text}" for field, text, _ in durations]
    )
    return failed(join(problems), f"set spec.trafficPolicy.outlierDetection of {ref(dr)} to {want}")
