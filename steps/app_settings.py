"""Step: the web app's application settings, owned as a whole set (Microsoft.Web/sites/config appsettings)."""

from __future__ import annotations

import re
from typing import Any

from provisioner.azure import call, raw
from provisioner.core.contract import DEPLOY_MARKER, OWNED_BY_DEPLOYMENTS
from provisioner.core.errors import ConfigProblem
from provisioner.core.redact import secret_name
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules
from steps import _app_secrets, _kv_references
from steps._fields import ECHOED_LOCATION, PLATFORM, SdkModel, nm
from steps.deployment_slot import swap_warmup_settings
from steps.web_app import Config as WebAppConfig
from steps.web_app import SiteChild

SECTION = None  # configured by [web_app.app_settings] and [web_app.key_vault_references]
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|KEY|CONNECTION)", re.IGNORECASE)
# The deploy marker moves with the image on a swap and is set by `deploy backend`: never drift, and a repair
# of the set keeps it (provisioner/engine/carry.py), or the app would restart without it.
DEPLOYED_SETTINGS = ((DEPLOY_MARKER, OWNED_BY_DEPLOYMENTS),)


def settings_rules(plain_values: dict[str, str]) -> Rules:
    """App settings (the app's or the slot's) are owned whole and masked by default: a setting is shown in clear
    only when an env file declares it with a plain value (it is in the repository already) and its name does
    not look like a secret's. A setting added by hand (DB_PASS, a DSN, a PEM key) is (sensitive) whatever its
    name or value; a Key Vault reference is shown as the reference it is (provisioner/engine/diff.py)."""
    plain = tuple(f"properties.{k}" for k in plain_values if not SECRET_NAME.search(k) and not secret_name(k))
    # Setting names are literal: fnmatch must not read `[` in a name as a pattern.
    return Rules(exact=("properties",), sensitive=("properties.*",),
                 plain=tuple(p.replace("[", "[[]") for p in plain), managed_keys=DEPLOYED_SETTINGS)


class AppSettings(SiteChild):
    type = "Microsoft.Web/sites/config"
    model = SdkModel("azure.mgmt.web.models", "StringDictionary")
    not_managed = (
        nm(PLATFORM, "kind") + nm(ECHOED_LOCATION, "location")
    )
    needs = ("web_app",)

    @property
    def depends_on(self) -> tuple[str, ...]:
        # key_vault_access first: a Key Vault reference resolved before the app's identity holds its role
        # stays unresolved on real Azure until the next refresh (up to 24 hours).
        refs = _app_secrets.dependencies(self.env)
        return (*self.needs, *refs, *(("key_vault_access",) if refs else ()))

    @property
    def settings(self) -> dict[str, str]:
        return {**swap_warmup_settings(self.env), **self.env.section("web_app", WebAppConfig).app_settings}

    @property
    def rules(self) -> Rules:  # type: ignore[override]
        # The PUT replaces the whole set (azure-sdk-facts §1 App settings), so we own it whole: a setting
        # added by hand is drift. Only the env files' plain settings are shown in clear; the App Insights
        # connection string (it carries the instrumentation key) and anything else are (sensitive).
        return settings_rules(self.settings)

    def desired(self, known: Any) -> dict[str, Any]:
        # Key Vault references (versionless SecretUri) and the App Insights connection string join the
        # plain settings; they are UNKNOWN until the vault / component exists.
        return {"properties": {**self.settings, **_app_secrets.settings(self.env, known)}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        # POST .../appsettings/list: GET /sites never returns app settings.
        return raw(clients.web.web_apps.list_application_settings, self.resource_group, self.env.resource_name("web_app"))

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.web.web_apps.update_application_settings, self.resource_group, self.env.resource_name("web_app"), desired)
        # Written is not working: each Key Vault reference must resolve (secret, role, network), or the app
        # starts with the literal '@Microsoft.KeyVault(...)' as its DATABASE_URL.
        _kv_references.await_resolved(clients, self.resource_group, self.env.resource_name("web_app"), None,
                                      _app_secrets.references(self.env))

    def delete(self, clients: Any) -> None:
        call(clients.web.web_apps.update_application_settings, self.resource_group, self.env.resource_name("web_app"), {"properties": {}})


def instances(env: EnvironmentSpec) -> list[AppSettings]:
    return [AppSettings(env, "app_settings", "appsettings")]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    return _app_secrets.validate(env)
