"""Cost estimates from declared SKUs and sizes, checked against figures worked out by hand and the document."""

from __future__ import annotations

import json

import pytest

from provisioner.cli import cost_report
from provisioner.operate import cost
from tests.support import session

TABLE = cost.load_prices()
H = 730  # hours per month in the table

# Worked out by hand from the table's unit prices (not by the code under test): a wrong SKU mapping, a
# missing HA standby or a lost instance count changes these.
ALERTS = 9 * 0.10  # five metric alerts + two on Managed Redis + two availability alerts, one time series each
TESTS = 2 * 0.0012 * (H * 3600 / 300) * 3  # two standard tests, every 5 min from 3 locations
# Azure Managed Redis per node-hour: dev Balanced B0 without HA (one node), staging and production Balanced B1
# with HA (two nodes).
EXPECTED = {
    "dev": 0.018 * H + 9.0 + 0.017 * H + 0.115 * 32 + 0.016 * H + 0.5 + ALERTS + TESTS,
    "staging": 0.095 * H + 9.0 + 0.178 * H + 0.115 * 32 + 2 * 0.033 * H + 0.5 + ALERTS + TESTS,
    "production": 2 * 0.095 * H + 9.0 + 2 * (0.178 * H + 0.115 * 32) + 2 * 0.033 * H + 0.5 + ALERTS + TESTS,
}
# The same environments on Azure Cache for Redis ([redis] kind = "cache"): Basic C0 / Standard C1, no Redis alerts.
CACHE = {"dev": 0.022 * H - 0.016 * H - 0.2, "staging": 0.138 * H - 2 * 0.033 * H - 0.2}


@pytest.mark.parametrize("env", ["dev", "staging", "production"])
def test_totals_match_the_hand_worked_figures(env):
    est = cost_report.for_session(env, session(env).steps, TABLE)
    assert est.total == pytest.approx(EXPECTED[env], abs=0.02)
    assert est.budget == {"dev": 100.0, "staging": 300.0, "production": 1000.0}[env]


# The architecture document's estimates ($42 / $100 / $289) against ours, tolerance 10% (the document's own
# "within 10% variance"). They do not hold: the document leaves out the availability tests and prices staging
# and production well below their declared SKUs (see docs/cost.md). Pinned so a change of SKU or price that
# moves them is seen.
@pytest.mark.parametrize(("env", "variance"), [("dev", 1.72), ("staging", 2.25), ("production", 0.83)])
def test_against_the_document(env, variance):
    est = cost_report.for_session(env, session(env).steps, TABLE)
    assert est.document == cost.DOCUMENT_ESTIMATES[env]
    assert est.variance == pytest.approx(variance, abs=0.01)
    assert est.within_tolerance is False
    assert "OUTSIDE the document's 10% variance" in cost_report.text(est)


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_an_environment_on_azure_cache_for_redis_prices_its_cache(env, tmp_path):
    from tests.support import copy_envs

    envs = copy_envs(tmp_path)
    text = (envs / f"{env}.toml").read_text()
    (envs / f"{env}.toml").write_text(text.replace("[redis]\n", '[redis]\nkind = "cache"\n', 1))
    est = cost_report.for_session(env, session(env, envs).steps, TABLE)
    assert est.total == pytest.approx(EXPECTED[env] + CACHE[env], abs=0.02)
    assert [line.item for line in est.lines if line.step == "redis"] == [
        {"dev": "Redis Basic C0", "staging": "Redis Standard C1"}[env]]


def test_managed_redis_is_billed_per_node():
    lines = cost.lines_for("redis", "Microsoft.Cache/redisEnterprise", {
        "sku": {"name": "Balanced_B1"}, "properties": {"highAvailability": "Enabled"}}, TABLE)
    assert [(ln.item, ln.monthly) for ln in lines] == [("Managed Redis Balanced_B1 (HA, 2 nodes)", round(0.033 * H * 2, 2))]
    lines = cost.lines_for("redis", "Microsoft.Cache/redisEnterprise", {
        "sku": {"name": "Balanced_B0"}, "properties": {"highAvailability": "Disabled"}}, TABLE)
    assert [(ln.item, ln.monthly) for ln in lines] == [("Managed Redis Balanced_B0", round(0.016 * H, 2))]


