"""Step: the web app's `staging` deployment slot for blue-green swaps (Microsoft.Web/sites/slots)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from provisioner.azure import call, raw, wait
from provisioner.core.contract import DEPLOY_MARKER, WARMUP_PATH, WARMUP_STATUSES
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, lower
from steps import _app_secrets, app_identity
from steps._base import rules
from steps._fields import SdkModel
from steps._site_pins import SITE_ABSENT, SITE_NORMALIZERS, SITE_NOT_MANAGED
from steps.app_service_plan import SECTION as PLAN_SECTION
from steps.app_service_plan import Config as PlanConfig
from steps.web_app import SECTION as WEB_SECTION
from steps.web_app import Config as WebAppConfig
from steps.web_app import SiteChild, WebApp, update_site

SECTION = "deployment_slot"


class Config(Section):
    # architecture "Blue-Green Deployment: App Service deployment slots"; slots need Standard or above.
    enabled: bool = True
    name: str = Field(default="staging", pattern=r"^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$")
    # App settings that stay with their slot on swap (slotConfigNames.appSettingNames).
    sticky_settings: list[str] = ["ENVIRONMENT", "LOG_LEVEL"]
    # The slot's settings are [web_app.app_settings] with these on top (a slot inherits nothing).
    app_settings: dict[str, str] = {}


def slot_config(env: EnvironmentSpec) -> Config:
    return env.section(SECTION, Config)


def slots_enabled(env: EnvironmentSpec) -> bool:
    """A slot exists only where it is asked for and the plan's tier has slots (Standard and above)."""
    return slot_config(env).enabled and env.section(PLAN_SECTION, PlanConfig).allows_slots_and_autoscale


def slot_settings(env: EnvironmentSpec) -> dict[str, str]:
    """The slot runs the same app with the same settings, except the slot's own overrides."""
    return {**swap_warmup_settings(env), **env.section(WEB_SECTION, WebAppConfig).app_settings,
            **slot_config(env).app_settings}


def swap_warmup_settings(env: EnvironmentSpec) -> dict[str, str]:
    """App Service's swap warm-up, where there is a slot to swap: the swap requests the health path on every
    instance of the source slot (with production's slot settings applied) and stops unless it answers 200
    (MicrosoftDocs/azure-docs articles/app-service/deploy-staging-slots.md, "Specify custom warm-up":
    WEBSITE_SWAP_WARMUP_PING_PATH, WEBSITE_SWAP_WARMUP_PING_STATUSES; by default every answer is valid).
    Declared on the app and on the slot alike: they are not sticky, so they would swap anyway."""
    if not slots_enabled(env):
        return {}
    return {WARMUP_PATH: env.section(WEB_SECTION, WebAppConfig).health_check_path, WARMUP_STATUSES: "200"}


class DeploymentSlot(SiteChild):
    type = "Microsoft.Web/sites/slots"
    model = SdkModel("azure.mgmt.web.models", "Site")
    not_managed = (
        SITE_NOT_MANAGED
    )
    needs = ("web_app",)
    # Same shape as the site (arm-examples GetWebAppSlot: same read-only set as sites, siteConfig
    # materialized with defaults): siteConfig is write-only here, slot_config owns it via config/web.
    slot_rules = rules(Rules(
        write_only=("properties.siteConfig",),
        normalizers=(("kind", lower), ("identity.type", lower), *SITE_NORMALIZERS),
        absent=SITE_ABSENT,
        # As for the site (steps/web_app.py): kind (the OS) is fixed at create, a change is a replace.
        replace_on=("kind",),
    ))

    @property
    def rules(self) -> Rules:  # type: ignore[override]
        # The same identity as the site: the user-assigned one is shared (steps/app_identity.py).
        return self.slot_rules.merged(app_identity.site_identity_rules(self.env))

    def desired(self, known: Any) -> dict[str, Any]:
        # The same Linux container setup as the app itself (kind, httpsOnly, plan, identity, tags).
        return WebApp(self.env, "web_app", self.site).desired(known)

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.web.web_apps.get_slot, self.resource_group, self.site, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.web.web_apps.begin_create_or_update_slot, self.resource_group, self.site,
                  self.resource_name, desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # As for the site: PATCH without siteConfig, tags through the Tags API (steps/web_app.py update_site).
        update_site(clients, self.ref.id, desired, changes, lambda patch: call(
            clients.web.web_apps.update_slot, self.resource_group, self.site, self.resource_name, patch))

    def delete(self, clients: Any) -> None:
        call(clients.web.web_apps.delete_slot, self.resource_group, self.site, self.resource_name)


def instances(env: EnvironmentSpec) -> list[DeploymentSlot]:
    if not slots_enabled(env):
        return []  # e.g. dev's Basic B1: no slots
    return [DeploymentSlot(env, "deployment_slot", slot_config(env).name)]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    c = slot_config(env)
    plan = env.section(PLAN_SECTION, PlanConfig)
    problems = []
    if c.enabled and not plan.allows_slots_and_autoscale:
        problems.append(ConfigProblem(
            env.where("deployment_slot.enabled"), "deployment_slot.enabled",
            f"deployment slots need a Standard or higher plan; app_service_plan.sku is {plan.sku} ({plan.tier})"))
    site = env.resource_name("web_app")
    if len(f"{site}-{c.name}") > 63:
        # The slot's host is <app>-<slot>.azurewebsites.net (azure-sdk-facts §8): one DNS label, 63 chars max.
        problems.append(ConfigProblem(env.where("deployment_slot.name"), "deployment_slot.name",
                                      f"'{site}-{c.name}' is too long for the slot's host name (63 characters max)"))
    if c.enabled and DEPLOY_MARKER in c.sticky_settings:
        problems.append(ConfigProblem(
            env.where("deployment_slot.sticky_settings"), "deployment_slot.sticky_settings",
            f"{DEPLOY_MARKER} must move with the image on a swap (deploy backend sets it): it cannot be sticky"))
    unknown = [n for n in c.sticky_settings if n not in slot_settings(env) and n not in _app_secrets.names(env)
               and n != DEPLOY_MARKER]
    if c.enabled and unknown:
        problems.append(ConfigProblem(
            env.where("deployment_slot.sticky_settings"), "deployment_slot.sticky_settings",
            f"sticky setting(s) {', '.join(unknown)} are not app settings of the web app or the slot"))
    return problems
