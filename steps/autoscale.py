"""Step: CPU-based autoscale of the App Service plan (Microsoft.Insights/autoscaleSettings)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from provisioner.azure import call, raw
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, as_str, lower
from steps._base import ArmStep, absent_is, rules
from steps._fields import UNUSED, SdkModel, nm
from steps.app_service_plan import SECTION as PLAN_SECTION
from steps.app_service_plan import Config as PlanConfig

SECTION = "autoscale"
# The most instances a plan of each tier can have (azure-sdk-facts §1: no autoscale on Basic at all).
TIER_MAX = {"Standard": 10, "PremiumV3": 30}
# What ../shared/seed/platform-architecture.md says per environment: (where, enabled, minimum, maximum).
# The document contradicts itself; validate() warns when the env files had to pick one statement.
DOCUMENT: dict[str, tuple[tuple[str, bool, int | None, int | None], ...]] = {
    "dev": (("'Capacity Limits' table: 1-2 instances", True, 1, 2),
            ("'Monthly Budget Targets' table: auto-scaling Disabled", False, None, None)),
    "staging": (("'Capacity Limits' table: 1-5 instances", True, 1, 5),
                ("'Monthly Budget Targets' table: auto-scaling Enabled", True, None, None)),
    "production": (("'Environment Configuration': 'Standard S1 (2-5 instances, autoscaling)'", True, 2, 5),
                   ("'Capacity Limits' table: 2-10 instances", True, 2, 10),
                   ("'Monthly Budget Targets' table: auto-scaling Enabled", True, None, None)),
}


class Config(Section):
    enabled: bool = True
    minimum: int = Field(default=1, ge=1)
    maximum: int = Field(default=1, ge=1)
    default: int = Field(default=1, ge=1)
    # architecture "Auto-scaling Rules": out +1 at CPU > 70% for 5 min (cooldown 5), in -1 at < 30% for 10 (10).
    scale_out_cpu: float = Field(default=70, gt=0, lt=100)
    scale_out_minutes: int = Field(default=5, ge=1, le=720)
    scale_out_cooldown_minutes: int = Field(default=5, ge=1, le=10080)
    scale_in_cpu: float = Field(default=30, gt=0, lt=100)
    scale_in_minutes: int = Field(default=10, ge=1, le=720)
    scale_in_cooldown_minutes: int = Field(default=10, ge=1, le=10080)


def _rule(plan_id: str, operator: str, cpu: float, minutes: int, direction: str, cooldown: int) -> dict[str, Any]:
    return {
        "metricTrigger": {
            "metricName": "CpuPercentage",  # the plan's average CPU across its instances
            "metricNamespace": "microsoft.web/serverfarms",
            "metricResourceUri": plan_id,
            "timeGrain": "PT1M",
            "statistic": "Average",
            "timeWindow": f"PT{minutes}M",
            "timeAggregation": "Average",
            "operator": operator,
            "threshold": cpu,
            # Azure's default, echoed in every GET (arm-examples getAutoscaleSetting): declared because the
            # rule list is owned element by element, and true would divide the CPU by the instance count.
            "dividePerInstance": False,
        },
        "scaleAction": {"direction": direction, "type": "ChangeCount", "value": "1", "cooldown": f"PT{cooldown}M"},
    }


class Autoscale(ArmStep):
    type = "Microsoft.Insights/autoscaleSettings"
    model = SdkModel("azure.mgmt.monitor.models", "AutoscaleSettingResource")
    not_managed = (
        nm(UNUSED, "properties.predictiveAutoscalePolicy")
        + nm("filled in from the target resource", "properties.name", "properties.targetResourceLocation")
    )
    needs = ("app_service_plan",)
    rules = rules(Rules(normalizers=(
        # Capacities are strings on the wire (arm-examples getAutoscaleSetting: "1", "10"); a number
        # written by another tool compares equal to its string.
        ("properties.profiles*capacity.*", as_str),
        ("properties.profiles*scaleAction.value", as_str),
        # Enums: ARM treats them case-insensitively; the namespace is echoed as the portal wrote it.
        ("properties.profiles*metricTrigger.metricNamespace", lower),
        ("properties.profiles*metricTrigger.operator", lower),
        ("properties.profiles*metricTrigger.statistic", lower),
        ("properties.profiles*metricTrigger.timeAggregation", lower),
        ("properties.profiles*scaleAction.direction", lower),
        ("properties.profiles*scaleAction.type", lower),
        ("properties.notifications", absent_is([])),
    )))
    # properties.name (mirrors the resource name) and predictiveAutoscalePolicy.scaleLookAheadTime are
    # server-populated (arm-examples createOrUpdateAutoscaleSetting); we declare neither.

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    def plan_id(self) -> str:
        return (f"/subscriptions/{self.env.subscription_id}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.Web/serverfarms/{self.env.resource_name('app_service_plan')}")

    def desired(self, known: Any) -> dict[str, Any]:
        c, plan = self.config, self.plan_id()
        return self.base(
            # Explicit: the SDK model defaults `enabled` to False and always sends it (azure-sdk-facts §9).
            enabled=True,
            targetResourceUri=plan,
            # Scale events notify nobody (alerts go through the action group): an e-mail or webhook added by
            # hand would send them elsewhere, so the empty list is declared.
            notifications=[],
            profiles=[{
                "name": "cpu",
                "capacity": {"minimum": str(c.minimum), "maximum": str(c.maximum), "default": str(c.default)},
                "rules": [
                    _rule(plan, "GreaterThan", c.scale_out_cpu, c.scale_out_minutes, "Increase",
                          c.scale_out_cooldown_minutes),
                    _rule(plan, "LessThan", c.scale_in_cpu, c.scale_in_minutes, "Decrease",
                          c.scale_in_cooldown_minutes),
                ],
            }],
        )

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.monitor.autoscale_settings.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.monitor.autoscale_settings.create_or_update, self.resource_group, self.resource_name, desired)

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # PATCH (AutoscaleSettingResourcePatch: tags + properties); location cannot change in place.
        patch = {"tags": desired["tags"], "properties": desired["properties"]}
        call(clients.monitor.autoscale_settings.update, self.resource_group, self.resource_name, patch)

    def delete(self, clients: Any) -> None:
        call(clients.monitor.autoscale_settings.delete, self.resource_group, self.resource_name)


def instances(env: EnvironmentSpec) -> list[Autoscale]:
    c, plan = env.section(SECTION, Config), env.section(PLAN_SECTION, PlanConfig)
    if not c.enabled or not plan.allows_slots_and_autoscale:
        return []  # dev's Basic B1 cannot autoscale
    return [Autoscale(env, "autoscale", env.resource_name("autoscale"))]


def _problem(env: EnvironmentSpec, key: str, message: str, severity: str = "error") -> ConfigProblem:
    return ConfigProblem(env.where(key), key, message, severity)


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    c, plan = env.section(SECTION, Config), env.section(PLAN_SECTION, PlanConfig)
    problems = _document_conflicts(env, c)
    if not c.enabled:
        return problems
    if not plan.allows_slots_and_autoscale:
        problems.append(_problem(env, "autoscale.enabled", f"autoscale needs a Standard or higher plan; "
                                 f"app_service_plan.sku is {plan.sku} ({plan.tier})"))
        return problems
    if not c.minimum <= c.default <= c.maximum:
        problems.append(_problem(env, "autoscale.default", f"need minimum <= default <= maximum, got "
                                 f"{c.minimum} <= {c.default} <= {c.maximum}"))
    limit = TIER_MAX.get(plan.tier)
    if limit is not None and c.maximum > limit:
        problems.append(_problem(env, "autoscale.maximum", f"{c.maximum} is more than a {plan.tier} plan can run "
                                 f"({limit} instances)"))
    if not c.minimum <= plan.capacity <= c.maximum:
        # Autoscale would move the plan into its range on every evaluation and the plan step would move it back.
        problems.append(_problem(env, "app_service_plan.capacity", f"{plan.capacity} is outside the autoscale "
                                 f"range {c.minimum}-{c.maximum}"))
    return problems


def _document_conflicts(env: EnvironmentSpec, c: Config) -> list[ConfigProblem]:
    """A warning for each statement of the architecture document the configuration had to go against."""
    out = []
    for where, enabled, low, high in DOCUMENT.get(env.name, ()):
        if enabled != c.enabled:
            out.append(_problem(env, "autoscale.enabled", f"enabled = {str(c.enabled).lower()} goes against the "
                                f"architecture document's {where} (the document contradicts itself)", "warning"))
        elif c.enabled and low is not None and (low, high) != (c.minimum, c.maximum):
            out.append(_problem(env, "autoscale.maximum", f"{c.minimum}-{c.maximum} instances goes against the "
                                f"architecture document's {where} (the document contradicts itself)", "warning"))
    return out
