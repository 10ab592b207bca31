"""The app settings derived from other resources: Key Vault references, the App Insights connection string and the
database identity's client id."""

from __future__ import annotations

from typing import Any

from provisioner.core.errors import ConfigProblem
from provisioner.core.model import UNKNOWN
from provisioner.engine.config import EnvironmentSpec
from steps import app_identity, key_vault_secret
from steps._secret_values import key_vault_reference
from steps.web_app import SECTION as WEB_SECTION
from steps.web_app import Config as WebAppConfig

APP_INSIGHTS_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
APP_INSIGHTS_SECTION = "app_insights"  # registered only when the monitoring steps are in this build


def references(env: EnvironmentSpec) -> dict[str, str]:
    """Setting -> secret, for the secrets this environment provisions (the others are warned about)."""
    managed = key_vault_secret.managed(env)
    return {k: v for k, v in env.section(WEB_SECTION, WebAppConfig).key_vault_references.items() if v in managed}


def with_app_insights(env: EnvironmentSpec) -> bool:
    return APP_INSIGHTS_SECTION in env.sections


def names(env: EnvironmentSpec) -> tuple[str, ...]:
    return (*references(env), *((APP_INSIGHTS_SETTING,) if with_app_insights(env) else ()),
            *((app_identity.CLIENT_ID_SETTING,) if app_identity.enabled(env) else ()))


def dependencies(env: EnvironmentSpec) -> tuple[str, ...]:
    """A reference is resolved when the app starts (and then cached): the secret must exist before it."""
    refs = references(env)
    deps = ("key_vault", *(f"key_vault_secret:{s}" for s in dict.fromkeys(refs.values()))) if refs else ()
    return deps + (("app_insights",) if with_app_insights(env) else ()) + (
        ("app_identity",) if app_identity.enabled(env) else ())


def settings(env: EnvironmentSpec, known: Any) -> dict[str, Any]:
    """The values, UNKNOWN while the vault or the component does not exist yet."""
    vault = ((known.get("key_vault") or {}).get("properties") or {}).get("vaultUri")
    out: dict[str, Any] = {k: key_vault_reference(vault, s) if vault else UNKNOWN for k, s in references(env).items()}
    if with_app_insights(env):
        component = (known.get("app_insights") or {}).get("properties") or {}
        out[APP_INSIGHTS_SETTING] = component.get("ConnectionString") or UNKNOWN
    if app_identity.enabled(env):
        # Which of the app's two identities signs in to the database (steps/app_identity.py)
        out[app_identity.CLIENT_ID_SETTING] = app_identity.client_id(known) or UNKNOWN
    return out


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    web = env.section(WEB_SECTION, WebAppConfig)
    declared = env.section(key_vault_secret.SECTION, key_vault_secret.Config).secrets
    problems = []
    for setting, secret in web.key_vault_references.items():
        key = f"{WEB_SECTION}.key_vault_references.{setting}"
        if secret not in declared:
            problems.append(ConfigProblem(env.where(key), key, f"refers to {secret!r}, which is not declared in "
                                          f"[{key_vault_secret.SECTION}.secrets] ({', '.join(declared) or 'none'})"))
        elif setting in web.app_settings:
            problems.append(ConfigProblem(env.where(key), key, f"{setting} is also set in [{WEB_SECTION}.app_settings]: "
                                          "set it in one place"))
    return problems
