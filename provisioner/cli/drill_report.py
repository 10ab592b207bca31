"""The drill's report: the architecture document's DR table with each measured value and verdict, as text, JSON or
Markdown (for $GITHUB_STEP_SUMMARY). Secrets never reach it: rows carry names, times and figures only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from provisioner.operate.drill_plan import TARGETS, Row, exit_code

SCHEMA = 1
MARK = {"pass": "PASS", "fail": "MISSED", "error": "ERROR", "skipped": "NOT MEASURED"}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _target(value: float | None) -> str:
    if value is None:
        return "N/A"
    if value == 0:
        return "0"
    return f"{value / 3600:g} hour" if value >= 3600 else f"{value / 60:g} min"


def _lines(rows: list[Row]) -> list[list[str]]:
    return [[TARGETS[r.component].label, _target(r.target.rto), duration(r.rto), _target(r.target.rpo),
             duration(r.rpo), TARGETS[r.component].method, MARK[r.status]] for r in rows]


HEADER = ["Component", "RTO target", "RTO measured", "RPO target", "RPO measured", "Recovery method", "Result"]


def _verdict(rows: list[Row]) -> str:
    code = exit_code(rows)
    return {0: "every target holds", 2: "a target is missed or not shown to hold",
            1: "the drill could not finish"}[code]


def text(env: str, rows: list[Row], target: str) -> str:
    table = [HEADER] + _lines(rows)
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    out = [f"Disaster-recovery drill: {env} ({target})", ""]
    for k, line in enumerate(table):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    out.append("")
    for r in rows:
        out.append(f"{TARGETS[r.component].label}: {r.detail}")
        out += [f"  - {n}" for n in r.notes]
    out += ["", f"Result: {_verdict(rows)}."]
    return "\n".join(out) + "\n"


def markdown(env: str, rows: list[Row], target: str) -> str:
    out = [f"## Disaster-recovery drill: {env}", "", f"Target: {target}. Result: **{_verdict(rows)}**.", "",
           "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(line) + " |" for line in _lines(rows)]
    out.append("")
    for r in rows:
        out.append(f"- **{TARGETS[r.component].label}**: {r.detail}")
        out += [f"  - {n}" for n in r.notes]
    return "\n".join(out) + "\n"


def to_json(env: str, rows: list[Row], target: str) -> str:
    doc: dict[str, Any] = {"schema": SCHEMA, "env": env, "target": target,
                           "finished": datetime.now(UTC).isoformat(), "exit_code": exit_code(rows),
                           "components": [r.as_dict() for r in rows]}
    return json.dumps(doc, indent=2) + "\n"


def render(output: str, env: str, rows: list[Row], target: str) -> str:
    return {"json": to_json, "markdown": markdown}.get(output, text)(env, rows, target)
