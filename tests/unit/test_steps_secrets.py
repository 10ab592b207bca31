"""Key Vault secrets and the app settings that reference them, against autospec'd SDK clients."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from provisioner.cli.render import plan_json, plan_text
from provisioner.core.errors import ProvisionerError
from provisioner.core.model import SENSITIVE, UNKNOWN, Action, PropertyChange
from provisioner.engine.diff import diff
from provisioner.engine.reconciler import Policy, decide
from steps import _secret_values as sv
from steps import postgres_server as pg
from tests.support import autospec_clients, step

RG = "fundrbolt-dev-rg"
VAULT_URI = "https://fundrbolt-dev-kv.vault.azure.net/"
PASSWORD = "Pa55-word_with.symbols~"
REDIS_KEY = "redisPrimaryKey+/=="
VAULT_ID = f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/fundrbolt-dev-kv"
KNOWN = {
    "key_vault": {"id": VAULT_ID, "properties": {"vaultUri": VAULT_URI}},
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


class Vault:
    """The control plane's view of a vault (Microsoft.KeyVault/vaults/secrets): a PUT adds a version, a PATCH
    changes tags/attributes, a GET shows tags and attributes of the latest version and never a value."""

    def __init__(self, c):
        self.values: dict[str, str] = {}
        self.tags: dict[str, dict] = {}
        self.versions: dict[str, int] = {}
        c.keyvault.secrets.get.side_effect = self.get
        c.keyvault.secrets.create_or_update.side_effect = self.put
        c.keyvault.secrets.update.side_effect = self.patch

    def put(self, rg, vault, name, body, **kw):
        assert (rg, vault) == (RG, "fundrbolt-dev-kv")
        self.values[name] = body["properties"]["value"]
        self.tags[name] = dict(body.get("tags") or {})
        self.versions[name] = self.versions.get(name, 0) + 1

    def patch(self, rg, vault, name, body, **kw):
        self.tags[name] = dict(body["tags"])

    def get(self, rg, vault, name, **kw):
        if name not in self.values:
            raise not_found()
        uri = f"{VAULT_URI}secrets/{name}"
        return {"id": f"{VAULT_ID}/secrets/{name}", "name": name, "tags": dict(self.tags[name]),
                "properties": {"attributes": {"enabled": True}, "secretUri": uri,
                               "secretUriWithVersion": f"{uri}/v{self.versions[name]}"}}


@pytest.fixture
def c():
    clients = autospec_clients()
    # The deploying machine never uses a vault's data plane: its firewall keeps it out.
    clients.secrets = lambda url: pytest.fail(f"data plane of {url} used")
    clients.redis.redis.list_keys.return_value = SimpleNamespace(primary_key=REDIS_KEY, secondary_key="other")
    clients.vault = Vault(clients)
    return clients


def test_value_renderers_quote_what_urls_cannot_carry():
    assert sv.postgres_url("admin", "p@ss:/w", "h", "db") == "postgresql://admin:p%40ss%3A%2Fw@h:5432/db?sslmode=require"
    assert sv.redis_url("a+b/c=", "h", 6380) == "rediss://:a%2Bb%2Fc%3D@h:6380/0"
    assert sv.key_vault_reference("https://v.vault.azure.net/", "x") == "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/x/)"
    assert sv.key_vault_reference("https://v.vault.azure.net", "x").endswith("net/secrets/x/)")


def test_read_returns_the_fingerprint_and_attributes_never_a_value(c, dev):
    s = step(dev, "key_vault_secret:database-url")
    c.vault.put(RG, "fundrbolt-dev-kv", "database-url", {"tags": {**dev.env.tags, sv.FINGERPRINT_TAG: "f1"},
                                                         "properties": {"value": DB_URL}})
    body = s.read(c)
    assert c.keyvault.secrets.get.call_args.args == (RG, "fundrbolt-dev-kv", "database-url")
    assert body["properties"]["valueSha256"] == "f1" and body["tags"] == dev.env.tags  # the tag is not a tag here
    assert body["properties"]["attributes"]["enabled"] is True
    assert PASSWORD not in json.dumps(body) and DB_URL not in json.dumps(body)


def test_read_absent_secret(c, dev):
    assert step(dev, "key_vault_secret:jwt-signing-key").read(c) is None


def test_values_are_unknown_until_their_resources_exist(c, dev):
    for name, missing in (("database-url", "postgres_server"), ("redis-url", "redis")):
        s = step(dev, f"key_vault_secret:{name}")
        assert planned(s, c, {**KNOWN, missing: None})["properties"]["valueSha256"] is UNKNOWN, (name, missing)


def written_password(c, dev) -> str:
    """What postgres_server's create did earlier in this run: a new password, stored through ARM."""
    return pg.admin_password(c, step(dev, "postgres_server").desired(KNOWN)["properties"]["administratorLoginPassword"])


