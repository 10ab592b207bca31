"""Microsoft.Authorization/roleDefinitions: Microsoft's built-in roles (served at any scope) and custom roles
(PUT at the scope of their first assignable scope), as the Role Definitions REST API answers
(learn.microsoft.com/azure/role-based-access-control/custom-roles-rest; azure-rest-api-specs authorization
RoleDefinitionsCalls)."""

from __future__ import annotations

import re
from typing import Any

from .. import rbac
from ..errors import ArmError
from ..ids import ArmPath, is_under
from ..profile import EngineApi, TypeProfile, WriteCtx

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_FILTER = re.compile(r"^\s*(roleName|type)\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)


def rest_body(definition: dict[str, Any], scope: str) -> dict[str, Any]:
    """A built-in definition (Microsoft's az-shaped JSON) as GET answers it at `scope`."""
    guid = str(definition["name"])
    return {"id": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}", "name": guid,
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {"roleName": definition["roleName"], "type": definition.get("roleType", "BuiltInRole"),
                           "description": definition.get("description", ""),
                           "assignableScopes": definition.get("assignableScopes", ["/"]),
                           "permissions": definition.get("permissions", []),
                           "createdOn": "2015-02-02T21:55:09.8806423Z", "updatedOn": "2025-01-01T00:00:00.0000000Z",
                           "createdBy": None, "updatedBy": None}}


def _builtin(engine: EngineApi, path: ArmPath) -> dict[str, Any] | None:
    found = rbac.builtins().get(path.name.lower())
    return rest_body(found, path.scope) if found else None


def _populate(ctx: WriteCtx) -> None:
    if not _GUID.match(ctx.path.name):
        raise ArmError(400, "InvalidRoleDefinitionId", f"The role definition ID '{ctx.path.name}' is not valid. "
                       "The role definition ID must be a GUID.")
    if ctx.path.name.lower() in rbac.builtins():
        raise ArmError(403, "AuthorizationFailed", f"Built-in role definition '{ctx.path.name}' cannot be modified.")
    props = ctx.props
    name = str(props.get("roleName") or "").strip()
    scopes = props.get("assignableScopes")
    perms = props.get("permissions")
    if not name:
        raise ArmError(400, "InvalidRoleDefinition", "The role definition must have a roleName.")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) and s.startswith("/") for s in scopes):
        raise ArmError(400, "InvalidAssignableScopes", "The role definition must have at least one assignable scope.")
    if not isinstance(perms, list) or not all(isinstance(p, dict) for p in perms):
        raise ArmError(400, "InvalidRoleDefinition", "The role definition permissions must be a list.")
    if not any(is_under(ctx.path.scope or "/", s) or s == "/" for s in scopes):
        raise ArmError(400, "InvalidRoleDefinitionScope", f"The scope '{ctx.path.scope}' of the role definition is "
                       "not one of its assignable scopes.")
    taken = [d for d in rbac.builtins().values() if str(d["roleName"]).lower() == name.lower()]
    taken += [b for b in ctx.engine.find(rbac.DEFINITIONS)
              if str((b.get("properties") or {}).get("roleName") or "").lower() == name.lower()
              and str(b.get("name") or "").lower() != ctx.path.name.lower()]
    if taken:
        raise ArmError(409, "RoleDefinitionWithSameNameExists", "A custom role with the same name already exists in "
                       "this directory. Use a different name.")
    for perm in perms:
        for key in ("actions", "notActions", "dataActions", "notDataActions"):
            perm[key] = list(perm.get(key) or [])
    props.update(type="CustomRole", createdOn=props.get("createdOn") or ctx.now, updatedOn=ctx.now,
                 createdBy=(ctx.existing or {}).get("properties", {}).get("createdBy") or ctx.caller,
                 updatedBy=ctx.caller)


def _before_delete(engine: EngineApi, body: dict[str, Any]) -> None:
    guid = str(body.get("name") or "").lower()
    for assignment in engine.find(rbac.ASSIGNMENTS):
        if rbac.guid_of(str((assignment.get("properties") or {}).get("roleDefinitionId") or "")) == guid:
            raise ArmError(409, "RoleDefinitionHasAssignments", "There are existing role assignments referencing "
                           "role (code: RoleDefinitionHasAssignments).")


def _list(engine: EngineApi, path: ArmPath, query: dict[str, str]) -> list[dict[str, Any]]:
    """Built-ins and the custom roles assignable at the scope; `$filter=roleName eq '...'` or `type eq '...'`."""
    scope = path.scope
    flt = (query.get("$filter") or "").strip()
    key = value = ""
    if flt:
        m = _FILTER.match(flt)
        if not m:
            raise ArmError(400, "UnsupportedQuery", f"The filter '{flt}' is not supported.")
        key, value = m.group(1).lower(), m.group(2).lower()
    out = [rest_body(d, scope) for d in rbac.builtins().values()]
    for body in engine.find(rbac.DEFINITIONS):
        scopes = (body.get("properties") or {}).get("assignableScopes") or []
        if any(s == "/" or is_under(scope or "/", s) for s in scopes):
            out.append(body)
    if key == "rolename":
        out = [b for b in out if str(b["properties"].get("roleName") or "").lower() == value]
    elif key == "type":
        out = [b for b in out if str(b["properties"].get("type") or "").lower() == value]
    return out


PROFILES = [
    TypeProfile(type=rbac.DEFINITIONS, created=201, updated=200, provisioning_state=False, has_location=False,
                latency=2.0, extension=True, methods=frozenset({"GET", "PUT", "DELETE", "HEAD"}),
                populate=_populate, default_body=_builtin, before_delete=_before_delete, list_query_fn=_list),
]
