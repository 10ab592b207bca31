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


def _failed(resource_id: str, status: str, code: str, message: str) -> ArmError:
    """App Service's wrapping of the identity service's refusal (Azure/azure-libraries-for-net#690: 400
    FailedIdentityOperation "Identity operation for resource '...' failed with error 'Failed to perform resource
    identity operation. Status: '...'. Response: '...'")."""
    inner = f'{{"error":{{"code":"{code}","message":"{message}"}}}}'
    return ArmError(400, "FailedIdentityOperation", f"Identity operation for resource '{resource_id}' failed with error "
                    f"'Failed to perform resource identity operation. Status: '{status}'. Response: '{inner}'.'.")


def fill_user_assigned(engine: Any, body: dict[str, Any], resource_id: str, sent: dict[str, Any] | None = None) -> None:
    """Refuse what the identity service refuses, and fill each named identity's principalId and clientId from the
    identity itself (a sent value is ignored):
    - a type without UserAssigned that is sent with userAssignedIdentities: "The request format was unexpected, a
      non-UserAssigned identity type should not contain: userAssignedIdentities" (Azure/azure-rest-api-specs#17650);
      a type without it that is merged onto stored identities (a PATCH of the type alone) drops them;
    - UserAssigned with none named: "The identity ids must not be null or empty for 'UserAssigned' identity type."
      (quoted in microsoft/CromwellOnAzure#765 and ohadschn/letsencrypt-webapp-renewer#81);
    - a key that is not a resource id: 400 LinkedInvalidPropertyId (MicrosoftDocs/azure-docs#112377 quotes it);
    - an identity that does not exist: its own 404, wrapped as above."""
    ident = body.get("identity")
    if not isinstance(ident, dict):
        return
    kind = str(ident.get("type") or "None").lower()
    named = ident.get("userAssignedIdentities")
    if "userassigned" not in kind:
        sent_ident = (sent or {}).get("identity")
        if isinstance(sent_ident, dict) and sent_ident.get("userAssignedIdentities") is not None:
            raise _failed(resource_id, "BadRequest", "BadRequest", "The request format was unexpected, a non-UserAssigned "
                          "identity type should not contain: userAssignedIdentities")
        ident.pop("userAssignedIdentities", None)
        return
    if not isinstance(named, dict) or not named:
        raise _failed(resource_id, "BadRequest", "BadRequest",
                      "The identity ids must not be null or empty for 'UserAssigned' identity type.")
    filled: dict[str, Any] = {}
    for key in named:
        if not key.startswith(("/subscriptions/", "/providers/")):
            raise ArmError(400, "LinkedInvalidPropertyId", f"Property id '{key}' at path '' is invalid. Expect fully "
                           "qualified resource Id that start with '/subscriptions/{subscriptionId}' or "
                           "'/providers/{resourceProviderNamespace}/'.")
        found = engine.get(key) if _UAI_ID.match(key) else None
        if found is None:
            raise _failed(resource_id, "NotFound", "NotFound", f"Resource '{key}' was not found.")
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
