"""DNS zone and records, custom domains, Communication Services and email: SDK calls (autospec) and rules."""

from typing import Any

import pytest

from provisioner.core.errors import ProvisionerError
from provisioner.core.model import UNKNOWN
from provisioner.engine.diff import diff
from tests.support import SUB, session, step

RG = "fundrbolt-dev-rg"
ZONE = "dev.fundrbolt.app"
WEB = {"properties": {"defaultHostName": "fundrbolt-dev-api.azurewebsites.net", "customDomainVerificationId": "ABC123"}}
SWA = {"properties": {"defaultHostname": "calm-1234-567890.azurestaticapps.net"}}
# Shape of a CustomerManaged domain's verificationRecords (Get/Update-AzEmailServiceDomain output, Az docs).
RECORDS = {
    "Domain": {"type": "TXT", "name": ZONE, "value": "ms-domain-verification=1ff18540", "ttl": 3600},
    "SPF": {"type": "TXT", "name": ZONE, "value": "v=spf1 include:spf.protection.outlook.com -all", "ttl": 3600},
    "DKIM": {"type": "CNAME", "name": "selector1-azurecomm-prod-net._domainkey",
             "value": "selector1-azurecomm-prod-net._domainkey.azurecomm.net", "ttl": 3600},
    "DKIM2": {"type": "CNAME", "name": "selector2-azurecomm-prod-net._domainkey",
              "value": "selector2-azurecomm-prod-net._domainkey.azurecomm.net", "ttl": 3600},
}
DOMAIN = {"properties": {"verificationRecords": RECORDS}}
KNOWN = {"web_app": WEB, "static_web_app": SWA, "email_domain": DOMAIN}


# ---------------------------------------------------------------- zone


def test_zone_is_global_and_tags_are_patched(c, dev):
    s = step(dev, "dns_zone")
    desired = s.desired({})
    assert desired == {"location": "global", "tags": s.tags()} and s.holds_data
    s.read(c)
    assert c.dns.zones.get.call_args.args == (RG, ZONE)
    s.create(c, desired)
    c.dns.zones.create_or_update.assert_called_once_with(RG, ZONE, desired)
    s.update(c, desired, desired, ())
    c.dns.zones.update.assert_called_once_with(RG, ZONE, {"tags": s.tags()})
    s.delete(c)
    c.dns.zones.begin_delete.assert_called_once_with(RG, ZONE)


def test_production_zone_is_the_apex_domain():
    assert step(session("production"), "dns_zone").resource_name == "fundrbolt.app"


def test_zone_server_fields_and_global_casing_are_not_drift(dev):
    # arm-examples dnsZones/2018-05-01/CreateOrUpdateZone.json: 'Global' -> 'global', plus server fields.
    s = step(dev, "dns_zone")
    observed = {"location": "Global", "tags": s.tags(), "etag": "x", "properties": {
        "maxNumberOfRecordSets": 5000, "numberOfRecordSets": 2, "nameServers": ["ns1-01.azure-dns.com"], "zoneType": "Public"}}
    assert diff(s.desired({}), observed, s.rules).empty


# ---------------------------------------------------------------- records


def test_api_cname_targets_the_web_app(c, dev):
    s = step(dev, "dns_record:api")
    assert s.ref.id == f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/dnsZones/{ZONE}/CNAME/api"
    assert set(s.depends_on) == {"dns_zone", "web_app"}
    desired = s.desired(KNOWN)
    assert desired == {"properties": {"TTL": 3600, "CNAMERecord": {"cname": "fundrbolt-dev-api.azurewebsites.net"}}}
    assert s.desired({"web_app": None})["properties"]["CNAMERecord"]["cname"] is UNKNOWN
    s.read(c)
    assert c.dns.record_sets.get.call_args.args == (RG, ZONE, "api", "CNAME")
    s.create(c, desired)
    c.dns.record_sets.create_or_update.assert_called_once_with(RG, ZONE, "api", "CNAME", desired)
    s.delete(c)
    c.dns.record_sets.delete.assert_called_once_with(RG, ZONE, "api", "CNAME")


