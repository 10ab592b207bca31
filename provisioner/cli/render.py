"""Plan and run results as text for people, JSON for machines and Markdown for pull requests."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from provisioner.cli.fixes import fix
from provisioner.core import redact
from provisioner.core.model import (
    ABANDONED,
    AZURE_MANAGED,
    IGNORED_KINDS,
    NOT_MANAGED,
    NOT_STARTED,
    READ_ONLY,
    SENSITIVE,
    UNDECLARED,
    UNKNOWN,
    WRITE_ONLY,
    Action,
    Change,
    HoldKind,
    Ignored,
    Outcome,
    Plan,
    PropertyChange,
    Status,
)
from provisioner.engine.severity import Severity, of_change, rank

SCHEMA_VERSION = 1
# Every report says which side is which once, at the top.
LEGEND = "property: live value -> desired value (the env files)"


def _plain(value: Any) -> Any:
    if value is UNKNOWN:
        return "(known after apply)"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _show(value: Any) -> str:
    if value is UNKNOWN:
        return "(known after apply)"
    if value == SENSITIVE:
        return SENSITIVE
    if value is None:
        return "(absent)"  # not set on that side: an added or removed key or list element
    return json.dumps(_plain(value), sort_keys=True)


# How each class of field that was not compared reads in a report (provisioner.core.model.IGNORED_KINDS).
KIND_LABELS = {READ_ONLY: "read-only (server-populated)", NOT_MANAGED: "not managed", WRITE_ONLY: "write-only",
               AZURE_MANAGED: "azure-managed tag", UNDECLARED: "undeclared"}


def _kind_counts(ignored: Iterable[Ignored]) -> Counter[str]:
    return Counter(i.category for i in ignored)


def _kind_order(counts: Counter[str]) -> list[tuple[str, int]]:
    return [(k, counts[k]) for k in IGNORED_KINDS if counts[k]] + sorted(
        (k, n) for k, n in counts.items() if k not in IGNORED_KINDS)


def _ignored_summary(change: Change) -> str:
    counts = _kind_counts(change.ignored)
    return ", ".join(f"{n} {KIND_LABELS.get(k, k)} field{'s' if n != 1 else ''}" for k, n in _kind_order(counts))


def _not_managed_reasons(ignored: Iterable[Ignored]) -> dict[str, int]:
    return dict(sorted(Counter(i.rule for i in ignored if i.category == NOT_MANAGED).items()))


def _ago(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def _attribution(change: Change, now: float | None = None) -> str | None:
    a = change.attribution
    if a is None:
        return None
    if not a.timestamp:  # a sentinel from provisioner.azure.attribution: nothing found, or the lookup failed
        return a.caller.strip("()") + (f": {a.operation}" if a.operation else "")
    from datetime import datetime

    when = a.timestamp
    try:
        ts = datetime.fromisoformat(a.timestamp.replace("Z", "+00:00"))
        current = datetime.now(UTC).timestamp() if now is None else now
        when = f"{a.timestamp} ({_ago(max(0.0, current - ts.timestamp()))})"
    except ValueError:
        pass
    return f"last changed by {a.caller} at {when}" + (f" via {a.operation}" if a.operation else "")


def _attribution_dict(change: Change) -> dict[str, Any] | None:
    """The same facts as the text line: found (caller, timestamp, operation), not_found or unavailable."""
    a = change.attribution
    if a is None:
        return None
    if a.timestamp:
        return {"status": "found", "caller": a.caller, "timestamp": a.timestamp, "operation": a.operation}
    status = "unavailable" if "unavailable" in a.caller else "not_found"
    return {"status": status, "caller": None, "timestamp": None, "operation": None,
            **({"detail": a.operation} if a.operation else {})}


def _change_dict(change: Change, show_ignored: bool, env: str = "", drift: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "step": change.step,
        "id": change.ref.id,
        "type": change.ref.type,
        "action": change.action.value,
        "reason": change.reason,
        "properties": [
            {"path": p.path, "before": _plain(p.before), "after": _plain(p.after),
             **({"sensitive": True} if p.sensitive else {}), **({"requires_replace": True} if p.requires_replace else {})}
            for p in change.properties
        ],
        "ignored": dict(_kind_order(_kind_counts(change.ignored))),
    }
    reasons = _not_managed_reasons(change.ignored)
    if reasons:
        out["not_managed"] = reasons
    if change.refused:
        out["refused"] = change.refused
    if change.collection:
        out["collection"] = change.collection
    if change.waiting:
        out["waiting"] = change.waiting
    if change.attribution:
        out["attribution"] = _attribution_dict(change)
    if change.action is not Action.NOOP:
        out["severity"] = of_change(change).key
        out["fix"] = fix(change, env, drift)
    if show_ignored:
        out["ignored_paths"] = [{"path": i.path, "kind": i.category, "rule": i.rule} for i in change.ignored]
    return out


def by_severity(changes: Iterable[Change]) -> list[Change]:
    """Most urgent first (provisioner/engine/severity.py); unchanged resources last; the plan's order within."""
    return sorted(changes, key=lambda c: (3, 0) if c.action is Action.NOOP else rank(c))


