"""Local cloud: DNS zones/records, Communication Services email domains and custom host names, via the real SDK."""

from typing import Any

import pytest

from provisioner.azure import call as sdk
from provisioner.azure import raw, wait
from provisioner.core.errors import AzureCallError
from tests.support import SUB

RG = "rg-dns"
APEX = "fundrbolt.app"
ZONE = "example.fundrbolt.app"


def delegate(clients, rg: str = RG, zone: str = ZONE, apex: str = APEX) -> None:
    """The apex zone (registered) and the NS record set naming the sub-zone's name servers in it."""
    clients.dns.zones.create_or_update(rg, apex, {"location": "global"})
    servers = get(clients.dns.zones.get, rg, zone)["properties"]["nameServers"]
    sdk(clients.dns.record_sets.create_or_update, rg, apex, zone.split(".")[0], "NS",
        {"properties": {"TTL": 3600, "NSRecords": [{"nsdname": s} for s in servers]}})


@pytest.fixture
def c(clients):
    clients.resource.resource_groups.create_or_update(RG, {"location": "eastus"})
    clients.dns.zones.create_or_update(RG, ZONE, {"location": "global"})
    delegate(clients)
    return clients


def get(operation: Any, *args: Any) -> Any:
    """A GET that must find the resource."""
    body = raw(operation, *args)
    assert body is not None
    return body


def record(c, name, rtype, props):
    return sdk(c.dns.record_sets.create_or_update, RG, ZONE, name, rtype, {"properties": props})


def test_zone_shape_and_apex_records(c):
    zone = get(c.dns.zones.get, RG, ZONE)
    assert zone["location"] == "global" and zone["etag"]
    props = zone["properties"]
    assert props["zoneType"] == "Public" and len(props["nameServers"]) == 4 and props["numberOfRecordSets"] == 2
    ns = get(c.dns.record_sets.get, RG, ZONE, "@", "NS")
    assert [r["nsdname"] for r in ns["properties"]["NSRecords"]] == props["nameServers"]


def test_record_set_shape_and_count(c):
    record(c, "api", "CNAME", {"TTL": 3600, "CNAMERecord": {"cname": "app.azurewebsites.net"}})
    body = get(c.dns.record_sets.get, RG, ZONE, "api", "CNAME")
    assert body["type"].lower() == "microsoft.network/dnszones/cname" and body["name"] == "api"
    assert body["properties"]["fqdn"] == f"api.{ZONE}." and body["properties"]["provisioningState"] == "Succeeded"
    assert "location" not in body
    assert get(c.dns.zones.get, RG, ZONE)["properties"]["numberOfRecordSets"] == 3
    sdk(c.dns.record_sets.delete, RG, ZONE, "api", "CNAME")
    assert raw(c.dns.record_sets.get, RG, ZONE, "api", "CNAME") is None
    assert get(c.dns.zones.get, RG, ZONE)["properties"]["numberOfRecordSets"] == 2


def test_apex_cname_and_long_txt_strings_are_refused(c):
    with pytest.raises(AzureCallError) as info:
        record(c, "@", "CNAME", {"TTL": 60, "CNAMERecord": {"cname": "x.net"}})
    assert info.value.status == 400
    with pytest.raises(AzureCallError) as info:
        record(c, "long", "TXT", {"TTL": 60, "TXTRecords": [{"value": ["x" * 256]}]})
    assert info.value.status == 400
    record(c, "long", "TXT", {"TTL": 60, "TXTRecords": [{"value": ["x" * 255, "y"]}]})


def test_record_needs_its_zone(clients):
    clients.resource.resource_groups.create_or_update(RG, {"location": "eastus"})
    with pytest.raises(AzureCallError) as info:
        record(clients, "api", "CNAME", {"TTL": 60, "CNAMERecord": {"cname": "x.net"}})
    assert info.value.status == 404


