"""Step: diagnostic settings sending each resource's logs and metrics to the workspace (Microsoft.Insights/diagnosticSettings)."""

from __future__ import annotations

from typing import Any, Literal

from provisioner.azure import by_id, call, wait
from provisioner.core.errors import ConfigProblem
from provisioner.core.model import ResourceRef
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, lower
from provisioner.engine.fields import SpecModel
from provisioner.engine.step import Step
from steps._fields import nm
from steps._monitoring import resource_id

SECTION = "diagnostics"
# azure-mgmt-monitor 7.0.0 dropped the diagnostic_settings operation group (it only targets the newest
# API of each group and this one is still preview), so we go through the generic by-id operations.
API_VERSION = "2021-05-01-preview"  # the first version with categoryGroup (allLogs)

Target = Literal["web_app", "web_app_slot", "postgres_server", "redis", "key_vault", "storage_account", "storage_blob",
                 "app_insights", "autoscale", "virtual_network", "log_analytics", "communication_service"]
# target -> (owning step, sub-path under its resource, sends logs, metric category or None for logs only).
# Storage: the account itself has metrics only; logs live on blobServices/default. Storage names its
# metric category "Transaction", the other types here "AllMetrics"; Communication Services is sent logs only.
# `{slot}` is the deployment slot's name.
TARGETS: dict[str, tuple[str, str, bool, str | None]] = {
    "web_app": ("web_app", "", True, "AllMetrics"),
    "web_app_slot": ("web_app", "/slots/{slot}", True, "AllMetrics"),
    "postgres_server": ("postgres_server", "", True, "AllMetrics"),
    "redis": ("redis", "", True, "AllMetrics"),
    "key_vault": ("key_vault", "", True, "AllMetrics"),
    "storage_account": ("storage_account", "", False, "Transaction"),
    "storage_blob": ("storage_account", "/blobServices/default", True, "Transaction"),
    "app_insights": ("app_insights", "", True, "AllMetrics"),
    "autoscale": ("autoscale", "", True, "AllMetrics"),
    "virtual_network": ("virtual_network", "", True, "AllMetrics"),
    "log_analytics": ("log_analytics", "", True, "AllMetrics"),
    "communication_service": ("communication_service", "", True, None),
}
# Where the target exists only with its owner (dev's Basic plan has neither a slot nor autoscale).
NEEDS = {"web_app_slot": "deployment_slot", "autoscale": "autoscale"}


def scope_of(env: EnvironmentSpec, target: str) -> str:
    """The ARM id a target's diagnostic settings live under."""
    owner, sub, _logs, _metric = targets(env)[target]
    if "{slot}" in sub:
        from steps.deployment_slot import slot_config

        sub = sub.format(slot=slot_config(env).name)
    return resource_id(env, owner) + sub


def targets(env: EnvironmentSpec) -> dict[str, tuple[str, str, bool, str | None]]:
    """TARGETS for this environment. With Azure Managed Redis the logs live on the database (the Azure Policy
    built-in Monitoring/DS_LA_cache-redisenterprise-databases_DINE.json sends allLogs there with no metrics;
    the cluster's metrics are what the alerts read)."""
    from steps.redis import kind_of

    out: dict[str, tuple[str, str, bool, str | None]] = dict(TARGETS)
    if kind_of(env) == "managed":
        out["redis"] = ("redis_database", "", True, None)
    return out


class Config(Section):
    targets: list[Target] = ["web_app", "web_app_slot", "postgres_server", "redis", "key_vault", "storage_account",
                             "storage_blob", "app_insights", "autoscale", "virtual_network", "log_analytics",
                             "communication_service"]
    # Every type above supports the allLogs category group (API 2021-05-01-preview), which follows new
    # log categories automatically instead of pinning today's list.
    log_category_group: Literal["allLogs", "audit"] = "allLogs"


# azure-mgmt-monitor has no model for this API (see above): the fields as the REST spec gives them, from the
# generated listing Azure/bicep-types-az generated/monitor/microsoft.insights/2021-05-01-preview/types.md.
SPEC = SpecModel(
    source="Azure/bicep-types-az generated/monitor/microsoft.insights/2021-05-01-preview/types.md",
    read_only=("id", "type", "systemData"),
    writable=tuple(f"properties.{p}" for p in (
        "eventHubAuthorizationRuleId", "eventHubName", "logAnalyticsDestinationType", "marketplacePartnerId",
        "serviceBusRuleId", "storageAccountId", "workspaceId",
        "logs[].category", "logs[].categoryGroup", "logs[].enabled", "logs[].retentionPolicy.days",
        "logs[].retentionPolicy.enabled", "metrics[].category", "metrics[].enabled", "metrics[].timeGrain",
        "metrics[].retentionPolicy.days", "metrics[].retentionPolicy.enabled")),
)


