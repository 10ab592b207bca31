"""Steps: the staging slot's site config and app settings (Microsoft.Web/sites/slots/config web, appsettings)."""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules
from provisioner.engine.step import Step
from steps import _app_secrets, _kv_references
from steps._base import ArmStep
from steps._fields import ECHOED_LOCATION, PLATFORM, SdkModel, nm
from steps._site_pins import CONFIG_NOT_MANAGED
from steps.app_settings import settings_rules
from steps.deployment_slot import slot_config, slot_settings, slots_enabled, swap_warmup_settings
from steps.web_app import SECTION as WEB_SECTION
from steps.web_app import Config as WebAppConfig
from steps.web_app import plan_lane, private_registry
from steps.web_app_config import SiteConfig

SECTION = None  # configured by [web_app] (config/web) and [deployment_slot] (app settings overrides)


class _SlotChild:
    """Where a slot's config resources live; mixed into the two steps below."""

    env: EnvironmentSpec

    @property
    def site(self) -> str:
        return self.env.resource_name("web_app")

    @property
    def slot(self) -> str:
        return slot_config(self.env).name

    def parent_path(self) -> str:
        return f"sites/{self.site}/slots/{self.slot}"

    @property
    def lane(self) -> str | None:
        return plan_lane(self.env)


class SlotSiteConfig(_SlotChild, SiteConfig):
    """The same always-on, /health, TLS 1.2, FTPS-disabled settings as the app (a slot inherits none)."""

    type = "Microsoft.Web/sites/slots/config"
    model = SdkModel("azure.mgmt.web.models", "SiteConfigResource")
    # The slot's identity number derives from the slot's own identity (the deployment_slot step compares it).
    not_managed = tuple((path, reason.replace("the web_app step's", "the deployment_slot step's"))
                        for path, reason in CONFIG_NOT_MANAGED)
    needs = ("deployment_slot",)
    # rules: inherited from web_app_config (arm-examples GetSiteConfig: a fully defaulted body; the image is
    # owned by deployments).

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (*self.needs, "acr_pull:slot") if private_registry(self.env) else self.needs

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.web.web_apps.get_configuration_slot, self.resource_group, self.site, self.slot)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        # PATCH, not PUT: a PUT of config/web resets every setting we do not declare to its default.
        call(clients.web.web_apps.update_configuration_slot, self.resource_group, self.site, self.slot, desired)

    def put(self, clients: Any, body: dict[str, Any]) -> None:
        call(clients.web.web_apps.create_or_update_configuration_slot, self.resource_group, self.site, self.slot, body)


class SlotAppSettings(_SlotChild, ArmStep):
    """The slot's app settings, owned whole like the app's: the app's settings (plain values, Key Vault
    references, App Insights connection string) plus the slot's overrides. A slot inherits none of them."""

    type = "Microsoft.Web/sites/slots/config"
    model = SdkModel("azure.mgmt.web.models", "StringDictionary")
    not_managed = (
        nm(PLATFORM, "kind") + nm(ECHOED_LOCATION, "location")
    )
    needs = ("deployment_slot",)

    @property
    def depends_on(self) -> tuple[str, ...]:
        # The references are resolved with the slot's own identity when it restarts on this write: its
        # Key Vault role and the secrets must exist first.
        return (*self.needs, "key_vault_access:slot", *_app_secrets.dependencies(self.env))

    @property
    def settings(self) -> dict[str, str]:
        return slot_settings(self.env)

    @property
    def rules(self) -> Rules:  # type: ignore[override]
        # The PUT replaces the whole set (azure-sdk-facts §1 App settings); masked by default, the same rule as
        # steps/app_settings.py.
        return settings_rules(self.settings)

    def desired(self, known: Any) -> dict[str, Any]:
        web = {**swap_warmup_settings(self.env), **self.env.section(WEB_SECTION, WebAppConfig).app_settings}
        # Same order of precedence as the app, with the slot's overrides last.
        return {"properties": {**web, **_app_secrets.settings(self.env, known), **slot_config(self.env).app_settings}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        # POST .../slots/{slot}/config/appsettings/list: GET on the slot never returns settings.
        return raw(clients.web.web_apps.list_application_settings_slot, self.resource_group, self.site, self.slot)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.web.web_apps.update_application_settings_slot, self.resource_group, self.site, self.slot,
             desired)
        _kv_references.await_resolved(clients, self.resource_group, self.site, self.slot,
                                      _app_secrets.references(self.env))

    def delete(self, clients: Any) -> None:
        call(clients.web.web_apps.update_application_settings_slot, self.resource_group, self.site, self.slot,
             {"properties": {}})


def instances(env: EnvironmentSpec) -> list[Step]:
    if not slots_enabled(env):
        return []
    return [SlotSiteConfig(env, "slot_config", "web"), SlotAppSettings(env, "slot_app_settings", "appsettings")]
