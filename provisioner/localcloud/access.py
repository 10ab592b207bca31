"""Who may do what on ARM: a request's access token checked for expiry, then its action against the caller's
role assignments (rbac.py). The one call the HTTP layer makes before the engine sees a request."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from . import rbac
from .entra import check_expiry
from .services import ArmEngine


def authorize(engine: ArmEngine, method: str, path: str, raw: bytes, token: str | None) -> None:
    """Raise the ArmError ARM would answer (401 ExpiredAuthenticationToken, 403 AuthorizationFailed), or return."""
    check_expiry(token)
    principal = rbac.principal_of(token)
    if principal.object_id is None:  # the subscription's administrator (rbac.Principal)
        return
    found = _operation_status(engine, method, path) or rbac.request_action(method, path)
    if found is None:
        return  # not an ARM resource path: the engine answers it (400 InvalidRequestUri)
    action, scope = found
    with engine.lock:
        ctx = rbac.context(engine, method, path, action, raw)
        now = datetime.now(UTC)
        if rbac.allowed(engine, principal.object_id, action, scope, now, ctx):
            linked = [i for i in rbac.linked_identities(method, raw)
                      if not rbac.allowed(engine, principal.object_id, rbac.ASSIGN_IDENTITY, i, now)]
            if not linked:
                return
            raise rbac.linked_denied(principal, action, scope, linked)
    raise rbac.denied(principal, action, scope)


_STATUS = re.compile(r"^/subscriptions/([^/]+)/providers/([^/]+)/locations/[^/]+/([^/]+)/([^/]+)$", re.IGNORECASE)


def _operation_status(engine: ArmEngine, method: str, path: str) -> tuple[str, str] | None:
    """A poll of an operation's status (`.../providers/<ns>/locations/<region>/<segment>/<id>`) is authorized at the
    resource group the operation runs in, not at the subscription its URL names: "To track the status of an
    asynchronous operation, you need sufficient permissions at the level of the resource group ... The URL for
    tracking the status isn't scoped to the resource, so you need permissions at the resource group level"
    (learn.microsoft.com/azure/azure-resource-manager/management/async-operations, "Permissions for tracking async
    status"). The action is `<ns>/locations/<segment>/read`.

    App Service is the exception: its location-level operation results are authorized at the subscription, as
    `Microsoft.Web/locations/operationResults/read` (a Contributor on the group is refused with "does not have
    authorization to perform action 'Microsoft.Web/locations/operationResults/read' over scope '/subscriptions/<id>/
    providers/Microsoft.Web/locations/westeurope/operationResults/<id>'", reported for Static Web Apps and for
    azurerm alike; teams grant that action at the subscription)."""
    found = _STATUS.match(path) if method in ("GET", "HEAD") else None
    if found is None:
        return None
    if found.group(2).lower() == "microsoft.web":
        return "Microsoft.Web/locations/operationResults/read", f"/subscriptions/{found.group(1)}"
    op = engine.ops.get(found.group(4))
    group = re.match(r"^(/subscriptions/[^/]+/resourceGroups/[^/]+)", str(op.resource_id or ""), re.IGNORECASE) if op else None
    return f"{found.group(2)}/locations/{found.group(3)}/read", group.group(1) if group else f"/subscriptions/{found.group(1)}"
