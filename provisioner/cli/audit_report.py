"""Renders an audit (provisioner/operate/audit.py) as text, JSON or Markdown, and the exemptions `validate` lists."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from provisioner.core.redact import scrub
from provisioner.engine.policy.baseline import Exemption
from provisioner.engine.policy.definitions import by_reference
from provisioner.engine.policy.evaluate import Result
from provisioner.operate.audit import AuditReport

STATE_ORDER = ("non-compliant", "error", "exempt", "compliant", "not-applicable")
TITLES = {"non-compliant": "Not met", "error": "Could not be evaluated", "exempt": "Exempted", "compliant": "Met",
          "not-applicable": "Apply to no resource here"}
MARKS = {"non-compliant": "x", "error": "!", "exempt": "~", "compliant": "+", "not-applicable": " "}


def headline(report: AuditReport) -> str:
    s = report.summary
    verdict = "compliant" if report.compliant else ("NOT compliant" if s.not_met else "evaluation failed")
    return (f"Audit of {report.env} against {s.assigned} assigned Azure Policy built-ins: {verdict}\n"
            f"  {s.applicable} apply to its {report.resources} resource(s): {s.met} met, {s.exempted} exempted, "
            f"{s.not_met} not met" + (f", {s.errors} could not be evaluated" if s.errors else "")
            + f"; {s.not_applicable} apply to none of them\n")


def left_out(report: AuditReport) -> str:
    classes = report.baseline.classes
    total = sum(len(c.definitions) for c in classes.values())
    parts = ", ".join(f"{name} {len(c.definitions)}" for name, c in classes.items())
    return f"  {total} built-in(s) not assigned, by class (policy/baseline.toml): {parts}\n"


def _grouped(report: AuditReport) -> dict[str, list[Result]]:
    out: dict[str, list[Result]] = {state: [] for state in STATE_ORDER}
    for r in report.results:
        out.setdefault(r.state, []).append(r)
    return out


def _exemption_line(name: str, exemption: Exemption) -> str:
    expiry = f", expires {exemption.expires_on}" if exemption.expires_on else ""
    return f"{exemption.exemption_category} ({name}{expiry}): {exemption.description}"


def text(report: AuditReport, show_met: bool = False) -> str:
    lines = [headline(report), left_out(report)]
    for state, results in _grouped(report).items():
        if not results or (state in ("compliant", "not-applicable") and not show_met):
            continue
        lines.append(f"\n{TITLES[state]} ({len(results)})\n")
        for r in results:
            d = r.definition
            lines.append(f"  {MARKS[state]} {d.display_name}\n      {d.reference_id} {d.name} [{r.effect}]\n")
            if state == "exempt" and r.exemption:
                lines.append(f"      exempt: {_exemption_line(*r.exemption)}\n")
            for f in r.findings:
                if f.state != "compliant" and state != "compliant":
                    lines.append(f"      {f.resource_id}: {f.detail}\n")
    if report.unused:
        lines.append(f"\nExemptions not needed here ({len(report.unused)})\n")
        lines += [f"  - {name}: {why}\n" for name, why in report.unused.items()]
    if not show_met:
        lines.append(f"\n({report.summary.met} met and {report.summary.not_applicable} not applicable listed with "
                     "--show-met)\n")
    return scrub("".join(lines))


def to_json(report: AuditReport) -> str:
    doc: dict[str, Any] = {
        "environment": report.env,
        "resource_group": report.resource_group,
        "evaluated_at": report.now.isoformat(),
        "compliant": report.compliant,
        "summary": {"assigned": report.summary.assigned, "applicable": report.summary.applicable,
                    "met": report.summary.met, "exempted": report.summary.exempted,
                    "not_met": report.summary.not_met, "errors": report.summary.errors,
                    "not_applicable": report.summary.not_applicable, "resources": report.resources},
        "not_assigned": {name: {"reason": c.reason, "definitions": list(c.definitions)}
                         for name, c in report.baseline.classes.items()},
        "definitions": [_result_json(r) for r in report.results],
        "exemptions": {name: _exemption_json(e) for name, e in report.exemptions.items()},
        "unused_exemptions": dict(report.unused),
    }
    return scrub(json.dumps(doc, indent=2)) + "\n"


def _exemption_json(e: Exemption) -> dict[str, Any]:
    return {"exemptionCategory": e.exemption_category, "description": e.description,
            "policyDefinitionReferenceIds": list(e.policy_definition_reference_ids),
            "displayName": e.display_name, "expiresOn": e.expires_on.isoformat() if e.expires_on else None}


def _result_json(r: Result) -> dict[str, Any]:
    d = r.definition
    return {"referenceId": d.reference_id, "policyDefinitionId": d.id, "displayName": d.display_name,
            "category": d.category, "effect": r.effect, "state": r.state, "evaluated": r.evaluated,
            "exemption": r.exemption[0] if r.exemption else None,
            "resources": [{"id": f.resource_id, "state": f.state, "detail": f.detail} for f in r.findings]}


def markdown(report: AuditReport) -> str:
    s = report.summary
    mark = "✅" if report.compliant else "❌"
    lines = [f"## {mark} Security baseline: {report.env}\n\n",
             f"{s.assigned} Azure Policy built-ins assigned; {s.applicable} apply to the {report.resources} "
             f"resource(s): **{s.met} met, {s.exempted} exempted, {s.not_met} not met**"
             + (f", {s.errors} could not be evaluated" if s.errors else "") + ".\n\n"]
    groups = _grouped(report)
    for state in ("non-compliant", "error"):
        if groups.get(state):
            lines.append(f"### {TITLES[state]}\n\n| definition | effect | resource | detail |\n|---|---|---|---|\n")
            for r in groups[state]:
                for f in r.findings:
                    if f.state != "compliant":
                        lines.append(f"| {r.definition.display_name} (`{r.definition.reference_id}`) | {r.effect} | "
                                     f"`{f.resource_id.rsplit('/', 1)[-1]}` | {_cell(f.detail)} |\n")
            lines.append("\n")
    if groups.get("exempt"):
        lines.append("### Exempted\n\n| definition | category | reason |\n|---|---|---|\n")
        for r in groups["exempt"]:
            name, e = r.exemption or ("", None)
            lines.append(f"| {r.definition.display_name} (`{r.definition.reference_id}`) | "
                         f"{e.exemption_category if e else ''} | {_cell(e.description) if e else ''} |\n")
        lines.append("\n")
    lines.append(f"<details><summary>{s.met} met</summary>\n\n"
                 + "".join(f"- {r.definition.display_name}\n" for r in groups.get("compliant", []))
                 + "\n</details>\n")
    return scrub("".join(lines))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def exemption_lines(exemptions: Mapping[str, Exemption]) -> Iterable[str]:
    """What `validate` prints: each exemption with the definitions it names (by display name)."""
    known = by_reference()
    for name, e in exemptions.items():
        yield f"exempt: {_exemption_line(name, e)}"
        for ref in e.policy_definition_reference_ids:
            d = known.get(ref.lower())
            yield f"    {ref}: {d.display_name if d else '(unknown)'}"