def test_the_documents_dev_figure_is_the_plan_database_and_cache():
    est = cost_report.for_session("dev", session("dev").steps, TABLE)
    core = sum(line.monthly for line in est.lines if line.step in ("app_service_plan", "postgres_server", "redis"))
    assert abs(core - 42.0) / 42.0 <= cost.TOLERANCE  # $40.91 with Managed Redis B0: within 10% of the document's $42


def test_tolerance_boundary():
    def total(amount: float) -> cost.Estimate:
        line = cost.Line("s", "x", amount, "")
        return cost.Estimate("dev", (line,), TABLE, None, 100.0)

    assert total(109.0).within_tolerance is True
    assert total(111.0).within_tolerance is False
    assert total(89.0).within_tolerance is False


def test_sku_and_ha_change_the_lines():
    pg = {"sku": {"name": "Standard_D2s_v3"}, "properties": {"storage": {"storageSizeGB": 64},
                                                              "highAvailability": {"mode": "Disabled"}}}
    single = cost.monthly(cost.lines_for("pg", "Microsoft.DBforPostgreSQL/flexibleServers", pg, TABLE))
    pg["properties"]["highAvailability"]["mode"] = "ZoneRedundant"
    ha = cost.monthly(cost.lines_for("pg", "Microsoft.DBforPostgreSQL/flexibleServers", pg, TABLE))
    assert single == pytest.approx(0.178 * H + 0.115 * 64, abs=0.01) and ha == pytest.approx(2 * single, abs=0.02)
    unknown = cost.lines_for("plan", "Microsoft.Web/serverfarms", {"sku": {"name": "P9"}, "kind": "linux"}, TABLE)
    assert unknown[0].usage and "no price for appservice.linux.P9" in unknown[0].basis


def test_json_report_is_stable():
    doc = json.loads(cost_report.to_json(cost_report.for_session("production", session("production").steps, TABLE)))
    assert doc["schema"] == 1 and doc["prices"]["region"] == "eastus" and doc["prices"]["date"] == "2026-11-01"
    assert doc["total"] == pytest.approx(EXPECTED["production"], abs=0.02)
    assert {"step", "item", "monthly", "basis", "usage", "ceiling"} == set(doc["lines"][0])


def test_refresh_script_reads_the_retail_prices_api_shape():
    """scripts/refresh_prices.py against pages shaped like the Retail Prices API (it cannot reach it here)."""
    import datetime as dt
    import importlib.util

    from tests.support import ROOT

    spec = importlib.util.spec_from_file_location("refresh_prices", ROOT / "scripts" / "refresh_prices.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = {"region": "eastus", "date": "2026-11-01", "prices": {
        "appservice.linux.S1": {"unit": "hour", "price": 0.095, "retail": {"serviceName": "Azure App Service",
                                                                          "skuName": "S1"}},
        "dns.zone": {"unit": "month", "price": 0.5, "retail": {"serviceName": "Azure DNS"}}}}
    pages = {
        "S1": {"Items": [{"retailPrice": 0.1, "unitOfMeasure": "1 Hour", "skuName": "S1", "tierMinimumUnits": 0},
                         {"retailPrice": 0.06, "unitOfMeasure": "1 Hour", "skuName": "S1",
                          "reservationTerm": "1 Year"}], "NextPageLink": "page2"},
        "page2": {"Items": [{"retailPrice": 0.01, "unitOfMeasure": "1 Hour", "skuName": "S1 Spot"}]},
    }
    seen = []

    def fetch(url: str) -> dict:
        seen.append(url)
        return pages["page2"] if url == "page2" else pages["S1"] if "S1" in url else {"Items": []}

    out, missed = module.refresh(table, "eastus", fetch, dt.date(2027, 1, 5))
    assert out["prices"]["appservice.linux.S1"]["price"] == 0.1 and out["date"] == "2027-01-05"
    assert missed == ["dns.zone"] and out["prices"]["dns.zone"]["price"] == 0.5
    assert "armRegionName+eq+%27eastus%27" in seen[0] and "priceType+eq+%27Consumption%27" in seen[0]


def test_a_broken_price_table_is_named(tmp_path):
    from provisioner.core.errors import ConfigError

    bad = tmp_path / "prices.json"
    bad.write_text(json.dumps({"region": "eastus", "currency": "USD", "date": "2026-11-01", "source": "x",
                               "hours_per_month": 730, "prices": {"dns.zone": {"unit": "month"}}}))
    with pytest.raises(ConfigError) as err:
        cost.load_prices(bad)
    assert str(bad) in str(err.value) and "price" in str(err.value)
