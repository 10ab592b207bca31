"""Delegation of sub-zones, waiting on public DNS, the managed certificate and SNI binding, the merged SPF
record: SDK calls (autospec) and decisions."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.core.errors import AzureCallError
from provisioner.core.model import UNKNOWN
from steps import email_service
from steps.dns_delegation import reachability
from tests.support import session, step

NS = ["ns1-03.azure-dns.com.", "ns2-03.azure-dns.net.", "ns3-03.azure-dns.org.", "ns4-03.azure-dns.info."]
ZONE_BODY = {"properties": {"nameServers": NS}}
MISSING = AzureCallError("404 ResourceNotFound: gone", code="ResourceNotFound", status=404)


def _ns(servers: list[str]) -> dict[str, Any]:
    return {"properties": {"TTL": 3600, "NSRecords": [{"nsdname": s} for s in servers]}}


# ---------------------------------------------------------------- is the zone reachable through public DNS?


def test_the_apex_is_registered_and_needs_no_read(c, prod):
    assert reachability(c, prod.env, ZONE_BODY) is None
    c.dns.zones.get.assert_not_called()


def test_production_not_run_yet(c, dev):
    c.dns.zones.get.side_effect = MISSING
    why = reachability(c, dev.env, ZONE_BODY)
    assert why and why.startswith("delegate dev.fundrbolt.app: production has not run yet")
    assert "provisioner provision --env production" in why
    c.dns.zones.get.assert_called_once()
    assert c.dns.zones.get.call_args.args == ("fundrbolt-production-rg", "fundrbolt.app")


def test_parent_without_the_ns_record(c, dev):
    c.dns.zones.get.return_value = {"properties": {}}
    c.dns.record_sets.get.side_effect = MISSING
    why = reachability(c, dev.env, ZONE_BODY)
    assert why and "fundrbolt.app has no NS record 'dev' yet" in why
    assert c.dns.record_sets.get.call_args.args == ("fundrbolt-production-rg", "fundrbolt.app", "dev", "NS")


def test_a_stale_delegation_names_other_servers(c, dev):
    c.dns.zones.get.return_value = {"properties": {}}
    c.dns.record_sets.get.return_value = _ns(["ns1-07.azure-dns.com."])
    why = reachability(c, dev.env, ZONE_BODY)
    assert why and "other name servers" in why


def test_delegated_compares_folded_and_unordered(c, dev):
    c.dns.zones.get.return_value = {"properties": {}}
    c.dns.record_sets.get.return_value = _ns([s.upper().rstrip(".") for s in reversed(NS)])
    assert reachability(c, dev.env, ZONE_BODY) is None


def test_zone_created_by_this_run_waits_for_its_delegation(c, dev):
    c.dns.zones.get.return_value = {"properties": {}}
    c.dns.record_sets.get.side_effect = MISSING
    why = reachability(c, dev.env, None)
    assert why and "the zone is created by this run" in why


def test_no_read_access_to_the_parent_says_so(c, dev):
    c.dns.zones.get.side_effect = AzureCallError("403 AuthorizationFailed: no", code="AuthorizationFailed", status=403)
    why = reachability(c, dev.env, ZONE_BODY)
    assert why and "Reader" in why and "403" in why


@pytest.mark.parametrize("name", ["custom_domain:api", "custom_domain:admin", "certificate:api",
                                  "custom_domain:api-tls", "email_domain_verification"])
def test_steps_validated_through_dns_wait_while_unreachable(c, dev, name):
    s = step(dev, name)
    c.dns.zones.get.side_effect = MISSING
    s.gather(c, {"dns_zone": ZONE_BODY})
    assert "production has not run yet" in (s.precondition({}) or "")


# ---------------------------------------------------------------- production delegates the sub-zones


def test_delegation_reads_the_sub_zone_then_writes_its_ns_set(c, prod):
    s = step(prod, "dns_delegation:dev")
    assert s.type == "Microsoft.Network/dnsZones/NS" and s.depends_on == ("dns_zone",)
    assert s.ref.id.endswith("/resourceGroups/fundrbolt-production-rg/providers/Microsoft.Network/dnsZones/fundrbolt.app/NS/dev")
    c.dns.zones.get.side_effect = MISSING
    s.gather(c, {})
    assert c.dns.zones.get.call_args.args == ("fundrbolt-dev-rg", "dev.fundrbolt.app")  # another group
    assert "dev.fundrbolt.app does not exist yet in fundrbolt-dev-rg" in (s.precondition({}) or "")
    assert s.desired({})["properties"]["NSRecords"] is UNKNOWN  # (known after apply)
    c.dns.zones.get.side_effect, c.dns.zones.get.return_value = None, ZONE_BODY
    s.gather(c, {})
    assert s.precondition({}) is None
    desired = s.desired({})
    assert desired == {"properties": {"TTL": 3600, "NSRecords": [{"nsdname": n.rstrip(".")} for n in NS]}}
    s.create(c, desired)
    c.dns.record_sets.create_or_update.assert_called_once_with("fundrbolt-production-rg", "fundrbolt.app", "dev", "NS", desired)
    s.read(c)
    assert c.dns.record_sets.get.call_args.args == ("fundrbolt-production-rg", "fundrbolt.app", "dev", "NS")


def test_delegation_order_and_trailing_dots_are_not_drift(c, prod):
    from provisioner.engine.diff import diff

    s = step(prod, "dns_delegation:staging")
    c.dns.zones.get.return_value = ZONE_BODY
    s.gather(c, {})
    assert diff(s.desired({}), _ns(list(reversed(NS))), s.rules).empty
    assert not diff(s.desired({}), _ns(NS[:3]), s.rules).empty


def test_only_production_delegates(dev, prod):
    assert [s.name for s in prod.steps if s.name.startswith("dns_delegation:")] == ["dns_delegation:dev", "dns_delegation:staging"]
    assert not [s for s in dev.steps if s.name.startswith("dns_delegation:")]


# ---------------------------------------------------------------- managed certificate and SNI


def test_managed_certificate_body_and_calls(c, prod):
    s = step(prod, "certificate:api")
    assert set(s.depends_on) >= {"custom_domain:api", "app_service_plan"}
    body = s.desired({})
    assert body["properties"] == {
        "canonicalName": "api.fundrbolt.app",
        "serverFarmId": f"/subscriptions/{prod.env.subscription_id}/resourceGroups/fundrbolt-production-rg"
                        "/providers/Microsoft.Web/serverfarms/fundrbolt-production-plan",
        "hostNames": ["api.fundrbolt.app"]}
    s.create(c, body)
    c.web.certificates.create_or_update.assert_called_once_with("fundrbolt-production-rg", "fundrbolt-production-api-cert", body)
    s.update(c, body, {}, ())
    c.web.certificates.update.assert_called_once_with("fundrbolt-production-rg", "fundrbolt-production-api-cert",
                                                      {"tags": body["tags"]})
    assert any(p == "properties.canonicalName" for p in s.rules.replace_on)


def test_a_202_from_the_certificate_put_is_waited_for_through_its_location(c, prod, monkeypatch):
    """What App Service answers (azure-sdk-for-go#13665): 202, Location under the certificate; the generated SDK
    operation raises HttpResponseError on it (azure-sdk-for-python#34395). The step waits on that Location."""
    from azure.core.exceptions import HttpResponseError
    from azure.core.pipeline.transport._requests_basic import RequestsTransportResponse
    from azure.core.rest import HttpRequest
    from requests import Response

    from provisioner.azure import accepted

    cert = "/subscriptions/s/resourceGroups/fundrbolt-production-rg/providers/Microsoft.Web/certificates/c"
    raw_response = Response()
    raw_response.status_code, raw_response._content = 202, b""
    raw_response.headers.update({"Location": f"https://management.azure.com{cert}/operationresults/1?api-version=x",
                                 "Retry-After": "15"})
    request = HttpRequest("PUT", f"https://management.azure.com{cert}")
    accepted_202 = HttpResponseError(response=RequestsTransportResponse(request, raw_response))
    c.web.certificates.create_or_update.side_effect = accepted_202
    waited: list[str] = []
    monkeypatch.setattr(accepted, "_wait", lambda op, response, interval: waited.append(response.headers["Location"]))
    s = step(prod, "certificate:api")
    s.create(c, s.desired({}))
    assert waited == [f"https://management.azure.com{cert}/operationresults/1?api-version=x"]
    # Any other status is still an error, mapped as every SDK error is.
    raw_response.status_code = 400
    c.web.certificates.create_or_update.side_effect = HttpResponseError(response=RequestsTransportResponse(request, raw_response))
    with pytest.raises(AzureCallError):
        s.create(c, s.desired({}))


def test_sni_binding_serves_the_certificate_thumbprint(c, prod):
    s = step(prod, "custom_domain:api-tls")
    assert set(s.depends_on) >= {"custom_domain:api", "certificate:api"}
    assert s.desired({})["properties"]["thumbprint"] is UNKNOWN
    body = s.desired({"certificate:api": {"properties": {"thumbprint": "AB12"}}})
    assert body["properties"]["sslState"] == "SniEnabled" and body["properties"]["thumbprint"] == "AB12"
    s.create(c, body)
    c.web.web_apps.create_or_update_host_name_binding.assert_called_once_with(
        "fundrbolt-production-rg", "fundrbolt-production-api", "api.fundrbolt.app", body)


def test_repairing_the_plain_binding_keeps_its_tls(c, prod):
    s = step(prod, "custom_domain:api")
    observed = {"properties": {"sslState": "SniEnabled", "thumbprint": "AB12", "siteName": "tampered"}}
    s.update(c, s.desired({}), observed, ())
    sent = c.web.web_apps.create_or_update_host_name_binding.call_args.args[3]["properties"]
    assert (sent["sslState"], sent["thumbprint"], sent["siteName"]) == ("SniEnabled", "AB12", "fundrbolt-production-api")


# ---------------------------------------------------------------- one SPF record


def test_company_includes_join_azures_spf_record():
    azure = "v=spf1 include:spf.protection.outlook.com -all"
    assert email_service.merged_spf(azure, []) == azure
    assert email_service.merged_spf(azure, ["_spf.google.com", "spf.protection.outlook.com"]) == \
        "v=spf1 include:spf.protection.outlook.com include:_spf.google.com -all"
    assert email_service.merged_spf("v=spf1 include:a.net", ["b.net"]) == "v=spf1 include:a.net include:b.net"


def test_apex_txt_set_carries_one_spf_value(tmp_path):
    import shutil

    from tests.support import ENVS
    from tests.unit.test_steps_dns_email import KNOWN

    envs = tmp_path / "envs"
    shutil.copytree(ENVS, envs)
    prod_file = envs / "production.toml"
    prod_file.write_text(prod_file.read_text() + '\n[email]\nspf_includes = ["_spf.google.com"]\n')
    s = step(session("production", envs), "dns_record:apex-txt")
    known = {**KNOWN, "email_domain": {"properties": {"verificationRecords": {
        k: {**v, "name": "fundrbolt.app" if v["name"].startswith("dev.") else v["name"]}
        for k, v in KNOWN["email_domain"]["properties"]["verificationRecords"].items()}}}}
    values = ["".join(r["value"]) for r in s.desired(known)["properties"]["TXTRecords"]]
    spf = [v for v in values if v.startswith("v=spf1")]
    assert spf == ["v=spf1 include:spf.protection.outlook.com include:_spf.google.com -all"]


@pytest.mark.parametrize(("name", "operation", "message"), [
    ("custom_domain:api", "web_apps.create_or_update_host_name_binding",
     "400 BadRequest: A CNAME record pointing from api.fundrbolt.app to x.azurewebsites.net was not found."),
    ("custom_domain:admin", "static_sites.begin_create_or_update_static_site_custom_domain",
     "400 BadRequest: CNAME Record is invalid.  Please ensure the CNAME record has been created."),
])
def test_azure_not_seeing_the_records_yet_waits_instead_of_failing(c, prod, name, operation, message):
    from provisioner.core.errors import Waiting

    s = step(prod, name)
    group, op = operation.split(".")
    getattr(getattr(c.web, group), op).side_effect = AzureCallError(message, code="BadRequest", status=400)
    with pytest.raises(Waiting, match="registrar of fundrbolt.app"):
        s.create(c, s.desired({}))
    getattr(getattr(c.web, group), op).side_effect = AzureCallError("400 BadRequest: something else", status=400)
    with pytest.raises(AzureCallError):  # any other refusal is a failure as before
        s.create(c, s.desired({}))


def test_a_sub_zone_production_may_not_read_waits_and_says_what_to_grant(c, prod):
    s = step(prod, "dns_delegation:dev")
    c.dns.zones.get.side_effect = AzureCallError("403 AuthorizationFailed: no", code="AuthorizationFailed", status=403)
    s.gather(c, {})
    why = s.precondition({}) or ""
    assert "cannot read dev.fundrbolt.app in fundrbolt-dev-rg" in why and "Reader" in why


# ---------------------------------------------------------------- the admin custom domain, validated by its operation


def _domain(status: str, message: str | None = None) -> dict[str, Any]:
    """A GET of staticSites/customDomains (azure-mgmt-web StaticSiteCustomDomainOverviewARMResource)."""
    return {"name": "admin.fundrbolt.app", "properties": {"domainName": "admin.fundrbolt.app", "status": status,
                                                          "errorMessage": message, "validationToken": None}}


def test_a_failed_custom_domain_is_sent_again_and_one_validating_is_waited_for(prod):
    from provisioner.engine.reconciler import Policy, decide

    s = step(prod, "custom_domain:admin")
    desired = s.desired({})
    failed = decide(s, desired, _domain("Failed", "CNAME Record is invalid.  Please ensure ..."), Policy(), True)
    assert failed.action.value == "update" and "failed" in failed.reason
    busy = decide(s, desired, _domain("Validating"), Policy(), True)
    assert busy.action.value == "noop" and "in progress" in busy.reason
    assert decide(s, desired, _domain("Ready"), Policy(), True).action.value == "noop"


def test_a_custom_domain_failed_by_its_operation_for_dns_is_waiting(c, prod):
    from provisioner.core.errors import Waiting

    # What azure-core raises when the operation ends Failed: the poll answered 200, the error is the operation's.
    c.web.static_sites.begin_create_or_update_static_site_custom_domain.return_value.result.side_effect = (
        _operation_failed("BadRequest", "CNAME Record is invalid.  Please ensure the CNAME record has been created."))
    s = step(prod, "custom_domain:admin")
    with pytest.raises(Waiting) as info:
        s.create(c, s.desired({}))
    assert "admin.fundrbolt.app" in str(info.value) and "CNAME Record is invalid" in str(info.value)
    c.web.static_sites.begin_create_or_update_static_site_custom_domain.return_value.result.side_effect = (
        _operation_failed("Conflict", "The domain is already in use by another static site."))
    with pytest.raises(AzureCallError):  # any other failure is a failure
        s.create(c, s.desired({}))


def _operation_failed(code: str, message: str) -> Exception:
    from azure.core.exceptions import HttpResponseError, ODataV4Format
    from azure.core.pipeline.transport._requests_basic import RequestsTransportResponse
    from azure.core.rest import HttpRequest
    from requests import Response

    answer = Response()
    answer.status_code = 200
    answer._content = b'{"status": "Failed", "error": {"code": "%s", "message": "%s"}}' % (code.encode(), message.encode())
    error = HttpResponseError(response=RequestsTransportResponse(HttpRequest("GET", "https://x/operationStatuses/1"), answer))
    error.error = ODataV4Format({"code": code, "message": message})
    return error
