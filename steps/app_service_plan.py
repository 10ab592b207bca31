"""Step: the Linux App Service plan hosting the API (Microsoft.Web/serverfarms)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, lower
from steps._base import NO_IDENTITY, NONE, ArmStep, absent_is, name_problems, rules
from steps._fields import LEGACY, PLACEMENT, PLATFORM, UNUSED, SdkModel, nm

SECTION = "app_service_plan"
TIERS = {"B": "Basic", "S": "Standard", "P": "PremiumV3"}


class Config(Section):
    sku: Literal["B1", "B2", "B3", "S1", "S2", "S3", "P1v3", "P2v3", "P3v3"]
    capacity: int = Field(default=1, ge=1, le=30)

    @property
    def tier(self) -> str:
        return TIERS[self.sku[0]]

    @property
    def allows_slots_and_autoscale(self) -> bool:
        # Basic has neither deployment slots nor autoscale (azure-sdk-facts §1 App Service plan).
        return self.tier != "Basic"


class AppServicePlan(ArmStep):
    type = "Microsoft.Web/serverfarms"
    model = SdkModel("azure.mgmt.web.models", "AppServicePlan")
    not_managed = (
        nm(PLACEMENT, "extendedLocation")
        + nm(PLATFORM, "sku.capabilities", "sku.family", "sku.locations", "sku.size", "sku.skuCapacity",
             "properties.targetWorkerCount", "properties.targetWorkerSizeId", "properties.workerTierName",
             "properties.isXenon", "properties.hyperV")
        + nm(UNUSED, "properties.asyncScalingEnabled", "properties.elasticScaleEnabled", "properties.freeOfferExpirationTime",
             "properties.isCustomMode", "properties.isSpot", "properties.spotExpirationTime",
             "properties.maximumElasticWorkerCount", "properties.perSiteScaling", "properties.rdpEnabled")
        + nm(LEGACY, "properties.serverFarmId", "properties.name", "properties.workerSize", "properties.workerSizeId",
             "properties.currentWorkerSize", "properties.currentWorkerSizeId", "properties.currentNumberOfWorkers",
             "properties.webSpace", "properties.computeMode", "properties.planName")
    )
    needs = ("resource_group",)
    # arm-examples GetAppServicePlan: the server fills sku.family/size, status, numberOfWorkers, geoRegion,
    # maximumNumberOfWorkers, isSpot, targetWorker*; we declare none of them. Kind comes back as 'linux'.
    base_rules = rules(NO_IDENTITY, Rules(
        normalizers=(("sku.name", lower), ("sku.tier", lower), ("kind", lower), ("properties.zoneRedundant", absent_is(False))),
        # Custom-mode (Windows container) features the platform does not use, and the plan's placement in an
        # App Service Environment, a Kubernetes environment or a VNet: install scripts run code on every
        # worker, registry adapters and storage mounts carry credentials. A value there is drift; the PUT of
        # the plan leaves them out.
        absent=tuple(f"properties.{p}" for p in ("installScripts", "registryAdapters", "storageMounts",
                                                 "planDefaultIdentity", "network", "hostingEnvironmentProfile",
                                                 "kubeEnvironmentProfile")),
        # reserved=true is what makes a plan Linux; it cannot be flipped on an existing plan.
        replace_on=("properties.reserved", "kind"),
    ))

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    @property
    def autoscaled(self) -> bool:
        # Read duck-typed: steps/autoscale.py imports this module, not the other way round.
        auto = self.env.sections.get("autoscale")
        return bool(getattr(auto, "enabled", False)) and self.config.allows_slots_and_autoscale

    @property
    def rules(self) -> Rules:  # type: ignore[override]
        if not self.autoscaled:
            return self.base_rules
        # Once autoscale runs, it owns the instance count: sku.capacity only sets the starting count at
        # create. Comparing it would make every provision scale the plan back (a perpetual diff, the
        # Terraform azurerm complaint about App Service plans with autoscale).
        return self.base_rules.merged(Rules(not_managed=(("sku.capacity", "owned by autoscale"),), exact=(), case_insensitive_keys=()))

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.config
        body = self.base(reserved=True, zoneRedundant=False)
        body.update(identity=dict(NONE), kind="linux", sku={"name": c.sku, "tier": c.tier, "capacity": c.capacity})
        return body

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.web.app_service_plans.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.web.app_service_plans.begin_create_or_update, self.resource_group, self.resource_name, desired))

    def delete(self, clients: Any) -> None:
        call(clients.web.app_service_plans.delete, self.resource_group, self.resource_name)


def instances(env: EnvironmentSpec) -> list[AppServicePlan]:
    return [AppServicePlan(env, "app_service_plan", env.resource_name("app_service_plan"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    return name_problems(env, "app_service_plan", r"[A-Za-z0-9-]{1,40}", "1-40 letters, digits and '-'")
