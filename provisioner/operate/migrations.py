"""The pre-swap hook's database access: the deploying identity signs in to PostgreSQL as an Entra administrator with
an access token as its password; no password is read from Key Vault, nothing is stored.

Azure's sign-in (learn.microsoft.com/azure/postgresql/flexible-server/how-to-configure-sign-in-azure-ad-authentication):
user = the Entra administrator's principalName, password = an access token for
`https://ossrdbms-aad.database.windows.net` (what `az account get-access-token --resource-type oss-rdbms` gets), TLS
required. The server checks the token at sign-in only: a migration longer than the token's life keeps its
connection. The network path is the caller's: production's server answers only through its private endpoint, so the
deploy runs where that endpoint is reached (a runner inside the VNet, docs/operations.md "Migrations"); the access is
checked before anything changes.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from provisioner.azure import call, raw
from provisioner.core.errors import AzureCallError, ProvisionerError
from provisioner.operate.backend import DeployFailed
from provisioner.operate.pgclient import PgConnectFailed, connect, conninfo

SCOPE = "https://ossrdbms-aad.database.windows.net/.default"


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (only to learn whose it is: the server verifies it)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class DbAccess:
    """Where the hook's database is and who signs in; `check()` before any change, `env()` just before the hook."""

    clients: Any
    resource_group: str
    server: str
    database: str
    app_login: str  # the login the app connects as (for the migration's GRANTs)
    fqdn: str = ""
    user: str = ""

    def _token(self) -> str:
        try:
            return str(self.clients.credential().get_token(SCOPE).token)
        except Exception as exc:  # noqa: BLE001 - azure-identity's errors: shown with their cause
            raise DeployFailed(f"no access token for PostgreSQL ({SCOPE}): {str(exc).splitlines()[0]}") from None

    def check(self) -> None:
        """The server, the deploying identity among its Entra administrators, and a sign-in that works from here."""
        try:
            body = raw(self.clients.postgres.servers.get, self.resource_group, self.server)
        except AzureCallError as exc:
            raise DeployFailed(f"cannot read PostgreSQL server {self.server}: {exc}") from None
        if body is None:
            raise DeployFailed(f"PostgreSQL server {self.server} not found: provision the environment first")
        props = body.get("properties") or {}
        self.fqdn = str(props.get("fullyQualifiedDomainName") or f"{self.server}.postgres.database.azure.com")
        if str((props.get("authConfig") or {}).get("activeDirectoryAuth") or "").lower() != "enabled":
            raise DeployFailed(f"{self.server}: Microsoft Entra sign-in is off, so the pre-swap hook cannot sign in "
                               "without a password: set [postgres] entra_admin = true and run provision")
        token = self._token()
        oid = str(token_claims(token).get("oid") or "").lower()
        admins = call(self.clients.postgres.administrators_microsoft_entra.list_by_server, self.resource_group,
                      self.server)
        names = {str(a.properties.object_id or "").lower(): str(a.properties.principal_name or "")
                 for a in admins if a.properties is not None}
        if not oid or oid not in names:
            raise DeployFailed(f"the deploying identity (object id {oid or 'unknown'}) is not an Entra administrator "
                               f"of {self.server}: add it to [postgres.entra_admins] in the env file and run "
                               "provision; nothing was changed")
        self.user = names[oid]
        try:
            connect(self.clients, self.fqdn, self.user, token, self.database, timeout=15).close()
        except PgConnectFailed as exc:
            raise DeployFailed(f"{exc}; this machine must reach the server (production: only through its private "
                               "endpoint, from inside the VNet); nothing was changed") from None

    def env(self) -> dict[str, str]:
        """libpq's variables and DATABASE_URL for the hook, with a fresh token as the password."""
        if not self.user:
            raise ProvisionerError("DbAccess.check() must run first")
        token = self._token()
        info = conninfo(self.clients, self.fqdn)
        query = {"sslmode": str(info["sslmode"])}
        if "hostaddr" in info:
            query["hostaddr"] = str(info["hostaddr"])
        if "sslrootcert" in info:
            query["sslrootcert"] = str(info["sslrootcert"])
        url = (f"postgresql://{quote(self.user, safe='')}:{quote(token, safe='')}@{self.fqdn}:{info['port']}/"
               f"{quote(self.database, safe='')}?{urlencode(query)}")
        out = {"DATABASE_URL": url, "PGHOST": self.fqdn, "PGPORT": str(info["port"]), "PGUSER": self.user,
               "PGPASSWORD": token, "PGDATABASE": self.database, "PGSSLMODE": str(info["sslmode"]),
               "DEPLOY_DB_APP_LOGIN": self.app_login}
        if "hostaddr" in info:
            out["PGHOSTADDR"] = str(info["hostaddr"])
        if "sslrootcert" in info:
            out["PGSSLROOTCERT"] = str(info["sslrootcert"])
        return out
