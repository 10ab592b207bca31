"""What each command does with a session: plan, provision, drift; returns report text and an exit code."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

from provisioner.cli import render, render_md
from provisioner.cli.exitcodes import EXIT_CHANGES, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from provisioner.cli.progress import Progress
from provisioner.cli.session import Session, TargetSpec, apply, connect, hold_run_lock, make_plan
from provisioner.core.model import Plan, Status
from provisioner.engine.reconciler import Policy

__all__ = ["EXIT_CHANGES", "EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "provision", "report"]


def _report(the_plan: Plan, output: str, show_ignored: bool, title: str = "Plan") -> str:
    if output == "json":
        return render.plan_json(the_plan, show_ignored=show_ignored) + "\n"
    if output == "markdown":
        return render.plan_markdown(the_plan, title)
    return render.plan_text(the_plan, show_ignored)


def report(kind: str, session: Session, spec: TargetSpec, output: str, workers: int, show_ignored: bool) -> tuple[str, int]:
    """`plan` (what provision would change, with its cost) or `drift` (what changed out of band, with who
    changed it): one read, one decision, two reports. Exit 0 nothing pending, 2 pending or drifted, 1 error."""
    with connect(session, spec) as conn:
        the_plan, known = make_plan(session, conn, workers=workers, inventory=True)
        if kind == "drift":
            the_plan = _attribute(the_plan, conn)
    if kind == "drift":
        text, pending = _drift_report(the_plan, output, show_ignored), bool(the_plan.drift)
    else:
        text = _with_cost(_report(the_plan, output, show_ignored), output, session, the_plan, known)
        pending = the_plan.has_changes
    if the_plan.errors:
        return text, EXIT_ERROR
    return text, EXIT_CHANGES if pending else EXIT_OK


def _drift_report(the_plan: Plan, output: str, show_ignored: bool) -> str:
    if output == "json":
        return render.drift_json(the_plan, show_ignored=show_ignored) + "\n"
    if output == "markdown":
        return render.drift_markdown(the_plan, show_ignored=show_ignored)
    return render.drift_text(the_plan, show_ignored)


def _with_cost(text: str, output: str, session: Session, the_plan: Plan, known: dict) -> str:
    """The monthly cost change the plan would cause (SKU, size, count; billable resources created/deleted)."""
    from provisioner.cli import cost_report
    from provisioner.operate import cost

    table = cost.load_prices()
    deltas = cost_report.plan_delta(session.steps, the_plan, known, table)
    if output == "json":
        doc = json.loads(text)
        doc["cost"] = cost_report.delta_json(deltas, table)
        return json.dumps(doc, indent=2) + "\n"
    extra = cost_report.delta_text(deltas, table)
    if not extra:
        return text
    return text + ("\n" + "\n".join(f"> {line}" for line in extra.splitlines()) + "\n" if output == "markdown"
                   else "\n" + extra)


def _attribute(the_plan: Plan, conn: object) -> Plan:
    """Who last changed each drifted resource, from the Activity Log (never fails the command)."""
    from provisioner.azure import attribution

    return attribution.attribute(the_plan, conn)


def _pending(the_plan: Plan) -> set[tuple[str, str]]:
    return {(c.step, c.action.value) for c in the_plan.pending}


def _blocked(the_plan: Plan) -> bool:
    """Print why a plan cannot be applied (read errors, refusals); True if so. A child of an owned collection
    that provision must not remove is reported, not a refusal."""
    refused = [c for c in the_plan.pending if c.refused and not c.collection]
    for c in refused:
        print(f"refused: {c.step}: {c.action.value}: {c.refused}", file=sys.stderr)
    return bool(the_plan.errors) or bool(refused)


def _nothing_pending(the_plan: Plan) -> bool:
    """True when nothing is left to apply (children left for a person are listed, not applied)."""
    left = [c for c in the_plan.pending if c.refused and c.collection]
    return len(left) == len(the_plan.pending)


def provision(session: Session, spec: TargetSpec, output: str, workers: int, yes: bool, allow_replace: bool,
              confirm: Callable[[str], bool]) -> int:
    """Plan (read-only, no lock), confirm, then take the run lock, re-plan under it and apply.

    A run with nothing to do never takes the lock; a refused confirmation writes nothing at all.
    """
    policy = Policy(allow_replace=allow_replace)
    started = time.monotonic()
    err = sys.stderr
    with connect(session, spec) as conn:
        print(f"Target: {conn.description}", file=err)
        the_plan, known = make_plan(session, conn, policy, workers)
        _show_plan(the_plan, output)
        if _blocked(the_plan):
            return EXIT_ERROR
        if _nothing_pending(the_plan):
            return _nothing_to_do(the_plan, output, started)
        confirmed: set[tuple[str, str]] | None = None
        if session.env.is_production and not yes:
            if not confirm(f"Apply {len(the_plan.pending)} change(s) to PRODUCTION?"):
                print("Aborted: nothing was changed.", file=err)
                return EXIT_ERROR
            confirmed = _pending(the_plan)
        with hold_run_lock(session, conn, "provision") as lock:
            # Re-read under the lock: another run may have changed the environment since the plan above.
            again, known = make_plan(session, conn, policy, workers)
            if _pending(again) != _pending(the_plan) and output != "json":
                print("The environment changed while waiting for the run lock; plan now:", file=err)
                _show_plan(again, output)
            the_plan = again
            if _blocked(the_plan):
                return EXIT_ERROR
            if _nothing_pending(the_plan):
                return _nothing_to_do(the_plan, output, started)
            if confirmed is not None and not _pending(the_plan) <= confirmed:
                print("Aborted: the plan grew after you confirmed it (another run changed the environment); "
                      "review it and run again.", file=err)
                return EXIT_ERROR
            with Progress(len(the_plan.changes), err) as progress:
                presses: list[int] = []

                def interrupted(count: int, in_flight: list[str]) -> None:
                    presses.append(count)
                    progress.note(_interrupt_note(count, in_flight))

                outcomes, seconds = apply(session, conn, the_plan, known, policy, workers, progress, interrupted,
                                          lock.check, progress.step_note)
    if presses:
        if output == "json":
            print(json.dumps({"plan": json.loads(render.plan_json(the_plan)), "outcomes": render.outcomes_json(outcomes),
                              "interrupted": True}, indent=2))
        print(render.interrupted_text(outcomes, time.monotonic() - started), end="", file=err)
        return EXIT_INTERRUPTED
    if output == "json":
        print(json.dumps({"plan": json.loads(render.plan_json(the_plan)), "outcomes": render.outcomes_json(outcomes)}, indent=2))
    elif output == "markdown":
        print(render_md.outcomes_markdown(outcomes, time.monotonic() - started, the_plan.env), end="")
    else:
        print(render.outcomes_text(outcomes, time.monotonic() - started, the_plan.env), end="")
    failed = [o for o in outcomes if o.status in (Status.FAILED, Status.SKIPPED)]
    return EXIT_ERROR if failed else EXIT_OK


def _show_plan(the_plan: Plan, output: str) -> None:
    """Text and Markdown show the plan before anything is applied; JSON prints one document at the end."""
    if output == "text":
        print(render.plan_text(the_plan), end="")
    elif output == "markdown":
        print(render.plan_markdown(the_plan), end="")


def _nothing_to_do(the_plan: Plan, output: str, started: float) -> int:
    if output == "json":
        print(json.dumps({"plan": json.loads(render.plan_json(the_plan)), "outcomes": []}, indent=2))
    held = f" {len(the_plan.waiting)} change(s) wait on a precondition (listed above)." if the_plan.waiting else ""
    left = render.left_for_a_person(the_plan.pending)
    # The last line says what is still open, never just "Nothing to do" while a person has something to do.
    print(f"Nothing applied ({time.monotonic() - started:.1f}s).{held}" + (f" {left}" if left
          else " Nothing to do."), file=sys.stderr)
    return EXIT_OK


def _interrupt_note(count: int, in_flight: list[str]) -> str:
    if count > 1:
        return (f"Stopped waiting for {', '.join(in_flight) or 'nothing'}: the operations continue in Azure; "
                "the next run re-attaches to them.")
    if not in_flight:
        return "Interrupted: no further step starts."
    return (f"Interrupted: no further step starts; waiting for {len(in_flight)} operation(s) in flight to finish: "
            f"{', '.join(in_flight)}. Press Ctrl-C again to stop waiting (they continue in Azure; the next run "
            "re-attaches to them).")