def test_admin_cname_targets_the_static_web_app(dev):
    s = step(dev, "dns_record:admin")
    assert "static_web_app" in s.depends_on
    assert s.desired(KNOWN)["properties"]["CNAMERecord"] == {"cname": "calm-1234-567890.azurestaticapps.net"}
    assert s.desired({})["properties"]["CNAMERecord"]["cname"] is UNKNOWN


def test_asuid_txt_carries_the_verification_id(c, dev):
    s = step(dev, "dns_record:asuid.api")
    desired = s.desired(KNOWN)
    assert desired == {"properties": {"TTL": 3600, "TXTRecords": [{"value": ["ABC123"]}]}}
    assert s.desired({})["properties"]["TXTRecords"] is UNKNOWN
    s.create(c, desired)
    c.dns.record_sets.create_or_update.assert_called_once_with(RG, ZONE, "asuid.api", "TXT", desired)


def test_email_records_come_from_the_domain(dev):
    apex = step(dev, "dns_record:apex-txt")
    assert apex.resource_name == "@" and "email_domain" in apex.depends_on
    assert apex.desired(KNOWN)["properties"]["TXTRecords"] == [
        {"value": ["ms-domain-verification=1ff18540"]}, {"value": ["v=spf1 include:spf.protection.outlook.com -all"]}]
    assert apex.desired({})["properties"]["TXTRecords"] is UNKNOWN
    dkim = step(dev, "dns_record:dkim")
    assert dkim.resource_name == "selector1-azurecomm-prod-net._domainkey"
    assert dkim.desired(KNOWN)["properties"]["CNAMERecord"]["cname"] == "selector1-azurecomm-prod-net._domainkey.azurecomm.net"
    assert step(dev, "dns_record:dkim2").desired(KNOWN)["properties"]["CNAMERecord"]["cname"].startswith("selector2-")


def test_dkim_record_name_mismatch_is_an_error(dev):
    moved = {"DKIM": {**RECORDS["DKIM"], "name": "selector9-azurecomm-prod-net._domainkey"}}
    with pytest.raises(ProvisionerError, match="selector9"):
        step(dev, "dns_record:dkim").desired({"email_domain": {"properties": {"verificationRecords": moved}}})


