"""Control-plane RBAC as ARM enforces it: the action a request needs, role definitions (built-in and custom),
assignments inherited down scopes, their conditions, and the 403 AuthorizationFailed a missing grant gets.

How ARM applies a definition (../shared/azure-roles/INDEX.md, learn.microsoft.com/azure/role-based-access-control/
role-definitions): an action is allowed at a scope when a role assigned at that scope or above lists it in one
permission block's `actions` (`*` matches any run of characters, case-insensitive) and none of that block's
`notActions` matches it (notActions is not a deny: another role may still grant it). `dataActions` are the data
plane and never granted by `actions`. A condition on the assignment (or on the permission block, as Key Vault
Data Access Administrator carries) must hold for the request, else that grant does not count.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from . import conditions
from .errors import ArmError
from .ids import ArmPath, is_under, parse, split_extension
from .jwtclaims import claims

ROLES_DIR = Path(__file__).with_name("roles")
ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"
DEFINITIONS = "Microsoft.Authorization/roleDefinitions"
ATTR = "microsoft.authorization/roleassignments:"  # the ABAC attributes of role assignments
# Azure: "role assignments can take up to 10 minutes to propagate" (Key Vault rbac-guide; RBAC troubleshooting);
# typically a few. Simulated only under --latency realistic (scaled), for the control and the data plane alike.
ROLE_PROPAGATION_SECONDS = 180.0
# POSTs the resource provider registers under another verb than `/action` (the role definitions that grant
# them name them so: Key Vault roles list `Microsoft.KeyVault/checkNameAvailability/read`, security.md).
_POST_AS_READ = {("microsoft.keyvault", "checknameavailability")}


class Finder(Protocol):
    def find(self, type_name: str, under: str = "") -> list[dict[str, Any]]: ...


class Directory(Finder, Protocol):
    """What RBAC reads of the cloud (engine.Engine): stored resources by type and by id, the latency profile."""

    @property
    def latency(self) -> str: ...

    @property
    def time_scale(self) -> float: ...

    def get(self, resource_id: str) -> dict[str, Any] | None: ...


@functools.cache
def builtins() -> dict[str, dict[str, Any]]:
    """Microsoft's built-in definitions (az shape: roleName, permissions, ...), by lower-case GUID."""
    out = {}
    for file in sorted(ROLES_DIR.glob("*.json")):
        body = json.loads(file.read_text(encoding="utf-8"))
        out[str(body["name"]).lower()] = body
    return out


def guid_of(role_definition_id: str) -> str:
    return str(role_definition_id).rstrip("/").rsplit("/", 1)[-1].lower()


def definition(cloud: Finder, role_definition_id: str) -> dict[str, Any] | None:
    """A role definition in az shape (roleName, roleType, permissions, assignableScopes), built-in or custom."""
    guid = guid_of(role_definition_id)
    if guid in builtins():
        return builtins()[guid]
    for body in cloud.find(DEFINITIONS):
        if str(body.get("name") or "").lower() == guid:
            props = body.get("properties") or {}
            return {"name": guid, "roleName": props.get("roleName"), "roleType": props.get("type") or "CustomRole",
                    "permissions": props.get("permissions") or [], "assignableScopes": props.get("assignableScopes") or []}
    return None


@dataclass(frozen=True)
class Principal:
    """Who a token names. A token with an object id (`oid`: every Entra token has one) is a principal whose
    rights come only from role assignments. A token without one (a test's plain `Bearer alice@fundrbolt.app`,
    the tool's static token on local targets) stands for the subscription's account administrator, Owner of
    everything: Azure never accepts such a token, so no real identity can take this path."""

    object_id: str | None
    name: str

    @property
    def administrator(self) -> bool:
        return self.object_id is None


def principal_of(token: str | None) -> Principal:
    found = claims(token)
    oid = str(found.get("oid") or "").lower() or None
    name = str(found.get("upn") or found.get("unique_name") or oid or token or "")
    return Principal(oid, name)


