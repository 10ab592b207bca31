"""Local cloud: names resolve only through the delegation chain from the registered apex, bindings and custom
domains are refused when they cannot be validated, SPF is one record, managed certificates and SNI TLS."""

from __future__ import annotations

import pytest

from provisioner.azure import call as sdk
from provisioner.azure import put_accepted, raw, wait
from provisioner.core.errors import AzureCallError
from tests.localcloud.test_dns_email import APEX, RG, ZONE, _email, _site, c, delegate, get, record
from tests.support import SUB

HOST = f"api.{ZONE}"
__all__ = ["c"]  # the delegated-zone fixture, shared with test_dns_email.py
BINDING = {"properties": {"siteName": "site", "hostNameType": "Verified", "customHostNameDnsRecordType": "CName"}}
PLAN = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Web/serverfarms/plan"


@pytest.fixture
def undelegated(clients):
    """A sub-zone with every record in place, but no NS record for it in the apex zone."""
    clients.resource.resource_groups.create_or_update(RG, {"location": "eastus"})
    clients.dns.zones.create_or_update(RG, ZONE, {"location": "global"})
    clients.dns.zones.create_or_update(RG, APEX, {"location": "global"})
    return clients


def _proofs(c, site):
    record(c, "api", "CNAME", {"TTL": 3600, "CNAMERecord": {"cname": site["defaultHostName"]}})
    record(c, "asuid.api", "TXT", {"TTL": 3600, "TXTRecords": [{"value": [site["customDomainVerificationId"]]}]})


def test_binding_is_refused_until_the_zone_is_delegated(undelegated):
    c = undelegated
    site = _site(c)
    _proofs(c, site)
    with pytest.raises(AzureCallError) as info:  # the records exist, but public DNS cannot reach them
        sdk(c.web.web_apps.create_or_update_host_name_binding, RG, "site", HOST, BINDING)
    assert info.value.status == 400 and info.value.code == "BadRequest" and "asuid" in str(info.value)
    delegate(c)
    sdk(c.web.web_apps.create_or_update_host_name_binding, RG, "site", HOST, BINDING)
    assert HOST in get(c.web.web_apps.get, RG, "site")["properties"]["hostNames"]


def test_a_delegation_to_other_name_servers_is_lame(undelegated):
    c = undelegated
    site = _site(c)
    _proofs(c, site)
    sdk(c.dns.record_sets.create_or_update, RG, APEX, "example", "NS",
        {"properties": {"TTL": 3600, "NSRecords": [{"nsdname": "ns1.elsewhere.net."}]}})
    with pytest.raises(AzureCallError) as info:
        sdk(c.web.web_apps.create_or_update_host_name_binding, RG, "site", HOST, BINDING)
    assert info.value.status == 400


def test_a_name_no_registered_zone_serves_cannot_be_validated(clients):
    clients.resource.resource_groups.create_or_update(RG, {"location": "eastus"})
    site = _site(clients)
    with pytest.raises(AzureCallError) as info:
        sdk(clients.web.web_apps.create_or_update_host_name_binding, RG, "site", "www.elsewhere.example", BINDING)
    assert info.value.status == 400 and site


def test_static_custom_domain_is_refused_until_delegated(undelegated):
    c = undelegated
    wait(sdk(c.web.static_sites.begin_create_or_update_static_site, RG, "swa",
             {"location": "eastus2", "sku": {"name": "Standard", "tier": "Standard"}, "properties": {}}))
    default = get(c.web.static_sites.get_static_site, RG, "swa")["properties"]["defaultHostname"]
    record(c, "admin", "CNAME", {"TTL": 3600, "CNAMERecord": {"cname": default}})
    body = {"properties": {"validationMethod": "cname-delegation"}}
    with pytest.raises(AzureCallError) as info:  # accepted (202), failed by its long-running operation
        wait(sdk(c.web.static_sites.begin_create_or_update_static_site_custom_domain, RG, "swa", f"admin.{ZONE}", body))
    assert info.value.code == "BadRequest" and "CNAME Record is invalid" in str(info.value)
    delegate(c)
    wait(sdk(c.web.static_sites.begin_create_or_update_static_site_custom_domain, RG, "swa", f"admin.{ZONE}", body))


