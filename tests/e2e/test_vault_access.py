"""The first real Azure run, on a local cloud as strict as Azure: the vault's tenant, its firewall and RBAC,
and the app's Key Vault references, each refused before and converged after (issue 7, points 1-3)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.secrets import SecretClient

from provisioner.azure import Clients, StaticTokenCredential, Target
from provisioner.cli.session import Connection, Session, apply, check_tenant, load_session, make_plan
from provisioner.core.model import Plan, Status
from provisioner.engine.executor import Timing
from provisioner.engine.graph import build
from provisioner.engine.reconciler import Policy
from provisioner.localcloud import LocalCloud
from provisioner.localcloud.providers import register_all
from steps import ALL_STEPS, _kv_references
from tests.e2e.helpers import cli, rest, rg_path, writes
from tests.localcloud.conftest import jwt
from tests.support import SUB, copy_envs, session

pytestmark = pytest.mark.e2e
OPERATOR_IP = "52.160.10.20"  # the address the firewall sees for this test's callers
VAULT = f"{rg_path()}/providers/Microsoft.KeyVault/vaults/fundrbolt-dev-kv"
SITE = f"{rg_path()}/providers/Microsoft.Web/sites/fundrbolt-dev-api"


def _provision(s: Session, conn: Connection) -> dict[str, Status]:
    plan, known = make_plan(s, conn, Policy())
    outcomes, _ = apply(s, conn, plan, known)
    failed = {o.change.step: o.error for o in outcomes if o.status in (Status.FAILED, Status.SKIPPED)}
    assert not failed, failed
    return {o.change.step: o.status for o in outcomes}


def _statuses(cloud: LocalCloud) -> dict[str, str]:
    status, body = rest(cloud.url, "GET", f"{SITE}/config/configreferences/appsettings")
    assert status == 200, body
    return {r["name"]: r["properties"]["status"] for r in body["value"]}


def test_after_provision_the_vault_is_shut_to_everyone_but_the_app(tmp_path: Path) -> None:
    envs = copy_envs(tmp_path)
    dev = envs / "dev.toml"
    dev.write_text(dev.read_text() + f'\n[key_vault]\nallowed_ips = ["{OPERATOR_IP}"]\n')
    with LocalCloud(client_ip=OPERATOR_IP) as cloud:
        register_all(cloud)  # a subscription in use (providers: tests/e2e/test_azure_2026.py)
        clients = Clients(Target(SUB, cloud.url, local=True, polling_interval=0.02, ca_file=str(cloud.ca_file)))
        s = load_session("dev", ALL_STEPS, envs)
        _provision(s, Connection(clients, Timing.local()))
        assert set(_statuses(cloud).values()) == {"Resolved"}  # the app reads its secrets
        _, vault = rest(cloud.url, "GET", VAULT)
        uri = vault["properties"]["vaultUri"]
        # Let in by the firewall (an operator's address), but holding no role: refused.
        for token in ("alice@fundrbolt.app", jwt(oid=str(uuid.uuid4())), "fundrbolt-provisioner"):
            client = SecretClient(uri, StaticTokenCredential(token), verify_challenge_resource=False,
                                  connection_verify=str(cloud.ca_file))
            with pytest.raises(HttpResponseError) as err:
                client.get_secret("database-url")
            assert err.value.status_code == 403 and "ForbiddenByRbac" in str(err.value)
            # From any other address, the firewall answers first.
            with pytest.raises(HttpResponseError) as err:
                client.get_secret("database-url", headers={"X-Forwarded-For": "198.51.100.7"})
            assert err.value.status_code == 403 and "ForbiddenByFirewall" in str(err.value)
        assert not [r for r in cloud.requests() if r["kind"] == "dataplane" and r["status"] < 300]  # nobody got in


def test_tenant_comes_from_the_subscription_and_a_wrong_pin_is_refused_before_any_request(tmp_path: Path) -> None:
    tenant = str(uuid.uuid4())
    envs = copy_envs(tmp_path)
    dev = envs / "dev.toml"
    shipped = dev.read_text()
    with LocalCloud(tenant_id=tenant) as cloud:
        dev.write_text('tenant_id = "00000000-0000-0000-0000-000000000000"\n' + shipped)
        run = cli("provision", "--env", "dev", "--envs-dir", str(envs), "--arm-endpoint", cloud.url)
        assert run.code == 1 and f"{dev}: tenant_id:" in run.err and tenant in run.err, run.err
        assert writes(cloud.requests()) == []  # refused before anything was written
        dev.write_text(shipped)
        run = cli("provision", "--env", "dev", "--envs-dir", str(envs), "--arm-endpoint", cloud.url)
        assert run.code == 0, run.err[-2000:]
        _, vault = rest(cloud.url, "GET", VAULT)
        assert vault["properties"]["tenantId"] == tenant
        assert set(_statuses(cloud).values()) == {"Resolved"}
        assert cli("drift", "--env", "dev", "--envs-dir", str(envs), "--arm-endpoint", cloud.url).code == 0


def _only(s: Session, name: str) -> Session:
    step = next(x for x in s.steps if x.name == name)
    return Session(s.env, [step], build([(name, ())]))


def test_references_resolve_through_the_vnet_with_a_role_and_nothing_else(cloud, clients, monkeypatch) -> None:
    s = session("dev")
    conn = Connection(clients, Timing.local())
    _provision(s, conn)
    check_tenant(s.env, clients)
    assert set(_statuses(cloud).values()) == {"Resolved"}

    # Before: the vault admitting the app's outbound IPs (no VNet rule), as the tool used to set it.
    _, site = rest(cloud.url, "GET", SITE)
    ips = [{"value": f"{ip}/32"} for ip in site["properties"]["possibleOutboundIpAddresses"].split(",")]
    status, _ = rest(cloud.url, "PATCH", VAULT, {"properties": {"networkAcls": {
        "defaultAction": "Deny", "bypass": "AzureServices", "ipRules": ips, "virtualNetworkRules": []}}})
    assert status == 200
    rest(cloud.url, "POST", f"{SITE}/restart")
    assert set(_statuses(cloud).values()) == {"AccessToKeyVaultDenied"}
    # Settings written now fail, naming each reference and why.
    monkeypatch.setattr(_kv_references, "TIMEOUT_LOCAL", 0.3)
    rest(cloud.url, "PUT", f"{SITE}/config/appsettings", {"properties": {"HAND": "made"}})
    plan, known = make_plan(s, conn, Policy())
    assert {c.step for c in plan.pending} == {"key_vault", "app_settings"}
    only = _only(s, "app_settings")  # the settings alone, while the vault still shuts the app out
    [outcome] = apply(only, conn, Plan(plan.env, tuple(c for c in plan.changes if c.step == "app_settings")), known)[0]
    assert outcome.status is Status.FAILED
    for name in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET_KEY"):
        assert f"{name}: AccessToKeyVaultDenied" in (outcome.error or "")
    # After: provision puts the VNet rule back and the references resolve.
    monkeypatch.setattr(_kv_references, "TIMEOUT_LOCAL", 30.0)
    _provision(s, conn)
    assert set(_statuses(cloud).values()) == {"Resolved"}

    # The app's role removed by hand: refused; provision re-creates it and waits for the app to resolve.
    access = next(x for x in s.steps if x.name == "key_vault_access")
    status, _ = rest(cloud.url, "DELETE", access.ref.id, api_version="2022-04-01")
    assert status in (200, 204)
    rest(cloud.url, "POST", f"{SITE}/restart")
    assert set(_statuses(cloud).values()) == {"AccessToKeyVaultDenied"}
    assert _provision(s, conn)["key_vault_access"] is Status.APPLIED
    assert set(_statuses(cloud).values()) == {"Resolved"}
    plan, _ = make_plan(s, conn, Policy())
    assert not plan.has_changes, json.dumps([c.step for c in plan.pending])


def test_production_converges_in_one_run_with_realistic_latency_and_a_random_tenant() -> None:
    tenant = str(uuid.uuid4())
    with LocalCloud(latency="realistic", time_scale=0.005, tenant_id=tenant) as cloud:
        register_all(cloud)  # a subscription in use (providers: tests/e2e/test_azure_2026.py)
        clients = Clients(Target(SUB, cloud.url, local=True, polling_interval=0.05, ca_file=str(cloud.ca_file)))
        s = session("production")
        assert check_tenant(s.env, clients) == tenant
        conn = Connection(clients, Timing.local())
        _provision(s, conn)
        plan, _ = make_plan(s, conn, Policy())
        assert not plan.has_changes and not plan.errors, [c.step for c in plan.pending]
        _, vault = rest(cloud.url, "GET", VAULT.replace("-dev-", "-production-").replace("fundrbolt-dev-rg", "fundrbolt-production-rg"))
        assert vault["properties"]["tenantId"] == tenant


def test_localcloud_serve_tenant_id_flag() -> None:
    """`provisioner localcloud serve --tenant-id` as a user starts it: the subscription answers that tenant."""
    import os
    import subprocess
    import sys

    tenant = str(uuid.uuid4())
    proc = subprocess.Popen([sys.executable, "-m", "provisioner", "localcloud", "serve", "--tenant-id", tenant],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        status, body = rest(url, "GET", f"/subscriptions/{SUB}", api_version="2022-12-01")
        assert status == 200 and body["tenantId"] == tenant
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bad = cli("localcloud", "serve", "--tenant-id", "not-a-guid", timeout=30)
    assert bad.code == 1 and "--tenant-id" in bad.err and "GUID" in bad.err
