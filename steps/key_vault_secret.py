"""Step: the app's Key Vault secrets, written only when their value changes (Microsoft.KeyVault/vaults/secrets)."""

from __future__ import annotations

import re
import secrets as token
from typing import Any, Literal

from azure.mgmt.keyvault.models import Secret

from provisioner.azure import call, raw, wait
from provisioner.config import EnvironmentSpec, Section
from provisioner.diff import Rules
from provisioner.errors import AzureCallError, ConfigProblem, ProvisionerError
from provisioner.model import UNKNOWN, PropertyChange
from steps import _secret_values as sv
from steps._base import ArmStep
from steps._fields import nm
from steps.postgres_server import PASSWORD_SECRET as POSTGRES_PASSWORD_SECRET
from steps.postgres_server import SECTION as POSTGRES_SECTION
from steps.postgres_server import Config as PostgresConfig
from steps.redis import SECTION as REDIS_SECTION

SECTION = "key_vault_secrets"
Source = Literal["postgres", "redis", "generated"]
# Key Vault object names: 1-127 alphanumerics and '-'.
NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
# source -> (the steps whose resources the value is built from, the config section that registers them)
SOURCES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "postgres": (("postgres_server", "postgres_database"), POSTGRES_SECTION),
    "redis": (("redis",), REDIS_SECTION),
    "generated": ((), None),
}
HASH = "properties.valueSha256"


class Config(Section):
    secrets: dict[str, Source] = {}  # secret name -> where its value comes from


def _epoch(when: Any) -> int | None:
    """Key Vault's wire format for exp/nbf: seconds since the epoch (SecretAttributes, REST spec)."""
    return int(when.timestamp()) if when else None


