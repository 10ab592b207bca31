"""Microsoft.Authorization: management locks and role assignments (extension resources at any scope)."""

from __future__ import annotations

import re

from .. import conditions, rbac
from ..errors import ArmError
from ..ids import ArmPath, is_under, split_extension
from ..profile import EngineApi, TypeProfile, WriteCtx


def _lock_populate(ctx: WriteCtx) -> None:
    level = str(ctx.props.get("level") or "")
    if level.lower() not in ("cannotdelete", "readonly"):
        raise ArmError(400, "LockLevelInvalid", f"The lock level '{level}' is invalid: use CanNotDelete or ReadOnly.")
    ctx.props["level"] = "CanNotDelete" if level.lower() == "cannotdelete" else "ReadOnly"


_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_ROLE_DEFINITION = re.compile(r"^(/subscriptions/[^/]+)?/providers/Microsoft\.Authorization/roleDefinitions/"
                              r"[0-9a-f-]{36}$", re.IGNORECASE)
_PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device")


# Types whose bodies may carry a managed identity (identity.principalId or user-assigned entries).
_IDENTITY_TYPES = ("Microsoft.Web/sites", "Microsoft.Web/sites/slots", "Microsoft.Web/staticSites",
                   "Microsoft.Communication/communicationServices", "Microsoft.Insights/actionGroups",
                   "Microsoft.DBforPostgreSQL/flexibleServers", "Microsoft.Cache/redis",
                   "Microsoft.Storage/storageAccounts", "Microsoft.ManagedIdentity/userAssignedIdentities")


def _managed_principals(engine: EngineApi) -> set[str]:
    """principalIds of the managed identities in the cloud (the only principals the local cloud knows)."""
    out: set[str] = set()
    for type_name in _IDENTITY_TYPES:
        for body in engine.find(type_name):
            out.add(str((body.get("properties") or {}).get("principalId") or "").lower())  # user-assigned MI
            ident = body.get("identity")
            if isinstance(ident, dict):
                out.add(str(ident.get("principalId") or "").lower())
                for entry in (ident.get("userAssignedIdentities") or {}).values():
                    if isinstance(entry, dict):
                        out.add(str(entry.get("principalId") or "").lower())
    return out - {"", "none"}


