"""Long-running operations: operation-status records that finish when their duration elapses."""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .store import read_json, write_json_atomic

# A finished operation's status stays readable this long after a restart (a client polling across it).
KEEP_DONE_SECONDS = 3600.0


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# Where a provider serves its Azure-AsyncOperation statuses, where it differs from `operationStatuses`: PostgreSQL
# answers at .../locations/<region>/azureAsyncOperation/<id>, authorized as the action
# `Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read` ("Return PostgreSQL Server Operation Results",
# MicrosoftDocs azure-docs resource-provider-operations; custom roles that run `az postgres flexible-server create`
# grant it with operationResults/read, "The CLI polls the create and delete until they finish").
STATUS_SEGMENT = {"microsoft.dbforpostgresql": "azureAsyncOperation"}


@dataclass
class Operation:
    id: str
    kind: str  # put | patch | delete | action
    resource_id: str | None
    status_path: str  # served at this path (Azure-AsyncOperation)
    result_path: str  # served at this path (Location: 202 until done)
    start: float
    end: float
    final_status: str = "Succeeded"
    lane: str | None = None
    done: bool = False
    error: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def remaining(self, now: float | None = None) -> float:
        return max(0.0, self.end - (time.time() if now is None else now))

    def status_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.status_path,
            "name": self.id,
            "status": self.final_status if self.done else "InProgress",
            "startTime": iso(self.start),
        }
        if self.done:
            body["endTime"] = iso(self.end)
            if self.final_status != "Succeeded":
                body["error"] = self.error or {
                    "code": "OperationFailed" if self.final_status == "Failed" else "OperationCanceled",
                    "message": f"The operation was {self.final_status.lower()} (injected by the local cloud).",
                }
        return body


class Operations:
    """All operations; with a file (`attach`), persisted after every request, so operations in flight survive a
    restart of the cloud, or its process being killed, and are resumed when it loads the file again."""

    def __init__(self) -> None:
        self._ops: dict[str, Operation] = {}
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._dirty = False

    def attach(self, path: Path, fast: bool) -> int:
        """Load the operations a previous process left and persist from now on. Those still in flight resume:
        with their end time under realistic latency (Azure kept working while this process was down), at once
        under fast latency (where every operation takes no time). Returns how many were resumed."""
        self._path = path
        now = time.time()
        resumed = 0
        for raw in read_json(path, []) or []:
            op = _from_json(raw)
            if op is None:
                continue
            if not op.done:
                resumed += 1
                op.end = min(op.end, now) if fast else op.end
            self._ops[op.id.lower()] = op
        self._dirty = bool(resumed)
        return resumed

    def save(self) -> None:
        """Write the operations in flight, and those finished within KEEP_DONE_SECONDS, when anything changed
        (hooked to Store.save: after every request and every settle)."""
        if self._path is None or not self._dirty:
            return
        keep = time.time() - KEEP_DONE_SECONDS
        with self._lock:
            ops = [o for o in self._ops.values() if not o.done or o.end >= keep]
            self._dirty = False
        write_json_atomic(self._path, [_to_json(o) for o in ops])

    def new(
        self,
        kind: str,
        resource_id: str | None,
        subscription: str,
        namespace: str,
        location: str,
        seconds: float,
        final_status: str = "Succeeded",
        lane: str | None = None,
    ) -> Operation:
        op_id = str(uuid.uuid4())
        base = f"/subscriptions/{subscription}/providers/{namespace}/locations/{location or 'global'}"
        status = STATUS_SEGMENT.get(namespace.lower(), "operationStatuses")
        now = time.time()
        op = Operation(
            id=op_id,
            kind=kind,
            resource_id=resource_id,
            status_path=f"{base}/{status}/{op_id}",
            result_path=f"{base}/operationResults/{op_id}",
            start=now,
            end=now + max(0.0, seconds),
            final_status=final_status,
            lane=lane,
        )
        with self._lock:
            self._ops[op_id.lower()] = op
            self._dirty = True
        return op

    def get(self, op_id: str) -> Operation | None:
        with self._lock:
            return self._ops.get(op_id.lower())

    def due(self, now: float) -> list[Operation]:
        """Operations whose time has come, in the order they end; marks them done."""
        with self._lock:
            ready = sorted((o for o in self._ops.values() if not o.done and o.end <= now), key=lambda o: o.end)
            for o in ready:
                o.done = True
            self._dirty = self._dirty or bool(ready)
            return ready

    def pending(self) -> bool:
        with self._lock:
            return any(not o.done for o in self._ops.values())

    def running_in_lane(self, lane: str) -> Operation | None:
        with self._lock:
            for o in self._ops.values():
                if not o.done and o.lane and o.lane.lower() == lane.lower():
                    return o
        return None

    def running_for(self, resource_id: str) -> Operation | None:
        with self._lock:
            for o in self._ops.values():
                if not o.done and o.resource_id and o.resource_id.lower() == resource_id.lower():
                    return o
        return None


def _nothing(engine: Any, body: dict[str, Any]) -> None:
    return None


def _to_json(op: Operation) -> dict[str, Any]:
    """An operation as JSON; a callback in `extra` (engine.later's fn) is kept as "module:name"."""
    out = asdict(op)
    out["extra"] = {k: ({"__fn__": f"{v.__module__}:{v.__qualname__}"} if callable(v) else v)
                    for k, v in op.extra.items()}
    return out


def _from_json(raw: Any) -> Operation | None:
    if not isinstance(raw, dict):
        return None
    extra = {}
    for key, value in (raw.get("extra") or {}).items():
        if isinstance(value, dict) and set(value) == {"__fn__"}:
            module, _, name = str(value["__fn__"]).partition(":")
            try:
                value = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError):
                value = _nothing  # a callback this version no longer has: the operation still ends, without it
        extra[key] = value
    try:
        return Operation(**{**raw, "extra": extra})
    except TypeError:
        return None  # written by another version: not resumed
