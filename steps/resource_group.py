"""Step: the environment's resource group (Microsoft.Resources/resourceGroups)."""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw
from provisioner.core.errors import ConfigProblem
from provisioner.core.model import ResourceRef
from provisioner.engine.config import EnvironmentSpec, Section
from steps._base import ArmStep, name_problems, rules
from steps._fields import SdkModel, nm

SECTION = "resource_group"


class Config(Section):
    """Nothing to size; the name comes from `naming.resource_group`."""


class ResourceGroup(ArmStep):
    type = "Microsoft.Resources/resourceGroups"
    model = SdkModel("azure.mgmt.resource.resources.models", "ResourceGroup")
    not_managed = (
        nm("filled in by Azure for groups a managed application owns", "managedBy")
    )
    holds_data = True  # deleting a group deletes everything in it
    rules = rules()

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(self.env.subscription_id, None, self.type, self.resource_name)

    def desired(self, known: Any) -> dict[str, Any]:
        return {"location": self.env.location, "tags": self.tags()}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.resource.resource_groups.get, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.resource.resource_groups.create_or_update, self.resource_name, desired)

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # PATCH carries only tags: a group's location cannot change.
        call(clients.resource.resource_groups.update, self.resource_name, {"tags": desired["tags"]})

    def delete(self, clients: Any) -> None:
        from provisioner.azure import wait

        wait(call(clients.resource.resource_groups.begin_delete, self.resource_name))


def instances(env: EnvironmentSpec) -> list[ResourceGroup]:
    return [ResourceGroup(env, "resource_group", env.resource_name("resource_group"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    # learn.microsoft.com resource-name-rules: 1-90, alphanumerics, _ ( ) - . ; not ending in '.'
    return name_problems(env, "resource_group", r"[\w().-]{0,89}[\w()-]", "1-90 letters, digits, _ ( ) - . and not ending in '.'")
