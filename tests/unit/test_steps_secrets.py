"""Key Vault secrets and the app settings that reference them, against autospec'd SDK clients."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any
from unittest.mock import create_autospec

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

from provisioner.diff import diff
from provisioner.model import SENSITIVE, UNKNOWN, Action, PropertyChange
from provisioner.reconciler import Policy, decide
from provisioner.render import plan_json, plan_text
from steps import _secret_values as sv
from tests.support import autospec_clients, session, step

RG = "fundrbolt-dev-rg"
VAULT_URI = "https://fundrbolt-dev-kv.vault.azure.net/"
PASSWORD = "Pa55-word_with.symbols~"
REDIS_KEY = "redisPrimaryKey+/=="
KNOWN = {
    "key_vault": {"id": "/kv", "properties": {"vaultUri": VAULT_URI}},
    "postgres_server": {"id": "/pg", "properties": {"fullyQualifiedDomainName": "fundrbolt-dev-pg.postgres.database.azure.com",
                                                    "administratorLogin": "fundrboltadmin"}},
    "postgres_database": {"id": "/pgdb", "properties": {}},
    "redis": {"id": "/redis", "properties": {"hostName": "fundrbolt-dev-redis.redis.cache.windows.net", "sslPort": 6380}},
}
DB_URL = (f"postgresql://fundrboltadmin:{PASSWORD}@fundrbolt-dev-pg.postgres.database.azure.com:5432/fundrbolt"
          "?sslmode=require")
REDIS_URL = "rediss://:redisPrimaryKey%2B%2F%3D%3D@fundrbolt-dev-redis.redis.cache.windows.net:6380/0"


class _Response:
    def __init__(self, status: int, code: str):
        self.status_code, self.reason, self.content_type = status, "error", "application/json"
        self.headers: dict[str, str] = {}
        self.request = None
        self._text = json.dumps({"error": {"code": code, "message": f"{code} (no value in here)"}})

    def text(self, encoding=None):
        return self._text

    def body(self):
        return self._text.encode()


def planned(step, clients, known):
    """What the engine does: gather the inputs no GET returns, then compute the (pure) desired state."""
    step.gather(clients, known)
    return step.desired(known)


def not_found() -> ResourceNotFoundError:
    response: Any = _Response(404, "SecretNotFound")
    return ResourceNotFoundError(response=response)


def bundle(name: str, value: str, tags: dict | None = None, enabled: bool = True) -> SimpleNamespace:
    props = SimpleNamespace(tags=tags, content_type=None, enabled=enabled, created_on=None, updated_on=None)
    return SimpleNamespace(id=f"{VAULT_URI}secrets/{name}/v1", name=name, value=value, properties=props)


@pytest.fixture
def dev():
    return session("dev")


@pytest.fixture
def c():
    clients = autospec_clients()
    kv = create_autospec(SecretClient, instance=True)
    clients.secrets = lambda url: kv  # one data-plane client per vault, as provisioner.azure caches it
    clients.kv = kv
    clients.keyvault.vaults.get.return_value = KNOWN["key_vault"]
    clients.redis.redis.list_keys.return_value = SimpleNamespace(primary_key=REDIS_KEY, secondary_key="other")
    return clients


def store(c, secrets: dict[str, str]) -> None:
    """The vault's content: get_secret answers from it, 404 otherwise."""
    def get(name, version=None, **kw):
        if name not in secrets:
            raise not_found()
        return bundle(name, secrets[name], tags=session("dev").env.tags)
    c.kv.get_secret.side_effect = get


def test_value_renderers_quote_what_urls_cannot_carry():
    assert sv.postgres_url("admin", "p@ss:/w", "h", "db") == "postgresql://admin:p%40ss%3A%2Fw@h:5432/db?sslmode=require"
    assert sv.redis_url("a+b/c=", "h", 6380) == "rediss://:a%2Bb%2Fc%3D@h:6380/0"
    assert sv.key_vault_reference("https://v.vault.azure.net/", "x") == "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/x/)"
    assert sv.key_vault_reference("https://v.vault.azure.net", "x").endswith("net/secrets/x/)")


