"""Step: the PostgreSQL firewall rule that admits Azure services only (Microsoft.DBforPostgreSQL/flexibleServers/firewallRules)."""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw, wait
from provisioner.engine.config import EnvironmentSpec
from steps._base import rules
from steps._fields import SdkModel
from steps.postgres_server import PostgresChild

SECTION = None  # nothing to configure: the architecture asks for "PostgreSQL firewall (Azure services only)"
# The name the portal gives this rule; 0.0.0.0-0.0.0.0 is ARM's convention for "allow Azure services"
# (azure-sdk-facts §1, PG database + firewall rule).
RULE_NAME = "AllowAllAzureServicesAndResourcesWithinAzureIps"


class PostgresFirewall(PostgresChild):
    type = "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules"
    model = SdkModel("azure.mgmt.postgresqlflexibleservers.models", "FirewallRule")
    # No location or tags on a child rule; the id's /servers/ vs /flexibleServers/ segment in the
    # arm-examples is a doc artifact (INDEX.md trap 6) and `id` is never compared anyway.
    rules = rules()

    def desired(self, known: Any) -> dict[str, Any]:
        return {"properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.postgres.firewall_rules.get, self.resource_group, self.server, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.postgres.firewall_rules.begin_create_or_update, self.resource_group, self.server,
                  self.resource_name, desired))

    def delete(self, clients: Any) -> None:
        wait(call(clients.postgres.firewall_rules.begin_delete, self.resource_group, self.server, self.resource_name))


def instances(env: EnvironmentSpec) -> list[PostgresFirewall]:
    from steps.postgres_server import SECTION as PG_SECTION
    from steps.postgres_server import Config

    if env.section(PG_SECTION, Config).private_endpoint:
        return []  # public access is off: the server is reached through its private endpoint only
    return [PostgresFirewall(env, "postgres_firewall", RULE_NAME)]