def _groups(changes: Iterable[Change]) -> list[tuple[Severity, list[Change]]]:
    out: dict[Severity, list[Change]] = {}
    for change in by_severity(changes):
        out.setdefault(of_change(change), []).append(change)
    return list(out.items())


def plan_json(plan: Plan, only: tuple[Change, ...] | None = None, show_ignored: bool = False,
              drift: bool = False) -> str:
    plan = redact.plan(plan)
    changes = plan.changes if only is None else tuple(redact.change(c) for c in only)
    doc = {
        "schema": SCHEMA_VERSION,
        "env": plan.env,
        "summary": plan.summary,
        "changes": [_change_dict(c, show_ignored, plan.env, drift) for c in by_severity(changes)],
        "errors": [{"step": e.step, "message": e.message} for e in plan.errors],
        "unmanaged": [{"id": i, "type": t} for i, t in plan.unmanaged],
        "waiting": [{"step": c.step, "id": c.ref.id, "message": c.waiting} for c in plan.waiting],
    }
    return json.dumps(doc, indent=2, sort_keys=False)


def _waiting_lines(plan: Plan) -> list[str]:
    """Changes held back until something outside this run happens: what, and what a person must do."""
    if not plan.waiting:
        return []
    lines = ["", f"  {len(plan.waiting)} change(s) wait on a precondition (not applied, not a failure; "
                 "the next run re-checks):"]
    for c in plan.waiting:
        lines += [f"    … {c.action.value} {c.step}  ({c.ref.type} {c.ref.name})", f"      waiting: {c.waiting}"]
    return lines


def _unmanaged_lines(plan: Plan) -> list[str]:
    """Resources in the group that no env file declares: shown, never deleted (ARCHITECTURE.md table)."""
    if not plan.unmanaged:
        return []
    lines = ["", f"  {len(plan.unmanaged)} unmanaged resource(s) in the group (not in the env files; left alone):"]
    return lines + [f"    ? {t} {i.rsplit('/', 1)[-1]}  ({i})" for i, t in plan.unmanaged]


def _error_lines(plan: Plan, template: str) -> list[str]:
    """Read failures grouped by message: an unreachable endpoint is one line, not one per resource."""
    by_message: dict[str, list[str]] = {}
    for error in plan.errors:
        by_message.setdefault(error.message, []).append(error.step)
    out = []
    for message, steps in by_message.items():
        names = ", ".join(steps) if len(steps) <= 3 else f"{steps[0]} and {len(steps) - 1} other steps"
        out.append(template.format(steps=names, message=message))
    return out


def _incomplete(plan: Plan) -> str:
    """A headline never speaks for what could not be read: it says how much that was."""
    if not plan.errors:
        return ""
    unread = len({e.step for e in plan.errors})
    return f" (INCOMPLETE: {unread} of {unread + len(plan.changes)} resource(s) could not be read; counts cover the rest)"


def _summary_line(plan: Plan) -> str:
    s = plan.summary
    left = sum(1 for c in plan.changes if c.action is Action.DELETE and c.collection and c.refused)
    kept = f" ({left} left for a person)" if left else ""
    held = f", {len(plan.waiting)} waiting" if plan.waiting else ""
    return (f"{s['create']} to create, {s['update']} to update, {s['replace']} to replace, "
            f"{s['delete']} to delete{kept}, {s['noop']} unchanged{held}")


def _prop_line(p: PropertyChange, action: Action) -> str:
    if action is Action.CREATE:
        return f"      {p.path} = {_show(p.after)}"
    mark = "  # forces replacement" if p.requires_replace else ""
    return f"      {p.path}: {_show(p.before)} -> {_show(p.after)}{mark}"


def _change_text(change: Change, show_ignored: bool, env: str) -> list[str]:
    lines = [f"  {change.action.symbol:>3} {change.step}  ({change.ref.type} {change.ref.name})"]
    if change.reason and change.action is not Action.CREATE:
        lines.append(f"      reason: {change.reason}")
    lines += [_prop_line(p, change.action) for p in change.properties]
    # In a plan, what provision applies needs no line of its own (the last line says how to apply it); a
    # change it will not apply says what a person does.
    lines += _tail_lines(change, fix(change, env) if change.hold else None)
    if change.ignored and show_ignored:
        lines += [f"        . {i.path} ({i.why})" for i in change.ignored]
    return lines


