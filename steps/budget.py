"""Step: the environment's monthly cost budget with its alerts (Microsoft.Consumption/budgets, resource-group scope)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from provisioner.azure import call, raw
from provisioner.core.errors import ConfigProblem
from provisioner.core.model import ResourceRef
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, lower
from provisioner.engine.step import Step
from steps._base import absent_is
from steps._fields import UNUSED, SdkModel, nm
from steps._monitoring import group_id
from steps.action_group import SECTION as ACTION_GROUP
from steps.action_group import Config as ActionGroupConfig

SECTION = "budget"


class Notification(Section):
    threshold: float  # percent of the amount; checked by validate() so the error names the right file
    type: Literal["Actual", "Forecasted"] = "Actual"


class Config(Section):
    amount: float = Field(gt=0)  # USD per month
    # No start date here: it is the first of the month the budget is created in (see `start_date`). A fixed
    # date in an env file fails every create from the month after it on.
    notifications: list[Notification] = Field(min_length=1, max_length=5)  # Azure: at most 5 per budget


def start_date(today: dt.date | None = None) -> str:
    """The first of the current month (UTC): Azure refuses a monthly budget created with an earlier start
    ("Start date for monthly time grain should not be prior to current month", 400; also
    hashicorp/terraform-provider-azurerm#12121), and never lets it change afterwards ("Start date of budgets
    cannot be updated. Please delete and create a new budget.", jpsnover/ai-triad-research#1697)."""
    day = today or dt.datetime.now(dt.UTC).date()
    return f"{day.replace(day=1).isoformat()}T00:00:00Z"


class Budget(Step):
    type = "Microsoft.Consumption/budgets"
    model = SdkModel("azure.mgmt.consumption.models", "Budget")
    not_managed = (
        nm(UNUSED, "properties.filter", "properties.timePeriod.endDate")
    )
    needs = ("resource_group",)
    rules = Rules(
        ignore=(
            # arm-examples Budget.json: `locale` is accepted on PUT but absent from the GET.
            ("properties.notifications.*.locale", "write-only"),
            # Create-only (see start_date): set at create to the month it was created in, then never compared
            # and never changed (an update re-sends the live value, which the PUT requires).
            ("properties.timePeriod", "create-only: starts the month it was created"),
        ),
        normalizers=(("properties.category", lower), ("properties.timeGrain", lower),
                     ("properties.notifications.*.operator", lower), ("properties.notifications.*.thresholdType", lower),
                     ("properties.notifications.*.contactGroups", absent_is([])),
                     ("properties.notifications.*.contactRoles", absent_is([]))),
    )

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    @property
    def scope(self) -> str:
        return group_id(self.env)

    @property
    def ref(self) -> ResourceRef:
        rid = f"{self.scope}/providers/Microsoft.Consumption/budgets/{self.resource_name}"
        return ResourceRef(self.env.subscription_id, self.resource_group, self.type, self.resource_name, scope=rid)

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.config
        emails = list(self.env.section(ACTION_GROUP, ActionGroupConfig).emails)
        notifications = {
            notification_key(n): {"enabled": True, "operator": "GreaterThan", "threshold": n.threshold,
                                  "thresholdType": n.type, "contactEmails": emails, "locale": "en-us",
                                  # The platform alerts by e-mail only: an action group or role added by
                                  # hand sends the spend elsewhere (drift).
                                  "contactGroups": [], "contactRoles": []}
            for n in c.notifications
        }
        props: dict[str, Any] = {"category": "Cost", "amount": c.amount, "timeGrain": "Monthly"}
        if (known or {}).get(self.name) is None:
            # Only a create carries a start date (computed when the plan or the apply is made).
            props["timePeriod"] = {"startDate": start_date()}
        props["notifications"] = notifications
        return {"properties": props}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.consumption.budgets.get, self.scope, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.consumption.budgets.create_or_update, self.scope, self.resource_name, desired)

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # Optimistic concurrency: an update must carry the eTag of the version it replaces (arm-examples
        # CreateOrUpdateBudget); a stale one is a 412, retried by re-planning, never by forcing.
        # The PUT requires timePeriod: the live one goes back unchanged (a start date is never updated).
        props = {**desired["properties"], "timePeriod": (observed.get("properties") or {}).get("timePeriod")}
        call(clients.consumption.budgets.create_or_update, self.scope, self.resource_name,
             {**desired, "properties": props, "eTag": observed.get("eTag")})

    def delete(self, clients: Any) -> None:
        call(clients.consumption.budgets.delete, self.scope, self.resource_name)


def notification_key(n: Notification) -> str:
    """The portal's naming, e.g. Actual_GreaterThan_80_Percent."""
    return f"{n.type}_GreaterThan_{n.threshold:g}_Percent".replace(".", "_")


def instances(env: EnvironmentSpec) -> list[Budget]:
    return [Budget(env, "budget", env.resource_name("budget"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    c = env.section(SECTION, Config)
    problems: list[ConfigProblem] = []
    key = "budget.notifications"
    for i, n in enumerate(c.notifications):
        if not 0 <= n.threshold <= 1000:
            problems.append(ConfigProblem(env.where(key), f"{key}[{i}].threshold",
                                          f"{n.threshold:g}% is out of range: Azure accepts 0-1000"))
    if len({notification_key(n) for n in c.notifications}) != len(c.notifications):
        problems.append(ConfigProblem(env.where(key), key, "a notification is listed twice"))
    return problems
