"""Backup/log blob containers and the lifecycle policy, against autospec'd SDK clients and arm-examples bodies."""

from __future__ import annotations

import json
from typing import Any

from provisioner.core.model import Action
from provisioner.engine.diff import diff
from provisioner.engine.reconciler import Policy, decide
from steps.storage_lifecycle import Config as LifecycleConfig
from steps.storage_lifecycle import policy_rules
from tests.support import SHARED, session, step

RG = "fundrbolt-dev-rg"
ACCOUNT = "fundrboltdevst"
EXAMPLES = SHARED / "arm-examples" / "Microsoft.Storage" / "storageAccounts" / "managementPolicies" / "2025-06-01"


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def test_containers_from_the_document(dev):
    names = [s.name for s in dev.steps if s.name.startswith("storage_container:")]
    assert names == ["storage_container:database-backups", "storage_container:redis-persistence", "storage_container:audit-logs"]
    s = step(dev, "storage_container:audit-logs")
    assert s.holds_data and s.depends_on == ("storage_account",)
    assert s.ref.id.endswith(f"/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}/blobServices/default/containers/audit-logs")


def test_container_calls(c, dev):
    s = step(dev, "storage_container:database-backups")
    desired = s.desired({})
    assert desired == {"properties": {"publicAccess": "None", "defaultEncryptionScope": "$account-encryption-key",
                                      "denyEncryptionScopeOverride": False}}
    s.read(c)
    assert c.storage.blob_containers.get.call_args.args == (RG, ACCOUNT, "database-backups")
    s.create(c, desired)
    c.storage.blob_containers.create.assert_called_once_with(RG, ACCOUNT, "database-backups", desired)
    s.update(c, desired, {}, ())
    c.storage.blob_containers.update.assert_called_once_with(RG, ACCOUNT, "database-backups", desired)
    s.delete(c)
    c.storage.blob_containers.delete.assert_called_once_with(RG, ACCOUNT, "database-backups")


def test_container_server_fields_and_enum_case_are_not_drift(dev):
    # azure-sdk-facts §1: etag, lastModifiedTime, lease*, hasImmutabilityPolicy ... are read-only.
    s = step(dev, "storage_container:audit-logs")
    observed: dict[str, Any] = {"id": "/x", "name": "audit-logs", "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
                "etag": '"0x8D"', "properties": {"publicAccess": "none", "leaseStatus": "Unlocked", "leaseState": "Available",
                                                 "lastModifiedTime": "2026-01-01T00:00:00Z", "hasImmutabilityPolicy": False,
                                                 "hasLegalHold": False, "deleted": False, "remainingRetentionDays": 0}}
    assert diff(s.desired({}), observed, s.rules).empty
    observed["properties"]["publicAccess"] = "Container"
    assert [p.path for p in diff(s.desired({}), observed, s.rules).changes] == ["properties.publicAccess"]


def test_lifecycle_policy_archives_after_90_days_and_dev_deletes_after_a_year(c, dev):
    s = step(dev, "storage_lifecycle")
    rules = s.desired({})["properties"]["policy"]["rules"]
    assert [r["name"] for r in rules] == ["archive-after-90-days", "delete-after-365-days"]
    assert rules[0]["definition"]["actions"]["baseBlob"] == {"tierToArchive": {"daysAfterModificationGreaterThan": 90}}
    assert rules[0]["definition"]["filters"]["blobTypes"] == ["blockBlob"]  # tiering: block blobs only
    assert rules[1]["definition"]["filters"]["blobTypes"] == ["blockBlob", "appendBlob"]
    s.read(c)
    assert c.storage.management_policies.get.call_args.args == (RG, ACCOUNT, "default")
    s.create(c, s.desired({}))
    c.storage.management_policies.create_or_update.assert_called_once_with(RG, ACCOUNT, "default", s.desired({}))
    s.update(c, s.desired({}), {}, ())
    assert c.storage.management_policies.create_or_update.call_count == 2  # PUT: the policy is owned whole
    s.delete(c)
    c.storage.management_policies.delete.assert_called_once_with(RG, ACCOUNT, "default")


def test_production_keeps_archived_data():
    rules = step(session("production"), "storage_lifecycle").desired({})["properties"]["policy"]["rules"]
    assert [r["name"] for r in rules] == ["archive-after-90-days"]


def test_no_rules_means_no_policy_step():
    assert policy_rules(LifecycleConfig()) == []


def test_renamed_singleton_from_arm_examples_is_not_drift():
    # arm-examples: PUT .../managementPolicies/default answers name 'DefaultManagementPolicy' plus the
    # read-only lastModifiedTime; neither may show up as a change.
    put = example("StorageAccountSetManagementPolicy.json")
    sent = put["parameters"]["properties"]
    got = put["responses"]["200"]["body"]
    assert got["name"] == "DefaultManagementPolicy"
    assert diff(sent, got).empty
    body = example("StorageAccountGetManagementPolicy.json")["responses"]["200"]["body"]
    assert diff({"properties": {"policy": body["properties"]["policy"]}}, body).empty


def test_our_policy_read_back_in_the_example_shape_is_noop(dev):
    s = step(dev, "storage_lifecycle")
    desired = s.desired({})
    observed: dict[str, Any] = {"id": f"/subscriptions/x/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
                      "/managementPolicies/default",
                "name": "DefaultManagementPolicy", "type": "Microsoft.Storage/storageAccounts/managementPolicies",
                "properties": {**json.loads(json.dumps(desired["properties"])), "lastModifiedTime": "2026-06-08T03:01:55Z"}}
    assert decide(s, desired, observed, Policy(), production=False).action is Action.NOOP
    observed["properties"]["policy"]["rules"][0]["definition"]["actions"]["baseBlob"]["tierToArchive"][
        "daysAfterModificationGreaterThan"] = 30
    assert decide(s, desired, observed, Policy(), production=False).action is Action.UPDATE
