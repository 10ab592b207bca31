"""Microsoft.ContainerRegistry registries (minimal): the shared registry images are pulled from."""

from __future__ import annotations

from typing import Any

from .. import registry as content
from ..profile import Action, ActionCtx, ActionReply, TypeProfile, WriteCtx, defaults


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


def _import_image(ctx: ActionCtx) -> ActionReply:
    """Registries_ImportImage (azure-rest-api-specs containerregistry ImportImageByTag.json): 202 and an operation;
    the tags are in the registry when it ends (here at once)."""
    assert ctx.resource is not None
    content.import_image(getattr(ctx.engine, "registries"), ctx.resource, ctx.request)  # noqa: B009
    return ActionReply(202, None, lro_seconds=5.0)


PROFILES = [
    TypeProfile(type="Microsoft.ContainerRegistry/registries", created=200, updated=200, latency=10.0,
                populate=_populate, actions={"importImage": Action(_import_image, write=True)}),
]
