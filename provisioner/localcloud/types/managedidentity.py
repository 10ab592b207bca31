"""Microsoft.ManagedIdentity: user-assigned identities, and how a resource that carries one is checked and filled.

Shapes from azure-rest-api-specs specification/msi/.../stable/2024-11-30/examples (IdentityCreate.json: PUT answers
201 then 200 with properties.clientId, principalId, tenantId and isolationScope "None", and an id spelled
`/resourcegroups/`; IdentityDelete.json: 200 or 204). A user-assigned identity's principal lives as long as the
resource: deleted and created again under the same name, it is another service principal with new ids
(learn.microsoft.com/entra/identity/managed-identities-azure-resources/overview, "User-assigned ... lifecycle is
managed separately": what was granted to the old principal is not granted to the new one).
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ArmError
from ..profile import TypeProfile, WriteCtx, det_guid

TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
_UAI_ID = re.compile(r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.managedidentity/"
                     r"userassignedidentities/[^/]+$", re.IGNORECASE)


def canonical_id(resource_id: str) -> str:
    """The id as Microsoft.ManagedIdentity spells it in its answers (`resourcegroups` in lower case: IdentityCreate.json,
    and hashicorp/terraform-provider-azurerm's case-insensitive parsing of these ids exists for that reason)."""
    return re.sub(r"/resourceGroups/", "/resourcegroups/", resource_id, flags=re.IGNORECASE)


def _populate(ctx: WriteCtx) -> None:
    old = (ctx.existing or {}).get("properties") or {}
    created = ((ctx.existing or {}).get("systemData") or {}).get("createdAt", ctx.now)
    # Read-only ids (sent values are ignored): fixed for the life of this resource, new for a new one.
    ctx.props.clear()
    ctx.props.update(tenantId=old.get("tenantId") or ctx.engine.tenant_id,
                     principalId=old.get("principalId") or det_guid(ctx.id, created, "principal"),
                     clientId=old.get("clientId") or det_guid(ctx.id, created, "client"),
                     isolationScope=(ctx.sent.get("properties") or {}).get("isolationScope") or old.get("isolationScope")
                     or "None")
    ctx.body["id"] = canonical_id(ctx.id)


def fill_user_assigned(engine: Any, body: dict[str, Any], resource_id: str) -> None:
    """Refuse a write that names a user-assigned identity that does not exist, and fill each named identity's
    principalId and clientId from the identity itself (a sent value is ignored). The refusal is the shape App Service
    answers (Azure/azure-libraries-for-net#690: 400 FailedIdentityOperation "Identity operation for resource '...'
    failed with error ..."); its cause is the identity's own 404."""
    ident = body.get("identity")
    if not isinstance(ident, dict):
        return
    kind = str(ident.get("type") or "None").lower()
    named = ident.get("userAssignedIdentities")
    if "userassigned" not in kind:
        ident.pop("userAssignedIdentities", None)
        return
    if not isinstance(named, dict) or not named:
        raise ArmError(400, "BadRequest", "The identity type UserAssigned needs at least one user assigned identity "
                       "in userAssignedIdentities.")
    filled: dict[str, Any] = {}
    for key in named:
        found = engine.get(key) if _UAI_ID.match(key) else None
        if found is None:
            raise ArmError(400, "FailedIdentityOperation", f"Identity operation for resource '{resource_id}' failed "
                           "with error 'Failed to perform resource identity operation. Status: 'NotFound'. Response: "
                           f"'{{\"error\":{{\"code\":\"NotFound\",\"message\":\"Resource '{key}' was not found.\"}}}}'.'.")
        props = found.get("properties") or {}
        filled[canonical_id(key)] = {"principalId": props.get("principalId"), "clientId": props.get("clientId")}
    ident["userAssignedIdentities"] = filled


def user_assigned_principal(engine: Any, body: dict[str, Any], client_id: str) -> str | None:
    """The principal of the user-assigned identity `client_id` names among the resource's (as an app's
    ManagedIdentityCredential(client_id=...) picks it), or None when the resource has no such identity."""
    named = ((body.get("identity") or {}).get("userAssignedIdentities")) or {}
    for key in named:
        props = (engine.get(key) or {}).get("properties") or {}
        if str(props.get("clientId") or "").lower() == client_id.lower():
            return str(props.get("principalId") or "") or None
    return None


PROFILES = [
    TypeProfile(type=TYPE, created=201, updated=200, provisioning_state=False, latency=2.0, delete_status=200,
                populate=_populate),
]
