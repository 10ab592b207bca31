"""Step: the app's Key Vault secrets, written only when their value changes (Microsoft.KeyVault/vaults/secrets)."""

from __future__ import annotations

import re
import secrets as token
from typing import Any, Literal

from provisioner.azure import call
from provisioner.core.errors import AzureCallError, ConfigProblem, ProvisionerError
from provisioner.core.model import UNKNOWN, PropertyChange
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules
from steps import _secret_values as sv
from steps._base import ArmStep
from steps._fields import SdkModel, nm
from steps.app_identity import CLIENT_ID_SETTING
from steps.postgres_server import PASSWORD_SECRET as POSTGRES_PASSWORD_SECRET
from steps.postgres_server import SECTION as POSTGRES_SECTION
from steps.postgres_server import Config as PostgresConfig
from steps.postgres_server import reset_password
from steps.redis import SECTION as REDIS_SECTION
from steps.redis import kind_of as redis_kind

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


class KeyVaultSecret(ArmStep):
    """Written and read through the ARM control plane (Microsoft.KeyVault/vaults/secrets), to which the vault's
    firewall does not apply: the deploying machine never needs the data plane. ARM never returns a value, so
    the fingerprint of what was written rides along as a tag and is compared instead (HASH)."""

    type = "Microsoft.KeyVault/vaults/secrets"
    holds_data = True  # a deleted JWT key logs every user out; secrets are soft-deleted, not gone
    # read() shows the fingerprint tag as properties.valueSha256, shown as (sensitive) (azure-sdk-facts §1
    # KV secret: "every set_secret creates a new version: compare a hash").
    model = SdkModel("azure.mgmt.keyvault.models", "Secret")  # the ARM (management-plane) secret body read() returns
    _NOT_MANAGED = nm("a descriptive label only", "properties.contentType")
    rules = Rules(sensitive=(HASH,),
                  # The value is compared through its fingerprint (HASH); ARM never returns the value itself.
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
        self._inputs: dict[str, str] = {}  # cache of inputs no GET returns (Redis key), this run only
        self._values: dict[str, str] = {}  # fingerprint -> value to write; never leaves this object
        self._known: Any = {}  # what gather() saw, for the values assembled at write time

    def __repr__(self) -> str:  # no values, ever
        return f"<KeyVaultSecret {self.name}>"

    @property
    def depends_on(self) -> tuple[str, ...]:
        if self.source == "redis" and redis_kind(self.env) == "managed":
            # Written only once the Managed Redis database exists and is read back: the secret never names a
            # cache that does not exist (docs/managed-redis.md, "Moving a running environment").
            return ("key_vault", "redis", "redis_database")
        if self._entra() and self.env.section(POSTGRES_SECTION, PostgresConfig).entra_admin:
            # The URL names the app identity's role: written once that role exists (its Entra administrator), so
            # the app settings write that follows (and restarts the app) never starts it on a role still missing.
            return ("key_vault", *SOURCES[self.source][0], "postgres_entra_admin")
        return ("key_vault", *SOURCES[self.source][0])

    def parent_path(self) -> str:
        return f"vaults/{self.vault}"

    @property
    def vault(self) -> str:
        return self.env.resource_name("key_vault")

    @property
    def vault_id(self) -> str:
        return (f"/subscriptions/{self.env.subscription_id}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.KeyVault/vaults/{self.vault}")

    # -- desired -------------------------------------------------------------------------------------
    def desired(self, known: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"tags": self.tags(), "properties": {"attributes": {"enabled": True}}}
        if self.source != "generated":
            # A generated secret is exists-or-create ("present"): no fingerprint, so it is never rotated.
            body["properties"]["valueSha256"] = self._fingerprint(known)
        return body

    def _fingerprint(self, known: Any) -> Any:
        if self.source == "postgres":
            # The password is never read back, so the fingerprint covers what the URL is built from besides
            # it; the value is assembled at write time from the password this run holds (or sets).
            parts = self._postgres_parts(known)
            if parts is None:
                return UNKNOWN
            login, host, database = parts
            if self._entra():
                return sv.sha256(sv.postgres_entra_url(login, host, database))
            return sv.sha256(sv.postgres_url(login, "", host, database))
        value = self._redis_value(known)
        if value is None:
            return UNKNOWN
        digest = sv.sha256(value)
        self._values[digest] = value
        return digest

    def _postgres_parts(self, known: Any) -> tuple[str, str, str] | None:
        host = (((known.get("postgres_server") or {}).get("properties")) or {}).get("fullyQualifiedDomainName")
        if not host:
            return None
        # entra: the app's user-assigned identity is the Entra administrator named after it (postgres_entra_admin.py)
        login = (self.env.resource_name("app_identity") if self._entra()
                 else self.env.section(POSTGRES_SECTION, PostgresConfig).administrator_login)
        return login, host, self.env.resource_name("postgres_database")

    def _entra(self) -> bool:
        return self.source == "postgres" and self.env.section(POSTGRES_SECTION, PostgresConfig).app_sign_in == "entra"

    def _referenced(self, known: Any) -> bool:
        """Whether the app's or the slot's live settings reference this secret (a Key Vault reference's URI)."""
        for name in ("app_settings", "slot_app_settings"):
            props = ((known.get(name) or {}).get("properties")) or {}
            if any(f"/secrets/{self.resource_name.lower()}" in str(v).lower() for v in props.values()):
                return True
        return False

    def credential_touched(self, change: Any, known: Any) -> str | None:
        """Rewriting the password URL of a server that already exists resets the server's admin password (the run
        never reads the stored one): the app, holding the old one until it restarts, is refused meanwhile. Only
        once the app's settings reference the secret: before (a first run, or one resumed after a kill) nothing
        holds the password. Switching a running app to its managed identity is named too: the version it runs signs
        in from its next restart with the new URL, so it must support tokens."""
        known = known or {}
        if self.source != "postgres" or not known.get("postgres_server") or not self._referenced(known):
            return None
        if not (change.action.value == "create" or any(c.path == HASH for c in change.properties)):
            return None
        if self._entra():
            live = ((known.get("app_settings") or {}).get("properties")) or {}
            if CLIENT_ID_SETTING in live:
                return None  # the app already signs in with its identity: the URL holds nothing to lose
            return ("switches the app's database sign-in to its managed identity (no password in DATABASE_URL): the "
                    "running version must sign in with a token, or it is refused from its next restart")
        server = self.env.resource_name("postgres_server")
        return (f"resets the admin password of PostgreSQL server {server} to write it: the app signs in with that "
                "password and is refused until it restarts (set [postgres] app_sign_in = \"entra\" to avoid it)")

    def _keyed(self, known: Any) -> dict[str, Any] | None:
        """The resource whose listKeys gives the key: the cache, or the Managed Redis database."""
        return known.get("redis_database" if redis_kind(self.env) == "managed" else "redis")

    def _redis_value(self, known: Any) -> str | None:
        """Pure: the access key GET never returns was read by gather(). The host is the cache's or the Managed
        Redis cluster's hostName; the port is the cache's sslPort (6380) or the database's port (10000)."""
        cache = known.get("redis")
        props = (cache or {}).get("properties") or {}
        keyed = self._keyed(known)
        key = self._inputs.get(f"redis:{(keyed or {}).get('id')}")
        if key is None or not props.get("hostName") or keyed is None:
            return None
        if redis_kind(self.env) == "managed":
            port = int((keyed.get("properties") or {}).get("port") or 10000)
        else:
            port = props.get("sslPort", 6380)
        return sv.redis_url(key, props["hostName"], port)

    def gather(self, clients: Any, known: Any) -> None:
        """The Redis access key (POST listKeys): kept in memory for this run only, never in a plan or a log."""
        keyed = self._keyed(known) if self.source == "redis" else None
        if keyed and f"redis:{keyed.get('id')}" not in self._inputs:
            if redis_kind(self.env) == "managed":
                value = sv.managed_redis_primary_key(clients, self.resource_group,
                                                     self.env.resource_name("managed_redis"))
            else:
                value = sv.redis_primary_key(clients, self.resource_group, self.env.resource_name("redis"))
            if value is not None:  # not cached when absent: it may exist by the time the executor asks again
                self._inputs[f"redis:{keyed.get('id')}"] = value
        self._known = known

    # -- I/O -----------------------------------------------------------------------------------------
    def read(self, clients: Any) -> dict[str, Any] | None:
        body = sv.arm_secret(clients, self.vault_id, self.resource_name)
        if body is None:
            return None
        tags = dict(body.get("tags") or {})
        fingerprint = tags.pop(sv.FINGERPRINT_TAG, None)
        props = dict(body.get("properties") or {})
        # A version without our tag was set by someone else: its value is unknown, so it differs from ours.
        props["valueSha256"] = fingerprint or "no fingerprint: not written by the provisioner"
        return {**body, "tags": tags, "properties": props}

    def _new_value(self, clients: Any, desired: dict[str, Any]) -> str:
        if self.source == "generated":
            return token.token_urlsafe(64)
        fingerprint = desired["properties"].get("valueSha256")
        if self.source == "postgres":
            parts = self._postgres_parts(self._known or {})
            if parts is None:
                raise ProvisionerError(f"{self.name}: the PostgreSQL server is not known yet")
            if self._entra():
                return sv.postgres_entra_url(*parts)  # no credential: nothing is reset, nothing to rotate
            password = sv.written(self.vault_id, POSTGRES_PASSWORD_SECRET)
            if password is None:
                # The password exists only in the vault, and the tool never reads it back: set a new one
                # (stored first, then on the server) rather than open the vault's data plane to this machine.
                password = reset_password(clients, self.resource_group, self.env.resource_name("postgres_server"),
                                          self.vault_id)
            return sv.postgres_url(parts[0], password, parts[1], parts[2])
        value = self._values.get(fingerprint)
        if value is None:
            raise ProvisionerError(f"{self.name}: its value could not be resolved from {', '.join(self.depends_on)}")
        return value

    def _tags(self, desired: dict[str, Any]) -> dict[str, str]:
        tags = dict(desired["tags"])
        if desired["properties"].get("valueSha256"):
            tags[sv.FINGERPRINT_TAG] = desired["properties"]["valueSha256"]
        return tags

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        # The value first: for database-url it may reset the server's password (a PATCH whose busy 409 is retried
        # like any other); only the secret write's own 409 means a soft-deleted name.
        value = self._new_value(clients, desired)
        try:
            self._write(clients, desired, value)
        except AzureCallError as exc:
            if exc.status != 409:
                raise
            # A soft-deleted secret keeps its name (azure-sdk-facts §8) and only the data plane recovers it:
            # that needs a data-plane role and a firewall opening, which the tool never has by design.
            raise ProvisionerError(
                f"{self.name}: secret {self.resource_name} is soft-deleted in vault {self.vault}; recover it "
                f"(az keyvault secret recover --vault-name {self.vault} --name {self.resource_name}) from a "
                "machine the vault admits, then run provision again") from None

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any],
               changes: tuple[PropertyChange, ...]) -> None:
        if any(c.path == HASH for c in changes):
            self._write(clients, desired)  # the only case that makes a new version
            return
        # tags/enabled only (PATCH): same version, value untouched; the fingerprint tag is kept.
        rg, vault = sv.vault_parts(self.vault_id)
        call(clients.keyvault.secrets.update, rg, vault, self.resource_name,
             {"tags": self._tags(desired), "properties": {"attributes": desired["properties"]["attributes"]}})

    def _write(self, clients: Any, desired: dict[str, Any], value: str | None = None) -> None:
        sv.arm_write(clients, self.vault_id, self.resource_name,
                     self._new_value(clients, desired) if value is None else value, self._tags(desired),
                     enabled=desired["properties"]["attributes"]["enabled"])

    def delete(self, clients: Any) -> None:
        # The control plane has no delete for secrets: only the data plane (soft delete) does, and it needs
        # access the tool does not hold. Deleting a secret is a person's decision.
        raise ProvisionerError(f"{self.name}: delete secret {self.resource_name} by hand (az keyvault secret delete)")


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
