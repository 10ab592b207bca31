"""Step: PostgreSQL server parameters we pin, e.g. TLS 1.2+ only (Microsoft.DBforPostgreSQL/flexibleServers/configurations)."""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules, lower
from steps._base import rules
from steps._fields import SdkModel, nm
from steps.postgres_server import SECTION as SERVER_SECTION
from steps.postgres_server import Config, PostgresChild

SECTION = None  # the values live in [postgres.parameters]


class PostgresConfiguration(PostgresChild):
    """One server parameter. Parameters always exist on a server (with a system default), so this step
    never creates anything: it PATCHes the value, and "delete" leaves the parameter to its server."""

    type = "Microsoft.DBforPostgreSQL/flexibleServers/configurations"
    model = SdkModel("azure.mgmt.postgresqlflexibleservers.models", "Configuration")
    not_managed = (
        nm("filled in by Azure (user-override or system-default)", "properties.source")
    )
    rules = rules(Rules(
        # PostgreSQL answers booleans and enums in its own case ('ON' vs 'on', 'TLSV1.2' vs 'TLSv1.2').
        normalizers=(("properties.value", lower),),
    ))

    def desired(self, known: Any) -> dict[str, Any]:
        value = self.env.section(SERVER_SECTION, Config).parameters[self.resource_name]
        return {"properties": {"value": value}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.postgres.configurations.get, self.resource_group, self.server, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        # PATCH, as `az postgres flexible-server parameter set` does: only the value (and its source) change.
        body = {"properties": {**desired["properties"], "source": "user-override"}}
        wait(call(clients.postgres.configurations.begin_update, self.resource_group, self.server, self.resource_name, body))

    def delete(self, clients: Any) -> None:
        """A server parameter cannot be deleted; it goes away with its server."""


def instances(env: EnvironmentSpec) -> list[PostgresConfiguration]:
    params = env.section(SERVER_SECTION, Config).parameters
    return [PostgresConfiguration(env, f"postgres_configuration:{name}", name) for name in sorted(params)]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    params = env.section(SERVER_SECTION, Config).parameters
    problems = []
    tls = params.get("ssl_min_protocol_version")
    if tls is not None and tls not in ("TLSv1.2", "TLSv1.3"):
        problems.append(ConfigProblem(env.where("postgres.parameters.ssl_min_protocol_version"),
                                      "postgres.parameters.ssl_min_protocol_version",
                                      f"{tls!r}: the architecture asks for 'TLS 1.2+ for all connections' (TLSv1.2 or TLSv1.3)"))
    if str(params.get("require_secure_transport", "on")).lower() != "on":
        problems.append(ConfigProblem(env.where("postgres.parameters.require_secure_transport"),
                                      "postgres.parameters.require_secure_transport",
                                      "must be 'on': the architecture asks for 'TLS in transit' for the database"))
    return problems
