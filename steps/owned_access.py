"""Owned collections of role assignments: every assignment in our resource group (at the group or on any
resource in it: the storage account, the vault, the site...), and those at the subscription, as far as the
identity running the tool may read them."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from pydantic import Field

from provisioner.azure import call
from provisioner.core.errors import AzureCallError
from provisioner.engine.children import Child, Children, Kind
from provisioner.engine.config import EnvironmentSpec, Section
from steps.owned import _children, _props  # one reading of a listed child for every owned collection

SECTION = "access"
LOG = logging.getLogger(__name__)


class Config(Section):
    # Principals (object ids) whose role assignments at the subscription are expected: the platform team's
    # group, the CI identities (ci/identities.toml). Any other principal's subscription-wide role is drift.
    subscription_principals: list[str] = Field(default_factory=list)


def _under(scope: str, parent: str) -> bool:
    s, p = scope.lower().rstrip("/"), parent.lower().rstrip("/")
    return s == p or s.startswith(p + "/")


class GroupRoleAssignments(Children):
    """Role assignments at the resource group or on anything in it. One list call on the group (no filter)
    returns what applies at the group, what is inherited from above, and what is made below it
    (RoleAssignments_ListForScope: "all role assignments at, above or below the scope"); only the ones at or
    below the group are ours to judge. Declared: the role-assignment steps (key_vault_access, ...)."""

    kind: ClassVar[Kind] = "revoke"
    why = "a role assignment grants access to the group or a resource in it"

    def __init__(self, env: EnvironmentSpec):
        group = env.resource_name("resource_group")
        super().__init__("resource_group/roleAssignments", "resource_group",
                         f"/subscriptions/{env.subscription_id}/resourceGroups/{group}",
                         "Microsoft.Authorization/roleAssignments")
        self.caller: str | None = None

    def list(self, clients: Any) -> list[Child]:
        self.caller = clients.caller_object_id()
        return call(lambda: _children(clients.authorization.role_assignments.list_for_scope(self.parent_id)))

    def delete(self, clients: Any, child: Child) -> None:
        call(clients.authorization.role_assignments.delete_by_id, child.id)

    def platform(self, child: Child) -> str | None:
        scope = str(_props(child).get("scope") or "")
        if not _under(scope, self.parent_id):
            return f"inherited from {scope or 'above'}"
        if self.caller and str(_props(child).get("principalId") or "").lower() == self.caller:
            # The identity running this provision: revoking it would lock the run out of what it must write.
            return "held by the identity running this provision"
        return None

    def shown(self, child: Child) -> dict[str, Any]:
        p = _props(child)
        return {"properties.scope": p.get("scope"), "properties.principalId": p.get("principalId"),
                "properties.principalType": p.get("principalType"), "properties.roleDefinitionId": p.get("roleDefinitionId")}


class SubscriptionRoleAssignments(GroupRoleAssignments):
    """Role assignments made at the subscription: a subscription-wide role for a principal `access.
    subscription_principals` does not name is drift, reported (never revoked: it is the organisation's, not
    only this environment's). An identity that may not read them (403) skips this collection."""

    kind: ClassVar[Kind] = "report"
    why = ("a role at the subscription grants access to every resource of every environment in it; a person "
           "removes it or adds the principal to access.subscription_principals")

    def __init__(self, env: EnvironmentSpec):
        Children.__init__(self, "subscription/roleAssignments", "resource_group", f"/subscriptions/{env.subscription_id}",
                          "Microsoft.Authorization/roleAssignments")
        self.caller = None
        self.known = {p.lower() for p in env.section(SECTION, Config).subscription_principals}
        self.skipped: str | None = None

    def list(self, clients: Any) -> list[Child]:
        self.caller = clients.caller_object_id()
        try:
            return call(lambda: _children(clients.authorization.role_assignments.list_for_scope(
                self.parent_id, filter="atScope()")))
        except AzureCallError as exc:
            if exc.status != 403:
                raise
            self.skipped = str(exc)
            LOG.warning("subscription role assignments not checked: %s", exc)
            return []

    def platform(self, child: Child) -> str | None:
        scope = str(_props(child).get("scope") or "").lower().rstrip("/")
        if scope != self.parent_id.lower():
            return f"inherited from {scope or 'above'}"
        principal = str(_props(child).get("principalId") or "").lower()
        if self.caller and principal == self.caller:
            return "held by the identity running this provision"
        return "declared in access.subscription_principals" if principal in self.known else None


def instances(env: EnvironmentSpec) -> list[Any]:
    return []


def children(env: EnvironmentSpec) -> list[Children]:
    return [GroupRoleAssignments(env), SubscriptionRoleAssignments(env)]
