"""Profile registry: one module per provider namespace; unknown types get the generic profile."""

from __future__ import annotations

from ..profile import TypeProfile
from . import (
    authorization,
    cache,
    communication,
    consumption,
    containerregistry,
    insights,
    keyvault,
    managedidentity,
    netwatch,
    network,
    operationalinsights,
    postgres,
    privatelink,
    redisenterprise,
    resources,
    roledefinitions,
    storage,
    vnet,
    web,
)

_MODULES = [resources, web, keyvault, storage, operationalinsights, authorization, insights, postgres, cache,
            redisenterprise, network, vnet, netwatch, privatelink, communication, consumption, containerregistry,
            roledefinitions, managedidentity]

PROFILES: dict[str, TypeProfile] = {}
for _module in _MODULES:
    for _profile in _module.PROFILES:
        PROFILES[_profile.type.lower()] = _profile


def profile_for(type_name: str) -> TypeProfile:
    """The profile for a full type ('Microsoft.Web/sites/config'); generic synchronous otherwise."""
    found = PROFILES.get(type_name.lower())
    if found is None:
        found = TypeProfile(type=type_name)
    return found