def request_action(method: str, path: str) -> tuple[str, str] | None:
    """The action ARM authorizes for a request and the scope it authorizes it at, or None for a path that is not
    an ARM resource (the engine answers those). GET/HEAD read, PUT/PATCH write, DELETE delete; a POST is
    `<type path>/<name>/action` over the resource it acts on (`POST .../sites/a/config/appsettings/list` needs
    `Microsoft.Web/sites/config/list/action`, `POST .../redis/r/listKeys` `Microsoft.Cache/redis/listKeys/action`)."""
    segs = [s for s in path.split("/") if s]
    verb = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}.get(method)
    low = [s.lower() for s in segs]
    if len(segs) == 2 and low[0] == "subscriptions":
        return f"Microsoft.Resources/subscriptions/{verb or 'read'}", path
    if len(segs) == 4 and low[0] == "subscriptions" and low[2] == "providers":  # a resource provider
        return "Microsoft.Resources/subscriptions/providers/read", path
    if method == "POST":
        target, _, name = path.rpartition("/")
        if len(segs) == 5 and low[0] == "subscriptions" and low[2] == "providers":  # register, checkNameAvailability
            kind = "read" if (low[3], name.lower()) in _POST_AS_READ else "action"
            return f"{segs[3]}/{name}/{kind}", target
        parsed = _parse(target)
        return (f"{_type_path(parsed)}/{name}/action", target) if parsed else None
    parsed = _parse(path)
    if parsed is None or verb is None:
        return None
    scope = parsed.parent_id if parsed.is_collection else path
    return f"{_type_path(parsed)}/{verb}", scope or "/"


def _parse(path: str) -> ArmPath | None:
    try:
        return parse(path)
    except ArmError:
        return None


def _type_path(p: ArmPath) -> str:
    if p.is_group:  # resource groups are a type of subscriptions in the operation names
        return f"Microsoft.Resources/subscriptions/{p.types[0]}"
    if not p.namespace:  # /subscriptions/{s}[/resourceGroups/{g}]/resources
        where = "subscriptions/resourceGroups" if p.resource_group else "subscriptions"
        return f"Microsoft.Resources/{where}/{p.types[0]}"
    return f"{p.namespace}/{'/'.join(p.types)}"


def _scope_of(assignment: dict[str, Any]) -> str:
    return split_extension(str(assignment["id"]))[0] or "/"


def _ready(assignment: dict[str, Any], delay: float, now: datetime) -> bool:
    created = str((assignment.get("properties") or {}).get("createdOn") or "")
    try:
        at = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return True
    return (now - at).total_seconds() >= delay


def propagation_delay(cloud: Directory) -> float:
    return ROLE_PROPAGATION_SECONDS * cloud.time_scale if cloud.latency == "realistic" else 0.0


@functools.lru_cache(maxsize=256)
def _condition(text: str) -> conditions.Node:
    return conditions.parse(text)


def _holds(text: Any, ctx: conditions.Context) -> bool:
    if not text:
        return True
    try:
        return _condition(str(text))(ctx)
    except conditions.ConditionError:
        return False  # a condition that does not parse grants nothing (ARM refuses it at write)


def _grants(perm: dict[str, Any], action: str, data: bool) -> bool:
    allow, deny = ("dataActions", "notDataActions") if data else ("actions", "notActions")
    return (any(conditions.action_matches(p, action) for p in perm.get(allow) or [])
            and not any(conditions.action_matches(p, action) for p in perm.get(deny) or []))


def allowed(cloud: Directory, principal_id: str, action: str, scope: str, now: datetime,
            ctx: conditions.Context | None = None, data: bool = False) -> bool:
    """Whether an assignment at `scope` or above, propagated, grants `action` to the principal."""
    ctx = ctx or conditions.Context(action)
    delay = propagation_delay(cloud)
    for assignment in cloud.find(ASSIGNMENTS):
        props = assignment.get("properties") or {}
        if str(props.get("principalId") or "").lower() != principal_id:
            continue
        at = _scope_of(assignment)
        if not (at == "/" or is_under(scope, at)) or not _ready(assignment, delay, now):
            continue
        role = definition(cloud, str(props.get("roleDefinitionId") or ""))
        if role is None or not _holds(props.get("condition"), ctx):
            continue
        if any(_grants(p, action, data) and _holds(p.get("condition"), ctx) for p in role.get("permissions") or []):
            return True
    return False


