"""Step: the app's user-assigned identity, shared by the site and its slot (Microsoft.ManagedIdentity/userAssignedIdentities)."""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules
from steps._base import ArmStep, name_problems, rules
from steps._fields import SdkModel

SECTION = None  # exists where [postgres] app_sign_in = "entra"
CLIENT_ID_SETTING = "AZURE_CLIENT_ID"  # azure-identity's ManagedIdentityCredential reads it (the app's contract)


def enabled(env: EnvironmentSpec) -> bool:
    """The app signs in to PostgreSQL with a token (docs/operations.md "The app's database sign-in")."""
    from steps.postgres_server import SECTION as PG  # here: postgres_server reaches web_app's imports
    from steps.postgres_server import Config

    return env.section(PG, Config).app_sign_in == "entra"


def identity_id(env: EnvironmentSpec) -> str:
    return (f"/subscriptions/{env.subscription_id}/resourceGroups/{env.resource_name('resource_group')}"
            f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{env.resource_name('app_identity')}")


def site_identity(env: EnvironmentSpec) -> dict[str, Any]:
    """The identity block of the site and of its slot. The system-assigned identity stays for what it does today
    (Key Vault references, AcrPull: granted per site and slot); the user-assigned one is the database sign-in. A slot
    has a system identity of its own, which a swap does not move, while DATABASE_URL names one role: the one
    identity both carry signs in whichever of them runs the version (learn.microsoft.com/azure/app-service/
    overview-managed-identity: "A user-assigned identity ... can be assigned to multiple Azure resources")."""
    if not enabled(env):
        return {"type": "SystemAssigned"}
    return {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {identity_id(env): {}}}


def site_identity_rules(env: EnvironmentSpec) -> Rules:
    """The site's (and slot's) user-assigned identities are owned whole: one attached by hand lends the app another
    principal's access, so it is drift. ARM answers the keys with `resourcegroups` in lower case (azure-rest-api-specs
    msi IdentityCreate.json), and fills each entry's principalId and clientId."""
    if not enabled(env):
        return Rules(absent=("identity.userAssignedIdentities",))
    return Rules(exact=("identity.userAssignedIdentities",), case_insensitive_keys=("identity.userAssignedIdentities",),
                 # each entry's principalId and clientId are the identity's, read-only (azure-mgmt-web
                 # UserAssignedIdentity): an entry is compared by its presence
                 normalizers=(("identity.userAssignedIdentities.*", _presence),))


def _presence(value: Any) -> Any:
    return {} if isinstance(value, dict) else value


def client_id(known: Any) -> str | None:
    """The identity's client id once it exists: the app names it in AZURE_CLIENT_ID (a site with two identities
    hands out the system-assigned one's token unless the client asks for another)."""
    return ((known.get("app_identity") or {}).get("properties") or {}).get("clientId")


class AppIdentity(ArmStep):
    """architecture "Identity & Access": "Managed Identity for all service-to-service authentication"."""

    type = "Microsoft.ManagedIdentity/userAssignedIdentities"
    model = SdkModel("azure.mgmt.msi.models", "Identity")
    needs = ("resource_group",)
    # Deleted and created again it is another principal: its database role and grants would be lost with it.
    holds_data = True
    rules = rules(Rules())

    def desired(self, known: Any) -> dict[str, Any]:
        # isolationScope "None": the identity may be used from any region (the default; "Regional" would pin it).
        return self.base(isolationScope="None")

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.msi.user_assigned_identities.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.msi.user_assigned_identities.create_or_update, self.resource_group, self.resource_name, desired)

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # PUT again: location and the ids are fixed, tags and isolationScope are what changes.
        self.create(clients, desired)

    def delete(self, clients: Any) -> None:
        call(clients.msi.user_assigned_identities.delete, self.resource_group, self.resource_name)


def instances(env: EnvironmentSpec) -> list[AppIdentity]:
    return [AppIdentity(env, "app_identity", env.resource_name("app_identity"))] if enabled(env) else []


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    if not enabled(env):
        return []
    # learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules (Microsoft.ManagedIdentity):
    # 3-128 alphanumerics, hyphens and underscores, starting with a letter or number.
    return name_problems(env, "app_identity", r"[A-Za-z0-9][A-Za-z0-9_-]{2,127}",
                         "3-128 letters, digits, '-' and '_', starting with a letter or digit")
