"""Reports a person acts on: a world-open database rule added by REST comes first in drift, with the exact
command to lift the lock; provision's last line says what it left; Markdown is Markdown."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import cli, rest, rg_path

pytestmark = pytest.mark.e2e

PG = f"{rg_path('production')}/providers/Microsoft.DBforPostgreSQL/flexibleServers/fundrbolt-production-pg"
LIFT = ("az lock delete --name do-not-delete --resource-group fundrbolt-production-rg "
        "--resource-type Microsoft.DBforPostgreSQL/flexibleServers --resource fundrbolt-production-pg")


def test_an_open_database_rule_comes_first_with_its_fix_and_provision_says_it_left_it(cloud):
    url = cloud.url
    assert cli("provision", "--env", "production", "--arm-endpoint", url, "--yes").code == 0
    bob = "bob@fundrbolt.app"
    # Less urgent changes first, so the order of the report is not the order they were made in.
    storage = f"{rg_path('production')}/providers/Microsoft.Storage/storageAccounts/fundrboltproductionst"
    tags = rest(url, "GET", storage, caller=bob)[1]["tags"]
    assert rest(url, "PATCH", storage, {"tags": {**tags, "temp": "bob"}}, caller=bob)[0] == 200
    site = f"{rg_path('production')}/providers/Microsoft.Web/sites/fundrbolt-production-api"
    assert rest(url, "PATCH", f"{site}/config/web", {"properties": {"minTlsVersion": "1.0"}}, caller=bob)[0] == 200
    rule = f"{PG}/firewallRules/AllowAll"
    status, _ = rest(url, "PUT", rule, {"properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"}},
                     caller=bob, api_version="2024-08-01")
    assert status < 300

    drift = cli("drift", "--env", "production", "--arm-endpoint", url)
    assert drift.code == 2, drift.err
    lines = drift.out.splitlines()
    assert "live value -> desired value" in drift.out
    entries = [line.split()[1] for line in lines if line.startswith("    ") and line.strip()[:1] in "~-+"
               and "  (" in line]
    assert entries[0] == "postgres_server/firewallRules/AllowAll", entries
    assert entries[1:] == ["web_app_config", "storage_account"]
    fixes = [line.strip() for line in lines if line.strip().startswith("fix: ")]
    assert len(fixes) == len(entries)
    assert fixes[0] == (f"fix: {LIFT} && az resource delete --ids {rule} && provisioner provision --env production"
                        "  (re-applies the lock)")
    assert "provision removes it" not in drift.out

    doc = cli("drift", "--env", "production", "--arm-endpoint", url, "--output", "json").json()
    first = doc["changes"][0]
    assert (first["step"], first["severity"]) == ("postgres_server/firewallRules/AllowAll", "access")
    assert first["fix"].startswith(LIFT)

    plan = cli("plan", "--env", "production", "--arm-endpoint", url)
    assert plan.code == 2  # something needs doing, by provision or by a person

    done = cli("provision", "--env", "production", "--arm-endpoint", url, "--yes")
    assert done.code == 0, done.err
    last = done.out.strip().splitlines()[-1]  # stdout's last line: it comes after the progress on stderr
    assert last.startswith("LEFT FOR A PERSON: 1 change(s), most urgent: access and exposure"), last
    again = cli("provision", "--env", "production", "--arm-endpoint", url, "--yes")
    assert again.code == 0
    last = again.err.strip().splitlines()[-1]
    assert "Nothing to do" not in last and "LEFT FOR A PERSON" in last and "AllowAll" in last, last
    assert rule in cloud.state()  # the lock stands: a person decides


def test_provision_markdown_prints_markdown(cloud):
    run = cli("provision", "--env", "dev", "--arm-endpoint", cloud.url, "--output", "markdown")
    assert run.code == 0, run.err
    assert run.out.startswith("### Plan for `dev`") and "### Result for `dev`" in run.out
    assert "| property | desired (env files) |" in run.out
