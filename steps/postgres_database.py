"""Step: the application database on the PostgreSQL server (Microsoft.DBforPostgreSQL/flexibleServers/databases)."""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules, lower
from steps._base import name_problems, rules
from steps._fields import SdkModel
from steps.postgres_server import SECTION as SERVER_SECTION
from steps.postgres_server import Config, PostgresChild

SECTION = None  # charset and collation live in [postgres] (database_charset, database_collation)


class PostgresDatabase(PostgresChild):
    type = "Microsoft.DBforPostgreSQL/flexibleServers/databases"
    model = SdkModel("azure.mgmt.postgresqlflexibleservers.models", "Database")
    holds_data = True
    rules = rules(Rules(
        # arm-examples DatabaseCreate/DatabaseGet echo the charset as 'utf8'; PostgreSQL itself reports 'UTF8'.
        normalizers=(("properties.charset", lower),),
        # There is no update operation for a database (azure-sdk-facts §1): both are fixed at create.
        replace_on=("properties.charset", "properties.collation"),
    ))

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.env.section(SERVER_SECTION, Config)
        return {"properties": {"charset": c.database_charset, "collation": c.database_collation}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.postgres.databases.get, self.resource_group, self.server, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.postgres.databases.begin_create, self.resource_group, self.server, self.resource_name, desired))

    def delete(self, clients: Any) -> None:
        wait(call(clients.postgres.databases.begin_delete, self.resource_group, self.server, self.resource_name))


def instances(env: EnvironmentSpec) -> list[PostgresDatabase]:
    return [PostgresDatabase(env, "postgres_database", env.resource_name("postgres_database"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    # PostgreSQL identifiers: up to 63 bytes; Azure's portal rule is letters, digits and '_', not starting with a digit.
    return name_problems(env, "postgres_database", r"[A-Za-z_][A-Za-z0-9_]{0,62}",
                         "1-63 letters, digits and '_', not starting with a digit")
