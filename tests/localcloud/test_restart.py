"""Local cloud robustness: one server per state file, and operations in flight that survive a restart or a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from provisioner.localcloud import LocalCloud
from provisioner.localcloud.providers import register_all
from provisioner.localcloud.store import StateInUse

from .conftest import RG, SUB, raw, rid

SERVER = rid("Microsoft.DBforPostgreSQL/flexibleServers/pg-restart")
BODY = {"location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"}, "properties": {
    "administratorLogin": "fundadmin", "administratorLoginPassword": "P@ssw0rd-never-returned", "version": "17",
    "storage": {"storageSizeGB": 32}}}


def test_a_second_cloud_on_the_same_state_file_is_refused_naming_the_first(tmp_path):
    state = tmp_path / "state.json"
    with LocalCloud(state_file=state):
        with pytest.raises(StateInUse) as info:
            LocalCloud(state_file=state)
        assert str(state) in str(info.value) and f"pid {os.getpid()}" in str(info.value)
        with LocalCloud(state_file=tmp_path / "other.json"):  # another file is fine
            pass
    with LocalCloud(state_file=state):  # released by stop
        pass


def _serve(state, *args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "provisioner", "localcloud", "serve", "--state", str(state), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip().rsplit(" ", 1)[-1]


def test_an_operation_in_flight_survives_kill_9_and_is_resumed_where_it_was(tmp_path):
    state = tmp_path / "state.json"
    with LocalCloud(state_file=state) as cloud:
        register_all(cloud)
    proc, url = _serve(state, "--latency", "realistic", "--time-scale", "0.01")  # server create: 600 s -> 6 s

    class Url:  # raw() wants an object with .url
        pass

    live = Url()
    live.url = url  # type: ignore[attr-defined]
    raw(live, "PUT", f"/subscriptions/{SUB}/resourceGroups/{RG}?api-version=2025-04-01", {"location": "eastus"})
    status, _, headers = raw(live, "PUT", SERVER + "?api-version=2026-10-01", BODY)
    assert status == 202
    operation = headers["Azure-AsyncOperation"].split(url, 1)[1]
    proc.send_signal(signal.SIGKILL)  # no chance to save anything more
    proc.wait(10)
    started = time.time()
    with LocalCloud(state_file=state, latency="realistic", time_scale=0.01) as cloud:
        # The same operation answers after the restart, still running (Azure kept working), then succeeds.
        status, body, _ = raw(cloud, "GET", operation)
        assert status == 200 and body["status"] == "InProgress"
        assert cloud.state()[SERVER]["properties"]["state"] == "Updating"
        while raw(cloud, "GET", operation)[1]["status"] == "InProgress":
            assert time.time() - started < 30
            time.sleep(0.1)
        assert raw(cloud, "GET", operation)[1]["status"] == "Succeeded"
        deadline = time.time() + 30  # then the server settles (60 s of standby work, scaled) and is Ready
        while cloud.state()[SERVER]["properties"]["state"] != "Ready":
            assert time.time() < deadline
            time.sleep(0.1)


def test_under_fast_latency_a_resumed_operation_completes_on_load(tmp_path):
    state = tmp_path / "state.json"
    with LocalCloud(state_file=state, latency="realistic", time_scale=1.0) as cloud:  # 600 s: still running at stop
        register_all(cloud)
        raw(cloud, "PUT", f"/subscriptions/{SUB}/resourceGroups/{RG}?api-version=2025-04-01", {"location": "eastus"})
        assert raw(cloud, "PUT", SERVER + "?api-version=2026-10-01", BODY)[0] == 202
    with LocalCloud(state_file=state) as cloud:  # the default: every operation takes no time
        assert cloud.state()[SERVER]["properties"]["state"] == "Ready"
        assert not cloud.engine.ops.pending()


def test_two_serve_on_one_state_file_the_second_exits_naming_the_first(tmp_path):
    state = tmp_path / "state.json"
    first, url = _serve(state)
    try:
        assert url.startswith("http://")
        second = subprocess.run([sys.executable, "-m", "provisioner", "localcloud", "serve", "--state", str(state)],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert f"is in use by pid {first.pid}" in second.stderr and "one local cloud per state file" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(20)
