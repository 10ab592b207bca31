"""Step: the platform's metric alerts, one per rule of the architecture document (Microsoft.Insights/metricAlerts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from provisioner.azure import call, raw
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, lower
from steps._base import ArmStep, name_problems, rules
from steps._fields import SdkModel, nm
from steps._monitoring import resource_id

SECTION = "metric_alerts"
PG_SECTION = "postgres"  # the PostgreSQL step's section; its sku_name sizes the db-connections threshold
Duration = Literal["PT1M", "PT5M", "PT15M", "PT30M", "PT1H"]  # evaluation frequencies Azure accepts
Window = Literal["PT1M", "PT5M", "PT10M", "PT15M", "PT30M", "PT45M", "PT1H", "PT6H", "PT12H", "P1D"]
MINUTES = {"PT1M": 1, "PT5M": 5, "PT10M": 10, "PT15M": 15, "PT30M": 30, "PT45M": 45, "PT1H": 60, "PT6H": 360,
           "PT12H": 720, "P1D": 1440}


def window_problem(window: str, frequency: str) -> str | None:
    """Azure accepts a window (lookback period) only if it is at least the evaluation frequency: an alert
    evaluated every 15 minutes cannot look back 5 (learn.microsoft.com/azure/azure-monitor/alerts/
    alerts-metric-create-templates: windowSize "Period of time used to monitor alert activity", one minute
    to one day; evaluationFrequency PT1M..PT1H; the portal offers only lookback periods >= "Check every")."""
    if MINUTES[window] < MINUTES[frequency]:
        return (f"{window} is shorter than the evaluation frequency {frequency} (metric_alerts.evaluation_frequency):"
                f" Azure accepts only windows of at least the frequency")
    return None

# max_connections per PostgreSQL flexible server SKU (learn.microsoft.com "Limits in Azure Database for
# PostgreSQL flexible server"; the value depends on the SKU's memory, capped at 5000).
PG_MAX_CONNECTIONS = {
    "B1ms": 50, "B2s": 429, "B2ms": 859, "B4ms": 1718, "B8ms": 3437, "B12ms": 5000, "B16ms": 5000, "B20ms": 5000,
    "D2s_v3": 859, "D4s_v3": 1718, "D8s_v3": 3437, "D16s_v3": 5000, "D32s_v3": 5000, "D48s_v3": 5000, "D64s_v3": 5000,
    "D2ds_v4": 859, "D4ds_v4": 1718, "D8ds_v4": 3437, "D16ds_v4": 5000, "D32ds_v4": 5000,
    "D2ds_v5": 859, "D4ds_v5": 1718, "D8ds_v5": 3437, "D16ds_v5": 5000, "D32ds_v5": 5000,
    "E2s_v3": 1718, "E4s_v3": 3437, "E8s_v3": 5000, "E2ds_v4": 1718, "E4ds_v4": 3437, "E8ds_v4": 5000,
}


class Rule(Section):
    severity: int = Field(ge=0, le=4)  # Azure: 0 (critical) .. 4 (verbose)
    threshold: float = Field(gt=0)
    window: Window
    enabled: bool = True


class Config(Section):
    evaluation_frequency: Duration = "PT1M"
    error_rate: Rule  # threshold: HTTP 5xx responses per window (see ALERTS)
    latency_p95: Rule  # threshold: milliseconds
    cpu: Rule  # threshold: percent
    memory: Rule  # threshold: percent
    db_connections: Rule  # threshold: percent of the SKU's max_connections
    # Azure Managed Redis ([redis] kind = "managed"): percent of its memory, percent server load.
    redis_memory: Rule | None = None
    redis_server_load: Rule | None = None


@dataclass(frozen=True)
class Alert:
    target: str  # the step owning the resource the metric belongs to
    namespace: str
    metric: str
    aggregation: str
    description: str
    scale: float = 1.0  # config unit -> metric unit


# A metric alert compares one metric with a static threshold; it cannot divide two metrics or take a
# percentile of a platform metric. Where the document asks for that, the nearest expressible rule is used
# (and said in its description, so the portal tells the on-call engineer what the rule really measures).
ALERTS: dict[str, Alert] = {
    "error-rate": Alert("web_app", "Microsoft.Web/sites", "Http5xx", "Total",
                        "High error rate: HTTP 5xx responses per window (architecture: >5% for 5 minutes; a "
                        "metric alert cannot express a ratio)"),
    "latency-p95": Alert("web_app", "Microsoft.Web/sites", "HttpResponseTime", "Average",
                         "High latency: average response time (architecture: P95 >500 ms for 5 minutes; "
                         "platform metrics have no percentile)", scale=0.001),
    "cpu": Alert("app_service_plan", "Microsoft.Web/serverfarms", "CpuPercentage", "Average",
                 "CPU usage >70% for 10 minutes (architecture)"),
    "memory": Alert("app_service_plan", "Microsoft.Web/serverfarms", "MemoryPercentage", "Average",
                    "Memory usage >80% for 10 minutes (architecture)"),
    "db-connections": Alert("postgres_server", "Microsoft.DBforPostgreSQL/flexibleServers", "active_connections",
                            "Maximum", "Database connections >80% of the SKU's max_connections (architecture)"),
    # Metrics of Microsoft.Cache/redisEnterprise (Azure Monitor "Supported metrics for Microsoft.Cache/
    # redisEnterprise": usedmemorypercentage, serverLoad, as integrations list them, e.g. Datadog's
    # azure.cache_redisenterprise.*). Only with [redis] kind = "managed".
    "redis-memory": Alert("redis", "Microsoft.Cache/redisEnterprise", "usedmemorypercentage", "Maximum",
                          "Managed Redis memory usage >80% for 10 minutes (the document's memory rule, applied to "
                          "the cache: sessions are evicted when it is full)"),
    "redis-server-load": Alert("redis", "Microsoft.Cache/redisEnterprise", "serverLoad", "Maximum",
                               "Managed Redis server load >80% for 10 minutes (Microsoft: \"Sustained server load "
                               "over 80% can lead to unplanned failovers\", best-practices-server-load)"),
}
REDIS_ALERTS = ("redis-memory", "redis-server-load")


class AlertStep(ArmStep):
    """Shared by metric and availability alerts: same resource type, same Azure-side noise."""

    type = "Microsoft.Insights/metricAlerts"
    model = SdkModel("azure.mgmt.monitor.models", "MetricAlertResource")
    not_managed = nm("multi-resource alerts only (one alert, one target here)", "properties.targetResourceRegion",
                     "properties.targetResourceType")
    rules = rules(Rules(
        normalizers=(
            # Durations come back upper-case ('Pt1m' -> 'PT1M', arm-examples getMetricAlertSingleResource).
            ("properties.evaluationFrequency", lower), ("properties.windowSize", lower),
            # The action group id comes back lower-cased (arm-examples getMetricAlertSingleResource).
            ("properties.actions[].actionGroupId", lower),
            # Enums: ARM compares them case-insensitively.
            ("properties.criteria.allOf[].operator", lower), ("properties.criteria.allOf[].timeAggregation", lower),
            ("properties.criteria.allOf[].criterionType", lower),
        ),
    ))

    def envelope(self, severity: int, enabled: bool, window: str, description: str, scopes: list[str],
                 criteria: dict[str, Any]) -> dict[str, Any]:
        frequency = self.env.section(SECTION, Config).evaluation_frequency
        body = self.base(description=description, severity=severity, enabled=enabled, scopes=scopes,
                         evaluationFrequency=frequency, windowSize=window, criteria=criteria, autoMitigate=True,
                         actions=[{"actionGroupId": resource_id(self.env, "action_group")}])
        body["location"] = "global"  # metric alerts are global resources
        return body

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.monitor.metric_alerts.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.monitor.metric_alerts.create_or_update, self.resource_group, self.resource_name, desired)

    def delete(self, clients: Any) -> None:
        call(clients.monitor.metric_alerts.delete, self.resource_group, self.resource_name)


class MetricAlert(AlertStep):
    # criteria is polymorphic (odata.type): the model's other kind is the availability alert's.
    not_managed = AlertStep.not_managed + nm("web-test criteria: another odata.type (availability_alert)",
                                             "properties.criteria.componentId", "properties.criteria.failedLocationCount",
                                             "properties.criteria.webTestId")

    def __init__(self, env: EnvironmentSpec, key: str):
        super().__init__(env, f"metric_alert:{key}", f"{env.resource_name('metric_alert')}-{key}")
        self.key = key
        self.alert = ALERTS[key]

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (self.alert.target, "action_group")

    @property
    def rule(self) -> Rule:
        rule: Rule = getattr(self.env.section(SECTION, Config), self.key.replace("-", "_"))
        return rule

    def threshold(self) -> float:
        if self.key == "db-connections":
            return float(int(max_connections(postgres_sku(self.env)) * self.rule.threshold / 100))
        return self.rule.threshold * self.alert.scale

    def desired(self, known: Any) -> dict[str, Any]:
        a, r = self.alert, self.rule
        criterion = {"criterionType": "StaticThresholdCriterion", "name": self.key, "metricName": a.metric,
                     "metricNamespace": a.namespace, "operator": "GreaterThan", "threshold": self.threshold(),
                     "timeAggregation": a.aggregation}
        criteria = {"odata.type": "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria", "allOf": [criterion]}
        return self.envelope(r.severity, r.enabled, r.window, a.description, [resource_id(self.env, a.target)], criteria)


def postgres_sku(env: EnvironmentSpec) -> str | None:
    """The PostgreSQL server's SKU name from its own section ([postgres] sku_name): one source of truth."""
    section = env.sections.get(PG_SECTION)
    sku = getattr(section, "sku_name", None)
    return sku if isinstance(sku, str) else None


