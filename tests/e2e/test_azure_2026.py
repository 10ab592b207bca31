"""Azure as it is in December 2026, end to end: the CLI against a local cloud that answers as Azure does
(docs/azure-2026.md): the admin domain failed by its operation then completed, the managed certificate's 202
polled to its thumbprint, PostgreSQL's in-place major version upgrade and its refused way back, alert windows."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import cli, rest, rg_path
from tests.support import SUB, copy_envs, edit_env

pytestmark = pytest.mark.e2e

DECOY_GROUP = f"/subscriptions/{SUB}/resourceGroups/someone-else"
# A zone of the same name in another group, created first: the registrar lists its name servers, not
# production's (the local cloud's registrar is the oldest zone of a name), so Azure cannot see our records.
DECOY_ZONE = f"{DECOY_GROUP}/providers/Microsoft.Network/dnszones/fundrbolt.app"


@pytest.fixture
def envs(tmp_path):
    envs = copy_envs(tmp_path)
    # E-mail verification would wait its full bound for records Azure cannot see: not what is tested here.
    edit_env(envs, "common.toml", "link_domain = true", "link_domain = false")
    return envs


def _run(*args: str):
    run = cli(*args, timeout=120)
    assert run.code == 0, run.out + run.err
    return run


def test_admin_domain_fails_through_its_operation_waits_then_completes(cloud, envs):
    assert rest(cloud.url, "PUT", DECOY_GROUP, {"location": "eastus"}, api_version="2025-04-01")[0] == 201
    # Whoever made that zone registered Azure DNS's provider for the subscription.
    rest(cloud.url, "POST", f"/subscriptions/{SUB}/providers/Microsoft.Network/register", api_version="2025-04-01")
    assert rest(cloud.url, "PUT", DECOY_ZONE, {"location": "global"}, api_version="2018-05-01")[0] == 201
    target = ("--env", "production", "--arm-endpoint", cloud.url, "--envs-dir", str(envs))
    first = _run("provision", "--yes", *target)
    [line] = [line for line in first.err.splitlines() if "custom_domain:admin" in line]
    # Accepted by Azure, failed by its long-running operation, reported as waiting (exit 0), not as a failure.
    assert "waiting" in line and "CNAME Record is invalid" in line and "the operation failed" in line
    domain = f"{rg_path('production')}/providers/Microsoft.Web/staticSites/fundrbolt-production-admin/customDomains/admin.fundrbolt.app"
    puts = [r["status"] for r in cloud.requests() if r["method"] == "PUT" and r["path"].endswith("/admin.fundrbolt.app")]
    assert puts == [202]
    status, body = rest(cloud.url, "GET", domain, api_version="2024-11-01")
    assert status == 200 and body["properties"]["status"] == "Failed"

    assert rest(cloud.url, "DELETE", DECOY_ZONE, api_version="2018-05-01")[0] in (200, 202)  # the registrar: ours
    again = _run("provision", "--yes", *target)
    assert "+ custom_domain:admin done" in again.err or "~ custom_domain:admin done" in again.err
    assert rest(cloud.url, "GET", domain, api_version="2024-11-01")[1]["properties"]["status"] == "Ready"

    # The managed certificate was accepted with 202 + Location and polled to its thumbprint, which TLS serves.
    cert_puts = [r for r in cloud.requests() if r["method"] == "PUT" and "/certificates/" in r["path"]]
    assert [r["status"] for r in cert_puts] == [202]
    assert any("/certificates/" in r["path"] and "/operationresults/" in r["path"] for r in cloud.requests())
    cert = rest(cloud.url, "GET", f"{rg_path('production')}/providers/Microsoft.Web/certificates/"
                "fundrbolt-production-api-cert", api_version="2024-11-01")[1]
    binding = rest(cloud.url, "GET", f"{rg_path('production')}/providers/Microsoft.Web/sites/fundrbolt-production-api"
                   "/hostNameBindings/api.fundrbolt.app", api_version="2024-11-01")[1]
    assert binding["properties"]["sslState"] == "SniEnabled"
    assert binding["properties"]["thumbprint"] == cert["properties"]["thumbprint"]
    replan = cli("plan", *target)
    assert replan.code == 0 and "0 to create, 0 to update" in replan.out  # only the delegations still wait


def test_a_postgres_major_version_goes_up_in_place_and_never_down(cloud, envs):
    target = ("--env", "dev", "--arm-endpoint", cloud.url, "--envs-dir", str(envs))
    edit_env(envs, "common.toml", 'version = "17"', 'version = "14"')
    _run("provision", *target)
    server = f"{rg_path('dev')}/providers/Microsoft.DBforPostgreSQL/flexibleServers/fundrbolt-dev-pg"
    before = rest(cloud.url, "GET", server, api_version="2026-10-01")[1]
    assert before["properties"]["version"] == "14"

    edit_env(envs, "common.toml", 'version = "14"', 'version = "17"')
    plan = cli("plan", "--output", "json", *target)
    assert plan.code == 2, plan.err
    [change] = [c for c in plan.json()["changes"] if c["action"] != "noop" and not c.get("waiting")]
    assert (change["step"], change["action"], change["properties"]) == (
        "postgres_server", "update", [{"path": "properties.version", "before": "14", "after": "17"}])
    _run("provision", *target)
    after = rest(cloud.url, "GET", server, api_version="2026-10-01")[1]
    # The same server, upgraded in place: a PATCH, never a delete + create.
    assert after["properties"]["version"] == "17" and after["systemData"]["createdAt"] == before["systemData"]["createdAt"]
    writes = [(r["method"], r["status"]) for r in cloud.requests() if r["path"] == server and r["write"]]
    assert writes[-1] == ("PATCH", 202) and ("DELETE", 202) not in writes
    assert cli("plan", *target).code == 0

    edit_env(envs, "common.toml", 'version = "17"', 'version = "16"')
    down = cli("provision", *target)
    assert down.code == 1
    assert "refused: postgres_server: update: PostgreSQL 17 cannot go back to 16" in down.err
    assert "postgres.version" in down.err
    assert rest(cloud.url, "GET", server, api_version="2026-10-01")[1]["properties"]["version"] == "17"


def test_an_alert_window_azure_does_not_offer_is_refused_before_any_request(envs):
    edit_env(envs, "common.toml", 'window = "PT15M"\n', 'window = "PT10M"\n')  # the cpu rule: the document's 10 min
    run = cli("validate", "--env", "dev", "--envs-dir", str(envs))
    assert run.code == 1
    assert "metric_alerts.cpu.window" in run.err and "PT5M, PT15M" in run.err and "PT10M" in run.err


@pytest.fixture
def new_subscription(tmp_path):
    """A local cloud whose subscription has only Azure's default providers registered."""
    from provisioner.localcloud import LocalCloud

    with LocalCloud(state_file=tmp_path / "fresh.json", request_log=tmp_path / "fresh.jsonl") as fresh:
        yield fresh


