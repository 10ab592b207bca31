"""Step: the API's Linux container web app with its system-assigned identity (Microsoft.Web/sites)."""

from __future__ import annotations

from typing import Any, Literal

from provisioner.azure import call, raw, wait
from provisioner.config import EnvironmentSpec, Section
from provisioner.diff import Rules, lower
from provisioner.errors import ConfigProblem
from steps._base import ArmStep, name_problems, rules

SECTION = "web_app"


class Config(Section):
    container_image: str
    always_on: bool = True
    health_check_path: str = "/health"
    min_tls_version: Literal["1.2", "1.3"] = "1.2"
    ftps_state: Literal["Disabled", "FtpsOnly"] = "Disabled"
    http20_enabled: bool = True
    app_settings: dict[str, str] = {}
    # setting name -> Key Vault secret name (steps/key_vault_secret.py); written as versionless references
    key_vault_references: dict[str, str] = {}



def plan_lane(env: EnvironmentSpec) -> str:
    """App Service allows one write at a time per plan: the site and everything under it share this lane."""
    return f"serverfarm:{env.resource_name('app_service_plan')}"


class SiteChild(ArmStep):
    """A resource under the API's site (config, settings, slot, binding): addressed under it, on its lane."""

    @property
    def site(self) -> str:
        return self.env.resource_name("web_app")

    def parent_path(self) -> str | None:
        return f"sites/{self.site}"

    @property
    def lane(self) -> str | None:
        return plan_lane(self.env)


def integration_subnet_id(env: EnvironmentSpec) -> str:
    return (f"/subscriptions/{env.subscription_id}/resourceGroups/{env.resource_name('resource_group')}"
            f"/providers/Microsoft.Network/virtualNetworks/{env.resource_name('virtual_network')}"
            f"/subnets/{env.resource_name('app_subnet')}")


class WebApp(ArmStep):
    type = "Microsoft.Web/sites"
    dependencies = ("app_service_plan", "subnet")
    rules = rules(Rules(
        # GET /sites returns siteConfig mostly null (azure-sdk-facts §1: write-only as a whole); the
        # web_app_config step owns it through GET .../config/web.
        write_only=("properties.siteConfig",),
        normalizers=(("kind", lower), ("identity.type", lower)),
        # The OS of a site (kind app,linux,container) is fixed at create: App Service cannot turn a Linux app
        # into a Windows one in place, and the PATCH does not carry kind. A kind changed out of band is a
        # replace, not an update that would never converge (found by tests/e2e/test_mutations.py).
        replace_on=("kind",),
    ))

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    @property
    def lane(self) -> str | None:
        return plan_lane(self.env)

    def plan_id(self) -> str:
        return (f"/subscriptions/{self.env.subscription_id}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.Web/serverfarms/{self.env.resource_name('app_service_plan')}")

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.config
        body = self.base(
            serverFarmId=self.plan_id(),
            httpsOnly=True,
            reserved=True,
            # Regional VNet integration (Basic and above: learn.microsoft.com/azure/app-service/
            # overview-vnet-integration; microsoft/azure-skills app-service/networking.md "Feature
            # Availability by SKU": Basic ✅) with all outbound traffic routed through the VNet, so the app's Key
            # Vault reference fetches leave through the subnet the vault admits (App Service docs, "Access
            # network-restricted vaults"; vnetRouteAllEnabled is the site property since API 2021-02-01).
            virtualNetworkSubnetId=integration_subnet_id(self.env),
            vnetRouteAllEnabled=True,
            # Sent on create so the container starts with the right image; compared via config/web.
            siteConfig={"linuxFxVersion": f"DOCKER|{c.container_image}", "alwaysOn": c.always_on},
        )
        body.update(kind="app,linux,container", identity={"type": "SystemAssigned"})
        return body

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.web.web_apps.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.web.web_apps.begin_create_or_update, self.resource_group, self.resource_name, desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        patch = {k: v for k, v in desired.items() if k in ("tags", "identity", "properties")}
        patch["properties"] = {k: v for k, v in desired["properties"].items() if k != "siteConfig"}
        call(clients.web.web_apps.update, self.resource_group, self.resource_name, patch)

    def delete(self, clients: Any) -> None:
        call(clients.web.web_apps.delete, self.resource_group, self.resource_name)


def instances(env: EnvironmentSpec) -> list[WebApp]:
    return [WebApp(env, "web_app", env.resource_name("web_app"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    return name_problems(env, "web_app", r"[A-Za-z0-9][A-Za-z0-9-]{0,58}[A-Za-z0-9]",
                         "2-60 letters, digits and '-', not starting or ending with '-'")
