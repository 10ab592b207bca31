"""Steps: the site's and slot's connection strings, owned as a whole (empty) set (Microsoft.Web/sites/config
connectionstrings, and the slot's).

The platform passes every credential as an app setting that is a Key Vault reference (steps/app_settings.py);
App Service's connection strings are a second place for the same thing, read with POST .../list and never
shown by GET on the site. None is declared: a connection string added by hand (a database URL with its
password, say) is drift, shown as (sensitive), and provision removes it (the PUT replaces the whole set).
"""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules
from provisioner.engine.step import Step
from steps._fields import ECHOED_LOCATION, PLATFORM, SdkModel, nm
from steps.deployment_slot import slot_config, slots_enabled
from steps.web_app import SiteChild

SECTION = None  # nothing to configure: the set is empty


class ConnectionStrings(SiteChild):
    type = "Microsoft.Web/sites/config"
    model = SdkModel("azure.mgmt.web.models", "ConnectionStringDictionary")
    not_managed = nm(PLATFORM, "kind") + nm(ECHOED_LOCATION, "location")
    needs = ("web_app",)
    # Owned whole (a PUT replaces the set: azure-sdk-facts §1 App settings, the same for connection strings),
    # and every value is a credential: shown as (sensitive) whatever its name or shape.
    rules = Rules(exact=("properties",), sensitive=("properties.*",))
    comes_with_parent = True  # every site has the (empty) set: planned as a create before the site exists
    def desired(self, known: Any) -> dict[str, Any]:
        return {"properties": {}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.web.web_apps.list_connection_strings, self.resource_group, self.site)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.web.web_apps.update_connection_strings, self.resource_group, self.site, desired)

    def delete(self, clients: Any) -> None:
        """The set goes with its site; an empty set is what `create` writes."""


class SlotConnectionStrings(ConnectionStrings):
    type = "Microsoft.Web/sites/slots/config"
    needs = ("deployment_slot",)

    @property
    def slot(self) -> str:
        return slot_config(self.env).name

    def parent_path(self) -> str | None:
        return f"sites/{self.site}/slots/{self.slot}"

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.web.web_apps.list_connection_strings_slot, self.resource_group, self.site, self.slot)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.web.web_apps.update_connection_strings_slot, self.resource_group, self.site, self.slot, desired)


def instances(env: EnvironmentSpec) -> list[Step]:
    out: list[Step] = [ConnectionStrings(env, "connection_strings", "connectionstrings")]
    if slots_enabled(env):
        out.append(SlotConnectionStrings(env, "slot_connection_strings", "connectionstrings"))
    return out
