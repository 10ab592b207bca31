"""Step: an alert per availability test, firing when the test fails (Microsoft.Insights/metricAlerts)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from steps._fields import nm
from steps._monitoring import group_id, resource_id
from steps.metric_alert import MINUTES, AlertStep, Window, window_problem
from steps.metric_alert import SECTION as ALERTS_SECTION
from steps.metric_alert import Config as AlertsConfig
from steps.web_test import SECTION as WEB_TESTS
from steps.web_test import TESTS
from steps.web_test import Config as WebTestConfig

SECTION = "availability_alerts"


class Config(Section):
    severity: int = Field(default=1, ge=0, le=4)  # architecture: availability alerts are Severity 1
    # "2 consecutive failures" (architecture). Azure counts failed *locations* within a window, not
    # consecutive runs: 2 of the test's locations failing in the same round (window = one test interval),
    # each failure already confirmed by the test's own retries (web_tests.retry_enabled).
    failed_location_count: int = Field(default=2, ge=1)
    window: Window = "PT5M"


class AvailabilityAlert(AlertStep):
    # criteria is polymorphic (odata.type): the model's other kind is the metric alert's.
    not_managed = AlertStep.not_managed + nm("multi-metric criteria: another odata.type (metric_alert)",
                                             "properties.criteria.allOf")

    def __init__(self, env: EnvironmentSpec, key: str):
        super().__init__(env, f"availability_alert:{key}", f"{env.resource_name('metric_alert')}-availability-{key}")
        self.key = key

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (f"web_test:{self.key}", "app_insights", "action_group")

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.env.section(SECTION, Config)
        test = f"{group_id(self.env)}/providers/Microsoft.Insights/webtests/{self.env.resource_name('web_test')}-{self.key}"
        component = resource_id(self.env, "app_insights")
        criteria = {"odata.type": "Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria",
                    "webTestId": test, "componentId": component, "failedLocationCount": c.failed_location_count}
        description = (f"{self.key.capitalize()} availability: the test failed from {c.failed_location_count} "
                       f"locations in {c.window} (architecture: 2 consecutive failures)")
        # Both the test and its component are scopes of an availability alert (arm-examples
        # createOrUpdateWebTestMetricAlert).
        return self.envelope(c.severity, True, c.window, description, [test, component], criteria)


def instances(env: EnvironmentSpec) -> list[AvailabilityAlert]:
    return [AvailabilityAlert(env, key) for key in TESTS]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    c = env.section(SECTION, Config)
    locations = env.section(WEB_TESTS, WebTestConfig).locations
    problems = []
    key = "availability_alerts.failed_location_count"
    if c.failed_location_count > len(locations):
        problems.append(ConfigProblem(env.where(key), key, f"{c.failed_location_count} failed locations can never "
                                      f"happen: the tests run from {len(locations)} (web_tests.locations)"))
    frequency = env.section(ALERTS_SECTION, AlertsConfig).evaluation_frequency
    if msg := window_problem(c.window, frequency):
        problems.append(ConfigProblem(env.where("availability_alerts.window"), "availability_alerts.window", msg))
    elif MINUTES[c.window] * 60 < (every := env.section(WEB_TESTS, WebTestConfig).frequency):
        # A window shorter than one round of tests often holds no result at all: the alert would miss failures.
        problems.append(ConfigProblem(env.where("availability_alerts.window"), "availability_alerts.window",
                                      f"{c.window} is shorter than one round of the availability tests "
                                      f"(web_tests.frequency = {every} s): use at least PT{every // 60}M"))
    return problems