def test_read_returns_hash_and_attributes_never_the_value(c, dev):
    s = step(dev, "key_vault_secret:database-url")
    store(c, {"database-url": DB_URL})
    body = s.read(c)
    assert c.keyvault.vaults.get.call_args.args == (RG, "fundrbolt-dev-kv")
    c.kv.get_secret.assert_called_with("database-url")
    assert body["properties"]["valueSha256"] == sv.sha256(DB_URL)
    assert body["properties"]["attributes"]["enabled"] is True
    assert PASSWORD not in json.dumps(body) and DB_URL not in json.dumps(body)


def test_read_absent_secret_and_absent_vault(c, dev):
    s = step(dev, "key_vault_secret:jwt-signing-key")
    store(c, {})
    assert s.read(c) is None
    c.keyvault.vaults.get.return_value = None
    c.kv.get_secret.reset_mock()
    assert s.read(c) is None
    c.kv.get_secret.assert_not_called()


def test_values_are_unknown_until_their_resources_exist(c, dev):
    store(c, {"postgres-admin-password": PASSWORD})
    for name, missing in (("database-url", "postgres_server"), ("database-url", "key_vault"),
                          ("redis-url", "redis"), ("redis-url", "key_vault")):
        s = step(dev, f"key_vault_secret:{name}")
        s.read(c)
        assert planned(s, c, {**KNOWN, missing: None})["properties"]["valueSha256"] is UNKNOWN, (name, missing)


def test_database_url_from_server_password_secret_and_config(c, dev):
    s = step(dev, "key_vault_secret:database-url")
    assert s.depends_on == ("key_vault", "postgres_server", "postgres_database")
    store(c, {"postgres-admin-password": PASSWORD})
    assert s.read(c) is None
    desired = planned(s, c, KNOWN)
    assert desired["properties"]["valueSha256"] == sv.sha256(DB_URL)
    s.create(c, desired)
    c.kv.set_secret.assert_called_once_with("database-url", DB_URL, enabled=True, tags=s.tags())


def test_redis_url_from_list_keys(c, dev):
    s = step(dev, "key_vault_secret:redis-url")
    assert s.depends_on == ("key_vault", "redis")
    store(c, {})
    s.read(c)
    desired = planned(s, c, KNOWN)
    c.redis.redis.list_keys.assert_called_once_with(RG, "fundrbolt-dev-redis")
    assert desired["properties"]["valueSha256"] == sv.sha256(REDIS_URL)
    planned(s, c, KNOWN)  # asked again by the executor: keys are read once per run
    c.redis.redis.list_keys.assert_called_once()
    s.create(c, desired)
    assert c.kv.set_secret.call_args.args == ("redis-url", REDIS_URL)


def test_unchanged_value_is_noop_and_a_new_value_is_one_write(c, dev):
    s = step(dev, "key_vault_secret:redis-url")
    store(c, {"redis-url": REDIS_URL})
    observed = s.read(c)
    assert diff(planned(s, c, KNOWN), observed, s.rules).empty  # no new version when nothing changed

    c.redis.redis.list_keys.return_value = SimpleNamespace(primary_key="rotated", secondary_key="x")
    s._inputs.clear()  # a new run
    desired = planned(s, c, KNOWN)
    change = decide(s, desired, observed, Policy(), production=False)
    assert change.action is Action.UPDATE
    [p] = change.properties
    assert (p.path, p.before, p.after, p.sensitive) == ("properties.valueSha256", SENSITIVE, SENSITIVE, True)
    s.update(c, desired, observed, change.properties)
    c.kv.set_secret.assert_called_once()
    assert "rotated" in c.kv.set_secret.call_args.args[1]
    c.kv.update_secret_properties.assert_not_called()


def test_tag_drift_patches_properties_without_a_new_version(c, dev):
    s = step(dev, "key_vault_secret:database-url")
    store(c, {"postgres-admin-password": PASSWORD})
    s.read(c)
    desired = planned(s, c, KNOWN)
    s.update(c, desired, {}, (PropertyChange("tags.Owner", "someone", "operations"),))
    c.kv.update_secret_properties.assert_called_once_with("database-url", enabled=True, tags=s.tags())
    c.kv.set_secret.assert_not_called()


