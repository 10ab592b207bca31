"""READ + DECIDE: observe every step concurrently, diff against desired state, choose an Action -> Plan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Any

from provisioner.core.errors import ProvisionerError
from provisioner.core.model import (
    SENSITIVE,
    UNKNOWN,
    Action,
    Change,
    Hold,
    HoldKind,
    Ignored,
    Plan,
    PropertyChange,
    ReadError,
)
from provisioner.engine.children import Child, Children, undeclared
from provisioner.engine.diff import DiffResult, diff
from provisioner.engine.graph import Graph
from provisioner.engine.locks import (
    declared_lock_scopes,
    delete_blocked,
    lock_ids,
    lock_scopes,
    resource_hold,
)
from provisioner.engine.step import TERMINAL, Step

__all__ = ["TERMINAL", "Policy", "decide", "delete_blocked", "has_unknown", "lock_scopes", "observe", "plan"]


@dataclass(frozen=True)
class Policy:
    """What the user allowed for destructive actions."""

    allow_replace: bool = False  # replace non-data resources whose immutable properties changed
    allow_data_loss: bool = False  # replace/delete resources that hold data; never honoured in production
    allow_credential_reset: bool = False  # in production, a change that resets a live credential (Step.credential_touched)


def observe(steps: Sequence[Step], clients: Any, workers: int = 10) -> dict[str, dict | None | Exception]:
    """Read every step's live state at once (reads are independent: a missing parent reads as absent)."""

    def one(step: Step) -> dict | None | Exception:
        try:
            return step.read(clients)
        except ProvisionerError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(steps)))) as pool:
        results = list(pool.map(one, steps))
    return {step.name: result for step, result in zip(steps, results, strict=True)}


def _create_properties(path: str, value: Any, step: Step) -> list[PropertyChange]:
    """A create lists every declared leaf, so the plan shows what will be set."""
    if isinstance(value, dict) and path != "tags":  # tags read best as one line
        out: list[PropertyChange] = []
        for key, sub in value.items():
            if sub is not None:
                out.extend(_create_properties(f"{path}.{key}" if path else key, sub, step))
        return out
    sensitive = any(fnmatchcase(path, p) for p in step.rules.sensitive + step.rules.write_only)
    after = SENSITIVE if sensitive and value is not UNKNOWN else value
    return [PropertyChange(path, None, after, sensitive=sensitive)]


def decide(step: Step, desired: dict, observed: dict | None, policy: Policy, production: bool) -> Change:
    """Pure: the action that takes `observed` to `desired`, following ARCHITECTURE.md's table."""
    if observed is None:
        return Change(step.name, step.ref, Action.CREATE, tuple(_create_properties("", desired, step)), "does not exist")
    result: DiffResult = diff(desired, observed, step.rules)
    ignored: tuple[Ignored, ...] = tuple(result.ignored)
    state = str((observed.get("properties") or {}).get("provisioningState") or "").lower()
    if not result.changes:
        if step.failed(observed):
            return Change(step.name, step.ref, Action.UPDATE, (), "last provisioning failed: re-apply", ignored)
        if in_flight(step, observed):
            # Another (perhaps killed) run's operation is still going: apply waits for it, never re-sends it.
            return Change(step.name, step.ref, Action.NOOP, (), f"in sync; {state} in progress: waited for", ignored)
        return Change(step.name, step.ref, Action.NOOP, (), "in sync", ignored)
    changes = tuple(result.changes)
    if any(c.requires_replace for c in changes):
        hold: Hold | None = None
        blocked = delete_blocked(step.ref.id, step.locked_scopes)
        if blocked:
            # Replacing deletes first: under a lock that delete fails (409 ScopeLocked) and the resource is left
            # half-changed, so it is never planned as part of an ordinary update.
            hold = resource_hold(step.ref.id, blocked, step.lock_ids.get(blocked.lower()))
        elif step.holds_data and (production or not policy.allow_data_loss):
            hold = Hold(HoldKind.REFUSED, "replacing it would delete its data"
                        + (" (never allowed in production)" if production else "; pass --allow-data-loss"))
        elif not step.holds_data and not policy.allow_replace:
            hold = Hold(HoldKind.REFUSED, "an immutable property changed; pass --allow-replace to delete and re-create it")
        paths = ", ".join(c.path for c in changes if c.requires_replace)
        return Change(step.name, step.ref, Action.REPLACE, changes, f"immutable: {paths}", ignored, hold)
    refusal = step.refuse_update(observed, changes)
    return Change(step.name, step.ref, Action.UPDATE, changes, "differs", ignored,
                  Hold(HoldKind.REFUSED, refusal) if refusal else None)


