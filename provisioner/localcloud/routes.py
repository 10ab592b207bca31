"""Non-resource ARM routes: operation status, Activity Log, subscription, generic lists, name checks."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from . import locks, providers
from .errors import ArmError, bad_request
from .ids import cached_parse, is_under, type_of
from .services import ArmEngine
from .types import web_kvrefs as kvrefs
from .wire import Reply, Request

_OP = re.compile(r"/(operationstatuses|operationresults|asyncoperations|azureasyncoperation)/([^/]+)$", re.IGNORECASE)
_EVENTS = re.compile(r"^/subscriptions/([^/]+)/providers/microsoft\.insights/eventtypes/management/values$", re.I)
_SUB = re.compile(r"^/subscriptions/([^/]+)$", re.IGNORECASE)
_RESOURCES = re.compile(r"^/subscriptions/([^/]+)(?:/resourcegroups/([^/]+))?/resources$", re.IGNORECASE)
_NS_ACTION = re.compile(r"^/subscriptions/([^/]+)/providers/([^/]+)/([^/]+)$", re.IGNORECASE)
_TAGS = re.compile(r"^(/subscriptions/.+)/providers/microsoft\.resources/tags/default$", re.IGNORECASE)


def route(engine: ArmEngine, req: Request) -> Reply | None:

    path, method = req.path, req.method
    m = _TAGS.match(path)
    if m:
        return _tags_at_scope(engine, req, m.group(1))
    m = _OP.search(path)
    if m and method == "GET":
        return _operation(engine, m.group(1).lower(), m.group(2), req.api_version)
    m = _EVENTS.match(path)
    if m:
        if method != "GET":
            raise ArmError(405, "MethodNotAllowed", "The Activity Log is read-only.")
        return Reply(200, {"value": engine.activity.query(m.group(1), req.query.get("$filter", ""))})
    m = kvrefs.PATH.match(path)
    if m:
        if method != "GET":
            raise ArmError(405, "MethodNotAllowed", "Key Vault reference statuses are read-only.")
        site = engine.get(m.group(1))
        refs = kvrefs.get(engine, site["id"]) if site else None
        if refs is None:
            raise ArmError(404, "ResourceNotFound", f"The Resource '{m.group(1)}' was not found.")
        return Reply(200, {"value": refs, "nextLink": None})
    m = _SUB.match(path)
    if m and method == "GET":
        sub = m.group(1)
        return Reply(200, {"id": f"/subscriptions/{sub}", "subscriptionId": sub, "tenantId": engine.tenant_id,
                           "displayName": "Local cloud", "state": "Enabled",
                           "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01",
                                                    "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"}})
    m = _RESOURCES.match(path)
    if m and method == "GET":
        return Reply(200, {"value": _generic_list(engine, path.rsplit("/", 1)[0], m.group(2))})
    answer = providers.route(engine, req)  # GET/list providers, register, unregister
    if answer is not None:
        return answer
    m = _NS_ACTION.match(path)
    if m and method == "POST":
        return _namespace_action(engine, req, m.group(2), m.group(3))
    return None


def _tags_at_scope(engine: ArmEngine, req: Request, scope: str) -> Reply:
    """The Tags API (Microsoft.Resources/tags/default at any scope): the one way to change a resource's tags
    that every type honours, including sites whose PATCH ignores `tags` (azure-rest-api-specs
    resources Tags_CreateOrUpdateAtScope / Tags_UpdateAtScope)."""

    resource = engine.store.get(scope)
    if resource is None:
        raise ArmError(404, "ResourceNotFound", f"The resource '{scope}' was not found.")

    def answer(status: int) -> Reply:
        return Reply(status, {"id": f"{scope}/providers/Microsoft.Resources/tags/default", "name": "default",
                              "type": "Microsoft.Resources/tags", "properties": {"tags": resource.get("tags") or {}}},
                     write=req.method != "GET")

    if req.method == "GET":
        return answer(200)
    if req.method not in ("PUT", "PATCH"):
        raise ArmError(405, "MethodNotAllowed", f"The method '{req.method}' is not allowed on tags.")
    try:
        sent = json.loads(req.body or b"{}")
    except ValueError as exc:
        raise bad_request(f"The request content was invalid and could not be deserialized: '{exc}'.") from exc
    tags = ((sent.get("properties") or {}).get("tags") or {}) if isinstance(sent, dict) else {}
    if not isinstance(tags, dict):
        raise bad_request("properties.tags must be an object.")
    locks.check(engine.store, scope, "write", cached_parse(scope).full_type)
    current = dict(resource.get("tags") or {})
    operation = str(sent.get("operation") or "Replace").lower() if req.method == "PATCH" else "replace"
    if operation == "merge":
        current.update(tags)
    elif operation == "delete":
        current = {k: v for k, v in current.items() if k not in tags}
    else:
        current = dict(tags)
    resource["tags"] = current
    engine.store.put(scope, resource)
    engine.record(req, cached_parse(scope), scope, 200)
    return answer(200)


def _operation(engine: ArmEngine, kind: str, op_id: str, api_version: str) -> Reply:

    op = engine.ops.get(op_id)
    if op is None:
        raise ArmError(404, "OperationNotFound", f"The operation '{op_id}' was not found.")
    headers = {}
    remaining = op.remaining()
    if not op.done and remaining >= 1.0:
        headers["Retry-After"] = str(min(60, math.ceil(remaining)))
    if kind == "operationresults":
        # Location polling (resource group delete): 202 until done, then 200 / the error.
        if not op.done:
            headers["Location"] = f"{engine.base_url}{op.result_path}?api-version={api_version}"
            return Reply(202, None, headers)
        if op.final_status != "Succeeded":
            err = op.status_body()["error"]
            raise ArmError(400 if op.final_status == "Canceled" else 500, err["code"], err["message"])
        return Reply(200, None, headers)
    return Reply(200, op.status_body(), headers)


def _generic_list(engine: ArmEngine, scope: str, group: str | None) -> list[dict[str, Any]]:
    """GET .../resources: every tracked top-level resource in the group or subscription."""

    out = []
    for rid, body in engine.store.items():
        try:
            p = cached_parse(rid)
        except ArmError:
            continue
        if p.is_group or len(p.types) != 1 or not p.resource_group or not is_under(rid, scope):
            continue
        if p.parent_id.lower() != f"/subscriptions/{p.subscription}/resourcegroups/{p.resource_group}".lower():
            continue  # extension resources live under another resource
        if p.full_type.lower().startswith("microsoft.authorization/"):
            # Role assignments and locks at the group's scope are extension resources, not group members:
            # Resources_ListByResourceGroup does not return them (they have their own list operations).
            continue
        keys = ("id", "name", "type", "location", "kind", "sku", "tags", "identity")
        out.append({str(k): body[k] for k in keys if k in body})
    return out


def _namespace_action(engine: ArmEngine, req: Request, namespace: str, action: str) -> Reply:

    if action.lower() != "checknameavailability":
        raise ArmError(400, "UnsupportedActionByLocalCloud",
                       f"The local cloud does not implement POST '{action}' on provider '{namespace}'.")
    try:
        request = json.loads(req.body or b"{}")
    except ValueError as exc:
        raise bad_request(f"The request content was invalid and could not be deserialized: '{exc}'.") from exc
    name = str(request.get("name", ""))
    rtype = str(request.get("type") or "")
    taken = _name_taken(engine, namespace, rtype, name)
    if namespace.lower() == "microsoft.cache":
        # Redis answers 200 (available) or 409 with an error body; the SDK raises on the latter.
        if taken:
            raise ArmError(409, "NameNotAvailable", f"The name '{name}' is already in use.")
        return Reply(200, None)
    body: dict[str, Any] = {"nameAvailable": not taken}
    if taken:
        body.update(reason="AlreadyExists", message=f"The name '{name}' is already in use.")
    return Reply(200, body)


def _name_taken(engine: ArmEngine, namespace: str, rtype: str, name: str) -> bool:

    want = rtype.lower() if "/" in rtype else ""
    for rid, _body in engine.store.items():
        t = type_of(rid).lower()
        if not t.startswith(namespace.lower() + "/"):
            continue
        if want and t != want and not (t.endswith("/deletedvaults") and want.endswith("/vaults")):
            continue
        if rid.rsplit("/", 1)[-1].lower() == name.lower():
            return True
    return False