def test_email_verification_needs_the_delegation(undelegated):
    c = undelegated
    recs = _email(c)["properties"]["verificationRecords"]
    record(c, "@", "TXT", {"TTL": 3600, "TXTRecords": [{"value": [recs["Domain"]["value"]]}]})
    wait(sdk(c.communication.domains.begin_initiate_verification, RG, "mail", ZONE, {"verificationType": "Domain"}))
    assert get(c.communication.domains.get, RG, "mail", ZONE)["properties"]["verificationStates"]["Domain"]["status"] \
        == "VerificationFailed"
    delegate(c)
    wait(sdk(c.communication.domains.begin_initiate_verification, RG, "mail", ZONE, {"verificationType": "Domain"}))
    assert get(c.communication.domains.get, RG, "mail", ZONE)["properties"]["verificationStates"]["Domain"]["status"] \
        == "Verified"


@pytest.mark.parametrize(("values", "verified"), [
    (["v=spf1 include:spf.protection.outlook.com -all", "v=spf1 include:_spf.google.com ~all"], False),  # two SPF
    (["v=spf1 include:_spf.google.com -all"], False),  # Azure's include missing
    (["v=spf1 include:spf.protection.outlook.com include:_spf.google.com -all"], True),  # merged: one record
])
def test_spf_is_one_record_that_includes_azure(undelegated, values, verified):
    c = undelegated
    delegate(c)
    recs = _email(c)["properties"]["verificationRecords"]
    txt = [{"value": [recs["Domain"]["value"]]}] + [{"value": [v]} for v in values]
    record(c, "@", "TXT", {"TTL": 3600, "TXTRecords": txt})
    for kind in ("Domain", "SPF"):
        wait(sdk(c.communication.domains.begin_initiate_verification, RG, "mail", ZONE, {"verificationType": kind}))
    status = get(c.communication.domains.get, RG, "mail", ZONE)["properties"]["verificationStates"]["SPF"]["status"]
    assert status == ("Verified" if verified else "VerificationFailed")


def test_managed_certificate_needs_the_binding_then_serves_it_by_sni(c):
    site = _site(c)
    _proofs(c, site)
    cert = {"location": "eastus", "properties": {"canonicalName": HOST, "serverFarmId": PLAN}}
    with pytest.raises(AzureCallError) as info:
        sdk(c.web.certificates.create_or_update, RG, "api-cert", cert)
    assert info.value.status == 400 and "is not registered with app" in str(info.value)
    sdk(c.web.web_apps.create_or_update_host_name_binding, RG, "site", HOST, BINDING)
    put_accepted(c.web.certificates.create_or_update, RG, "api-cert", cert, polling_interval=0.05)
    body = get(c.web.certificates.get, RG, "api-cert")["properties"]
    assert body["canonicalName"] == HOST and body["hostNames"] == [HOST] and len(body["thumbprint"]) == 40

    tls = {"properties": {**BINDING["properties"], "sslState": "SniEnabled", "thumbprint": "0" * 40}}
    with pytest.raises(AzureCallError) as info:  # a thumbprint no certificate of the group has
        sdk(c.web.web_apps.create_or_update_host_name_binding, RG, "site", HOST, tls)
    assert info.value.status == 404
    tls["properties"]["thumbprint"] = body["thumbprint"]
    sdk(c.web.web_apps.create_or_update_host_name_binding, RG, "site", HOST, tls)
    binding = get(c.web.web_apps.get_host_name_binding, RG, "site", HOST)["properties"]
    assert (binding["sslState"], binding["thumbprint"]) == ("SniEnabled", body["thumbprint"])
    # HTTPS on the name serves that certificate: the site's hostNameSslStates carry it, and survive a site write.
    sdk(c.web.web_apps.update, RG, "site", {"properties": {"httpsOnly": True}})
    states = {s["name"]: s for s in get(c.web.web_apps.get, RG, "site")["properties"]["hostNameSslStates"]}
    assert (states[HOST]["sslState"], states[HOST]["thumbprint"]) == ("SniEnabled", body["thumbprint"])
    assert raw(c.web.certificates.get, RG, "missing") is None
