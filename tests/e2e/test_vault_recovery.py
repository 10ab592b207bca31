"""A Key Vault deleted by hand (soft-deleted) is recovered with its secrets, never purged or re-keyed."""

from __future__ import annotations

import pytest

from provisioner.cli.session import Connection, apply, make_plan
from provisioner.core.model import Action, Status
from provisioner.engine.executor import Timing
from provisioner.engine.reconciler import Policy
from tests.e2e.helpers import rest, rg_path, writes
from tests.e2e.test_step_trio import _sub_session
from tests.support import session

pytestmark = pytest.mark.e2e


def test_deleted_vault_is_recovered_with_its_secrets(cloud, clients):
    s = _sub_session(session("dev"), "key_vault_secret:jwt-signing-key")
    conn = Connection(clients, Timing.local())
    plan, known = make_plan(s, conn, Policy())
    assert all(o.status is Status.APPLIED for o in apply(s, conn, plan, known)[0])
    # Read from the cloud's store, as an operator the vault admits would: the tool itself never reads it.
    jwt = cloud.secrets.latest_value("fundrbolt-dev-kv", "jwt-signing-key")
    assert jwt

    status, _ = rest(cloud.url, "DELETE", f"{rg_path()}/providers/Microsoft.KeyVault/vaults/fundrbolt-dev-kv",
                     api_version="2024-11-01")
    assert status in (200, 204)
    before = len(cloud.requests())
    plan, known = make_plan(s, conn, Policy())
    assert next(c for c in plan.changes if c.step == "key_vault").action is Action.CREATE
    outcomes, _ = apply(s, conn, plan, known)
    assert all(o.status in (Status.APPLIED, Status.UNCHANGED) for o in outcomes), [(o.change.step, o.error) for o in outcomes]
    assert not any("purge" in r["path"].lower() for r in writes(cloud.requests()[before:]))
    again = cloud.secrets.latest_value("fundrbolt-dev-kv", "jwt-signing-key")
    assert again == jwt  # the same key: recovered, not regenerated
    final, _ = make_plan(s, conn, Policy())
    assert not final.has_changes
