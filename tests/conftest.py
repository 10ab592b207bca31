"""Shared fixtures: a started local cloud and SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provisioner.azure import Clients, Target
from provisioner.localcloud import LocalCloud
from tests.support import SUB


@pytest.fixture
def cloud(tmp_path) -> Iterator[LocalCloud]:
    with LocalCloud(state_file=tmp_path / "state.json", request_log=tmp_path / "requests.jsonl") as c:
        yield c


@pytest.fixture
def clients(cloud: LocalCloud) -> Clients:
    return Clients(Target(SUB, cloud.url, local=True, polling_interval=0.02, ca_file=str(cloud.ca_file)))
