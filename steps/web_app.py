"""Step: the API's Linux container web app with its system-assigned identity (Microsoft.Web/sites)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from provisioner.azure import call, raw, wait
from provisioner.core.contract import OWNED_BY_DEPLOYMENTS, TAG_PREFIX
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, lower
from steps import app_identity
from steps._base import ArmStep, absent_is, name_problems, rules
from steps._fields import SdkModel
from steps._site_pins import SITE_ABSENT, SITE_NORMALIZERS, SITE_NOT_MANAGED, SITE_PINS

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
    # ARM id of the private registry container_image is pulled from (Microsoft.ContainerRegistry/registries;
    # `{subscription_id}` stands for the environment's subscription). Needed when the image is in
    # *.azurecr.io: the app's and slot's identities get AcrPull on it (steps/acr_pull.py).
    container_registry_id: str | None = None


# An Azure Container Registry login server: <name>.azurecr.io (name: 5-50 alphanumerics).
ACR_IMAGE = re.compile(r"^([A-Za-z0-9]{5,50})\.azurecr\.io/", re.IGNORECASE)
REGISTRY_ID = re.compile(r"^/subscriptions/([0-9a-fA-F-]{36}|\{subscription_id\})/resourceGroups/([-\w.()]{1,90})"
                         r"/providers/Microsoft\.ContainerRegistry/registries/([A-Za-z0-9]{5,50})$", re.IGNORECASE)


def private_registry(env: EnvironmentSpec) -> str | None:
    """The registry's ARM id when the image is pulled from a private registry (*.azurecr.io), else None: a
    public image needs neither the AcrPull role nor acrUseManagedIdentityCreds."""
    c = env.section(SECTION, Config)
    if not ACR_IMAGE.match(c.container_image) or not c.container_registry_id:
        return None
    return c.container_registry_id.replace("{subscription_id}", env.subscription_id)


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
    model = SdkModel("azure.mgmt.web.models", "Site")
    not_managed = (
        SITE_NOT_MANAGED
    )
    needs = ("app_service_plan", "subnet")
    site_rules = rules(Rules(
        # GET /sites returns siteConfig mostly null (azure-sdk-facts §1: write-only as a whole); the
        # web_app_config step owns it through GET .../config/web.
        write_only=("properties.siteConfig",),
        normalizers=(("kind", lower), ("identity.type", lower), ("properties.publicNetworkAccess", absent_is("Enabled")),
                     *SITE_NORMALIZERS),
        absent=SITE_ABSENT,  # features the platform does not use: a value there is drift (steps/_site_pins.py)
        # The OS of a site (kind app,linux,container) is fixed at create: App Service cannot turn a Linux app
        # into a Windows one in place, and the PATCH does not carry kind. A kind changed out of band is a
        # replace, not an update that would never converge (found by tests/e2e/test_mutations.py).
        replace_on=("kind",),
        # The rollback record `deploy backend` keeps on the site (provisioner/core/contract.py): never drift, and
        # kept when provision repairs the tags (provisioner/engine/carry.py).
        managed_keys=((f"{TAG_PREFIX}*", OWNED_BY_DEPLOYMENTS),),
    ))

    @property
    def rules(self) -> Rules:  # type: ignore[override]
        return self.site_rules.merged(app_identity.site_identity_rules(self.env))

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (*self.needs, *(("app_identity",) if app_identity.enabled(self.env) else ()))

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
            publicNetworkAccess="Enabled",  # the API is public; access rules live in config/web (declared)
            # Regional VNet integration (Basic and above: learn.microsoft.com/azure/app-service/
            # overview-vnet-integration; microsoft/azure-skills app-service/networking.md "Feature
            # Availability by SKU": Basic ✅) with all outbound traffic routed through the VNet, so the app's Key
            # Vault reference fetches leave through the subnet the vault admits (App Service docs, "Access
            # network-restricted vaults"; vnetRouteAllEnabled is the site property since API 2021-02-01).
            virtualNetworkSubnetId=integration_subnet_id(self.env),
            vnetRouteAllEnabled=True,
            # Sent on create so the container starts with the env file's image; from then on the image belongs
            # to deployments (never compared: steps/web_app_config.py). A private image is pulled with the
            # site's identity.
            siteConfig={"linuxFxVersion": f"DOCKER|{c.container_image}", "alwaysOn": c.always_on,
                        "acrUseManagedIdentityCreds": private_registry(self.env) is not None},
            **SITE_PINS,
        )
        body.update(kind="app,linux,container", identity=app_identity.site_identity(self.env))
        return body

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.web.web_apps.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.web.web_apps.begin_create_or_update, self.resource_group, self.resource_name, desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        update_site(clients, self.ref.id, desired, changes,
                    lambda patch: call(clients.web.web_apps.update, self.resource_group, self.resource_name, patch))

    def delete(self, clients: Any) -> None:
        call(clients.web.web_apps.delete, self.resource_group, self.resource_name)


def update_site(clients: Any, site_id: str, desired: dict[str, Any], changes: Any,
                patch_site: Callable[[dict[str, Any]], Any]) -> None:
    """PATCH a site or slot without siteConfig (a PUT would reset config/web to it); tags go through the Tags
    API, because a site PATCH ignores `tags` (SitePatchResource has none: azure-mgmt-web models, REST spec)."""
    if any(str(getattr(c, "path", "")).startswith("tags") for c in changes):
        wait(call(clients.resource.tags.begin_create_or_update_at_scope, site_id,
                  {"properties": {"tags": desired.get("tags") or {}}}))
    patch = {k: v for k, v in desired.items() if k in ("identity", "properties")}
    patch["properties"] = {k: v for k, v in desired["properties"].items() if k != "siteConfig"}
    if any(not str(getattr(c, "path", "")).startswith("tags") for c in changes) or not changes:
        patch_site(patch)


def instances(env: EnvironmentSpec) -> list[WebApp]:
    return [WebApp(env, "web_app", env.resource_name("web_app"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    problems = name_problems(env, "web_app", r"[A-Za-z0-9][A-Za-z0-9-]{0,58}[A-Za-z0-9]",
                             "2-60 letters, digits and '-', not starting or ending with '-'")
    return problems + registry_problems(env)


def registry_problems(env: EnvironmentSpec) -> list[ConfigProblem]:
    c = env.section(SECTION, Config)
    key = f"{SECTION}.container_registry_id"
    image = ACR_IMAGE.match(c.container_image)
    if c.container_registry_id is None:
        if image:
            return [ConfigProblem(env.where(key), key, f"{c.container_image!r} is in a private registry "
                                  f"({image.group(1).lower()}.azurecr.io): set the registry's ARM id so the app's "
                                  "identity gets AcrPull on it")]
        return []
    found = REGISTRY_ID.match(c.container_registry_id)
    if not found:
        return [ConfigProblem(env.where(key), key, f"{c.container_registry_id!r} is not a container registry id: "
                              "/subscriptions/<guid or {subscription_id}>/resourceGroups/<group>/providers/"
                              "Microsoft.ContainerRegistry/registries/<name, 5-50 letters and digits>")]
    if image and image.group(1).lower() != found.group(3).lower():
        return [ConfigProblem(env.where(key), key, f"the image is pulled from {image.group(1).lower()}.azurecr.io but "
                              f"the registry id names {found.group(3)!r}")]
    if not image:
        return [ConfigProblem(env.where(key), key, f"{c.container_image!r} is not in a private registry (*.azurecr.io):"
                              " the registry id is not used", severity="warning")]
    return []
