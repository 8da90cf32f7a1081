"""The class's gradebook for one lab: one row per student (each check's status and points,
score, passed) as a text table, CSV, JSON, JUnit or one self-contained HTML heat map
(students x checks, the reason on hover, the class's pass rate per check; no network).

Reports handed in as files (`lab class gradebook`, grader.gradebook) come with `flags`:
student -> '' when the report is intact, else why it is not. Every format then says for each
student whether the report is `intact` or `edited`, and an edited report is never counted as
passed (its checks are shown as the file has them, and count for nothing in the pass rates).
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Mapping, Sequence

from grader.model import LabReport, Status

Row = tuple[str, LabReport]  # (student, their report)
Flags = Mapping[str, str]  # student -> '' (report intact) or why it was flagged as edited
INTACT, EDITED = "intact", "edited"

# Cell colours of the heat map (a test reads them back from a screenshot).
COLOURS = {Status.PASS: "#1b8a3a", Status.FAIL: "#c62828", Status.ERROR: "#ef6c00", Status.SKIP: "#9e9e9e"}


def check_ids(rows: Sequence[Row]) -> list[str]:
    return [r.id for r in rows[0][1].results] if rows else []


def trusted(student: str, flags: Flags | None) -> bool:
    return not (flags or {}).get(student)


def passed(student: str, rep: LabReport, flags: Flags | None = None) -> bool:
    """Passed, and (for a handed-in report) not edited."""
    return rep.passed and trusted(student, flags)


def pass_rates(rows: Sequence[Row], flags: Flags | None = None) -> dict[str, float]:
    """Share of the class passing each check (0..1); an edited report's checks count as not passed."""
    ids = check_ids(rows)
    if not rows:
        return {}
    return {cid: sum(1 for s, rep in rows for r in rep.results
                     if r.id == cid and r.status is Status.PASS and trusted(s, flags)) / len(rows)
            for cid in ids}


def to_table(rows: Sequence[Row], flags: Flags | None = None) -> str:
    ids = check_ids(rows)
    extra = ["report"] if flags is not None else []
    head = ["student", *ids, "score", "passed", *extra]
    body = [[s, *(f"{r.status.value} {r.points}/{r.max_points}" for r in rep.results),
             f"{rep.score}/{rep.total}", "yes" if passed(s, rep, flags) else "no",
             *(["EDITED" if not trusted(s, flags) else INTACT] if flags is not None else [])] for s, rep in rows]
    rates = pass_rates(rows, flags)
    body.append(["pass rate", *(f"{rates[c]:.0%}" for c in ids), "",
                 f"{sum(passed(s, rep, flags) for s, rep in rows)}/{len(rows)}", *["" for _ in extra]])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip() for line in [head, *body]]
    return "\n".join(lines) + "\n"


def _integrity(s: str, flags: Flags) -> list[str]:
    return [EDITED, flags[s]] if flags.get(s) else [INTACT, ""]


def to_csv(rows: Sequence[Row], flags: Flags | None = None) -> str:
    ids = check_ids(rows)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["student", "namespace", *(f"{c} ({p})" for c in ids for p in ("status", "points")),
                "score", "total", "pass_mark", "passed", *(["report", "report_problem"] if flags is not None else [])])
    for s, rep in rows:
        w.writerow([s, rep.namespace, *(x for r in rep.results for x in (r.status.value, r.points)),
                    rep.score, rep.total, rep.pass_mark, str(passed(s, rep, flags)).lower(),
                    *(_integrity(s, flags) if flags is not None else [])])
    return out.getvalue()


def to_json(rows: Sequence[Row], flags: Flags | None = None) -> str:
    def row(s: str, rep: LabReport) -> dict:
        if flags is None:
            return {"student": s, **rep.to_dict()}
        report, why = _integrity(s, flags)
        return {"student": s, "report": report, "report_problem": why,
                **rep.to_dict(), "passed": passed(s, rep, flags)}
    return json.dumps([row(s, rep) for s, rep in rows], indent=2) + "\n"


def to_html(rows: Sequence[Row], refresh: int | None = None, flags: Flags | None = None) -> str:
    """The heat map; `refresh` seconds makes the browser reload it (a live board under --watch)."""
    ids = check_ids(rows)
    lab = rows[0][1] if rows else None
    title = html.escape(f"{lab.lab}: {lab.title}" if lab else "class")
    rates = pass_rates(rows, flags)
    css = "".join(f"td.{st.value}{{background:{c};color:#fff}}" for st, c in COLOURS.items())
    head = "".join(f"<th title='{html.escape(r.description, quote=True)}'>{html.escape(r.id)}</th>"
                   for r in (rows[0][1].results if rows else ()))
    trs = []
    for s, rep in rows:
        cells = "".join(
            f"<td class='{r.status.value}' title='{html.escape(r.reason or r.status.value, quote=True)}'>"
            f"{r.points}/{r.max_points}</td>" for r in rep.results)
        verdict = "passed" if passed(s, rep, flags) else "not passed"
        mark = ""
        if flags is not None:
            why = html.escape(f"edited after grading: {flags[s]}" if flags.get(s) else "as lab grade wrote it",
                              quote=True)
            mark = f"<td class='{EDITED if flags.get(s) else INTACT}' title='{why}'>{_integrity(s, flags)[0]}</td>"
        trs.append(f"<tr><th class='student'>{html.escape(s)}</th>{cells}"
                   f"<td class='score'>{rep.score}/{rep.total}</td><td class='score'>{verdict}</td>{mark}</tr>")
    n_passed = sum(passed(s, rep, flags) for s, rep in rows)
    rate_cells = "".join(f"<td class='rate'>{rates[c]:.0%}</td>" for c in ids)
    edited = sum(not trusted(s, flags) for s, _ in rows)
    report_head = "<th>report</th>" if flags is not None else ""
    report_foot = "<td class='rate'></td>" if flags is not None else ""
    warning = (f"<p class='edited'>{edited} report{'s were' if edited != 1 else ' was'} edited after grading: "
               "flagged, not counted as passed.</p>" if edited else "")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        + (f"<meta http-equiv='refresh' content='{refresh}'>" if refresh else "") +
        f"<title>{title}</title><style>"
        "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
        "td,th{border:1px solid #fff;padding:.5em 1em;text-align:center;min-width:4em}"
        "th.student{text-align:left}td.rate,td.score{background:#eceff1}" + css +
        f"td.{EDITED},p.{EDITED}{{background:#6a1b9a;color:#fff}}p.{EDITED}{{padding:.3em .5em}}td.{INTACT}{{background:#eceff1}}"
        "</style></head><body>"
        f"<h1>{title}</h1><p>{n_passed} of {len(rows)} students passed (pass mark {lab.pass_mark if lab else 0}). "
        f"Hover over a cell for its reason.</p>{warning}"
        f"<table><thead><tr><th>student</th>{head}<th>score</th><th>verdict</th>{report_head}</tr></thead>"
        f"<tbody>{''.join(trs)}</tbody>"
        f"<tfoot><tr><th class='student'>pass rate</th>{rate_cells}<td class='rate'></td>"
        f"<td class='rate'>{n_passed}/{len(rows)}</td>{report_foot}</tr></tfoot></table></body></html>\n")
