"""Step: the workspace-based Application Insights component (Microsoft.Insights/components)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator

from provisioner.azure import call, raw
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, lower
from steps._base import ArmStep, absent_is, name_problems, rules
from steps._fields import UNUSED, SdkModel, nm
from steps._monitoring import resource_id

SECTION = "app_insights"
# Ingestion sampling keeps 1 in N items, so the service works with 100/N rates; these are the values the
# portal offers (Application Insights "Sampling" blade). Anything else is rounded by Azure, i.e. drift.
SAMPLING = (100.0, 50.0, 33.3, 25.0, 20.0, 12.5, 10.0, 8.3, 6.25, 5.0, 4.0, 3.0, 2.0, 1.0)
# Retention values accepted for a component (2020-02-02 RetentionInDays; same set as the portal).
RETENTION = (30, 60, 90, 120, 180, 270, 365, 550, 730)


class Config(Section):
    sampling_percentage: float = 100.0
    retention_days: int = 90
    # GB/day, or "none" for no cap (set per environment; the app_insights_cap step says how it is sent).
    daily_cap_gb: float | str

    @field_validator("daily_cap_gb")
    @classmethod
    def _cap(cls, value: float | str) -> float | Literal["none"]:
        # One message instead of pydantic's one-per-union-member.
        if isinstance(value, str) and value != "none":
            raise ValueError(f'{value!r}: write a number of GB/day or "none" for no cap')
        return value  # type: ignore[return-value]


class AppInsights(ArmStep):
    type = "Microsoft.Insights/components"
    model = SdkModel("azure.mgmt.applicationinsights.v2020_02_02.models", "ApplicationInsightsComponent")
    not_managed = (
        nm(UNUSED, "properties.HockeyAppId")
        + nm("create-time only (how the component was created)", "properties.Flow_Type", "properties.Request_Source")
    )
    needs = ("log_analytics",)
    rules = rules(Rules(
        # arm-examples ComponentsGet: WorkspaceResourceId comes back lower-cased (ids already compare
        # case-insensitively; said explicitly because this one always changes).
        normalizers=(("properties.WorkspaceResourceId", lower), ("kind", lower), ("properties.Application_Type", lower),
                     ("properties.IngestionMode", lower), ("properties.DisableLocalAuth", absent_is(False)), ("properties.publicNetworkAccessFor*", lower),
                     ("properties.DisableIpMasking", absent_is(False)), ("properties.ForceCustomerStorageForProfiler", absent_is(False)),
                     ("properties.ImmediatePurgeDataOn30Days", absent_is(False))),
        # Read-only secrets-ish values (arm-examples ComponentsGet): never declared, but if a path ever is
        # shown it must be masked; the app settings step reads ConnectionString from the observed body.
        sensitive=("properties.ConnectionString", "properties.InstrumentationKey"),
        # The profiler's and debugger's own storage account (a components/linkedStorageAccounts child, shown
        # here): none, as ForceCustomerStorageForProfiler is off; one linked by hand ships data there.
        absent=("properties.LinkedStorages",),
    ))

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.config
        body = self.base(
            Application_Type="web",
            WorkspaceResourceId=resource_id(self.env, "log_analytics"),
            # msrest defaults (azure-sdk-facts §9) would send these anyway; declaring them makes drift on
            # them visible (classic ingestion or closed public ingestion would silently break telemetry).
            IngestionMode="LogAnalytics",
            # Local (instrumentation-key) auth: the API's SDK sends with the connection string; declared so
            # a change either way is drift.
            DisableLocalAuth=False,
            publicNetworkAccessForIngestion="Enabled",
            publicNetworkAccessForQuery="Enabled",
            SamplingPercentage=c.sampling_percentage,
            RetentionInDays=c.retention_days,
            # Client IP addresses are masked in telemetry (Azure's default): unmasking them by hand ships
            # personal data into the logs, so a change is drift. Profiler data stays in Azure's storage, and
            # data is kept for RetentionInDays, not purged at 30 days.
            DisableIpMasking=False,
            ForceCustomerStorageForProfiler=False,
            ImmediatePurgeDataOn30Days=False,
        )
        body["kind"] = "web"
        return body

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.appinsights.components.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        # A synchronous PUT (200) in API 2020-02-02.
        call(clients.appinsights.components.create_or_update, self.resource_group, self.resource_name, desired)

    def delete(self, clients: Any) -> None:
        call(clients.appinsights.components.delete, self.resource_group, self.resource_name)


def instances(env: EnvironmentSpec) -> list[AppInsights]:
    return [AppInsights(env, "app_insights", env.resource_name("app_insights"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    c = env.section(SECTION, Config)
    problems = name_problems(env, "app_insights", r"[^%&\\?/]{1,255}", "1-255 characters, none of % & \\ ? /")
    if c.sampling_percentage not in SAMPLING:
        key = "app_insights.sampling_percentage"
        problems.append(ConfigProblem(env.where(key), key, f"{c.sampling_percentage:g} is not a sampling rate Azure "
                                      f"keeps (100/N): use one of {', '.join(f'{v:g}' for v in SAMPLING)}"))
    if c.retention_days not in RETENTION:
        key = "app_insights.retention_days"
        problems.append(ConfigProblem(env.where(key), key, f"{c.retention_days} days is not allowed: use one of "
                                      f"{', '.join(map(str, RETENTION))}"))
    if not isinstance(c.daily_cap_gb, str) and c.daily_cap_gb < 0:
        key = "app_insights.daily_cap_gb"
        problems.append(ConfigProblem(env.where(key), key, f"{c.daily_cap_gb:g} GB/day: a cap must be >= 0 "
                                      "(write \"none\" for no cap)"))
    return problems