def assignment_attributes(body: dict[str, Any]) -> dict[str, list[str]]:
    """A role assignment's ABAC attributes (conditions-authorization-actions-attributes): the role definition's
    GUID, the principal id and type; only those the body carries."""
    found = body.get("properties")
    props: dict[str, Any] = found if isinstance(found, dict) else {}
    out: dict[str, list[str]] = {}
    if props.get("roleDefinitionId"):
        out[ATTR + "roledefinitionid"] = [guid_of(str(props["roleDefinitionId"]))]
    for key in ("principalId", "principalType"):
        if props.get(key):
            out[ATTR + key.lower()] = [str(props[key])]
    return out


def context(cloud: Directory, method: str, path: str, action: str, raw: bytes) -> conditions.Context:
    """What a condition may read of this request: the body of a role assignment write, the stored assignment
    of a delete."""
    if not action.lower().startswith(ASSIGNMENTS.lower() + "/"):
        return conditions.Context(action)
    request: dict[str, list[str]] = {}
    if method in ("PUT", "PATCH"):
        try:
            sent = json.loads(raw or b"{}")
        except ValueError:
            sent = {}
        request = assignment_attributes(sent) if isinstance(sent, dict) else {}
    existing = cloud.get(path) if method == "DELETE" else None
    return conditions.Context(action, request, assignment_attributes(existing) if existing else {})


def denied(principal: Principal, action: str, scope: str) -> ArmError:
    """ARM's answer, word for word (Azure/ARO-RP#66, hashicorp/terraform-provider-azurerm#495: "The client '…' with
    object id '…' does not have authorization to perform action '…' over scope '…' or the scope is invalid. If
    access was recently granted, please refresh your credentials."). A grant whose condition fails gets the
    same answer (langchain-ai/terraform#106 quotes it for a principalType condition)."""
    return ArmError(403, "AuthorizationFailed",
                    f"The client '{principal.name}' with object id '{principal.object_id}' does not have authorization "
                    f"to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was "
                    "recently granted, please refresh your credentials.")


ASSIGN_IDENTITY = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"


def linked_identities(method: str, raw: bytes) -> list[str]:
    """The user-assigned identities a write attaches to its resource: ARM checks the caller may assign each one
    (the "Managed Identity Operator" role's action) on the identity itself, besides the write on the resource."""
    if method not in ("PUT", "PATCH"):
        return []
    try:
        sent = json.loads(raw or b"{}")
    except ValueError:
        return []
    named = ((sent.get("identity") or {}).get("userAssignedIdentities")) if isinstance(sent, dict) else None
    return [str(k) for k in named] if isinstance(named, dict) else []


def linked_denied(principal: Principal, action: str, scope: str, linked: list[str]) -> ArmError:
    """ARM's answer when the write is allowed but a linked scope is not (Azure/aad-pod-identity#613 and #443 quote
    it: 403 LinkedAuthorizationFailed "... has permission to perform action '…' on scope '…'; however, it does not
    have permission to perform action '…' on the linked scope(s) '…' or the linked scope(s) are invalid.")."""
    return ArmError(403, "LinkedAuthorizationFailed",
                    f"The client '{principal.name}' with object id '{principal.object_id}' has permission to perform "
                    f"action '{action}' on scope '{scope}'; however, it does not have permission to perform action "
                    f"'{ASSIGN_IDENTITY}' on the linked scope(s) '{','.join(linked)}' or the linked scope(s) are invalid.")


def effective_actions(roles: Iterable[dict[str, Any]], candidates: Iterable[str]) -> list[str]:
    """Which of `candidates` a set of definitions grants (for tests and the docs: no scopes, no conditions)."""
    return [a for a in candidates if any(_grants(p, a, False) for r in roles for p in r.get("permissions") or [])]
