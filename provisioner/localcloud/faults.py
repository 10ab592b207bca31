"""Fault script: rules that answer matching requests with a canned response or a failed LRO."""

from __future__ import annotations

import copy
import re
import threading
from dataclasses import dataclass
from typing import Any

from .errors import STATUS_CODES


@dataclass
class Fault:
    """What to do with one matched request: answer it (`status`) or let it run and end its LRO."""

    status: int | None
    headers: dict[str, str]
    body: Any
    lro_status: str | None


class FaultTable:
    """Rules: {method, path (regex, re.search on the path), status, headers, body, times, after,
    lro_status}. `after` matching requests are let through first, then `times` are faulted."""

    def __init__(self, rules: list[dict[str, Any]] | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[dict[str, Any]] = []
        for rule in rules or []:
            self.add(rule)

    def add(self, rule: dict[str, Any]) -> None:
        if not isinstance(rule, dict) or ("status" not in rule and "lro_status" not in rule):
            raise ValueError("a fault rule needs 'status' or 'lro_status'")
        if rule.get("lro_status") not in (None, "Failed", "Canceled", "Succeeded"):
            raise ValueError("lro_status must be Failed, Canceled or Succeeded")
        entry = copy.deepcopy(rule)
        entry["_re"] = re.compile(str(rule.get("path", ".*")), re.IGNORECASE)
        entry["_seen"] = 0
        entry["_fired"] = 0
        with self._lock:
            self._rules.append(entry)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{k: v for k, v in r.items() if k != "_re"} for r in self._rules]

    def match(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                want = str(rule.get("method", "*")).upper()
                if want not in ("*", method.upper()) or not rule["_re"].search(path):
                    continue
                times = int(rule.get("times", 1))
                if rule["_seen"] < int(rule.get("after", 0)):
                    rule["_seen"] += 1
                    continue
                if times >= 0 and rule["_fired"] >= times:
                    continue  # times = -1 means every matching request
                rule["_fired"] += 1
                status = rule.get("status")
                body = rule.get("body")
                if status is not None and body is None and int(status) >= 400:
                    code = STATUS_CODES.get(int(status), "InjectedFault")
                    body = {"error": {"code": code, "message": f"Injected fault ({status}) by the local cloud."}}
                return Fault(
                    status=int(status) if status is not None else None,
                    headers={str(k): str(v) for k, v in (rule.get("headers") or {}).items()},
                    body=body,
                    lro_status=rule.get("lro_status"),
                )
        return None
