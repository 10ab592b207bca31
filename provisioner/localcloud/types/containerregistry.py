"""Microsoft.ContainerRegistry registries (minimal): the shared registry images are pulled from."""

from __future__ import annotations

from typing import Any

from ..profile import TypeProfile, WriteCtx, defaults


def _populate(ctx: WriteCtx) -> None:
    # Shaped after the Registries_Get example (azure-rest-api-specs containerregistry): loginServer is
    # <lower-cased name>.azurecr.io.
    ctx.body.setdefault("sku", {"name": "Basic", "tier": "Basic"})
    defaults(ctx.props, {"adminUserEnabled": False, "publicNetworkAccess": "Enabled",
                         "networkRuleBypassOptions": "AzureServices", "zoneRedundancy": "Disabled",
                         "anonymousPullEnabled": False})
    ctx.props.update(loginServer=f"{ctx.path.name.lower()}.azurecr.io",
                     creationDate=((ctx.existing or {}).get("properties") or {}).get("creationDate", ctx.now))


def registry(resource_id: str, location: str = "eastus") -> dict[str, Any]:
    """A registry body as GET returns it, for seeding a subscription."""
    name = resource_id.rsplit("/", 1)[-1]
    return {"id": resource_id, "name": name, "type": "Microsoft.ContainerRegistry/registries", "location": location,
            "tags": {}, "sku": {"name": "Basic", "tier": "Basic"},
            "properties": {"loginServer": f"{name.lower()}.azurecr.io", "adminUserEnabled": False,
                           "publicNetworkAccess": "Enabled", "anonymousPullEnabled": False,
                           "provisioningState": "Succeeded"}}


PROFILES = [
    TypeProfile(type="Microsoft.ContainerRegistry/registries", created=200, updated=200, latency=10.0,
                populate=_populate),
]
