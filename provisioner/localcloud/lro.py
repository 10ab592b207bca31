"""Long-running operations: operation-status records that finish when their duration elapses."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
    """All operations, in memory (an interrupted operation is settled when the state is reloaded)."""

    def __init__(self) -> None:
        self._ops: dict[str, Operation] = {}
        self._lock = threading.Lock()

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
        now = time.time()
        op = Operation(
            id=op_id,
            kind=kind,
            resource_id=resource_id,
            status_path=f"{base}/operationStatuses/{op_id}",
            result_path=f"{base}/operationResults/{op_id}",
            start=now,
            end=now + max(0.0, seconds),
            final_status=final_status,
            lane=lane,
        )
        with self._lock:
            self._ops[op_id.lower()] = op
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
