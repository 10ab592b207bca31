"""The drill end to end: the real CLI against a local cloud whose PostgreSQL servers are real clusters. The oracle is
the engine itself (what WAL replay brought back) and the local cloud's own record (state, request log)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from provisioner.azure import Clients, Target, call, raw, wait
from provisioner.localcloud import LocalCloud
from provisioner.localcloud.providers import register_all
from tests.conftest import require_postgres
from tests.e2e.helpers import cli
from tests.support import ROOT, SUB

pytestmark = pytest.mark.e2e
RG, SERVER = "fundrbolt-dev-rg", "fundrbolt-dev-pg"


def _clients(cloud: LocalCloud) -> Clients:
    return Clients(Target(SUB, cloud.url, local=True, polling_interval=0.02, ca_file=str(cloud.ca_file)))


def _source(cloud: LocalCloud) -> Clients:
    """dev's database server as provision leaves it (server, app database, the Azure-services rule)."""
    clients = _clients(cloud)
    call(clients.resource.resource_groups.create_or_update, RG, {"location": "eastus"})
    if raw(clients.postgres.servers.get, RG, SERVER) is None:
        wait(call(clients.postgres.servers.begin_create_or_update, RG, SERVER, {
            "location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
            "properties": {"administratorLogin": "fundrboltadmin", "administratorLoginPassword": "Source-pw-12345",
                           "version": "14", "storage": {"storageSizeGB": 32}, "createMode": "Create"}}))
        while (raw(clients.postgres.servers.get, RG, SERVER) or {})["properties"]["state"] != "Ready":
            time.sleep(0.1)  # realistic latency: the new server settles before it takes child writes
        wait(call(clients.postgres.databases.begin_create, RG, SERVER, "fundrbolt", {"properties": {}}))
        wait(call(clients.postgres.firewall_rules.begin_create_or_update, RG, SERVER, "AllowAllAzureServices",
                  {"properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}}))
    return clients


def _servers(cloud: LocalCloud) -> list[str]:
    """The servers in dev's group (the session's cloud also holds other tests' servers)."""
    group = f"/resourcegroups/{RG}/providers/microsoft.dbforpostgresql/flexibleservers/"
    return sorted(b["name"] for i, b in cloud.state().items() if i.lower().endswith((group + b["name"]).lower()))


def _drill(cloud: LocalCloud, *args: str) -> Any:
    return cli("drill", "--env", "dev", "--component", "postgres", "--arm-endpoint", cloud.url, "-o", "json", *args)


def _report(run: Any) -> dict[str, Any]:
    return run.json()["components"][0]


def test_restore_between_two_canary_writes_finds_the_first_not_the_second(pg_cloud: LocalCloud) -> None:
    clients = _source(pg_cloud)
    wait(call(clients.postgres.databases.begin_create, RG, SERVER, "canary_first", {"properties": {}}))
    time.sleep(0.3)
    point = datetime.now(UTC)
    time.sleep(0.3)
    wait(call(clients.postgres.databases.begin_create, RG, SERVER, "canary_second", {"properties": {}}))
    run = _drill(pg_cloud, "--at", point.isoformat())
    assert run.code == 0, run.err
    row = _report(run)
    restored = row["figures"]["restored_databases"]
    assert "canary_first" in restored and "fundrbolt" in restored
    assert "canary_second" not in restored
    assert not any(n.endswith("_after") for n in restored)  # the drill's own canary, written after the point
    assert row["rpo"] is None  # a given point: nothing was written just before it to measure with
    assert _servers(pg_cloud) == [SERVER]  # the scratch server is gone
    for name in ("canary_first", "canary_second"):
        wait(call(clients.postgres.databases.begin_delete, RG, SERVER, name))


def test_latest_point_passes_and_the_figures_come_from_the_run(pg_cloud: LocalCloud) -> None:
    clients = _source(pg_cloud)
    # a scratch server an earlier, killed drill left behind: this run deletes it first
    wait(call(clients.postgres.servers.begin_create_or_update, RG, f"{SERVER}-drill-20000101000000", {
        "location": "eastus", "tags": {"DrillScratchFor": SERVER},
        "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {"administratorLogin": "x_admin", "administratorLoginPassword": "Left-over-123",
                       "version": "14", "storage": {"storageSizeGB": 32}, "createMode": "Create"}}))
    started = time.monotonic()
    run = _drill(pg_cloud)
    wall = time.monotonic() - started
    assert run.code == 0, run.err
    assert "left over by an earlier drill" in run.err
    row = _report(run)
    assert row["status"] == "pass"
    scratch = row["figures"]["scratch_server"]
    log = pg_cloud.requests()
    restore = [r for r in log if r["method"] == "PUT" and r["path"].lower().endswith(scratch.lower())]
    assert len(restore) == 1 and restore[0]["status"] == 202
    canaries = [r for r in log if r["method"] == "PUT" and "/databases/drill_canary_" in r["path"]]
    before, after = (datetime.fromisoformat(c["ts"].replace("Z", "+00:00")) for c in canaries[-2:])
    point = datetime.fromisoformat(row["figures"]["restore_point"])
    assert before < point < after  # the point lies between the two canary writes the local cloud saw
    # RPO is counted from when the drill asked for the canary (an upper bound of its commit, which the local cloud
    # logged when the request ended): between the two, never below what the cloud saw
    gap = (point - before).total_seconds()
    assert gap <= row["rpo"] <= gap + canaries[-2]["duration_ms"] / 1000 + 0.5
    assert 0 < row["rto"] < wall  # the restore's time is part of this run's wall time
    restored = row["figures"]["restored_databases"]
    assert canaries[-2]["path"].rsplit("/", 1)[1] in restored and canaries[-1]["path"].rsplit("/", 1)[1] not in restored
    assert _servers(pg_cloud) == [SERVER]
    assert not [d for d in pg_cloud.state() if "/databases/drill_canary_" in d]  # canaries removed from the source


def test_a_failed_verification_still_deletes_the_scratch_server(pg_cloud: LocalCloud) -> None:
    _source(pg_cloud)
    pg_cloud.add_fault({"method": "PUT", "path": r"-drill-\d+/firewallRules/drill-runner", "status": 500, "times": 50,
                        "body": {"error": {"code": "InternalServerError", "message": "injected"}}})
    try:
        run = _drill(pg_cloud)
    finally:
        pg_cloud.clear_faults()
    assert run.code == 1, run.out + run.err
    assert _report(run)["status"] == "error"
    assert "deleted the scratch server" in run.err
    assert _servers(pg_cloud) == [SERVER]


@pytest.fixture
def slow_cloud(tmp_path) -> Iterator[LocalCloud]:
    """Realistic latency scaled down: a restore takes seconds, and a point is restorable only after the WAL lag."""
    require_postgres()
    with LocalCloud(state_file=tmp_path / "state.json", latency="realistic", time_scale=0.01, postgres="on") as c:
        register_all(c)  # a subscription in use (provider registration: tests/e2e/test_azure_2026.py)
        yield c
    shutil.rmtree(c.pg.root, ignore_errors=True)


def test_ctrl_c_during_the_restore_deletes_the_scratch_server(slow_cloud: LocalCloud) -> None:
    _source(slow_cloud)
    # The restore must still be running when the test presses Ctrl-C, however loaded the machine (a busy CI host
    # saw the whole drill finish first, at 0.01 and again at 0.025): it is held until the signal is sent.
    seconds = slow_cloud.engine.seconds

    def restore_held(profile: Any, body: dict[str, Any], kind: str) -> float:
        if kind == "put" and "-drill-" in str(body.get("name") or ""):
            return 3600.0
        return seconds(profile, body, kind)

    slow_cloud.engine.seconds = restore_held  # type: ignore[method-assign]
    time.sleep(1.0)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "provisioner", "drill", "--env", "dev", "--component", "postgres",
                             "--arm-endpoint", slow_cloud.url], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until the restore has been accepted and is running
        if any(r["method"] == "PUT" and "-drill-" in r["path"] and r["status"] == 202 for r in slow_cloud.requests()):
            break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"the restore never started: {proc.communicate()[1]}")
    assert [n for n in _servers(slow_cloud) if "-drill-" in n]  # the scratch server exists now
    assert proc.poll() is None, f"the drill ended before Ctrl-C could be tested: {proc.communicate()[1]}"
    proc.send_signal(signal.SIGINT)
    # Then the restore ends, as it would go on to on Azure: the cleanup's delete waits for it, then runs.
    [scratch] = [i for i, body in slow_cloud.state().items()
                 if "-drill-" in str(body.get("name")) and i.lower().endswith("/flexibleservers/" + body["name"].lower())]
    running = slow_cloud.engine.ops.running_for(scratch)
    assert running is not None and running.kind == "put"
    running.end = time.time()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "deleted the scratch server" in err
    assert _servers(slow_cloud) == [SERVER]
    assert not slow_cloud.pg.has(f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.DBforPostgreSQL/"
                                 f"flexibleServers/x")
    with urllib.request.urlopen(f"{slow_cloud.url}/_localcloud/endpoints") as resp:
        assert [f for f in json.loads(resp.read())["postgres"] if "-drill-" in f] == []
