"""Step: the app's managed identity as the PostgreSQL server's Microsoft Entra administrator
(Microsoft.DBforPostgreSQL/flexibleServers/administrators, named by the principal's object id)."""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw, wait
from provisioner.core.model import UNKNOWN
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules, lower
from steps import app_identity
from steps._fields import SdkModel, nm
from steps.postgres_server import SECTION as SERVER_SECTION
from steps.postgres_server import Config, PostgresChild

SECTION = None  # [postgres] entra_admin
PENDING = "(known after apply)"  # the name while the app's identity does not exist yet


class EntraAdministrator(PostgresChild):
    """architecture "Identity & Access": "Managed Identity for all service-to-service authentication" and "Azure AD
    authentication for PostgreSQL (planned)": the app's identity is the server's Entra administrator, the sign-in
    the app moves to from its password (built-in "A Microsoft Entra administrator should be provisioned for
    PostgreSQL flexible servers"). With app_sign_in = "password" that is the site's system-assigned identity (the app
    connects as the server's admin login, so this grants it nothing it does not have); with "entra" it is the
    user-assigned identity the site and its slot share (steps/app_identity.py), whose role DATABASE_URL names."""

    type = "Microsoft.DBforPostgreSQL/flexibleServers/administrators"
    model = SdkModel("azure.mgmt.postgresqlflexibleservers.models", "AdministratorMicrosoftEntra")
    needs = ("postgres_server", "web_app")
    # The object id is the resource's name (the app identity's principal): a different one is another resource.
    not_managed = nm("the resource's own name (the principal's object id)", "properties.objectId")
    # AdministratorAdd.json: the body's `name` is the principal's name; principalType comes back as sent.
    rules = Rules(normalizers=(("properties.principalType", lower), ("properties.tenantId", lower),
                               ("properties.objectId", lower)))

    def __init__(self, env: EnvironmentSpec, name: str):
        super().__init__(env, name, PENDING)
        self.principal: str | None = None
        self.tenant: str | None = None

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (*self.needs, *(("app_identity",) if self.shared else ()))

    @property
    def shared(self) -> bool:
        """The app signs in with the user-assigned identity (not the site's own)."""
        return app_identity.enabled(self.env)

    @property
    def source(self) -> str:
        return "app_identity" if self.shared else "web_app"

    def learn(self, body: dict[str, Any] | None) -> None:
        # A user-assigned identity keeps its ids under properties; a site's own identity under identity.
        identity = ((body or {}).get("properties") if self.shared else (body or {}).get("identity")) or {}
        self.principal = str(identity["principalId"]).lower() if identity.get("principalId") else None
        self.tenant = str(identity["tenantId"]).lower() if identity.get("tenantId") else None
        self.resource_name = self.principal or PENDING

    def gather(self, clients: Any, known: Any) -> None:
        self.learn(known.get(self.source))

    def desired(self, known: Any) -> dict[str, Any]:
        self.learn(known.get(self.source))
        return {"properties": {"principalType": "ServicePrincipal",
                               "principalName": self.env.resource_name(self.source),
                               "tenantId": self.tenant or UNKNOWN}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        # The administrator is named after the identity the app has now (a re-created identity is a new admin).
        if self.shared:
            self.learn(raw(clients.msi.user_assigned_identities.get, self.resource_group,
                           self.env.resource_name("app_identity")))
        else:
            self.learn(raw(clients.web.web_apps.get, self.resource_group, self.env.resource_name("web_app")))
        if self.principal is None:
            return None
        return raw(clients.postgres.administrators_microsoft_entra.get, self.resource_group, self.server,
                   self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.postgres.administrators_microsoft_entra.begin_create_or_update, self.resource_group,
                  self.server, self.resource_name, desired))

    def delete(self, clients: Any) -> None:
        wait(call(clients.postgres.administrators_microsoft_entra.begin_delete, self.resource_group, self.server,
                  self.resource_name))


class DeclaredAdministrator(PostgresChild):
    """An Entra administrator the env file names ([postgres.entra_admins]: principal name -> object id), such as the
    deploying identity: the pre-swap hook signs in as it with a token (provisioner/operate/migrations.py)."""

    type = EntraAdministrator.type
    model = EntraAdministrator.model
    not_managed = EntraAdministrator.not_managed + nm(
        "filled in by Azure with the subscription's tenant (an env file's principal is in it)", "properties.tenantId")
    rules = EntraAdministrator.rules
    # The same child resource, written the same way; only whom it names differs (not the web app's identity).
    create = EntraAdministrator.create
    delete = EntraAdministrator.delete

    def __init__(self, env: EnvironmentSpec, principal_name: str, object_id: str):
        super().__init__(env, f"postgres_entra_admin:{principal_name}", object_id.lower())
        self.principal_name = principal_name

    def desired(self, known: Any) -> dict[str, Any]:
        return {"properties": {"principalType": "ServicePrincipal", "principalName": self.principal_name}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.postgres.administrators_microsoft_entra.get, self.resource_group, self.server,
                   self.resource_name)


def instances(env: EnvironmentSpec) -> list[PostgresChild]:
    config = env.section(SERVER_SECTION, Config)
    if not config.entra_admin:
        return []
    declared: list[PostgresChild] = [DeclaredAdministrator(env, name, oid) for name, oid in config.entra_admins.items()]
    return [EntraAdministrator(env, "postgres_entra_admin"), *declared]
