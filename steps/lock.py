"""Step: CanNotDelete management locks on the resources that hold data (Microsoft.Authorization/locks)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from provisioner.azure import call, raw
from provisioner.core.errors import ConfigProblem
from provisioner.core.model import ResourceRef
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, lower
from provisioner.engine.step import Step
from steps._base import rules
from steps._fields import SdkModel, nm

SECTION = "locks"
LOCK_NAME = "do-not-delete"
# step name -> (provider namespace, resource type, naming key) of the resources a lock may protect.
LOCKABLE: dict[str, tuple[str, str, str]] = {
    "postgres_server": ("Microsoft.DBforPostgreSQL", "flexibleServers", "postgres_server"),
    "redis": ("Microsoft.Cache", "redis", "redis"),
    "key_vault": ("Microsoft.KeyVault", "vaults", "key_vault"),
    "storage_account": ("Microsoft.Storage", "storageAccounts", "storage_account"),
}


def lockable(env: EnvironmentSpec, target: str) -> tuple[str, str, str]:
    """LOCKABLE[target], where "redis" is the Managed Redis cluster when [redis] kind = "managed"."""
    from steps.redis import kind_of

    if target == "redis" and kind_of(env) == "managed":
        return ("Microsoft.Cache", "redisEnterprise", "managed_redis")
    return LOCKABLE[target]


class Config(Section):
    # Step names of the resources to lock (architecture, "Production Safeguards": production only).
    resources: list[str] = Field(default_factory=list)


class Lock(Step):
    type = "Microsoft.Authorization/locks"
    model = SdkModel("azure.mgmt.resource.locks.models", "ManagementLockObject")
    not_managed = (
        nm("filled in by Azure for locks created by an application", "properties.owners")
    )
    rules = rules(Rules(
        # ARM treats lock levels case-insensitively (ManagementLocks spec: LockLevel enum, modelAsString).
        normalizers=(("properties.level", lower),),
    ))

    def __init__(self, env: EnvironmentSpec, target: str):
        super().__init__(env, f"lock:{target}", LOCK_NAME)
        self.target = target
        self.namespace, self.target_type, naming_key = lockable(env, target)
        self.target_name = env.resource_name(naming_key)

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (self.target,)

    @property
    def ref(self) -> ResourceRef:
        target = ResourceRef(self.env.subscription_id, self.resource_group, f"{self.namespace}/{self.target_type}",
                             self.target_name)
        return ResourceRef(self.env.subscription_id, self.resource_group, self.type, self.resource_name,
                           scope=f"{target.id}/providers/{self.type}/{self.resource_name}")

    def _args(self) -> tuple[str, ...]:
        # *_at_resource_level, not *_by_scope: the latter percent-encodes the scope (azure-sdk-facts §1 Lock).
        # parent_resource_path is "" for top-level resources, as the Azure CLI sends it.
        return (self.resource_group, self.namespace, "", self.target_type, self.target_name, self.resource_name)

    def desired(self, known: Any) -> dict[str, Any]:
        # CanNotDelete, not ReadOnly: a ReadOnly lock also blocks POST listKeys and every update (azure-sdk-facts §1).
        return {"properties": {"level": "CanNotDelete", "notes": "Holds data: managed by fundrbolt-provisioner (architecture: Production Safeguards)"}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.locks.management_locks.get_at_resource_level, *self._args())

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.locks.management_locks.create_or_update_at_resource_level, *self._args(), desired)

    def delete(self, clients: Any) -> None:
        call(clients.locks.management_locks.delete_at_resource_level, *self._args())


def instances(env: EnvironmentSpec) -> list[Lock]:
    wanted = env.section(SECTION, Config).resources
    return [Lock(env, target) for target in wanted if target in LOCKABLE]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    c = env.section(SECTION, Config)
    problems = []
    for i, target in enumerate(c.resources):
        if target not in LOCKABLE:
            problems.append(ConfigProblem(env.where("locks.resources"), f"locks.resources[{i}]",
                                          f"{target!r} is not a lockable resource (one of {', '.join(LOCKABLE)})"))
    if env.is_production and not c.resources:
        problems.append(ConfigProblem(env.where("locks.resources"), "locks.resources",
                                      "production has no resource locks (architecture: 'Resource locks: Enabled')",
                                      severity="warning"))
    return problems