def max_connections(sku: str | None) -> int:
    return PG_MAX_CONNECTIONS[(sku or "").removeprefix("Standard_")]


def instances(env: EnvironmentSpec) -> list[MetricAlert]:
    from steps.redis import kind_of

    c = env.section(SECTION, Config)
    managed = kind_of(env) == "managed"
    return [MetricAlert(env, key) for key in ALERTS
            if key not in REDIS_ALERTS or (managed and getattr(c, key.replace("-", "_")) is not None)]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    c = env.section(SECTION, Config)
    problems: list[ConfigProblem] = []
    sku = postgres_sku(env)
    if (sku or "").removeprefix("Standard_") not in PG_MAX_CONNECTIONS:
        key = f"{PG_SECTION}.sku_name"
        problems.append(ConfigProblem(env.where(key), key, f"unknown PostgreSQL SKU {sku!r}: the db-connections "
                                      "alert needs its max_connections (steps/metric_alert.py PG_MAX_CONNECTIONS)"))
    for name in Config.model_fields:
        value = getattr(c, name)
        if isinstance(value, Rule) and (msg := window_problem(value.window, c.evaluation_frequency)):
            k = f"metric_alerts.{name}.window"
            problems.append(ConfigProblem(env.where(k), k, msg))
    for name in ("cpu", "memory", "db_connections", "redis_memory", "redis_server_load"):
        rule: Rule | None = getattr(c, name)
        if rule is not None and rule.threshold > 100:
            k = f"metric_alerts.{name}.threshold"
            problems.append(ConfigProblem(env.where(k), k, f"{rule.threshold:g} is a percentage: must be <= 100"))
    # Instance names append "-<alert>" (at most 30 more characters) to this prefix.
    problems += name_problems(env, "metric_alert", r"[^*#&+:<>?@%{}\\/]{1,230}",
                              "at most 230 characters, none of * # & + : < > ? @ % { } \\ /")
    return problems
