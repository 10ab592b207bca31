"""Microsoft.Web static sites (Static Web Apps) and their custom domains."""

from __future__ import annotations

from ..errors import ArmError
from ..ids import normalize_location, region_display
from ..profile import Action, ActionCtx, ActionReply, TypeProfile, WriteCtx, defaults, det_hex
from .web_domains import check_static_domain


def static_token(static_site_id: str) -> str:
    """The deployment token listSecrets returns for a static site (deterministic per resource id)."""
    return det_hex(static_site_id, "deployment-token")[:56]


# The regions Static Web Apps' own resource can be created in (ARM's LocationNotAvailableForResourceType).
_REGIONS = ("westus2", "centralus", "eastus2", "westeurope", "eastasia")
_SKUS = ("Free", "Standard", "Dedicated")


def _static_populate(ctx: WriteCtx) -> None:
    body, props = ctx.body, ctx.props
    location = str(normalize_location(str(body.get("location") or "")))
    if location not in _REGIONS:
        raise ArmError(400, "LocationNotAvailableForResourceType", f"The provided location '{location}' is not "
                       f"available for resource type 'Microsoft.Web/staticSites'. List of available regions for "
                       f"the resource type is '{','.join(_REGIONS)}'.")
    # arm-examples GetStaticSite: the location comes back as a display name ('West US 2').
    body["location"] = region_display(location)
    sku = dict(body.get("sku") or {"name": "Free", "tier": "Free"})
    name = next((k for k in _SKUS if k.lower() == str(sku.get("name")).lower()), None)
    if name is None:
        raise ArmError(400, "InvalidSku", f"The SKU '{sku.get('name')}' is not valid for a static site: use one of "
                       f"{', '.join(_SKUS)}.")
    sku.update(name=name, tier=sku.get("tier") or name)
    body["sku"] = sku
    old = (ctx.existing or {}).get("properties") or {}
    host = old.get("defaultHostname") or f"{['happy', 'calm', 'brave', 'gentle'][int(det_hex(ctx.id)[:2], 16) % 4]}-" \
        f"{det_hex(ctx.id)[:4]}-{det_hex(ctx.id)[4:10]}.azurestaticapps.net"
    defaults(props, {"allowConfigFileUpdates": True, "stagingEnvironmentPolicy": "Enabled",
                     "enterpriseGradeCdnStatus": "Disabled", "publicNetworkAccess": None})
    domains = [d["name"].rsplit("/", 1)[-1] for d in ctx.engine.find("Microsoft.Web/staticSites/customDomains", ctx.id)]
    props.update(defaultHostname=host, customDomains=domains,
                 contentDistributionEndpoint=f"https://content-{det_hex(ctx.id)[:6]}.azurestaticapps.net",
                 keyVaultReferenceIdentity="SystemAssigned", linkedBackends=[], privateEndpointConnections=[],
                 userProvidedFunctionApps=None, databaseConnections=[])


def _secrets(ctx: ActionCtx) -> ActionReply:
    return ActionReply(200, {"id": ctx.id + "/secrets", "name": "secrets", "type": "Microsoft.Web/staticSites/secrets",
                             "properties": {"apiKey": static_token(ctx.id)}})


def _domain_populate(ctx: WriteCtx) -> None:
    ctx.props.pop("validationMethod", None)  # write-only
    defaults(ctx.props, {"domainName": ctx.path.name, "createdOn": ctx.now, "status": "Ready",
                         "validationToken": None, "errorMessage": None})


def _refresh_domains(ctx: WriteCtx) -> None:
    site_id = ctx.id.rsplit("/customDomains/", 1)[0]
    site = ctx.engine.get(site_id)
    if site is not None:
        found = ctx.engine.find("Microsoft.Web/staticSites/customDomains", site_id)
        site["properties"]["customDomains"] = [d["name"] for d in found]
        ctx.engine.put_raw(site_id, site)


PROFILES = [
    TypeProfile(type="Microsoft.Web/staticSites", lro=True, created=202, updated=202, patch_status=200,
                delete_lro=True, latency=20.0, populate=_static_populate,
                write_only=("properties.repositoryToken", "properties.buildProperties"),
                actions={"listSecrets": Action(_secrets, write=False)}),
    TypeProfile(type="Microsoft.Web/staticSites/customDomains", lro=True, created=202, updated=202,
                delete_lro=True, latency=30.0, provisioning_state=False, populate=_domain_populate,
                before_write=check_static_domain, after_write=_refresh_domains, has_location=False),
]