class KeyVaultSecret(ArmStep):
    type = "Microsoft.KeyVault/vaults/secrets"
    holds_data = True  # a deleted JWT key logs every user out; secrets are soft-deleted, not gone
    # Values never round-trip into a plan: read() returns a SHA-256 of the value, and that field is
    # shown as (sensitive) (azure-sdk-facts §1 KV secret: "every set_secret creates a new version: compare a hash").
    model = Secret  # the management-plane shape of a secret: what read() maps the data-plane answer onto
    _NOT_MANAGED = nm("a descriptive label only", "properties.contentType")
    rules = Rules(sensitive=(HASH,),
                  # The value is compared through its hash (HASH); read() never returns the value itself.
                  write_only=("properties.value",),
                  # An expiry or not-before date set by hand would make the app fail to read the secret:
                  # declared absent, so either is drift.
                  absent=("properties.attributes.exp", "properties.attributes.nbf"))

    @property
    def not_managed(self) -> tuple[tuple[str, str], ...]:  # type: ignore[override]
        if self.source == "generated":  # exists-or-create: no hash is declared, the value is the vault's
            return self.__class__.__dict__["_NOT_MANAGED"] + nm("generated once in the vault, never rotated by us",
                                                                 HASH)
        return self.__class__.__dict__["_NOT_MANAGED"]

    def __init__(self, env: EnvironmentSpec, name: str, resource_name: str, source: str):
        super().__init__(env, name, resource_name)
        self.source = source
        self._clients: Any = None  # remembered from gather()/read() for the data-plane client
        self._inputs: dict[str, str] = {}  # cache of those inputs for this run
        self._values: dict[str, str] = {}  # sha256 -> value to write; never leaves this object

    def __repr__(self) -> str:  # no values, ever
        return f"<KeyVaultSecret {self.name}>"

    @property
    def depends_on(self) -> tuple[str, ...]:
        return ("key_vault", *SOURCES[self.source][0])

    def parent_path(self) -> str:
        return f"vaults/{self.env.resource_name('key_vault')}"

    # -- desired -------------------------------------------------------------------------------------
    def desired(self, known: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"tags": self.tags(), "properties": {"attributes": {"enabled": True}}}
        if self.source != "generated":
            # A generated secret is exists-or-create ("present"): no hash, so it is never rotated.
            body["properties"]["valueSha256"] = self._desired_hash(known)
        return body

    def _desired_hash(self, known: Any) -> Any:
        value = self._value(known)
        if value is None:
            return UNKNOWN
        digest = sv.sha256(value)
        self._values[digest] = value
        return digest

    def _value(self, known: Any) -> str | None:
        """The value from the resources it is built from; None while any of them does not exist yet. Pure:
        the inputs GET never returns were read by gather()."""
        if self.source == "postgres":
            server = known.get("postgres_server")
            password = self._inputs.get(f"pg:{(server or {}).get('id')}")
            host = ((server or {}).get("properties") or {}).get("fullyQualifiedDomainName")
            if password is None or not host:
                return None
            login = self.env.section(POSTGRES_SECTION, PostgresConfig).administrator_login
            return sv.postgres_url(login, password, host, self.env.resource_name("postgres_database"))
        if self.source == "redis":
            cache = known.get("redis")
            props = (cache or {}).get("properties") or {}
            key = self._inputs.get(f"redis:{(cache or {}).get('id')}")
            if key is None or not props.get("hostName"):
                return None
            return sv.redis_url(key, props["hostName"], props.get("sslPort", 6380))
        return None

    def gather(self, clients: Any, known: Any) -> None:
        """Read what the value is built from but no GET returns: the PostgreSQL password (Key Vault) or the
        Redis access key (listKeys). Kept in memory for this run only, never in a plan or a log."""
        self._clients = clients
        vault = known.get("key_vault")
        if not vault:
            return
        if self.source == "postgres" and (server := known.get("postgres_server")):
            self._input(f"pg:{server.get('id')}",
                        lambda: sv.secret_value(self._client(vault), POSTGRES_PASSWORD_SECRET))
        elif self.source == "redis" and (cache := known.get("redis")):
            self._input(f"redis:{cache.get('id')}", lambda: sv.redis_primary_key(
                clients, self.resource_group, self.env.resource_name("redis")))

    def _input(self, key: str, fetch: Any) -> None:
        if key not in self._inputs:
            value = fetch()
            if value is not None:  # not cached when absent: it may exist by the time the executor asks again
                self._inputs[key] = value

    # -- I/O -----------------------------------------------------------------------------------------
    def _vault_uri(self, clients: Any) -> str | None:
        vault = raw(clients.keyvault.vaults.get, self.resource_group, self.env.resource_name("key_vault"))
        return ((vault or {}).get("properties") or {}).get("vaultUri")

    def _client(self, vault: dict[str, Any]) -> Any:
        return self._clients.secrets(vault["properties"]["vaultUri"])

    def read(self, clients: Any) -> dict[str, Any] | None:
        self._clients = clients
        uri = self._vault_uri(clients)
        secret = sv.get_secret(clients.secrets(uri), self.resource_name) if uri else None
        if secret is None:
            return None
        p = secret.properties
        return {  # only a hash and attributes: the value itself is dropped here
            "id": secret.id,
            "name": secret.name,
            "tags": dict(p.tags or {}),
            "properties": {
                "valueSha256": sv.sha256(secret.value or ""),
                "contentType": p.content_type,
                "attributes": {"enabled": p.enabled,
                               "exp": _epoch(getattr(p, "expires_on", None)),
                               "nbf": _epoch(getattr(p, "not_before", None)),
                               "created": p.created_on.isoformat() if p.created_on else None,
                               "updated": p.updated_on.isoformat() if p.updated_on else None},
            },
        }

    def _data_client(self, clients: Any) -> Any:
        uri = self._vault_uri(clients)
        if not uri:
            raise ProvisionerError(f"{self.name}: the Key Vault {self.env.resource_name('key_vault')} does not exist")
        return clients.secrets(uri)

    def _new_value(self, desired: dict[str, Any]) -> str:
        if self.source == "generated":
            return token.token_urlsafe(64)
        value = self._values.get(desired["properties"].get("valueSha256"))
        if value is None:
            raise ProvisionerError(f"{self.name}: its value could not be resolved from {', '.join(self.depends_on)}")
        return value

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        client = self._data_client(clients)
        try:
            self._write(client, desired)
        except AzureCallError as exc:
            if exc.status != 409:
                raise
            # A soft-deleted secret keeps its name (azure-sdk-facts §8): recover it, then converge it.
            wait(call(client.begin_recover_deleted_secret, self.resource_name))
            if self.source == "generated":
                self._patch(client, desired)  # the recovered key is the key: never regenerated
            else:
                self._write(client, desired)

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any],
               changes: tuple[PropertyChange, ...]) -> None:
        client = self._data_client(clients)
        if any(c.path == HASH for c in changes):
            self._write(client, desired)  # the only case that makes a new version
        else:
            self._patch(client, desired)  # tags/enabled only: same version, value untouched

    def _write(self, client: Any, desired: dict[str, Any]) -> None:
        call(client.set_secret, self.resource_name, self._new_value(desired),
             enabled=desired["properties"]["attributes"]["enabled"], tags=desired["tags"])

    def _patch(self, client: Any, desired: dict[str, Any]) -> None:
        call(client.update_secret_properties, self.resource_name,
             enabled=desired["properties"]["attributes"]["enabled"], tags=desired["tags"])

    def delete(self, clients: Any) -> None:
        wait(call(self._data_client(clients).begin_delete_secret, self.resource_name))  # soft delete


def available(env: EnvironmentSpec, source: str) -> bool:
    """Whether the steps a secret's value comes from are registered in this build (their section exists)."""
    section = SOURCES[source][1]
    return section is None or section in env.sections


def managed(env: EnvironmentSpec) -> dict[str, str]:
    """Secret name -> source, for the secrets this environment provisions."""
    secrets = env.section(SECTION, Config).secrets
    return {name: source for name, source in secrets.items() if available(env, source)}


def instances(env: EnvironmentSpec) -> list[KeyVaultSecret]:
    return [KeyVaultSecret(env, f"key_vault_secret:{name}", name, source) for name, source in managed(env).items()]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    problems = []
    for name, source in env.section(SECTION, Config).secrets.items():
        key = f"{SECTION}.secrets.{name}"
        if not NAME.fullmatch(name):
            problems.append(ConfigProblem(env.where(key), key, f"{name!r} is not a valid secret name: "
                                          "1-127 letters, digits and '-'"))
        elif not available(env, source):
            needs = ", ".join(SOURCES[source][0])
            problems.append(ConfigProblem(env.where(key), key, f"skipped: its value comes from {needs}, "
                                          "which this build does not provision", severity="warning"))
    return problems
