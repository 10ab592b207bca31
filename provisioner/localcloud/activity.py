"""Activity Log: one Administrative event per successful write, served in Microsoft.Insights' shape."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import bad_request
from .ids import RG_TYPE, ArmPath, is_under
from .store import read_json, write_json_atomic

_CLAUSE = re.compile(r"^\s*(\w+)\s+(eq|ge|le|gt|lt|ne)\s+'([^']*)'\s*$", re.IGNORECASE)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def _ts(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"Invalid timestamp '{value}' in $filter.", "InvalidFilter") from exc


def operation_name(path: ArmPath, method: str, action: str | None = None) -> tuple[str, str]:
    """('Microsoft.Web/sites/write', 'Create or Update Web App')-like pair for an event."""
    rtype = "Microsoft.Resources/subscriptions/resourceGroups" if path.is_group else path.full_type
    verb = {"PUT": "write", "PATCH": "write", "DELETE": "delete"}.get(method, "action")
    if action:
        return f"{rtype}/{action}/action", f"{action} ({rtype})"
    label = {"write": "Create or Update", "delete": "Delete", "action": "Action"}[verb]
    return f"{rtype}/{verb}", f"{label} {rtype.rsplit('/', 1)[-1]}"


class ActivityLog:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = list(read_json(path, []))

    def record(
        self,
        path: ArmPath,
        resource_id: str,
        method: str,
        caller: str,
        correlation_id: str,
        client_request_id: str,
        timestamp: str,
        action: str | None = None,
        status_code: int = 200,
    ) -> dict[str, Any]:
        op_value, op_label = operation_name(path, method, action)
        rtype = RG_TYPE if path.is_group else path.full_type
        namespace = "Microsoft.Resources" if path.is_group else path.namespace
        event_data_id = str(uuid.uuid4())
        sub = path.subscription or ""
        event = {
            "authorization": {"action": op_value, "scope": resource_id},
            "caller": caller,
            "channels": "Operation",
            "claims": {
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": caller,
                "http://schemas.microsoft.com/identity/claims/objectidentifier": str(uuid.uuid5(uuid.NAMESPACE_URL, caller)),
                "appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                "ipaddr": "127.0.0.1",
            },
            "correlationId": correlation_id,
            "description": "",
            "eventDataId": event_data_id,
            "eventName": {"value": "EndRequest", "localizedValue": "End request"},
            "category": {"value": "Administrative", "localizedValue": "Administrative"},
            "eventTimestamp": timestamp,
            "id": f"{resource_id}/events/{event_data_id}/ticks/{int(datetime.now().timestamp() * 1e7)}",
            "level": "Informational",
            "operationId": correlation_id,
            "operationName": {"value": op_value, "localizedValue": op_label},
            "resourceGroupName": path.resource_group or "",
            "resourceProviderName": {"value": namespace, "localizedValue": namespace},
            "resourceType": {"value": rtype, "localizedValue": rtype},
            "resourceId": resource_id,
            "status": {"value": "Succeeded", "localizedValue": "Succeeded"},
            "subStatus": {"value": str(_SUBSTATUS.get(status_code, "OK")), "localizedValue": ""},
            "submissionTimestamp": timestamp,
            "subscriptionId": sub,
            "tenantId": "00000000-0000-0000-0000-000000000000",
            "httpRequest": {"clientRequestId": client_request_id, "clientIpAddress": "127.0.0.1", "method": method},
            "properties": {"statusCode": _SUBSTATUS.get(status_code, "OK"), "eventCategory": "Administrative",
                           "entity": resource_id, "message": op_value, "hierarchy": ""},
        }
        with self._lock:
            self._events.append(event)
            if self.path is not None:
                write_json_atomic(self.path, self._events)
        return event

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events)

    def query(self, subscription: str, filter_text: str) -> list[dict[str, Any]]:
        """Events matching `$filter` (eventTimestamp ge/le, resourceUri, resourceGroupName,
        correlationId, resourceProvider, caller, status), newest first as Azure returns them."""
        clauses = []
        for part in _AND.split(filter_text.strip()) if filter_text.strip() else []:
            m = _CLAUSE.match(part)
            if not m:
                raise bad_request(f"The $filter clause '{part}' is not supported.", "InvalidFilter")
            clauses.append((m.group(1).lower(), m.group(2).lower(), m.group(3)))
        out = []
        for ev in self.events():
            if ev.get("subscriptionId", "").lower() != subscription.lower():
                continue
            if all(self._matches(ev, f, op, v) for f, op, v in clauses):
                out.append(ev)
        return list(reversed(out))

    @staticmethod
    def _matches(ev: dict[str, Any], field: str, op: str, value: str) -> bool:
        if field == "eventtimestamp":
            a, b = _ts(ev["eventTimestamp"]), _ts(value)
            return {"ge": a >= b, "gt": a > b, "le": a <= b, "lt": a < b, "eq": a == b, "ne": a != b}[op]
        if field == "resourceuri":
            # Includes events on sub-resources (config/web, appsettings) so a drift check on a site
            # sees who changed its configuration.
            return is_under(ev["resourceId"], value)
        actual = {
            "resourcegroupname": ev["resourceGroupName"],
            "correlationid": ev["correlationId"],
            "resourceprovider": ev["resourceProviderName"]["value"],
            "caller": ev["caller"],
            "status": ev["status"]["value"],
            "levels": ev["level"],
        }.get(field)
        if actual is None:
            raise bad_request(f"The $filter field '{field}' is not supported.", "InvalidFilter")
        equal = actual.lower() == value.lower()
        return equal if op == "eq" else not equal


_SUBSTATUS = {200: "OK", 201: "Created", 202: "Accepted", 204: "NoContent"}
