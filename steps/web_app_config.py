"""Step: the web app's site configuration, GET/PATCH .../config/web (Microsoft.Web/sites/config)."""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw
from provisioner.core.model import CLEAR
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules, lower
from steps._base import absent_is, rules
from steps._fields import SdkModel
from steps._site_pins import CONFIG_ABSENT, CONFIG_NORMALIZERS, CONFIG_NOT_MANAGED, CONFIG_PINS
from steps.web_app import Config as WebAppConfig
from steps.web_app import SiteChild, private_registry

SECTION = None  # configured by [web_app]


# The site is public (the API serves the browser app): the intended access rule set is Azure's single
# "Allow all" rule (arm-examples GetSiteConfig), for the site and its SCM endpoint. Declared, so a rule added
# or removed by hand is drift naming that rule (properties.ipSecurityRestrictions[<name>]).
ALLOW_ALL = [{"ipAddress": "Any", "action": "Allow", "priority": 2147483647, "name": "Allow all",
              "description": "Allow all access"}]
SECURITY: dict[str, Any] = {
    "publicNetworkAccess": "Enabled",
    "ipSecurityRestrictions": ALLOW_ALL,
    "ipSecurityRestrictionsDefaultAction": "Allow",
    "scmIpSecurityRestrictions": ALLOW_ALL,
    "scmIpSecurityRestrictionsDefaultAction": "Allow",
    "scmIpSecurityRestrictionsUseMain": False,
    # The document names no browser origins for App Service CORS: none, so an origin added by hand (`*`) is
    # drift. Any CORS the API needs is its own (application middleware), not the platform's.
    "cors": {"allowedOrigins": [], "supportCredentials": False},
    "remoteDebuggingEnabled": False,
}


class SiteConfig(SiteChild):
    type = "Microsoft.Web/sites/config"
    model = SdkModel("azure.mgmt.web.models", "SiteConfigResource")
    not_managed = CONFIG_NOT_MANAGED
    needs = ("web_app",)
    # arm-examples GetSiteConfig: every siteConfig field comes back populated with server defaults
    # (defaultDocuments, phpVersion, logsDirectorySizeLimit, ipSecurityRestrictions 'Allow all', ...);
    # left-scoping skips them.
    # The image (linuxFxVersion) is set at create from [web_app] container_image (steps/web_app.py siteConfig);
    # after that its tag is owned by deployments (`provisioner deploy backend`, swaps) and its registry by the
    # env files: it compares as its registry (steps/_site_pins.py `registry`), so a deploy is not drift and an
    # image from another registry is. Startup command, auto swap, storage mounts, traffic routing rules and
    # the rest of what can run code or route traffic are pinned there too.
    rules = rules(Rules(exact=("properties.azureStorageAccounts",), absent=CONFIG_ABSENT, normalizers=(
        *CONFIG_NORMALIZERS,
        # Security settings ARM leaves out or returns as null until set (arm-examples GetSiteConfig.json has no
        # cors, publicNetworkAccess or *DefaultAction): absent means the default written here.
        ("properties.publicNetworkAccess", absent_is("Enabled")),
        ("properties.ipSecurityRestrictionsDefaultAction", absent_is("Allow")),
        ("properties.scmIpSecurityRestrictionsDefaultAction", absent_is("Allow")),
        ("properties.cors.allowedOrigins", absent_is([])), ("properties.cors.supportCredentials", absent_is(False)),
        ("properties.remoteDebuggingEnabled", absent_is(False)), ("properties.*IpSecurityRestrictions[].action", lower),
        ("properties.ipSecurityRestrictions[].ipAddress", lower), ("properties.scmIpSecurityRestrictions[].ipAddress", lower),
    )))

    @property
    def depends_on(self) -> tuple[str, ...]:
        # Managed-identity pulls are switched on once the identity holds AcrPull on the registry.
        return (*self.needs, "acr_pull") if private_registry(self.env) else self.needs

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.env.section("web_app", WebAppConfig)
        return {"properties": {
            # A private image is pulled with the site's managed identity (learn.microsoft.com/azure/app-service/
            # configure-custom-container#use-managed-identity-to-pull-image-from-azure-container-registry).
            "acrUseManagedIdentityCreds": private_registry(self.env) is not None,
            "alwaysOn": c.always_on,
            "healthCheckPath": c.health_check_path,
            "minTlsVersion": c.min_tls_version,
            "scmMinTlsVersion": c.min_tls_version,
            "ftpsState": c.ftps_state,
            "http20Enabled": c.http20_enabled,
            "linuxFxVersion": f"DOCKER|{c.container_image}",
            **SECURITY,
            **CONFIG_PINS,
        }}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.web.web_apps.get_configuration, self.resource_group, self.env.resource_name("web_app"))

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        # PATCH, not PUT: a PUT of config/web resets every setting we do not declare to its default.
        call(clients.web.web_apps.update_configuration, self.resource_group, self.env.resource_name("web_app"), desired)

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # The same PATCH, with the image only when its registry drifted (the env file's image goes back);
        # otherwise a deploy owns it and it is not sent.
        foreign = any(str(getattr(c, "path", "")) == "properties.linuxFxVersion" for c in changes)
        props = {k: v for k, v in desired["properties"].items() if k != "linuxFxVersion" or foreign}
        cleared = [k for k, v in props.items() if v is CLEAR]
        if not cleared:
            self.create(clients, {"properties": props})
            return
        # A field declared absent has a value (autoheal rules, a cipher suite, a user-assigned identity): App
        # Service's PATCH of config/web ignores nulls (a GET returns them for every unset field and clients send
        # bodies back whole), so it can only be cleared by a PUT, which resets what it does not carry. The PUT
        # carries everything the site has (the deployed image included) with the declared values on top and the
        # absent fields left out.
        kept = {k: v for k, v in (observed.get("properties") or {}).items() if v is not None}
        body = {**kept, **{k: v for k, v in props.items() if v is not CLEAR}}
        self.put(clients, {"properties": {k: v for k, v in body.items() if k not in cleared}})

    def put(self, clients: Any, body: dict[str, Any]) -> None:
        call(clients.web.web_apps.create_or_update_configuration, self.resource_group,
             self.env.resource_name("web_app"), body)

    def delete(self, clients: Any) -> None:
        """config/web goes with its site; nothing to delete on its own."""


def instances(env: EnvironmentSpec) -> list[SiteConfig]:
    return [SiteConfig(env, "web_app_config", "web")]
