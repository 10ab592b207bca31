"""Shared fixtures: a started local cloud and SDK clients pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from provisioner.azure import Clients, Target
from provisioner.localcloud import LocalCloud
from tests.support import SUB

# Real PostgreSQL clusters cost a second or two per server: the suite runs the local cloud without them (as it
# ran before provisioner/localcloud/pg_engine.py), and the tests about the database engine use `pg_cloud`.
os.environ.setdefault("PROVISIONER_LOCALCLOUD_POSTGRES", "off")


def require_postgres() -> None:
    """Skip where PostgreSQL is missing on a developer's machine; in CI (CI=true) its absence is a failure, since
    scripts/test.sh installs it."""
    from provisioner.localcloud.pg_cluster import PgUnavailable, Runner

    try:
        Runner.detect()
    except PgUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def pg_cloud(tmp_path_factory) -> Iterator[LocalCloud]:
    """One local cloud with real PostgreSQL for the whole session (each test uses servers of its own names)."""
    require_postgres()
    state = tmp_path_factory.mktemp("pgcloud") / "state.json"
    with LocalCloud(state_file=state, request_log=state.with_name("requests.jsonl"), postgres="on") as c:
        yield c
    import shutil

    shutil.rmtree(c.pg.root, ignore_errors=True)  # a persisted cloud keeps its clusters; this one is done


@pytest.fixture
def cloud(tmp_path) -> Iterator[LocalCloud]:
    with LocalCloud(state_file=tmp_path / "state.json", request_log=tmp_path / "requests.jsonl") as c:
        yield c


@pytest.fixture
def clients(cloud: LocalCloud) -> Clients:
    return Clients(Target(SUB, cloud.url, local=True, polling_interval=0.02, ca_file=str(cloud.ca_file)))


# --------------------------------------------------------------------------- Azurite (the Storage emulator)
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented well-known development key (not a secret):
# https://learn.microsoft.com/azure/storage/common/storage-use-azurite#authorize-with-shared-key-credentials
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@pytest.fixture(scope="session")
def azurite(tmp_path_factory) -> Iterator[str]:
    """azurite-blob from node_modules (installed by scripts/test.sh with `npm ci`) on a free port; its
    account URL. Skips only when node itself is missing; a missing install is an error."""
    import shutil
    import socket
    import subprocess
    import time

    from tests.support import ROOT

    if shutil.which("node") is None:
        pytest.skip("node is not installed: the Azurite lease tests need Node.js (CI has node 20)")
    binary = ROOT / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        pytest.fail("Azurite is not installed: run `npm ci` in the repository (scripts/test.sh does)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workdir = tmp_path_factory.mktemp("azurite")
    proc = subprocess.Popen([str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location",
                             str(workdir), "--silent", "--skipApiVersionCheck", "--disableTelemetry",
                             ],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"Azurite exited: {proc.stderr.read().decode()[-500:] if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("Azurite did not start listening within 30 s")
    try:
        yield f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