def _email(c):
    wait(sdk(c.communication.email_services.begin_create_or_update, RG, "mail",
             {"location": "global", "properties": {"dataLocation": "United States"}}))
    wait(sdk(c.communication.domains.begin_create_or_update, RG, "mail", ZONE,
             {"location": "global", "properties": {"domainManagement": "CustomerManaged"}}))
    return get(c.communication.domains.get, RG, "mail", ZONE)


def test_domain_verification_checks_dns(c):
    domain = _email(c)
    recs = domain["properties"]["verificationRecords"]
    assert set(recs) >= {"Domain", "SPF", "DKIM", "DKIM2"}
    assert domain["properties"]["verificationStates"]["Domain"] == {"status": "NotStarted"}
    assert domain["properties"]["dataLocation"] == "United States" and domain["properties"]["fromSenderDomain"] == ZONE
    wait(sdk(c.communication.domains.begin_initiate_verification, RG, "mail", ZONE, {"verificationType": "Domain"}))
    states = get(c.communication.domains.get, RG, "mail", ZONE)["properties"]["verificationStates"]
    assert states["Domain"]["status"] == "VerificationFailed"  # no TXT record yet
    record(c, "@", "TXT", {"TTL": 3600, "TXTRecords": [{"value": [recs["Domain"]["value"]]}, {"value": [recs["SPF"]["value"]]}]})
    with pytest.raises(AzureCallError, match="must be verified before SPF"):  # ownership first (the quickstart)
        wait(sdk(c.communication.domains.begin_initiate_verification, RG, "mail", ZONE, {"verificationType": "SPF"}))
    for kind in ("Domain", "SPF"):
        wait(sdk(c.communication.domains.begin_initiate_verification, RG, "mail", ZONE, {"verificationType": kind}))
    states = get(c.communication.domains.get, RG, "mail", ZONE)["properties"]["verificationStates"]
    assert states["Domain"]["status"] == states["SPF"]["status"] == "Verified"


def test_only_a_verified_domain_links_and_data_location_is_immutable(c):
    _email(c)
    domain_id = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Communication/emailServices/mail/domains/{ZONE}"
    wait(sdk(c.communication.communication_services.begin_create_or_update, RG, "acs",
             {"location": "global", "properties": {"dataLocation": "United States"}}))
    body = get(c.communication.communication_services.get, RG, "acs")
    assert body["location"] == "global" and body["properties"]["hostName"]
    with pytest.raises(AzureCallError) as info:
        sdk(c.communication.communication_services.update, RG, "acs", {"properties": {"linkedDomains": [domain_id]}})
    assert info.value.status == 400 and info.value.code == "DomainNotVerified"
    with pytest.raises(AzureCallError) as info:
        wait(sdk(c.communication.communication_services.begin_create_or_update, RG, "acs",
                 {"location": "global", "properties": {"dataLocation": "Europe"}}))
    assert info.value.status == 400


def _site(c):
    wait(sdk(c.web.app_service_plans.begin_create_or_update, RG, "plan",
             {"location": "eastus", "kind": "linux", "sku": {"name": "B1", "tier": "Basic"}, "properties": {"reserved": True}}))
    plan_id = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Web/serverfarms/plan"
    wait(sdk(c.web.web_apps.begin_create_or_update, RG, "site",
             {"location": "eastus", "kind": "app,linux", "properties": {"serverFarmId": plan_id}}))
    return get(c.web.web_apps.get, RG, "site")["properties"]


def test_host_name_binding_needs_the_dns_proof(c):
    site = _site(c)
    host = f"api.{ZONE}"
    binding = {"properties": {"siteName": "site", "hostNameType": "Verified", "customHostNameDnsRecordType": "CName"}}
    record(c, "api", "CNAME", {"TTL": 3600, "CNAMERecord": {"cname": site["defaultHostName"]}})
    with pytest.raises(AzureCallError) as info:
        sdk(c.web.web_apps.create_or_update_host_name_binding, RG, "site", host, binding)
    assert info.value.status == 400 and "asuid" in str(info.value)
    record(c, "asuid.api", "TXT", {"TTL": 3600, "TXTRecords": [{"value": [site["customDomainVerificationId"]]}]})
    sdk(c.web.web_apps.create_or_update_host_name_binding, RG, "site", host, binding)
    assert host in get(c.web.web_apps.get, RG, "site")["properties"]["hostNames"]