def test_resource_providers_are_registered_before_any_write(new_subscription):
    cloud = new_subscription
    run = _run("provision", "--env", "dev", "--arm-endpoint", cloud.url)
    assert "Registering resource provider(s)" in run.err
    log = cloud.requests()
    registered = [r["path"].split("/providers/")[1].split("/")[0] for r in log
                  if r["method"] == "POST" and r["path"].endswith("/register")]
    assert set(registered) == {"Microsoft.OperationalInsights", "Microsoft.Storage", "Microsoft.Insights",
                               "Microsoft.Web", "Microsoft.KeyVault", "Microsoft.Network", "Microsoft.DBforPostgreSQL",
                               "Microsoft.Cache", "Microsoft.Communication", "Microsoft.ManagedIdentity"}
    first_put = next(i for i, r in enumerate(log) if r["method"] in ("PUT", "PATCH"))
    last_register = max(i for i, r in enumerate(log) if r["path"].endswith("/register"))
    assert last_register < first_put  # before the first write (the run lock's own account included)
    assert not [r for r in log if r["status"] == 409 and "register" not in r["path"]]  # no MissingSubscriptionRegistration
    again = _run("provision", "--env", "dev", "--arm-endpoint", cloud.url)
    assert "Registering" not in again.err
    assert len([r for r in cloud.requests() if r["path"].endswith("/register")]) == len(registered)


def test_an_identity_that_may_not_register_is_stopped_before_any_write(new_subscription):
    cloud = new_subscription
    message = (f"The client 'plan' with object id '0' does not have authorization to perform action "
               f"'Microsoft.Web/register/action' over scope '/subscriptions/{SUB}' or the scope is invalid.")
    cloud.add_fault({"method": "POST", "path": "/providers/[^/]+/register$", "status": 403, "times": 100,
                     "body": {"error": {"code": "AuthorizationFailed", "message": message}}})
    run = cli("provision", "--env", "dev", "--arm-endpoint", cloud.url)
    assert run.code == 1
    assert "may not register them" in run.err and "az provider register --wait --namespace Microsoft.Web" in run.err
    assert not [r for r in cloud.requests() if r["method"] in ("PUT", "PATCH", "DELETE")]  # nothing written