def test_database_url_is_built_from_the_password_this_run_stored(c, dev_password):
    dev = dev_password
    s = step(dev, "key_vault_secret:database-url")
    assert s.depends_on == ("key_vault", "postgres_server", "postgres_database")
    password = written_password(c, dev)
    desired = planned(s, c, KNOWN)
    # The fingerprint covers everything but the password, which is never read back.
    assert desired["properties"]["valueSha256"] == sv.sha256(DB_URL.replace(PASSWORD, ""))
    s.create(c, desired)
    assert c.vault.values["database-url"] == DB_URL.replace(PASSWORD, password)
    assert c.vault.tags["database-url"][sv.FINGERPRINT_TAG] == desired["properties"]["valueSha256"]
    c.postgres.servers.begin_update.assert_not_called()
    assert diff(desired, s.read(c), s.rules).empty


def test_database_url_without_a_password_in_hand_sets_a_new_one(c, dev_password):
    dev = dev_password
    # e.g. a first run stopped between the server and the URL: the stored password cannot be read back.
    s = step(dev, "key_vault_secret:database-url")
    s.create(c, planned(s, c, KNOWN))
    password = c.vault.values["postgres-admin-password"]
    c.postgres.servers.begin_update.assert_called_once_with(
        RG, "fundrbolt-dev-pg", {"properties": {"administratorLoginPassword": password}})
    assert c.vault.values["database-url"] == DB_URL.replace(PASSWORD, password)


def test_database_url_with_entra_sign_in_names_the_app_identity_and_holds_no_password(c, dev):
    # The shipped files: the app signs in with the user-assigned identity's token (envs/common.toml).
    s = step(dev, "key_vault_secret:database-url")
    s.create(c, planned(s, c, KNOWN))
    assert c.vault.values["database-url"] == ("postgresql://fundrbolt-dev-app-id@fundrbolt-dev-pg.postgres.database"
                                              ".azure.com:5432/fundrbolt?sslmode=require")
    c.postgres.servers.begin_update.assert_not_called()  # no password was reset to write it
    assert "postgres-admin-password" not in c.vault.values


def test_redis_url_from_list_keys(c, dev_cache):
    s = step(dev_cache, "key_vault_secret:redis-url")
    assert s.depends_on == ("key_vault", "redis")
    desired = planned(s, c, KNOWN)
    c.redis.redis.list_keys.assert_called_once_with(RG, "fundrbolt-dev-redis")
    assert desired["properties"]["valueSha256"] == sv.sha256(REDIS_URL)
    planned(s, c, KNOWN)  # asked again by the executor: keys are read once per run
    c.redis.redis.list_keys.assert_called_once()
    s.create(c, desired)
    assert c.vault.values["redis-url"] == REDIS_URL
    assert c.vault.tags["redis-url"] == {**s.tags(), sv.FINGERPRINT_TAG: sv.sha256(REDIS_URL)}


