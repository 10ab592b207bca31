"""kill -9 of the embedded local cloud (the `provision --cloud local` process) while a create is in flight, then a
re-run: it converges at once, without waiting on the dead process's operation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.e2e.helpers import cli
from tests.support import ROOT, copy_envs, edit_env

pytestmark = pytest.mark.e2e

PG = "/providers/microsoft.dbforpostgresql/flexibleservers/fundrbolt-dev-pg"


def test_kill_9_mid_create_then_a_rerun_converges_without_waiting(tmp_path):
    state_dir = tmp_path / "state"
    envs = copy_envs(tmp_path)
    # The shortest lease Azure allows, so the killed run's lock frees itself within seconds (lease semantics are
    # tests/e2e/test_run_lock.py's subject; here it is the cloud's operations).
    edit_env(envs, "common.toml", "lease_seconds = 60", "lease_seconds = 15")
    edit_env(envs, "common.toml", "renew_seconds = 15", "renew_seconds = 5")
    target = ("--env", "dev", "--cloud", "local", "--state-dir", str(state_dir), "--envs-dir", str(envs))
    assert cli("provision", *target).code == 0
    # Take the database server (and its children) away, as if it had never been created.
    state_file = state_dir / "localcloud-state.json"
    state = json.loads(state_file.read_text())
    state = {rid: body for rid, body in state.items() if PG not in rid.lower()}
    state_file.write_text(json.dumps(state))

    log = state_dir / "localcloud-requests.jsonl"
    seen = len(log.read_text().splitlines())
    run = subprocess.Popen([sys.executable, "-m", "provisioner", "provision", *target, "--latency", "realistic"],
                           cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while True:  # until the server's create is accepted: a 10-minute operation in flight (realistic latency)
        text = log.read_text()  # the running cloud appends to it: a last line without its newline is mid-write
        lines = [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines()[seen:]]
        if any(r["method"] == "PUT" and r["path"].lower().endswith(PG) and r["status"] == 202 for r in lines):
            break
        assert time.monotonic() < deadline and run.poll() is None, run.communicate()[1][-2000:]
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)  # the embedded cloud dies with it
    run.wait(10)
    saved = json.loads(state_file.read_text())
    [server] = [b for rid, b in saved.items() if rid.lower().endswith(PG)]
    assert server["properties"]["state"] == "Updating"  # the dead process left it mid-create

    started = time.monotonic()
    again = cli("provision", *target, timeout=180)
    took = time.monotonic() - started
    assert again.code == 0, again.err[-2000:]
    assert took < 90, took  # the lease (15 s) at most, never the server's deadline (600 s on a local cloud)
    plan = cli("plan", *target)
    assert plan.code == 0, plan.out[-2000:]
    since = [json.loads(line) for line in log.read_text().splitlines()[seen:]]
    assert len([r for r in since if r["method"] == "PUT" and r["path"].lower().endswith(PG)]) == 1  # never re-sent