def enabled_only(value: Any) -> Any:
    """The entries of a logs/metrics list that are switched on (others are what Azure echoes back)."""
    if not isinstance(value, list):
        return value
    return [e for e in value if not isinstance(e, dict) or e.get("enabled", True) is not False]


class DiagnosticSetting(Step):
    type = "Microsoft.Insights/diagnosticSettings"
    model = SPEC
    # Retention of exports to a storage account (deprecated by Azure): storage destinations are declared
    # absent, so a retention policy means nothing here; the workspace's retention is declared.
    not_managed = nm("subordinate to properties.storageAccountId (compared: absent)", "properties.logs[].retentionPolicy",
                     "properties.metrics[].retentionPolicy") + nm(
        "metrics are sent at their native grain (Azure fills it in)", "properties.metrics[].timeGrain")
    rules = Rules(
        # Each entry comes back with retentionPolicy {enabled: false, days: 0} and category/categoryGroup
        # null for the form not used (arm diagnosticSettings GET); left-scoped per element, so no rule.
        # The workspace id comes back with its own casing: ids compare case-insensitively by default.
        normalizers=(("properties.logs[].categoryGroup", lower),
                     # Only enabled categories are compared: Azure may return the categories and groups not
                     # sent as entries with enabled=false (hashicorp/terraform-provider-azurerm#5673, #10388,
                     # #28428), which are not a difference.
                     ("properties.logs", enabled_only), ("properties.metrics", enabled_only)),
        sets=("properties.logs", "properties.metrics"),
        # Every other destination is declared absent: a storage account, event hub or partner added by hand
        # would copy the logs out, so it is drift and the PUT removes it.
        absent=tuple(f"properties.{p}" for p in ("eventHubAuthorizationRuleId", "eventHubName", "marketplacePartnerId",
                                                  "serviceBusRuleId", "storageAccountId", "logAnalyticsDestinationType")),
    )

    def __init__(self, env: EnvironmentSpec, target: str):
        super().__init__(env, f"diagnostic_setting:{target}", env.resource_name("diagnostic_setting"))
        self.target = target
        self.owner, self.sub_path, self.has_logs, self.metric_category = targets(env)[target]

    @property
    def depends_on(self) -> tuple[str, ...]:
        owner = NEEDS.get(self.target, self.owner)
        return (owner,) if owner == "log_analytics" else (owner, "log_analytics")

    @property
    def scope(self) -> str:
        return scope_of(self.env, self.target)

    @property
    def ref(self) -> ResourceRef:
        rid = f"{self.scope}/providers/Microsoft.Insights/diagnosticSettings/{self.resource_name}"
        return ResourceRef(self.env.subscription_id, self.resource_group, self.type, self.resource_name, scope=rid)

    def desired(self, known: Any) -> dict[str, Any]:
        props: dict[str, Any] = {"workspaceId": resource_id(self.env, "log_analytics"), "metrics": []}
        if self.metric_category:
            props["metrics"] = [{"category": self.metric_category, "enabled": True}]
        if self.has_logs:
            group = self.env.section(SECTION, Config).log_category_group
            # By group, not by category: Azure returns the unused form as null (arm diagnosticSettings GET).
            props["logs"] = [{"category": None, "categoryGroup": group, "enabled": True}]
        return {"properties": props}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return by_id(clients, self.ref.id, API_VERSION)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.resource.resources.begin_create_or_update_by_id, self.ref.id, desired, api_version=API_VERSION))

    def delete(self, clients: Any) -> None:
        wait(call(clients.resource.resources.begin_delete_by_id, self.ref.id, api_version=API_VERSION))


def instances(env: EnvironmentSpec) -> list[DiagnosticSetting]:
    return [DiagnosticSetting(env, t) for t in env.section(SECTION, Config).targets if _exists(env, t)]


def _exists(env: EnvironmentSpec, target: str) -> bool:
    if target == "web_app_slot":
        from steps.deployment_slot import slots_enabled

        return slots_enabled(env)
    if target == "autoscale":
        from steps import autoscale

        return bool(autoscale.instances(env))
    return True


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    c = env.section(SECTION, Config)
    key = "diagnostics.targets"
    if len(set(c.targets)) != len(c.targets):
        return [ConfigProblem(env.where(key), key, "a target is listed twice")]
    return []