def test_generated_secret_is_created_once_and_never_rotated(c, dev):
    s = step(dev, "key_vault_secret:jwt-signing-key")
    assert s.depends_on == ("key_vault",)
    desired = s.desired({})
    assert "valueSha256" not in desired["properties"]  # "present", never "rotate"
    store(c, {})
    s.create(c, desired)
    name, value = c.kv.set_secret.call_args.args
    assert name == "jwt-signing-key" and len(value) >= 86  # token_urlsafe(64)
    store(c, {"jwt-signing-key": value})
    assert diff(desired, s.read(c), s.rules).empty
    s.update(c, desired, {}, (PropertyChange("properties.attributes.enabled", False, True),))
    c.kv.set_secret.assert_called_once()  # still only the first write
    c.kv.update_secret_properties.assert_called_once()


def test_soft_deleted_generated_secret_is_recovered_not_regenerated(c, dev):
    s = step(dev, "key_vault_secret:jwt-signing-key")
    conflict: Any = _Response(409, "Conflict")  # ObjectIsDeletedButRecoverable
    c.kv.set_secret.side_effect = HttpResponseError(response=conflict)
    s.create(c, s.desired({}))
    c.kv.begin_recover_deleted_secret.assert_called_once_with("jwt-signing-key")
    c.kv.update_secret_properties.assert_called_once()
    assert c.kv.set_secret.call_count == 1


def test_plan_and_errors_never_show_values(c, dev):
    s = step(dev, "key_vault_secret:database-url")
    store(c, {"postgres-admin-password": PASSWORD})
    s.read(c)
    change = decide(s, planned(s, c, KNOWN), None, Policy(), production=False)
    assert change.action is Action.CREATE
    hashed = next(p for p in change.properties if p.path == "properties.valueSha256")
    assert hashed.after == SENSITIVE and hashed.sensitive
    from provisioner.model import Plan
    text = plan_text(Plan("dev", (change,))) + plan_json(Plan("dev", (change,)))
    assert PASSWORD not in text and sv.sha256(DB_URL) not in text
    assert PASSWORD not in repr(s)


def test_app_settings_reference_secrets_versionless(c, dev):
    s = step(dev, "app_settings")
    assert {"key_vault", "key_vault_secret:database-url", "key_vault_secret:redis-url",
            "key_vault_secret:jwt-signing-key"} <= set(s.depends_on)
    props = s.desired(KNOWN)["properties"]
    assert props["DATABASE_URL"] == f"@Microsoft.KeyVault(SecretUri={VAULT_URI}secrets/database-url/)"
    assert props["REDIS_URL"] == f"@Microsoft.KeyVault(SecretUri={VAULT_URI}secrets/redis-url/)"
    assert props["JWT_SECRET_KEY"] == f"@Microsoft.KeyVault(SecretUri={VAULT_URI}secrets/jwt-signing-key/)"
    assert props["ENVIRONMENT"] == "dev"  # the plain settings stay
    assert s.desired({})["properties"]["DATABASE_URL"] is UNKNOWN  # until the vault exists
    s.create(c, s.desired(KNOWN))
    c.web.web_apps.update_application_settings.assert_called_once_with(RG, "fundrbolt-dev-api", s.desired(KNOWN))


def test_app_insights_connection_string_is_sensitive_when_registered(dev):
    s = step(dev, "app_settings")
    if "app_insights" not in dev.env.sections:
        assert "APPLICATIONINSIGHTS_CONNECTION_STRING" not in s.desired(KNOWN)["properties"]
        pytest.skip("the app_insights step is not registered in this build")
    assert "app_insights" in s.depends_on
    known = {**KNOWN, "app_insights": {"properties": {"ConnectionString": "InstrumentationKey=abc;IngestionEndpoint=x"}}}
    assert s.desired(known)["properties"]["APPLICATIONINSIGHTS_CONNECTION_STRING"].startswith("InstrumentationKey=")
    assert "properties.APPLICATIONINSIGHTS_CONNECTION_STRING" in s.rules.sensitive
    assert s.desired(KNOWN)["properties"]["APPLICATIONINSIGHTS_CONNECTION_STRING"] is UNKNOWN
