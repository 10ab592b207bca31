"""A database-url rewrite that resets the admin password is named in the plan and refused in production unless asked
(steps/key_vault_secret.py credential_touched, provisioner/engine/reconciler.py); "entra" sign-in touches nothing.
Configuration comes from a copy of the env files; the change is decided from a live body shaped like ARM's."""

from __future__ import annotations

from pathlib import Path

from provisioner.core.model import Action, Change, HoldKind, PropertyChange, ResourceRef
from provisioner.engine.reconciler import Policy, _credential
from tests.support import password_sign_in, session, step

SERVER = {"id": "/pg", "properties": {"fullyQualifiedDomainName": "fundrbolt-dev-pg.postgres.database.azure.com"}}
APP = {"id": "/site/config/appsettings", "properties": {
    "DATABASE_URL": "@Microsoft.KeyVault(SecretUri=https://fundrbolt-dev-kv.vault.azure.net/secrets/database-url/)"}}


def secret_ref() -> ResourceRef:
    return ResourceRef("00000000-0000-0000-0000-000000000000", "fundrbolt-dev-rg", "Microsoft.KeyVault/vaults/secrets",
                       "database-url")


def _change(action: Action = Action.UPDATE) -> Change:
    props = (PropertyChange("properties.valueSha256", "no fingerprint: not written by the provisioner", "abc"),)
    return Change("key_vault_secret:database-url", secret_ref(),
                  action, props, "differs")


def test_the_reset_is_named_everywhere_and_refused_only_in_production(tmp_path: Path) -> None:
    secret = step(session("dev", password_sign_in(tmp_path)), "key_vault_secret:database-url")
    named = _credential(secret, _change(), {"postgres_server": SERVER, "app_settings": APP}, Policy(), production=False)
    assert "resets the admin password of PostgreSQL server fundrbolt-dev-pg" in named.reason and named.hold is None
    refused = _credential(secret, _change(), {"postgres_server": SERVER, "app_settings": APP}, Policy(), production=True)
    assert refused.hold is not None and refused.hold.kind is HoldKind.REFUSED
    assert "--allow-credential-reset" in refused.hold.why
    asked = _credential(secret, _change(), {"postgres_server": SERVER, "app_settings": APP}, Policy(allow_credential_reset=True), True)
    assert asked.hold is None and "resets the admin password" in asked.reason


def test_nothing_is_reset_for_a_new_server_a_tag_change_or_entra_sign_in(tmp_path: Path) -> None:
    secret = step(session("dev", password_sign_in(tmp_path)), "key_vault_secret:database-url")
    # the server is created in this run: its password is the one this run sets
    assert _credential(secret, _change(Action.CREATE), {"postgres_server": None}, Policy(), True).hold is None
    # no app settings referencing it yet (a first run resumed after a kill): nothing holds the password
    for settings in (None, {"id": "/s", "properties": {"WEBSITES_PORT": "8000"}}):
        assert _credential(secret, _change(), {"postgres_server": SERVER, "app_settings": settings}, Policy(),
                           True) == _change()
    tags_only = Change("key_vault_secret:database-url", _change().ref, Action.UPDATE,
                       (PropertyChange("tags.owner", "a", "b"),), "differs")
    assert _credential(secret, tags_only, {"postgres_server": SERVER, "app_settings": APP}, Policy(), True) == tags_only
    entra = step(session("dev"), "key_vault_secret:database-url")  # the shipped files: "entra"
    on_identity = {**APP, "properties": {**APP["properties"], "AZURE_CLIENT_ID": "3b0e7c1d-0000-4000-8000-000000000001"}}
    assert _credential(entra, _change(), {"postgres_server": SERVER, "app_settings": on_identity}, Policy(), True) == _change()


def test_validate_warns_where_the_app_signs_in_with_the_admin_password(tmp_path: Path) -> None:
    """The shipped files sign the app in with its identity (no warning); "password" is allowed and said plainly."""
    assert not [w for w in session("production").warnings if w.key == "postgres.app_sign_in"]
    warned = [w for w in session("production", password_sign_in(tmp_path)).warnings if w.key == "postgres.app_sign_in"]
    assert len(warned) == 1 and warned[0].severity == "warning"
    assert "admin login" in warned[0].message and "'entra'" in warned[0].message


def test_switching_a_running_app_to_its_identity_is_named_and_production_asks() -> None:
    """The shipped files sign the app in with its identity. Where the running app still has no AZURE_CLIENT_ID (it
    signs in with the password), rewriting database-url switches it: named, refused in production unless asked."""
    secret = step(session("production"), "key_vault_secret:database-url")
    server = {**SERVER, "properties": {"fullyQualifiedDomainName": "fundrbolt-production-pg.postgres.database.azure.com"}}
    switching = _credential(secret, _change(), {"postgres_server": server, "app_settings": APP}, Policy(), True)
    assert "switches the app's database sign-in to its managed identity" in switching.reason
    assert switching.hold is not None and switching.hold.kind is HoldKind.REFUSED
    asked = _credential(secret, _change(), {"postgres_server": server, "app_settings": APP},
                        Policy(allow_credential_reset=True), True)
    assert asked.hold is None and "switches" in asked.reason
    on_identity = {**APP, "properties": {**APP["properties"], "AZURE_CLIENT_ID": "3b0e7c1d-0000-4000-8000-000000000001"}}
    assert _credential(secret, _change(), {"postgres_server": server, "app_settings": on_identity}, Policy(), True) == _change()
