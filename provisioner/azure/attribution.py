"""Activity Log attribution: who last changed each drifted resource out of band (read-only, never fails)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from provisioner.core.model import Attribution, Change, Plan

# The Activity Log keeps events for 90 days (learn.microsoft.com: "Activity log retention"): asking for
# more is an error, asking for less could miss the change.
RETENTION = timedelta(days=90)
CLOCK_SLACK = timedelta(minutes=5)
WORKERS = 4  # concurrent queries; the Activity Log API throttles hard on bursts
SELECT = "caller,correlationId,eventTimestamp,operationName,resourceId,status"
# Sentinel callers: the report says so instead of naming someone (the Attribution type has no status field).
UNAVAILABLE = "(attribution unavailable)"
NOT_FOUND = "(no out-of-band write in the Activity Log)"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def query_filter(resource_id: str, now: datetime) -> str:
    """The $filter the Activity Log accepts for one resource (a time window is mandatory)."""
    # The upper bound has slack: timestamps are truncated to seconds and the service's clock is not ours,
    # so `le now` could miss the write made a moment ago.
    return (f"eventTimestamp ge '{_iso(now - RETENTION)}' and eventTimestamp le '{_iso(now + CLOCK_SLACK)}' "
            f"and resourceUri eq '{resource_id}'")


def _value(obj: Any, wire: str, attr: str) -> Any:
    """Read a field from an SDK EventData (snake_case attributes) or a wire-format dict (camelCase)."""
    if isinstance(obj, dict):
        return obj.get(wire)
    return getattr(obj, attr, None)


def _localizable(obj: Any) -> str:
    value = _value(obj, "value", "value") if obj is not None else None
    return str(value or "")


def _timestamp(value: Any) -> str:
    if isinstance(value, datetime):
        return _iso(value if value.tzinfo else value.replace(tzinfo=UTC))
    return str(value or "")


def event(obj: Any) -> dict[str, str]:
    """Flatten one event to the few fields attribution needs (no SDK object leaves this module)."""
    return {
        "caller": str(_value(obj, "caller", "caller") or ""),
        "correlationId": str(_value(obj, "correlationId", "correlation_id") or ""),
        "timestamp": _timestamp(_value(obj, "eventTimestamp", "event_timestamp")),
        "operation": _localizable(_value(obj, "operationName", "operation_name")),
        "resourceId": str(_value(obj, "resourceId", "resource_id") or ""),
        "status": _localizable(_value(obj, "status", "status")),
    }


def _is_write(operation: str) -> bool:
    # Writes and deletes change state; `/action`s are mostly reads (appsettings/list, listKeys) that a
    # person viewing the portal triggers: blaming them would point at the wrong person.
    op = operation.lower()
    return op.endswith("/write") or op.endswith("/delete")


def _under(child: str, parent: str) -> bool:
    c, p = child.lower().rstrip("/"), parent.lower().rstrip("/")
    return c == p or c.startswith(p + "/")


def owner(resource_id: str, managed_ids: Iterable[str]) -> str | None:
    """The managed resource an event's resource id belongs to: itself, else the closest parent.
    A resource group owns only itself (its tags and location), not the resources inside it."""
    best = None
    for mid in managed_ids:
        own_only = "/providers/" not in mid.lower()
        if (resource_id.lower().rstrip("/") == mid.lower().rstrip("/")
                or (not own_only and _under(resource_id, mid))) and (best is None or len(mid) > len(best)):
            best = mid
    return best


def pick(events: Iterable[dict[str, str]], resource_id: str, managed_ids: Iterable[str],
         our_prefix: str) -> Attribution | None:
    """The most recent successful write on `resource_id` (or a child it owns) not made by us."""
    ids = list(managed_ids)
    candidates = [
        e for e in events
        if e["status"].lower() == "succeeded" and _is_write(e["operation"])
        and not e["correlationId"].lower().startswith(our_prefix.lower())
        and (owner(e["resourceId"], ids) or "").lower() == resource_id.lower()
    ]
    if not candidates:
        return None
    latest = max(candidates, key=lambda e: e["timestamp"])
    return Attribution(latest["caller"] or "(unknown caller)", latest["timestamp"], latest["operation"])


def _lookup(clients: Any, resource_id: str, managed_ids: list[str], now: datetime) -> Attribution:
    from provisioner.azure import CORRELATION_PREFIX, call

    try:
        found = call(lambda: [event(e) for e in clients.monitor.activity_logs.list(
            filter=query_filter(resource_id, now), select=SELECT)])
        return pick(found, resource_id, managed_ids, CORRELATION_PREFIX) or Attribution(NOT_FOUND, "", "")
    except Exception as exc:  # noqa: BLE001 - attribution is advisory: it must never fail the drift command
        return Attribution(UNAVAILABLE, "", str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)


def attribute(plan: Plan, conn: Any, now: datetime | None = None, workers: int = WORKERS) -> Plan:
    """Attach an Attribution to every drifted change of `plan`; other changes are returned unchanged."""
    drifted = plan.drift
    if not drifted:
        return plan
    moment = now or datetime.now(UTC)
    managed_ids = [c.ref.id for c in plan.changes]
    ids = sorted({c.ref.id for c in drifted})
    try:
        clients = conn.clients
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(ids)))) as pool:
            found = dict(zip(ids, pool.map(lambda rid: _lookup(clients, rid, managed_ids, moment), ids), strict=True))
    except Exception as exc:  # noqa: BLE001 - e.g. no monitor client for this target
        found = {rid: Attribution(UNAVAILABLE, "", str(exc).splitlines()[0][:200]) for rid in ids}
    names = {c.step for c in drifted}
    changes: list[Change] = [
        dataclasses.replace(c, attribution=found[c.ref.id]) if c.step in names else c for c in plan.changes
    ]
    return dataclasses.replace(plan, changes=tuple(changes))
