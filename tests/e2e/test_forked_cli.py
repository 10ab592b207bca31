"""The forked CLI (tests/e2e/forked.py) answers as a plain `python -m provisioner` process does: same exit code,
same stdout, same stderr, for successes, usage errors, crashes of the configuration and runs against a cloud."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from provisioner.localcloud import LocalCloud
from tests.e2e import forked
from tests.support import ROOT


def _both(args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, ...]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    plain = subprocess.run([sys.executable, "-m", "provisioner", *args], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120, stdin=subprocess.DEVNULL)
    fork = forked.run(args, env, ROOT, 120)
    return plain, fork


@pytest.mark.skipif(not forked.enabled(), reason="forked CLI runs are off (PROVISIONER_TEST_FORK=0)")
@pytest.mark.parametrize("args", [
    ["--help"],
    ["validate", "--env", "production"],
    ["plan", "--env", "nowhere"],  # a usage error: exit 2 and click's message naming the program
    ["cost", "--env", "dev", "--fail-over-budget"],
])
def test_the_forked_cli_answers_as_a_plain_process(args):
    plain, fork = _both(args)
    assert (fork.returncode, fork.stdout, fork.stderr) == (plain.returncode, plain.stdout, plain.stderr)


@pytest.mark.skipif(not forked.enabled(), reason="forked CLI runs are off (PROVISIONER_TEST_FORK=0)")
def test_a_forked_run_against_the_cloud_sees_its_own_environment(tmp_path):
    with LocalCloud(state_file=tmp_path / "state.json") as cloud:
        # The environment of the call, not the parent's: an endpoint set only for this call is the one used.
        plain, fork = _both(["plan", "--env", "dev", "-o", "json"], {"PROVISIONER_ARM_ENDPOINT": cloud.url})
    assert plain.returncode == fork.returncode == 2, plain.stderr + fork.stderr
    assert plain.stdout == fork.stdout
    missing = forked.run(["plan", "--env", "dev"], {**os.environ, "PROVISIONER_ARM_ENDPOINT": "http://127.0.0.1:9"},
                         ROOT, 120)
    assert missing.returncode == 1 and "127.0.0.1:9" in missing.stderr


@pytest.mark.skipif(not forked.enabled(), reason="forked CLI runs are off (PROVISIONER_TEST_FORK=0)")
def test_a_forked_run_that_outlives_its_timeout_is_killed():
    with pytest.raises(subprocess.TimeoutExpired):
        forked.run(["localcloud", "serve", "--port", "0"], dict(os.environ), ROOT, 3)