def test_unchanged_value_is_noop_and_a_new_value_is_one_write(c, dev_cache):
    s = step(dev_cache, "key_vault_secret:redis-url")
    s.create(c, planned(s, c, KNOWN))
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
    assert c.vault.versions["redis-url"] == 2 and "rotated" in c.vault.values["redis-url"]
    c.keyvault.secrets.update.assert_not_called()


def test_a_version_set_by_hand_lacks_the_fingerprint_and_is_drift(c, dev_cache):
    s = step(dev_cache, "key_vault_secret:redis-url")
    desired = planned(s, c, KNOWN)
    s.create(c, desired)
    c.vault.put(RG, "fundrbolt-dev-kv", "redis-url", {"tags": dict(dev_cache.env.tags), "properties": {"value": "pasted"}})
    change = decide(s, desired, s.read(c), Policy(), production=False)
    assert [p.path for p in change.properties] == ["properties.valueSha256"]


def test_tag_drift_patches_without_a_new_version(c, dev_cache):
    s = step(dev_cache, "key_vault_secret:redis-url")
    desired = planned(s, c, KNOWN)
    s.create(c, desired)
    s.update(c, desired, s.read(c), (PropertyChange("tags.Owner", "someone", "operations"),))
    rg, vault, name, body = c.keyvault.secrets.update.call_args.args
    assert (rg, vault, name) == (RG, "fundrbolt-dev-kv", "redis-url")
    assert body == {"tags": {**s.tags(), sv.FINGERPRINT_TAG: sv.sha256(REDIS_URL)},
                    "properties": {"attributes": {"enabled": True}}}
    assert c.vault.versions["redis-url"] == 1


def test_generated_secret_is_created_once_and_never_rotated(c, dev):
    s = step(dev, "key_vault_secret:jwt-signing-key")
    assert s.depends_on == ("key_vault",)
    desired = s.desired({})
    assert "valueSha256" not in desired["properties"]  # "present", never "rotate"
    s.create(c, desired)
    assert len(c.vault.values["jwt-signing-key"]) >= 86  # token_urlsafe(64)
    assert sv.FINGERPRINT_TAG not in c.vault.tags["jwt-signing-key"]
    assert diff(desired, s.read(c), s.rules).empty
    s.update(c, desired, {}, (PropertyChange("properties.attributes.enabled", False, True),))
    assert c.vault.versions["jwt-signing-key"] == 1  # still only the first write
    c.keyvault.secrets.update.assert_called_once()


def test_soft_deleted_secret_is_left_to_a_person(c, dev):
    s = step(dev, "key_vault_secret:jwt-signing-key")
    conflict: Any = _Response(409, "Conflict")  # ObjectIsDeletedButRecoverable
    c.keyvault.secrets.create_or_update.side_effect = HttpResponseError(response=conflict)
    with pytest.raises(ProvisionerError, match="soft-deleted.*az keyvault secret recover"):
        s.create(c, s.desired({}))


def test_plan_and_errors_never_show_values(c, dev):
    s = step(dev, "key_vault_secret:database-url")
    written_password(c, dev)
    change = decide(s, planned(s, c, KNOWN), None, Policy(), production=False)
    assert change.action is Action.CREATE
    hashed = next(p for p in change.properties if p.path == "properties.valueSha256")
    assert hashed.after == SENSITIVE and hashed.sensitive
    from provisioner.core.model import Plan
    text = plan_text(Plan("dev", (change,))) + plan_json(Plan("dev", (change,)))
    assert PASSWORD not in text and hashed.after == SENSITIVE and sv.sha256(DB_URL.replace(PASSWORD, "")) not in text
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
    desired = s.desired(known)
    observed = {"properties": {**desired["properties"], "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=old"}}
    [change] = diff(desired, observed, s.rules).changes
    assert (change.path, change.before, change.after, change.sensitive) == (
        "properties.APPLICATIONINSIGHTS_CONNECTION_STRING", SENSITIVE, SENSITIVE, True)
    assert s.desired(KNOWN)["properties"]["APPLICATIONINSIGHTS_CONNECTION_STRING"] is UNKNOWN
