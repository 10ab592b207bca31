"""A resource someone created by hand in the group is reported as unmanaged, never deleted, and is not drift."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import cli, rest, rg_path, writes

pytestmark = pytest.mark.e2e
HANDMADE = f"{rg_path()}/providers/Microsoft.Storage/storageAccounts/bobscratchst"


def test_hand_made_resource_is_listed_and_left_alone(cloud):
    url = cloud.url
    assert cli("provision", "--env", "dev", "--arm-endpoint", url).code == 0
    status, _ = rest(url, "PUT", HANDMADE, {"location": "eastus", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"},
                     caller="bob@fundrbolt.app", api_version="2025-01-01")
    assert status in (200, 201, 202)

    plan = cli("plan", "--env", "dev", "--arm-endpoint", url, "--output", "json")
    assert plan.code == 0, plan.err  # not a change we would make
    assert {"id": HANDMADE, "type": "Microsoft.Storage/storageAccounts"} in plan.json()["unmanaged"]
    # Azure's own companions of Application Insights exist (the local cloud creates them like Azure) but are
    # known, not unmanaged noise.
    state = cloud.state()
    assert any("/smartdetectoralertrules/failure anomalies - " in rid.lower() for rid in state)
    assert any(rid.lower().endswith("/actiongroups/application insights smart detection") for rid in state)
    assert [u["id"] for u in plan.json()["unmanaged"]] == [HANDMADE]
    managed_ids = {c["id"].lower() for c in plan.json()["changes"]}
    assert not any(u["id"].lower() in managed_ids for u in plan.json()["unmanaged"])

    drift = cli("drift", "--env", "dev", "--arm-endpoint", url)
    assert drift.code == 0, drift.out  # unmanaged is information, not drift
    assert "unmanaged resource(s)" in drift.out and "bobscratchst" in drift.out

    before = len(cloud.requests())
    assert cli("provision", "--env", "dev", "--arm-endpoint", url).code == 0
    assert writes(cloud.requests()[before:]) == []  # never deleted