def _tail_lines(change: Change, fix_line: str | None = None) -> list[str]:
    """What follows a change's properties in text: refusal, who changed it, what to do, what was not compared."""
    # A child of an owned collection that provision leaves alone is a report, not a refusal of the run.
    mark = "! " if change.collection else "REFUSED: "
    lines = [f"      {mark}{change.refused}"] if change.refused else []
    who = _attribution(change)
    if who:
        lines.append(f"      {who}")
    if fix_line:
        lines.append(f"      fix: {fix_line}")
    if change.ignored:
        lines.append(f"      ignored: {_ignored_summary(change)}")
    return lines


def _group_head(severity: Severity) -> str:
    return f"  [{severity.label}]"


def plan_text(plan: Plan, show_ignored: bool = False) -> str:
    plan = redact.plan(plan)
    lines = [f"Plan for {plan.env}{_incomplete(plan)}: {_summary_line(plan)}"]
    if plan.pending:
        lines.append(f"  most urgent first; {LEGEND}")
    lines.append("")
    for severity, changes in _groups(plan.pending):
        lines.append(_group_head(severity))
        for change in changes:
            lines += _change_text(change, show_ignored, plan.env)
    if not plan.pending and not plan.errors:
        lines.append("  Nothing to apply now." if plan.waiting else "  No changes. The environment matches its definition.")
    lines += _waiting_lines(plan)
    lines += _unmanaged_lines(plan)
    lines += _error_lines(plan, "  ! {steps}: could not be read: {message}")
    lines += _apply_line(plan)
    return "\n".join(lines) + "\n"


def _apply_line(plan: Plan) -> list[str]:
    """How to apply what the plan lists, and how much of it is left for a person instead."""
    doable = [c for c in plan.pending if not c.hold]
    held = len(plan.pending) - len(doable)
    if not plan.pending or plan.errors:
        return []
    left = f"{held} change(s) provision does not apply: see their fix lines"
    if not doable:
        return ["", f"  Nothing for provision to apply; {left}"]
    return ["", f"  To apply {len(doable)} change(s): provisioner provision --env {plan.env}" + (f"; {left}" if held else "")]


def _ignored_counts(changes: tuple[Change, ...]) -> Counter[str]:
    return _kind_counts(i for c in changes for i in c.ignored)


def _counts_text(counts: Counter[str]) -> str:
    return ", ".join(f"{n} {KIND_LABELS.get(k, k)}" for k, n in _kind_order(counts))


def _drift_head(plan: Plan) -> tuple[str, str]:
    drift, counts = plan.drift, _ignored_counts(plan.changes)
    head = f"{len(drift)} of {len(plan.changes)} resource(s) differ from their definition"
    noise = (f"ignored {sum(counts.values())} field(s) by rule, not compared: {_counts_text(counts)}"
             if counts else "ignored nothing")
    return head, noise


def _drift_reason(change: Change) -> str:
    if change.action is Action.CREATE:
        return "missing: deleted out of band (or never provisioned); provision re-creates it"
    return change.reason


def drift_text(plan: Plan, show_ignored: bool = False) -> str:
    """Grouped by resource: before -> after per property, who changed it, and what was filtered by rule."""
    plan = redact.plan(plan)
    head, noise = _drift_head(plan)
    hint = "" if show_ignored or not plan.changes else " (--show-ignored lists them)"
    lines = [f"Drift in {plan.env}{_incomplete(plan)}: {head}", f"  {noise}{hint}"]
    if plan.drift:
        lines.append(f"  most urgent first; {LEGEND}")
    lines.append("")
    for severity, changes in _groups(plan.drift):
        lines.append(_group_head(severity))
        for change in changes:
            lines.append(f"  {change.action.symbol:>3} {change.step}  ({change.ref.type} {change.ref.name})")
            lines.append(f"      id: {change.ref.id}")
            if change.action is Action.CREATE:
                lines.append(f"      {_drift_reason(change)}")
            else:
                lines += [f"      {change.reason}"] if change.action is Action.DELETE else []
                lines += [_prop_line(p, change.action) for p in change.properties]
            lines += _tail_lines(change, fix(change, plan.env, drift=True))
    if show_ignored:
        for change in plan.changes:
            if change.ignored:
                lines.append(f"  ignored in {change.step}:")
                lines += [f"      . {i.path} ({i.why})" for i in change.ignored]
    if not plan.drift and not plan.errors:
        lines.append("  In sync.")
    lines += _waiting_lines(plan)
    lines += _unmanaged_lines(plan)
    lines += _error_lines(plan, "  ! {steps}: could not be read: {message}")
    return "\n".join(lines) + "\n"


