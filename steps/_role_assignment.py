"""A role assignment for a managed identity, named from scope + principal + role (a new principal, a new name)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from provisioner.azure import call, raw
from provisioner.core.errors import AzureCallError
from provisioner.core.model import UNKNOWN, ResourceRef
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules, lower
from provisioner.engine.step import Step
from steps._fields import UNUSED, SdkModel, nm

# A fixed namespace: uuid5(namespace, scope|principal|role) is the same on every run and every machine.
NAMESPACE = uuid.UUID("3f0b6c8e-1d2a-4e5f-9a7b-6c5d4e3f2a10")
PENDING = "(known after apply)"  # the name while the principal does not exist yet


def assignment_name(scope: str, principal: str, role: str) -> str:
    """Deterministic: a re-run finds its own assignment and never creates a second one; an identity that was
    re-created (new principal) gets a new assignment instead of an impossible in-place update (ARM answers
    409 RoleAssignmentUpdateNotPermitted), and the stale one is left for the owned-collection report."""
    return str(uuid.uuid5(NAMESPACE, f"{scope}|{principal}|{role}".lower()))


class PrincipalRoleAssignment(Step):
    """`role` at `scope` for the system-assigned identity in the body of step `owner_step`."""

    type = "Microsoft.Authorization/roleAssignments"
    model = SdkModel("azure.mgmt.authorization.v2022_04_01.models", "RoleAssignment")
    # A plain assignment: no ABAC condition, no delegated identity, no description.
    not_managed = nm(UNUSED, "properties.condition", "properties.conditionVersion", "properties.description")
    # A delegated managed identity (Azure Lighthouse) on the assignment would let another tenant act through
    # it: declared absent, so one set by hand is drift.
    rules = Rules(normalizers=(("properties.principalId", lower), ("properties.principalType", lower)),
                  absent=("properties.delegatedManagedIdentityResourceId",))

    def __init__(self, env: EnvironmentSpec, name: str, owner_step: str, scope: str, role: str,
                 read_owner: Callable[[Any], dict[str, Any] | None]):
        super().__init__(env, name, PENDING)
        self.owner_step, self.scope, self.role = owner_step, scope, role
        self.read_owner = read_owner  # reads the owner's live body (for `read`, which runs before `known` exists)
        self.principal: str | None = None
        self.adopted: dict[str, str] = {}  # principal -> the name our assignment for it already has (see `earlier`)

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (self.owner_step,)

    @property
    def role_definition_id(self) -> str:
        return f"/subscriptions/{self.env.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{self.role}"

    def learn(self, owner: dict[str, Any] | None) -> None:
        principal = ((owner or {}).get("identity") or {}).get("principalId")
        self.principal = str(principal).lower() if principal else None
        if self.principal is None:
            self.resource_name = PENDING
        else:
            self.resource_name = self.adopted.get(self.principal) or assignment_name(self.scope, self.principal, self.role)

    @property
    def ref(self) -> ResourceRef:
        full = f"{self.scope}/providers/{self.type}/{self.resource_name}"
        return ResourceRef(self.env.subscription_id, self.resource_group, self.type, self.resource_name, scope=full)

    def gather(self, clients: Any, known: Any) -> None:
        self.learn(known.get(self.owner_step))

    def desired(self, known: Any) -> dict[str, Any]:
        self.learn(known.get(self.owner_step))
        return {"properties": {
            "roleDefinitionId": self.role_definition_id,
            "principalId": self.principal or UNKNOWN,
            # Says what the principal is, so ARM does not look it up in a directory that may lag behind.
            "principalType": "ServicePrincipal",
        }}

    def read(self, clients: Any) -> dict[str, Any] | None:
        # Our assignment is the one named after the principal the owner has *now*: learnt afresh on every
        # read, so a plan after the identity was re-created looks for the new name, not a remembered one.
        self.learn(self.read_owner(clients))
        if self.principal is None:
            return None  # no identity yet: nothing can be assigned to it
        body = raw(clients.authorization.role_assignments.get, self.scope, self.resource_name)
        if body is None and (name := self.earlier()) and name.lower() != self.resource_name.lower():
            old = raw(clients.authorization.role_assignments.get, self.scope, name)
            props = (old or {}).get("properties") or {}
            if str(props.get("principalId") or "").lower() == self.principal:
                # The same grant under the name an earlier version of the tool gave it: ours. A second one
                # could not be made (409 RoleAssignmentExists: one assignment per scope, principal and role).
                self.adopted[self.principal] = self.resource_name = name
                return old
        return body

    def earlier(self) -> str | None:
        """The name an earlier version of the tool gave this assignment, if it named it otherwise."""
        return None

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        self._assign(clients, desired)
        self.created(clients)

    def created(self, clients: Any) -> None:
        """After the assignment exists (made now, or by our own earlier attempt): what the role unlocks may
        need a nudge (Key Vault references). Nothing by default."""

    def _assign(self, clients: Any, desired: dict[str, Any]) -> None:
        try:
            call(clients.authorization.role_assignments.create, self.scope, self.resource_name, desired)
        except AzureCallError as exc:
            if exc.code == "RoleAssignmentExists" and self.read(clients) is not None:
                # Our own earlier attempt landed (the create is not idempotent: Azure/azure-cli#8568). Under
                # another name the error stands: the same role was granted by hand.
                return
            if exc.code != "PrincipalNotFound":
                raise
            # A just-created identity takes a while to reach Entra ID replicas (azure-sdk-facts §1): mark it
            # retryable so the executor's retry layer tries again.
            raise AzureCallError(str(exc), code=exc.code, status=exc.status, retryable=True) from None

    def delete(self, clients: Any) -> None:
        call(clients.authorization.role_assignments.delete, self.scope, self.resource_name)
