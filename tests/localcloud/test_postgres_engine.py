"""The local cloud's flexible servers on a real PostgreSQL: the admin password, databases, firewall rules and
point-in-time restore are real (oracle: the PostgreSQL engine itself, through libpq)."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from provisioner.azure import Clients, Target, call, raw, wait
from provisioner.core.errors import AzureCallError
from provisioner.localcloud import LocalCloud
from tests.support import SUB

PASSWORD = "Drill-test-pw-1234"
LOGIN = "fundrboltadmin"


@pytest.fixture(scope="module")
def pg_clients(pg_cloud: LocalCloud) -> Clients:
    clients = Clients(Target(SUB, pg_cloud.url, local=True, polling_interval=0.02, ca_file=str(pg_cloud.ca_file)))
    call(clients.resource.resource_groups.create_or_update, "rg-pgengine", {"location": "eastus"})
    return clients


def _server(clients: Clients, name: str, **props: Any) -> dict[str, Any]:
    body = {"location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
            "properties": {"administratorLogin": LOGIN, "administratorLoginPassword": PASSWORD, "version": "14",
                           "storage": {"storageSizeGB": 32}, "createMode": "Create", **props}}
    wait(call(clients.postgres.servers.begin_create_or_update, "rg-pgengine", name, body))
    return raw(clients.postgres.servers.get, "rg-pgengine", name) or {}


def _open(clients: Clients, name: str, start: str = "203.0.113.10", end: str = "203.0.113.10") -> None:
    wait(call(clients.postgres.firewall_rules.begin_create_or_update, "rg-pgengine", name, "me",
              {"properties": {"startIpAddress": start, "endIpAddress": end}}))


def _connect(cloud: LocalCloud, fqdn: str, dbname: str = "postgres", password: str = PASSWORD,
             sslmode: str = "require") -> psycopg.Connection:
    with urllib.request.urlopen(f"{cloud.url}/_localcloud/endpoints") as resp:
        host, port = json.loads(resp.read())["postgres"][fqdn].rsplit(":", 1)
    return psycopg.connect(host=fqdn, hostaddr=host, port=int(port), user=LOGIN, password=password, dbname=dbname,
                           sslmode=sslmode, autocommit=True, connect_timeout=5)


def test_password_databases_and_firewall_are_real(pg_cloud: LocalCloud, pg_clients: Clients) -> None:
    body = _server(pg_clients, "pg-real")
    fqdn = body["properties"]["fullyQualifiedDomainName"]
    assert fqdn == "pg-real.postgres.database.azure.com"
    with pytest.raises(psycopg.OperationalError, match="pg_hba.conf rejects"):
        _connect(pg_cloud, fqdn)  # no firewall rule admits this client yet
    _open(pg_clients, "pg-real", "0.0.0.0", "0.0.0.0")  # "Azure services" never admits a caller outside Azure
    with pytest.raises(psycopg.OperationalError, match="pg_hba.conf rejects"):
        _connect(pg_cloud, fqdn)
    _open(pg_clients, "pg-real")
    wait(call(pg_clients.postgres.databases.begin_create, "rg-pgengine", "pg-real", "appdb",
              {"properties": {"charset": "UTF8", "collation": "en_US.utf8"}}))
    with _connect(pg_cloud, fqdn, "appdb") as conn:
        assert conn.execute("SELECT current_user").fetchone() == (LOGIN,)
        # Azure's admin is no superuser, and is a member of azure_pg_admin
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (False,)
        assert conn.execute("SELECT pg_has_role('azure_pg_admin', 'member')").fetchone() == (True,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _connect(pg_cloud, fqdn, password="wrong-password-1")
    with pytest.raises(psycopg.OperationalError, match="pg_hba.conf rejects"):
        _connect(pg_cloud, fqdn, sslmode="disable")  # require_secure_transport is on (Azure's default)
    wait(call(pg_clients.postgres.servers.begin_update, "rg-pgengine", "pg-real",
              {"properties": {"administratorLoginPassword": "Rotated-pw-98765"}}))
    with _connect(pg_cloud, fqdn, password="Rotated-pw-98765") as conn:
        assert "appdb" in [r[0] for r in conn.execute("SELECT datname FROM pg_database")]
    wait(call(pg_clients.postgres.databases.begin_delete, "rg-pgengine", "pg-real", "appdb"))
    with _connect(pg_cloud, fqdn, password="Rotated-pw-98765") as conn:
        assert "appdb" not in [r[0] for r in conn.execute("SELECT datname FROM pg_database")]
    wait(call(pg_clients.postgres.firewall_rules.begin_delete, "rg-pgengine", "pg-real", "me"))
    with pytest.raises(psycopg.OperationalError, match="pg_hba.conf rejects"):
        _connect(pg_cloud, fqdn, password="Rotated-pw-98765")


def test_point_in_time_restore_replays_wal_to_the_point(pg_cloud: LocalCloud, pg_clients: Clients) -> None:
    source = _server(pg_clients, "pg-src")
    _open(pg_clients, "pg-src")
    wait(call(pg_clients.postgres.databases.begin_create, "rg-pgengine", "pg-src", "appdb", {"properties": {}}))
    with _connect(pg_cloud, "pg-src.postgres.database.azure.com", "appdb") as conn:
        conn.execute("CREATE TABLE canary (n int, at timestamptz DEFAULT now())")
        conn.execute("INSERT INTO canary (n) VALUES (1)")
        time.sleep(0.2)
        point = datetime.now(UTC)
        time.sleep(0.2)
        conn.execute("INSERT INTO canary (n) VALUES (2)")
    body = {"location": "eastus", "properties": {"createMode": "PointInTimeRestore",
                                                 "sourceServerResourceId": source["id"],
                                                 "pointInTimeUTC": point.isoformat()}}
    wait(call(pg_clients.postgres.servers.begin_create_or_update, "rg-pgengine", "pg-restored", body))
    restored = raw(pg_clients.postgres.servers.get, "rg-pgengine", "pg-restored") or {}
    # the source's configuration and firewall rules are inherited; the admin password is the source's
    assert restored["sku"]["name"] == "Standard_B1ms" and restored["properties"]["administratorLogin"] == LOGIN
    rules = [r.name for r in pg_clients.postgres.firewall_rules.list_by_server("rg-pgengine", "pg-restored")]
    assert rules == ["me"]
    assert [d.name for d in pg_clients.postgres.databases.list_by_server("rg-pgengine", "pg-restored")] == ["appdb"]
    with _connect(pg_cloud, "pg-restored.postgres.database.azure.com", "appdb") as conn:
        assert [r[0] for r in conn.execute("SELECT n FROM canary ORDER BY n")] == [1]
    wait(call(pg_clients.postgres.servers.begin_delete, "rg-pgengine", "pg-restored"))
    assert not pg_cloud.pg.has(restored["id"])
    with urllib.request.urlopen(f"{pg_cloud.url}/_localcloud/endpoints") as resp:
        assert "pg-restored.postgres.database.azure.com" not in json.loads(resp.read())["postgres"]


@pytest.mark.parametrize("props, code", [
    ({"sourceServerResourceId": ""}, "InvalidParameterValue"),
    ({"pointInTimeUTC": ""}, "InvalidParameterValue"),
    ({"pointInTimeUTC": "2001-01-01T00:00:00Z"}, "InvalidPointInTimeRestore"),
    ({"pointInTimeUTC": "2999-01-01T00:00:00Z"}, "InvalidPointInTimeRestore"),
])
def test_a_restore_azure_refuses_is_refused(pg_cloud: LocalCloud, pg_clients: Clients, props: dict, code: str) -> None:
    source = raw(pg_clients.postgres.servers.get, "rg-pgengine", "pg-src") or _server(pg_clients, "pg-src")
    sent = {"createMode": "PointInTimeRestore", "sourceServerResourceId": source["id"],
            "pointInTimeUTC": datetime.now(UTC).isoformat(), **props}
    with pytest.raises(AzureCallError) as err:
        wait(call(pg_clients.postgres.servers.begin_create_or_update, "rg-pgengine", "pg-refused",
                  {"location": "eastus", "properties": sent}))
    assert err.value.code == code
    assert raw(pg_clients.postgres.servers.get, "rg-pgengine", "pg-refused") is None


def test_without_binaries_servers_stay_arm_only_and_the_cloud_says_so(monkeypatch) -> None:
    from provisioner.localcloud import pg_engine
    from provisioner.localcloud.pg_cluster import PgUnavailable

    def missing() -> None:
        raise PgUnavailable("no PostgreSQL server binaries (initdb, pg_ctl, postgres) were found")

    monkeypatch.setattr(pg_engine.Runner, "detect", staticmethod(missing))
    engine = pg_engine.PgEngine(None, "auto")
    assert not engine.real and "no PostgreSQL server binaries" in engine.describe()
    with pytest.raises(PgUnavailable):
        pg_engine.PgEngine(None, "on")


def test_an_arm_only_restore_keeps_the_databases_that_existed_at_the_point(cloud: LocalCloud, clients: Clients) -> None:
    """PROVISIONER_LOCALCLOUD_POSTGRES=off (the suite's default): the restore is checked as on Azure, and the
    restored server lists the source's databases created by the point (their systemData.createdAt)."""
    assert not cloud.pg.real
    call(clients.resource.resource_groups.create_or_update, "rg-arm", {"location": "eastus"})
    wait(call(clients.postgres.servers.begin_create_or_update, "rg-arm", "src", {
        "location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {"administratorLogin": LOGIN, "administratorLoginPassword": PASSWORD, "createMode": "Create"}}))
    wait(call(clients.postgres.databases.begin_create, "rg-arm", "src", "early", {"properties": {}}))
    time.sleep(0.05)
    point = datetime.now(UTC)
    time.sleep(0.05)
    wait(call(clients.postgres.databases.begin_create, "rg-arm", "src", "late", {"properties": {}}))
    source = raw(clients.postgres.servers.get, "rg-arm", "src") or {}
    wait(call(clients.postgres.servers.begin_create_or_update, "rg-arm", "copy", {
        "location": "eastus", "properties": {"createMode": "PointInTimeRestore", "sourceServerResourceId": source["id"],
                                             "pointInTimeUTC": point.isoformat()}}))
    assert [d.name for d in clients.postgres.databases.list_by_server("rg-arm", "copy")] == ["early"]