def plan(
    env_name: str,
    steps: Sequence[Step],
    graph: Graph,
    clients: Any,
    policy: Policy = Policy(),
    production: bool = False,
    workers: int = 10,
    on_read: Callable[[str], None] | None = None,
    children: Sequence[Children] = (),
) -> tuple[Plan, dict[str, dict | None]]:
    """Observe everything, then decide each step in dependency order; returns the plan and what was read."""
    by_name = {s.name: s for s in steps}
    observed_raw = observe(steps, clients, workers)
    errors: list[ReadError] = []
    observed: dict[str, dict | None] = {}
    for name, value in observed_raw.items():
        if isinstance(value, Exception):
            errors.append(ReadError(name, str(value)))
            observed[name] = None
        else:
            observed[name] = value
        if on_read:
            on_read(name)
    changes: list[Change] = []
    waiting: dict[str, str] = {}
    unread = {e.step for e in errors}
    for name in graph.order:
        if name in unread:
            continue
        step = by_name[name]
        try:
            step.gather(clients, observed)
        except ProvisionerError as exc:
            errors.append(ReadError(name, str(exc)))
            unread.add(name)
            continue
        desired = step.desired(observed)
        change = decide(step, desired, observed[name], policy, production)
        if change.action is not Action.NOOP:
            why = step.precondition(observed) or next(
                (waits_on(dep, waiting[dep]) for dep in graph.deps.get(name, ()) if dep in waiting), None)
            if why:
                waiting[name] = why
                change = replace(change, hold=Hold(HoldKind.WAITING, why))
            change = _credential(step, change, observed, policy, production)
        changes.append(change)
    if children and steps:
        changes += _undeclared_children(steps, children, observed, clients, workers, errors)
    return Plan(env_name, tuple(changes), tuple(errors)), observed


def _credential(step: Step, change: Change, observed: dict[str, dict | None], policy: Policy,
                production: bool) -> Change:
    """A change that also resets a live credential says so in its reason; production refuses it unless asked."""
    touched = step.credential_touched(change, observed)
    if not touched:
        return change
    change = replace(change, reason=f"{change.reason}; {touched}" if change.reason else touched)
    if production and not policy.allow_credential_reset and change.hold is None:
        change = replace(change, hold=Hold(HoldKind.REFUSED, f"it {touched}; refused in production: pass "
                                                             "--allow-credential-reset to do it anyway"))
    return change


def in_flight(step: Step, observed: dict | None) -> bool:
    """A resource mid-operation (Creating, Updating, ...; `Step.settled` knows each type's steady states):
    ARM's only terminal states are Succeeded, Failed and Canceled
    (learn.microsoft.com/azure/azure-resource-manager/management/async-operations)."""
    return observed is not None and not step.settled(observed)


def observe_children(children: Sequence[Children], observed: dict[str, dict | None], clients: Any,
                     workers: int = 10) -> dict[str, list[Child] | Exception]:
    """List every owned collection whose parent exists (a missing parent has no children to judge)."""
    present = [c for c in children if observed.get(c.parent_step) is not None]

    def one(collection: Children) -> list[Child] | Exception:
        try:
            return collection.list(clients)
        except ProvisionerError as exc:
            return exc

    if not present:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(present)))) as pool:
        results = list(pool.map(one, present))
    return {c.name: r for c, r in zip(present, results, strict=True)}


def _undeclared_children(steps: Sequence[Step], children: Sequence[Children], observed: dict[str, dict | None],
                         clients: Any, workers: int, errors: list[ReadError]) -> list[Change]:
    """READ the owned collections, then DECIDE (pure, provisioner/engine/children.py) on what no step declares."""
    listed = observe_children(children, observed, clients, workers)
    refs = [(s.name, s.ref) for s in steps]
    found_locks = [child.id for kids in listed.values() if not isinstance(kids, Exception) for child in kids
                   if "/providers/microsoft.authorization/locks/" in child.id.lower()]
    locked = declared_lock_scopes(refs, found_locks)
    ids = lock_ids(refs, found_locks)
    first = steps[0]
    out: list[Change] = []
    for collection in children:
        kids = listed.get(collection.name)
        if kids is None:
            continue
        if isinstance(kids, Exception):
            errors.append(ReadError(collection.name, str(kids)))
            continue
        declared = collection.declared(refs) | {n.lower() for n in collection.declared_from(observed)}
        out += undeclared(collection, kids, declared, locked, first.ref.subscription_id, first.ref.resource_group or "",
                          ids)
    return out


def waits_on(dependency: str, why: str) -> str:
    """A change held back because a step it needs is waiting: the root cause, not a chain of 'after's."""
    return why if why.startswith("after ") else f"after {dependency}: {why}"


def has_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return False