def _assignment_populate(ctx: WriteCtx) -> None:
    props = ctx.props
    if not _GUID.match(ctx.path.name):
        raise ArmError(400, "InvalidRoleAssignmentId", f"The role assignment ID '{ctx.path.name}' is not valid. "
                       "The role assignment ID must be a GUID.")
    if not props.get("roleDefinitionId") or not props.get("principalId"):
        raise ArmError(400, "InvalidRoleAssignmentRequest", "roleDefinitionId and principalId are required.")
    if not _ROLE_DEFINITION.match(str(props["roleDefinitionId"])):
        raise ArmError(400, "InvalidRoleDefinitionId", f"The role definition ID '{props['roleDefinitionId']}' is "
                       "not valid.")
    if rbac.definition(ctx.engine, str(props["roleDefinitionId"])) is None:
        raise ArmError(400, "RoleDefinitionDoesNotExist", f"The specified role definition with ID "
                       f"'{rbac.guid_of(str(props['roleDefinitionId']))}' does not exist.")
    if props.get("condition") is not None or props.get("conditionVersion") is not None:
        try:
            conditions.check(props.get("condition"), props.get("conditionVersion"))
        except conditions.ConditionError:
            # conditions-troubleshoot.md, "Condition is not valid error when adding a condition" (the code is not
            # documented; the message is).
            raise ArmError(400, "InvalidRoleAssignmentCondition",
                           "The given role assignment condition is invalid.") from None
    scope = split_extension(ctx.id)[0] or "/"
    if ctx.existing is not None:
        # Assignments are immutable, and a repeated identical PUT is not idempotent either
        # (Azure/azure-cli#8568: "The role assignment already exists.").
        old = ctx.existing.get("properties") or {}
        same = all(str(old.get(k)).lower() == str(props.get(k)).lower() for k in ("principalId", "roleDefinitionId"))
        if same:
            raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
        raise ArmError(409, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and "
                       "scope are not allowed to be updated.")
    for other in ctx.engine.find("Microsoft.Authorization/roleAssignments"):
        op = other.get("properties") or {}
        if (other["id"].lower() != ctx.id.lower()
                and str(op.get("principalId")).lower() == str(props["principalId"]).lower()
                and str(op.get("roleDefinitionId")).lower() == str(props["roleDefinitionId"]).lower()
                and str(op.get("scope")).lower() == scope.lower()):
            raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
    kind = props.get("principalType")
    if kind is not None and kind not in _PRINCIPAL_TYPES:
        raise ArmError(400, "InvalidPrincipalType", f"The principal type '{kind}' is not valid: use one of "
                       f"{', '.join(_PRINCIPAL_TYPES)}.")
    if kind is None:
        # Without principalType ARM looks the principal up, which fails for a just-created identity (Entra
        # replication); with it, the lookup is skipped. The local cloud knows managed identities only.
        if str(props["principalId"]).lower() not in _managed_principals(ctx.engine):
            raise ArmError(400, "PrincipalNotFound", f"Principal {props['principalId']} does not exist in the "
                           f"directory {ctx.engine.tenant_id}. Check that you have the correct principal ID. If you are "
                           "creating this principal and then immediately assigning a role, this error might be "
                           "related to a replication delay. In this case, set the role assignment principalType "
                           "property to a value, such as ServicePrincipal, User, or Group.")
        props["principalType"] = "ServicePrincipal"
    props.update(scope=scope, condition=props.get("condition"),
                 conditionVersion=props.get("conditionVersion"), createdOn=props.get("createdOn") or ctx.now,
                 updatedOn=ctx.now, createdBy=props.get("createdBy") or ctx.caller, updatedBy=ctx.caller,
                 delegatedManagedIdentityResourceId=None, description=props.get("description"))
    ctx.extra["tenant"] = ctx.engine.tenant_id


_PRINCIPAL_FILTER = re.compile(r"^\s*principalId\s+eq\s+'?([0-9a-fA-F-]+)'?\s*$")


def _list_assignments(engine: EngineApi, path: ArmPath, query: dict[str, str]) -> list[dict[str, object]]:
    """GET {scope}/providers/Microsoft.Authorization/roleAssignments as ARM answers it
    (RoleAssignments_ListForScope, azure-rest-api-specs authorization RoleAssignmentsCalls.json; the same
    text in learn.microsoft.com/dotnet/api/azure.resourcemanager.authorization.roleassignmentcollection.getall):
    no filter: every assignment that applies at the scope (at or above it) and those below it;
    `$filter=atScope()`: at or above the scope only (what inherits to it);
    `$filter=principalId eq {id}`: at, above or below, for that principal. Any other filter is refused."""
    scope = path.parent_id
    flt = (query.get("$filter") or "").strip()
    principal = None
    if flt and flt.lower() != "atscope()":
        m = _PRINCIPAL_FILTER.match(flt)
        if not m:
            raise ArmError(400, "UnsupportedQuery", f"The filter '{flt}' is not supported.")
        principal = m.group(1).lower()
    out = []
    for body in engine.find("Microsoft.Authorization/roleAssignments"):
        at = split_extension(body["id"])[0] or "/"
        above = is_under(scope, at)  # at the scope or on one of its ancestors
        below = is_under(at, scope)
        if flt.lower() == "atscope()" and not above:
            continue
        if not (above or below):
            continue
        if principal and str((body.get("properties") or {}).get("principalId") or "").lower() != principal:
            continue
        out.append(body)
    return out


PROFILES = [
    TypeProfile(type="Microsoft.Authorization/locks", created=201, updated=200, provisioning_state=False,
                has_location=False, latency=1.0, extension=True, populate=_lock_populate),
    TypeProfile(type="Microsoft.Authorization/roleAssignments", created=201, updated=200, provisioning_state=False,
                has_location=False, latency=2.0, extension=True, methods=frozenset({"GET", "PUT", "DELETE", "HEAD"}),
                populate=_assignment_populate, list_query_fn=_list_assignments),
]