def test_verified_domain_links(c):
    recs = _email(c)["properties"]["verificationRecords"]
    record(c, "@", "TXT", {"TTL": 3600, "TXTRecords": [{"value": [recs["Domain"]["value"]]}, {"value": [recs["SPF"]["value"]]}]})
    for kind in ("DKIM", "DKIM2"):
        record(c, recs[kind]["name"], "CNAME", {"TTL": 3600, "CNAMERecord": {"cname": recs[kind]["value"]}})
    for kind in ("Domain", "SPF", "DKIM", "DKIM2"):
        wait(sdk(c.communication.domains.begin_initiate_verification, RG, "mail", ZONE, {"verificationType": kind}))
    domain_id = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Communication/emailServices/mail/domains/{ZONE}"
    wait(sdk(c.communication.communication_services.begin_create_or_update, RG, "acs",
             {"location": "global", "properties": {"dataLocation": "United States"}}))
    sdk(c.communication.communication_services.update, RG, "acs", {"properties": {"linkedDomains": [domain_id]}})
    assert get(c.communication.communication_services.get, RG, "acs")["properties"]["linkedDomains"] == [domain_id]


def test_static_custom_domain_needs_its_cname(c):
    wait(sdk(c.web.static_sites.begin_create_or_update_static_site, RG, "swa",
             {"location": "eastus2", "sku": {"name": "Standard", "tier": "Standard"}, "properties": {}}))
    default = get(c.web.static_sites.get_static_site, RG, "swa")["properties"]["defaultHostname"]
    host, body = f"admin.{ZONE}", {"properties": {"validationMethod": "cname-delegation"}}
    record(c, "admin", "CNAME", {"TTL": 3600, "CNAMERecord": {"cname": "elsewhere.example.net"}})
    with pytest.raises(AzureCallError) as info:  # accepted, then failed by its operation (Static Web Apps)
        wait(sdk(c.web.static_sites.begin_create_or_update_static_site_custom_domain, RG, "swa", host, body))
    assert info.value.code == "BadRequest" and "CNAME Record is invalid" in str(info.value)
    assert get(c.web.static_sites.get_static_site_custom_domain, RG, "swa", host)["properties"]["status"] == "Failed"
    record(c, "admin", "CNAME", {"TTL": 3600, "CNAMERecord": {"cname": default}})
    wait(sdk(c.web.static_sites.begin_create_or_update_static_site_custom_domain, RG, "swa", host, body))
    assert get(c.web.static_sites.get_static_site_custom_domain, RG, "swa", host)["properties"]["status"] == "Ready"


def test_every_record_set_of_a_zone_is_listed_whatever_its_type(c):
    """RecordSets_ListByDnsZone / ListAllByDnsZone: all types, the apex NS and SOA included; a missing zone is 404."""
    record(c, "api", "CNAME", {"TTL": 3600, "CNAMERecord": {"cname": "app.azurewebsites.net"}})
    record(c, "shop", "NS", {"TTL": 3600, "NSRecords": [{"nsdname": "ns1.example.org."}]})
    for listing in (c.dns.record_sets.list_by_dns_zone, c.dns.record_sets.list_all_by_dns_zone):
        found = sorted((r.type.rsplit("/", 1)[-1].upper(), r.name) for r in listing(RG, ZONE))
        assert found == [("CNAME", "api"), ("NS", "@"), ("NS", "shop"), ("SOA", "@")]
    with pytest.raises(AzureCallError) as missing:
        sdk(lambda: list(c.dns.record_sets.list_all_by_dns_zone(RG, "nowhere.fundrbolt.app")))
    assert missing.value.status == 404
