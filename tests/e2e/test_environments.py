"""Each environment end to end: provision it with the CLI into the local cloud, a second plan is empty and a
second provision writes nothing, and the document's settings for that environment read back through the
local cloud's REST API."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import cli, rest, writes
from tests.support import SUB

pytestmark = pytest.mark.e2e

# What ../shared/seed/platform-architecture.md gives each environment (as the env files choose it).
EXPECTED = {
    "dev": {"plan": ("B1", "Basic"), "pg": ("Standard_B1ms", "Burstable", "Disabled", 7), "redis": ("Balanced_B0", "Disabled", False),
            "sampling": 100, "budget": 100, "emails": {"devops@fundrbolt.app"}, "slot": False, "autoscale": None,
            "locks": 0, "purge_protection": None},
    # Burstable B2s and autoscale 1-2 to fit the $300 budget (envs/staging.toml [budget], docs/cost.md).
    "staging": {"plan": ("S1", "Standard"), "pg": ("Standard_B2s", "Burstable", "Disabled", 7),
                "redis": ("Balanced_B1", "Enabled", False), "sampling": 100, "budget": 300,
                "emails": {"ops@fundrbolt.app", "devops@fundrbolt.app"}, "slot": True, "autoscale": ("1", "2"),
                "locks": 0, "purge_protection": None},
    "production": {"plan": ("S1", "Standard"), "pg": ("Standard_D2s_v3", "GeneralPurpose", "ZoneRedundant", 30),
                   "redis": ("Balanced_B1", "Enabled", True), "sampling": 10, "budget": 1000,
                   "emails": {"ops@fundrbolt.app", "engineering@fundrbolt.app"}, "slot": True,
                   "autoscale": ("2", "5"), "locks": 4, "purge_protection": True},
}


# Production's delegations wait for the sub-zones; a sub-zone's names wait for production's delegation.
WAITING_ALONE = {
    "production": {"dns_delegation:dev", "dns_delegation:staging"},
    **{env: {"custom_domain:api", "custom_domain:admin", "certificate:api", "custom_domain:api-tls",
             "email_domain_verification", "communication_service_link"} for env in ("dev", "staging")},
}


def _get(url: str, path: str, api: str) -> dict:
    status, body = rest(url, "GET", path, api_version=api)
    assert status == 200, (path, status, body)
    return body


@pytest.mark.parametrize("env", ["dev", "staging", "production"])
def test_environment_converges_and_matches_the_document(cloud, env):
    url, want = cloud.url, EXPECTED[env]
    first = cli("provision", "--env", env, "--arm-endpoint", url, "--yes")
    assert first.code == 0, first.err + first.out[-3000:]

    plan = cli("plan", "--env", env, "--arm-endpoint", url, "--output", "json")
    assert plan.code == 0, plan.err
    # Alone in a cloud, an environment waits only for what another one provides (tests/e2e/test_first_runs.py).
    waiting = {w["step"] for w in plan.json()["waiting"]}
    assert waiting == WAITING_ALONE[env]
    assert plan.json()["summary"]["noop"] + len(waiting) == len(plan.json()["changes"])
    before = len(cloud.requests())
    again = cli("provision", "--env", env, "--arm-endpoint", url, "--yes")
    assert again.code == 0 and writes(cloud.requests()[before:]) == []

    rg = f"/subscriptions/{SUB}/resourceGroups/fundrbolt-{env}-rg"
    p = f"{rg}/providers"
    serverfarm = _get(url, f"{p}/Microsoft.Web/serverfarms/fundrbolt-{env}-plan", "2024-11-01")
    assert (serverfarm["sku"]["name"], serverfarm["sku"]["tier"]) == want["plan"]
    assert serverfarm["properties"]["reserved"] is True  # Linux

    config = _get(url, f"{p}/Microsoft.Web/sites/fundrbolt-{env}-api/config/web", "2024-11-01")["properties"]
    assert (config["alwaysOn"], config["healthCheckPath"], config["minTlsVersion"], config["ftpsState"]) == (
        True, "/health", "1.2", "Disabled")
    site = _get(url, f"{p}/Microsoft.Web/sites/fundrbolt-{env}-api", "2024-11-01")
    assert site["properties"]["httpsOnly"] is True and site["identity"]["type"] == "SystemAssigned, UserAssigned"
    # its own identity, and the app identity it shares with the slot (the database sign-in)
    assert [k.rsplit("/", 1)[-1] for k in site["identity"]["userAssignedIdentities"]] == [f"fundrbolt-{env}-app-id"]
    if env == "production":  # HTTPS on api.fundrbolt.app serves its managed certificate (SNI)
        cert = _get(url, f"{p}/Microsoft.Web/certificates/fundrbolt-production-api-cert", "2024-11-01")["properties"]
        tls = {s["name"]: s for s in site["properties"]["hostNameSslStates"]}["api.fundrbolt.app"]
        assert cert["canonicalName"] == "api.fundrbolt.app" and tls["sslState"] == "SniEnabled"
        assert tls["thumbprint"] == cert["thumbprint"]
        acs = _get(url, f"{p}/Microsoft.Communication/communicationServices/fundrbolt-production-acs", "2023-04-01")
        assert acs["properties"]["linkedDomains"][0].endswith("/domains/fundrbolt.app")

    pg = _get(url, f"{p}/Microsoft.DBforPostgreSQL/flexibleServers/fundrbolt-{env}-pg", "2024-08-01")
    assert (pg["sku"]["name"], pg["sku"]["tier"], pg["properties"]["highAvailability"]["mode"],
            pg["properties"]["backup"]["backupRetentionDays"]) == want["pg"]
    assert pg["properties"]["version"] == "17" and "administratorLoginPassword" not in pg["properties"]

    # Azure Managed Redis (the document's Basic C0 / Standard C1 through Microsoft's migration mapping).
    amr = _get(url, f"{p}/Microsoft.Cache/redisEnterprise/fundrbolt-{env}-amr", "2025-07-01")
    db = _get(url, f"{p}/Microsoft.Cache/redisEnterprise/fundrbolt-{env}-amr/databases/default", "2025-07-01")
    assert (amr["sku"]["name"], amr["properties"]["highAvailability"], db["properties"]["persistence"]["aofEnabled"]) == \
        want["redis"]
    assert amr["properties"]["minimumTlsVersion"] == "1.2" and db["properties"]["clientProtocol"] == "Encrypted"
    assert db["properties"]["port"] == 10000 and db["properties"]["accessKeysAuthentication"] == "Enabled"

    appi = _get(url, f"{p}/Microsoft.Insights/components/fundrbolt-{env}-appi", "2020-02-02")["properties"]
    assert appi["SamplingPercentage"] == want["sampling"] and appi["RetentionInDays"] == 90

    budget = _get(url, f"{rg}/providers/Microsoft.Consumption/budgets/fundrbolt-{env}-budget", "2024-08-01")
    assert budget["properties"]["amount"] == want["budget"]

    group = _get(url, f"{p}/Microsoft.Insights/actionGroups/fundrbolt-{env}-alerts", "2023-01-01")["properties"]
    assert {r["emailAddress"] for r in group["emailReceivers"]} == want["emails"]

    vault = _get(url, f"{p}/Microsoft.KeyVault/vaults/fundrbolt-{env}-kv", "2024-11-01")["properties"]
    assert vault["enableSoftDelete"] is True and vault.get("enablePurgeProtection") == want["purge_protection"]
    assert vault["networkAcls"]["defaultAction"] == "Deny"

    storage = _get(url, f"{p}/Microsoft.Storage/storageAccounts/fundrbolt{env}st", "2025-01-01")["properties"]
    assert storage["minimumTlsVersion"] == "TLS1_2" and storage["allowBlobPublicAccess"] is False

    slot_status, _ = rest(url, "GET", f"{p}/Microsoft.Web/sites/fundrbolt-{env}-api/slots/staging")
    assert (slot_status == 200) is want["slot"]
    auto_status, auto = rest(url, "GET", f"{p}/Microsoft.Insights/autoscaleSettings/fundrbolt-{env}-autoscale",
                             api_version="2022-10-01")
    if want["autoscale"] is None:
        assert auto_status == 404
    else:
        capacity = auto["properties"]["profiles"][0]["capacity"]
        assert (capacity["minimum"], capacity["maximum"]) == want["autoscale"]
        assert auto["properties"]["enabled"] is True

    locks = [i for i, body in cloud.state().items()
             if f"fundrbolt-{env}-rg" in i and body.get("type", "").lower() == "microsoft.authorization/locks"]
    assert len(locks) == want["locks"]
    assert all(cloud.state()[i]["properties"]["level"] == "CanNotDelete" for i in locks)