def drift_json(plan: Plan, show_ignored: bool = False) -> str:
    """plan_json restricted to drifted resources, plus totals of what was ignored across all of them."""
    plan = redact.plan(plan)
    doc = json.loads(plan_json(plan, only=plan.drift, show_ignored=show_ignored, drift=True))
    counts = _ignored_counts(plan.changes)
    doc["drift"] = {"resources": len(plan.changes), "drifted": len(plan.drift),
                    "in_sync": len(plan.changes) - len(plan.drift), "ignored": dict(_kind_order(counts)),
                    "not_managed": _not_managed_reasons(i for c in plan.changes for i in c.ignored)}
    for change in doc["changes"]:
        if change["action"] == Action.CREATE.value:
            change["reason"] = _drift_reason(next(c for c in plan.drift if c.step == change["step"]))
    return json.dumps(doc, indent=2)


def plan_markdown(plan: Plan, title: str = "Plan", only: tuple[Change, ...] | None = None) -> str:
    from provisioner.cli import render_md

    return render_md.plan_markdown(plan, title, only)


def drift_markdown(plan: Plan, show_ignored: bool = False) -> str:
    from provisioner.cli import render_md

    return render_md.drift_markdown(plan, show_ignored)


def outcomes_text(outcomes: list[Outcome], seconds: float, env: str = "") -> str:
    counts = Counter(o.status for o in outcomes)
    lines = []
    for o in outcomes:
        if o.status in (Status.FAILED, Status.SKIPPED):
            lines.append(f"  x {o.change.step}: {redact.scrub(o.error or '')}")
        elif o.status is Status.LEFT_FOR_A_PERSON:
            lines.append(f"  ! {o.change.step}: {redact.scrub(o.error or '')}")
            lines.append(f"      fix: {fix(o.change, env)}")
        elif o.status is Status.WAITING:
            lines.append(f"  … {o.change.step}: waiting: {redact.scrub(o.error or '')}")
    lines.append(
        f"Applied {counts[Status.APPLIED]}, unchanged {counts[Status.UNCHANGED]}, "
        f"failed {counts[Status.FAILED]}, skipped {counts[Status.SKIPPED]}"
        + (f", left for a person {counts[Status.LEFT_FOR_A_PERSON]}" if counts[Status.LEFT_FOR_A_PERSON] else "")
        + (f", waiting {counts[Status.WAITING]}" if counts[Status.WAITING] else "") + f" in {seconds:.1f}s"
    )
    left = left_for_a_person([o.change for o in outcomes if o.status is Status.LEFT_FOR_A_PERSON])
    return "\n".join(lines + ([left] if left else [])) + "\n"


def left_for_a_person(changes: Iterable[Change]) -> str:
    """The closing line of a run that leaves changes to a person: how many, the most urgent class, which."""
    held = by_severity(c for c in changes if c.hold and c.hold.kind is HoldKind.FOR_A_PERSON)
    if not held:
        return ""
    names = ", ".join(c.step for c in held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
    return (f"LEFT FOR A PERSON: {len(held)} change(s), most urgent: {of_change(held[0]).label} ({names}); "
            "provision does not apply them: see their fix lines")


def outcomes_json(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    return [{"step": o.change.step, "id": o.change.ref.id, "action": o.change.action.value,
             "status": o.status.value, "error": redact.scrub(o.error) if o.error else None,
             "seconds": round(o.seconds, 3)} for o in outcomes]


def interrupted_text(outcomes: list[Outcome], seconds: float) -> str:
    """After Ctrl-C: what was applied, what was left running in Azure, what never started."""
    def names(items: list[Outcome]) -> str:
        shown = ", ".join(o.change.step for o in items[:8])
        return f" ({shown}{', ...' if len(items) > 8 else ''})" if items else ""

    applied = [o for o in outcomes if o.status is Status.APPLIED]
    failed = [o for o in outcomes if o.status is Status.FAILED]
    abandoned = [o for o in outcomes if o.error == ABANDONED]
    not_started = [o for o in outcomes if o.error == NOT_STARTED]
    lines = [f"  x {o.change.step}: {redact.scrub(o.error or '')}" for o in failed]
    lines.append(f"Interrupted after {seconds:.1f}s: applied {len(applied)}{names(applied)}, failed {len(failed)}, "
                 f"left running in Azure {len(abandoned)}{names(abandoned)}, not started {len(not_started)}.")
    lines.append("Nothing was rolled back; run provision again to finish (it waits for what is still running).")
    return "\n".join(lines) + "\n"
