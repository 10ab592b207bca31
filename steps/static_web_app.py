"""Step: the React admin front end on Azure Static Web Apps (Microsoft.Web/staticSites)."""

from __future__ import annotations

from typing import Any, Literal

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, location, lower
from steps._base import NO_IDENTITY, NONE, ArmStep, absent_is, name_problems, rules
from steps._fields import PLATFORM, SdkModel, nm

SECTION = "static_web_app"
# Static Web Apps' own resource exists in a few regions only (its content is served from the global CDN).
REGIONS = ("eastus2", "centralus", "westus2", "westeurope", "eastasia")


class Config(Section):
    sku: Literal["Free", "Standard"] = "Standard"  # architecture: "Azure Static Web Apps (Standard tier)"
    location: str = "eastus2"
    staging_environment_policy: Literal["Enabled", "Disabled"] = "Enabled"  # pull-request preview environments
    allow_config_file_updates: bool = True


class StaticWebApp(ArmStep):
    type = "Microsoft.Web/staticSites"
    model = SdkModel("azure.mgmt.web.models", "StaticSiteARMResource")
    not_managed = (
        nm(PLATFORM, "kind", "sku.capabilities", "sku.capacity", "sku.family", "sku.locations", "sku.size",
           "sku.skuCapacity", "properties.enterpriseGradeCdnStatus")
        # Azure records which client deployed the content last (the SWA CLI: "SwaCli"); nothing is read from it.
        + nm("filled in by Azure from how content was last deployed (the SWA CLI)", "properties.provider")
    )
    needs = ("resource_group",)
    # arm-examples GetStaticSite: the server fills defaultHostname, customDomains, contentDistributionEndpoint,
    # keyVaultReferenceIdentity, linkedBackends, privateEndpointConnections, userProvidedFunctionApps; we
    # declare none of them. 'West US 2' comes back as written there; ARM compares regions without spaces/case.
    rules = rules(NO_IDENTITY, Rules(normalizers=(
        ("properties.publicNetworkAccess", absent_is("Enabled")),
        ("sku.name", lower), ("sku.tier", lower), ("properties.stagingEnvironmentPolicy", lower),
    ), absent=tuple(f"properties.{p}" for p in (
        # No repository: a site connected to one builds and runs whatever is pushed there, with the build
        # commands below. A repository, branch or build added by hand is drift.
        "branch", "buildProperties", "repositoryToken", "repositoryUrl", "templateProperties"))))

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.config
        # No repository: the admin app is deployed with the site's deployment token (list_static_site_secrets)
        # from CI, so no GitHub token is ever handed to Azure (repositoryToken is write-only anyway).
        body = self.base(publicNetworkAccess="Enabled",  # the admin app is public (AAD sign-in in the app)
                         stagingEnvironmentPolicy=c.staging_environment_policy,
                         allowConfigFileUpdates=c.allow_config_file_updates)
        body.update(location=c.location, sku={"name": c.sku, "tier": c.sku}, identity=dict(NONE))
        return body

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.web.static_sites.get_static_site, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.web.static_sites.begin_create_or_update_static_site, self.resource_group,
                  self.resource_name, desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        if all(c.path.startswith("properties.") for c in changes):
            # PATCH (StaticSitePatchResource) carries properties only.
            call(clients.web.static_sites.update_static_site, self.resource_group, self.resource_name,
                 {"properties": desired["properties"]})
        else:
            # tags and sku are not in the PATCH model: a PUT of the whole (repository-less) envelope.
            self.create(clients, desired)

    def delete(self, clients: Any) -> None:
        wait(call(clients.web.static_sites.begin_delete_static_site, self.resource_group, self.resource_name))


def instances(env: EnvironmentSpec) -> list[StaticWebApp]:
    return [StaticWebApp(env, "static_web_app", env.resource_name("static_web_app"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    problems = name_problems(env, "static_web_app", r"[A-Za-z0-9]([A-Za-z0-9-]{0,38}[A-Za-z0-9])?",
                             "1-40 letters, digits and '-', not starting or ending with '-'")
    where = location(env.section(SECTION, Config).location)
    if where not in REGIONS:
        problems.append(ConfigProblem(env.where("static_web_app.location"), "static_web_app.location",
                                      f"Static Web Apps are not available in {where!r}: use one of {', '.join(REGIONS)}"))
    return problems
