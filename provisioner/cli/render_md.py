"""Plan, drift and run results as Markdown for pull requests and $GITHUB_STEP_SUMMARY: the same facts, in
the same order (most urgent first), as the text and JSON reports in provisioner/cli/render.py."""

from __future__ import annotations

from collections import Counter
from typing import Any

from provisioner.cli.fixes import fix
from provisioner.cli.render import (
    _apply_line,
    _attribution,
    _drift_head,
    _drift_reason,
    _error_lines,
    _groups,
    _ignored_summary,
    _incomplete,
    _show,
    _summary_line,
    left_for_a_person,
)
from provisioner.core import redact
from provisioner.core.model import Action, Change, HoldKind, Outcome, Plan, Status


def _waiting_md(plan: Plan) -> list[str]:
    if not plan.waiting:
        return []
    lines = ["", f"**{len(plan.waiting)} change(s) wait on a precondition** (not applied, not a failure):", ""]
    return lines + [f"- {c.action.value} `{c.step}`: {c.waiting}" for c in plan.waiting]


def _unmanaged_md(plan: Plan) -> list[str]:
    if not plan.unmanaged:
        return []
    lines = ["", f"**{len(plan.unmanaged)} unmanaged resource(s)** in the group (not in the env files; left alone):", ""]
    return lines + [f"- {t} `{i}`" for i, t in plan.unmanaged]


def drift_markdown(plan: Plan, show_ignored: bool = False) -> str:
    """For a pull-request comment or $GITHUB_STEP_SUMMARY: the same facts as drift_json."""
    plan = redact.plan(plan)
    head, noise = _drift_head(plan)
    lines = [f"### Drift in `{plan.env}`{_incomplete(plan)}", "", f"**{head}**", "", f"<sub>{noise}</sub>", ""]
    if not plan.drift and not plan.errors:
        lines.append("In sync: the environment matches its definition.")
    for severity, changes in _groups(plan.drift):
        lines += ["", f"#### {severity.label.capitalize()}"]
        for change in changes:
            lines += ["", f"##### `{change.action.symbol}` `{change.step}` ({change.ref.type} `{change.ref.name}`)", ""]
            if change.action in (Action.CREATE, Action.DELETE):
                lines.append(f"{_drift_reason(change)}\n")
            lines += _change_md(change, fix(change, plan.env, drift=True), created_values=False)
    if show_ignored and any(c.ignored for c in plan.changes):
        lines += ["", "<details><summary>Ignored fields by rule</summary>", ""]
        for change in plan.changes:
            lines += [f"- `{change.step}` `{i.path}`: {i.why}" for i in change.ignored]
        lines += ["", "</details>"]
    lines += _waiting_md(plan)
    lines += _unmanaged_md(plan)
    lines += _error_lines(plan, "\n> **{steps}** could not be read: {message}")
    return "\n".join(lines) + "\n"


def _md_value(value: Any) -> str:
    return "`" + _show(value).replace("|", "\\|").replace("`", "'") + "`"


def _refused_md(change: Change) -> str:
    assert change.hold is not None
    if change.hold.kind is HoldKind.FOR_A_PERSON:
        return f"> **Left for a person:** {change.hold.why}\n"
    return f"> **Refused:** {change.hold.why}\n"


def _change_md(change: Change, fix_line: str | None, created_values: bool = True) -> list[str]:
    """A change's body in Markdown: refusal, attribution, the live/desired table, what to do, ignored counts."""
    lines = [_refused_md(change)] if change.refused else []
    who = _attribution(change)
    if who:
        lines.append(f"_{who}_\n")
    if change.properties and change.action is not Action.CREATE:
        lines += ["| property | live | desired (env files) |", "|---|---|---|"]
        lines += [f"| `{p.path}` | {_md_value(p.before)} | {_md_value(p.after)} |" for p in change.properties]
    elif change.properties and created_values:
        lines += ["| property | desired (env files) |", "|---|---|"]
        lines += [f"| `{p.path}` | {_md_value(p.after)} |" for p in change.properties]
    if fix_line:
        lines.append(f"\n**Fix:** `{fix_line}`")
    if change.ignored:
        lines.append(f"\n<sub>ignored: {_ignored_summary(change)}</sub>")
    return lines


def plan_markdown(plan: Plan, title: str = "Plan", only: tuple[Change, ...] | None = None) -> str:
    plan = redact.plan(plan)
    changes = plan.pending if only is None else tuple(redact.change(c) for c in only)
    lines = [f"### {title} for `{plan.env}`{_incomplete(plan)}", "", f"**{_summary_line(plan)}**", ""]
    if not changes and not plan.errors:
        lines.append("No changes. The environment matches its definition.")
    for severity, group in _groups(changes):
        lines += ["", f"#### {severity.label.capitalize()}"]
        for change in group:
            lines += ["", f"##### `{change.action.symbol}` {change.action.value} `{change.step}` ({change.ref.type} "
                          f"`{change.ref.name}`)", ""]
            lines += _change_md(change, fix(change, plan.env) if change.hold else None)
    lines += _waiting_md(plan)
    lines += _unmanaged_md(plan)
    lines += _error_lines(plan, "\n> **{steps}** could not be read: {message}")
    lines += [line.strip() and f"\n{line.strip()}" for line in _apply_line(plan) if line.strip()]
    return "\n".join(lines) + "\n"


def outcomes_markdown(outcomes: list[Outcome], seconds: float, env: str) -> str:
    """What a run did, after the plan's Markdown: failures, what was left for a person with its fix, totals."""
    counts = Counter(o.status for o in outcomes)
    lines = ["", f"### Result for `{env}`", ""]
    for o in outcomes:
        if o.status in (Status.FAILED, Status.SKIPPED):
            lines.append(f"- **{o.status.value}** `{o.change.step}`: {redact.scrub(o.error or '')}")
        elif o.status is Status.LEFT_FOR_A_PERSON:
            lines.append(f"- **left for a person** `{o.change.step}`: {redact.scrub(o.error or '')}; "
                         f"fix: `{fix(o.change, env)}`")
        elif o.status is Status.WAITING:
            lines.append(f"- **waiting** `{o.change.step}`: {redact.scrub(o.error or '')}")
    totals = ", ".join(f"{s.value} {counts[s]}" for s in Status if counts[s])
    lines += ["", f"**{totals or 'nothing'}** in {seconds:.1f}s"]
    left = left_for_a_person([o.change for o in outcomes if o.status is Status.LEFT_FOR_A_PERSON])
    if left:
        lines += ["", f"> {left}"]
    return "\n".join(lines) + "\n"
