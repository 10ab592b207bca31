"""Steps: custom host names on the web app (sites/hostNameBindings) and the static web app (staticSites/customDomains)."""

from __future__ import annotations

from typing import Any, ClassVar

from provisioner.azure import call, raw, wait
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules, lower
from steps import dns_zone
from steps._base import ArmStep, rules
from steps._fields import PLATFORM, SdkModel, nm
from steps.dns_delegation import NeedsPublicDns, validated_through_dns
from steps.web_app import SiteChild

SECTION = None  # configured by [dns] (steps/dns_zone.py)
# Enum casing is not stable across API versions ('CName', 'cname'): compare case-insensitively.
HOST_NORMALIZERS = (("properties.customHostNameDnsRecordType", lower), ("properties.hostNameType", lower))
BINDING_FILLED_IN = nm("filled in by App Service from the site and certificate", "kind",
                       "properties.azureResourceName", "properties.azureResourceType")
# An App Service Domain the binding would belong to: ours are in Azure DNS, so none (a value is drift).
BINDING_ABSENT = ("properties.domainId",)


def host(env: EnvironmentSpec, label: str) -> str:
    return f"{label}.{env.resource_name('dns_zone')}"


class ApiHostName(NeedsPublicDns, SiteChild):
    """api.<zone> on the API web app. App Service checks the CNAME and the asuid TXT record in public DNS when
    binding, so it waits while the zone is not delegated (steps/dns_delegation.py)."""

    type = "Microsoft.Web/sites/hostNameBindings"
    model = SdkModel("azure.mgmt.web.models", "HostNameBinding")
    not_managed: ClassVar[tuple[tuple[str, str], ...]] = BINDING_FILLED_IN + nm(
        "owned by the custom_domain:api-tls step (the same binding with its certificate: steps/certificate.py)",
        "properties.sslState", "properties.thumbprint")
    needs: ClassVar[tuple[str, ...]] = ("web_app", "dns_record:api", "dns_record:asuid.api")
    rules = rules(Rules(normalizers=HOST_NORMALIZERS, absent=BINDING_ABSENT))

    def desired(self, known: Any) -> dict[str, Any]:
        # The binding comes first, plain: its certificate can only be created once it exists; steps/certificate.py
        # then turns on SNI TLS with that certificate's thumbprint on this same binding.
        return binding_body(self.site)

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.web.web_apps.get_host_name_binding, self.resource_group, self.site, self.resource_name)

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # A binding has only PUT, which replaces it: keep the TLS that custom_domain:api-tls put on it, or a
        # repair of this plain binding would switch HTTPS off until the next run (found by the mutation suite).
        props = dict(desired["properties"])
        for key in ("sslState", "thumbprint"):
            props.setdefault(key, (observed.get("properties") or {}).get(key))
        self.create(clients, {**desired, "properties": props})

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        with validated_through_dns(self.env, self.resource_name):
            call(clients.web.web_apps.create_or_update_host_name_binding, self.resource_group, self.site,
                 self.resource_name, desired)

    def delete(self, clients: Any) -> None:
        call(clients.web.web_apps.delete_host_name_binding, self.resource_group, self.site, self.resource_name)


def binding_body(site: str) -> dict[str, Any]:
    return {"properties": {"siteName": site, "customHostNameDnsRecordType": "CName", "hostNameType": "Verified"}}


class AdminDomain(NeedsPublicDns, ArmStep):
    """admin.<zone> on the static web app, validated through the admin CNAME in public DNS (Static Web Apps
    issue its TLS certificate themselves)."""

    type = "Microsoft.Web/staticSites/customDomains"
    model = SdkModel("azure.mgmt.web.models", "StaticSiteCustomDomainOverviewARMResource")
    not_managed = (
        nm(PLATFORM, "kind")
    )
    needs = ("static_web_app", "dns_record:admin")
    # validationMethod is accepted on PUT but never returned (StaticSiteCustomDomainRequestPropertiesARMResource
    # vs ...OverviewARMResource in azure-mgmt-web): sent on create only. domainName, createdOn, status,
    # validationToken and errorMessage are server-populated.
    rules = rules(Rules(write_only=("properties.validationMethod",)))

    @property
    def site(self) -> str:
        return self.env.resource_name("static_web_app")

    # `status` (azure-mgmt-web CustomDomainStatus) is where this type reports its validation: a domain whose DNS
    # check failed stays, status Failed, and is sent again (re-validated) by the next run; one still Validating
    # (another run's, or Azure re-checking) is waited for, never sent twice.
    _IN_FLIGHT = frozenset({"retrievingvalidationtoken", "validating", "adding", "deleting"})

    def settled(self, body: dict[str, Any]) -> bool:
        return str((body.get("properties") or {}).get("status") or "ready").lower() not in self._IN_FLIGHT

    def failed(self, body: dict[str, Any]) -> bool:
        return str((body.get("properties") or {}).get("status") or "").lower() == "failed"

    def parent_path(self) -> str | None:
        return f"staticSites/{self.site}"

    def desired(self, known: Any) -> dict[str, Any]:
        return {"properties": {"validationMethod": "cname-delegation"}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.web.static_sites.get_static_site_custom_domain, self.resource_group, self.site,
                   self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        with validated_through_dns(self.env, self.resource_name):
            wait(call(clients.web.static_sites.begin_create_or_update_static_site_custom_domain, self.resource_group,
                      self.site, self.resource_name, desired))

    def delete(self, clients: Any) -> None:
        wait(call(clients.web.static_sites.begin_delete_static_site_custom_domain, self.resource_group, self.site,
                  self.resource_name))


def instances(env: EnvironmentSpec) -> list[ArmStep]:
    dns = env.section(dns_zone.SECTION, dns_zone.Config)
    return [ApiHostName(env, "custom_domain:api", host(env, dns.api_host)),
            AdminDomain(env, "custom_domain:admin", host(env, dns.admin_host))]
