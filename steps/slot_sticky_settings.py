"""Step: app setting names that stay with their slot on swap (Microsoft.Web/sites/config slotConfigNames)."""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules
from steps._fields import ECHOED_LOCATION, PLATFORM, SdkModel, nm
from steps.deployment_slot import slot_config, slots_enabled
from steps.web_app import SiteChild

SECTION = None  # configured by [deployment_slot] sticky_settings


class SlotStickySettings(SiteChild):
    type = "Microsoft.Web/sites/config"
    model = SdkModel("azure.mgmt.web.models", "SlotConfigNamesResource")
    not_managed = (
        nm(PLATFORM, "kind") + nm(ECHOED_LOCATION, "location")
    )
    # The names live on the site (not the slot) but only mean something once a slot exists to swap with.
    needs = ("web_app", "deployment_slot")
    # The names are a set (their order means nothing to a swap); compare as one so a re-ordering by the
    # portal or az CLI is not drift. connectionStringNames/azureStorageConfigNames are not declared.
    # No connection strings and no storage mounts exist (both are declared empty: steps/connection_strings.py,
    # steps/_site_pins.py), so none can be sticky: a name there is drift.
    rules = Rules(sets=("properties.appSettingNames",),
                  absent=("properties.connectionStringNames", "properties.azureStorageConfigNames"))

    def desired(self, known: Any) -> dict[str, Any]:
        return {"properties": {"appSettingNames": sorted(slot_config(self.env).sticky_settings)}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.web.web_apps.list_slot_configuration_names, self.resource_group, self.site)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        # PUT .../config/slotConfigNames: the names not sent are no longer sticky.
        call(clients.web.web_apps.update_slot_configuration_names, self.resource_group, self.site, desired)

    def delete(self, clients: Any) -> None:
        """slotConfigNames goes with its site: 'deleting' it means nothing is sticky any more."""
        call(clients.web.web_apps.update_slot_configuration_names, self.resource_group, self.site,
             {"properties": {"appSettingNames": []}})


def instances(env: EnvironmentSpec) -> list[SlotStickySettings]:
    if not slots_enabled(env):
        return []
    return [SlotStickySettings(env, "slot_sticky_settings", "slotConfigNames")]
