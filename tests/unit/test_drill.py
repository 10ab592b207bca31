"""The drill's plan against SDK clients autospec'd from the real classes: what it asks Azure for, in which order,
and that the scratch server is deleted on every way out; the verdicts against the document's targets."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from provisioner.cli import drill_report
from provisioner.operate import cost, drill_services, pgclient
from provisioner.operate.drill_plan import (
    PREMIUM_RDB_MINUTES,
    SCRATCH_TAG,
    Row,
    billed_cost,
    cache_row,
    exit_code,
    postgres_row,
    scratch_hourly,
    scratch_name,
)
from provisioner.operate.drill_postgres import PgDrillOptions, PostgresDrill
from tests.support import autospec_clients

RG, SRC = "fundrbolt-production-rg", "fundrbolt-production-pg"
SOURCE = {"id": f"/subscriptions/s/resourceGroups/{RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{SRC}",
          "name": SRC, "location": "eastus", "tags": {"Environment": "production"},
          "sku": {"name": "Standard_D2s_v3", "tier": "GeneralPurpose"},
          "properties": {"administratorLogin": "fundrboltadmin", "highAvailability": {"mode": "ZoneRedundant"},
                         "storage": {"storageSizeGB": 32}, "state": "Ready"}}
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class Conn:
    def __init__(self, names: list[str]) -> None:
        self.names = names

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def execute(self, sql: str) -> Any:
        return SimpleNamespace(fetchall=lambda: [(n,) for n in self.names])


def _db(name: str) -> SimpleNamespace:
    return SimpleNamespace(name=name, system_data=None)


def _setup(monkeypatch: pytest.MonkeyPatch, restored: list[str] | None = None, leftovers: list[Any] = ()) -> tuple[Any, PostgresDrill, list[str]]:
    clients = autospec_clients()
    clients.target = SimpleNamespace(local=False, arm_endpoint="https://management.azure.com")
    pg = clients.postgres

    def get(rg: str, name: str, **kw: Any) -> dict[str, Any]:
        if name == SRC:
            return SOURCE
        return {"name": name, "properties": {"state": "Ready", "administratorLogin": "fundrboltadmin",
                                             "fullyQualifiedDomainName": f"{name}.postgres.database.azure.com"}}

    pg.servers.get.side_effect = get
    pg.servers.list_by_resource_group.return_value = list(leftovers)
    pg.databases.list_by_server.return_value = [_db("fundrbolt"), _db("postgres")]
    said: list[str] = []
    ticks = itertools.count()
    drill = PostgresDrill(clients, RG, SRC, said.append, PgDrillOptions(retry_interval=0, poll=0), cost.load_prices(),
                          clock=lambda: float(next(ticks)), now=lambda: T0 + timedelta(seconds=next(ticks)),
                          sleep=lambda s: None)
    names = restored if restored is not None else ["postgres", "fundrbolt", "drill_canary_20261201100000_before"]
    monkeypatch.setattr(pgclient, "public_ip", lambda clients, given=None: "198.51.100.7")
    monkeypatch.setattr(pgclient, "connect", lambda *a, **kw: Conn(names))
    return clients, drill, said


def _scratch_calls(clients: Any) -> list[str]:
    return [c.args[1] for c in clients.postgres.servers.begin_delete.call_args_list]


def test_a_drill_asks_for_a_point_in_time_restore_between_its_two_canaries(monkeypatch) -> None:
    clients, drill, said = _setup(monkeypatch)
    row = drill.run()
    pg = clients.postgres
    creates = pg.databases.begin_create.call_args_list
    before, after = creates[0].args[2], creates[1].args[2]
    assert before.endswith("_before") and after.endswith("_after")
    (rg, scratch, body), = [c.args for c in pg.servers.begin_create_or_update.call_args_list]
    assert rg == RG and scratch == scratch_name(SRC, T0) and len(scratch) <= 63
    props = body["properties"]
    assert props["createMode"] == "PointInTimeRestore" and props["sourceServerResourceId"] == SOURCE["id"]
    assert body["location"] == "eastus" and body["tags"][SCRATCH_TAG] == SRC
    point = datetime.fromisoformat(props["pointInTimeUTC"].replace("Z", "+00:00"))
    assert point > T0  # the canary 'before' was asked for first; 'after' strictly later (see the sleep)
    # verification reached only the scratch server: a new password and a firewall rule for this machine
    (args, _), = [(c.args, c.kwargs) for c in pg.servers.begin_update.call_args_list]
    assert args[1] == scratch and set(args[2]["properties"]) == {"administratorLoginPassword"}
    rule = pg.firewall_rules.begin_create_or_update.call_args.args
    assert rule[1] == scratch and rule[3]["properties"] == {"startIpAddress": "198.51.100.7", "endIpAddress": "198.51.100.7"}
    assert _scratch_calls(clients) == [scratch]
    assert sorted(c.args[2] for c in pg.databases.begin_delete.call_args_list) == sorted([before, after])
    assert row.status == "pass" and row.rpo is not None and row.rto is not None
    assert any("$" in line and "at most" in line for line in said)  # the cost was shown before the restore


def test_the_scratch_server_is_deleted_when_verification_fails(monkeypatch) -> None:
    clients, drill, _ = _setup(monkeypatch)

    def refuse(*a: Any, **kw: Any) -> Any:
        raise pgclient.PgConnectFailed("cannot connect")

    monkeypatch.setattr(pgclient, "connect", refuse)
    with pytest.raises(pgclient.PgConnectFailed):
        drill.run()
    assert _scratch_calls(clients) == [clients.postgres.servers.begin_create_or_update.call_args.args[1]]
    assert clients.postgres.databases.begin_delete.call_count == 2


def test_ctrl_c_while_the_restore_runs_deletes_the_scratch_server(monkeypatch) -> None:
    clients, drill, said = _setup(monkeypatch)
    clients.postgres.servers.begin_create_or_update.return_value.result.side_effect = KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        drill.run()
    assert len(_scratch_calls(clients)) == 1
    assert any("interrupted" in line for line in said)


def _not_yet() -> HttpResponseError:
    err = HttpResponseError(message="not available yet")
    err.status_code = 400
    err.error = SimpleNamespace(code="PointInTimeRestoreNotAvailable", message="wait for up to 5 minutes")
    return err


def test_a_point_not_restorable_yet_is_asked_again(monkeypatch) -> None:
    clients, drill, said = _setup(monkeypatch)
    poller = clients.postgres.servers.begin_create_or_update.return_value
    clients.postgres.servers.begin_create_or_update.side_effect = [_not_yet(), _not_yet(), poller]
    row = drill.run()
    assert clients.postgres.servers.begin_create_or_update.call_count == 3
    assert row.figures["restore_wait_seconds"] > 0
    assert sum("not restorable yet" in line for line in said) == 2


def test_leftovers_of_an_earlier_drill_are_deleted_first(monkeypatch) -> None:
    leftover = SimpleNamespace(name=f"{SRC}-drill-20260101000000", tags={SCRATCH_TAG: SRC})
    other = SimpleNamespace(name="someone-elses-server", tags={"Owner": "x"})
    clients, drill, _ = _setup(monkeypatch, leftovers=[leftover, other])
    clients.postgres.databases.list_by_server.return_value = [_db("fundrbolt"), _db("drill_canary_1_before")]
    drill.run()
    deleted = _scratch_calls(clients)
    assert deleted[0] == leftover.name and other.name not in deleted
    assert "drill_canary_1_before" in [c.args[2] for c in clients.postgres.databases.begin_delete.call_args_list]


def test_a_missing_canary_fails_the_drill(monkeypatch) -> None:
    clients, drill, _ = _setup(monkeypatch, restored=["postgres", "fundrbolt"])
    row = drill.run()
    assert row.status == "fail" and "was lost" in row.detail and row.rpo is None


# --------------------------------------------------------------------------------------- verdicts (pure)
def _row(**kw: Any) -> Row:
    args = dict(source_dbs={"fundrbolt"}, restored_dbs={"fundrbolt", "c_before"}, before="c_before", after="c_after",
                point=T0, before_written=T0 - timedelta(seconds=20), started=0.0, verified=600.0)
    args.update(kw)
    return postgres_row(**args)


def test_postgres_verdicts_against_the_document() -> None:
    assert _row().status == "pass" and _row().rpo == 20 and _row().rto == 600
    assert _row(restored_dbs={"fundrbolt", "c_before", "c_after"}).status == "fail"  # data after the point
    assert _row(restored_dbs={"c_before"}).status == "fail"  # a database of the source is missing
    assert _row(verified=3601.0).status == "fail"  # 1 hour RTO
    assert _row(before_written=T0 - timedelta(minutes=16)).status == "fail"  # 15 min RPO


def test_scratch_cost_comes_from_the_price_table() -> None:
    table = cost.load_prices()
    raw_table = json.loads((cost.resources.files("provisioner.operate.prices") / cost.DEFAULT_TABLE).read_text())
    compute = raw_table["prices"]["postgres.flexible.Standard_D2s_v3"]["price"]
    storage = raw_table["prices"]["postgres.flexible.storage"]["price"] * 32 / raw_table["hours_per_month"]
    # the source is zone-redundant; the restored server is a single instance: billed once
    assert scratch_hourly(SOURCE, table) == pytest.approx(compute + storage, rel=1e-3)
    assert billed_cost(1.0, 1) == 1.0 and billed_cost(1.0, 3601) == 2.0


@pytest.mark.parametrize("body, status", [
    ({"properties": {"sku": {"name": "Standard", "family": "C", "capacity": 1}}}, "fail"),
    ({"properties": {"sku": {"name": "Basic", "family": "C", "capacity": 0}}}, "fail"),
    ({"properties": {"sku": {"name": "Premium", "family": "P", "capacity": 1},
                     "redisConfiguration": {"rdb-backup-enabled": "true", "rdb-backup-frequency": "60"}}}, "pass"),
    ({"properties": {"sku": {"name": "Premium", "family": "P", "capacity": 1},
                     "redisConfiguration": {"rdb-backup-enabled": "true", "rdb-backup-frequency": "360"}}}, "fail"),
    ({"properties": {"sku": {"name": "Premium", "family": "P", "capacity": 1},
                     "redisConfiguration": {"aof-backup-enabled": "true"}}}, "pass"),
])
def test_the_cache_verdict_follows_the_live_tier(body: dict, status: str) -> None:
    row = cache_row("Microsoft.Cache/redis", body)
    assert row.status == status
    if body["properties"]["sku"]["name"] != "Premium":
        assert "Premium" in row.detail and "Azure Managed Redis" in row.detail  # names a tier that could
    assert 240 not in PREMIUM_RDB_MINUTES  # the document's "every 4 hours" is not even a Premium choice


@pytest.mark.parametrize("persistence, status", [
    ({"rdbEnabled": True, "rdbFrequency": "1h"}, "pass"), ({"rdbEnabled": True, "rdbFrequency": "6h"}, "fail"),
    ({"aofEnabled": True, "aofFrequency": "1s"}, "pass"), ({}, "fail")])
def test_managed_redis_verdict_reads_its_database_persistence(persistence: dict, status: str) -> None:
    row = cache_row("Microsoft.Cache/redisEnterprise", {"sku": {"name": "Balanced_B1"}},
                    {"properties": {"persistence": persistence}})
    assert row.status == status


def test_exit_codes_and_the_markdown_table() -> None:
    ok, missed, broke = Row("app", "pass", 10.0, 0.0), Row("cache", "fail"), Row("keyvault", "error", detail="x")
    assert exit_code([ok]) == 0 and exit_code([ok, missed]) == 2 and exit_code([ok, missed, broke]) == 1
    assert exit_code([ok, Row("frontend", "skipped")]) == 2  # not measured is not shown to hold
    md = drill_report.markdown("production", [ok, missed], "Azure")
    assert "| App Service | 15 min | 10 s | 0 | 0.0 s | Redeploy from GitHub | PASS |" in md
    assert "| Redis | 30 min | - | 1 hour | - | RDB snapshot restore | MISSED |" in md
    doc = json.loads(drill_report.to_json("production", [ok], "Azure"))
    assert doc["exit_code"] == 0 and doc["components"][0]["target"]["rto_seconds"] == 900


def test_keyvault_drill_opens_the_firewall_recovers_and_closes_it(monkeypatch) -> None:
    clients = autospec_clients()
    clients.target = SimpleNamespace(local=False)
    secret_client = clients.secrets("https://v")
    clients.secrets = lambda url: secret_client
    vault = {"name": "kv", "properties": {"vaultUri": "https://kv.vault.azure.net/", "enableSoftDelete": True,
                                          "softDeleteRetentionInDays": 90, "enablePurgeProtection": True,
                                          "networkAcls": {"defaultAction": "Deny", "ipRules": []}}}
    clients.keyvault.vaults.get.return_value = vault
    secret_client.set_secret.return_value = SimpleNamespace(properties=SimpleNamespace(version="v1"))
    secret_client.begin_recover_deleted_secret.return_value.result.return_value = SimpleNamespace(version="v1")
    ticks = itertools.count()
    row = drill_services.keyvault_drill(clients, "rg", "kv", True, lambda s: None, "198.51.100.7",
                                        clock=lambda: float(next(ticks)))
    assert row.status == "pass" and row.rto is not None
    updates = [c.args[2]["properties"]["networkAcls"]["ipRules"] for c in clients.keyvault.vaults.update.call_args_list]
    assert updates == [[{"value": "198.51.100.7"}], []]  # opened for the drill, closed after
    assert secret_client.begin_delete_secret.call_count == 2  # deleted, recovered, deleted again
    secret_client.purge_deleted_secret.assert_not_called()  # purge protection: cannot purge


def _locked() -> HttpResponseError:
    err = HttpResponseError(message="locked")
    err.status_code = 409
    err.error = SimpleNamespace(code="ScopeLocked", message="The scope ... cannot perform delete operation")
    return err


def test_a_lock_on_the_server_keeps_the_canaries_and_says_so(monkeypatch) -> None:
    """Production's CanNotDelete lock on the server covers its databases: the drill still passes, deletes the
    scratch server (not under that lock), and reports the canaries it had to leave."""
    clients, drill, said = _setup(monkeypatch)
    clients.postgres.databases.begin_delete.side_effect = _locked()
    row = drill.run()
    assert row.status == "pass" and len(_scratch_calls(clients)) == 1
    assert any("CanNotDelete lock" in n for n in row.notes)
    assert any("kept the canary" in line for line in said)
