"""Step: the environment's public DNS zone (Microsoft.Network/dnsZones), and the [dns] section."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from steps._base import ArmStep, rules
from steps._fields import UNUSED, SdkModel, nm

SECTION = "dns"

# Azure DNS: a zone name has 2-34 labels of 1-63 characters (letters, digits, '_' and '-'), <= 253 in all.
LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}")
MAX_TTL = 2147483647


class Config(Section):
    ttl: int = Field(3600, ge=1, le=MAX_TTL)  # Azure DNS: TTL 1..2147483647 seconds
    api_host: str = "api"  # api.<zone> -> the web app (architecture: "api.fundrbolt.app → App Service")
    admin_host: str = "admin"  # admin.<zone> -> the static web app ("admin.fundrbolt.app → Static Web App")
    # Extra TXT records by relative name ("@" joins the apex set that carries the email verification and SPF).
    txt_records: dict[str, list[str]] = {}
    # Public DNS finds a sub-zone (dev.fundrbolt.app) only through NS records in its parent zone (steps/
    # dns_delegation.py). parent_environment owns that parent zone ("" for a zone registered at a registrar:
    # the apex); parent_resource_group is its group, read to see whether the delegation is in place.
    parent_environment: str = ""
    parent_resource_group: str = ""
    # Sub-zones this zone delegates: first label -> resource group of that zone (its name servers are read there).
    delegations: dict[str, str] = {}


def zone_problems(value: str) -> str | None:
    """Why `value` is not a valid public zone name, or None."""
    labels = value.split(".")
    if len(value) > 253:
        return "at most 253 characters"
    if not 2 <= len(labels) <= 34:
        return "2-34 labels separated by '.'"
    bad = next((label for label in labels if not LABEL.fullmatch(label)), None)
    if bad is not None:
        return f"label {bad!r} must be 1-63 letters, digits, '_' or '-'"
    return None


class DnsZone(ArmStep):
    type = "Microsoft.Network/dnsZones"
    model = SdkModel("azure.mgmt.dns.models", "Zone")
    not_managed = (
        nm(UNUSED, "properties.registrationVirtualNetworks", "properties.resolutionVirtualNetworks",
               "properties.zoneType")
    )
    needs = ("resource_group",)
    holds_data = True  # deleting a zone deletes every record set in it
    # The server adds nameServers, numberOfRecordSets, maxNumberOfRecordSets, zoneType and etag
    # (arm-examples dnsZones/2018-05-01/CreateOrUpdateZone.json): not declared, so never compared.
    # 'Global' comes back as 'global' (same example): the location normalizer in COMMON covers it.
    # TRAP (azure-sdk-facts §9): the msrest `Zone` model always sends zoneType="Public"; we pass a dict,
    # which the serializer sends as is, and Azure defaults zoneType to Public.
    rules = rules()

    def desired(self, known: Any) -> dict[str, Any]:
        return {"location": "global", "tags": self.tags()}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.dns.zones.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.dns.zones.create_or_update, self.resource_group, self.resource_name, desired)

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # PATCH takes tags only (ZoneUpdate); location is immutable and handled as a replace.
        call(clients.dns.zones.update, self.resource_group, self.resource_name, {"tags": desired["tags"]})

    def delete(self, clients: Any) -> None:
        wait(call(clients.dns.zones.begin_delete, self.resource_group, self.resource_name))


def instances(env: EnvironmentSpec) -> list[DnsZone]:
    return [DnsZone(env, "dns_zone", env.resource_name("dns_zone"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    try:
        zone = env.resource_name("dns_zone")
    except Exception as exc:  # a bad template is reported with its key by the config layer
        return [ConfigProblem(env.where("naming.dns_zone"), "naming.dns_zone", str(exc))]
    problem = zone_problems(zone)
    if problem:
        return [ConfigProblem(env.where("naming.dns_zone"), "naming.dns_zone", f"{zone!r} is not a valid DNS zone name: {problem}")]
    return []
