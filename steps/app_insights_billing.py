"""Step: the Application Insights daily ingestion cap (Microsoft.Insights/components/currentbillingfeatures)."""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw
from provisioner.core.model import ResourceRef
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules
from provisioner.engine.step import Step
from steps._fields import UNUSED, SdkModel, nm
from steps._monitoring import resource_id
from steps.app_insights import SECTION as AI_SECTION
from steps.app_insights import Config as AppInsightsConfig

SECTION = None  # configured by [app_insights] daily_cap_gb
# "No cap" has no wire value of its own: the service always holds a cap. We send the largest cap a
# component accepts without a support request (the read-only DataVolumeCap.MaxHistoryCap, 1000 GB/day),
# so a smaller cap added by hand in the portal still shows up as drift.
NO_CAP_GB = 1000.0


class AppInsightsCap(Step):
    type = "Microsoft.Insights/components/currentbillingfeatures"
    model = SdkModel("azure.mgmt.applicationinsights.v2015_05_01.models", "ApplicationInsightsComponentBillingFeatures")
    not_managed = (
        nm(UNUSED, "DataVolumeCap.StopSendNotificationWhenHitThreshold", "DataVolumeCap.WarningThreshold")
    )
    needs = ("app_insights",)
    # A singleton sub-resource without envelope: no location, tags or provisioningState. ResetTime,
    # MaxHistoryCap and WarningThreshold are server-populated and stay out of scope (left-scoped diff).
    rules = Rules(sets=("CurrentBillingFeatures",))

    @property
    def component(self) -> str:
        return self.env.resource_name("app_insights")

    @property
    def ref(self) -> ResourceRef:
        scope = f"{resource_id(self.env, 'app_insights')}/currentbillingfeatures"
        return ResourceRef(self.env.subscription_id, self.resource_group, self.type, "currentbillingfeatures", scope=scope)

    def cap_gb(self) -> float:
        cap = self.env.section(AI_SECTION, AppInsightsConfig).daily_cap_gb
        return NO_CAP_GB if cap == "none" else float(cap)

    def desired(self, known: Any) -> dict[str, Any]:
        # The PUT replaces the billing features: "Basic" is the pay-as-you-go plan every component has.
        return {"CurrentBillingFeatures": ["Basic"],
                "DataVolumeCap": {"Cap": self.cap_gb(), "StopSendNotificationWhenHitCap": False}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        # 404 while the component does not exist, which plans as a create.
        return raw(clients.appinsights.component_current_billing_features.get, self.resource_group, self.component)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.appinsights.component_current_billing_features.update, self.resource_group, self.component, desired)

    def delete(self, clients: Any) -> None:
        """The cap lives and dies with its component: nothing to delete on its own."""


def instances(env: EnvironmentSpec) -> list[AppInsightsCap]:
    return [AppInsightsCap(env, "app_insights_cap", "currentbillingfeatures")]
