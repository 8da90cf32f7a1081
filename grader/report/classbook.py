"""The class's gradebook for one lab: one row per student (each check's status and points,
score, passed) as a text table, CSV, JSON, JUnit or one self-contained HTML heat map
(students x checks, the reason on hover, the class's pass rate per check; no network)."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence

from grader.model import LabReport, Status

Row = tuple[str, LabReport]  # (student, their report)

# Cell colours of the heat map (a test reads them back from a screenshot).
COLOURS = {Status.PASS: "#1b8a3a", Status.FAIL: "#c62828", Status.ERROR: "#ef6c00", Status.SKIP: "#9e9e9e"}


def check_ids(rows: Sequence[Row]) -> list[str]:
    return [r.id for r in rows[0][1].results] if rows else []


def pass_rates(rows: Sequence[Row]) -> dict[str, float]:
    """Share of the class passing each check (0..1)."""
    ids = check_ids(rows)
    if not rows:
        return {}
    return {cid: sum(1 for _, rep in rows for r in rep.results if r.id == cid and r.status is Status.PASS) / len(rows)
            for cid in ids}


def to_table(rows: Sequence[Row]) -> str:
    ids = check_ids(rows)
    head = ["student", *ids, "score", "passed"]
    body = [[s, *(f"{r.status.value} {r.points}/{r.max_points}" for r in rep.results),
             f"{rep.score}/{rep.total}", "yes" if rep.passed else "no"] for s, rep in rows]
    rates = pass_rates(rows)
    body.append(["pass rate", *(f"{rates[c]:.0%}" for c in ids), "", f"{sum(rep.passed for _, rep in rows)}/{len(rows)}"])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip() for line in [head, *body]]
    return "\n".join(lines) + "\n"


def to_csv(rows: Sequence[Row]) -> str:
    ids = check_ids(rows)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["student", "namespace", *(f"{c} ({p})" for c in ids for p in ("status", "points")),
                "score", "total", "pass_mark", "passed"])
    for s, rep in rows:
        w.writerow([s, rep.namespace, *(x for r in rep.results for x in (r.status.value, r.points)),
                    rep.score, rep.total, rep.pass_mark, str(rep.passed).lower()])
    return out.getvalue()


def to_json(rows: Sequence[Row]) -> str:
    return json.dumps([{"student": s, **rep.to_dict()} for s, rep in rows], indent=2) + "\n"


def to_html(rows: Sequence[Row], refresh: int | None = None) -> str:
    """The heat map; `refresh` seconds makes the browser reload it (a live board under --watch)."""
    ids = check_ids(rows)
    lab = rows[0][1] if rows else None
    title = html.escape(f"{lab.lab}: {lab.title}" if lab else "class")
    rates = pass_rates(rows)
    css = "".join(f"td.{st.value}{{background:{c};color:#fff}}" for st, c in COLOURS.items())
    head = "".join(f"<th title='{html.escape(r.description, quote=True)}'>{html.escape(r.id)}</th>"
                   for r in (rows[0][1].results if rows else ()))
    trs = []
    for s, rep in rows:
        cells = "".join(
            f"<td class='{r.status.value}' title='{html.escape(r.reason or r.status.value, quote=True)}'>"
            f"{r.points}/{r.max_points}</td>" for r in rep.results)
        verdict = "passed" if rep.passed else "not passed"
        trs.append(f"<tr><th class='student'>{html.escape(s)}</th>{cells}"
                   f"<td class='score'>{rep.score}/{rep.total}</td><td class='score'>{verdict}</td></tr>")
    passed = sum(rep.passed for _, rep in rows)
    rate_cells = "".join(f"<td class='rate'>{rates[c]:.0%}</td>" for c in ids)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        + (f"<meta http-equiv='refresh' content='{refresh}'>" if refresh else "") +
        f"<title>{title}</title><style>"
        "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
        "td,th{border:1px solid #fff;padding:.5em 1em;text-align:center;min-width:4em}"
        "th.student{text-align:left}td.rate,td.score{background:#eceff1}" + css +
        "</style></head><body>"
        f"<h1>{title}</h1><p>{passed} of {len(rows)} students passed (pass mark {lab.pass_mark if lab else 0}). "
        "Hover over a cell for its reason.</p>"
        f"<table><thead><tr><th>student</th>{head}<th>score</th><th>verdict</th></tr></thead>"
        f"<tbody>{''.join(trs)}</tbody>"
        f"<tfoot><tr><th class='student'>pass rate</th>{rate_cells}<td class='rate'></td>"
        f"<td class='rate'>{passed}/{len(rows)}</td></tr></tfoot></table></body></html>\n")
