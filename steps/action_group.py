"""Step: the environment's action group, who gets alerted (Microsoft.Insights/actionGroups)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from provisioner.azure import call, raw
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules
from steps._base import NO_IDENTITY, NONE, ArmStep, absent_is, name_problems, rules
from steps._fields import SdkModel
from steps._monitoring import bad_emails

SECTION = "action_group"
# Receiver kinds of API 2023-01-01 that we do not use. GET returns every one as [] even when unset
# (arm-examples getActionGroup), so declaring them empty costs nothing and makes a receiver added by
# hand (an SMS number, a webhook) show up as drift: we own who gets paged.
UNUSED_RECEIVERS = ("smsReceivers", "webhookReceivers", "itsmReceivers", "azureAppPushReceivers",
                    "automationRunbookReceivers", "voiceReceivers", "logicAppReceivers",
                    "azureFunctionReceivers", "armRoleReceivers", "eventHubReceivers",
                    # New in API 2026-09-01 (arm-examples INDEX #50: comes back as [] when unset); the SDK's
                    # model does not have it yet, so it is compared (empty) but not sent.
                    "incidentReceivers")


class Config(Section):
    short_name: str = Field(min_length=1, max_length=12)  # Azure: groupShortName is 1-12 characters
    emails: list[str] = Field(min_length=1)


class ActionGroup(ArmStep):
    type = "Microsoft.Insights/actionGroups"
    model = SdkModel("azure.mgmt.monitor.models", "ActionGroupResource")
    needs = ("resource_group",)
    rules = rules(Rules(
        # Azure keeps receivers in the order sent, but nothing depends on that order.
        # Each e-mail receiver gains a read-only `status` (arm-examples getActionGroup): left-scoped.
        sets=("properties.emailReceivers",),
        normalizers=(("properties.incidentReceivers", absent_is([])),),
    ), NO_IDENTITY)  # arm-examples getActionGroup shows groups with identities (secure webhooks): ours has none

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.config
        receivers = [{"name": receiver_name(a), "emailAddress": a, "useCommonAlertSchema": True} for a in c.emails]
        body = self.base(groupShortName=c.short_name, enabled=True, emailReceivers=receivers,
                         **{k: [] for k in UNUSED_RECEIVERS})
        # Action groups are global resources: ARM answers with location "Global".
        body["location"] = "Global"
        body["identity"] = dict(NONE)
        return body

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.monitor.action_groups.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        # The PATCH (action_groups.update) only carries tags and `enabled`: receivers need the full PUT,
        # which is also what update() does by default.
        call(clients.monitor.action_groups.create_or_update, self.resource_group, self.resource_name, desired)

    def delete(self, clients: Any) -> None:
        call(clients.monitor.action_groups.delete, self.resource_group, self.resource_name)


def receiver_name(address: str) -> str:
    """A stable, unique receiver name: the address itself (receiver names may hold '@' and '.')."""
    return address.lower()


def instances(env: EnvironmentSpec) -> list[ActionGroup]:
    return [ActionGroup(env, "action_group", env.resource_name("action_group"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    c = env.section(SECTION, Config)
    problems = name_problems(env, "action_group", r"[A-Za-z0-9_.()-]{1,260}",
                             "1-260 letters, digits and _ . ( ) -")
    if bad := bad_emails(c.emails):
        key = "action_group.emails"
        problems.append(ConfigProblem(env.where(key), key, f"not a valid e-mail address: {', '.join(bad)}"))
    if len({a.lower() for a in c.emails}) != len(c.emails):
        key = "action_group.emails"
        problems.append(ConfigProblem(env.where(key), key, "an address is listed twice"))
    return problems
