"""Unit-test fixtures."""

from pathlib import Path

import pytest

from tests.support import copy_envs


@pytest.fixture
def envs(tmp_path) -> Path:
    return copy_envs(tmp_path)