def test_dmarc_quarantines_and_reports_to_the_zone(dev):
    s = step(dev, "dns_record:dmarc")
    assert s.resource_name == "_dmarc" and s.depends_on == ("dns_zone",)
    assert s.desired({})["properties"]["TXTRecords"] == [
        {"value": [f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{ZONE}"]}]


def test_long_txt_values_are_cut_into_255_character_strings():
    from steps.dns_record import chunks

    value = "k=rsa; p=" + "A" * 600
    parts = chunks(value)
    assert [len(p) for p in parts] == [255, 255, 99] and "".join(parts) == value


def test_txt_record_order_is_not_drift(dev):
    # Rule `sets` on properties.TXTRecords: an RRset is unordered (RFC 2181 §5).
    s = step(dev, "dns_record:apex-txt")
    desired = s.desired(KNOWN)
    observed: dict[str, Any] = {"properties": {"TTL": 3600, "TXTRecords": list(reversed(desired["properties"]["TXTRecords"])),
                               "fqdn": f"{ZONE}.", "provisioningState": "Succeeded"}, "etag": "e"}
    assert diff(desired, observed, s.rules).empty
    observed["properties"]["TXTRecords"] = [{"value": ["other"]}, {"value": ["v=spf1 -all"]}]
    assert not diff(desired, observed, s.rules).empty


def test_cname_compares_as_a_dns_name(dev):
    # Normalizer dns_name: case-insensitive, trailing dot optional.
    s = step(dev, "dns_record:api")
    observed = {"properties": {"TTL": 3600, "CNAMERecord": {"cname": "Fundrbolt-Dev-Api.azurewebsites.net."}}}
    assert diff(s.desired(KNOWN), observed, s.rules).empty


# ---------------------------------------------------------------- custom domains


def test_api_host_name_binding(c, dev):
    s = step(dev, "custom_domain:api")
    assert s.resource_name == f"api.{ZONE}"
    assert set(s.depends_on) == {"web_app", "dns_record:api", "dns_record:asuid.api"}
    assert s.lane == "serverfarm:fundrbolt-dev-plan"
    desired = s.desired(KNOWN)
    assert desired["properties"]["siteName"] == "fundrbolt-dev-api"
    s.read(c)
    assert c.web.web_apps.get_host_name_binding.call_args.args == (RG, "fundrbolt-dev-api", f"api.{ZONE}")
    s.create(c, desired)
    c.web.web_apps.create_or_update_host_name_binding.assert_called_once_with(RG, "fundrbolt-dev-api", f"api.{ZONE}", desired)
    s.delete(c)
    c.web.web_apps.delete_host_name_binding.assert_called_once_with(RG, "fundrbolt-dev-api", f"api.{ZONE}")


def test_binding_enum_casing_is_not_drift(dev):
    s = step(dev, "custom_domain:api")
    observed = {"properties": {"siteName": "fundrbolt-dev-api", "customHostNameDnsRecordType": "cname",
                               "hostNameType": "verified", "sslState": "Disabled"}}
    assert diff(s.desired(KNOWN), observed, s.rules).empty


def test_admin_custom_domain_on_the_static_web_app(c, dev):
    s = step(dev, "custom_domain:admin")
    assert s.resource_name == f"admin.{ZONE}" and set(s.depends_on) == {"static_web_app", "dns_record:admin"}
    desired = s.desired(KNOWN)
    s.create(c, desired)
    c.web.static_sites.begin_create_or_update_static_site_custom_domain.assert_called_once_with(
        RG, "fundrbolt-dev-admin", f"admin.{ZONE}", desired)
    s.read(c)
    assert c.web.static_sites.get_static_site_custom_domain.call_args.args == (RG, "fundrbolt-dev-admin", f"admin.{ZONE}")
    s.delete(c)
    c.web.static_sites.begin_delete_static_site_custom_domain.assert_called_once()


def test_validation_method_is_write_only(dev):
    s = step(dev, "custom_domain:admin")
    observed = {"properties": {"domainName": f"admin.{ZONE}", "status": "Ready"}}
    assert diff(s.desired({}), observed, s.rules).empty


# ---------------------------------------------------------------- communication + email


def test_communication_service(c, dev):
    s = step(dev, "communication_service")
    desired = s.desired({})
    assert desired == {"location": "global", "tags": s.tags(), "properties": {
        "dataLocation": "United States", "disableLocalAuth": False, "publicNetworkAccess": "Enabled"},
        "identity": {"type": "None"}}
    s.create(c, desired)
    c.communication.communication_services.begin_create_or_update.assert_called_once_with(RG, "fundrbolt-dev-acs", desired)
    s.update(c, desired, desired, ())
    c.communication.communication_services.update.assert_called_once_with(
        RG, "fundrbolt-dev-acs", {"tags": s.tags(), "properties": {"disableLocalAuth": False, "publicNetworkAccess": "Enabled"},
                                  "identity": {"type": "None"}})
    s.read(c)
    assert c.communication.communication_services.get.call_args.args == (RG, "fundrbolt-dev-acs")


def test_data_location_compares_like_a_region_and_is_immutable(dev):
    s = step(dev, "communication_service")
    desired = s.desired({})
    observed = {"location": "Global", "tags": s.tags(), "properties": {"dataLocation": "unitedstates", "hostName": "h",
                                                                       "disableLocalAuth": False, "publicNetworkAccess": "Enabled"}}
    assert diff(desired, observed, s.rules).empty
    observed["properties"]["dataLocation"] = "Europe"
    [change] = diff(desired, observed, s.rules).changes
    assert change.requires_replace


def test_link_patches_the_verified_domain_in(c, dev):
    s = step(dev, "communication_service_link")
    assert set(s.depends_on) == {"communication_service", "email_domain_verification"}
    domain_id = (f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Communication/emailServices/"
                 f"fundrbolt-dev-email/domains/{ZONE}")
    desired = s.desired({})
    assert desired == {"properties": {"linkedDomains": [domain_id]}}
    s.create(c, desired)
    c.communication.communication_services.update.assert_called_once_with(
        RG, "fundrbolt-dev-acs", {"properties": {"linkedDomains": [domain_id]}})
    observed = {"properties": {"linkedDomains": [domain_id.lower()], "dataLocation": "United States"}}
    assert diff(desired, observed, s.rules).empty  # ARM ids compare case-insensitively


def test_email_service(c, dev):
    s = step(dev, "email_service")
    desired = s.desired({})
    assert desired["properties"] == {"dataLocation": "United States"} and desired["location"] == "global"
    s.create(c, desired)
    c.communication.email_services.begin_create_or_update.assert_called_once_with(RG, "fundrbolt-dev-email", desired)
    s.update(c, desired, desired, ())
    c.communication.email_services.begin_update.assert_called_once_with(RG, "fundrbolt-dev-email", {"tags": s.tags()})


def test_email_domain_is_customer_managed(c, dev):
    s = step(dev, "email_domain")
    assert s.resource_name == ZONE
    desired = s.desired({})
    assert desired["properties"] == {"domainManagement": "CustomerManaged", "userEngagementTracking": "Disabled"}
    s.create(c, desired)
    c.communication.domains.begin_create_or_update.assert_called_once_with(RG, "fundrbolt-dev-email", ZONE, desired)
    s.update(c, desired, desired, ())
    c.communication.domains.begin_update.assert_called_once_with(
        RG, "fundrbolt-dev-email", ZONE, {"tags": s.tags(), "properties": {"userEngagementTracking": "Disabled"}})
    s.read(c)
    assert c.communication.domains.get.call_args.args == (RG, "fundrbolt-dev-email", ZONE)


def _states(**statuses):
    return {"properties": {"verificationStates": {k: {"status": v} for k, v in statuses.items()}}}


class _Clock:
    """Stands in for steps.email_domain.time: sleeping advances a fake monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    from steps import email_domain

    fake = _Clock()
    monkeypatch.setattr(email_domain, "time", fake)
    return fake


def _kinds(c) -> list[str]:
    return [call.args[3]["verificationType"] for call in c.communication.domains.begin_initiate_verification.call_args_list]


def test_verification_checks_ownership_first_then_spf_and_dkim(c, dev, clock):
    s = step(dev, "email_domain_verification")
    assert set(s.depends_on) >= {"email_domain", "dns_record:apex-txt", "dns_record:dkim", "dns_record:dkim2"}
    notes: list[str] = []
    s.note = notes.append
    c.communication.domains.get.side_effect = [
        _states(Domain="NotStarted", SPF="NotStarted", DKIM="NotStarted", DKIM2="NotStarted"),
        _states(Domain="VerificationRequested", SPF="NotStarted", DKIM="NotStarted", DKIM2="NotStarted"),
        _states(Domain="Verified", SPF="NotStarted", DKIM="Verified", DKIM2="NotStarted"),  # ends the first stage
        _states(Domain="Verified", SPF="NotStarted", DKIM="Verified", DKIM2="NotStarted"),
        _states(Domain="Verified", SPF="VerificationInProgress", DKIM="Verified", DKIM2="VerificationRequested"),
        _states(Domain="Verified", SPF="Verified", DKIM="Verified", DKIM2="Verified"),
    ]
    s.create(c, s.desired({}))
    # The documented order: Domain alone, and only once it is Verified, SPF and the DKIM record still missing.
    assert _kinds(c) == ["Domain", "SPF", "DKIM2"]
    assert c.communication.domains.begin_initiate_verification.call_args.args[:3] == (RG, "fundrbolt-dev-email", ZONE)
    assert any("verifying Domain" in n for n in notes) and any("verifying SPF, DKIM, DKIM2" in n for n in notes)


def test_verification_stops_waiting_at_its_bound_without_failing(c, dev, clock):
    from provisioner.core.errors import Waiting

    s = step(dev, "email_domain_verification")
    c.communication.domains.get.return_value = _states(Domain="Verified", SPF="VerificationInProgress",
                                                        DKIM="Verified", DKIM2="Verified")
    with pytest.raises(Waiting, match="SPF verificationinprogress.*next run") as info:
        s.create(c, s.desired({}))
    assert info.value.exit_code == 0 and not info.value.retryable
    assert clock.now >= 45 * 60  # email.verification_wait_minutes (common.toml)
    c.communication.domains.begin_initiate_verification.assert_not_called()  # in flight: never asked twice


def test_verification_done_when_all_verified(c, dev):
    s = step(dev, "email_domain_verification")
    c.communication.domains.get.return_value = _states(Domain="Verified", SPF="Verified", DKIM="Verified", DKIM2="Verified")
    s.create(c, s.desired({}))
    c.communication.domains.begin_initiate_verification.assert_not_called()
    # Status enums compare case-insensitively (normalizer on verificationStates.*.status).
    assert diff(s.desired({}), _states(Domain="verified", SPF="VERIFIED", DKIM="Verified", DKIM2="Verified"), s.rules).empty


def test_a_failed_check_is_asked_again(c, dev, clock):
    s = step(dev, "email_domain_verification")
    c.communication.domains.get.side_effect = [
        _states(Domain="NotStarted", SPF="Verified", DKIM="Verified", DKIM2="Verified"),
        _states(Domain="VerificationFailed", SPF="Verified", DKIM="Verified", DKIM2="Verified"),
    ] + [_states(Domain="Verified", SPF="Verified", DKIM="Verified", DKIM2="Verified")] * 2
    s.create(c, s.desired({}))
    assert _kinds(c) == ["Domain", "Domain"]


def test_verification_and_link_can_be_switched_off(tmp_path):
    import shutil

    from tests.support import ENVS
    envs = tmp_path / "envs"
    shutil.copytree(ENVS, envs)
    (envs / "dev.toml").write_text((envs / "dev.toml").read_text() + "\n[email]\nlink_domain = false\n")
    names = [s.name for s in session("dev", envs).steps]
    assert "email_domain" in names and "dns_record:dkim" in names
    assert "email_domain_verification" not in names and "communication_service_link" not in names


def test_email_domain_enum_casing_is_not_drift_and_management_is_immutable(dev):
    s = step(dev, "email_domain")
    desired = s.desired({})
    observed: dict[str, Any] = {"location": "Global", "tags": s.tags(), "properties": {
        "domainManagement": "customermanaged", "userEngagementTracking": "disabled", "dataLocation": "unitedstates",
        "verificationRecords": RECORDS}}
    assert diff(desired, observed, s.rules).empty
    observed["properties"]["domainManagement"] = "AzureManaged"
    [change] = diff(desired, observed, s.rules).changes
    assert change.path == "properties.domainManagement" and change.requires_replace


def test_extra_txt_records(tmp_path):
    import shutil

    from tests.support import ENVS
    envs = tmp_path / "envs"
    shutil.copytree(ENVS, envs)
    (envs / "dev.toml").write_text((envs / "dev.toml").read_text() + (
        '\n[dns.txt_records]\n"@" = ["google-site-verification=abc"]\n"_github" = ["' + "g" * 300 + '"]\n'))
    s = session("dev", envs)
    apex = step(s, "dns_record:apex-txt").desired(KNOWN)["properties"]["TXTRecords"]
    assert apex[-1] == {"value": ["google-site-verification=abc"]} and len(apex) == 3
    extra = step(s, "dns_record:txt:_github")
    assert extra.resource_name == "_github" and extra.depends_on == ("dns_zone",)
    assert [len(v) for v in extra.desired({})["properties"]["TXTRecords"][0]["value"]] == [255, 45]
