"""Who may do what on ARM: a request's access token checked for expiry, then its action against the caller's
role assignments (rbac.py). The one call the HTTP layer makes before the engine sees a request."""

from __future__ import annotations

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
    found = rbac.request_action(method, path)
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
