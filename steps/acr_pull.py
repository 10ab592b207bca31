"""Step: 'AcrPull' on the private container registry for the web app's (and slot's) identity (roleAssignments)."""

from __future__ import annotations

from typing import Any

from provisioner.azure import raw
from provisioner.engine.config import EnvironmentSpec
from steps._role_assignment import PrincipalRoleAssignment
from steps.deployment_slot import slot_config, slots_enabled
from steps.web_app import private_registry

SECTION = None  # configured by [web_app] container_image and container_registry_id
# Built-in "AcrPull": pull images from a registry (learn.microsoft.com/azure/role-based-access-control/
# built-in-roles/containers#acrpull); the app pulls with its managed identity
# (learn.microsoft.com/azure/app-service/configure-custom-container, acrUseManagedIdentityCreds).
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"


def instances(env: EnvironmentSpec) -> list[PrincipalRoleAssignment]:
    registry = private_registry(env)
    if registry is None:
        return []  # a public image needs no role
    group, site = env.resource_name("resource_group"), env.resource_name("web_app")

    def read_site(clients: Any) -> dict[str, Any] | None:
        return raw(clients.web.web_apps.get, group, site)

    out = [PrincipalRoleAssignment(env, "acr_pull", "web_app", registry, ACR_PULL, read_site)]
    if slots_enabled(env):
        slot = slot_config(env).name

        def read_slot(clients: Any) -> dict[str, Any] | None:
            return raw(clients.web.web_apps.get_slot, group, site, slot)

        out.append(PrincipalRoleAssignment(env, "acr_pull:slot", "deployment_slot", registry, ACR_PULL, read_slot))
    return out
