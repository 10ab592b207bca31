"""Unit-test fixtures."""

from pathlib import Path

import pytest

from tests.support import autospec_clients, cache_session, copy_envs, password_sign_in, session


@pytest.fixture
def envs(tmp_path) -> Path:
    return copy_envs(tmp_path)


@pytest.fixture(autouse=True)
def _forget_written_secrets():
    """Values a step wrote are kept for the rest of a run (steps/_secret_values.py): one test is one run."""
    from steps import _secret_values

    _secret_values._written.clear()
    yield
    _secret_values._written.clear()


@pytest.fixture
def c():
    """Every SDK client the steps use, autospec'd from the real client classes."""
    return autospec_clients()


@pytest.fixture
def dev():
    return session("dev")


@pytest.fixture
def prod():
    return session("production")


@pytest.fixture
def dev_password(tmp_path):
    """dev with the app signing in with the admin password ([postgres] app_sign_in = "password")."""
    return session("dev", password_sign_in(tmp_path))


@pytest.fixture
def dev_cache():
    """dev as it is while it still runs Azure Cache for Redis ([redis] kind = "cache")."""
    return cache_session("dev")
